"""The classic Remove engine: multi-scale PatchMatch completion with EM voting.

It needs no weights, so it is the engine a fresh install fills holes with. Each
group of holes is solved in its own padded crop, coarse to fine: levels small enough
to be cheap get many expectation–maximisation rounds (search, then vote) and decide
what goes where; the full-resolution levels keep those decisions (their pointers are
the coarse ones, scaled) and only search locally to sharpen the copied texture.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from engines.arrays import Array, make_ops
from engines.base import CancelToken, Engine, Progress, Report
from engines.crop import Crop
from engines.remove.onion import onion_fill
from engines.remove.patchfield import PatchField, fit_projection, search_radius
from engines.remove.planning import Level, build_pyramid, plan_crops
from engines.remove.request import RemoveRequest, RemoveResult


@dataclass(frozen=True)
class Schedule:
    """How much work each kind of level gets, per quality setting."""

    work_pixels: int  # levels up to this many pixels get full EM; larger ones are refined
    em_coarsest: int
    em_min: int
    em_refine: int


REFINE_DIMS = 4
HUGE_LEVEL = 4_000_000

SCHEDULES = {
    "fast": Schedule(work_pixels=40_000, em_coarsest=6, em_min=2, em_refine=1),
    "balanced": Schedule(work_pixels=90_000, em_coarsest=8, em_min=3, em_refine=1),
    "best": Schedule(work_pixels=250_000, em_coarsest=14, em_min=5, em_refine=3),
}


class PatchMatchEngine(Engine[RemoveRequest, RemoveResult]):
    """Fills holes by copying and blending patches from the rest of the photo."""

    name = "patchmatch"

    def __init__(self, backend: str = "auto") -> None:
        """``backend``: "auto" (numpy on a CPU, torch on a GPU), "numpy" or "torch"."""
        self.backend = backend

    def compute(
        self, request: RemoveRequest, device: str, report: Report, cancel: CancelToken
    ) -> RemoveResult:
        ops = make_ops(device, request.seed, self.backend)
        image = np.ascontiguousarray(request.image, dtype=np.float32)
        mask = np.asarray(request.mask, dtype=bool)
        avoid = None if request.avoid is None else np.asarray(request.avoid, dtype=bool)
        schedule = SCHEDULES[request.quality]

        crops = plan_crops(mask, avoid)
        plans = [
            (crop, build_pyramid(image[crop.slices], mask[crop.slices],
                                 None if avoid is None else avoid[crop.slices],
                                 request.patch_size))
            for crop in crops
        ]
        total = sum(sum(_em_counts(levels, schedule)) for _, levels in plans)
        counter = _StepCounter(total, report)
        guides = self.content_prior(request, device, image, mask, crops, counter)
        filled = [
            _fill_crop(ops, levels, request.patch_size, schedule, counter, cancel, crop,
                       request.seed, guide, self.guide_weights)
            for (crop, levels), guide in zip(plans, guides, strict=True)
        ]
        result = image.copy()  # only now: copying a large photo would delay the first preview
        for (crop, _), crop_pixels in zip(plans, filled, strict=True):
            hole = mask[crop.slices]
            result[crop.slices][hole] = crop_pixels[hole]
        report(Progress(total, total, "Done", result))
        return RemoveResult(result, notes=self.notes)

    # The classic engine has no content prior; the guided one (engines.remove.guided)
    # supplies a prediction per crop and the content term's weight per level.
    guide_weights: tuple[float, ...] = ()
    notes = ""

    def content_prior(self, request: RemoveRequest, device: str, image: np.ndarray,
                      mask: np.ndarray, crops: list[Crop], counter: _StepCounter
                      ) -> list[np.ndarray | None]:
        """A prediction of each crop's content (float32, at the crop's size or any
        smaller one: each level scales it), or None; ``counter.advance(message, preview,
        crop, steps=0)`` shows one as it comes."""
        return [None] * len(crops)


class _StepCounter:
    """Numbers the EM rounds of all crops and levels as one progress bar."""

    def __init__(self, total: int, report: Report) -> None:
        self.step, self.total, self.report = 0, total, report

    def advance(self, message: str, preview: np.ndarray, crop: Crop, steps: int = 1) -> None:
        self.step += steps
        # A copy: on the CPU the preview is the working buffer itself, which the next
        # vote rewrites while a window on another thread may still be drawing it.
        self.report(Progress(self.step, self.total, message, preview.copy(), crop.box))


def _refined(level: Level, depth: int, schedule: Schedule) -> bool:
    """Whether a level (``depth`` counted from the coarsest) only sharpens the one below."""
    return depth > 0 and level.hole.size > schedule.work_pixels


def _em_counts(levels: list[Level], schedule: Schedule) -> list[int]:
    """EM rounds per level, coarsest first: many where it is cheap, few at full size."""
    counts = []
    coarse_to_fine = levels[::-1]
    for i, level in enumerate(coarse_to_fine):
        if _refined(level, i, schedule):
            # Beyond a few megapixels a level only sharpens what the one below decided.
            counts.append(1 if level.hole.size > HUGE_LEVEL else schedule.em_refine)
        elif level.hole.size > schedule.work_pixels:
            # A thin hole can leave even the coarsest level large: its onion guess is
            # already good, and full rounds there would cost more than all the rest.
            counts.append(max(schedule.em_min, schedule.em_coarsest // 2))
        else:
            counts.append(max(schedule.em_min, schedule.em_coarsest - 2 * i))
    return counts


def _fill_crop(
    ops,
    levels: list[Level],
    patch: int,
    schedule: Schedule,
    counter: _StepCounter,
    cancel: CancelToken,
    crop: Crop,
    seed: int = 0,
    guide: np.ndarray | None = None,
    guide_weights: tuple[float, ...] = (),
) -> np.ndarray:
    """Solve one crop coarse to fine; returns the crop's pixels with its holes filled.

    With a ``guide`` (a content prediction of the crop) the coarsest level starts from
    the guide instead of peeling the hole, and a level at 1/2ᵏ of full resolution
    weighs the distance to the guide by ``guide_weights[k]`` (the last weight for
    coarser levels): strong where structure is decided, fading where texture is.
    """
    counts = _em_counts(levels, schedule)
    sample = next((lv for lv in levels if lv.hole.size <= schedule.work_pixels), levels[-1])
    kernels = fit_projection(sample.image, sample.hole, patch)
    field: PatchField | None = None
    estimate: np.ndarray | None = None
    for depth, (level, em_rounds) in enumerate(zip(levels[::-1], counts, strict=True)):
        cancel.raise_if_set()
        h, w = level.hole.shape
        refining = _refined(level, depth, schedule)
        # A refined level only sharpens what the coarser ones decided: no content term
        # (on 12 MP its extra features would cost more than the prediction saves).
        level_guide, weight = ((None, 0.0) if refining
                               else _level_guide(guide, guide_weights, level))
        start, origin = _initial_guess(level, estimate, patch, seed, level_guide)
        if estimate is None:  # show the first guess at once; the first EM round is slower
            counter.advance("Filling: first guess", start, crop, steps=0)
        image = ops.asarray(start)
        hole = ops.asarray(level.hole)
        avoid = None if level.avoid is None else ops.asarray(level.avoid)
        window, near = (_refined_sources(field, level, patch, schedule.em_refine)
                        if refining else (None, None))
        # Refined levels only sharpen: a shorter projection is enough and halves the
        # filtering, which dominates at full resolution.
        level_kernels = kernels[:REFINE_DIMS] if refining else kernels
        new_field = PatchField(ops, image, hole, avoid, patch, window, level_kernels,
                               None if level_guide is None else ops.asarray(level_guide),
                               weight, near)
        radius = search_radius(h, w)
        if field is None:
            if origin is None:
                new_field.init_random()
            else:
                new_field.init_from_origin(origin)
            new_field.search(2, radius, jumps=(4, 2, 1))
        else:
            # Vote with the coarse pointers first: that rebuilds the hole from sharp
            # full-resolution pixels, and only then is it worth searching against.
            new_field.init_from(field, w / field.w)
            new_field.vote()
            new_field.refresh_targets()
            new_field.rescore()
            if refining:
                radius = refine_radius(w, field.w)
        field = new_field
        for round_ in range(em_rounds):
            cancel.raise_if_set()
            if round_ > 0 or depth > 0:
                field.search(1 if refining else 2, radius)
            # The very last vote copies each pixel from its best patch instead of
            # averaging: averaging inconsistent patches is what blurs patch-based fills.
            last = depth == len(levels) - 1 and round_ == em_rounds - 1
            field.vote(hard=last)
            if round_ < em_rounds - 1:  # the next level computes its own features
                field.refresh_targets()
            estimate = ops.to_numpy(field.image)
            counter.advance(
                f"Filling: level {depth + 1} of {len(levels)}, round {round_ + 1} of {em_rounds}",
                estimate, crop,
            )
    assert estimate is not None
    return estimate


def _level_guide(guide: np.ndarray | None, weights: tuple[float, ...], level: Level
                 ) -> tuple[np.ndarray | None, float]:
    """The guide at this level's size (the level's own pixels outside the hole) and
    the content term's weight there; (None, 0) where there is no content term."""
    if guide is None or not weights:
        return None, 0.0
    octave = max(0, round(-math.log2(level.scale)))
    weight = weights[min(octave, len(weights) - 1)]
    h, w = level.hole.shape
    shrink = w < guide.shape[1]
    scaled = cv2.resize(guide, (w, h),
                        interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    scaled[~level.hole] = level.image[~level.hole]
    return np.ascontiguousarray(scaled, dtype=np.float32), weight


def _initial_guess(
    level: Level, coarser: np.ndarray | None, patch: int, seed: int,
    guide: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """The level's pixels with the hole pre-filled, and the onion fill's origins if used.

    The coarsest level starts from the guide when there is one, else is peeled rim by
    rim; finer ones start from the coarser result.
    """
    if coarser is None and guide is not None:
        return guide.copy(), None
    if coarser is None:
        # A smaller patch for the exact search: it is the costliest step before the
        # first preview, and more sources (a better guess) matter more than patch size.
        peeled = onion_fill(level.image, level.hole, level.avoid, max(3, patch - 2), seed)
        if peeled is None:  # PatchField will explain that nothing is left to copy from
            return np.ascontiguousarray(level.image), None
        return np.ascontiguousarray(peeled[0]), peeled[1]
    h, w = level.hole.shape
    start = level.image.copy()
    up = cv2.resize(coarser, (w, h), interpolation=cv2.INTER_LINEAR)
    start[level.hole] = up[level.hole]
    return np.ascontiguousarray(start), None


def _refined_sources(
    coarse: PatchField | None, level: Level, patch: int, rounds: int
) -> tuple[tuple[int, int, int, int] | None, Array | None]:
    """(window, near) of a refined level: the box around the hole and the coarse matches,
    scaled, where sources may lie; and within it the mask of pixels near those matches.

    A refined level starts from the coarse pointers and searches only a few pixels
    around them (``refine_radius``) for ``rounds`` rounds, so sources farther away
    are never reached; leaving them out lets the level filter only what it reads.
    """
    if coarse is None:
        return None, None
    ops = coarse.ops
    h, w = level.hole.shape
    f = w / coarse.w
    sy, sx = ops.to_numpy(coarse.sy), ops.to_numpy(coarse.sx)
    ys = np.concatenate([sy, ops.to_numpy(coarse.ty)])
    xs = np.concatenate([sx, ops.to_numpy(coarse.tx)])
    margin = int(4 * f) + patch
    window = (
        max(0, int(ys.min() * f) - margin),
        min(h, int((ys.max() + 1) * f) + margin),
        max(0, int(xs.min() * f) - margin),
        min(w, int((xs.max() + 1) * f) + margin),
    )
    marks = np.zeros((h, w), np.uint8)
    marks[np.clip((sy * f).astype(np.int64), 0, h - 1),
          np.clip((sx * f).astype(np.int64), 0, w - 1)] = 1
    reach = int(math.ceil(f)) + refine_radius(w, coarse.w) * (rounds + 1)
    near = cv2.dilate(marks, np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)) > 0
    return window, ops.asarray(near)


def refine_radius(w: int, coarse_w: int) -> int:
    """The random search's radius at a refined level of width ``w``."""
    return max(4, int(2 * w / coarse_w))


