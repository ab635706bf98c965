"""The StyleGAN2 W+ expression engine (ch. 6): align, invert both, fuse, regenerate, blend.

1. Both faces are found (68 landmarks) and aligned as FFHQ's training faces were.
2. Each aligned face is inverted into W+ (18 × 512) with a VGG-16 perceptual loss,
   with previews of g(s) as it converges; results are cached per face.
3. The expression layers (4 and 5 by default) come from the second face, the rest
   from the first; ``strength`` moves those layers part of the way.
4. The fused styles are regenerated, warped back onto the first photo by the inverse
   alignment and blended through a blurred convex hull of its landmarks. Pixels outside
   that mask are the first photo's own, bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from engines.base import CancelToken, Engine, InvalidInput, Progress, Report
from engines.expression.request import ExpressionRequest, ExpressionResult
from engines.expression.stylegan import faces_bridge
from engines.expression.stylegan.fusion import check_layers, fuse
from engines.expression.stylegan.invert import (
    Inversion,
    InversionSettings,
    ProgressSpan,
    invert,
    preview_of,
    synthesize,
)
from engines.expression.stylegan.models import StyleGANModels, load_models, require_weights
from engines.expression.stylegan.style_cache import StyleCache, default_cache
from engines.expression.stylegan.warp_blend import blend_face

ModelLoader = Callable[[str, Callable[[str], None]], StyleGANModels]
POOR_FIT = 0.5  # final / first inversion loss above this: the face was hard to reproduce


class StyleGANExpressionEngine(Engine[ExpressionRequest, ExpressionResult]):
    """Chapter 6's expression transfer by StyleGAN2 inversion and style-layer fusion.

    ``models`` and ``cache`` default to the registry's weights and the on-disk inversion
    cache; tests pass a tiny generator and a private cache instead.
    """

    name = "stylegan"

    def __init__(self, models: ModelLoader | None = None, cache: StyleCache | None = None,
                 settings: InversionSettings | None = None) -> None:
        self._models = models
        self._cache = cache
        self._settings = settings

    def compute(
        self, request: ExpressionRequest, device: str, report: Report, cancel: CancelToken
    ) -> ExpressionResult:
        if request.second is None or request.moves_by_sliders:
            raise InvalidInput(
                "The StyleGAN engine takes the whole expression from a second portrait; the "
                "sliders and a missing second photo need the landmark warp engine.")
        first, second = (np.asarray(photo, np.float32) for photo in (request.first, request.second))
        if request.strength == 0.0:
            return ExpressionResult(first.copy(), (0, 0, 0, 0),
                                    np.zeros(first.shape[:2], np.float32))
        loader = self._models or load_models
        if self._models is None:
            require_weights()  # before any slow work, and never a download
        settings = self._inversion_settings(request)
        total = 2 * settings.steps + 4

        notes: list[str] = []
        report(Progress(0, total, "Finding the faces"))
        marks_first = faces_bridge.find_landmarks(first, request.face_first, "first", notes)
        marks_second = faces_bridge.find_landmarks(second, request.face_second, "second", notes)
        cancel.raise_if_set()

        models = loader(device, lambda message: report(Progress(1, total, message)))
        generator = models.generator
        layers = check_layers(request.layers, generator.num_ws)
        res = generator.config.resolution
        report(Progress(2, total, "Aligning the faces"))
        aligned_first = faces_bridge.align(first, marks_first, res)
        aligned_second = faces_bridge.align(second, marks_second, res)
        cancel.raise_if_set()

        import torch

        torch.manual_seed(request.seed)
        cache = self._cache if self._cache is not None else default_cache()
        inversions = []
        for i, (aligned, label) in enumerate(((aligned_first, "Inverting the first face"),
                                              (aligned_second, "Inverting the second face"))):
            inversions.append(invert(
                generator, models.loss, aligned.image, settings, device, report, cancel,
                cache, models.key, ProgressSpan(2 + i * settings.steps, total, label),
            ))

        fused = fuse(inversions[0].styles, inversions[1].styles, layers, request.strength)
        face = synthesize(generator, fused, device)
        report(Progress(total - 1, total, "Blending the new face in", preview_of(face)))
        cancel.raise_if_set()
        face_image = face[0].permute(1, 2, 0).float().cpu().numpy()
        blended = blend_face(first, face_image, aligned_first.to_photo, marks_first)
        notes += self._notes(inversions)
        notes += self._identity_note(first, blended.image, marks_first)
        x, y, w, h = blended.region
        if w and h:
            report(Progress(total, total, "Done", blended.image[y:y + h, x:x + w], blended.region))
        else:
            report(Progress(total, total, "Done"))
        return ExpressionResult(blended.image, blended.region, blended.alpha,
                                notes=tuple(notes))

    def _inversion_settings(self, request: ExpressionRequest) -> InversionSettings:
        base = self._settings or InversionSettings()
        return InversionSettings(
            steps=request.steps, start=request.start, learning_rate=base.learning_rate,
            rampup=base.rampup, rampdown=base.rampdown, preview_every=base.preview_every,
            amp=base.amp,
        )

    @staticmethod
    def _identity_note(first: np.ndarray, result: np.ndarray,
                       landmarks: np.ndarray) -> list[str]:
        """A warning when the regenerated face no longer looks like the first person."""
        measured = faces_bridge.identity_distance(first, landmarks, result, landmarks)
        if measured is None or measured[0] <= measured[1]:
            return []
        distance, threshold = measured
        return [f"The changed face may not look like the first person any more (face "
                f"distance {distance:.2f}, over {threshold}): StyleGAN2 reproduced the face "
                "only approximately; more inversion steps usually help."]

    @staticmethod
    def _notes(inversions: list[Inversion]) -> list[str]:
        notes = []
        for inversion, label in zip(inversions, ("first", "second"), strict=True):
            if inversion.cached:
                continue
            if inversion.loss_start > 0 and inversion.loss_end / inversion.loss_start > POOR_FIT:
                notes.append(f"The {label} face was hard to reproduce with StyleGAN2; the "
                             "result may not look like it (try more steps).")
        return notes
