"""Blending an operation's result back into the photo through a soft (feathered) mask.

A soft brush or a feathered paste should fade into the photo instead of ending in a
seam, yet every pixel the mask does not touch must stay bit-exact (so a saved file
keeps its untouched integers). Blending only where 0 < alpha < 1, and copying where
alpha is 1, gives both.
"""

from __future__ import annotations

import cv2
import numpy as np


def blend_by_alpha(base: np.ndarray, layer: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``base`` where alpha is 0, ``layer`` where it is 1, their mix in between.

    ``alpha`` is HxW in [0, 1]; ``base`` and ``layer`` are HxWxC of the same shape.
    The result is a new array; pixels with alpha 0 are ``base``'s own values.
    """
    if base.shape != layer.shape or alpha.shape != base.shape[:2]:
        raise ValueError(f"shapes differ: {base.shape}, {layer.shape}, alpha {alpha.shape}")
    out = base.copy()
    full = alpha >= 1.0
    out[full] = layer[full]
    part = (alpha > 0.0) & ~full
    if part.any():
        a = alpha[part][:, None].astype(np.float32)
        out[part] = base[part] + a * (layer[part] - base[part])
    return out


def feather_inside(mask: np.ndarray, width: float) -> np.ndarray:
    """Alpha (float32) 0 outside ``mask`` rising smoothly (smoothstep) to 1 ``width``
    pixels inside it: a pasted region fades in without a seam or a visible ramp."""
    distance = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5)
    t = np.clip(distance / max(width, 1.0), 0.0, 1.0)
    return (t * t * (3 - 2 * t)).astype(np.float32)
