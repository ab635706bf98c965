"""Undo steps: a mask edit, or an operation's result replacing the photo."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtGui import QUndoCommand

from app.canvas.mask import MaskEdit
from app.canvas.view import CanvasView


class MaskCommand(QUndoCommand):
    """A finished brush stroke or box; it is already applied when pushed.

    It belongs to the layer the canvas was painting when it was made (the selection,
    or a layer a panel lent, such as Translate's attention map) and always undoes
    there, whichever layer is shown by then.
    """

    def __init__(self, canvas: CanvasView, edit: MaskEdit, text: str | None = None) -> None:
        layer = canvas.layer
        super().__init__(text or f"Paint {layer.label if layer is not None else 'mask'}")
        self._canvas, self._layer, self._edit, self._first = canvas, layer, edit, True

    def redo(self) -> None:
        if self._first:  # the stroke itself did the first redo
            self._first = False
            return
        self._apply(undo=False)

    def undo(self) -> None:
        self._apply(undo=True)

    def _apply(self, undo: bool) -> None:
        layer = self._layer
        if layer is None:
            return
        changed = layer.apply(self._edit, undo=undo)
        if layer is self._canvas.layer:
            self._canvas.refresh_mask(changed)


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
