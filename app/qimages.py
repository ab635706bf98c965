"""Conversions between the engines' numpy images and Qt's QImage.

Every QImage made here owns a copy of its pixels: a QImage that merely wraps a numpy
buffer crashes the canvas once the array is freed, and the engines recycle arrays.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor, QImage

from engines.imageio import to_uint


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


def mask_overlay(mask: np.ndarray, color: QColor) -> QImage:
    """A premultiplied ARGB image: ``color`` (with its alpha) where the mask is set."""
    h, w = mask.shape
    alpha = color.alphaF()
    bgra = np.zeros((h, w, 4), np.uint8)  # ARGB32 is B, G, R, A in memory on little-endian
    bgra[mask] = (
        round(color.blue() * alpha), round(color.green() * alpha),
        round(color.red() * alpha), color.alpha(),
    )
    return QImage(bgra.data, w, h, 4 * w, QImage.Format.Format_ARGB32_Premultiplied).copy()
