"""Classic harmonization: a shrunk Lab transfer (Reinhard) and a shrunk Poisson blend.

Why not plain Reinhard: matching the object's Lab mean and spread to its surroundings
assumes the object *should* look like them. In real photos it does not (a white cup on a
dark table, a person against the sky), so plain transfer repaints the object's own
colours; on the iHarmony4 samples it made 14 of 23 composites more than 5 % worse.

What is done instead, in the spirit of empirical Bayes: a difference d between the
object and its surroundings is the sum of what real photos show anyway (different
materials) and of the paste's error. Real photos with object masks (horse2zebra's 2248
animal photos, masks drawn by a model) give the natural spread sigma of each
difference; only the part of d beyond it is believed, so the transfer is
``max(0, 1 - sigma² / d²) · d`` (positive-part James–Stein shrinkage): none when the
object differs from its surroundings as much as real objects do, nearly all when it
differs far more. No parameter was fitted to a test set; sigma comes from other photos.

What is transferred was chosen on the iHarmony4 samples (23 triples, see
tests/benchmarks/composite.py) among principled candidates, by the issue's targets
(mean fMSE, and no triple made worse):

- tone: the L mean, against a ring of background around the object 0.5·sqrt(object
  area) wide. Also matching the L spread (contrast), or every Lab channel, did worse:
  contrast and hue are mostly the object's own.
- no colour cast by default. The evaluated cast (``cast=True``): the a/b mean shift,
  only as far as two illuminant estimates, grey-world (mean light) and grey-edge (light
  of the gradients, van de Weijer et al. 2007), both see a change beyond the natural
  one and point the same way. It lowers the mean fMSE a little but turns a castle
  against a blue sky blue (both estimates agree that the surroundings are bluer).
- clipped background (black or white, L <= 2 or >= 98) is no reference: it no longer
  records how much light fell. A studio shot on black is left alone.

The Poisson engine then blends the object's boundary into the photo in the gradient
domain (Pérez et al. 2003): the object plus the harmonic membrane that takes its edge
to the background's values. That membrane pulls the whole object towards whatever
touches its outline (the known colour bleeding of Poisson cloning), so it is shrunk the
same way, with the membrane energy real photos show as sigma. It is the stronger engine
on the benchmarks, partly because their composites were made by re-colouring the
object of a real photo inside its mask: the few pixels inside the mask's edge are
often still background (anti-aliasing, loose masks) and tell the paste's error. A real
paste brings the guide photo's background there instead, so expect less from it.

Both work in a crop around the mask, at most ``WORK_PIXELS`` for measuring and solving;
the result is applied at full resolution and blended by the mask, so pixels where the
mask is 0 are the photo's own, bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from engines.base import CancelToken, Engine, InvalidInput, Progress, Report
from engines.composite.request import Box, HarmonizeRequest, HarmonizeResult

WORK_PIXELS = 512 * 512  # measuring and solving resolution cap (the result is full size)
RING = 0.5  # width of the background ring, relative to sqrt(object area)
CLIPPED = (2.0, 98.0)  # L at or beyond which a pixel no longer records how much light fell
MIN_RECORDED = 0.1  # share of the ring that must still record light for a transfer

# Natural spread (root mean square over photos) of the object-minus-surroundings
# differences this module measures, on horse2zebra's animal photos with their masks;
# tests/benchmarks/composite.py recomputes them (section "calibration", with its
# calibration_sample).
NATURAL_L = 21.7  # L mean difference, Lab units
NATURAL_AB = (9.1, 11.5)  # a and b mean differences
NATURAL_WORLD = (0.363, 0.229)  # grey-world log-chromaticity differences (2 opponent axes)
NATURAL_EDGE = (0.267, 0.132)  # grey-edge log-chromaticity differences (same axes)
NATURAL_MEMBRANE = (10.5, 2.4, 3.4)  # rms of the Poisson membrane over the object, L a b

CHROMA_AXES = np.array(
    [[1 / math.sqrt(2), 0.0, -1 / math.sqrt(2)],
     [1 / math.sqrt(6), -2 / math.sqrt(6), 1 / math.sqrt(6)]], np.float64)
LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)


# --------------------------------------------------------------------------- engines


class ReinhardHarmonizer(Engine[HarmonizeRequest, HarmonizeResult]):
    """Moves the object's tone towards its surroundings', as far as the difference is news."""

    name = "reinhard"
    cpu_only = True
    blend_edges = False  # the gradient-domain edge blend (PoissonHarmonizer)

    def __init__(self, cast: bool = False) -> None:
        """``cast``: also shift a/b by the agreed colour cast (off: see the module notes)."""
        self.cast = cast

    def compute(
        self, request: HarmonizeRequest, device: str, report: Report, cancel: CancelToken
    ) -> HarmonizeResult:
        return run_shift(request, report, cancel,
                         lambda work: transfer_shift(work, self.cast),
                         "Matching tone and colour cast", UNCHANGED_TRANSFER, self.blend_edges)


class PoissonHarmonizer(ReinhardHarmonizer):
    """The colour transfer, then a gradient-domain blend of the object's edge into the photo."""

    name = "poisson"
    blend_edges = True


UNCHANGED_TRANSFER = (
    "Nothing was changed: the object differs from its surroundings no more than real "
    "objects do (or the surroundings are black or blown out and say nothing about the "
    "light), so its colours were taken as its own.")


def run_shift(
    request: HarmonizeRequest,
    report: Report,
    cancel: CancelToken,
    measure: Callable[[Work], np.ndarray],
    message: str,
    unchanged: str,
    poisson: bool = False,
) -> HarmonizeResult:
    """What every classic harmonizer does around its own ``measure`` of a Lab shift.

    Crop around the object of a checked request, add ``measure(work)`` (L, a, b) to the
    object, optionally blend its edge in the gradient domain, apply at full size by the
    mask (scaled by the strength) and report previews of the crop on the way. When the
    shrunk shift and membrane are both nothing, the result says so with ``unchanged``.
    """
    image, alpha = as_float32(request)
    if request.strength == 0:
        return HarmonizeResult(image.copy())
    work = work_crop(image, alpha)
    total = 3 if poisson else 2
    report(Progress(0, total, "Measuring the object and its surroundings"))
    if not work.ring.any():
        raise InvalidInput(
            "There is too little background around the object to match it to.",
            f"mask covers {float((alpha > 0).mean()):.1%} of the photo",
        )
    shift = np.asarray(measure(work), np.float32)
    cancel.raise_if_set()
    lab = to_lab(work.image) + work.alpha[..., None] * shift
    report(Progress(1, total, message, to_rgb(lab), work.box))
    field: np.ndarray | None = None
    if poisson:
        omega = work.alpha >= 0.5
        membrane = solve_membrane(lab, work.alpha, cancel)
        if omega.any():
            membrane *= membrane_weights(membrane, omega)
        field = _extend(membrane, omega)
        preview = to_rgb(lab + field * work.alpha[..., None])
        report(Progress(2, total, "Blending the edge", preview, work.box))
    cancel.raise_if_set()
    if not np.any(shift) and (field is None or not np.any(field)):
        return HarmonizeResult(image.copy(), unchanged=unchanged)
    result = apply_shift(image, alpha * np.float32(request.strength), work, shift, field)
    x, y, w, h = work.box
    report(Progress(total, total, "Done", result[y:y + h, x:x + w], work.box))
    return HarmonizeResult(result)


def as_float32(request: HarmonizeRequest) -> tuple[np.ndarray, np.ndarray]:
    """The checked request's image and mask as float32 (no copy when they already are)."""
    image = np.asarray(request.image, dtype=np.float32)
    return image, np.asarray(request.mask, dtype=np.float32)


# --------------------------------------------------------------------------- measuring


@dataclass(frozen=True, eq=False)
class Work:
    """The crop around the object, at measuring resolution, with its regions."""

    box: Box  # (x, y, w, h) of the crop in photo pixels
    image: np.ndarray  # float32 RGB crop, resized to at most WORK_PIXELS
    alpha: np.ndarray  # the mask over the same crop and size
    fg: np.ndarray  # bool: pixels counted as the object (alpha >= 0.5, or > 0 if none is)
    ring: np.ndarray  # bool: background within the ring width of the object


def work_crop(image: np.ndarray, alpha: np.ndarray) -> Work:
    """Crop the object with room for its ring, and shrink the crop to WORK_PIXELS."""
    box = _bounding_box(alpha > 0)
    assert box is not None  # the request's validate() refused empty masks
    margin = int(math.ceil(RING * math.sqrt(float(alpha.sum())))) + 2
    h, w = alpha.shape
    y0, y1 = max(0, box[0] - margin), min(h, box[1] + margin)
    x0, x1 = max(0, box[2] - margin), min(w, box[3] + margin)
    crop, crop_alpha = image[y0:y1, x0:x1], alpha[y0:y1, x0:x1]
    scale = min(1.0, math.sqrt(WORK_PIXELS / ((y1 - y0) * (x1 - x0))))
    if scale < 1.0:
        size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
        crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        crop_alpha = np.clip(cv2.resize(crop_alpha, size, interpolation=cv2.INTER_AREA), 0, 1)
    return Work((x0, y0, x1 - x0, y1 - y0), np.ascontiguousarray(crop, np.float32),
                crop_alpha, *regions(crop_alpha))


def regions(alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(object, ring): the ring is background (alpha 0) near the object, RING wide."""
    fg = alpha >= 0.5
    if not fg.any():  # an object thinner than a pixel at this size: take what there is
        fg = alpha > 0
    width = RING * math.sqrt(float(alpha.sum()))
    outside = (alpha <= 0).astype(np.uint8)
    distance = cv2.distanceTransform(outside, cv2.DIST_L2, 5)
    return fg, (outside > 0) & (distance <= max(1.0, width))


@dataclass(frozen=True)
class Differences:
    """Surroundings minus object, for each statistic the transfer shrinks."""

    lab: np.ndarray  # mean L, a, b differences (Lab units)
    world: np.ndarray  # grey-world illuminant: log-chromaticity of the mean light (2 axes)
    edge: np.ndarray  # grey-edge illuminant: log-chromaticity of the mean gradient (2 axes)


def differences(image: np.ndarray, fg: np.ndarray, ring: np.ndarray) -> Differences:
    """What the ring says the object should move by (before deciding how far to trust it)."""
    lab = to_lab(image)
    recorded = ring & (lab[..., 0] > CLIPPED[0]) & (lab[..., 0] < CLIPPED[1])
    if not recorded.any() or recorded.sum() < MIN_RECORDED * ring.sum():  # black/white: no news
        return Differences(np.zeros(3), np.zeros(2), np.zeros(2))
    ring = recorded  # the object keeps all its pixels: its clipping may be the paste's error
    linear = linear_light(image)
    blurred = cv2.GaussianBlur(linear, (0, 0), 1.0)
    gx = cv2.Sobel(blurred, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(blurred, cv2.CV_32F, 0, 1)
    gradient = np.sqrt(gx * gx + gy * gy)
    return Differences(
        lab[ring].mean(axis=0) - lab[fg].mean(axis=0),
        chromaticity(linear[ring].mean(axis=0)) - chromaticity(linear[fg].mean(axis=0)),
        chromaticity(gradient[_interior(ring)].mean(axis=0))
        - chromaticity(gradient[_interior(fg)].mean(axis=0)),
    )


def _interior(region: np.ndarray) -> np.ndarray:
    """``region`` without its 2 px rim, where gradients would measure the other side."""
    inner = cv2.erode(region.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    return inner if inner.sum() >= 20 else region


def chromaticity(light: np.ndarray) -> np.ndarray:
    """Log-chromaticity of a linear RGB triple on two opponent axes (red–blue, green–magenta).

    The log makes an illuminant's per-channel gain an additive shift; dividing by the
    luminance first drops the brightness, which the tone transfer handles.
    """
    light = np.asarray(light, np.float64) + 1e-6
    return CHROMA_AXES @ (np.log(light) - math.log(float(light @ LUMA)))


def shrink(d2: float, natural2: float) -> float:
    """Positive-part James–Stein: the share of a squared difference beyond the natural one."""
    return max(0.0, 1.0 - natural2 / d2) if d2 > 0 else 0.0


def transfer_shift(work: Work, cast: bool = False) -> np.ndarray:
    """The Lab shift (L, a, b) for the object: tone and an agreed colour cast, shrunk.

    The cast is the a/b mean difference, taken as far as grey-world and grey-edge both
    see an illuminant change beyond the natural one, and scaled by how well their
    directions agree (cosine, none when they point apart).
    """
    d = differences(work.image, work.fg, work.ring)
    shift = np.zeros(3, np.float32)
    shift[0] = shrink(float(d.lab[0]) ** 2, NATURAL_L**2) * d.lab[0]
    if not cast:
        return shift
    world, edge = np.array(NATURAL_WORLD), np.array(NATURAL_EDGE)
    trust = min(shrink(float(d.lab[1:] @ d.lab[1:]), float(np.square(NATURAL_AB).sum())),
                shrink(float(d.world @ d.world), float(world @ world)),
                shrink(float(d.edge @ d.edge), float(edge @ edge)))
    a, b = d.world / world, d.edge / edge  # in units of the natural spread per axis
    norms = float(np.linalg.norm(a) * np.linalg.norm(b))
    agreement = max(0.0, float(a @ b) / norms) if norms > 0 else 0.0
    shift[1:] = agreement * trust * d.lab[1:]
    return shift


# --------------------------------------------------------------------------- Poisson

_COARSEST = 12  # px: the multigrid hierarchy stops before a side gets shorter than this
_MAX_ITERATIONS = 60
_TOLERANCE = 1e-3  # relative residual; the membrane is then within ~0.1 Lab units


def solve_membrane(
    lab: np.ndarray,
    alpha: np.ndarray,
    cancel: CancelToken | None = None,
    iteration_done: Callable[[int, np.ndarray], None] | None = None,
) -> np.ndarray:
    """The harmonic correction that takes the object's edge to the background's values.

    Poisson cloning with the object's own gradients as guidance and the background as
    boundary condition equals the object plus this membrane: Laplace's equation over the
    object (alpha >= 0.5), with the background-minus-object difference across every
    boundary edge as data. Solved by conjugate gradients preconditioned with a multigrid
    V-cycle (about 15 iterations whatever the size). Returns an array like ``lab`` (HxWx3),
    zero outside the object; ``iteration_done(i, membrane)`` may watch it converge.
    """
    cancel = cancel or CancelToken()
    omega = alpha >= 0.5
    membrane = np.zeros_like(lab, dtype=np.float32)
    if not omega.any():
        return membrane
    ys, xs = np.nonzero(omega)
    y0, y1 = max(0, int(ys.min()) - 1), min(omega.shape[0], int(ys.max()) + 2)
    x0, x1 = max(0, int(xs.min()) - 1), min(omega.shape[1], int(xs.max()) + 2)
    planes = np.ascontiguousarray(lab[y0:y1, x0:x1].transpose(2, 0, 1), np.float32)
    levels = _Level.hierarchy(omega[y0:y1, x0:x1])
    recorded = (planes[0] > CLIPPED[0]) & (planes[0] < CLIPPED[1])
    b = _boundary_data(planes, levels[0].omega, recorded)
    solution = np.zeros_like(b)
    residual = b.copy()
    z = _v_cycle(levels, 0, residual)
    direction = z.copy()
    rz = _dot(residual, z)
    target = _TOLERANCE * np.sqrt(_dot(b, b))
    for i in range(_MAX_ITERATIONS):
        cancel.raise_if_set()
        ap = levels[0].apply(direction)
        step = rz / np.maximum(_dot(direction, ap), 1e-20)
        solution += step[:, None, None] * direction
        residual -= step[:, None, None] * ap
        if iteration_done is not None:
            membrane[y0:y1, x0:x1] = solution.transpose(1, 2, 0)
            iteration_done(i, membrane)
        if np.all(np.sqrt(_dot(residual, residual)) <= target):
            break
        z = _v_cycle(levels, 0, residual)
        rz_new = _dot(residual, z)
        direction = z + (rz_new / np.maximum(rz, 1e-20))[:, None, None] * direction
        rz = rz_new
    membrane[y0:y1, x0:x1] = solution.transpose(1, 2, 0)
    return membrane


class _Level:
    """One grid of the multigrid hierarchy: the object's pixels and their operator.

    The operator is the 5-point Laplacian with the background as (zero) Dirichlet
    boundary and the crop's edge as Neumann (only neighbours inside the crop count).
    Coarser grids keep a 2×2 block when at least half of it is object; with piecewise
    constant prolongation and block sums as restriction, the Galerkin operator is twice
    the coarse Laplacian, hence ``scale``.
    """

    def __init__(self, omega: np.ndarray, scale: float) -> None:
        h, w = omega.shape
        count = np.full((h, w), 4.0, np.float32)
        count[0] -= 1
        count[-1] -= 1
        count[:, 0] -= 1
        count[:, -1] -= 1
        self.omega = omega
        self.scale = np.float32(scale)
        self.count = count * self.scale
        self.inside = omega.astype(np.float32)
        self.inverse = self.inside / self.count

    @classmethod
    def hierarchy(cls, omega: np.ndarray) -> list[_Level]:
        levels = [cls(omega, 1.0)]
        while min(levels[-1].omega.shape) >= 2 * _COARSEST and levels[-1].omega.sum() > 64:
            last = levels[-1]
            levels.append(cls(_block_sum(last.inside[None])[0] >= 2, 2 * float(last.scale)))
        return levels

    def apply(self, m: np.ndarray) -> np.ndarray:
        """The operator on 3 planes (m is zero outside the object)."""
        out = self.count * m
        out[:, 1:] -= self.scale * m[:, :-1]
        out[:, :-1] -= self.scale * m[:, 1:]
        out[:, :, 1:] -= self.scale * m[:, :, :-1]
        out[:, :, :-1] -= self.scale * m[:, :, 1:]
        out *= self.inside
        return out

    def smooth(self, e: np.ndarray, r: np.ndarray, sweeps: int) -> np.ndarray:
        """Damped Jacobi sweeps (damping 0.8) towards operator(e) = r."""
        for _ in range(sweeps):
            e = e + 0.8 * self.inverse * (r - self.apply(e))
        return e


def _v_cycle(levels: list[_Level], i: int, r: np.ndarray) -> np.ndarray:
    """One symmetric V-cycle from zero: an approximate inverse of the operator."""
    level = levels[i]
    if i == len(levels) - 1:
        return level.smooth(np.zeros_like(r), r, 10)
    e = level.smooth(np.zeros_like(r), r, 1)
    coarse = levels[i + 1]
    rc = _block_sum(r - level.apply(e), coarse.omega.shape) * coarse.inside
    correction = _v_cycle(levels, i + 1, rc)
    h, w = level.omega.shape
    e += np.repeat(np.repeat(correction, 2, axis=1), 2, axis=2)[:, :h, :w] * level.inside
    return level.smooth(e, r, 1)


def _block_sum(planes: np.ndarray, shape: tuple[int, int] | None = None) -> np.ndarray:
    """Sums of 2×2 blocks (the grid padded with zeros to even sides)."""
    c, h, w = planes.shape
    hh, ww = shape or ((h + 1) // 2, (w + 1) // 2)
    padded = np.zeros((c, 2 * hh, 2 * ww), np.float32)
    padded[:, :h, :w] = planes
    return (padded[:, 0::2, 0::2] + padded[:, 1::2, 0::2]
            + padded[:, 0::2, 1::2] + padded[:, 1::2, 1::2])


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-plane dot products of two 3×H×W arrays."""
    return np.einsum("ij,ij->i", a.reshape(a.shape[0], -1), b.reshape(b.shape[0], -1))


def _boundary_data(planes: np.ndarray, omega: np.ndarray, recorded: np.ndarray) -> np.ndarray:
    """Sum over each object pixel's background neighbours of (neighbour − pixel).

    Clipped background neighbours (black or white, see CLIPPED) pull nothing: the
    membrane is held at zero there instead of at their meaningless values.
    """
    b = np.zeros_like(planes)
    for ax, forward in ((1, True), (1, False), (2, True), (2, False)):
        near = [slice(None)] * 3
        far = [slice(None)] * 3
        near[ax], far[ax] = (slice(None, -1), slice(1, None)) if forward else (
            slice(1, None), slice(None, -1))
        here, there = tuple(near), tuple(far)
        across = omega[here[1:]] & ~omega[there[1:]] & recorded[there[1:]]
        b[here][:, across] += planes[there][:, across] - planes[here][:, across]
    return b


def membrane_weights(membrane: np.ndarray, omega: np.ndarray) -> np.ndarray:
    """Per-channel shrinkage of the membrane by its energy beyond a real photo's (L, a=b)."""
    energy = (membrane[omega] ** 2).mean(axis=0)
    natural = np.square(NATURAL_MEMBRANE)
    k_l = shrink(float(energy[0]), float(natural[0]))
    k_ab = shrink(float(energy[1] + energy[2]), float(natural[1] + natural[2]))
    return np.array([k_l, k_ab, k_ab], np.float32)


def _extend(values: np.ndarray, omega: np.ndarray) -> np.ndarray:
    """``values`` on ``omega``, carried a few pixels out so upsampling keeps the edge."""
    inside = omega.astype(np.float32)
    weight = cv2.blur(inside, (5, 5))
    spread = cv2.blur(values * inside[..., None], (5, 5))
    filled = np.where(weight[..., None] > 0, spread / np.maximum(weight, 1e-6)[..., None], 0)
    return np.where(omega[..., None], values, filled).astype(np.float32)


# --------------------------------------------------------------------------- applying


def apply_shift(
    image: np.ndarray,
    weight: np.ndarray,
    work: Work,
    shift: np.ndarray,
    field: np.ndarray | None,
) -> np.ndarray:
    """The photo with the Lab correction added where the mask is, blended by it.

    Works on the mask's bounding box only; ``field`` (the membrane over the work crop,
    at work resolution) is interpolated for just that box.
    """
    result = image.copy()
    box = _bounding_box(weight > 0)
    if box is None:
        return result
    y0, y1, x0, x1 = box
    pixels = image[y0:y1, x0:x1]
    touched = weight[y0:y1, x0:x1] > 0
    lab = to_lab(pixels)
    moved = lab + shift
    if field is not None:
        moved += _upsampled(field, work, box)
    moved = to_rgb(moved)
    moved -= to_rgb(lab)
    moved *= weight[y0:y1, x0:x1, None]
    moved += pixels
    np.clip(moved, 0.0, 1.0, out=moved)
    np.copyto(result[y0:y1, x0:x1], moved, where=touched[..., None])
    return result


def _bounding_box(region: np.ndarray) -> tuple[int, int, int, int] | None:
    """(y0, y1, x0, x1) of the True pixels, or None when there are none."""
    rows, cols = np.flatnonzero(region.any(axis=1)), np.flatnonzero(region.any(axis=0))
    if rows.size == 0:
        return None
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _upsampled(field: np.ndarray, work: Work, box: tuple[int, int, int, int]) -> np.ndarray:
    """The work-resolution ``field`` resized to the crop, cut to ``box`` (photo pixels).

    Same pixel-centre convention as ``cv2.resize``, without resizing the whole crop.
    """
    y0, y1, x0, x1 = box
    cx, cy, cw, ch = work.box
    fx, fy = field.shape[1] / cw, field.shape[0] / ch
    matrix = np.array([[fx, 0.0, fx * (x0 - cx + 0.5) - 0.5],
                       [0.0, fy, fy * (y0 - cy + 0.5) - 0.5]], np.float64)
    return cv2.warpAffine(field, matrix, (x1 - x0, y1 - y0),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


def global_lab_transfer(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Baseline for benchmarks: Reinhard et al. 2001 from the whole background, unshrunk.

    The object's Lab mean and spread per channel are set to those of every pixel where
    the mask is 0; the result is blended by the mask (0 stays bit-exact).
    """
    image = np.asarray(image, np.float32)
    alpha = np.asarray(mask, np.float32)
    lab = to_lab(image)
    fg, bg = alpha >= 0.5, alpha <= 0
    if not fg.any():
        fg = alpha > 0
    mean_f, std_f = lab[fg].mean(axis=0), lab[fg].std(axis=0) + 1e-6
    mean_b, std_b = lab[bg].mean(axis=0), lab[bg].std(axis=0)
    moved = to_rgb((lab - mean_f) * (std_b / std_f) + mean_b) - to_rgb(lab)
    result = image.copy()
    touched = alpha > 0
    result[touched] = np.clip(image[touched] + alpha[touched][:, None] * moved[touched], 0, 1)
    return result


def to_lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(rgb, np.float32), cv2.COLOR_RGB2Lab)


def to_rgb(lab: np.ndarray) -> np.ndarray:
    """Lab to RGB, not clipped: callers take differences and clip the sum."""
    return cv2.cvtColor(np.ascontiguousarray(lab, np.float32), cv2.COLOR_Lab2RGB)


def linear_light(rgb: np.ndarray) -> np.ndarray:
    """sRGB to linear light (the light that mixes and that illuminants scale)."""
    rgb = np.clip(rgb, 0.0, 1.0)
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4).astype(np.float32)


def srgb_from_linear(linear: np.ndarray) -> np.ndarray:
    """Linear light back to sRGB values (not clipped above 1)."""
    linear = np.maximum(linear, 0.0)
    return np.where(linear <= 0.0031308, 12.92 * linear,
                    1.055 * np.power(np.maximum(linear, 0.0031308), 1 / 2.4) - 0.055
                    ).astype(np.float32)
