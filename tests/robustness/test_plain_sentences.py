"""No raw Python text reaches the user (issue 16, defect 5): file names too long for the
file system, unreadable --pairs files, a negative --seed."""

from __future__ import annotations

import errno

import numpy as np
import pytest
from PIL import Image

from app.__main__ import main

RAW = ("Errno", "Error:", "Traceback", "unexpected")


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "photo.png"
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(path)
    mask = tmp_path / "mask.png"
    Image.fromarray(np.full((20, 20), 255, np.uint8)).save(mask)
    return path, mask


def one_sentence(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and not any(word in err for word in RAW), err
    return err


def test_a_file_name_too_long_for_the_file_system_is_said_plainly(photo, tmp_path, capsys):
    path, mask = photo
    out = tmp_path / ("x" * 300 + ".png")
    assert main(["remove", str(path), "--mask", str(mask), "-o", str(out)]) == 1
    assert "too long" in one_sentence(capsys)


@pytest.mark.parametrize("content, words", [
    (None, "Could not find"),
    (b"\x89PNG\r\n\x1a\n\x00\xff\xfe binary", "not a text (CSV) file"),
])
def test_pairs_files_that_cannot_be_read_are_explained(tmp_path, capsys, content, words):
    pairs = tmp_path / "pairs.csv"
    if content is not None:
        pairs.write_bytes(content)
    code = main(["expression", "--pairs", str(pairs), "--out-dir", str(tmp_path)])
    assert code == 1
    assert words in one_sentence(capsys)


@pytest.mark.parametrize("value, words", [("-1", "0 or more"), ("two", "whole number")])
def test_a_bad_seed_is_explained(photo, tmp_path, capsys, value, words):
    path, mask = photo
    code = main(["remove", str(path), "--mask", str(mask), "-o", str(tmp_path / "o.png"),
                 "--seed", value])
    assert code == 2
    err = capsys.readouterr().err
    assert words in err and "ValueError" not in err


def test_a_full_disk_anywhere_is_said_plainly():
    from app.cli.main import os_error_sentence

    sentence = os_error_sentence(OSError(errno.ENOSPC, "No space left", "/w/vgg16.pth"))
    assert sentence.startswith("The disk is full") and "vgg16.pth" in sentence
    assert "Errno" not in sentence
