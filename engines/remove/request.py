"""What a Remove engine is asked and what it answers (shared by every Remove engine)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engines.base import InvalidInput, Request, Result


@dataclass(frozen=True, eq=False)
class RemoveRequest(Request):
    """A hole to fill.

    ``mask`` is True where the distractor is; ``avoid`` (optional) is True where the
    engine must not copy from (a second person, a logo that would otherwise be cloned).
    """

    image: np.ndarray
    mask: np.ndarray
    avoid: np.ndarray | None = None
    seed: int = 0
    patch_size: int = 7
    quality: str = "balanced"  # "fast" | "balanced" | "best"
    model: str | None = None  # the inpainting model (name or file) of engines that run one
    iterations: int | None = None  # optimisation iterations per scale (neural-patch)
    texture_weight: float | None = None  # α of the texture term (neural-patch)
    smoothness_weight: float | None = None  # β of the total variation term (neural-patch)

    def validate(self) -> None:
        """Refuse inputs no engine can fill, with a sentence the user understands."""
        image, mask = self.image, self.mask
        if image.ndim != 3 or image.shape[2] != 3:
            raise InvalidInput("The photo must be an RGB image.", f"shape {image.shape}")
        if mask.shape != image.shape[:2]:
            raise InvalidInput(
                f"The mask is {mask.shape[1]}×{mask.shape[0]} but the photo is "
                f"{image.shape[1]}×{image.shape[0]}.",
            )
        if self.avoid is not None and self.avoid.shape != mask.shape:
            raise InvalidInput("The “don't copy from” region does not match the photo's size.")
        if not mask.any():
            raise InvalidInput("The mask is empty: paint over what you want to remove first.")
        if mask.all():
            raise InvalidInput(
                "The mask covers the whole photo, so there is nothing left to fill it from."
            )
        if self.quality not in ("fast", "balanced", "best"):
            raise InvalidInput(f"Unknown quality {self.quality!r}; use fast, balanced or best.")
        if self.iterations is not None and not 1 <= self.iterations <= 1000:
            raise InvalidInput(f"The iterations per scale must be 1 to 1000, not "
                               f"{self.iterations}.")
        for label, weight in (("texture", self.texture_weight),
                              ("smoothness", self.smoothness_weight)):
            if weight is not None and not weight >= 0:
                raise InvalidInput(f"The {label} weight must be 0 or more, not {weight}.")
        if self.patch_size < 3 or self.patch_size % 2 == 0:
            raise InvalidInput("The patch size must be an odd number of at least 3 pixels.")


@dataclass(frozen=True, eq=False)
class RemoveResult(Result):
    """The filled photo; pixels outside the mask are the request's own, bit for bit.

    ``notes``: how it was filled, where that is worth saying (which model, a fallback).
    """

    image: np.ndarray
    notes: str = ""
