"""The main window end to end: drop a photo, paint, Remove, watch previews, undo, cancel."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from app.window import MainWindow
from engines import imageio
from tests.gui.mouse import drag
from tests.unit.conftest import noise_texture


@pytest.fixture
def window(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings)
    win.resize(1100, 750)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.history.setClean()  # closing would otherwise ask about unsaved changes
    win.close()
    win.deleteLater()


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
        window.remove_panel.run_button.click()
    assert previews, "no preview reached the canvas before the result"
    result = window.document.pixels
    assert np.array_equal(result[~selection], original[~selection])
    assert not np.allclose(result[selection], original[selection])
    assert window.windowTitle().startswith("photo.png *")
    window.history.undo()
    assert np.array_equal(window.document.pixels, original)
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
    window.jobs.progress.connect(lambda *args: window.jobs.cancel())
    with qtbot.waitSignal(window.jobs.cancelled, timeout=20_000):
        window.remove_panel.run_button.click()
    assert np.array_equal(window.document.pixels, before)
    assert window.history.count() == 0
    assert window.remove_panel.run_button.isEnabled()


def test_a_corrupt_file_gives_a_message_and_keeps_the_current_photo(window, qtbot, photo,
                                                                    tmp_path):
    path, _ = photo
    window.open_path(path)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not really a jpeg")
    assert not window.open_path(broken)
    assert "broken.jpg" in window.last_error
    assert window.document.path == path


def test_remove_with_an_empty_mask_explains_why(window, qtbot, photo):
    window.open_path(photo[0])
    window.remove_panel.run_button.click()
    assert "empty" in window.last_error
    assert not window.jobs.busy


def test_brush_size_keys_change_the_brush_and_are_remembered(window, qtbot, photo):
    window.open_path(photo[0])
    start = window.canvas.brush_radius
    qtbot.keyClick(window.canvas, Qt.Key.Key_BracketRight)
    assert window.canvas.brush_radius == pytest.approx(start * 1.2)
    assert float(window.settings.value("brush/radius")) == pytest.approx(start * 1.2)
