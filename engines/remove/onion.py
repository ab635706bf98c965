"""First guess for the coarsest level: fill the hole layer by layer from its rim inwards.

EM converges to whatever structure its first guess suggests; a smooth diffusion fill
suggests smoothness and the result keeps flat smears. Peeling the hole like an onion,
each rim pixel copied from the known patch that best matches what is already known
around it (an exact search, affordable at the coarsest scale), suggests real texture
and continues edges into the hole.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

_MAX_SOURCES = 1500
_MIN_SOURCES = 500
_PAIR_BUDGET = 9_000_000  # hole pixels × sources compared: keeps the first preview quick
_BATCH = 512


def onion_fill(
    image: np.ndarray, hole: np.ndarray, avoid: np.ndarray | None, patch: int, seed: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """The image with its hole filled rim by rim, and where each pixel was copied from.

    The second array (H, W, 2) holds the source pixel of every filled pixel and −1
    elsewhere: a coherent first nearest-neighbour field for free. None when no whole
    known patch exists.
    """
    r = patch // 2
    h, w = hole.shape
    blocked = hole if avoid is None else hole | avoid
    ker = np.ones((patch, patch), np.uint8)
    free = cv2.dilate(blocked.astype(np.uint8), ker) == 0
    free[:r], free[h - r :], free[:, :r], free[:, w - r :] = False, False, False, False
    sy, sx = np.nonzero(free)
    if sy.size == 0:
        return None
    rng = np.random.default_rng(seed)
    limit = int(np.clip(_PAIR_BUDGET // max(1, int(hole.sum())), _MIN_SOURCES, _MAX_SOURCES))
    if sy.size > limit:
        pick = rng.choice(sy.size, limit, replace=False)
        sy, sx = sy[pick], sx[pick]
    dy, dx = np.mgrid[-r : r + 1, -r : r + 1]
    # The search compares an integer view of the photo, coarse enough that every sum of
    # products in the distances below stays under 2²⁴: exact in float32, so the GEMM's
    # thread count cannot change which source wins (and the fill). The copies are of
    # the photo's own pixels.
    levels = min(255.0, math.floor(math.sqrt(2**23 / (3 * patch * patch))))
    view = np.rint(np.clip(image, 0.0, 1.0) * levels).astype(np.float32)
    sources = view[sy[:, None, None] + dy, sx[:, None, None] + dx].reshape(sy.size, -1)
    sources_sq = np.ascontiguousarray(sources * sources)

    est = view.copy()
    est[hole] = 0.0
    origin = np.full((h, w, 2), -1, np.int64)
    filled = ~hole
    # The hole's pixels still to fill, in row-major order; each round takes those with
    # a filled 4-neighbour. Working on this list, not on whole-level masks, keeps a
    # round's cost to the hole's size.
    left_y, left_x = np.nonzero(hole)
    while left_y.size:
        up, down = np.maximum(left_y - 1, 0), np.minimum(left_y + 1, h - 1)
        west, east = np.maximum(left_x - 1, 0), np.minimum(left_x + 1, w - 1)
        on_rim = (filled[up, left_x] | filled[down, left_x]
                  | filled[left_y, west] | filled[left_y, east])
        if not on_rim.any():  # cannot happen for a hole with any known pixel; stay safe
            on_rim[:] = True
        qy, qx = left_y[on_rim], left_x[on_rim]
        left_y, left_x = left_y[~on_rim], left_x[~on_rim]
        cy, cx = np.clip(qy, r, h - r - 1), np.clip(qx, r, w - r - 1)
        for start in range(0, qy.size, _BATCH):
            part = slice(start, start + _BATCH)
            yy = cy[part, None, None] + dy
            xx = cx[part, None, None] + dx
            values = est[yy, xx].reshape(yy.shape[0], -1)
            known = np.repeat(filled[yy, xx].reshape(yy.shape[0], -1, 1), 3, axis=2)
            known = known.reshape(yy.shape[0], -1).astype(np.float32)
            kv = known * values
            # |k·(v − s)|² expanded into products with all sources at once. OpenCV's GEMM:
            # numpy's BLAS is several times slower on these thin matrices here.
            dist = cv2.gemm(kv, sources, -2.0, None, 0.0, flags=cv2.GEMM_2_T)
            dist += cv2.gemm(known, sources_sq, 1.0, None, 0.0, flags=cv2.GEMM_2_T)
            dist += (kv * values).sum(1, keepdims=True)
            best = np.argmin(dist / np.maximum(known.sum(1, keepdims=True), 1.0), axis=1)
            oy = qy[part] - cy[part] + sy[best]
            ox = qx[part] - cx[part] + sx[best]
            est[qy[part], qx[part]] = view[oy, ox]
            origin[qy[part], qx[part], 0] = oy
            origin[qy[part], qx[part], 1] = ox
        filled[qy, qx] = True
    fill = image.copy()
    fill[hole] = image[origin[hole][:, 0], origin[hole][:, 1]]
    return fill, origin
