"""A rectangle of a photo: the one box type every engine crops, previews and pastes with.

Engines work on a crop around what they change, so their cost follows the change and
not the photo (a hole, a boxed object, a face); they report previews of that crop and
paste results back into it. One type for all of them keeps the conventions in one place:
bounds in photo pixels with ``x1``/``y1`` exclusive, numpy slices, and the
``(x, y, width, height)`` tuple (``Box``) that requests and ``Progress.preview_box`` use
at the boundary, where a front end draws it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Box = tuple[int, int, int, int]  # (x, y, width, height) in photo pixels


@dataclass(frozen=True)
class Crop:
    """A region of the photo in pixel bounds: x0, y0 inclusive, x1, y1 exclusive."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def slices(self) -> tuple[slice, slice]:
        """(rows, columns) for indexing an HxW(xC) array."""
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    @property
    def box(self) -> Box:
        """(x, y, width, height), as requests and previews name a region."""
        return self.x0, self.y0, self.x1 - self.x0, self.y1 - self.y0

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width), as numpy orders them."""
        return self.y1 - self.y0, self.x1 - self.x0

    @property
    def area(self) -> int:
        return (self.y1 - self.y0) * (self.x1 - self.x0)

    @property
    def origin(self) -> np.ndarray:
        """The top-left corner (x, y) as float64, to move points into crop pixels."""
        return np.array([self.x0, self.y0], dtype=np.float64)

    def overlaps(self, other: Crop) -> bool:
        return not (
            self.y1 <= other.y0 or other.y1 <= self.y0 or self.x1 <= other.x0 or other.x1 <= self.x0
        )

    def union(self, other: Crop) -> Crop:
        """The smallest crop holding both."""
        return Crop(min(self.x0, other.x0), min(self.y0, other.y0),
                    max(self.x1, other.x1), max(self.y1, other.y1))


def merge_overlapping(crops: list[Crop],
                      grow: Callable[[Crop], Crop] = lambda crop: crop) -> list[Crop]:
    """Crops that overlap, merged until none does; ``grow`` reshapes each union (a crop
    planned around a hole may want more context once two holes share it)."""
    crops = list(crops)
    merged = True
    while merged:
        merged = False
        for i in range(len(crops)):
            for j in range(i + 1, len(crops)):
                if crops[i].overlaps(crops[j]):
                    crops[i] = grow(crops[i].union(crops.pop(j)))
                    merged = True
                    break
            if merged:
                break
    return crops


def union_all(crops: list[Crop]) -> Crop:
    """The smallest crop holding all of ``crops`` (at least one)."""
    union = crops[0]
    for crop in crops[1:]:
        union = union.union(crop)
    return union
