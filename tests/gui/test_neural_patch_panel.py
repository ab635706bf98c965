"""The neural-patch engine in the window: its options appear only for it, the progress
shows scale and iteration while previews refine the hole, and without VGG-19 it is
greyed with the command that installs it."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PySide6.QtCore import Qt

from engines import imageio
from tests.unit.conftest import noise_texture


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "photo.png"
    imageio.save_image(path, noise_texture(96, 128, seed=2, tint=(0.4, 0.5, 0.35)))
    return path


def test_options_show_for_neural_patch_and_a_run_previews_each_iteration(
        window, qtbot, photo, monkeypatch):
    monkeypatch.setenv("TRANSFIGURE_RANDOM_VGG", "1")  # the labelled development network
    from app.gui.panels.base import check_engines

    panel = window.panels["remove"]
    window.docks["remove"].raise_()
    check_engines(panel.engine, "remove")
    assert window.open_path(photo)
    before = window.document.pixels.copy()
    panel.engine.setCurrentIndex(panel.engine.findData("patchmatch"))
    assert not panel.iterations.isVisibleTo(panel)
    panel.engine.setCurrentIndex(panel.engine.findData("neural-patch"))
    assert panel.iterations.isVisibleTo(panel) and panel.texture.isVisibleTo(panel)
    panel.iterations.setValue(2)
    window.canvas.refresh_mask(window.canvas.mask.fill_rect((40, 30, 40, 30)))
    messages: list[str] = []
    window.jobs.progress.connect(lambda step, total, message, eta: messages.append(message))
    previews: list[object] = []
    window.jobs.preview.connect(lambda image, box: previews.append(box))
    with qtbot.waitSignal(window.jobs.finished, timeout=60_000):
        qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    # The window shows the newest progress every 100 ms, so which iterations it shows
    # depends on the machine's speed (scale 2 can end between two looks): check that
    # what it shows names the scale and the iteration.
    assert any(re.fullmatch(r"Scale [12] of 2, iteration [12] of 2", m) for m in messages), \
        messages
    assert previews
    selection = np.zeros(before.shape[:2], bool)
    selection[30:60, 40:80] = True
    assert np.array_equal(window.document.pixels[~selection], before[~selection])
    assert not np.array_equal(window.document.pixels[selection], before[selection])
    assert "RANDOM weights" in window.statusBar().currentMessage()


def test_without_vgg19_the_engine_is_greyed_with_the_fix(window, monkeypatch):
    from app.gui.panels.base import check_engines
    from engines.store import weights

    monkeypatch.delenv("TRANSFIGURE_RANDOM_VGG", raising=False)
    monkeypatch.setattr(weights, "is_installed", lambda entry: False)
    panel = window.panels["remove"]
    check_engines(panel.engine, "remove")
    item = panel.engine.model().item(panel.engine.findData("neural-patch"))
    assert not item.isEnabled()
    assert "weights download vgg19" in item.toolTip()
