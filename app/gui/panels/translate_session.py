"""A translation waiting to be applied: the photo, G0(x), A(x) and the user's edits of A.

The engine's attention is float; the brush paints a 0–255 coverage layer (the canvas's
own mask machinery, so one brush with its size, hardness and undo serves both). The
edited attention takes the brush's value only where a stroke changed the coverage and
keeps the engine's exact float everywhere else: an untouched pixel composites exactly
as the engine did, and an erased one (coverage 0) is the photo's own value, bit for bit.

No Qt here: the panel shows what this computes.
"""

from __future__ import annotations

import numpy as np

from app.gui.canvas.mask import MaskLayer, Rect
from app.gui.document import Document
from engines.translate.engine import composite


def to_coverage(attention: np.ndarray) -> np.ndarray:
    """A in [0, 1] as the brush's 0–255 coverage."""
    return np.rint(np.clip(attention, 0.0, 1.0) * 255).astype(np.uint8)


class TranslateSession:
    """One translation result of one photo, with its editable attention and composite.

    ``photo`` is the very array the document held when the translation ran: the panel
    recognises by identity that an undo has brought that photo back, and offers the
    result (with its edits) again.
    """

    def __init__(self, document: Document, photo: np.ndarray, initial: np.ndarray,
                 attention: np.ndarray, result: np.ndarray, model: str) -> None:
        h, w = photo.shape[:2]
        self.document = document
        self.photo = photo
        self.initial = initial
        self.model = model
        self._engine_attention = attention
        self.layer = MaskLayer(h, w, label="attention")
        self.layer.coverage[:] = to_coverage(attention)
        self._start = self.layer.coverage.copy()
        self.result = result  # A·G0 + (1 − A)·x with the edited A, kept up to date by update()

    def attention(self, rect: Rect | None = None) -> np.ndarray:
        """The edited A (float32) over ``rect`` (the whole photo when None)."""
        x, y, w, h = rect or (0, 0, self.layer.shape[1], self.layer.shape[0])
        rows, cols = slice(y, y + h), slice(x, x + w)
        now, start = self.layer.coverage[rows, cols], self._start[rows, cols]
        painted = now != start
        engine = self._engine_attention[rows, cols]
        if not painted.any():
            return engine
        return np.where(painted, now.astype(np.float32) * np.float32(1 / 255), engine)

    def update(self, rect: Rect | None = None) -> np.ndarray:
        """Recomposite ``rect`` after the attention changed there; returns that part."""
        x, y, w, h = rect or (0, 0, self.layer.shape[1], self.layer.shape[0])
        rows, cols = slice(y, y + h), slice(x, x + w)
        part = composite(self.photo[rows, cols], self.initial[rows, cols],
                         self.attention((x, y, w, h)))
        self.result[rows, cols] = part
        return part

    @property
    def edited(self) -> bool:
        """Whether the user changed the attention at all."""
        return not np.array_equal(self.layer.coverage, self._start)
