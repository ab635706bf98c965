"""Light and dark themes that follow the desktop, with a user override (View ▸ Theme).

Both themes are hand-made palettes on the Fusion style. Native Linux styles look different on
every desktop, and Fusion's own standard palette turns dark by itself when the desktop is
dark, so an explicit "Light" could not be honoured with it. A palette that sets every role in
every colour group looks the same everywhere and leaves nothing for the platform theme to
half-override later.

"system" asks Qt for the desktop's colour scheme first. Without a desktop portal (common on
Linux) Qt reports Unknown, so two cheap hints are tried before settling on light:
``GTK_THEME`` and GNOME's ``color-scheme`` setting. Live changes are followed only while
"system" is chosen and only when Qt reports them (the fallback hints are read once per call).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QToolTip

THEMES = ("system", "light", "dark")

Role = QPalette.ColorRole
Group = QPalette.ColorGroup

_FOLLOWER_NAME = "transfigure-theme-follower"
_GSETTINGS_TIMEOUT_S = 1.0

# Colours of the Active and Inactive groups. Inactive equals Active on purpose: a selection
# in an unfocused window (the canvas while a dock has focus) should stay as visible.
_LIGHT = {
    Role.Window: "#eeeeef",
    Role.WindowText: "#1d1d1f",
    Role.Base: "#ffffff",
    Role.AlternateBase: "#f4f4f6",
    Role.Text: "#1d1d1f",
    Role.PlaceholderText: "#8b8b90",
    Role.Button: "#e6e6e8",
    Role.ButtonText: "#1d1d1f",
    Role.BrightText: "#ffffff",
    Role.Light: "#ffffff",
    Role.Midlight: "#f6f6f7",
    Role.Mid: "#b9b9bd",
    Role.Dark: "#9e9ea3",
    Role.Shadow: "#6e6e73",
    Role.Highlight: "#2f6fd0",
    Role.HighlightedText: "#ffffff",
    Role.Accent: "#2f6fd0",
    Role.Link: "#1558c0",
    Role.LinkVisited: "#7a3fb8",
    Role.ToolTipBase: "#fafafa",
    Role.ToolTipText: "#1d1d1f",
}

# Disabled colours that differ from the Active ones: text loses most of its contrast so that
# greyed items (an engine that cannot run, in a combo box) read as unavailable at a glance.
_LIGHT_DISABLED = {
    Role.WindowText: "#a3a3a8",
    Role.Text: "#a3a3a8",
    Role.ButtonText: "#a3a3a8",
    Role.PlaceholderText: "#c2c2c6",
    Role.Base: "#f6f6f7",
    Role.Button: "#ececee",
    Role.Highlight: "#c4c4c8",
    Role.HighlightedText: "#f6f6f7",
    Role.Accent: "#c4c4c8",
    Role.Link: "#8aa6d6",
    Role.LinkVisited: "#b39bd0",
}

_DARK = {
    Role.Window: "#2b2b2f",
    Role.WindowText: "#e4e4e6",
    Role.Base: "#1e1e21",
    Role.AlternateBase: "#26262a",
    Role.Text: "#e4e4e6",
    Role.PlaceholderText: "#8e8e94",
    Role.Button: "#313135",
    Role.ButtonText: "#e4e4e6",
    Role.BrightText: "#ffffff",
    Role.Light: "#55555b",
    Role.Midlight: "#46464b",
    Role.Mid: "#26262a",
    Role.Dark: "#1a1a1d",
    Role.Shadow: "#0c0c0e",
    Role.Highlight: "#3a78d8",
    Role.HighlightedText: "#ffffff",
    Role.Accent: "#3a78d8",
    Role.Link: "#70a7ff",
    Role.LinkVisited: "#b891ff",
    Role.ToolTipBase: "#3b3b40",
    Role.ToolTipText: "#f0f0f2",
}

_DARK_DISABLED = {
    Role.WindowText: "#77777d",
    Role.Text: "#77777d",
    Role.ButtonText: "#77777d",
    Role.PlaceholderText: "#5c5c62",
    Role.Base: "#242428",
    Role.Button: "#2e2e32",
    Role.Highlight: "#47474d",
    Role.HighlightedText: "#a9a9ae",
    Role.Accent: "#47474d",
    Role.Link: "#5a6f8f",
    Role.LinkVisited: "#73678f",
}


# Menus draw their background from Base and their separators a shade darker. Dark fields
# (Base) are right for line edits and lists, but a menu on them hides its separators and
# melts into the window, so dark menus get a raised surface of their own.
_DARK_MENU = {Role.Base: "#38383d"}


def build_palette(scheme: str, *, menu: bool = False) -> QPalette:
    """The complete palette of ``scheme`` ("light" or "dark"), every role of every group set.

    ``menu`` gives the variant for popup menus (the same but for a raised dark surface).
    Returns a copy, so callers may adjust it without touching the shared one.
    """
    return QPalette(_palette(scheme, menu))


@functools.cache
def _palette(scheme: str, menu: bool) -> QPalette:
    """Built once per variant: the colours never change, and following the desktop re-applies."""
    if scheme == "light":
        normal, disabled = _LIGHT, _LIGHT_DISABLED
    elif scheme == "dark":
        normal, disabled = _DARK, _DARK_DISABLED
        if menu:
            normal, disabled = normal | _DARK_MENU, disabled | _DARK_MENU
    else:
        raise ValueError(f"unknown colour scheme {scheme!r}: expected 'light' or 'dark'")
    palette = QPalette()
    for role, colour in normal.items():
        palette.setColor(Group.Active, role, QColor(colour))
        palette.setColor(Group.Inactive, role, QColor(colour))
        palette.setColor(Group.Disabled, role, QColor(disabled.get(role, colour)))
    return palette


def is_dark(palette: QPalette) -> bool:
    """Whether ``palette`` is a dark one, for colours drawn by hand (canvas backdrop, overlays)."""
    return palette.color(Role.Window).lightness() < 128


def system_scheme() -> str:
    """The scheme the desktop prefers, "light" or "dark"; light when nothing says otherwise."""
    scheme = _qt_color_scheme()
    if scheme == Qt.ColorScheme.Dark:
        return "dark"
    if scheme == Qt.ColorScheme.Light:
        return "light"
    return "dark" if _desktop_hints_dark() else "light"


def apply_theme(app: QApplication, choice: str) -> str:
    """Apply ``choice`` (one of ``THEMES``) to ``app``; returns the scheme now shown.

    While ``choice`` is "system" the theme is re-applied whenever Qt reports that the
    desktop's colour scheme changed; an explicit "light" or "dark" stops that.
    """
    if choice not in THEMES:
        raise ValueError(f"unknown theme {choice!r}: expected one of {', '.join(THEMES)}")
    follower = _follower(app)
    follower.choice = choice
    with follower.applying():
        _request_qt_scheme(choice)
        scheme = system_scheme() if choice == "system" else choice
        if app.style().name().lower() != "fusion":
            app.setStyle("Fusion")  # resets the palette, so it comes before setPalette
        app.setPalette(build_palette(scheme))  # also drops the menus' palette of before
        app.setPalette(build_palette(scheme, menu=True), "QMenu")
        # Tooltips keep a palette of their own, which desktops' platform themes fill in.
        QToolTip.setPalette(build_palette(scheme))
    return scheme


class _SystemFollower(QObject):
    """Re-applies "system" when the desktop's scheme changes; one per application.

    A child of the application, so the connection to the style hints lives and dies with it.
    """

    def __init__(self, app: QApplication) -> None:
        super().__init__(app)
        self.setObjectName(_FOLLOWER_NAME)
        self.choice = "system"
        self._app = app
        self._applying = False
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._on_scheme_changed)

    @contextmanager
    def applying(self) -> Iterator[None]:
        """Ignore the change signals that applying a theme emits itself."""
        self._applying = True
        try:
            yield
        finally:
            self._applying = False

    def _on_scheme_changed(self, _scheme: Qt.ColorScheme) -> None:
        if self.choice == "system" and not self._applying:
            apply_theme(self._app, "system")


def _follower(app: QApplication) -> _SystemFollower:
    found = app.findChild(_SystemFollower, _FOLLOWER_NAME)
    return found if found is not None else _SystemFollower(app)


def _request_qt_scheme(choice: str) -> None:
    """Tell Qt (≥ 6.8) which scheme is wanted, so what it draws natively matches.

    Platforms that honour it (Windows and macOS title bars, native dialogs) then agree with
    the palette; elsewhere it is a no-op. "system" withdraws the request, which must happen
    before asking Qt what the desktop prefers.
    """
    hints = QGuiApplication.styleHints()
    if not hasattr(hints, "setColorScheme"):
        return
    if choice == "system":
        hints.unsetColorScheme()
    else:
        hints.setColorScheme(Qt.ColorScheme.Dark if choice == "dark" else Qt.ColorScheme.Light)


def _qt_color_scheme() -> Qt.ColorScheme:
    return QGuiApplication.styleHints().colorScheme()


def _desktop_hints_dark() -> bool:
    """Cheap hints for when Qt does not know: ``GTK_THEME`` ("Adwaita:dark"), then GNOME."""
    if "dark" in os.environ.get("GTK_THEME", "").lower():
        return True
    gsettings = shutil.which("gsettings")
    if gsettings is None:
        return False
    try:
        done = subprocess.run(
            [gsettings, "get", "org.gnome.desktop.interface", "color-scheme"],
            capture_output=True,
            text=True,
            timeout=_GSETTINGS_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0 and done.stdout.strip().strip("'\"") == "prefer-dark"
