"""``transfigure expression`` with sliders and per-feature strengths, driven in-process.

The portrait is ``skimage.data.astronaut()``; the second portrait is the same face with
its jaw dropped (``tests.unit.test_expression_warp.open_mouth``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.__main__ import main
from engines.faces.descriptors import describe
from engines.faces.detect import detect_faces

skdata = pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def portraits(tmp_path_factory) -> tuple[Path, Path]:
    from tests.unit.test_expression_warp import open_mouth

    folder = tmp_path_factory.mktemp("portraits")
    first = skdata.astronaut()
    opened = open_mouth(first.astype(np.float32) / 255.0,
                        detect_faces(first)[0].landmarks)[0]
    paths = folder / "first.png", folder / "second.png"
    Image.fromarray(first).save(paths[0])
    Image.fromarray(np.clip(opened * 255 + 0.5, 0, 255).astype(np.uint8)).save(paths[1])
    return paths


def run(capsys, *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def landmarks(path: Path) -> np.ndarray:
    return detect_faces(np.asarray(Image.open(path).convert("RGB")))[0].landmarks


def test_a_slider_needs_no_second_photo(capsys, portraits, tmp_path):
    out = tmp_path / "smiling.png"
    code, said, err = run(capsys, "expression", portraits[0], "-o", out, "--smile", "0.8")
    assert code == 0, err
    assert "no fold" in err and "stretched at most" in err
    before, after = describe(landmarks(portraits[0])), describe(landmarks(out))
    assert after.corner_lift - before.corner_lift > 0.035  # beyond landmark noise (0.032)
    original = np.asarray(Image.open(portraits[0]))
    result = np.asarray(Image.open(out))
    changed = np.any(original != result, axis=-1)
    ys, xs = np.nonzero(changed)
    face = landmarks(portraits[0])
    # Only the face changed: nothing beyond a face-sized margin around its landmarks.
    margin = 1.2 * np.linalg.norm(face[45] - face[36])
    assert xs.min() > face[:, 0].min() - margin and xs.max() < face[:, 0].max() + margin
    assert ys.max() < face[:, 1].max() + margin


def test_taking_the_brows_and_eyes_but_not_the_mouth(capsys, portraits, tmp_path):
    out = tmp_path / "no-mouth.png"
    code, _, err = run(capsys, "expression", *portraits, "-o", out, "--mouth", "0")
    assert code == 0, err
    assert abs(describe(landmarks(out)).mouth_open
                   - describe(landmarks(portraits[0])).mouth_open) < 0.04
    whole = tmp_path / "whole.png"
    assert run(capsys, "expression", *portraits, "-o", whole)[0] == 0
    assert describe(landmarks(whole)).mouth_open - describe(landmarks(portraits[0])).mouth_open \
        > 0.15


def test_without_second_photo_or_slider_the_command_says_what_to_give(capsys, portraits,
                                                                       tmp_path):
    out = tmp_path / "nothing.png"
    code, _, err = run(capsys, "expression", portraits[0], "-o", out)
    assert code != 0 and "--smile" in err and not out.exists()


@pytest.mark.parametrize(("option", "value"), [("--smile", "2"), ("--mouth", "-0.5"),
                                               ("--eye-open", "wide")])
def test_out_of_range_settings_are_refused_by_name(capsys, portraits, tmp_path, option, value):
    out = tmp_path / "bad.png"
    code, _, err = run(capsys, "expression", portraits[0], "-o", out, option, value)
    assert code == 2 and option in err and "want a number from" in err and not out.exists()


def test_a_batch_of_portraits_takes_a_slider_without_second_photos(capsys, portraits,
                                                                     tmp_path):
    photos, out = tmp_path / "portraits", tmp_path / "smiling"
    photos.mkdir()
    for name in ("a.png", "b.png"):
        (photos / name).write_bytes(portraits[0].read_bytes())
    code, _, err = run(capsys, "batch", "expression", photos, "-o", out, "--smile", "0.8",
                       "--workers", "1")
    assert code == 0, err
    before = describe(landmarks(portraits[0])).corner_lift
    for name in ("a.png", "b.png"):
        assert describe(landmarks(out / name)).corner_lift - before > 0.035


def test_a_batch_without_second_photos_or_sliders_says_what_to_give(capsys, portraits,
                                                                     tmp_path):
    code, _, err = run(capsys, "batch", "expression", portraits[0].parent, "-o",
                       tmp_path / "out")
    assert code != 0 and "--second" in err and "--smile" in err
    assert not (tmp_path / "out").exists()
