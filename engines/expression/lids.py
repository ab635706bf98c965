"""Eyes that close are closed by their lids: the lid slides down over the eye.

A smooth warp cannot close an eye: pulling the upper lid's two landmarks onto the lower
lid squeezes the eye between them, the spline overshoots between controls a pixel apart
and sampling far-apart sources (the iris showed through as a slit, and the detector
still read the eye as two-thirds open), and the iris becomes a flat oval. An eyelid
instead unfolds from its crease and slides over the eye, which stays where it was.

So the spline leaves a closing eye's lids where they are (``static_lids``), and the lid
is drawn afterwards (``slide_lids``): in each column between the eye's corners, the lid's
rim with its lashes moves down whole to the new edge, and the skin between it and the
crease stretches to follow. Below the new edge the eye is as it was, cut by the lid.
Where the old and new edges meet (the corners) the slide is the identity, so it joins
the spline's map without a seam.
"""

from __future__ import annotations

import cv2
import numpy as np

from engines.faces.shape import FIRST_EYE, SECOND_EYE

CREASE_DEPTH = 0.45  # of the eye's width: how far above the lid's edge its crease lies
CLOSING = 0.5  # px: an upper lid coming down by more than this is slid, not warped
LASH_DEPTH = 0.25  # of the eye's width: the lashes and lid rim above the edge, moved whole


def closing_eyes(before: np.ndarray, after: np.ndarray) -> list[tuple[int, ...]]:
    """The eyes (landmark index tuples) whose upper lid comes down."""
    closing = []
    for eye in (FIRST_EYE, SECOND_EYE):
        upper = [eye[1], eye[2]]
        if (after[upper, 1] - before[upper, 1]).mean() > CLOSING:
            closing.append(eye)
    return closing


def static_lids(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """``after`` with each closing eye's lids kept where they were (for the spline)."""
    held = after.copy()
    for eye in closing_eyes(before, after):
        idx = list(eye)
        held[idx] = before[idx]
    return held


def slide_lids(map_x: np.ndarray, map_y: np.ndarray, before: np.ndarray,
               after: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The maps with each closing eye's upper lid slid down to its new edge.

    ``before`` and ``after`` are the landmarks in the maps' pixels; the maps must hold
    the eyes' lids still (``static_lids``).
    """
    for eye in closing_eyes(before, after):
        map_x, map_y = _slide_one(map_x, map_y, before, after, eye)
    return map_x, map_y


def _edge(points: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """The lid's edge along its points (corner, lid, lid, corner), at columns ``xs``.

    A parabola fitted to the four points, pinned to the corners: a lid's edge is a
    smooth arc, and straight segments between the landmarks put kinks in the lash line.
    """
    order = np.argsort(points[:, 0])
    x, y = points[order, 0], points[order, 1]
    chord = np.interp(xs, [x[0], x[-1]], [y[0], y[-1]])
    span = max(x[-1] - x[0], 1e-6)
    # The arc's height over the corners' chord: t (1 - t) scaled to the lid points.
    t = (x[1:-1] - x[0]) / span
    bulge = t * (1 - t)
    rise = y[1:-1] - np.interp(x[1:-1], [x[0], x[-1]], [y[0], y[-1]])
    height = float((bulge * rise).sum() / max((bulge * bulge).sum(), 1e-12))
    u = np.clip((xs - x[0]) / span, 0.0, 1.0)
    return chord + height * u * (1 - u)


def _slide_one(map_x: np.ndarray, map_y: np.ndarray, before: np.ndarray, after: np.ndarray,
               eye: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    outer, upper_a, upper_b, inner = eye[0], eye[1], eye[2], eye[3]
    lid = [outer, upper_a, upper_b, inner]
    h, w = map_x.shape
    x0 = int(np.floor(min(before[outer, 0], before[inner, 0])))
    x1 = int(np.ceil(max(before[outer, 0], before[inner, 0])))
    x0, x1 = max(0, x0), min(w - 1, x1)
    if x1 - x0 < 2:
        return map_x, map_y
    xs = np.arange(x0, x1 + 1, dtype=np.float64)
    old = _edge(before[lid], xs)
    new = np.maximum(_edge(after[lid], xs), old)
    width = float(np.linalg.norm(before[inner] - before[outer]))
    depth = CREASE_DEPTH * width
    crease = old - depth
    y0 = max(0, int(np.floor(crease.min())))
    y1 = min(h - 1, int(np.ceil(new.max())))
    if y1 <= y0:
        return map_x, map_y
    ys = np.arange(y0, y1 + 1, dtype=np.float64)[:, None]
    band = (ys >= crease[None, :]) & (ys <= new[None, :])
    # The lashes and the lid's rim move down whole (stretched lashes read as a brush);
    # only the smooth skin between them and the crease stretches.
    lash = np.minimum(LASH_DEPTH * width, 0.5 * depth)
    drop = (new - old)[None, :]
    rim = ys >= (new - lash)[None, :]
    skin_top = crease[None, :]
    scale = (old - lash - crease) / np.maximum(new - lash - crease, 1e-6)
    source_y = np.where(rim, ys - drop, skin_top + (ys - skin_top) * scale[None, :])
    source_x = np.broadcast_to(xs[None, :], source_y.shape)
    sampled_x = cv2.remap(map_x, source_x.astype(np.float32), source_y.astype(np.float32),
                          cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    sampled_y = cv2.remap(map_y, source_x.astype(np.float32), source_y.astype(np.float32),
                          cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    map_x, map_y = map_x.copy(), map_y.copy()
    rows, cols = slice(y0, y1 + 1), slice(x0, x1 + 1)
    map_x[rows, cols] = np.where(band, sampled_x, map_x[rows, cols])
    map_y[rows, cols] = np.where(band, sampled_y, map_y[rows, cols])
    return map_x, map_y
