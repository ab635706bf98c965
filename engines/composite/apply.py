"""Guided inpainting (ch. 3.4.4): paste the object cut from a guide photo, carry it into
the target's light, fill the gaps around it from the target, harmonize it, and blend it
in with a soft edge.

The object's outline from a box-started segmentation is only roughly right: its last
pixels often still carry the guide's background (a halo). So the object's alpha is 0
for a trim of about the soft-edge width inside its outline and ramps up over the soft
edge after that: around the object the target's own pixels show, which is exactly the
background that belongs there (inpainting them would replace real pixels with
synthesized ones, and cost seconds). When the user pastes the whole box, the target
under the rest of the box is what the object replaces: that part is a hole, filled
from the target's surroundings by a Remove engine that may not copy what is being
covered. Harmonization then sees the composite with the object's alpha and changes
only the object. Every pixel outside the object (and the box) is the target's own,
bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from engines import registry
from engines.base import CancelToken, Engine, InvalidInput, Progress, Report
from engines.blend import blend_by_alpha
from engines.composite.light import guide_to_photo_gains, relight
from engines.composite.request import (
    Box,
    CompositeRequest,
    CompositeResult,
    HarmonizeRequest,
)

STEP_UNITS = 100  # progress units per step, so sub-engines move the bar smoothly


@dataclass(frozen=True)
class Pasted:
    """The scaled, flipped guide box as it lands in the target (clipped to it)."""

    region: Box  # x, y, w, h in target pixels
    pixels: np.ndarray  # h×w×3 guide pixels over ``region``
    object_mask: np.ndarray  # h×w bool, the object
    covers: np.ndarray  # h×w bool, where the pasted box itself lies (all True if unclipped)


def place_object(request: CompositeRequest) -> Pasted:
    """Cut the box from the guide, flip and scale it, and clip it to the target.

    The request must have passed ``validate`` (``Engine.run`` sees to that).
    """
    bx, by, bw, bh = request.source_box
    place = request.place
    pixels = request.guide[by : by + bh, bx : bx + bw]
    mask = np.asarray(request.object_mask[by : by + bh, bx : bx + bw], np.float32)
    if place.flip:
        pixels, mask = pixels[:, ::-1], mask[:, ::-1]
    w = max(1, round(bw * place.scale_x))
    h = max(1, round(bh * place.scale_y))
    shrink = w * h < bw * bh
    interp = cv2.INTER_AREA if shrink else cv2.INTER_CUBIC
    pixels = np.clip(cv2.resize(np.ascontiguousarray(pixels), (w, h), interpolation=interp),
                     0.0, 1.0)
    mask = cv2.resize(np.ascontiguousarray(mask), (w, h), interpolation=cv2.INTER_LINEAR) >= 0.5
    th, tw = request.target.shape[:2]
    x0, y0 = round(place.x), round(place.y)
    cx0, cy0 = max(0, x0), max(0, y0)
    cx1, cy1 = min(tw, x0 + w), min(th, y0 + h)
    if cx0 >= cx1 or cy0 >= cy1:
        raise InvalidInput(f"The object was placed outside the photo ({tw}×{th}; it landed "
                           f"at {x0},{y0}, {w}×{h}); place it so that it overlaps the photo.")
    inner = (slice(cy0 - y0, cy1 - y0), slice(cx0 - x0, cx1 - x0))
    clipped_mask = mask[inner]
    if not clipped_mask.any():
        raise InvalidInput("Only empty background of the box lands on the photo; move the "
                           "object onto it.")
    return Pasted((cx0, cy0, cx1 - cx0, cy1 - cy0), pixels[inner], clipped_mask,
                  np.ones(clipped_mask.shape, bool))


def _disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def object_alpha(hard: np.ndarray, feather: float) -> np.ndarray:
    """The object's alpha: 0 within ``trim`` px of its outline, then a ramp over ``feather``.

    The trim (about the feather, at least 1 px) drops the outline pixels where a
    segmentation started from a box leaves some of the guide's background.
    """
    trim = max(1.0, float(round(feather)))
    inside = cv2.distanceTransform(hard.astype(np.uint8), cv2.DIST_L2, 5)
    return np.clip((inside - trim) / max(feather, 0.5), 0.0, 1.0).astype(np.float32)


class GuidedCompositeEngine(Engine[CompositeRequest, CompositeResult]):
    """Paste → fill the gaps (a Remove engine) → harmonize (a harmonize engine) → blend.

    It computes little itself, but its sub-engines run on the device it resolved.
    """

    name = "guided"

    def compute(
        self, request: CompositeRequest, device: str, report: Report, cancel: CancelToken
    ) -> CompositeResult:
        target = np.ascontiguousarray(request.target, dtype=np.float32)
        pasted = place_object(request)
        x, y, w, h = pasted.region
        th, tw = target.shape[:2]
        alpha = np.zeros((th, tw), np.float32)
        alpha[y : y + h, x : x + w] = object_alpha(pasted.object_mask, request.feather)
        hole = np.zeros((th, tw), bool)
        hidden = np.zeros((th, tw), bool)  # what the pasted box covers: not a fill source
        if request.paste_box:
            hole[y : y + h, x : x + w] = pasted.covers & (alpha[y : y + h, x : x + w] < 1.0)
            hidden[y : y + h, x : x + w] = pasted.covers
        pixels = pasted.pixels
        if request.match_light and request.strength > 0:
            pixels = self._relit(request, pixels, target, (x, y, w, h))
        layer = target.copy()
        layer[y : y + h, x : x + w] = pixels
        report(Progress(0, 3 * STEP_UNITS, "Pasting the object", preview=blend_by_alpha(
            target[y : y + h, x : x + w], pixels, alpha[y : y + h, x : x + w]),
            preview_box=pasted.region))
        cancel.raise_if_set()
        filled = self._fill(request, device, target, hole, hidden & ~hole, report, cancel)
        composite = blend_by_alpha(filled, layer, alpha)
        cancel.raise_if_set()
        report(Progress(2 * STEP_UNITS, 3 * STEP_UNITS, "Harmonizing the object"))
        if request.harmonize != "none" and request.strength > 0:
            engine = registry.get("harmonize", request.harmonize).load()()
            composite = engine.run(
                HarmonizeRequest(composite, alpha, strength=request.strength, seed=request.seed,
                                 device=device),
                _sub_report(report, 2, 3, "Harmonizing the object"), cancel,
            ).image
        region = _bounds(hole | (alpha > 0))
        report(Progress(3 * STEP_UNITS, 3 * STEP_UNITS, "Done",
                        preview=composite[_slices(region)], preview_box=region))
        return CompositeResult(composite, alpha, region)

    @staticmethod
    def _relit(request: CompositeRequest, pixels: np.ndarray, target: np.ndarray,
               region: Box) -> np.ndarray:
        """The pasted pixels moved from the guide photo's light into the target's."""
        x, y, w, h = region
        covered = np.zeros(target.shape[:2], bool)
        covered[y : y + h, x : x + w] = True
        gains = guide_to_photo_gains(request.guide, request.object_mask, target, covered)
        return relight(pixels, gains, request.strength)

    def _fill(self, request: CompositeRequest, device: str, target: np.ndarray,
              hole: np.ndarray, avoid: np.ndarray, report: Report,
              cancel: CancelToken) -> np.ndarray:
        """The target with the band (and box) filled from its own surroundings."""
        if not hole.any():
            return target
        from engines.remove.request import RemoveRequest

        if hole.all():
            raise InvalidInput("The object covers the whole photo; nothing is left to fill "
                               "its edge from. Scale it down.")
        engine = registry.get("remove", request.remove_engine).load()()
        result = engine.run(
            RemoveRequest(target, hole, avoid=avoid if avoid.any() else None,
                          seed=request.seed, device=device),
            _sub_report(report, 1, 3, "Filling around the object"), cancel,
        )
        return result.image


def _sub_report(report: Report, step: int, total: int, message: str) -> Report:
    """Forward a sub-engine's progress and previews as step ``step`` of our ``total``."""

    def forward(progress: Progress) -> None:
        done = round(STEP_UNITS * (step + progress.fraction))
        report(Progress(done, STEP_UNITS * total, message, progress.preview,
                        progress.preview_box))

    return forward


def _bounds(mask: np.ndarray) -> Box:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


def _slices(box: Box) -> tuple[slice, slice]:
    x, y, w, h = box
    return slice(y, y + h), slice(x, x + w)
