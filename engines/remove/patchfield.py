"""A nearest-neighbour field between the patches of a hole and the known photo.

This is the inner loop of patch-based completion (Barnes et al. 2009, Wexler et al.
2007): every patch that touches the hole (a *target*) points at a fully known patch
(a *source*); PatchMatch improves the pointers by propagation from neighbours and a
shrinking random search, and voting rebuilds the hole from the pointed-at pixels.

The search runs on all targets at once (a parallel "jump" variant of PatchMatch's
scan-order propagation) so the same code is fast in numpy and on a GPU. Patch
distances are measured in a low-dimensional PCA projection of the patches, computed
for every pixel by a handful of filters; this cuts the search's memory traffic by an
order of magnitude while the voting still copies exact pixels.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from engines.arrays import Array, NumpyOps, TorchOps
from engines.base import InvalidInput

Ops = NumpyOps | TorchOps

_INF = 3.0e38
VOTE_PERCENTILE = 0.25  # the patch-distance percentile that sets the voting kernel's width
# A refined level filters, band of rows by band, the runs of columns where it needs
# features; runs closer than the gap are joined (a call costs more than a few columns).
FEATURE_BAND = 64
FEATURE_GAP = 32


# Patch features are computed from an 8-bit view of the patches with integer-valued
# filters, so every product and partial sum is an integer below 2²⁴: exact in float32,
# whatever order OpenCV's or the BLAS's threads add them in (``Projection`` says why).
_LEVELS = 255.0
_EXACT_SUM = float(2**23)  # 2²⁴ halved: room for the filters' rounding


class Projection:
    """Patch-projection filters applied in exact integer arithmetic.

    Float sums depend on their order, and OpenCV's filtering and GEMM split them by
    thread count; a last-bit difference in one distance flips a tie between two
    candidate patches, and the fill differs. So the same photo came out differently
    from a one-thread batch worker than from the command on two cores. Rounding the
    patches to 8 bits and each filter to an integer multiple of its own step makes
    every sum exact; one multiplication per dimension brings the features back to the
    float filters' scale.
    """

    def __init__(self, kernels: np.ndarray) -> None:
        weight = np.abs(kernels).reshape(kernels.shape[0], -1).sum(1).astype(np.float64)
        steps = np.maximum(np.floor(_EXACT_SUM / (_LEVELS * np.maximum(weight, 1e-12))), 1.0)
        self.kernels = np.rint(kernels * steps[:, None, None, None]).astype(np.float32)
        self.back = (1.0 / (steps * _LEVELS)).astype(np.float32)

    def correlate(self, ops: Ops, image: Array) -> Array:
        """Every pixel's projected patch (H, W, D): ``ops.correlate`` done exactly."""
        return ops.correlate(ops.eight_bit(image), self.kernels) * ops.asarray(self.back)

    def project(self, ops: Ops, image: Array, ys: Array, xs: Array, last: int = 0) -> Array:
        """The projected patches at the listed pixels (N, D), or their ``last`` features."""
        kernels, back = (self.kernels[-last:], self.back[-last:]) if last else (
            self.kernels, self.back)
        return ops.project_patches(ops.eight_bit(image), ys, xs, kernels) * ops.asarray(back)


class PatchField:
    """Targets, sources and the current target→source pointers of one image level.

    ``window`` (y0, y1, x0, x1) limits where sources may lie, so that at full
    resolution only the neighbourhood of the hole is ever filtered.
    """

    def __init__(
        self,
        ops: Ops,
        image: Array,
        hole: Array,
        avoid: Array | None,
        patch: int,
        window: tuple[int, int, int, int] | None = None,
        kernels: np.ndarray | None = None,
        guide: Array | None = None,
        guide_weight: float = 0.0,
        near: Array | None = None,
    ) -> None:
        """``guide``: a content prediction of the level (the photo outside the hole);
        with ``guide_weight`` w > 0 a candidate's distance also counts w times the
        distance between its mean colour and the guide's patch mean at the target
        (``_with_guide`` says how and why only the mean). ``near``: where sources may
        lie (a mask of the level), for a refined level that only searches around its
        coarse matches; features are then computed only there and at the targets."""
        self.ops = ops
        self.image = image
        self.hole = hole
        self.patch = patch
        self.r = r = patch // 2
        self.h, self.w = h, w = int(hole.shape[0]), int(hole.shape[1])
        if h < patch or w < patch:
            raise InvalidInput("The photo is too small to fill; it needs at least 16×16 pixels.")
        y0, y1, x0, x1 = window or (0, h, 0, w)
        self.window = (max(y0, r), min(y1, h - r), max(x0, r), min(x1, w - r))
        inside = np.zeros((h, w), bool)
        inside[r : h - r, r : w - r] = True
        inside = ops.asarray(inside)
        touches_hole = ops.dilate(hole, r)
        blocked = touches_hole if avoid is None else touches_hole | ops.dilate(avoid, r)
        wy0, wy1, wx0, wx1 = self.window
        in_window = np.zeros((h, w), bool)
        in_window[wy0:wy1, wx0:wx1] = True
        self.valid = inside & ~blocked & ops.asarray(in_window)
        if near is not None:
            restricted = self.valid & near
            if bool(restricted.any()):
                self.valid = restricted
            else:  # the coarse matches lie on what is hole here: search the whole window
                near = None
        self.src_y, self.src_x = _source_sample(ops, self.valid)
        if int(self.src_y.shape[0]) == 0:
            raise InvalidInput(
                "Not enough of the photo around the hole is left to copy from. "
                "Make the mask smaller or shrink the “don't copy from” region."
            )
        targets = inside & touches_hole
        self.ty, self.tx = ops.nonzero(targets)
        self.count = int(self.ty.shape[0])
        self.index = ops.full((h, w), -1, "int64")
        self.index[self.ty, self.tx] = ops.arange(self.count)
        self.sy = self.ty  # replaced by an init_* call
        self.sx = self.tx
        self.dist = ops.full((self.count,), _INF, "float32")
        # One projection serves all levels of a crop: fitting it costs more than a level.
        self.kernels = fit_projection(ops.to_numpy(image), ops.to_numpy(hole), patch) \
            if kernels is None else kernels
        self.guide_weight = guide_weight if guide is not None else 0.0
        if self.guide_weight > 0:  # three more features: the patch's mean colour, × √w
            self.kernels = np.concatenate(
                [self.kernels, math.sqrt(self.guide_weight) * mean_kernels(patch)])
        self._projection = Projection(self.kernels)
        feats = self._window_features(None if near is None else self.valid | targets)
        self._win_w = wx1 - wx0 + 2 * r
        self._feats = feats.reshape(-1, feats.shape[-1])
        self._guide_feats = (
            self._projection.project(ops, guide, self.ty, self.tx, last=3)
            if self.guide_weight > 0 else None)
        self._target_feats = self._with_guide(
            ops.take_rows(self._feats, self._win_lin(self.ty, self.tx)))
        self._votes = self._vote_plan()

    # ----------------------------------------------------------------- features
    def _window_image(self) -> Array:
        wy0, wy1, wx0, wx1 = self.window
        r = self.r
        return self.image[wy0 - r : wy1 + r, wx0 - r : wx1 + r]

    def _window_features(self, needed: Array | None) -> Array:
        """Every window pixel's projected patch (H, W, D), or only where ``needed``: the
        runs of needed columns in each band of rows (the rest stay 0 and are never read).

        Thin strokes across a 12 MP photo make a window of most of the photo, while a
        refined level reads features only near the hole and its coarse matches (15 % of
        that window on the benchmark's strokes): filtering the whole window took a
        third of the fill. The sums are exact (``Projection``), so features computed
        piecewise equal the whole window's bit for bit. On a GPU one call over the
        window is cheaper than a call per piece.
        """
        ops, r = self.ops, self.r
        image = self._window_image()
        if needed is None or not isinstance(ops, NumpyOps):
            return self._projection.correlate(ops, image)  # whole: reshape is free
        wy0, wy1, wx0, wx1 = self.window
        need = needed[wy0 - r : wy1 + r, wx0 - r : wx1 + r]
        h, w = need.shape
        feats = np.zeros((h, w, self.kernels.shape[0]), np.float32)
        for y0 in range(0, h, FEATURE_BAND):
            y1 = min(h, y0 + FEATURE_BAND)
            a0, a1 = max(0, y0 - r), min(h, y1 + r)
            for x0, x1 in _runs(need[y0:y1].any(axis=0), FEATURE_GAP):
                b0, b1 = max(0, x0 - r), min(w, x1 + r)
                piece = self._projection.correlate(ops, image[a0:a1, b0:b1])
                feats[y0:y1, x0:x1] = piece[y0 - a0 : y1 - a0, x0 - b0 : x1 - b0]
        return feats

    def refresh_targets(self) -> None:
        """Recompute target features after voting changed the hole's pixels.

        Filtering the targets' bounding box is cheapest for a compact hole; for thin
        strokes across a large photo, projecting just the target patches is.
        """
        ops, r = self.ops, self.r
        ty0, tx0 = int(self.ty.min()), int(self.tx.min())
        ty1, tx1 = int(self.ty.max()) + 1, int(self.tx.max()) + 1
        if self.count < 0.25 * (ty1 - ty0) * (tx1 - tx0):
            self._target_feats = self._with_guide(
                self._projection.project(ops, self.image, self.ty, self.tx))
            return
        sub = self.image[ty0 - r : ty1 + r, tx0 - r : tx1 + r]
        feats = self._projection.correlate(ops, sub)[r:-r, r:-r]
        flat = feats.reshape(-1, feats.shape[-1])
        self._target_feats = self._with_guide(
            ops.take_rows(flat, (self.ty - ty0) * (tx1 - tx0) + self.tx - tx0))

    def _with_guide(self, feats: Array) -> Array:
        """Target features whose last three are the guide's patch mean: the content term.

        Every feature vector ends with √w × the patch's mean colour. For sources that is
        their own; for targets it is replaced by the guide's, so the search distance is
        ‖s − t‖² (the projected patches, as the classic engine compares them) plus
        w‖mean(s) − mean(guide at t)‖², exactly. Only the mean is compared: the guide is
        a network's soft prediction, and comparing whole patches with it favoured smooth
        sources (on held-out object holes the fill's texture ratio fell from 0.75 to
        0.60); its mean colour carries the layout (where the seat, the wall, the sky
        go) without asking the texture to be as soft.
        """
        if self._guide_feats is None:
            return feats
        feats[:, -3:] = self._guide_feats
        return feats

    def _win_lin(self, y: Array, x: Array) -> Array:
        wy0, _, wx0, _ = self.window
        return (y - wy0 + self.r) * self._win_w + (x - wx0 + self.r)

    def _distance(self, cy: Array, cx: Array) -> Array:
        diff = self._target_feats - self.ops.take_rows(self._feats, self._win_lin(cy, cx))
        return self.ops.sum_last(diff * diff)

    # ------------------------------------------------------------- initialisation
    def init_random(self) -> None:
        pick = self.ops.integers(int(self.src_y.shape[0]), self.count)
        self.sy, self.sx = self.src_y[pick], self.src_x[pick]
        self.rescore()

    def init_from(self, coarse: PatchField, factor: float) -> None:
        """Point where the coarser level pointed, its offsets scaled by ``factor``.

        The scaled pointers are taken as they are (where they land on a valid source)
        rather than compared with the current estimate: that estimate is an upsampled,
        blurry image, and comparing against it would favour smooth patches.
        """
        ops = self.ops
        cy = ops.clip(ops.long(self.ty / factor), 0, coarse.h - 1)
        cx = ops.clip(ops.long(self.tx / factor), 0, coarse.w - 1)
        idx = coarse.index[cy, cx]
        has = idx >= 0
        idx = ops.where(has, idx, 0)
        off_y = (coarse.sy - coarse.ty)[idx] * factor
        off_x = (coarse.sx - coarse.tx)[idx] * factor
        sy = self.ty + ops.long(off_y + 0.5 * _sign(ops, off_y))
        sx = self.tx + ops.long(off_x + 0.5 * _sign(ops, off_x))
        self._point_at(sy, sx, has)

    def init_from_origin(self, origin: np.ndarray) -> None:
        """Point each target at the patch around the pixel its centre was copied from.

        ``origin`` (H, W, 2) comes from the onion fill; targets without one (their
        centre was known) or whose origin is no valid source start at random.
        """
        ops = self.ops
        origin_y = ops.asarray(np.ascontiguousarray(origin[..., 0]))[self.ty, self.tx]
        origin_x = ops.asarray(np.ascontiguousarray(origin[..., 1]))[self.ty, self.tx]
        self._point_at(origin_y, origin_x)

    def _point_at(self, sy: Array, sx: Array, ok: Array | None = None) -> None:
        """Take the given pointers where they are valid sources, random ones elsewhere."""
        good, sy, sx = self._usable(sy, sx, ok)
        pick = self.ops.integers(int(self.src_y.shape[0]), self.count)
        self.sy = self.ops.where(good, sy, self.src_y[pick])
        self.sx = self.ops.where(good, sx, self.src_x[pick])
        self.rescore()

    def _usable(self, cy: Array, cx: Array, ok: Array | None) -> tuple[Array, Array, Array]:
        """Which candidates are valid sources, and the candidates clipped for safe lookups."""
        ops = self.ops
        wy0, wy1, wx0, wx1 = self.window
        good = (cy >= wy0) & (cy < wy1) & (cx >= wx0) & (cx < wx1)
        cy, cx = ops.clip(cy, wy0, wy1 - 1), ops.clip(cx, wx0, wx1 - 1)
        good = good & self.valid[cy, cx]
        return (good if ok is None else good & ok), cy, cx

    def rescore(self) -> None:
        """Distances of the current pointers against the current estimate."""
        self.dist = self._distance(self.sy, self.sx)

    # -------------------------------------------------------------------- search
    def offer(self, cy: Array, cx: Array, ok: Array | None = None) -> None:
        """Take each candidate source that is valid and closer than the current one."""
        ops = self.ops
        good, cy, cx = self._usable(cy, cx, ok)
        d = ops.where(good, self._distance(cy, cx), _INF)
        better = d < self.dist
        self.sy = ops.where(better, cy, self.sy)
        self.sx = ops.where(better, cx, self.sx)
        self.dist = ops.where(better, d, self.dist)

    def propagate(self, jump: int = 1) -> None:
        """Try each neighbour's pointer, shifted back by the step to that neighbour."""
        ops = self.ops
        for dy, dx in ((0, jump), (0, -jump), (jump, 0), (-jump, 0)):
            ny, nx = self.ty + dy, self.tx + dx
            inside = (ny >= 0) & (ny < self.h) & (nx >= 0) & (nx < self.w)
            idx = self.index[ops.clip(ny, 0, self.h - 1), ops.clip(nx, 0, self.w - 1)]
            has = inside & (idx >= 0)
            idx = ops.where(has, idx, 0)
            self.offer(self.sy[idx] - dy, self.sx[idx] - dx, has)

    def random_search(self, radius: int) -> None:
        """Candidates around the current pointer at halving radii, plus one anywhere."""
        ops = self.ops
        rad = float(max(1, radius))
        while rad >= 1.0:
            jy = ops.long((ops.uniform(self.count) * 2.0 - 1.0) * rad)
            jx = ops.long((ops.uniform(self.count) * 2.0 - 1.0) * rad)
            self.offer(self.sy + jy, self.sx + jx)
            rad *= 0.5
        pick = ops.integers(int(self.src_y.shape[0]), self.count)
        self.offer(self.src_y[pick], self.src_x[pick])

    def search(self, iterations: int, radius: int, jumps: tuple[int, ...] = (1,)) -> None:
        for _ in range(iterations):
            for jump in jumps:
                self.propagate(jump)
            self.random_search(radius)

    # --------------------------------------------------------------------- voting
    def _vote_plan(self) -> list[tuple[int, Array]]:
        """Per patch offset o, the target centred at q − o for every hole pixel q.

        Voting then only gathers: no scattered additions, which are slow everywhere.
        A hole pixel whose q − o is no target (too near the border) gets the extra
        index ``count``, a dummy target whose weight is zero.
        """
        ops, r, h, w = self.ops, self.r, self.h, self.w
        hy, hx = ops.nonzero(self.hole)
        self._hole_lin = hy * w + hx
        # The target index framed by r rows and columns of "none": q − o never leaves it
        # nor wraps to the next row, so no offset needs a bounds check.
        framed = ops.full((h + 2 * r, w + 2 * r), -1, "int64")
        framed[r : h + r, r : w + r] = self.index
        framed = framed.reshape(-1)
        framed_w = w + 2 * r
        framed_lin = (hy + r) * framed_w + hx + r
        plan = []
        for dy in range(-r, r + 1):
            for dx in range(-r, r + 1):
                owner = ops.take_rows(framed, framed_lin - (dy * framed_w + dx))
                plan.append((dy * w + dx, ops.where(owner >= 0, owner, self.count)))
        return plan

    def vote(self, hard: bool = False) -> None:
        """Rebuild every hole pixel as the similarity-weighted mean of what its patches copy.

        Weights follow Wexler et al.: exp(-d / 2σ²) with σ² a low percentile of the
        patch distances, so poor matches contribute little and the fill stays sharp.
        ``hard``: each pixel is copied from its best patch instead (the final vote).
        """
        ops, r, w = self.ops, self.r, self.w
        sigma2 = max(ops.quantile(self.dist, VOTE_PERCENTILE), 1e-6)
        weight = ops.concat([ops.exp(-self.dist / (2.0 * sigma2)) + 1e-4, ops.zeros((1,))])
        centre = ops.full((1,), r * w + r, "int64")  # the dummy's reads stay in the image
        s_lin = ops.concat([self.sy * w + self.sx, centre])
        flat = self.image.reshape(-1, 3)
        if hard:
            flat[self._hole_lin] = self._best_copies(weight, s_lin, flat)
            return
        n_hole = int(self._hole_lin.shape[0])
        acc = ops.zeros((n_hole, 3))
        total = ops.zeros((n_hole,))
        for o, owner in self._votes:
            wt = ops.take_rows(weight, owner)
            acc += ops.take_rows(flat, ops.take_rows(s_lin, owner) + o) * wt[:, None]
            total += wt
        flat[self._hole_lin] = acc / total[:, None]

    def _best_copies(self, weight: Array, s_lin: Array, flat: Array) -> Array:
        """Each hole pixel's value in its best-weighted covering patch (the first of equals).

        Only the winning source pixel is tracked per offset, and the colours are read
        once at the end: a third of the gathers of reading every candidate's colour.
        A pixel no patch covers (only the dummy's zero weight) becomes 0, as before.
        """
        ops = self.ops
        n_hole = int(self._hole_lin.shape[0])
        best = ops.zeros((n_hole,))
        source = ops.full((n_hole,), 0, "int64")
        for o, owner in self._votes:
            wt = ops.take_rows(weight, owner)
            better = wt > best
            best = ops.where(better, wt, best)
            source = ops.where(better, ops.take_rows(s_lin, owner) + o, source)
        return ops.where((best > 0)[:, None], ops.take_rows(flat, source), 0.0)


def fit_projection(
    image: np.ndarray, hole: np.ndarray, patch: int, max_dims: int = 16, keep: float = 0.95
) -> np.ndarray:
    """Filters projecting a patch on its principal components, fitted to known patches.

    Returns (D, 3, patch, patch) kernels; D is the smallest number of components that
    keeps ``keep`` of the variance, between 8 and ``max_dims``.
    """
    r = patch // 2
    h, w = hole.shape
    known = ~cv2.dilate(hole.astype(np.uint8), np.ones((patch, patch), np.uint8)).astype(bool)
    known[:r], known[h - r :], known[:, :r], known[:, w - r :] = False, False, False, False
    ys, xs = np.nonzero(known)
    if ys.size == 0:
        ys, xs = np.array([h // 2]), np.array([w // 2])
    pick = np.random.default_rng(0).integers(0, ys.size, min(ys.size, 2000))
    dy, dx = np.mgrid[-r : r + 1, -r : r + 1]
    yy = np.clip(ys[pick][:, None, None] + dy, 0, h - 1)
    xx = np.clip(xs[pick][:, None, None] + dx, 0, w - 1)
    patches = image[yy, xx].transpose(0, 3, 1, 2).reshape(pick.size, -1)
    # The covariance of the patches' 8-bit view: integer products summed below 2⁵³ are
    # exact in float64, so the BLAS may split the sum by threads as it likes.
    # LAPACK's eigenvectors may still differ in the last bits between thread counts, but
    # ``Projection`` rounds the filters to integer steps (1/5000 of a unit vector or
    # finer), which no such difference crosses in practice, and a sign flip leaves its
    # exact distances as they are.
    levels = np.rint(np.clip(patches, 0.0, 1.0) * _LEVELS).astype(np.float64)
    mean = levels.mean(axis=0)
    scatter = levels.T @ levels - pick.size * np.outer(mean, mean)
    values, vectors = np.linalg.eigh(scatter)
    values, vectors = np.maximum(values[::-1], 0.0), vectors[:, ::-1].T
    total = max(values.sum(), 1e-12)
    dims = int(np.searchsorted(np.cumsum(values) / total, keep) + 1)
    dims = max(min(max_dims, 8), min(max_dims, dims))
    return np.ascontiguousarray(vectors[:dims].reshape(dims, 3, patch, patch), np.float32)


def mean_kernels(patch: int) -> np.ndarray:
    """(3, 3, patch, patch) filters giving a patch's mean red, green and blue."""
    kernels = np.zeros((3, 3, patch, patch), np.float32)
    for channel in range(3):
        kernels[channel, channel] = 1.0 / (patch * patch)
    return kernels


def _source_sample(ops: Ops, valid: Array, limit: int = 500_000) -> tuple[Array, Array]:
    """Coordinates of valid sources for random picks: all of them, or a regular subset.

    At full resolution of a large crop the list would run to millions of entries;
    random picks only need to reach every region, not every pixel.
    """
    count = int(valid.sum())
    step = max(1, math.ceil(math.sqrt(count / limit)))
    if step == 1:
        return ops.nonzero(valid)
    ys, xs = ops.nonzero(valid[::step, ::step])
    return ys * step, xs * step


def _runs(flags: np.ndarray, gap: int) -> list[tuple[int, int]]:
    """[start, end) of the runs of True in ``flags``, joining runs less than ``gap`` apart."""
    edges = np.flatnonzero(np.diff(np.concatenate([[False], flags, [False]]).astype(np.int8)))
    runs: list[tuple[int, int]] = []
    for start, end in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
        if runs and start - runs[-1][1] < gap:
            runs[-1] = (runs[-1][0], end)
        else:
            runs.append((start, end))
    return runs


def _sign(ops: Ops, a: Array) -> Array:
    return ops.where(a < 0, -1.0, 1.0)


def search_radius(h: int, w: int) -> int:
    return int(2 ** math.ceil(math.log2(max(h, w))))
