"""Preflight for the desktop window: find out, before Qt does, that it cannot open one.

Why: when Qt's X11 platform plugin (xcb) cannot load (since Qt 6.5 it needs
``libxcb-cursor0``, which many minimal and older installations lack) or there is no
display, creating ``QApplication`` prints a few ``qt.qpa`` lines that do not say which
package to install and then aborts the process (SIGABRT, exit 134, often a core dump).
This module repeats the part of Qt's start-up that fails in those cases, in a few
milliseconds and without importing PySide6, and turns the failure into one paragraph
that names the package to install.

It must never stop a window that Qt would have opened: it only speaks when Qt would
try xcb and nothing else, and only about failures that Qt cannot get past either (a
library that is not there at all, no ``DISPLAY``, an X server that refuses the
connection). Everything else (Wayland, offscreen, a plugin path of the user's own, an
error it does not recognise) is left to Qt.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

Loader = Callable[[str], object]
"""Loads a shared library by path or soname and raises OSError with the loader's message
(``ctypes.CDLL``); tests pass a fake one."""

Connector = Callable[[str], str | None]
"""Connects to an X display by name; returns why it failed, or None when it worked."""

OFFSCREEN_HINT = (
    "To run it without a display (tests, servers), set QT_QPA_PLATFORM=offscreen; the "
    "command-line commands (transfigure remove, engines, weights) need no display at all."
)

# The libraries that Qt 6's xcb plugin and the Qt libraries under it load from the system
# (ldd libqxcb.so in PySide6 6.12, less glibc's and compression libraries), with the
# Debian/Ubuntu package and the Fedora package providing each. When one is missing, all
# of them are tried, so every entry must be one that the plugin really needs.
PACKAGES: dict[str, tuple[str, str]] = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libXau.so.6": ("libxau6", "libXau"),
    "libXdmcp.so.6": ("libxdmcp6", "libXdmcp"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libGLX.so.0": ("libglx0", "libglvnd-glx"),
    "libGLdispatch.so.0": ("libglvnd0", "libglvnd"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libgthread-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
}

# "libxcb-cursor.so.0: cannot open shared object file: No such file or directory": the
# dynamic loader's words for a library that is nowhere on the search path. Other errors
# (a wrong version, an undefined symbol) are not recognised: Qt, which loads plugins
# lazily, may get past them, so they are left to it.
_MISSING = re.compile(r"([^\s:/]+\.so(?:\.[\w.]+)?): cannot open shared object file")


# ---------------------------------------------------------------------------- checks


def find_problem(
    env: Mapping[str, str] | None = None,
    *,
    system: str | None = None,
    loader: Loader | None = None,
    plugin: Path | None = None,
    connect: Connector | None = None,
) -> str | None:
    """Why the desktop window cannot open here, in one paragraph; None when it may.

    Every argument defaults to the real thing (``os.environ``, ``sys.platform``,
    ``ctypes.CDLL``, PySide6's ``libqxcb.so``, a real X connection); tests pass their own.
    """
    env = os.environ if env is None else env
    system = sys.platform if system is None else system
    if not system.startswith("linux") or platforms_to_try(env) != ["xcb"]:
        return None
    problems = []
    display = env.get("DISPLAY", "")
    if not display:
        problems.append(no_display_message(env))
    if not env.get("QT_QPA_PLATFORM_PLUGIN_PATH"):  # a plugin of the user's: not ours to judge
        plugin = xcb_plugin() if plugin is None else plugin
        if plugin is not None:
            missing = missing_libraries(plugin, loader or load_library)
            if missing:
                problems.append(missing_message(missing))
    if display and not problems:
        reason = (connect or connect_x11)(display)
        if reason:
            problems.append(
                f"The desktop window cannot connect to the X display {display!r} "
                f"(DISPLAY): {reason}. Check that the X server runs and that this user "
                "may use it (after sudo or su, XAUTHORITY may be missing; over SSH, "
                "connect with ssh -X)."
            )
    if not problems:
        return None
    return " ".join([*problems, OFFSCREEN_HINT])


def platforms_to_try(env: Mapping[str, str]) -> list[str]:
    """The platform plugins Qt 6 tries, in order, as ``QGuiApplication`` chooses them.

    ``QT_QPA_PLATFORM`` (a ``;``-separated list, each entry ``name:arguments``) wins;
    otherwise Qt 6 (``createPlatformIntegration``) puts wayland first when WAYLAND_DISPLAY
    is set or XDG_SESSION_TYPE is "wayland", then xcb (its default, with or without
    DISPLAY). Qt falls back along the list, so only a list of xcb alone can be judged.
    """
    chosen = env.get("QT_QPA_PLATFORM", "")
    if chosen:
        names = [entry.split(":", 1)[0].strip() for entry in chosen.split(";")]
        return [name for name in names if name]
    names = []
    if env.get("WAYLAND_DISPLAY") or env.get("XDG_SESSION_TYPE") == "wayland":
        names.append("wayland")
    names.append("xcb")
    return names


def xcb_plugin() -> Path | None:
    """PySide6's ``libqxcb.so``, found without importing PySide6; None if not there."""
    try:
        spec = importlib.util.find_spec("PySide6")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
        if path.is_file():
            return path
    return None  # another layout (a distribution's PySide6): Qt knows best


def missing_libraries(plugin: Path, loader: Loader) -> list[str]:
    """The sonames the plugin needs that are not installed, in the order Qt needs them.

    Loading the plugin is what Qt does first; it costs nothing extra, since the same
    libraries load again when Qt opens the plugin. The loader names only the first
    library it misses, so on failure every known one is tried too, to name them all.
    """
    first = _load_error(loader, str(plugin))
    if first is None:
        return []
    missing = []
    for soname in PACKAGES:
        found = _load_error(loader, soname)
        if found is not None and found not in missing:
            missing.append(found)
    if first not in missing:
        missing.insert(0, first)
    return missing


def _load_error(loader: Loader, name: str) -> str | None:
    """The missing library that stops ``name`` loading; None if it loads (or fails for
    another reason, which is Qt's to report)."""
    try:
        loader(name)
    except OSError as exc:
        return missing_from_message(str(exc))
    return None


def missing_from_message(message: str) -> str | None:
    """The soname in a loader's "cannot open shared object file" message, else None."""
    match = _MISSING.search(message)
    return match.group(1) if match else None


def load_library(name: str) -> object:
    return ctypes.CDLL(name)


def connect_x11(display: str) -> str | None:
    """Open and close an X connection the way Qt's xcb plugin does; why it failed, or None.

    Qt aborts when it cannot connect ("could not connect to display"), so asking first
    costs one round trip to the X server and saves the user a core dump.
    """
    try:
        xcb = ctypes.CDLL("libxcb.so.1")
    except OSError:
        return None  # already reported as a missing library, or Qt's to report
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    connection = xcb.xcb_connect(display.encode(), None)
    if not connection:
        return "the connection failed"
    try:
        code = xcb.xcb_connection_has_error(connection)
    finally:
        xcb.xcb_disconnect(connection)
    if code == 0:
        return None
    reasons = {
        1: "no X server answers there, or it refused this user",
        5: "that is not a valid display name",
        6: "that display has no such screen",
    }
    return reasons.get(code, f"xcb error {code}")


# -------------------------------------------------------------------------- messages


def no_display_message(env: Mapping[str, str]) -> str:
    if env.get("QT_QPA_PLATFORM"):
        why = "QT_QPA_PLATFORM asks for X11 (xcb) and DISPLAY is not set"
    else:
        why = "neither DISPLAY (X11) nor WAYLAND_DISPLAY (Wayland) is set"
    return (
        f"The desktop window needs a display and there is none: {why}. Start it from a "
        "desktop session (over SSH, connect with ssh -X)."
    )


def missing_message(missing: list[str], needs: str = "Qt's X11 platform plugin (xcb)") -> str:
    """One paragraph: what is missing and the install commands for Debian/Ubuntu and Fedora."""
    names = _join(missing)
    verb = "is" if len(missing) == 1 else "are"
    text = (
        f"The desktop window cannot start: {needs} needs {names}, which {verb} not installed."
    )
    debian = _unique(PACKAGES[lib][0] for lib in missing if lib in PACKAGES)
    fedora = _unique(PACKAGES[lib][1] for lib in missing if lib in PACKAGES)
    unknown = [lib for lib in missing if lib not in PACKAGES]
    if debian:
        text += f" On Debian or Ubuntu: sudo apt-get install {' '.join(debian)}"
        text += "; on Fedora: " + f"sudo dnf install {' '.join(fedora)}."
    if unknown:
        text += (
            f" Install your distribution's package providing {_join(unknown)}"
            " (or reinstall PySide6 if it is one of Qt's own libraries)."
        )
    elif debian:
        text += f" Elsewhere, install your distribution's packages providing {names}."
    return text


def import_error_message(exc: ImportError) -> str | None:
    """The same advice when importing PySide6 itself fails on a missing system library
    (libEGL, libfontconfig, ...), which happens on every platform, offscreen included."""
    missing = missing_from_message(str(exc))
    if missing is None:
        return None
    return missing_message([missing], needs="Qt (PySide6)")


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _join(items: list[str]) -> str:
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
