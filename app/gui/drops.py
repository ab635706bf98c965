"""Photos dropped from a file manager: the window, the face wells and the guide view
take them the same way (the first local file of the drop)."""

from __future__ import annotations

from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent


def accept_files(event: QDragEnterEvent | QDragMoveEvent) -> None:
    """Let a drag that carries files in (Qt refuses the drop otherwise)."""
    if event.mimeData().hasUrls():
        event.acceptProposedAction()


def dropped_file(event: QDropEvent) -> str | None:
    """The path of the first local file dropped, the drop accepted; None when none is."""
    urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
    if not urls:
        return None
    event.acceptProposedAction()
    return urls[0].toLocalFile()
