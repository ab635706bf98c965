"""Icons: the app's own (``resources/icons``), and toolbar icons from the desktop's theme.

Linux desktops without an icon theme (and Qt's offscreen platform) return empty theme
icons, which would leave bare words on the toolbar: Qt's built-in ones stand in.
"""

from __future__ import annotations

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QStyle

from engines.resources import icon_file

APP_ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)

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


def app_icon() -> QIcon:
    """Transfigure's icon at every size it was drawn for (window, taskbar, dialogs).

    The rendered PNGs, not the SVG: the smallest sizes are drawn separately to stay
    legible, and Qt needs no SVG plugin to show them.
    """
    icon = QIcon()
    for size in APP_ICON_SIZES:
        path = icon_file(size)
        if path.is_file():
            icon.addFile(str(path))
    return icon
