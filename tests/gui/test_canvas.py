"""The canvas driven with real mouse events, as a user paints and boxes a selection."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from app.canvas.view import CanvasView
from tests.gui.mouse import drag
from tests.unit.conftest import periodic_texture


@pytest.fixture
def canvas(qtbot):
    view = CanvasView()
    qtbot.addWidget(view)
    view.resize(800, 600)
    view.show()
    qtbot.waitExposed(view)
    view.set_image(periodic_texture(300, 400))
    view.set_zoom(1.0)
    view.centerOn(200, 150)
    return view


def test_a_brush_drag_selects_the_pixels_under_the_stroke(canvas, qtbot):
    canvas.brush_radius = 10
    with qtbot.waitSignal(canvas.mask_edited) as edited:
        drag(canvas, [(100, 150), (150, 150), (200, 150), (250, 150)])
    sel = canvas.mask.selection
    assert sel[150, 100:251].all() and sel[142:159, 120:230].all()
    assert not sel[170:, :].any() and not sel[:130, :].any()
    assert not edited.args[0].empty


def test_right_button_erases(canvas, qtbot):
    canvas.mask.fill_rect((50, 100, 300, 100))
    canvas.brush_radius = 6
    drag(canvas, [(200, 110), (200, 150), (200, 190)], Qt.MouseButton.RightButton)
    sel = canvas.mask.selection
    assert not sel[110:190, 197:204].any()
    assert sel[110:190, 100:180].all()


def test_box_tool_selects_the_dragged_rectangle(canvas, qtbot):
    canvas.tool = "box"
    drag(canvas, [(120, 80), (200, 120), (280, 200)])
    sel = canvas.mask.selection
    ys, xs = np.nonzero(sel)
    assert abs(ys.min() - 80) <= 1 and abs(ys.max() - 199) <= 1
    assert abs(xs.min() - 120) <= 1 and abs(xs.max() - 279) <= 1


def test_the_overlay_shows_the_selection_in_colour(canvas, qtbot):
    drag(canvas, [(200, 150), (201, 150)])
    canvas.viewport().repaint()
    shot = canvas.viewport().grab().toImage()
    at = canvas.mapFromScene(QPointF(200, 150))
    off = canvas.mapFromScene(QPointF(200, 250))
    painted, plain = shot.pixelColor(at), shot.pixelColor(off)
    photo = canvas._photo.image.pixelColor(200, 250)  # same texture row: unpainted looks
    assert (plain.red(), plain.green(), plain.blue()) == (photo.red(), photo.green(), photo.blue())
    under = canvas._photo.image.pixelColor(200, 150)
    # Tinted towards red: red rises relative to the photo more than green does.
    assert painted.red() - under.red() > painted.green() - under.green() + 20


def test_wheel_zooms_and_fit_shows_the_whole_photo(canvas, qtbot):
    start = canvas.zoom
    canvas.zoom_by(1.25**2)
    assert canvas.zoom == pytest.approx(start * 1.5625, rel=1e-3)
    canvas.fit()
    view_rect = canvas.mapToScene(canvas.viewport().rect()).boundingRect()
    assert view_rect.contains(canvas.sceneRect().adjusted(1, 1, -1, -1))


def test_undo_record_restores_the_mask(canvas, qtbot):
    with qtbot.waitSignal(canvas.mask_edited) as edited:
        drag(canvas, [(100, 100), (300, 200)])
    assert canvas.mask.selection.any()
    canvas.refresh_mask(canvas.mask.apply(edited.args[0], undo=True))
    assert not canvas.mask.selection.any()
