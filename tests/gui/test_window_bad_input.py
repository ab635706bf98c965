"""The window keeps the command line's promises on the paths they share (issue 16): a bad
photo to open, a save that cannot happen, a bad model to import. Each says why in a
message box, keeps the photo being edited, changes no file and leaves no temp file."""

from __future__ import annotations

import errno
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QFileDialog, QMessageBox

from app.gui.window import SAVE_FILTER
from engines import files as engine_files
from engines import imageio
from tests.robustness.test_matrix import BAD_FILE_WORDS, BAD_FILES, RAW, full_disk
from tests.unit.conftest import noise_texture


@pytest.fixture
def edited(window, qtbot, tmp_path):
    """A photo open in the window with one change made (so Save has work to do)."""
    path = tmp_path / "photo.png"
    imageio.save_image(path, noise_texture(60, 80, seed=3, tint=(0.4, 0.5, 0.3)))
    assert window.open_path(path)
    window.canvas.mask.fill_rect((20, 20, 20, 15))
    window.canvas.refresh_mask()
    with qtbot.waitSignal(window.jobs.finished, timeout=30_000):
        window.panels["remove"].run_action.trigger()
    assert not window.history.isClean()
    return path


def close_boxes(window) -> list[QMessageBox]:
    boxes = [b for b in window.findChildren(QMessageBox) if b.isVisible()]
    for box in boxes:
        box.close()
    return boxes


def folder_state(folder: Path) -> dict[str, bytes | None]:
    return {p.name: None if p.is_dir() else p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_opening_a_bad_file_keeps_the_photo_being_edited(window, edited, tmp_path, kind,
                                                         monkeypatch):
    monkeypatch.setenv("TRANSFIGURE_MAX_PIXELS", "50000000")
    pixels = window.document.pixels.copy()
    bad = tmp_path / "bad.png"
    BAD_FILES[kind](bad)
    before = folder_state(tmp_path)
    monkeypatch.setattr(QMessageBox, "question",  # "discard the changes?": yes
                        lambda *a, **k: QMessageBox.StandardButton.Discard)
    assert not window.open_path(bad)
    assert BAD_FILE_WORDS[kind] in window.last_error
    assert not any(word in window.last_error for word in RAW)
    assert close_boxes(window), "a refusal is a message box, not a silent no"
    assert window.document.path == edited and np.array_equal(window.document.pixels, pixels)
    assert folder_state(tmp_path) == before


def _refuse_locked(target: Path):
    raise PermissionError(errno.EACCES, "Permission denied", str(target))


SAVES = {
    "in a missing folder": ("nowhere/out.png", "does not exist", None),
    "as a folder": ("taken", "folder", None),
    "of an unknown format": ("out.psd", "Cannot save as .psd", None),
    "without an extension": ("out", ".png", None),
    "in a read-only folder": ("locked/out.png", "permission denied", "locked"),
    "on a full disk": ("out.png", "Could not save", "full"),
    "over the photo's own file": ("photo.png", "replace the original", None),
}


@pytest.mark.parametrize("case", sorted(SAVES))
def test_a_save_as_that_cannot_happen_loses_nothing(window, edited, tmp_path, case,
                                                    monkeypatch):
    name, words, trouble = SAVES[case]
    (tmp_path / "taken").mkdir()
    (tmp_path / "locked").mkdir()
    target = tmp_path / name
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(target), SAVE_FILTER))
    if trouble == "locked":  # as the file system answers a read-only folder (even root's)
        real = engine_files._create_temp
        monkeypatch.setattr(engine_files, "_create_temp", lambda t: _refuse_locked(t)
                            if t.parent.name == "locked" else real(t))
    before = folder_state(tmp_path)
    pixels = window.document.pixels.copy()
    if trouble == "full":
        with full_disk(None):
            saved = window.save_as()
    else:
        saved = window.save_as()
    assert not saved
    assert words in window.last_error, window.last_error
    assert not any(word in window.last_error for word in RAW)
    assert close_boxes(window)
    assert folder_state(tmp_path) == before  # nothing new, nothing changed, no temp file
    assert not window.history.isClean(), "the changes are still unsaved, and said so"
    assert np.array_equal(window.document.pixels, pixels)
