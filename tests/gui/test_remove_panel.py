"""The Remove panel's structure-aware engines: the model they run is the user's choice."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engines import imageio
from engines.remove.generator.model_file import save_model
from engines.remove.generator.networks import InpainterWidths, build_inpainter
from tests.gui.mouse import drag
from tests.unit.conftest import noise_texture


@pytest.fixture
def own_model(tmp_path, monkeypatch):
    """A toy inpainting model named "mine" in the user's inpainting folder."""
    folder = tmp_path / "inpaint-models"
    folder.mkdir()
    monkeypatch.setenv("TRANSFIGURE_INPAINT_MODELS", str(folder))
    torch.manual_seed(0)
    widths = InpainterWidths(generator=4, blocks=1, procedural=0, discriminator=4)
    save_model(build_inpainter(widths).eval(), folder / "mine.safetensors", widths,
               {"resolution": 64, "iterations": {"head": 3}})
    return "mine"


def test_the_generator_fills_with_the_model_chosen_in_the_panel(window, qtbot, tmp_path,
                                                                own_model):
    panel = window.panels["remove"]
    panel.models_changed()  # the model appeared after the window opened
    assert panel.model.findData(own_model) >= 0
    panel.engine.setCurrentIndex(panel.engine.findData("patchmatch"))
    assert not panel.model.isEnabled()  # the classic engine runs no model
    panel.engine.setCurrentIndex(panel.engine.findData("generator"))
    assert panel.model.isEnabled()
    panel.model.setCurrentIndex(panel.model.findData(own_model))

    pixels = noise_texture(240, 320, seed=4, tint=(0.4, 0.5, 0.3))
    pixels[100:140, 150:200] = (1.0, 0.0, 1.0)
    path = tmp_path / "photo.png"
    imageio.save_image(path, pixels)
    window.open_path(path)
    original = window.document.pixels.copy()
    window.canvas.set_zoom(1.0)
    window.canvas.centerOn(175, 120)
    window.canvas.brush_radius = 30
    drag(window.canvas, [(160, 120), (175, 120), (190, 120)])
    selection = window.canvas.mask.selection.copy()
    with qtbot.waitSignal(window.jobs.finished, timeout=30_000):
        panel.run_button.click()
    result = window.document.pixels
    assert np.array_equal(result[~selection], original[~selection])
    assert not np.allclose(result[selection], original[selection])
    assert own_model in window.statusBar().currentMessage()  # says which model filled it
