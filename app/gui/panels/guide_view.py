"""The guide photo's canvas in the Composite panel: drag a box, refine with strokes.

It is the main canvas's widget with two differences: its box tool reports the box
instead of selecting it, and photos dropped on it become the guide (not the photo
being edited, which is what a drop on the window means).
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QWidget

from app.gui.canvas.view import CanvasView
from app.gui.drops import accept_files, dropped_file


class GuideView(CanvasView):
    """``file_dropped(path)`` when the user drops a photo here."""

    file_dropped = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.tool = "select"
        self.setMinimumHeight(220)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt API
        accept_files(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802 - Qt API
        accept_files(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt API
        path = dropped_file(event)
        if path is not None:
            self.file_dropped.emit(path)
