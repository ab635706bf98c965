"""Undo steps: a mask edit, or an operation's result replacing the photo."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtGui import QUndoCommand

from app.canvas.mask import MaskEdit
from app.canvas.view import CanvasView


class MaskCommand(QUndoCommand):
    """A finished brush stroke or box; it is already applied when pushed."""

    def __init__(self, canvas: CanvasView, edit: MaskEdit, text: str = "Paint mask") -> None:
        super().__init__(text)
        self._canvas, self._edit, self._first = canvas, edit, True

    def redo(self) -> None:
        if self._first:  # the stroke itself did the first redo
            self._first = False
            return
        self._apply(undo=False)

    def undo(self) -> None:
        self._apply(undo=True)

    def _apply(self, undo: bool) -> None:
        mask = self._canvas.mask
        if mask is not None:
            self._canvas.refresh_mask(mask.apply(self._edit, undo=undo))


class ImageCommand(QUndoCommand):
    """An operation's result: swaps whole photos (their arrays are kept, not copied)."""

    def __init__(
        self, show: Callable[[np.ndarray], None], before: np.ndarray, after: np.ndarray, text: str
    ) -> None:
        super().__init__(text)
        self._show, self._before, self._after = show, before, after

    def redo(self) -> None:
        self._show(self._after)

    def undo(self) -> None:
        self._show(self._before)
