"""The ``neural-patch`` Remove engine: ch. 2's optimisation, previewed iteration by iteration.

For each group of holes: a context crop (the hole about a quarter of it, as in the
thesis's 512×512 photo with a 256×256 hole), brought to at most ``WORK_SIDE`` px; the
content prediction from the ``generator`` engine's model when it is there, else the
classic engine's fill (the result's notes say which); then ``synthesis.synthesize``
over three scales with a preview after every L-BFGS iteration. When the crop had to
be shrunk, the synthesised hole is brought back to full size and the patch engine
copies the photo's own texture at full resolution, guided by it (as the ``guided``
engine is by the generator), so the cost follows the hole, not the photo. Pixels
outside the mask are the photo's own, bit for bit.
"""

from __future__ import annotations

import cv2
import numpy as np

from engines.base import CancelToken, Engine, Progress, Report
from engines.crop import Crop
from engines.remove.generator.predict import context_crop, merge_overlapping
from engines.remove.neural_patch import random_vgg_requested
from engines.remove.neural_patch.synthesis import Iteration, SynthesisSettings, synthesize
from engines.remove.neural_patch.vgg import load_texture_network
from engines.remove.request import RemoveRequest, RemoveResult

WORK_SIDE = 512  # the crop's long side for the optimisation (the thesis's photo size)
HOLE_SHARE = 0.25  # the hole's share of its crop (256² of 512²)


class NeuralPatchEngine(Engine[RemoveRequest, RemoveResult]):
    """Optimises each hole's pixels so its VGG-19 patches match the photo's own."""

    name = "neural-patch"

    def __init__(self, random_vgg: bool | None = None,
                 settings: SynthesisSettings | None = None) -> None:
        """``random_vgg``: use the fixed random VGG-19 (development and tests; every
        result says so); None reads ``TRANSFIGURE_RANDOM_VGG``."""
        self.random_vgg = random_vgg_requested() if random_vgg is None else random_vgg
        self.settings = settings or SynthesisSettings()

    def compute(self, request: RemoveRequest, device: str, report: Report,
                cancel: CancelToken) -> RemoveResult:
        settings = self._settings(request)
        network, info = load_texture_network(self.random_vgg, device)
        image = np.ascontiguousarray(request.image, dtype=np.float32)
        mask = np.asarray(request.mask, dtype=bool)
        crops = nps_crops(mask)
        # Progress counts work, not iterations: an iteration at a scale costs about four
        # times one at the scale below (pixels), so the ETA holds while the fine scale runs.
        unit = [4 ** scale for scale in range(settings.scales)]
        per_crop = settings.iterations * sum(unit) + 2  # + prediction + refinement
        total = per_crop * len(crops)
        result = image.copy()
        notes = [info.label]
        for index, crop in enumerate(crops):
            done = index * per_crop
            hole = mask[crop.slices]
            pixels = image[crop.slices]
            small, small_hole, scale = _work_size(pixels, hole)
            content, source = self._content(request, device, pixels, hole, small.shape[:2])
            if source not in notes:
                notes.append(source)
            content = np.where(small_hole[..., None], content, small)
            report(Progress(done + 1, total, "Predicting the hole's content", content, crop.box))

            def shown(step: Iteration, done: int = done, crop: Crop = crop) -> None:
                cost = unit[step.scale + settings.scales - step.scales]  # scales skipped
                before = settings.iterations * sum(unit[:step.scale + settings.scales
                                                        - step.scales])
                report(Progress(
                    done + 1 + before + (step.iteration + 1) * cost, total,
                    f"Scale {step.scale + 1} of {step.scales}, iteration "
                    f"{step.iteration + 1} of {step.iterations}", step.image, crop.box))

            synthesised = synthesize(small, small_hole, content, network, settings, device,
                                     shown, cancel)
            if scale < 1.0:
                synthesised = _refine(request, device, pixels, hole, synthesised, cancel)
            region = result[crop.slices]
            region[hole] = synthesised[hole]
            report(Progress(done + per_crop, total, "Hole filled", region.copy(), crop.box))
        return RemoveResult(result, notes="; ".join(notes))

    def _settings(self, request: RemoveRequest) -> SynthesisSettings:
        from dataclasses import replace

        settings = self.settings
        if request.iterations is not None:
            settings = replace(settings, iterations=request.iterations)
        if request.texture_weight is not None:
            settings = replace(settings, alpha=request.texture_weight)
        if request.smoothness_weight is not None:
            settings = replace(settings, beta=request.smoothness_weight)
        return settings

    @staticmethod
    def _content(request: RemoveRequest, device: str, pixels: np.ndarray, hole: np.ndarray,
                 size: tuple[int, int]) -> tuple[np.ndarray, str]:
        """The content prediction at ``size`` (h, w), and where it came from."""
        from engines.registry import get

        h, w = size
        if get("remove", "generator").availability().available:
            from engines.remove.generator.engine import load_generator
            from engines.remove.generator.predict import predict_small, work_side

            network, info, note = load_generator(request.model, device)
            guess, _ = predict_small(network, pixels, hole, work_side(info.resolution), device)
            return (cv2.resize(guess, (w, h), interpolation=cv2.INTER_AREA).clip(0, 1),
                    f"content from the {note}")
        from engines.remove.patchmatch import PatchMatchEngine

        small = cv2.resize(pixels, (w, h), interpolation=cv2.INTER_AREA)
        small_hole = cv2.resize(hole.astype(np.float32), (w, h),
                                interpolation=cv2.INTER_AREA) > 0
        fill = PatchMatchEngine().run(RemoveRequest(small, small_hole, seed=request.seed,
                                                    quality="fast", device=device)).image
        return fill, ("content from the classic patch-based fill (no inpainting model is "
                      "installed)")


def nps_crops(mask: np.ndarray) -> list[Crop]:
    """One crop per group of nearby holes, each hole about HOLE_SHARE of its crop."""
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count - 1 > 16:  # a speckle of holes: one crop over all of them
        ys, xs = np.nonzero(mask)
        box = Crop(int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
        return [context_crop(mask, box, HOLE_SHARE)]
    crops = [context_crop(mask, Crop(int(x), int(y), int(x + w), int(y + h)), HOLE_SHARE)
             for x, y, w, h, _ in stats[1:count]]
    return merge_overlapping(crops, lambda union: context_crop(mask, union, HOLE_SHARE))


def _work_size(pixels: np.ndarray, hole: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The crop at most WORK_SIDE on its long side, its hole (grown to cover the rim of
    the distractor after shrinking), and the scale."""
    h, w = hole.shape
    scale = min(1.0, WORK_SIDE / max(h, w))
    if scale == 1.0:
        return pixels, hole, 1.0
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)
    small_hole = cv2.resize(hole.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0
    return small, small_hole, scale


def _refine(request: RemoveRequest, device: str, pixels: np.ndarray, hole: np.ndarray,
            synthesised: np.ndarray, cancel: CancelToken) -> np.ndarray:
    """Full-resolution texture from the photo, guided by the synthesised hole (brought
    to full size) as the ``guided`` engine is by the generator's prediction."""
    from engines.remove.guided import GUIDE_WEIGHTS
    from engines.remove.patchmatch import PatchMatchEngine

    full = cv2.resize(synthesised, hole.shape[::-1], interpolation=cv2.INTER_CUBIC).clip(0, 1)

    class GuidedBySynthesis(PatchMatchEngine):
        guide_weights = GUIDE_WEIGHTS

        def content_prior(self, request, device, image, mask, crops, counter):
            return [full[crop.slices] for crop in crops]

    return GuidedBySynthesis().run(RemoveRequest(pixels, hole, seed=request.seed,
                                                 device=device), cancel=cancel).image
