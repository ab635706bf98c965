"""Nothing is lost without a word (issue 16, defect 7): a faint mask says what counts as
selected, a folder as OUT and a read-only folder are refused before any work."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from app.__main__ import main


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "photo.png"
    Image.fromarray((np.random.default_rng(0).random((30, 40, 3)) * 255).astype(np.uint8)
                    ).save(path)
    return path


def write_mask(path, level: int):
    pixels = np.zeros((30, 40), np.uint8)
    pixels[10:20, 10:30] = level
    Image.fromarray(pixels).save(path)
    return path


def test_a_faint_mask_says_what_counts_as_selected(photo, tmp_path, capsys):
    mask = write_mask(tmp_path / "mask.png", 100)  # 39 % grey
    code = main(["remove", str(photo), "--mask", str(mask), "-o", str(tmp_path / "o.png")])
    assert code == 1
    error = capsys.readouterr().err
    assert "brighter than 50 % grey" in error and "39%" in error
    assert not (tmp_path / "o.png").exists()


def test_a_folder_as_output_is_called_a_folder(photo, tmp_path, capsys):
    mask = write_mask(tmp_path / "mask.png", 255)
    folder = tmp_path / "results"
    folder.mkdir()
    assert main(["remove", str(photo), "--mask", str(mask), "-o", str(folder)]) == 1
    error = capsys.readouterr().err
    assert "is a folder" in error and "without an extension" not in error


def test_a_read_only_folder_is_refused_before_the_fill(photo, tmp_path, capsys, monkeypatch):
    """Simulated (CI runs as root, which permissions do not stop): the folder's
    writability is asked before the fill, and a refusal writes nothing."""
    mask = write_mask(tmp_path / "mask.png", 255)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: False if str(path).endswith(
        "locked") else real_access(path, mode, **kw))
    locked = tmp_path / "locked"
    locked.mkdir()
    code = main(["remove", str(photo), "--mask", str(mask), "-o", str(locked / "o.png")])
    assert code == 1 and "cannot be written to" in capsys.readouterr().err
    assert not (locked / "o.png").exists()


def test_an_animation_and_a_lost_transparency_are_said(tmp_path, capsys):
    frames = [Image.fromarray(np.full((30, 40, 3), v, np.uint8)) for v in (40, 120, 200)]
    gif = tmp_path / "anim.gif"
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=100)
    mask = write_mask(tmp_path / "mask.png", 255)
    assert main(["remove", str(gif), "--mask", str(mask), "-o", str(tmp_path / "a.png")]) == 0
    assert "holds 3 frames" in capsys.readouterr().err

    rgba = np.zeros((30, 40, 4), np.uint8)
    rgba[..., :3] = 90
    rgba[..., 3] = 128
    photo = tmp_path / "rgba.png"
    Image.fromarray(rgba).save(photo)
    assert main(["remove", str(photo), "--mask", str(mask), "-o", str(tmp_path / "a.jpg")]) == 0
    assert "no transparency" in capsys.readouterr().err
