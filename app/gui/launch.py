"""Opening the desktop window, or saying in one line why it cannot open here.

Qt aborts the process (no message worth reading, often a core dump) when its platform
plugin cannot load or there is no display, so ``app.gui.qt_platform`` checks first and
PySide6 is imported only after that check.
"""

from __future__ import annotations

import sys

EXIT_ERROR = 1


def launch(files: list[str]) -> int:
    """Open the desktop window on ``files``; return its exit code."""
    from app.gui import qt_platform

    problem = qt_platform.find_problem()
    if problem is not None:
        _error(problem)
        return EXIT_ERROR
    try:
        from app.gui.window import run_window
    except ImportError as exc:  # PySide6 itself misses a system library (libEGL, ...)
        message = qt_platform.import_error_message(exc)
        if message is None:
            raise
        _error(message)
        return EXIT_ERROR
    return run_window(files)


def _error(message: str) -> None:
    """One line on stderr, as the command line words its errors."""
    print(f"transfigure: error: {' '.join(message.split())}", file=sys.stderr)
    sys.stderr.flush()
