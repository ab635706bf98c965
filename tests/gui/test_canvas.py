"""The canvas driven with real mouse events, as a user paints and boxes a selection."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from app.gui.canvas.view import CanvasView
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


def _shown(canvas: CanvasView, x: float, y: float) -> tuple[int, int, int]:
    """The colour the user sees at photo pixel (x, y)."""
    canvas.viewport().repaint()
    color = canvas.viewport().grab().toImage().pixelColor(canvas.mapFromScene(QPointF(x, y)))
    return color.red(), color.green(), color.blue()


def _photo_rgb(pixels: np.ndarray, x: int, y: int) -> tuple[int, int, int]:
    return tuple(int(v) for v in np.rint(pixels[y, x] * 255))  # type: ignore[return-value]


def _scroll(canvas: CanvasView) -> tuple[int, int]:
    return canvas.horizontalScrollBar().value(), canvas.verticalScrollBar().value()


def test_middle_button_drag_pans_without_touching_the_mask(canvas, qtbot):
    canvas.set_zoom(4.0)
    canvas.centerOn(200, 150)
    start = _scroll(canvas)
    drag(canvas, [(200, 150), (190, 145), (180, 140)], Qt.MouseButton.MiddleButton)
    moved = _scroll(canvas)
    # The photo follows the hand: dragging left/up by 20/10 photo px scrolls right/down.
    assert moved[0] - start[0] == pytest.approx(20 * 4, abs=6)
    assert moved[1] - start[1] == pytest.approx(10 * 4, abs=6)
    assert not canvas.mask.coverage.any()


def test_space_drag_pans_instead_of_painting(canvas, qtbot):
    canvas.set_zoom(4.0)
    canvas.centerOn(200, 150)
    start = _scroll(canvas)
    qtbot.keyPress(canvas, Qt.Key.Key_Space)
    drag(canvas, [(200, 150), (210, 150), (220, 150)])
    qtbot.keyRelease(canvas, Qt.Key.Key_Space)
    assert _scroll(canvas)[0] < start[0] - 40
    assert not canvas.mask.coverage.any()
    # Without Space the same drag paints again.
    drag(canvas, [(200, 150), (205, 150)])
    assert canvas.mask.selection.any()


def test_holding_backslash_shows_the_photo_as_opened(canvas, qtbot):
    original = periodic_texture(300, 400)
    canvas.set_before(original)
    changed = original.copy()
    changed[100:200, 150:250] = (0.0, 0.0, 1.0)
    canvas.replace_photo(changed)
    canvas.mask.fill_rect((0, 0, 50, 50))
    canvas.refresh_mask()
    assert _shown(canvas, 200, 150) == (0, 0, 255)
    qtbot.keyPress(canvas, Qt.Key.Key_Backslash)
    assert canvas.comparing
    assert _shown(canvas, 200, 150) == _photo_rgb(original, 200, 150)
    assert _shown(canvas, 20, 20) == _photo_rgb(original, 20, 20)  # no mask tint either
    qtbot.keyRelease(canvas, Qt.Key.Key_Backslash)
    assert not canvas.comparing
    assert _shown(canvas, 200, 150) == (0, 0, 255)


def test_split_view_shows_before_left_of_a_line_the_user_drags(canvas, qtbot):
    original = periodic_texture(300, 400)
    canvas.set_before(original)
    changed = original.copy()
    changed[:, :] = (0.0, 0.0, 1.0)
    canvas.replace_photo(changed)
    canvas.set_split(True)
    assert canvas.split_x == pytest.approx(200)
    assert _shown(canvas, 150, 100) == _photo_rgb(original, 150, 100)
    assert _shown(canvas, 250, 100) == (0, 0, 255)
    drag(canvas, [(200, 100), (230, 100), (280, 100)])
    assert canvas.split_x == pytest.approx(280, abs=1)
    assert _shown(canvas, 260, 100) == _photo_rgb(original, 260, 100)
    assert not canvas.mask.coverage.any(), "dragging the line must not paint"
    canvas.set_split(False)
    assert _shown(canvas, 150, 100) == (0, 0, 255)


def test_mask_opacity_sets_how_strongly_the_selection_tints(canvas, qtbot):
    canvas.mask.fill_rect((100, 100, 50, 50))
    canvas.refresh_mask()
    photo = canvas._photo.image.pixelColor(120, 120)
    canvas.set_overlay_opacity(0.0)
    assert _shown(canvas, 120, 120) == (photo.red(), photo.green(), photo.blue())
    canvas.set_overlay_opacity(1.0)
    assert _shown(canvas, 120, 120) == (255, 40, 40)
    canvas.set_overlay_opacity(0.5)
    red = _shown(canvas, 120, 120)[0]
    assert min(photo.red(), 255) <= red <= 255 and abs(red - (photo.red() + 255) / 2) <= 3


def test_a_soft_brush_feathers_the_selection(canvas, qtbot):
    canvas.brush_radius, canvas.hardness = 20, 0.0
    drag(canvas, [(200, 150), (200, 150)])
    mask = canvas.mask
    assert mask.coverage[150, 200] >= 250  # the centre is fully selected
    ring = mask.alpha[150, 185:195]
    assert ((ring > 0) & (ring < 1)).all() and np.all(np.diff(ring) >= 0)  # fades outwards
    assert mask.is_soft
    assert not mask.selection[150, 221:].any()


def test_zoomed_out_fine_detail_averages_instead_of_aliasing(canvas, qtbot):
    yy, xx = np.mgrid[0:800, 0:1200]
    checker = ((xx + yy) % 2).astype(np.float32)
    canvas.set_image(np.repeat(checker[..., None], 3, axis=2))
    canvas.set_zoom(0.25)
    canvas.centerOn(600, 400)
    canvas.viewport().repaint()
    shot = canvas.viewport().grab().toImage()
    centre = canvas.mapFromScene(QPointF(600, 400))
    greys = [shot.pixelColor(centre.x() + dx, centre.y() + dy).red()
             for dx in range(-20, 21, 5) for dy in range(-20, 21, 5)]
    # Nearest-neighbour sampling would land on one parity: all 0 or all 255.
    assert all(90 <= g <= 165 for g in greys), greys


def test_a_preview_is_shown_untinted_and_the_mask_returns_after(canvas, qtbot):
    canvas.mask.fill_rect((100, 100, 50, 50))
    canvas.refresh_mask()
    canvas.set_overlay_opacity(1.0)
    fill = np.zeros((50, 50, 3), np.float32)
    fill[..., 1] = 1.0  # the engine's (green) fill of the hole
    canvas.show_preview(fill, (100, 100, 50, 50))
    assert _shown(canvas, 120, 120) == (0, 255, 0)
    canvas.clear_preview()
    assert _shown(canvas, 120, 120) == (255, 40, 40)


def test_a_small_photo_opens_at_100_percent_and_ctrl_0_still_fits_it(qtbot):
    """Opening a photo smaller than the view shows its real pixels, not a blur of them."""
    view = CanvasView()
    view.resize(900, 700)
    view.show()
    qtbot.waitExposed(view)
    view.set_image(np.full((120, 160, 3), 0.5, np.float32))
    assert view.zoom == pytest.approx(1.0)
    view.fit()
    assert view.zoom > 3.0  # Ctrl+0 fills the view
    view.set_image(np.full((3000, 4000, 3), 0.5, np.float32))
    assert view.zoom < 0.3  # a large photo still opens fitted
