"""The main window end to end: drop a photo, paint, Remove, watch previews, undo, cancel."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QAction, QColor, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QColorDialog, QFileDialog, QMessageBox

from app.gui.history import MaskCommand
from app.gui.window import SAVE_FILTER, MainWindow
from engines import imageio
from engines.base import EngineError
from tests.gui.mouse import drag
from tests.unit.conftest import noise_texture


def drop_file(window: MainWindow, path) -> None:
    """Drag a file over the window and drop it, as a file manager would."""
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(path))])
    pos = QPoint(200, 200)
    buttons, mods = Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(pos, Qt.DropAction.CopyAction, data, buttons, mods)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted(), "the window refused the drag"
    drop = QDropEvent(QPointF(pos), Qt.DropAction.CopyAction, data, buttons, mods)
    window.dropEvent(drop)  # Qt delivers a drop only inside a real drag loop


@pytest.fixture
def photo(tmp_path):
    pixels = noise_texture(480, 640, seed=9, tint=(0.35, 0.55, 0.3))
    pixels[200:260, 300:380] = (1.0, 0.0, 1.0)  # the distractor
    path = tmp_path / "photo.png"
    imageio.save_image(path, pixels)
    return path, imageio.load_image(path).pixels


def test_drop_paint_remove_undo(window, qtbot, photo):
    path, original = photo
    drop_file(window, path)
    assert window.document is not None and window.document.size == (640, 480)
    window.canvas.set_zoom(1.0)
    window.canvas.centerOn(340, 230)
    window.canvas.brush_radius = 35
    drag(window.canvas, [(310, 230), (340, 230), (370, 230)])
    selection = window.canvas.mask.selection.copy()
    assert selection[200:260, 300:380].all()
    previews: list[object] = []
    window.jobs.preview.connect(lambda img, box: previews.append(box))
    with qtbot.waitSignal(window.jobs.finished, timeout=30_000):
        window.panels["remove"].run_button.click()
    assert previews, "no preview reached the canvas before the result"
    result = window.document.pixels
    assert np.array_equal(result[~selection], original[~selection])
    assert not np.allclose(result[selection], original[selection])
    assert window.windowTitle().startswith("photo.png *")
    assert not window.canvas.mask.selection.any(), "the used mask should be cleared"
    window.history.undo()
    assert np.array_equal(window.document.pixels, original)
    assert np.array_equal(window.canvas.mask.selection, selection), "undo brings the mask back"
    window.history.undo()  # the stroke
    assert not window.canvas.mask.selection.any()
    window.history.redo()
    window.history.redo()
    assert np.array_equal(window.document.pixels, result)


def test_cancel_leaves_the_photo_exactly_as_it_was(window, qtbot, tmp_path):
    pixels = noise_texture(1500, 2000, seed=3, tint=(0.5, 0.5, 0.5))
    path = tmp_path / "big.png"
    imageio.save_image(path, pixels)
    window.open_path(path)
    before = window.document.pixels.copy()
    window.canvas.mask.fill_rect((600, 500, 500, 400))
    window.canvas.refresh_mask()  # shown, as a painted selection is
    window.jobs.progress.connect(lambda *args: window.jobs.cancel())
    with qtbot.waitSignal(window.jobs.cancelled, timeout=20_000):
        window.panels["remove"].run_button.click()
    assert np.array_equal(window.document.pixels, before)
    assert window.history.count() == 0
    assert window.panels["remove"].run_button.isEnabled()


def test_a_corrupt_file_gives_a_message_and_keeps_the_current_photo(window, qtbot, photo,
                                                                    tmp_path):
    path, _ = photo
    window.open_path(path)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not really a jpeg")
    assert not window.open_path(broken)
    assert "broken.jpg" in window.last_error
    assert window.document.path == path


def test_remove_waits_for_something_painted_and_says_so(window, qtbot, photo):
    panel = window.panels["remove"]
    window.open_path(photo[0])
    assert not panel.run_button.isEnabled() and not panel.run_action.isEnabled()
    assert "Paint over what should go first" in panel.run_button.toolTip()
    qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert not window.jobs.busy  # Ctrl+R does nothing on an empty selection
    window.canvas.set_zoom(1.0)
    window.canvas.centerOn(340, 230)
    drag(window.canvas, [(330, 230), (350, 230)])
    assert panel.run_button.isEnabled() and panel.run_action.isEnabled()
    window.history.undo()  # the stroke goes: nothing to remove again
    assert not panel.run_button.isEnabled()


def test_the_empty_window_says_how_to_open_a_photo_and_save_waits_for_a_change(
        window, qtbot, photo):
    shown = window.canvas.viewport().grab().toImage()
    assert window.canvas.EMPTY_HINT.startswith("Drop a photo here")
    # the hint is drawn: the empty canvas is not a single flat colour
    colours = {shown.pixel(x, y) for x in range(0, shown.width(), 4)
               for y in range(shown.height() // 2 - 12, shown.height() // 2 + 12, 2)}
    assert len(colours) > 1
    window.open_path(photo[0])
    assert not window.save_action.isEnabled()  # nothing changed: nothing to save
    assert window.save_as_action.isEnabled()
    window.canvas.mask.fill_rect((300, 200, 80, 60))
    window.canvas.refresh_mask()
    with qtbot.waitSignal(window.jobs.finished, timeout=30_000):
        window.panels["remove"].run_button.click()
    assert window.save_action.isEnabled()
    window.history.undo()
    assert not window.save_action.isEnabled()  # back to what the file holds


def test_brush_size_keys_change_the_brush_and_are_remembered(window, qtbot, photo):
    window.open_path(photo[0])
    start = window.canvas.brush_radius
    qtbot.keyClick(window.canvas, Qt.Key.Key_BracketRight)
    assert window.canvas.brush_radius == pytest.approx(start * 1.2)
    assert float(window.settings.value("brush/radius")) == pytest.approx(start * 1.2)


def _fill_hole(window: MainWindow, qtbot, rect=(300, 200, 80, 60)) -> np.ndarray:
    """Box the distractor and run Remove to the end; the selection that was filled."""
    window.canvas.mask.begin()
    window.canvas.refresh_mask(window.canvas.mask.fill_rect(rect))
    window.history.push(MaskCommand(window.canvas, window.canvas.mask.end()))
    selection = window.canvas.mask.selection.copy()
    with qtbot.waitSignal(window.jobs.finished, timeout=30_000):
        window.panels["remove"].run_action.trigger()
    return selection


def test_save_as_writes_the_result_and_leaves_the_original_alone(window, qtbot, photo,
                                                                 tmp_path, monkeypatch):
    path, original = photo
    original_bytes = path.read_bytes()
    window.open_path(path)
    _fill_hole(window, qtbot)
    target = tmp_path / "out" / "clean.png"
    target.parent.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(target), SAVE_FILTER))
    assert window.save_as_action.isEnabled()
    window.save_as_action.trigger()
    saved = imageio.load_image(target).pixels
    assert np.array_equal(saved, window.document.pixels)
    assert path.read_bytes() == original_bytes
    assert "*" not in window.windowTitle()


def test_save_over_the_original_asks_first(window, qtbot, photo, monkeypatch):
    path, original = photo
    original_bytes = path.read_bytes()
    window.open_path(path)
    _fill_hole(window, qtbot)
    answers = iter([QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save])
    asked: list[str] = []

    def question(parent, title, text, *args, **kwargs):
        asked.append(text)
        return next(answers)

    monkeypatch.setattr(QMessageBox, "question", question)
    window.save_action.trigger()
    assert path.read_bytes() == original_bytes, "Cancel must not touch the original"
    window.save_action.trigger()
    assert len(asked) == 2 and "photo.png" in asked[0]
    assert np.array_equal(imageio.load_image(path).pixels, window.document.pixels)


def test_closing_with_unsaved_changes_asks_and_cancel_keeps_the_window(window, qtbot, photo,
                                                                       monkeypatch):
    window.open_path(photo[0])
    _fill_hole(window, qtbot)
    answer = [QMessageBox.StandardButton.Cancel]
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: answer[0])
    assert not window.close()
    assert window.isVisible()
    answer[0] = QMessageBox.StandardButton.Discard
    assert window.close()


def test_closing_during_a_job_cancels_it_and_keeps_the_photo(window, qtbot, tmp_path):
    path = tmp_path / "big.png"
    imageio.save_image(path, noise_texture(1500, 2000, seed=4, tint=(0.4, 0.5, 0.6)))
    window.open_path(path)
    before = window.document.pixels.copy()
    window.canvas.mask.fill_rect((500, 400, 700, 500))
    window.canvas.refresh_mask()  # shown, as a painted selection is
    window.panels["remove"].run_action.trigger()
    assert window.jobs.busy
    assert window.close()  # nothing to save yet: no prompt
    assert not window.jobs.busy
    assert np.array_equal(window.document.pixels, before)


def test_escape_cancels_a_running_job(window, qtbot, tmp_path):
    path = tmp_path / "big.png"
    imageio.save_image(path, noise_texture(1500, 2000, seed=5, tint=(0.4, 0.5, 0.6)))
    window.open_path(path)
    window.canvas.mask.fill_rect((500, 400, 700, 500))
    window.canvas.refresh_mask()  # shown, as a painted selection is
    window.panels["remove"].run_action.trigger()
    assert not window.canvas.editable, "painting is locked while the job uses the mask"
    with qtbot.waitSignal(window.jobs.cancelled, timeout=20_000):
        qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)
    assert window.canvas.editable and window.history.count() == 0


def test_an_engine_error_is_a_message_box_with_the_sentence(window, qtbot, photo):
    window.open_path(photo[0])

    def failing(report, token):
        raise EngineError("The model file is damaged; import it again.", "sha256 mismatch")

    done: list[object] = []
    with qtbot.waitSignal(window.jobs.failed, timeout=5_000):
        window.start_job(failing, done.append)
    boxes = [b for b in window.findChildren(QMessageBox) if b.isVisible()]
    assert boxes and boxes[-1].text() == "The model file is damaged; import it again."
    assert boxes[-1].detailedText() == "sha256 mismatch"
    assert not done
    boxes[-1].close()


def test_a_soft_brush_feathers_the_fill_into_the_photo(window, qtbot, photo):
    path, original = photo
    window.open_path(path)
    window.canvas.set_zoom(1.0)
    window.canvas.centerOn(340, 230)
    window.tool_options.hardness.setValue(0)
    window.tool_options.set_radius(45)
    drag(window.canvas, [(320, 230), (360, 230)])
    alpha = window.canvas.mask.alpha.copy()
    with qtbot.waitSignal(window.jobs.finished, timeout=30_000):
        window.panels["remove"].run_action.trigger()
    result = window.document.pixels
    assert np.array_equal(result[alpha == 0], original[alpha == 0])
    # Half-covered pixels moved less than fully covered ones: a fade, not a seam.
    change = np.abs(result - original).sum(axis=2)
    half = (alpha > 0.2) & (alpha < 0.5)
    assert half.any() and change[alpha >= 0.99].mean() > 2 * change[half].mean()


def test_tool_options_are_remembered(window, qtbot, photo, tmp_path, monkeypatch):
    window.open_path(photo[0])
    window.tool_options.size.setValue(64)
    window.tool_options.opacity.setValue(70)
    monkeypatch.setattr(QColorDialog, "getColor", lambda *a, **k: QColor(0, 90, 255))
    qtbot.mouseClick(window.tool_options.color_button, Qt.MouseButton.LeftButton)
    qtbot.keyClick(window.canvas, Qt.Key.Key_M)
    assert window.canvas.tool == "box" and window.canvas.brush_radius == 32
    assert window.canvas.overlay_opacity == pytest.approx(0.7)
    again = MainWindow(window.settings)
    try:
        assert again.canvas.tool == "box" and again.canvas.brush_radius == 32
        assert again.tool_options.size.value() == 64
        assert again.canvas.overlay_opacity == pytest.approx(0.7)
        assert again.canvas.overlay_color == QColor(0, 90, 255)
    finally:
        again.close()
        again.deleteLater()


def test_the_status_bar_names_the_compute_device(window, qtbot, monkeypatch):
    monkeypatch.setenv("TRANSFIGURE_DEVICE", "cpu")
    window.device_probe.start()
    qtbot.waitUntil(lambda: window.device_label.text() == "CPU", timeout=5_000)
    monkeypatch.setenv("TRANSFIGURE_DEVICE", "tpu")
    window.device_probe.start()
    qtbot.waitUntil(lambda: "Unknown device" in window.device_label.text(), timeout=5_000)


def test_undo_and_redo_keys_step_through_strokes(window, qtbot, photo):
    window.open_path(photo[0])
    window.canvas.set_zoom(1.0)
    window.canvas.centerOn(340, 230)
    drag(window.canvas, [(320, 230), (360, 230)])
    assert window.canvas.mask.selection.any()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not window.canvas.mask.selection.any()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert window.canvas.mask.selection.any()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert window.canvas.mask.selection.any()


def test_theme_choice_applies_and_is_remembered(window, qtbot):
    from app.gui.theme import is_dark

    window.theme_actions["dark"].trigger()
    assert is_dark(QApplication.instance().palette())
    again = MainWindow(window.settings)
    try:
        assert again.theme_actions["dark"].isChecked()
        assert is_dark(QApplication.instance().palette())
        again.theme_actions["light"].trigger()
        assert not is_dark(QApplication.instance().palette())
    finally:
        again.close()
        again.deleteLater()
        window.set_theme("system")


def test_about_names_the_non_commercial_models(window, qtbot):
    action = next(a for a in window.findChildren(QAction) if "About" in a.text())
    action.trigger()
    box = next(b for b in window.findChildren(QMessageBox) if b.isVisible())
    text = box.text()
    assert "iBUG 300-W" in text and "non-commercial" in text.lower()
    box.close()


def test_the_window_shows_the_app_icon_at_every_size_it_was_drawn_for(window):
    icon = window.windowIcon()
    sizes = {size.width() for size in icon.availableSizes()}
    assert {16, 32, 48, 256} <= sizes
    small = icon.pixmap(16, 16).toImage()
    colours = {small.pixelColor(x, y).rgb() for x in range(16) for y in range(16)}
    assert len(colours) > 20, "the 16 px icon should be a drawing, not a flat square"
