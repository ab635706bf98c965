"""Conversions between the engines' numpy images and Qt's QImage.

Every QImage made here owns a copy of its pixels: a QImage that merely wraps a numpy
buffer crashes the canvas once the array is freed, and the engines recycle arrays.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np
from PySide6.QtGui import QColor, QImage

from engines.imageio import to_uint

HEAT_FLOOR = 64  # the heat map's alpha (of 255) where the map is 0
HEAT_RANGE = (24, 230)  # the part of the turbo colour map that 0…255 spans


def to_qimage(pixels: np.ndarray) -> QImage:
    """An RGB888 QImage of float [0, 1] or uint8 HxWx3 pixels."""
    rgb = pixels if pixels.dtype == np.uint8 else to_uint(pixels, 8)
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def from_qimage(image: QImage) -> np.ndarray:
    """uint8 HxWx3 RGB pixels of any QImage."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    h, w, stride = rgb.height(), rgb.width(), rgb.bytesPerLine()
    buffer = np.frombuffer(rgb.constBits(), np.uint8, count=stride * h).reshape(h, stride)
    return buffer[:, : 3 * w].reshape(h, w, 3).copy()


def mask_overlay(coverage: np.ndarray, color: QColor) -> QImage:
    """A premultiplied ARGB image of ``color``, as opaque as the mask covers each pixel.

    ``coverage`` is uint8 (255 = fully selected) or bool; ``color``'s own alpha scales it,
    so a soft brush's falloff shows as a fading tint.
    """
    cover = coverage.astype(np.uint16) * 255 if coverage.dtype == bool else coverage
    h, w = cover.shape
    alpha = (cover.astype(np.uint32) * color.alpha() + 127) // 255
    bgra = np.empty((h, w, 4), np.uint8)  # ARGB32 is B, G, R, A in memory on little-endian
    for channel, value in enumerate((color.blue(), color.green(), color.red())):
        bgra[..., channel] = (alpha * value + 127) // 255
    bgra[..., 3] = alpha
    return QImage(bgra.data, w, h, 4 * w, QImage.Format.Format_ARGB32_Premultiplied).copy()


def to_rgba_qimage(pixels: np.ndarray, alpha: np.ndarray) -> QImage:
    """A premultiplied ARGB image of float [0, 1] RGB pixels with a [0, 1] alpha."""
    rgb = to_uint(pixels, 8).astype(np.uint16)
    a = np.clip(np.rint(np.asarray(alpha, np.float32) * 255), 0, 255).astype(np.uint16)
    h, w = a.shape
    bgra = np.empty((h, w, 4), np.uint8)  # ARGB32 is B, G, R, A in memory on little-endian
    for channel, source in enumerate((2, 1, 0)):
        bgra[..., channel] = (rgb[..., source] * a + 127) // 255
    bgra[..., 3] = a
    return QImage(bgra.data, w, h, 4 * w, QImage.Format.Format_ARGB32_Premultiplied).copy()


def heat_overlay(coverage: np.ndarray) -> QImage:
    """A heat map of a 0–255 map (dark blue 0, green, red 255) to lay over the photo:
    the attention overlay. Low values are also more transparent, so what the map leaves
    alone still shows as the photo with a faint blue veil, and what it translates glows.

    Turbo rather than jet: it runs evenly in lightness, so a soft edge in an attention
    map reads as a soft edge and not as a band.
    """
    cover = np.ascontiguousarray(coverage, np.uint8)
    bgr = _heat_lut()[cover].astype(np.uint32)
    alpha = HEAT_FLOOR + (cover.astype(np.uint32) * (255 - HEAT_FLOOR) + 127) // 255
    h, w = cover.shape
    bgra = np.empty((h, w, 4), np.uint8)  # ARGB32 is B, G, R, A in memory on little-endian
    bgra[..., :3] = (bgr * alpha[..., None] + 127) // 255  # premultiplied
    bgra[..., 3] = alpha
    return QImage(bgra.data, w, h, 4 * w, QImage.Format.Format_ARGB32_Premultiplied).copy()


@functools.cache
def _heat_lut() -> np.ndarray:
    """256 BGR colours: turbo without its darkest ends, so 1 is a bright red, not maroon."""
    index = np.linspace(HEAT_RANGE[0], HEAT_RANGE[1], 256).round().astype(np.uint8)
    return cv2.applyColorMap(index[:, None], cv2.COLORMAP_TURBO)[:, 0, :]
