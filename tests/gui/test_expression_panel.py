"""The Expression flow as a user does it: drop two portraits, see the faces, Run, undo."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from engines import imageio

skdata = pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def portraits(tmp_path_factory):
    """The astronaut, and the astronaut with her mouth opened (made by the engine tests)."""
    from engines.faces.detect import detect_faces
    from tests.unit.test_expression_warp import open_mouth

    folder = tmp_path_factory.mktemp("faces")
    first = skdata.astronaut().astype(np.float32) / 255.0
    second = open_mouth(first, detect_faces(first)[0].landmarks)[0]
    paths = folder / "first.png", folder / "second.png"
    imageio.save_image(paths[0], first)
    imageio.save_image(paths[1], second)
    return paths


def drop_on(widget, path) -> None:
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, data,
                       Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    widget.dropEvent(event)  # Qt delivers drops only inside a real drag loop


def test_drop_two_portraits_run_and_undo(window, qtbot, portraits):
    panel = window.panels["expression"]
    window.docks["expression"].raise_()
    with qtbot.waitSignal(panel.first_well.faces_found, timeout=20_000):
        drop_on(panel.first_well, portraits[0])
    assert window.document is not None and window.document.path == portraits[0]
    assert len(panel.first_well.faces) == 1
    assert not panel.run_button.isEnabled(), "Run needs the second portrait"
    with qtbot.waitSignal(panel.second_well.faces_found, timeout=20_000):
        drop_on(panel.second_well, portraits[1])
    assert len(panel.second_well.faces) == 1 and panel.run_button.isEnabled()
    original = window.document.pixels.copy()
    previews: list[object] = []
    window.jobs.preview.connect(lambda image, box: previews.append(box))
    with qtbot.waitSignal(window.jobs.finished, timeout=60_000) as finished:
        qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    assert previews, "no preview reached the canvas"
    result = window.document.pixels
    blend = finished.args[0].blend_mask
    assert np.array_equal(result[blend == 0], original[blend == 0])
    assert not np.allclose(result[blend > 0.5], original[blend > 0.5])
    window.history.undo()
    assert np.array_equal(window.document.pixels, original)


def test_a_photo_without_a_face_says_so_in_the_well(window, qtbot, tmp_path):
    panel = window.panels["expression"]
    path = tmp_path / "coffee.png"
    imageio.save_image(path, skdata.coffee().astype(np.float32) / 255.0)
    with qtbot.waitSignal(panel.second_well.faces_found, timeout=20_000):
        assert panel.open_second_photo(path)
    assert panel.second_well.faces == [] and "No face" in panel.second_well.message


def test_stylegan_on_the_cpu_is_announced_and_asks_before_running(
    window, qtbot, portraits, monkeypatch
):
    from PySide6.QtWidgets import QMessageBox

    from app.gui.panels import expression_panel

    panel = window.panels["expression"]
    window.docks["expression"].raise_()
    assert panel.cpu_note.isHidden(), "the warp engine needs no warning"
    monkeypatch.setattr(expression_panel, "resolve_device", lambda: "cpu")
    panel._device = None
    panel.engine.setCurrentIndex(panel.engine.findData("stylegan"))
    assert not panel.cpu_note.isHidden()
    assert "hours" in panel.cpu_note.text() and "1000 steps" in panel.cpu_note.text()

    asked: list[str] = []

    def answer(reply):
        def question(parent, title, text, *args):
            asked.append(text)
            return reply
        return question

    window.open_photo(str(portraits[0]))
    assert panel.open_second_photo(portraits[1])
    started: list[object] = []
    monkeypatch.setattr(window, "start_job", lambda *a, **k: started.append(a))
    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Cancel))
    panel.run()
    assert len(asked) == 1 and "hours" in asked[0]
    assert not started and window.last_error == "", "declining must start nothing"

    # Said yes: the run goes on (here to the engine's own "no weights" message).
    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Yes))
    panel.run()
    assert len(asked) == 2
    assert started or window.last_error

    panel.engine.setCurrentIndex(panel.engine.findData("warp"))
    assert panel.cpu_note.isHidden()
    panel.shutdown()


def test_sliders_preview_live_then_apply_as_one_undo_step(window, qtbot, portraits):
    """No second photo: drag the smile slider, watch the canvas, apply, undo."""
    panel = window.panels["expression"]
    window.docks["expression"].raise_()
    with qtbot.waitSignal(panel.first_well.faces_found, timeout=20_000):
        drop_on(panel.first_well, portraits[0])
    assert not panel.run_button.isEnabled(), "nothing asked yet"
    original = window.document.pixels.copy()
    smile = panel.controls.sliders["smile"]
    smile.setFocus()
    with qtbot.waitSignal(panel.live.finished, timeout=30_000) as live:
        for _ in range(6):  # keyboard: six page steps to the right, +60
            qtbot.keyClick(smile, Qt.Key.Key_PageUp)
    assert smile.value() == 60 and panel.run_button.isEnabled()
    qtbot.waitUntil(lambda: not panel.live.busy, timeout=30_000)
    assert window.canvas._preview.isVisible(), "the slider's change is not on the canvas"
    assert np.array_equal(window.document.pixels, original), "a preview changed the photo"
    region = live.args[0].region
    assert region[2] > 0 and region[3] > 0
    with qtbot.waitSignal(window.jobs.finished, timeout=60_000) as finished:
        qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    blend = finished.args[0].blend_mask
    result = window.document.pixels
    assert np.array_equal(result[blend == 0], original[blend == 0])
    assert not np.allclose(result[blend > 0.5], original[blend > 0.5])
    assert smile.value() == 0, "the sliders should start again from the applied photo"
    assert not window.canvas._preview.isVisible()
    window.history.undo()
    assert np.array_equal(window.document.pixels, original)


def test_feature_strengths_are_remembered(window, qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    panel = window.panels["expression"]
    panel.controls.features["mouth"].setValue(40)
    panel.controls.features["tilt"].setValue(100)
    settings = QSettings(str(tmp_path / "kept.ini"), QSettings.Format.IniFormat)
    panel.save_settings(settings)
    panel.controls.features["mouth"].setValue(100)
    panel.restore_settings(settings)
    assert panel.controls.values()["mouth"] == 0.4 and panel.controls.values()["tilt"] == 1.0
