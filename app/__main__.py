"""Entry point: ``transfigure`` (console script) and ``python -m app``.

It only chooses the front end: ``transfigure`` alone (or with a photo's path) opens the
desktop window (``app.gui``); ``transfigure COMMAND ...`` runs a command
(``app.cli``). Each front end is imported only when it is chosen.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Run Transfigure with ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if opens_window(args):
        from app.gui.launch import launch

        return launch([a for a in args if not a.startswith("-")])
    from app.cli import main as run_command

    return run_command(args)


def opens_window(argv: list[str]) -> bool:
    """No command: ``transfigure`` alone or ``transfigure PHOTO...`` (the desktop window).

    A first word that is a file, or looks like a path to one (``photo.jpg``, ``a/b``),
    opens the window even when it does not exist, so that the window says what is wrong
    with it; any other word is left to the command line ("invalid choice", exit 2).
    """
    flags = [a for a in argv if a.startswith("-")]
    if any(flag != "--debug" for flag in flags):
        return False
    positional = [a for a in argv if not a.startswith("-")]
    if not positional:
        return True
    path = Path(positional[0])
    if path.suffix or len(path.parts) > 1:
        return True  # no command has a dot or a slash: no need to build the command line
    from app.cli import command_names

    return positional[0] not in command_names() and path.is_file()


if __name__ == "__main__":
    sys.exit(main())
