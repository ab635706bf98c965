"""Warps that move control points and let the image follow: a piecewise-affine mesh, and a
thin-plate spline (``tps_maps``, what the Expression engine uses).

The destination points are triangulated (Delaunay); every output pixel inside a
triangle samples the source through the affine map that takes that triangle to its
source triangle. Triangulating the destination (not the source) matters for an
opening mouth: the new gap between the lips gets triangles of its own, which sample
the closed lip line (later covered by the synthesised mouth interior).
"""

from __future__ import annotations

import cv2
import numpy as np

SUBPIXEL_BITS = 4  # cv2 drawing precision for triangle vertices


def triangulate(points: np.ndarray) -> np.ndarray:
    """Delaunay triangles over ``points`` (N×2) as T×3 point indices.

    Points that coincide are merged by the triangulation: triangles then use the first.
    """
    pts = np.asarray(points, dtype=np.float64)
    lo = np.floor(pts.min(0)) - 2
    hi = np.ceil(pts.max(0)) + 2
    subdiv = cv2.Subdiv2D((int(lo[0]), int(lo[1]), int(hi[0] - lo[0]) + 1, int(hi[1] - lo[1]) + 1))
    for x, y in pts:
        subdiv.insert((float(x), float(y)))
    tris = subdiv.getTriangleList().reshape(-1, 3, 2)
    # Drop the triangles that use the three far-away helper vertices Subdiv2D starts from.
    inside = ((tris >= lo - 1) & (tris <= hi + 1)).all(axis=(1, 2))
    tris = tris[inside]
    # Back from coordinates to indices: the nearest input point (they are copies).
    d = np.linalg.norm(tris[:, :, None, :] - pts[None, None, :, :].astype(np.float32), axis=-1)
    return d.argmin(axis=-1)


def triangle_affines(src: np.ndarray, dst: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Per triangle, the 2×3 affine taking its destination corners to its source corners."""
    d = np.concatenate([dst[triangles], np.ones((*triangles.shape, 1))], axis=-1)  # T×3×3
    s = src[triangles]  # T×3×2
    affines = np.empty((len(triangles), 2, 3))
    ok = np.abs(np.linalg.det(d)) > 1e-9
    affines[ok] = np.linalg.solve(d[ok], s[ok]).transpose(0, 2, 1)
    for t in np.flatnonzero(~ok):  # a flat triangle covers no pixel; any fit will do
        affines[t] = np.linalg.lstsq(d[t], s[t], rcond=None)[0].T
    return affines


def warp_maps(
    src: np.ndarray, dst: np.ndarray, width: int, height: int
) -> tuple[np.ndarray, np.ndarray]:
    """``cv2.remap`` maps (float32 H×W) for the mesh warp moving ``src`` points to ``dst``.

    The points must include the corners of the width×height area (fixed), so every
    pixel lies in some triangle; points may lie outside it (a chin below the photo).
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    triangles = triangulate(dst)
    affines = triangle_affines(src, dst, triangles)
    labels = np.full((height, width), -1, dtype=np.int32)
    scale = 1 << SUBPIXEL_BITS
    for t, tri in enumerate(triangles):
        corners = np.round(dst[tri] * scale).astype(np.int32)
        cv2.fillConvexPoly(labels, corners, int(t), lineType=cv2.LINE_8, shift=SUBPIXEL_BITS)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    map_x, map_y = xs.copy(), ys.copy()
    covered = labels >= 0
    a = affines[labels[covered]]
    x, y = xs[covered], ys[covered]
    map_x[covered] = a[:, 0, 0] * x + a[:, 0, 1] * y + a[:, 0, 2]
    map_y[covered] = a[:, 1, 0] * x + a[:, 1, 1] * y + a[:, 1, 2]
    return map_x.astype(np.float32), map_y.astype(np.float32)


def remap(image: np.ndarray, map_x: np.ndarray, map_y: np.ndarray) -> np.ndarray:
    """``image`` sampled at the maps (bilinear; edges repeated, never black)."""
    return cv2.remap(
        image, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def warp_mesh(image: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """``image`` warped so that what was at ``src[i]`` ends up at ``dst[i]``."""
    h, w = image.shape[:2]
    map_x, map_y = warp_maps(src, dst, w, h)
    return remap(image, map_x, map_y)


WARP_STEP = 4  # px between the points where the smooth warp is evaluated exactly
MIN_STRETCH = 0.25  # source area per output area below which a smooth warp counts as folding
WARP_CHUNK = 8192  # grid points per block (bounds memory: block × control points)


def tps_maps(
    src: np.ndarray, dst: np.ndarray, width: int, height: int, step: int = WARP_STEP,
    merge: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """``cv2.remap`` maps for a thin-plate-spline warp taking ``src`` points to ``dst``.

    The engine's warp. A piecewise-affine mesh (``warp_maps``) bends only along triangle
    edges: a feature between two landmarks moves as the average of whatever triangle it
    falls in, creases appear along edges, and a brow moved alone was found again by the
    landmark detector only about 80 % of the way. The thin-plate spline (Bookstein) is
    the smoothest map through the same points, so the skin around a landmark moves with
    it (brows then about 90 %); moving-least-squares (rigid) was tried too and reached
    less, its 1/d² weights leaving each landmark's surroundings behind.

    Solved backwards (output → source) on the distinct destination points, evaluated
    every ``step`` px and interpolated between.
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    # Destination points that coincide (lips that meet) cannot each have their own
    # source: keep one, at the mean of their sources.
    keep_dst, keep_src = [], []
    used = np.zeros(len(dst), bool)
    for i in range(len(dst)):
        if used[i]:
            continue
        near = (~used) & (np.linalg.norm(dst - dst[i], axis=1) < merge)
        used |= near
        keep_dst.append(dst[near].mean(0))
        keep_src.append(src[near].mean(0))
    c, s = np.array(keep_dst), np.array(keep_src)
    n = len(c)
    scale = max(width, height)
    cn = c / scale

    def kernel(r2: np.ndarray) -> np.ndarray:
        tiny = np.finfo(r2.dtype).tiny
        return 0.5 * r2 * np.log(np.maximum(r2, tiny))  # r² log r, 0 at r = 0

    k = kernel(((cn[:, None] - cn[None]) ** 2).sum(-1))
    poly = np.hstack([np.ones((n, 1)), cn])
    a = np.zeros((n + 3, n + 3))
    a[:n, :n] = k + 1e-9 * np.eye(n)
    a[:n, n:] = poly
    a[n:, :n] = poly.T
    b = np.zeros((n + 3, 2))
    b[:n] = s - c
    coef = _solve_small(a, b)
    gx = np.linspace(0.0, width - 1.0, max(2, int(np.ceil((width - 1) / step)) + 1))
    gy = np.linspace(0.0, height - 1.0, max(2, int(np.ceil((height - 1) / step)) + 1))
    # The grid is regular, so squared distances to the controls come from per-column and
    # per-row parts (float32: the kernel is the cost, and its values need no more).
    dx2 = ((gx[:, None] - c[None, :, 0]) / scale).astype(np.float32) ** 2  # W×N
    dy2 = ((gy[:, None] - c[None, :, 1]) / scale).astype(np.float32) ** 2  # H×N
    weights = coef[:n].astype(np.float32)
    out = np.empty((len(gy), len(gx), 2), np.float32)
    rows = max(1, WARP_CHUNK // len(gx))
    for start in range(0, len(gy), rows):
        r2 = dy2[start:start + rows, None, :] + dx2[None, :, :]
        bend = kernel(r2) @ weights
        yy = gy[start:start + rows, None]
        out[start:start + rows, :, 0] = gx[None, :] + bend[..., 0] + coef[n, 0] + (
            gx[None, :] / scale * coef[n + 1, 0] + yy / scale * coef[n + 2, 0])
        out[start:start + rows, :, 1] = yy + bend[..., 1] + coef[n, 1] + (
            gx[None, :] / scale * coef[n + 1, 1] + yy / scale * coef[n + 2, 1])
    coarse = out
    ux = (np.arange(width, dtype=np.float32) * ((len(gx) - 1) / max(width - 1, 1)))
    uy = (np.arange(height, dtype=np.float32) * ((len(gy) - 1) / max(height - 1, 1)))
    fine = cv2.remap(coarse, np.broadcast_to(ux, (height, width)).astype(np.float32),
                     np.broadcast_to(uy[:, None], (height, width)).astype(np.float32),
                     interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return np.ascontiguousarray(fine[..., 0]), np.ascontiguousarray(fine[..., 1])


def _solve_small(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a x = b`` for a small dense system, by Gaussian elimination with partial pivoting.

    The spline's system has about a hundred unknowns; solving it is microseconds of
    arithmetic, but ``np.linalg.solve`` hands it to OpenBLAS, whose thread pool took
    0.1-0.3 s to wake on a busy two-core machine (a fifth of the engine's time budget).
    Row operations in numpy stay on the calling thread.
    """
    m = np.hstack([np.asarray(a, np.float64), np.asarray(b, np.float64)])
    n = len(m)
    for k in range(n):
        pivot = k + int(np.argmax(np.abs(m[k:, k])))
        if pivot != k:
            m[[k, pivot]] = m[[pivot, k]]
        if m[k, k] == 0:
            raise np.linalg.LinAlgError("singular system")
        m[k] /= m[k, k]
        below = m[k + 1:, k:k + 1]
        m[k + 1:] -= below * m[k]
    for k in range(n - 1, 0, -1):
        m[:k] -= m[:k, k:k + 1] * m[k]
    return m[:, n:]


def warp_quality(map_x: np.ndarray, map_y: np.ndarray, where: np.ndarray,
                 step: int = WARP_STEP) -> tuple[float, float]:
    """(smallest Jacobian determinant, largest local stretch) of a backward map in ``where``.

    The determinant is the source area each output pixel samples: at or below 0 the warp
    folds (the image is mirrored over itself), and under ``MIN_STRETCH`` it nearly does.
    A thin-plate spline pulled hard in one place (a lower lip raised while the jaw line
    stays) overshoots beyond it, and the neck's shadow appears inside the face. The
    stretch is how much the worst small length is lengthened or shortened, whichever
    way: the larger of the map's largest singular value and the inverse of its smallest
    (1 = no distortion). Both are measured on a grid ``step`` px apart. (1, 1) when
    ``where`` is empty.
    """
    mx, my = map_x[::step, ::step], map_y[::step, ::step]
    if min(mx.shape) < 2:
        return 1.0, 1.0
    a, b = np.diff(mx, axis=1)[:-1] / step, np.diff(mx, axis=0)[:, :-1] / step
    c, d = np.diff(my, axis=1)[:-1] / step, np.diff(my, axis=0)[:, :-1] / step
    inside = where[::step, ::step][:-1, :-1]
    if not inside.any():
        return 1.0, 1.0
    a, b, c, d = (v[inside].astype(np.float64) for v in (a, b, c, d))
    det = a * d - b * c
    # Singular values of [[a, b], [c, d]] in closed form.
    e, f = (a + d) / 2, (a - d) / 2
    g, h = (c + b) / 2, (c - b) / 2
    q, r = np.hypot(e, h), np.hypot(f, g)
    largest, smallest = q + r, np.abs(q - r)
    stretch = np.maximum(largest, 1.0 / np.maximum(smallest, 1e-6))
    return float(det.min()), float(stretch.max())
