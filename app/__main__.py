"""Entry point: ``transfigure`` (console script) and ``python -m app``.

``transfigure remove|engines|weights ...`` runs a command-line command; ``transfigure``
alone (or with a photo's path) opens the desktop window. See ``app.cli``.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Run Transfigure with ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
    from app import cli

    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
