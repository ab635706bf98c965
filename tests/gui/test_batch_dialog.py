"""File ▸ Batch… as a user works it: opened with Ctrl+B, fields typed, Run clicked; the
results equal the command's, the window answers while the batch runs, a bad photo is
listed with its reason, cancel leaves no partial file, the report opens, and the
fields come back next time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.__main__ import main
from app.gui.dialogs import batch as batch_dialog
from tests.photo_folders import write_photo_and_hole

TIMEOUT_MS = 120_000  # worker processes start in seconds; the margin is for a busy machine


@pytest.fixture
def shoot(tmp_path) -> tuple[Path, Path]:
    photos, masks = tmp_path / "shoot", tmp_path / "masks"
    photos.mkdir()
    masks.mkdir()
    rng = np.random.default_rng(9)
    for i in range(4):
        write_photo_and_hole(photos / f"shot{i}.png", masks / f"shot{i}.png", (48, 64),
                             np.s_[10 + i: 26 + i, 18:38], rng)
    return photos, masks


def open_dialog(window, qtbot):
    qtbot.keyClick(window, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    dialog = window.batch_dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


def type_into(qtbot, edit, text: str) -> None:
    edit.selectAll()
    qtbot.keyClicks(edit, text)


def fill_in(dialog, qtbot, photos: Path, masks: Path, out: Path) -> None:
    """Type the three paths and ask for one worker (the tests' photos are tiny)."""
    for edit, path in ((dialog.input_edit, photos), (dialog.side_edit, masks),
                       (dialog.output_edit, out)):
        type_into(qtbot, edit, str(path))
    dialog.workers.setValue(1)


def test_a_batch_run_from_the_window_writes_what_the_command_writes(
        window, qtbot, shoot, tmp_path, monkeypatch):
    photos, masks = shoot
    (photos / "broken.png").write_bytes(b"this is no photo")
    out = tmp_path / "out"
    dialog = open_dialog(window, qtbot)
    fill_in(dialog, qtbot, photos, masks, out)
    ticks = []
    timer = window.startTimer(50)  # the window's own event loop keeps running
    window.timerEvent = lambda _event: ticks.append(1)
    with qtbot.waitSignal(dialog.runner.busy_changed, timeout=TIMEOUT_MS,
                          check_params_cb=lambda busy: not busy):
        qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
        assert dialog.cancel_button.isEnabled() and not dialog.run_button.isEnabled()
    window.killTimer(timer)
    assert len(ticks) > 10  # the window was never blocked
    assert "4 done" in dialog.status.text() and "1 failed" in dialog.status.text()
    assert dialog.failures.count() == 1
    assert "broken.png" in dialog.failures.item(0).text()
    for photo in sorted(photos.glob("shot*.png")):
        single = tmp_path / f"single-{photo.name}"
        assert main(["remove", str(photo), "--mask", str(masks / photo.name),
                     "-o", str(single)]) == 0
        assert np.array_equal(np.asarray(Image.open(out / photo.name)),
                              np.asarray(Image.open(single)))
    opened = []
    monkeypatch.setattr(batch_dialog.QDesktopServices, "openUrl",
                        lambda url: opened.append(url.toLocalFile()))
    qtbot.mouseClick(dialog.report_button, Qt.MouseButton.LeftButton)
    assert opened == [str(out / batch_dialog.REPORT_NAME)]
    assert "broken.png" in Path(opened[0]).read_text(encoding="utf-8")


def test_cancel_stops_the_batch_and_leaves_no_partial_file(window, qtbot, shoot, tmp_path):
    photos, masks = shoot
    for i in range(4, 12):  # more photos than one worker does before Cancel is clicked
        (photos / f"shot{i}.png").write_bytes((photos / "shot0.png").read_bytes())
        (masks / f"shot{i}.png").write_bytes((masks / "shot0.png").read_bytes())
    out = tmp_path / "out"
    dialog = open_dialog(window, qtbot)
    fill_in(dialog, qtbot, photos, masks, out)
    with qtbot.waitSignal(dialog.runner.cancelled, timeout=TIMEOUT_MS):
        qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dialog.progress.value() >= 1, timeout=TIMEOUT_MS)
        qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    written = sorted(p.name for p in out.iterdir() if p.suffix == ".png")
    assert 1 <= len(written) < 12
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp files
    for name in written:
        assert Image.open(out / name).size == (64, 48)  # whole files only
    assert "Run again to continue" in dialog.status.text()


def test_mistakes_are_said_before_anything_runs_and_fields_are_remembered(
        window, qtbot, shoot, tmp_path):
    photos, _ = shoot
    dialog = open_dialog(window, qtbot)
    type_into(qtbot, dialog.input_edit, str(photos))
    type_into(qtbot, dialog.output_edit, str(tmp_path / "out"))
    dialog.side_edit.clear()
    qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
    assert "masks" in dialog.status.text().lower()
    assert not dialog.runner.busy and not (tmp_path / "out").exists()
    dialog.operation.setCurrentIndex(dialog.operation.findData("composite"))
    assert dialog.box.isVisible() and not dialog.quality.isVisible()
    type_into(qtbot, dialog.side_edit, str(photos / "shot0.png"))
    type_into(qtbot, dialog.box, "1,2,3")
    type_into(qtbot, dialog.at, "5,5")
    qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
    assert "box in the guide wants 4 numbers" in dialog.status.text().lower()
    dialog.close()
    window.batch_dialog = None
    again = open_dialog(window, qtbot)
    assert again is not dialog
    assert again.operation.currentData() == "composite"
    assert again.input_edit.text() == str(photos)
    assert again.box.text() == "1,2,3"
    QApplication.processEvents()


def test_an_expression_batch_by_slider_needs_no_second_portraits(window, qtbot, tmp_path):
    skdata = pytest.importorskip("skimage.data")
    from engines.faces.descriptors import describe
    from engines.faces.detect import detect_faces

    photos, out = tmp_path / "portraits", tmp_path / "smiling"
    photos.mkdir()
    portrait = skdata.astronaut()
    Image.fromarray(portrait).save(photos / "a.png")
    dialog = open_dialog(window, qtbot)
    dialog.operation.setCurrentIndex(dialog.operation.findData("expression"))
    assert dialog.expression.isVisible() and not dialog.quality.isVisible()
    type_into(qtbot, dialog.input_edit, str(photos))
    type_into(qtbot, dialog.side_edit, "")
    type_into(qtbot, dialog.output_edit, str(out))
    dialog.workers.setValue(1)
    qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
    assert "move a slider" in dialog.status.text(), "nothing was asked, and it should say so"
    smile = dialog.expression.sliders["smile"]
    smile.setFocus()
    for _ in range(8):
        qtbot.keyClick(smile, Qt.Key.Key_PageUp)
    with qtbot.waitSignal(dialog.runner.busy_changed, timeout=TIMEOUT_MS,
                          check_params_cb=lambda busy: not busy):
        qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
    assert "1 done" in dialog.status.text()
    before = describe(detect_faces(portrait)[0].landmarks).corner_lift
    after = describe(detect_faces(np.asarray(Image.open(out / "a.png")))[0].landmarks)
    assert after.corner_lift - before > 0.035
