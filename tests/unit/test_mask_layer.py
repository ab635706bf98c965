"""Painting the selection: what the brush covers, and that undo gives back every pixel."""

from __future__ import annotations

import numpy as np

from app.gui.canvas.mask import TILE, MaskLayer


def distance_to_segment(h, w, a, b):
    yy, xx = np.mgrid[0:h, 0:w].astype(float)
    d = np.subtract(b, a)
    t = np.clip(((xx - a[0]) * d[0] + (yy - a[1]) * d[1]) / (d @ d), 0, 1)
    return np.hypot(xx - (a[0] + t * d[0]), yy - (a[1] + t * d[1]))


def test_a_brush_stroke_selects_what_it_passes_over_and_nothing_else():
    layer = MaskLayer(120, 160)
    layer.dab_line((20, 30), (130, 90), radius=8)
    dist = distance_to_segment(120, 160, (20, 30), (130, 90))
    assert layer.selection[dist <= 7.5].all()
    assert not layer.selection[dist >= 8.5].any()


def test_erasing_with_the_brush_removes_the_selection():
    layer = MaskLayer(100, 100)
    layer.fill_rect((10, 10, 80, 80))
    layer.dab_line((50, 20), (50, 80), radius=5, erase=True)
    assert not layer.selection[20:81, 47:54].any()
    assert layer.selection[20:80, 20:40].all()


def test_a_soft_brush_fades_towards_its_edge():
    layer = MaskLayer(60, 60)
    layer.dab_line((30, 30), (30, 30), radius=20, hardness=0.2)
    row = layer.coverage[30]
    assert row[30] == 255
    assert 0 < row[30 + 15] < 255  # fading part of the radius
    assert row[30 + 21] == 0


def test_undo_and_redo_restore_every_pixel_of_a_stroke():
    layer = MaskLayer(300, 400)
    layer.fill_rect((0, 0, 50, 50))
    before = layer.coverage.copy()
    layer.begin()
    layer.dab_line((10, 10), (350, 250), radius=12)
    layer.dab_line((350, 250), (390, 20), radius=12, hardness=0.5)
    edit = layer.end()
    after = layer.coverage.copy()
    assert not np.array_equal(before, after)
    layer.apply(edit, undo=True)
    assert np.array_equal(layer.coverage, before)
    layer.apply(edit, undo=False)
    assert np.array_equal(layer.coverage, after)


def test_a_stroke_on_a_12mp_photo_keeps_only_the_tiles_it_touched():
    layer = MaskLayer(3000, 4000)
    layer.begin()
    layer.dab_line((1000, 1000), (1200, 1100), radius=20)
    edit = layer.end()
    assert 0 < len(edit.before) <= 4 * ((200 + 40) // TILE + 2) * ((100 + 40) // TILE + 2)
    assert all(tile.shape == (TILE, TILE) for tile in edit.before.values())


def test_box_invert_and_clear_are_undoable():
    layer = MaskLayer(50, 70)
    layer.begin()
    layer.fill_rect((-10, 40, 30, 30))  # partly outside: clipped
    box = layer.end()
    assert layer.selection[40:, :20].all() and layer.selection.sum() == 10 * 20
    layer.begin()
    layer.invert()
    inverted = layer.end()
    assert layer.selection.sum() == 50 * 70 - 200
    layer.begin()
    layer.clear()
    cleared = layer.end()
    assert not layer.selection.any()
    for edit in (cleared, inverted, box):
        layer.apply(edit, undo=True)
    assert not layer.coverage.any()
