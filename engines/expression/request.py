"""What the Expression engines are asked and answer (shared by every Expression engine).

Images are float32 HxWx3 in [0, 1]. The first photo gives the identity (and is the one
changed); the second gives the expression. When a photo shows several faces, ``face_*``
picks one by index in the detector's order (largest first); None means the largest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from engines.base import InvalidInput, Request, Result

DEFAULT_LAYERS = (4, 5)  # 1-based StyleGAN style layers that carry expression (ch. 6)
STARTS = ("mean", "zero")  # where a StyleGAN inversion may start
MIN_PHOTO_SIDE = 32  # px: a smaller photo cannot hold a face the landmarks could describe


@dataclass(frozen=True, eq=False)
class ExpressionRequest(Request):
    first: np.ndarray
    second: np.ndarray
    strength: float = 1.0  # 0 = the first photo unchanged, 1 = the second face's expression
    face_first: int | None = None
    face_second: int | None = None
    layers: tuple[int, ...] = DEFAULT_LAYERS  # StyleGAN engine: layers from the second face
    steps: int = 1000  # StyleGAN engine: inversion steps per face
    start: str = "mean"  # StyleGAN engine: inversion starts from the "mean" or "zero" style
    seed: int = 0

    def validate(self) -> None:
        for which, image in (("first", self.first), ("second", self.second)):
            image = np.asarray(image)
            if image.ndim != 3 or image.shape[2] != 3:
                raise InvalidInput(f"The {which} photo must be a colour (RGB) image.",
                                   f"shape {image.shape}")
            if min(image.shape[:2]) < MIN_PHOTO_SIDE:
                raise InvalidInput(f"The {which} photo is too small to hold a face.",
                                   f"shape {image.shape}")
        strength = self.strength
        if not (isinstance(strength, int | float) and math.isfinite(strength)
                and 0 <= strength <= 1):
            raise InvalidInput(
                "The strength must be between 0 (the first face unchanged) and 1 (the second "
                "face's expression).", f"strength {strength!r}",
            )
        for which, index in (("first", self.face_first), ("second", self.face_second)):
            if index is not None and (not isinstance(index, int) or index < 0):
                raise InvalidInput(f"The face chosen in the {which} photo must be a face "
                                   "number from the list of faces found.", f"index {index!r}")
        if not self.layers:
            raise InvalidInput("Choose at least one style layer to take from the second face.")
        if self.steps < 1:
            raise InvalidInput(f"The inversion needs at least one step, not {self.steps}.")
        if self.start not in STARTS:
            raise InvalidInput(f"The inversion starts from 'mean' or 'zero', not {self.start!r}.")


@dataclass(frozen=True, eq=False)
class ExpressionResult(Result):
    """The first photo with the new expression; pixels outside ``region`` are unchanged.

    ``blend_mask`` is the first photo-sized alpha the new face was blended with.
    """

    image: np.ndarray
    region: tuple[int, int, int, int]
    blend_mask: np.ndarray
    notes: tuple[str, ...] = field(default_factory=tuple)  # e.g. "the faces look like two people"
