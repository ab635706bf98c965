"""2-D point transforms shared by alignment, shape metrics and the warp engine.

Transforms are 2×3 affine matrices acting on (x, y) pixel coordinates (pixel centres at
integers, as dlib and OpenCV number them), so the same matrix moves points and, through
``cv2.warpAffine``, images.
"""

from __future__ import annotations

import numpy as np


def apply_affine(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``points`` (N×2) moved by the 2×3 ``matrix``; float64 N×2."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    m = np.asarray(matrix, dtype=np.float64)
    return pts @ m[:, :2].T + m[:, 2]


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """The exact inverse of a 2×3 affine (float64), not a re-estimate from points."""
    m = np.asarray(matrix, dtype=np.float64)
    linear = np.linalg.inv(m[:, :2])
    return np.hstack([linear, -(linear @ m[:, 2])[:, None]])


def similarity_fit(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The rotation + uniform scale + shift that best maps ``source`` onto ``target``.

    Least squares over corresponding points (Umeyama's closed form, reflections
    excluded): a face seen at another size, tilt or place keeps its shape, so only
    what the similarity cannot explain (expression, identity, head turn) is left over.
    """
    src = np.asarray(source, dtype=np.float64).reshape(-1, 2)
    dst = np.asarray(target, dtype=np.float64).reshape(-1, 2)
    src_mean, dst_mean = src.mean(0), dst.mean(0)
    s, d = src - src_mean, dst - dst_mean
    variance = float((s**2).sum())
    if variance <= 1e-12:
        raise ValueError("similarity_fit needs at least two distinct source points")
    cov = d.T @ s / len(src)
    u, sig, vt = np.linalg.svd(cov)
    sign = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[-1] = -1.0
    rotation = u @ np.diag(sign) @ vt
    scale = float((sig * sign).sum() / (variance / len(src)))
    linear = scale * rotation
    shift = dst_mean - linear @ src_mean
    return np.hstack([linear, shift[:, None]])
