"""``harmonize`` never claims work it did not do, and its default fixes composites
(issue 16, defect 11): the default engine takes back most of a re-colouring, and an
engine that decides to change nothing says so and why."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from app.__main__ import main
from tests.unit.conftest import noise_texture


def fmse(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    return float(np.square(a[mask].astype(np.float64) - b[mask].astype(np.float64)).mean())


def save(path, pixels: np.ndarray):
    Image.fromarray(np.rint(np.clip(pixels, 0, 1) * 255).astype(np.uint8)).save(path)
    return path


def test_the_default_takes_back_most_of_a_darkened_object(tmp_path, capsys):
    """An iHarmony4-style composite: a region of a real scene darkened in place."""
    real = noise_texture(120, 160, seed=4, tint=(0.55, 0.6, 0.45))
    yy, xx = np.mgrid[0:120, 0:160]
    mask = np.hypot(xx - 80, yy - 60) <= 30
    composite = real.copy()
    composite[mask] *= 0.55  # the object shot in other light
    paths = save(tmp_path / "comp.png", composite), save(tmp_path / "mask.png", mask * 1.0)
    truth = np.rint(real * 255)
    out = tmp_path / "fixed.png"
    assert main(["harmonize", str(paths[0]), "--mask", str(paths[1]), "-o", str(out)]) == 0
    fixed = np.asarray(Image.open(out)).astype(np.float64)
    before = fmse(np.asarray(Image.open(paths[0])), truth, mask)
    assert fmse(fixed, truth, mask) < 0.5 * before
    assert "Nothing was changed" not in capsys.readouterr().err


@pytest.mark.parametrize("engine", ["edge", "reinhard"])
def test_an_engine_that_changes_nothing_says_why_instead_of_harmonized(tmp_path, capsys,
                                                                     engine):
    """A product shot on a black backdrop: the backdrop has no colour to match."""
    photo = np.full((120, 160, 3), 0.01, np.float32)
    yy, xx = np.mgrid[0:120, 0:160]
    mask = np.hypot(xx - 80, yy - 60) <= 25
    photo[mask] = noise_texture(120, 160, seed=6, tint=(0.8, 0.3, 0.2))[mask]
    paths = save(tmp_path / "cup.png", photo), save(tmp_path / "mask.png", mask * 1.0)
    out = tmp_path / "out.png"
    assert main(["harmonize", str(paths[0]), "--mask", str(paths[1]), "--engine", engine,
                 "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "Nothing was changed" in err and "Harmonized" not in err
    assert np.array_equal(np.asarray(Image.open(out)), np.asarray(Image.open(paths[0])))
