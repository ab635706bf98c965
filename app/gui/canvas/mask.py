"""The selection mask, kept at the photo's full resolution, and its undoable edits.

A brush dab on a 12-megapixel photo must cost what the dab covers, not what the photo
covers: painting touches only the stroke's bounding box, and undo keeps copies of just
the 64×64 tiles a stroke changed (copied the first time the stroke reaches them).
Coverage is 0–255 so a soft brush shows its falloff. Engines fill ``selection`` (every
pixel covered at all, give or take the faint rest a soft eraser leaves), and the result
is blended back by ``alpha`` so a soft edge fades into the photo instead of a seam.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

TILE = 64
SELECTED_MIN = 13  # coverage (of 255) below which a pixel counts as unselected (~5 %)
Rect = tuple[int, int, int, int]  # x, y, width, height in photo pixels


@dataclass
class MaskEdit:
    """What one stroke (or box, invert, clear) changed, tile by tile, for undo and redo."""

    before: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)
    after: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.before


class MaskLayer:
    """Coverage mask (uint8, 255 = selected) with brush, box, invert, clear and undo.

    ``label`` names it in the undo history ("Paint mask", "Paint attention").
    """

    def __init__(self, height: int, width: int, label: str = "mask") -> None:
        self.coverage = np.zeros((height, width), np.uint8)
        self.label = label
        self._edit: MaskEdit | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.coverage.shape  # type: ignore[return-value]

    @property
    def selection(self) -> np.ndarray:
        """The pixels an engine may change: covered by more than a faint trace."""
        return self.coverage >= SELECTED_MIN

    @property
    def alpha(self) -> np.ndarray:
        """How much of an engine's result each pixel takes (0 outside ``selection``)."""
        alpha = self.coverage.astype(np.float32) * np.float32(1 / 255)
        alpha[self.coverage < SELECTED_MIN] = 0.0
        return alpha

    @property
    def is_soft(self) -> bool:
        """Whether any selected pixel is only partly covered (a soft brush was used)."""
        return bool(((self.coverage >= SELECTED_MIN) & (self.coverage < 255)).any())

    # ------------------------------------------------------------------ editing
    def begin(self) -> None:
        self._edit = MaskEdit()

    def end(self) -> MaskEdit:
        """Close the edit; the returned record undoes and redoes it."""
        edit = self._edit or MaskEdit()
        self._edit = None
        for key in edit.before:
            edit.after[key] = self.coverage[self._tile_slices(key)].copy()
        return edit

    def dab_line(
        self,
        start: tuple[float, float],
        end: tuple[float, float],
        radius: float,
        hardness: float = 1.0,
        erase: bool = False,
    ) -> Rect | None:
        """Paint (or erase) a round brush dragged from ``start`` to ``end``; the changed rect.

        ``hardness`` 1 is a crisp edge; lower values fade the outer part of the radius.
        """
        h, w = self.shape
        r = max(0.5, float(radius))
        x0 = int(np.floor(min(start[0], end[0]) - r - 1))
        y0 = int(np.floor(min(start[1], end[1]) - r - 1))
        x1 = int(np.ceil(max(start[0], end[0]) + r + 2))
        y1 = int(np.ceil(max(start[1], end[1]) + r + 2))
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
        if x0 >= x1 or y0 >= y1:
            return None
        self._backup(x0, y0, x1, y1)
        dab = _capsule(start, end, r, hardness, x0, y0, x1, y1)
        region = self.coverage[y0:y1, x0:x1]
        if erase:
            np.minimum(region, 255 - dab, out=region)
        else:
            np.maximum(region, dab, out=region)
        return x0, y0, x1 - x0, y1 - y0

    def fill_rect(self, rect: Rect, erase: bool = False) -> Rect | None:
        h, w = self.shape
        x, y, rw, rh = rect
        x0, y0, x1, y1 = max(0, x), max(0, y), min(w, x + rw), min(h, y + rh)
        if x0 >= x1 or y0 >= y1:
            return None
        self._backup(x0, y0, x1, y1)
        self.coverage[y0:y1, x0:x1] = 0 if erase else 255
        return x0, y0, x1 - x0, y1 - y0

    def invert(self) -> Rect:
        h, w = self.shape
        self._backup(0, 0, w, h)
        np.subtract(255, self.coverage, out=self.coverage)
        return 0, 0, w, h

    def clear(self) -> Rect:
        h, w = self.shape
        self._backup(0, 0, w, h)
        self.coverage[:] = 0
        return 0, 0, w, h

    def load(self, selection: np.ndarray) -> Rect:
        """Replace the mask (a loaded mask image); the caller checked the size."""
        h, w = self.shape
        self._backup(0, 0, w, h)
        self.coverage[:] = np.where(selection, 255, 0).astype(np.uint8)
        return 0, 0, w, h

    # ------------------------------------------------------------------ history
    def apply(self, edit: MaskEdit, undo: bool) -> Rect | None:
        """Put back the tiles of ``edit`` as they were before (undo) or after (redo)."""
        tiles = edit.before if undo else edit.after
        if not tiles:
            return None
        for key, pixels in tiles.items():
            self.coverage[self._tile_slices(key)] = pixels
        ys = [k[0] for k in tiles]
        xs = [k[1] for k in tiles]
        h, w = self.shape
        y0, x0 = min(ys) * TILE, min(xs) * TILE
        y1, x1 = min(h, (max(ys) + 1) * TILE), min(w, (max(xs) + 1) * TILE)
        return x0, y0, x1 - x0, y1 - y0

    def _backup(self, x0: int, y0: int, x1: int, y1: int) -> None:
        if self._edit is None:
            return
        for ty in range(y0 // TILE, (y1 - 1) // TILE + 1):
            for tx in range(x0 // TILE, (x1 - 1) // TILE + 1):
                key = (ty, tx)
                if key not in self._edit.before:
                    self._edit.before[key] = self.coverage[self._tile_slices(key)].copy()

    def _tile_slices(self, key: tuple[int, int]) -> tuple[slice, slice]:
        ty, tx = key
        return slice(ty * TILE, (ty + 1) * TILE), slice(tx * TILE, (tx + 1) * TILE)


def _capsule(
    start: tuple[float, float], end: tuple[float, float], radius: float, hardness: float,
    x0: int, y0: int, x1: int, y1: int,
) -> np.ndarray:
    """Coverage (0–255) of a round brush swept along a segment, over [x0, x1) × [y0, y1)."""
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    ax, ay = float(start[0]), float(start[1])
    dx, dy = float(end[0]) - ax, float(end[1]) - ay
    length2 = dx * dx + dy * dy
    if length2 > 0:
        t = np.clip(((xx - ax) * dx + (yy - ay) * dy) / length2, 0.0, 1.0)
    else:
        t = np.zeros_like(xx)
    dist = np.hypot(xx - (ax + t * dx), yy - (ay + t * dy))
    hard = float(np.clip(hardness, 0.0, 1.0))
    inner = radius * hard
    if hard >= 1.0:
        alpha = (dist <= radius).astype(np.float32)
    else:
        alpha = np.clip((radius - dist) / max(radius - inner, 1e-6), 0.0, 1.0)
    return cv2.convertScaleAbs(alpha, alpha=255.0)
