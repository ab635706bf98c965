"""The Translate panel and its training dialog as a user works them, with tiny models the
tests write (never the shipped one): run, look at each view, paint the attention, apply,
undo; cancel; bad model files; the remembered choices; training with preview and cancel.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QMessageBox

from app.gui.qimages import HEAT_FLOOR, heat_overlay
from engines import imageio
from tests.gui.mouse import drag
from tests.unit.conftest import noise_texture

pytest.importorskip("torch")
pytest.importorskip("safetensors")

from tests.unit.test_translate import synthetic, tiny_model, write_domain  # noqa: E402

STROKE_ADD = [(40, 40), (80, 40), (120, 40)]  # left button: translate here (A = 1)
STROKE_KEEP = [(40, 90), (120, 90)]  # right button: keep the photo here (A = 0)
RADIUS = 8


@pytest.fixture
def models(tmp_path, monkeypatch) -> Path:
    """The user's models folder, holding one tiny untrained model named "tiny"."""
    folder = tmp_path / "models"
    monkeypatch.setenv("TRANSFIGURE_TRANSLATE_MODELS", str(folder))
    tiny_model(folder / "tiny.safetensors", resolution=32)
    return folder


@pytest.fixture
def panel(window, models, tmp_path):
    """The Translate panel in front, the tiny model chosen, a 120×160 photo open."""
    path = tmp_path / "photo.png"
    imageio.save_image(path, noise_texture(120, 160, seed=4, tint=(0.55, 0.45, 0.3)))
    assert window.open_path(path)
    window.docks["translate"].raise_()
    panel = window.panels["translate"]
    panel.refresh_models(select="tiny")
    assert panel.model.currentData() == "tiny"
    window.canvas.set_zoom(1.0)
    window.canvas.centerOn(80, 60)
    return panel


def shown(window, x: int, y: int) -> np.ndarray:
    """The 8-bit colour the user sees at photo pixel (x, y)."""
    canvas = window.canvas
    canvas.viewport().repaint()
    color = canvas.viewport().grab().toImage().pixelColor(canvas.mapFromScene(QPointF(x, y)))
    return np.array([color.red(), color.green(), color.blue()])


def as8(pixels: np.ndarray) -> np.ndarray:
    return np.rint(np.asarray(pixels) * 255).astype(int)


def translate(window, qtbot, panel) -> list[str]:
    """Click Translate and wait for the result; the progress messages seen."""
    messages: list[str] = []
    window.jobs.progress.connect(lambda step, total, message, eta: messages.append(message))
    with qtbot.waitSignal(window.jobs.finished, timeout=30_000):
        qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    return messages


def test_run_views_paint_attention_apply_undo(window, qtbot, panel):
    original = window.document.pixels.copy()
    window.canvas.mask.fill_rect((0, 0, 10, 10))  # a selection left from Remove
    messages = translate(window, qtbot, panel)
    assert messages, "no progress reached the status bar"
    session = panel.session
    assert session is not None and panel.apply_button.isEnabled()
    assert np.array_equal(window.document.pixels, original), "nothing lands before Apply"
    assert window.history.count() == 0
    g0, photo = session.initial, session.photo
    engine_result = session.result.copy()
    mostly = (session.attention() >= 0.5).mean() * 100
    assert f"{mostly:.0f} % of the photo mostly translated" in window.statusBar().currentMessage()
    assert np.array_equal(engine_result, session.attention()[..., None] * g0
                          + (1 - session.attention()[..., None]) * photo)
    differs = np.abs(as8(g0) - as8(photo)).max(axis=2) >= 4
    probes = [(x, y) for y in range(8, 112, 13) for x in range(8, 152, 17) if differs[y, x]]
    assert len(probes) > 10

    # The views: 2 shows G0(x), 1 the result.
    qtbot.keyClick(window.canvas, Qt.Key.Key_2)
    assert panel.view == "initial"
    for x, y in probes:
        assert np.abs(shown(window, x, y) - as8(g0[y, x])).max() <= 1
    qtbot.keyClick(window.canvas, Qt.Key.Key_1)
    for x, y in probes[:5]:
        assert np.abs(shown(window, x, y) - as8(engine_result[y, x])).max() <= 1

    # Paint the attention: the left button translates fully, the right keeps the photo.
    window.canvas.brush_radius, window.canvas.hardness = RADIUS, 1.0
    drag(window.canvas, STROKE_ADD)
    drag(window.canvas, STROKE_KEEP, Qt.MouseButton.RightButton)
    result = session.result
    added = np.zeros(original.shape[:2], bool)
    added[40 - RADIUS + 2 : 40 + RADIUS - 1, 40:121] = True
    kept = np.zeros(original.shape[:2], bool)
    kept[90 - RADIUS + 2 : 90 + RADIUS - 1, 40:121] = True
    assert np.array_equal(result[added], g0[added])
    assert np.array_equal(result[kept], photo[kept]), "A = 0 must be the photo, bit for bit"
    away = np.ones(original.shape[:2], bool)
    away[40 - RADIUS - 2 : 40 + RADIUS + 3, 40 - RADIUS - 2 : 120 + RADIUS + 3] = False
    away[90 - RADIUS - 2 : 90 + RADIUS + 3, 40 - RADIUS - 2 : 120 + RADIUS + 3] = False
    assert np.array_equal(result[away], engine_result[away]), "only the strokes change"
    assert np.abs(shown(window, 80, 40) - as8(g0[40, 80])).max() <= 1, "the canvas follows"
    assert np.abs(shown(window, 80, 90) - as8(photo[90, 80])).max() <= 1
    assert [window.history.text(i) for i in range(2)] == ["Paint attention"] * 2

    # 3: the attention as a heat map over the photo, as strong as the slider says.
    qtbot.keyClick(window.canvas, Qt.Key.Key_3)
    panel.opacity.setValue(100)
    hot = heat_overlay(np.full((1, 1), 255, np.uint8)).pixelColor(0, 0)
    assert np.abs(shown(window, 80, 40) - [hot.red(), hot.green(), hot.blue()]).max() <= 1
    cold = heat_overlay(np.zeros((1, 1), np.uint8)).pixelColor(0, 0)
    veil = HEAT_FLOOR / 255
    expected = veil * np.array([cold.red(), cold.green(), cold.blue()]) + (1 - veil) * as8(
        photo[90, 80])
    assert np.abs(shown(window, 80, 90) - expected).max() <= 2
    panel.opacity.setValue(0)
    assert np.abs(shown(window, 80, 90) - as8(photo[90, 80])).max() <= 1

    # 4 / Y: before | after, and the window's split action is the same switch.
    qtbot.keyClick(window.canvas, Qt.Key.Key_4)
    assert window.canvas.split_x is not None and window.split_action.isChecked()
    window.split_action.trigger()
    assert window.canvas.split_x is None and panel.view == "result"

    # Another panel in front paints the selection again; back here, the result returns.
    window.docks["remove"].raise_()
    assert window.canvas.layer is window.canvas.mask
    assert np.abs(shown(window, 80, 40) - as8(photo[40, 80])).max() <= 1
    window.docks["translate"].raise_()
    assert window.canvas.layer is session.layer
    assert np.abs(shown(window, 80, 40) - as8(g0[40, 80])).max() <= 1

    # Undo a stroke while the result waits: the photo comes back there.
    window.history.undo()
    assert np.array_equal(session.result[kept], engine_result[kept])
    window.history.redo()
    assert np.array_equal(session.result[kept], photo[kept])

    # Enter applies, as one step; undo gives back the photo and the pending result.
    edited = session.result.copy()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Return)
    assert np.array_equal(window.document.pixels, edited)
    assert np.array_equal(window.document.pixels[kept], original[kept])
    assert window.history.text(window.history.index() - 1) == "Translate"
    assert window.canvas.layer is window.canvas.mask, "the brush paints the selection again"
    assert not panel.apply_button.isEnabled()
    window.history.undo()
    assert np.array_equal(window.document.pixels, original)
    assert panel.apply_button.isEnabled() and window.canvas.layer is session.layer
    assert np.array_equal(session.result, edited), "the edited attention is still there"

    # Ctrl+D clears what the brush paints, here the attention: nothing is translated.
    qtbot.keyClick(window.canvas, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert window.history.text(window.history.index() - 1) == "Clear attention"
    assert np.array_equal(session.result, photo)
    assert window.canvas.mask.selection[:10, :10].all(), "the selection is not touched"

    # Esc throws the result away, and with it the undo steps that only painted its
    # attention: Ctrl+Z must not spend presses on a layer that is gone.
    assert window.history.count() == 3
    qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)
    assert panel.session is None and window.history.count() == 0
    assert np.array_equal(window.document.pixels, original)
    assert window.canvas.mask.selection[:10, :10].all()


def test_escape_during_the_run_leaves_the_photo_bit_exact(window, qtbot, panel, tmp_path):
    path = tmp_path / "big.png"
    imageio.save_image(path, noise_texture(1200, 1600, seed=6, tint=(0.4, 0.5, 0.4)))
    window.open_path(path)
    before = window.document.pixels
    copy = before.copy()
    with qtbot.waitSignal(window.jobs.cancelled, timeout=30_000):
        qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
        qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)
    assert window.document.pixels is before and np.array_equal(before, copy)
    assert window.history.count() == 0 and panel.session is None
    assert not panel.apply_button.isEnabled()


def test_bad_model_files_say_why_and_a_good_one_imports(window, qtbot, panel, models,
                                                        tmp_path):
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not a model" * 50)
    with qtbot.waitSignal(panel._importer.failed, timeout=30_000):
        panel.import_model(broken)
    assert "could not be read" in window.last_error and "broken.safetensors" in window.last_error
    boxes = [b for b in window.findChildren(QMessageBox) if b.isVisible()]
    assert boxes and boxes[-1].windowTitle() == "Cannot import the model"
    for box in boxes:
        box.close()
    from safetensors.numpy import save_file

    foreign = tmp_path / "harmonizer.safetensors"
    save_file({"w": np.zeros(3, np.float32)}, str(foreign), metadata={"format": "other"})
    with qtbot.waitSignal(panel._importer.failed, timeout=30_000):
        panel.import_model(foreign)
    assert "is not a Transfigure translation model" in window.last_error
    assert sorted(p.name for p in models.glob("*.safetensors")) == ["tiny.safetensors"]

    good = tiny_model(tmp_path / "elsewhere" / "stripes.safetensors", resolution=32, seed=3)
    with qtbot.waitSignal(panel._importer.finished, timeout=30_000):
        panel.import_model(good)
    assert panel.model.currentData() == "stripes"
    assert (models / "stripes.safetensors").read_bytes() == good.read_bytes()

    (models / "stripes.safetensors").unlink()  # gone behind the app's back
    with qtbot.waitSignal(window.jobs.failed, timeout=30_000):
        qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    assert "does not exist" in window.last_error and panel.session is None


def test_model_view_and_opacity_are_remembered(window, qtbot, panel):
    from app.gui.window import MainWindow

    translate(window, qtbot, panel)
    panel.set_view("attention")
    panel.opacity.setValue(35)
    window.history.setClean()
    window.close()
    again = MainWindow(window.settings)
    try:
        restored = again.panels["translate"]
        assert restored.model.currentData() == "tiny"
        assert restored.view == "attention" and restored.view_actions["attention"].isChecked()
        assert restored.opacity.value() == 35
    finally:
        again.close()


@pytest.fixture
def one_torch_thread():
    """Tiny networks train fastest on one thread, and a busy machine does not stall them
    (two OpenMP threads spin-waiting on two shared cores can take 20× longer)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_training_dialog_previews_cancels_and_resumes(window, qtbot, panel, models,
                                                      tmp_path, monkeypatch,
                                                      one_torch_thread):
    from app.gui.dialogs import train_translate
    from engines.translate.model_file import read_info
    from engines.translate.networks import Widths

    monkeypatch.setattr(train_translate, "NETWORK_SIZES", {"Tiny": (Widths(4, 1, 4, 4), 4)})
    rng = np.random.default_rng(5)
    write_domain(tmp_path / "plain", [synthetic(rng, False)[0] for _ in range(3)])
    write_domain(tmp_path / "striped", [synthetic(rng, True)[0] for _ in range(3)])
    qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    dialog = panel.train_dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.keyClicks(dialog.source_dir, str(tmp_path / "plain"))
    qtbot.keyClicks(dialog.target_dir, str(tmp_path / "striped"))
    qtbot.keyClicks(dialog.name, "toy")
    dialog.iterations.setValue(40)
    dialog.resolution.setValue(32)
    assert not dialog.resume_button.isEnabled()

    def stop(*_) -> None:
        dialog.cancel_button.click()

    dialog.runner.preview.connect(stop)
    with qtbot.waitSignal(dialog.runner.cancelled, timeout=60_000):
        qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert not dialog.grid.image.isNull()
    assert dialog.grid.image.width() == 4 * dialog.grid.image.height()  # input|G0|A|result
    stopped = sum(read_info(models / "toy.safetensors").iterations.values())
    assert 0 < stopped < 40, "cancel keeps the model trained so far"
    assert panel.model.findData("toy") >= 0, "the model is in the picker at once"
    assert "Resume" in dialog.status.text() and dialog.resume_button.isEnabled()

    dialog.runner.preview.disconnect(stop)
    with qtbot.waitSignal(dialog.runner.finished, timeout=60_000):
        qtbot.mouseClick(dialog.resume_button, Qt.MouseButton.LeftButton)
    info = read_info(models / "toy.safetensors")
    assert sum(info.iterations.values()) == 40 and (info.source, info.target) == (
        "plain", "striped")
    assert len(dialog.plot.rows) >= 2 and dialog.plot.rows[-1]["step"] == 40
    assert panel.model.currentData() == "toy"
