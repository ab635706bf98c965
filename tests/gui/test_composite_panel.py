"""The Composite flow as a user does it: guide photo, box, move the object, Enter, undo."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from engines import imageio
from tests.gui.mouse import drag
from tests.unit.conftest import noise_texture

OBJECT = (0.95, 0.8, 0.1)


@pytest.fixture
def photos(tmp_path):
    target = noise_texture(300, 400, seed=1, tint=(0.3, 0.5, 0.35))
    guide = noise_texture(200, 240, seed=2, tint=(0.55, 0.25, 0.55))
    yy, xx = np.mgrid[0:200, 0:240]
    guide[np.hypot(xx - 120, yy - 100) <= 30] = OBJECT  # the object: a yellow disc
    paths = tmp_path / "target.png", tmp_path / "guide.png"
    imageio.save_image(paths[0], target)
    imageio.save_image(paths[1], guide)
    return paths, imageio.load_image(paths[0]).pixels


def drop_on(view, path) -> None:
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, data,
                       Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    view.dropEvent(event)  # Qt delivers drops only inside a real drag loop


def test_box_place_move_apply_undo(window, qtbot, photos):
    (target_path, guide_path), original = photos
    panel = window.panels["composite"]
    window.docks["composite"].raise_()
    window.open_path(target_path)
    drop_on(panel.view, guide_path)
    assert panel.guide is not None and panel.guide.shape[:2] == (200, 240)
    panel.view.set_zoom(1.0)
    panel.view.centerOn(120, 100)
    with qtbot.waitSignal(window.jobs.finished, timeout=20_000):
        drag(panel.view, [(82, 62), (120, 100), (158, 138)])  # a loose box round the disc
    assert panel.box is not None
    selection = panel.view.mask.selection
    yy, xx = np.mgrid[0:200, 0:240]
    disc = np.hypot(xx - 120, yy - 100) <= 30
    assert (selection & disc).sum() / (selection | disc).sum() > 0.9
    item = window.canvas.placement
    assert item is not None, "the cut-out should appear on the photo"
    # Drag the layer so the box's top-left lands at (40, 50) on the photo, at 100 %.
    window.canvas.set_zoom(1.0)
    window.canvas.centerOn(150, 150)
    start = item.placement
    grab = (start.x + 38, start.y + 38)  # the disc's middle, inside the layer
    drag(window.canvas, [grab, (grab[0] - 20, grab[1] - 20),
                         (grab[0] + 40 - start.x, grab[1] + 50 - start.y)])
    moved = item.placement
    assert abs(moved.x - 40) <= 1 and abs(moved.y - 50) <= 1
    previews: list[object] = []
    window.jobs.preview.connect(lambda image, box: previews.append(box))
    panel.harmonizer.setCurrentIndex(panel.harmonizer.findData("none"))
    assert panel.match_light.isChecked()  # on by default; off here: pasted exactly as it is
    qtbot.mouseClick(panel.match_light, Qt.MouseButton.LeftButton)
    assert not panel.match_light.isChecked()
    with qtbot.waitSignal(window.jobs.finished, timeout=30_000):
        qtbot.keyClick(window.canvas, Qt.Key.Key_Return)
    assert previews, "no preview reached the canvas"
    result = window.document.pixels
    x0, y0 = round(moved.x), round(moved.y)
    centre = (y0 + 100 - panel.box[1], x0 + 120 - panel.box[0])
    assert np.allclose(result[centre], OBJECT, atol=0.01)  # 8-bit guide file
    assert window.canvas.placement is None
    far = np.ones(result.shape[:2], bool)
    far[: y0 + 100, : x0 + 100] = False
    assert np.array_equal(result[far], original[far])
    window.history.undo()
    assert np.array_equal(window.document.pixels, original)


def test_escape_drops_the_layer_and_keeps_the_photo(window, qtbot, photos):
    (target_path, guide_path), original = photos
    panel = window.panels["composite"]
    window.open_path(target_path)
    assert panel.open_guide(guide_path)
    with qtbot.waitSignal(window.jobs.finished, timeout=20_000):
        panel.set_box((80, 60, 80, 80))
    assert window.canvas.placement is not None
    qtbot.keyClick(window.canvas, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)
    assert window.canvas.placement is None
    assert np.array_equal(window.document.pixels, original)
    assert window.history.count() == 0


def test_arrows_nudge_h_flips_and_corners_scale(window, qtbot, photos):
    (target_path, guide_path), _ = photos
    panel = window.panels["composite"]
    window.open_path(target_path)
    panel.open_guide(guide_path)
    with qtbot.waitSignal(window.jobs.finished, timeout=20_000):
        panel.set_box((80, 60, 80, 80))
    item = window.canvas.placement
    start = item.placement
    qtbot.keyClick(window.canvas, Qt.Key.Key_Right)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(window.canvas, Qt.Key.Key_H)
    now = item.placement
    assert (now.x - start.x, now.y - start.y, now.flip) == (1, 10, True)
    window.canvas.set_zoom(1.0)
    window.canvas.centerOn(now.x + 40, now.y + 40)
    corner = (now.x + 80 * now.scale_x, now.y + 80 * now.scale_y)
    drag(window.canvas, [corner, (corner[0] + 20, corner[1] + 5), (corner[0] + 40, corner[1])])
    scaled = item.placement
    assert scaled.scale_x == pytest.approx(scaled.scale_y)  # aspect kept
    assert scaled.scale_x == pytest.approx(now.scale_x * (80 * now.scale_x + 40)
                                           / (80 * now.scale_x), rel=0.03)
    assert (scaled.x, scaled.y) == (now.x, now.y)  # the opposite corner stays


def test_a_bad_guide_file_says_why(window, qtbot, photos, tmp_path):
    window.open_path(photos[0][0])
    broken = tmp_path / "guide.jpg"
    broken.write_bytes(b"nope")
    assert not window.panels["composite"].open_guide(broken)
    assert "guide.jpg" in window.last_error


def test_the_placed_object_is_shown_in_the_photos_light_as_apply_will_paint_it(
    window, qtbot, tmp_path
):
    """A guide shot in a fifth of the target's light (beyond what exposure differences
    between any two photos show): the layer already shows the object brightened into the
    photo's light, and Apply paints what the layer showed."""
    from engines.composite.harmonize import linear_light, srgb_from_linear

    target = noise_texture(300, 400, seed=1, tint=(0.45, 0.5, 0.42))
    scene = noise_texture(200, 240, seed=2, tint=(0.45, 0.5, 0.42))  # the same world
    yy, xx = np.mgrid[0:200, 0:240]
    scene[np.hypot(xx - 120, yy - 100) <= 30] = (0.8, 0.3, 0.2)  # a flat red disc
    dusk = np.clip(srgb_from_linear(linear_light(scene) * 0.2), 0, 1)
    paths = tmp_path / "target.png", tmp_path / "guide.png"
    imageio.save_image(paths[0], target)
    imageio.save_image(paths[1], dusk)
    panel = window.panels["composite"]
    window.docks["composite"].raise_()
    window.open_path(paths[0])
    panel.open_guide(paths[1])
    panel.harmonizer.setCurrentIndex(panel.harmonizer.findData("none"))
    assert panel.match_light.isChecked()
    with qtbot.waitSignal(window.jobs.finished, timeout=20_000):
        panel.set_box((80, 60, 80, 80))
    item = window.canvas.placement
    window.canvas.set_zoom(1.0)
    place = item.placement
    centre = (place.x + 40 * place.scale_x, place.y + 40 * place.scale_y)
    window.canvas.centerOn(*centre)
    qtbot.wait(50)
    shown = window.canvas.viewport().grab().toImage()
    at = window.canvas.mapFromScene(*centre)
    colour = shown.pixelColor(at.x(), at.y())
    layer = np.array([colour.red(), colour.green(), colour.blue()]) / 255.0
    raw = imageio.load_image(paths[1]).pixels[100, 120]
    assert layer[0] > raw[0] + 0.2, "the layer should show the object in the photo's light"
    with qtbot.waitSignal(window.jobs.finished, timeout=30_000):
        qtbot.keyClick(window.canvas, Qt.Key.Key_Return)
    painted = window.document.pixels[round(centre[1]), round(centre[0])]
    assert np.abs(painted - layer).max() < 0.03, (painted, layer)


def test_a_cut_out_that_fills_its_box_is_doubted_in_the_panel(window, qtbot, photos, tmp_path):
    """Issue 16, defect 12: the panel says the cut-out looks like background and points
    to Refine, before anything is pasted."""
    (target_path, _), _ = photos
    guide = noise_texture(200, 240, seed=2, tint=(0.5, 0.5, 0.5))
    guide[60:140, 80:160] = noise_texture(80, 80, seed=3, tint=(0.2, 0.55, 0.2))
    guide_path = tmp_path / "field.png"
    imageio.save_image(guide_path, guide)
    panel = window.panels["composite"]
    window.docks["composite"].raise_()
    window.open_path(target_path)
    drop_on(panel.view, guide_path)
    panel.view.set_zoom(1.0)
    panel.view.centerOn(120, 100)
    with qtbot.waitSignal(window.jobs.finished, timeout=20_000):
        drag(panel.view, [(80, 60), (120, 100), (160, 140)])
    assert "of the box" in panel.hint.text() and "Refine" in panel.hint.text()
    assert window.document.pixels is not None
    assert np.array_equal(window.document.pixels, imageio.load_image(target_path).pixels)
