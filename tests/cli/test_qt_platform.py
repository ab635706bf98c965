"""The preflight before the desktop window (``app.gui.qt_platform``): a missing system library
or a missing display becomes one clear paragraph and exit 1 instead of Qt's abort, and
nothing is said where Qt would manage (offscreen, Wayland, a working X11 setup).

The loader, the X connection and the environment are injected; one test at the end
hides a real library from a real process, where the machine allows it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import types
from collections.abc import Callable
from pathlib import Path

import pytest

from app.__main__ import main
from app.gui import qt_platform

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = Path("/opt/PySide6/Qt/plugins/platforms/libqxcb.so")
CURSOR_ERROR = "libxcb-cursor.so.0: cannot open shared object file: No such file or directory"
on_linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")


def loader_missing(*sonames: str) -> Callable[[str], object]:
    """A loader on a machine without ``sonames``: the plugin fails on the first of them,
    and each is missing when asked for by name. Records what it was asked to load."""

    def load(name: str) -> object:
        load.calls.append(name)  # type: ignore[attr-defined]
        if name == str(PLUGIN) and sonames:
            raise OSError(f"{sonames[0]}: cannot open shared object file: No such file")
        if name in sonames:
            raise OSError(f"{name}: cannot open shared object file: No such file or directory")
        return object()

    load.calls = []  # type: ignore[attr-defined]
    return load


def connected(display: str) -> str | None:
    return None


def refused(display: str) -> str | None:
    return "no X server answers there, or it refused this user"


def problem(env: dict[str, str], loader: Callable[[str], object] | None = None,
            connect: Callable[[str], str | None] = connected) -> str | None:
    return qt_platform.find_problem(
        env, system="linux", loader=loader or loader_missing(), plugin=PLUGIN, connect=connect
    )


# ------------------------------------------------------------------ which platform


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, ["xcb"]),
        ({"DISPLAY": ":0"}, ["xcb"]),
        ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, ["wayland", "xcb"]),
        ({"XDG_SESSION_TYPE": "wayland"}, ["wayland", "xcb"]),
        ({"XDG_SESSION_TYPE": "x11", "DISPLAY": ":0"}, ["xcb"]),
        ({"QT_QPA_PLATFORM": "offscreen", "DISPLAY": ":0"}, ["offscreen"]),
        ({"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "wayland-0"}, ["xcb"]),
        ({"QT_QPA_PLATFORM": "wayland;xcb"}, ["wayland", "xcb"]),
        ({"QT_QPA_PLATFORM": "xcb:nograb"}, ["xcb"]),
        ({"QT_QPA_PLATFORM": ""}, ["xcb"]),  # empty counts as unset, as in Qt
    ],
)
def test_platforms_qt_would_try(env: dict[str, str], expected: list[str]) -> None:
    assert qt_platform.platforms_to_try(env) == expected


# ------------------------------------------------------------------ silent when fine


def test_a_working_setup_passes() -> None:
    load = loader_missing()
    assert problem({"DISPLAY": ":0"}, load) is None
    assert load.calls == [str(PLUGIN)]  # the fast path loads the plugin and nothing else


@pytest.mark.parametrize(
    "env",
    [
        {"QT_QPA_PLATFORM": "offscreen"},
        {"QT_QPA_PLATFORM": "minimal"},
        {"QT_QPA_PLATFORM": "xcb;offscreen"},  # Qt falls back by itself
        {"WAYLAND_DISPLAY": "wayland-0"},
        {"XDG_SESSION_TYPE": "wayland", "DISPLAY": ":0"},
        {"DISPLAY": ":0", "QT_QPA_PLATFORM_PLUGIN_PATH": "/somewhere/else"},
    ],
)
def test_nothing_said_where_qt_goes_another_way(env: dict[str, str]) -> None:
    load = loader_missing("libxcb-cursor.so.0")
    connect = refused if "QT_QPA_PLATFORM_PLUGIN_PATH" not in env else connected
    assert problem(env, load, connect) is None
    assert load.calls == []


def test_other_platforms_than_linux_are_not_checked() -> None:
    found = qt_platform.find_problem(
        {}, system="darwin", loader=loader_missing("libxcb-cursor.so.0"), plugin=PLUGIN,
        connect=refused,
    )
    assert found is None


def test_errors_it_does_not_recognise_are_left_to_qt() -> None:
    def load(name: str) -> object:
        raise OSError(f"{name}: undefined symbol: xcb_something_new")

    assert problem({"DISPLAY": ":0"}, load) is None


# ------------------------------------------------------------------ missing libraries


def test_missing_xcb_cursor_names_the_package() -> None:
    text = problem({"DISPLAY": ":0"}, loader_missing("libxcb-cursor.so.0"))
    assert text is not None
    assert "libxcb-cursor.so.0" in text
    assert "sudo apt-get install libxcb-cursor0" in text
    assert "sudo dnf install xcb-util-cursor" in text
    assert "QT_QPA_PLATFORM=offscreen" in text
    assert "\n" not in text


def test_every_missing_library_is_named_at_once() -> None:
    text = problem(
        {"DISPLAY": ":0"},
        loader_missing("libxcb-icccm.so.4", "libxcb-cursor.so.0", "libxkbcommon-x11.so.0"),
    )
    assert text is not None
    assert "apt-get install libxcb-cursor0 libxcb-icccm4 libxkbcommon-x11-0" in text
    assert "dnf install xcb-util-cursor xcb-util-wm libxkbcommon-x11" in text


def test_a_library_without_a_known_package() -> None:
    text = problem({"DISPLAY": ":0"}, loader_missing("libfancy.so.3"))
    assert text is not None
    assert "package providing libfancy.so.3" in text
    assert "apt-get" not in text


def test_libraries_of_pyside6_itself() -> None:
    error = ImportError("libEGL.so.1: cannot open shared object file: No such file or directory")
    text = qt_platform.import_error_message(error)
    assert text is not None and "sudo apt-get install libegl1" in text and "Qt (PySide6)" in text
    assert qt_platform.import_error_message(ImportError("No module named 'PySide6'")) is None


# ------------------------------------------------------------------ no display


def test_no_display() -> None:
    text = problem({})
    assert text is not None
    assert "needs a display" in text and "DISPLAY" in text and "WAYLAND_DISPLAY" in text
    assert "QT_QPA_PLATFORM=offscreen" in text


def test_no_display_and_a_missing_library_are_both_said() -> None:
    text = problem({}, loader_missing("libxcb-cursor.so.0"))
    assert text is not None and "needs a display" in text and "libxcb-cursor0" in text


def test_a_display_that_does_not_answer() -> None:
    text = problem({"DISPLAY": ":42"}, connect=refused)
    assert text is not None and "':42'" in text and "no X server answers" in text


# ------------------------------------------------------------------ through the CLI


@pytest.fixture
def linux_x11(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """A Linux X11 environment whose libraries and display the test decides; the window
    must not be reached (``app.gui.window`` fails the test if it is)."""
    for name in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE",
                 "QT_QPA_PLATFORM_PLUGIN_PATH", "DISPLAY"):
        monkeypatch.delenv(name, raising=False)

    def run_window(files: list[str]) -> int:
        raise AssertionError("the window must not start")

    monkeypatch.setitem(sys.modules, "app.gui.window", types.SimpleNamespace(run_window=run_window))
    monkeypatch.setattr(qt_platform, "xcb_plugin", lambda: PLUGIN)
    monkeypatch.setattr(qt_platform, "connect_x11", connected)

    def setup(display: str | None, *missing: str) -> None:
        if display is not None:
            monkeypatch.setenv("DISPLAY", display)
        monkeypatch.setattr(qt_platform, "load_library", loader_missing(*missing))

    return setup


@on_linux
def test_launch_window_with_libxcb_cursor_missing_exits_1(
    linux_x11: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    linux_x11(":0", "libxcb-cursor.so.0")
    assert main([]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("transfigure: error: ")
    assert "sudo apt-get install libxcb-cursor0" in lines[0]


@on_linux
def test_launch_window_without_a_display_exits_1(
    linux_x11: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    linux_x11(None)
    assert main([]) == 1
    err = capsys.readouterr().err
    assert err.startswith("transfigure: error: ") and "needs a display" in err


# ------------------------------------------------------------------ a real process


def _library_folder(soname: str) -> Path | None:
    for folder in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64",
                   "/usr/lib"):
        path = Path(folder) / soname
        if path.exists():
            return path.resolve().parent
    return None


@on_linux
def test_a_really_missing_library_in_a_real_process(tmp_path: Path) -> None:
    """Hide libxcb-cursor from one process (an overlay with whiteouts over the library
    folder, in a private mount namespace: the rest of the machine still sees it) and run
    ``python -m app`` there. LD_LIBRARY_PATH could not do this: it adds folders, it
    cannot take a system library away. Needs root, unshare and overlayfs; skipped
    elsewhere."""
    folder = _library_folder("libxcb-cursor.so.0")
    if os.geteuid() != 0 or shutil.which("unshare") is None or folder is None:
        pytest.skip("needs root, unshare and an installed libxcb-cursor")
    if qt_platform.xcb_plugin() is None:
        pytest.skip("PySide6's xcb plugin is not where the check looks")
    upper, work = tmp_path / "upper", tmp_path / "work"
    upper.mkdir()
    work.mkdir()
    for entry in folder.glob("libxcb-cursor.so*"):
        os.mknod(upper / entry.name, 0o600 | 0o020000, os.makedev(0, 0))  # whiteout
    env = {k: v for k, v in os.environ.items()
           if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE")}
    env.update(DISPLAY=":0", PYTHONPATH=str(ROOT))
    script = (
        f"mount -t overlay overlay -o lowerdir={folder},upperdir={upper},workdir={work} "
        f"{folder} || exit 77; exec {sys.executable} -m app"
    )
    proc = subprocess.run(["unshare", "-m", "sh", "-c", script], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    if proc.returncode == 77 or "unshare:" in proc.stderr:
        pytest.skip(f"cannot mount an overlay here: {proc.stderr.strip()[:200]}")
    assert proc.returncode == 1, proc.stderr
    assert "sudo apt-get install libxcb-cursor0" in proc.stderr
    assert "Aborted" not in proc.stderr and "qt.qpa" not in proc.stderr
