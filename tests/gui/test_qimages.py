"""What the canvas shows is exactly what the engines hold."""

from __future__ import annotations

import gc

import numpy as np
from PySide6.QtGui import QColor

from app.gui.qimages import from_qimage, mask_overlay, to_qimage


def test_uint8_pixels_round_trip_exactly_even_after_the_array_is_gone(qapp):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)  # odd width: padded rows
    image = to_qimage(pixels.copy())
    gc.collect()
    assert (image.width(), image.height()) == (53, 37)
    assert np.array_equal(from_qimage(image), pixels)


def test_float_pixels_are_rounded_like_saved_files(qapp):
    pixels = np.array([[[0.0, 0.5, 1.0], [0.2, 0.999, 0.001]]], np.float32)
    assert from_qimage(to_qimage(pixels)).tolist() == [[[0, 128, 255], [51, 255, 0]]]


def test_mask_overlay_is_translucent_colour_only_on_the_mask(qapp):
    mask = np.zeros((4, 5), bool)
    mask[1:3, 2:4] = True
    overlay = mask_overlay(mask, QColor(255, 0, 0, 128))
    inside, outside = overlay.pixelColor(2, 1), overlay.pixelColor(0, 0)
    assert outside.alpha() == 0
    assert inside.alpha() == 128 and inside.red() >= 250 and inside.green() == 0
