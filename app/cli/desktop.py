"""``transfigure desktop install|uninstall``: the application menu entry, icons and
"Open With" on Linux desktops (``app.desktop_entry`` does the work)."""

from __future__ import annotations

import argparse
import sys

from app.cli.console import EXIT_OK, say


def add_commands(commands, common: argparse.ArgumentParser) -> None:
    """``desktop`` (called by ``app.cli.main.build_parser``)."""
    desktop = commands.add_parser(
        "desktop", parents=[common],
        help="add Transfigure to the application menu and to Open With (Linux)",
        description=(
            "install: write the menu entry, the icons and the image types Transfigure "
            "opens under your XDG data folder (~/.local/share), so that it is in the "
            "application menu and in your file manager's Open With. uninstall: remove "
            "exactly what install wrote. Nothing needs root."
        ),
    )
    actions = desktop.add_subparsers(dest="action", metavar="ACTION", required=True)
    install = actions.add_parser("install", parents=[common], help="add the entry")
    install.add_argument("--default", action="store_true",
                         help="also make Transfigure the default application for photos "
                              "(double-click opens it)")
    install.set_defaults(handler=cmd_install)
    uninstall = actions.add_parser("uninstall", parents=[common], help="remove the entry")
    uninstall.set_defaults(handler=cmd_uninstall)


def _linux_only() -> None:
    from engines.base import InvalidInput

    if not sys.platform.startswith("linux"):
        raise InvalidInput("Desktop integration is for Linux desktops (freedesktop.org); "
                           "on this system use the installer's shortcuts.")


def cmd_install(args: argparse.Namespace) -> int:
    from app import desktop_entry

    _linux_only()
    written = desktop_entry.install(default=args.default)
    entry = written[0]
    say(f"Installed {entry} and {len(written) - 1} icons; Transfigure is in the "
        "application menu and in Open With for photos"
        + (", and opens them by default." if args.default else "."))
    return EXIT_OK


def cmd_uninstall(args: argparse.Namespace) -> int:
    from app import desktop_entry

    _linux_only()
    removed = desktop_entry.uninstall()
    say(f"Removed {len(removed)} files." if removed else "Nothing to remove: the desktop "
        "entry was not installed.")
    return EXIT_OK
