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
