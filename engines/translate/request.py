"""What the Translate engine is asked and answers.

Images are float32 HxWx3 in [0, 1]; the attention map is float32 HxW in [0, 1]. The
result carries G0(x) and A(x) at full resolution as well as the composite, so a front
end can show each of them and recomposite instantly after the user edits A.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from engines.base import InvalidInput, Request, Result
from engines.translate.networks import MULTIPLE


@dataclass(frozen=True, eq=False)
class TranslateRequest(Request):
    """Translate ``image`` with ``model`` (a name such as "horse2zebra", a path, or None
    for the shipped default). ``tile`` processes large photos in overlapping tiles at
    the model's resolution instead of shrinking the whole photo to it."""

    image: np.ndarray
    model: str | os.PathLike[str] | None = None
    tile: bool = False

    def validate(self) -> None:
        image = self.image
        if image.ndim != 3 or image.shape[2] != 3 or min(image.shape[:2]) < 1:
            raise InvalidInput("Translate needs an RGB image.", f"shape {image.shape}")
        if min(image.shape[:2]) < MULTIPLE:
            raise InvalidInput(f"The image is too small to translate (at least {MULTIPLE} "
                               "pixels on each side).", f"shape {image.shape}")


@dataclass(frozen=True, eq=False)
class TranslateResult(Result):
    """``image`` = A·G0 + (1 − A)·x, exactly, at full resolution; pixels where
    ``attention`` is 0 are the input's own values."""

    image: np.ndarray
    initial: np.ndarray
    attention: np.ndarray
    model: str
