"""Undo steps: a mask edit, or an operation's result replacing the photo."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtGui import QUndoCommand, QUndoStack

from app.gui.canvas.mask import MaskEdit, MaskLayer
from app.gui.canvas.view import CanvasView


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

    @property
    def layer(self) -> MaskLayer | None:
        """The layer this stroke was painted on (None: no layer was shown)."""
        return self._layer

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


def drop_layer_edits(history: QUndoStack, layer: MaskLayer) -> int:
    """Take the strokes on ``layer`` at the top of the undo history out of it.

    For a layer that is thrown away (a discarded translation's attention): its strokes
    would stay behind as undo steps that change nothing the user can see. Only the
    run of them on top goes (an older one sits under steps that may depend on it);
    they are undone on the dead layer, and the redo side is cut off as any new step
    would. Returns how many were dropped.
    """
    index = history.index()
    while index > 0 and getattr(history.command(index - 1), "layer", None) is layer:
        index -= 1
    dropped = history.index() - index
    if dropped:
        history.setIndex(index)
        cut = QUndoCommand("Drop strokes")
        cut.setObsolete(True)  # push() clears the redo side, then deletes it unpushed
        history.push(cut)
    return dropped
