"""``transfigure composite`` and ``transfigure harmonize`` on images the test makes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.__main__ import main


def save(path: Path, pixels: np.ndarray) -> Path:
    Image.fromarray(pixels).save(path)
    return path


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(3)
    target = (rng.random((120, 160, 3)) * 60 + np.array([60, 120, 60])).astype(np.uint8)
    guide = np.full((100, 100, 3), (200, 30, 200), np.uint8)  # magenta background
    yy, xx = np.mgrid[0:100, 0:100]
    disc = np.hypot(xx - 50, yy - 50) <= 18
    guide[disc] = (240, 200, 30)
    mask = np.where(disc, 255, 0).astype(np.uint8)
    return (save(tmp_path / "target.png", target), save(tmp_path / "guide.png", guide),
            save(tmp_path / "mask.png", mask), target)


def test_composite_pastes_the_object_and_keeps_every_other_pixel(files, tmp_path):
    target_path, guide_path, mask_path, target = files
    out = tmp_path / "out.png"
    code = main(["composite", str(target_path), str(guide_path), "--box", "25,25,50,50",
                 "--at", "60,40", "--mask", str(mask_path), "--harmonize", "none",
                 "-o", str(out)])
    assert code == 0
    result = np.asarray(Image.open(out))
    assert tuple(result[65, 85]) == (240, 200, 30)  # the disc's centre: (50,50)-(25,25)+(60,40)
    far = np.ones(target.shape[:2], bool)
    far[30:100, 50:120] = False
    assert np.array_equal(result[far], target[far])
    magenta = (result[..., 0] > 170) & (result[..., 1] < 80) & (result[..., 2] > 170)
    assert not magenta.any()


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--box", "80,80,50,50", "--at", "0,0"], "not inside"),
        (["--box", "25,25,50,50", "--at", "0,0,9"], "larger than the photo"),
        (["--box", "25,25,50,50", "--at", "500,500"], "outside the photo"),
    ],
)
def test_composite_errors_are_one_clear_line(files, tmp_path, capsys, extra, words):
    target_path, guide_path, mask_path, _ = files
    out = tmp_path / "out.png"
    code = main(["composite", str(target_path), str(guide_path), "--mask", str(mask_path),
                 "--harmonize", "none", "-o", str(out), *extra])
    assert code == 1
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err
    assert not out.exists()


def test_a_malformed_box_is_a_usage_error(files, tmp_path, capsys):
    target_path, guide_path, _, _ = files
    code = main(["composite", str(target_path), str(guide_path), "--box", "1,2,3",
                 "--at", "0,0", "-o", str(tmp_path / "o.png")])
    assert code == 2
    assert "x,y,w,h" in capsys.readouterr().err


def test_a_cut_out_that_fills_its_box_is_doubted_with_the_way_to_fix_it(files, tmp_path,
                                                                           capsys):
    """Issue 16, defect 12: a box around a patch of different ground (grass and rock in a
    field) comes back as a hard-edged rectangle; the user is told, and how to fix it."""
    target_path, _, _, _ = files
    rng = np.random.default_rng(5)
    guide = (rng.random((100, 100, 3)) * 40 + np.array([90, 90, 90])).astype(np.uint8)
    guide[20:80, 20:80] = (rng.random((60, 60, 3)) * 40 + np.array([40, 140, 40])).astype(
        np.uint8)  # the box holds nothing but a patch of other ground
    guide_path = save(tmp_path / "field.png", guide)
    code = main(["composite", str(target_path), str(guide_path), "--box", "20,20,60,60",
                 "--at", "50,30", "--harmonize", "none", "-o", str(tmp_path / "out.png")])
    assert code == 0
    err = capsys.readouterr().err
    assert "fills" in err and "of the box" in err and "--mask" in err


def test_a_clean_cut_out_is_not_doubted(files, tmp_path, capsys):
    target_path, guide_path, _, _ = files
    code = main(["composite", str(target_path), str(guide_path), "--box", "25,25,50,50",
                 "--at", "60,40", "--harmonize", "none", "-o", str(tmp_path / "out.png")])
    assert code == 0
    assert "Warning" not in capsys.readouterr().err
