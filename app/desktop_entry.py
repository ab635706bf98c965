"""Desktop integration on Linux: the application menu entry, its icon, "Open With".

``transfigure desktop install`` writes, under the user's XDG data folder (no root):

- ``applications/transfigure.desktop``: the menu entry, whose ``Exec`` runs this very
  installation (the ``transfigure`` script beside the running interpreter, so a venv or
  pipx install opens itself) with the files the file manager hands over (``%F``), and
  whose ``MimeType`` lists every image type Transfigure opens: that is what puts
  Transfigure in a file manager's "Open With" menu;
- the icon in every hicolor size the app ships, plus the scalable SVG;
- ``mimeinfo.cache`` refreshed with ``update-desktop-database`` when it is installed.

``--default`` also makes Transfigure the default application for those types in the
user's ``mimeapps.list`` (double-click opens it). Everything written is listed in a
manifest, so ``uninstall`` removes exactly that, and the default-application lines
only where they still name Transfigure. Writes are atomic; nothing outside the user's
XDG folders is touched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from engines.files import atomic_write
from engines.resources import icon_file

APP_ID = "transfigure"
DESKTOP_FILE = f"{APP_ID}.desktop"
MANIFEST = Path(APP_ID) / "desktop-install.txt"
# What Transfigure opens (engines.imageio.SUPPORTED_LOAD_EXTENSIONS), by MIME type.
MIME_TYPES = (
    "image/jpeg", "image/png", "image/webp", "image/tiff", "image/bmp", "image/gif",
    "image/heic", "image/heif", "image/x-portable-pixmap", "image/x-portable-graymap",
    "image/x-portable-bitmap", "image/x-portable-anymap", "image/x-tga",
)
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


@dataclass(frozen=True)
class Folders:
    """The user's XDG folders (``$XDG_DATA_HOME``, ``$XDG_CONFIG_HOME`` or their defaults)."""

    data: Path
    config: Path

    @classmethod
    def from_environment(cls) -> Folders:
        home = Path.home()
        return cls(Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share"),
                   Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config"))


def launcher() -> list[str]:
    """The command that starts this installation: its ``transfigure`` script when there
    is one beside the interpreter (venv, pipx, the .deb's bundle), else ``python -m app``."""
    frozen = getattr(sys, "frozen", False)
    if frozen:  # a PyInstaller bundle: the executable is the app
        return [sys.executable]
    script = Path(sys.executable).with_name("transfigure")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "app"]


def _exec_quote(argument: str) -> str:
    """Quote one argument of an ``Exec`` line as the Desktop Entry spec asks."""
    if not any(c in argument for c in ' \t\n"\'\\><~|&;$*?#()`%'):
        return argument
    escaped = argument.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`")
    escaped = escaped.replace("$", "\\$").replace("%", "%%")
    return f'"{escaped}"'


def desktop_entry(command: list[str]) -> str:
    """The ``.desktop`` file's text for ``command`` (the files are appended as ``%F``)."""
    exec_line = " ".join(_exec_quote(part) for part in command) + " %F"
    return "\n".join([
        "[Desktop Entry]",
        "Type=Application",
        "Version=1.4",
        "Name=Transfigure",
        "GenericName=Photo Editor",
        "Comment=Remove distractors, composite objects, translate and change expressions",
        f"Exec={exec_line}",
        f"TryExec={command[0]}",
        f"Icon={APP_ID}",
        "Terminal=false",
        "StartupNotify=true",
        f"StartupWMClass={APP_ID}",
        "Categories=Graphics;2DGraphics;RasterGraphics;Photography;",
        "Keywords=photo;retouch;inpainting;remove;composite;harmonize;expression;",
        "MimeType=" + ";".join(MIME_TYPES) + ";",
        "",
    ])


def install(folders: Folders | None = None, default: bool = False,
            command: list[str] | None = None) -> list[Path]:
    """Write the entry, the icons and (with ``default``) the default-application lines;
    returns the files written."""
    folders = folders or Folders.from_environment()
    written: list[Path] = []
    entry = folders.data / "applications" / DESKTOP_FILE
    _write_text(entry, desktop_entry(command or launcher()))
    written.append(entry)
    for size in ICON_SIZES:
        source = icon_file(size)
        if source.is_file():
            target = folders.data / "icons" / "hicolor" / f"{size}x{size}" / "apps" / source.name
            _copy(source, target)
            written.append(target)
    svg = icon_file()
    if svg.is_file():
        target = folders.data / "icons" / "hicolor" / "scalable" / "apps" / svg.name
        _copy(svg, target)
        written.append(target)
    if default:
        _set_defaults(folders.config / "mimeapps.list", MIME_TYPES)
    _write_text(folders.data / MANIFEST,
                "\n".join(str(p) for p in written) + ("\ndefault\n" if default else "\n"))
    _refresh(folders)
    return written


def uninstall(folders: Folders | None = None) -> list[Path]:
    """Remove what ``install`` wrote (by its manifest); returns the files removed."""
    folders = folders or Folders.from_environment()
    manifest = folders.data / MANIFEST
    listed = manifest.read_text(encoding="utf-8").splitlines() if manifest.is_file() else []
    paths = [Path(line) for line in listed if line and line != "default"]
    if not listed:  # installed by an older version or by hand: the known places
        paths = [folders.data / "applications" / DESKTOP_FILE]
        paths += [folders.data / "icons" / "hicolor" / f"{s}x{s}" / "apps" / f"{APP_ID}.png"
                  for s in ICON_SIZES]
        paths.append(folders.data / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg")
    removed = []
    for path in paths:
        if path.is_file() and _is_under(path, folders.data):
            path.unlink()
            removed.append(path)
    _unset_defaults(folders.config / "mimeapps.list")
    if manifest.is_file():
        manifest.unlink()
        removed.append(manifest)
        _remove_empty(manifest.parent)
    _refresh(folders)
    removed += _drop_caches_left_alone(folders)
    return removed


def _drop_caches_left_alone(folders: Folders) -> list[Path]:
    """The caches ``_refresh`` made, where nothing but them is left, and the folders
    install created that are now empty: an uninstall leaves nothing of ours behind."""
    removed = []
    applications = folders.data / "applications"
    cache = applications / "mimeinfo.cache"
    if cache.is_file() and not any(applications.glob("*.desktop")):
        cache.unlink()
        removed.append(cache)
    hicolor = folders.data / "icons" / "hicolor"
    icon_cache = hicolor / "icon-theme.cache"
    if icon_cache.is_file() and not any(p.is_file() for p in hicolor.glob("*/*/*")):
        icon_cache.unlink()
        removed.append(icon_cache)
    for size in (*(f"{s}x{s}" for s in ICON_SIZES), "scalable"):
        _remove_empty(hicolor / size / "apps")
        _remove_empty(hicolor / size)
    for folder in (hicolor, hicolor.parent, applications):
        _remove_empty(folder)
    return removed


def _is_under(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def _remove_empty(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not empty, or already gone
        folder.rmdir()


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda out: out.write(text.encode("utf-8")), sync=False)


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    data = source.read_bytes()
    atomic_write(target, lambda out: out.write(data), sync=False)


def _read_sections(path: Path) -> list[tuple[str, list[str]]]:
    sections: list[tuple[str, list[str]]] = []
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("[") and line.endswith("]"):
                sections.append((line[1:-1], []))
            elif sections:
                sections[-1][1].append(line)
            elif line.strip():
                sections.append(("", [line]))
    return sections


def _write_sections(path: Path, sections: Iterable[tuple[str, list[str]]]) -> None:
    lines: list[str] = []
    for name, body in sections:
        if name:
            lines.append(f"[{name}]")
        lines.extend(body)
    _write_text(path, "\n".join(lines).rstrip("\n") + "\n")


def _set_defaults(path: Path, mime_types: Iterable[str]) -> None:
    """Make Transfigure the default for ``mime_types``, keeping every other line."""
    sections = _read_sections(path)
    if not any(name == "Default Applications" for name, _ in sections):
        sections.append(("Default Applications", []))
    for name, body in sections:
        if name == "Default Applications":
            wanted = set(mime_types)
            body[:] = [line for line in body if line.split("=", 1)[0] not in wanted]
            body.extend(f"{mime}={DESKTOP_FILE}" for mime in mime_types)
    _write_sections(path, sections)


def _unset_defaults(path: Path) -> None:
    """Drop the default-application lines that name Transfigure (others stay)."""
    if not path.is_file():
        return
    sections = _read_sections(path)
    for name, body in sections:
        if name == "Default Applications":
            body[:] = [line for line in body if line.split("=", 1)[-1] != DESKTOP_FILE]
    sections = [(name, body) for name, body in sections if any(line.strip() for line in body)]
    if sections:
        _write_sections(path, sections)
    else:  # nothing but what install put there: the file goes too
        path.unlink()


def _refresh(folders: Folders) -> None:
    """Refresh the caches desktops read (when their tools are installed)."""
    tools = (["update-desktop-database", "-q", str(folders.data / "applications")],
             ["gtk-update-icon-cache", "-q", "-t", str(folders.data / "icons" / "hicolor")])
    for command in tools:
        if shutil.which(command[0]) and Path(command[-1]).is_dir():
            subprocess.run(command, check=False, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=60)
