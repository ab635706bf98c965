"""What the Expression engines are asked and answer (shared by every Expression engine).

Images are float32 HxWx3 in [0, 1]. The first photo gives the identity (and is the one
changed); the second, when given, the expression. When a photo shows several faces,
``face_*`` picks one by index in the detector's order (largest first); None means the
largest.

The landmark engine also takes the expression feature by feature (``mouth``, ``eyes``,
``brows``: each a strength from 0 to 1, on top of the overall ``strength``; ``tilt``,
the second head's lean, is off unless asked for) and moves the face by sliders that
need no second photo (``smile``, ``mouth_open``, ``brow_raise``, ``eye_open``: from -1
to 1, added to whatever the second photo asks).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from engines.base import InvalidInput, Request, Result

DEFAULT_LAYERS = (4, 5)  # 1-based StyleGAN style layers that carry expression (ch. 6)
STARTS = ("mean", "zero")  # where a StyleGAN inversion may start
MIN_PHOTO_SIDE = 32  # px: a smaller photo cannot hold a face the landmarks could describe
FEATURES = ("mouth", "eyes", "brows", "tilt")  # what may be taken from the second face
SLIDERS = {  # field: what a user calls it
    "smile": "smile", "mouth_open": "open mouth", "brow_raise": "raise brows",
    "eye_open": "open eyes",
}


@dataclass(frozen=True, eq=False)
class ExpressionRequest(Request):
    first: np.ndarray
    second: np.ndarray | None = None
    strength: float = 1.0  # 0 = the first photo unchanged, 1 = the second face's expression
    mouth: float = 1.0  # per-feature strengths (landmark engine), times ``strength``
    eyes: float = 1.0
    brows: float = 1.0
    tilt: float = 0.0  # the second head's lean in the picture: off by default
    smile: float = 0.0  # sliders (landmark engine), -1 to 1, no second photo needed
    mouth_open: float = 0.0
    brow_raise: float = 0.0
    eye_open: float = 0.0
    face_first: int | None = None
    face_second: int | None = None
    layers: tuple[int, ...] = DEFAULT_LAYERS  # StyleGAN engine: layers from the second face
    steps: int = 1000  # StyleGAN engine: inversion steps per face
    start: str = "mean"  # StyleGAN engine: inversion starts from the "mean" or "zero" style
    seed: int = 0

    @property
    def sliders(self) -> dict[str, float]:
        """The slider settings by name (landmark engine)."""
        return {name: float(getattr(self, name)) for name in SLIDERS}

    @property
    def moves_by_sliders(self) -> bool:
        return any(value != 0 for value in self.sliders.values())

    def validate(self) -> None:
        for which, image in (("first", self.first), ("second", self.second)):
            if image is None and which == "second":
                continue
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
        for name in FEATURES:
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and 0 <= value <= 1):
                raise InvalidInput(f"The {name} strength must be between 0 (keep the first "
                                   f"face's) and 1 (the second face's).", f"{name} {value!r}")
        for name in SLIDERS:
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value)
                    and -1 <= value <= 1):
                raise InvalidInput(f"The {SLIDERS[name]} slider goes from -1 to 1, not "
                                   f"{value!r}.")
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


@dataclass(frozen=True)
class WarpCheck:
    """How the landmark engine's warp treated the face's skin (mouth and eyes aside)."""

    min_jacobian: float  # smallest source area per output area; <= 0 means it folded
    max_stretch: float  # worst local lengthening or shortening (1 = none)

    @property
    def folded(self) -> bool:
        return self.min_jacobian <= 0


@dataclass(frozen=True, eq=False)
class ExpressionResult(Result):
    """The first photo with the new expression; pixels outside ``region`` are unchanged.

    ``blend_mask`` is the first photo-sized alpha the new face was blended with.
    """

    image: np.ndarray
    region: tuple[int, int, int, int]
    blend_mask: np.ndarray
    notes: tuple[str, ...] = field(default_factory=tuple)  # e.g. "the faces look like two people"
    warp: WarpCheck | None = None  # the landmark engine's warp, measured (None: no warp)
