"""Two programs saving under one name: without overwriting, the one that finishes second
must fail and say so, never replace the first one's file (issue 16, defect 3)."""

from __future__ import annotations

import numpy as np
import pytest

from engines import imageio
from engines.base import InvalidInput
from engines.files import atomic_write


def test_a_file_that_appears_during_the_save_is_kept_and_the_save_says_why(tmp_path,
                                                                           monkeypatch):
    target = tmp_path / "out.png"
    real_encode = imageio._encode

    def other_program_saves_first(out, *args):
        target.write_bytes(b"the other program's photo")  # after the 'exists?' check
        real_encode(out, *args)

    monkeypatch.setattr(imageio, "_encode", other_program_saves_first)
    with pytest.raises(InvalidInput) as caught:
        imageio.save_image(target, np.zeros((8, 8, 3), np.float32))
    assert "appeared while" in caught.value.message and "nothing was written" in \
        caught.value.message
    assert target.read_bytes() == b"the other program's photo"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]  # no temp file left


def test_overwriting_still_replaces_and_a_new_name_is_still_created(tmp_path):
    target = tmp_path / "out.bin"
    atomic_write(target, lambda out: out.write(b"one"), replace=False)
    assert target.read_bytes() == b"one"
    with pytest.raises(FileExistsError):
        atomic_write(target, lambda out: out.write(b"two"), replace=False)
    assert target.read_bytes() == b"one"
    atomic_write(target, lambda out: out.write(b"three"))
    assert target.read_bytes() == b"three"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]
