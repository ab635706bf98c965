"""Toolbar icons: the desktop's icon theme when it has one, Qt's built-in ones otherwise.

Linux desktops without an icon theme (and Qt's offscreen platform) return empty theme
icons, which would leave bare words on the toolbar.
"""

from __future__ import annotations

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QStyle

SP = QStyle.StandardPixmap
FALLBACKS: dict[str, QStyle.StandardPixmap] = {
    "document-open": SP.SP_DialogOpenButton,
    "document-save": SP.SP_DialogSaveButton,
    "edit-undo": SP.SP_ArrowBack,
    "edit-redo": SP.SP_ArrowForward,
    "process-stop": SP.SP_BrowserStop,
}


def themed_icon(name: str) -> QIcon:
    """The freedesktop icon ``name``, or Qt's closest standard icon."""
    icon = QIcon.fromTheme(name)
    if icon.isNull() and name in FALLBACKS:
        icon = QApplication.style().standardIcon(FALLBACKS[name])
    return icon
