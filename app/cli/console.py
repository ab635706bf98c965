"""What every command shares on the terminal: exit codes, one-line messages, and
running work on a worker thread so that Ctrl-C cancels it cleanly.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from app.cli.progress_bar import ProgressBar
    from engines.base import CancelToken

PROG = "transfigure"

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_CANCELLED = 130

NOTHING_WRITTEN = "Cancelled; nothing was written."
DEBUG_HINT = "(run with --debug for the traceback)"

T = TypeVar("T")


class CommandError(Exception):
    """A refusal of the command line itself (not of an engine); printed as one line."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def error(message: str) -> None:
    print(f"{PROG}: error: {one_line(message)}", file=sys.stderr)
    sys.stderr.flush()


def say(message: str) -> None:
    print(message, file=sys.stderr)
    sys.stderr.flush()


def run_cancellable(
    work: Callable[[], T],
    cancel: CancelToken,
    tick: Callable[[], None] | None = None,
    interval: float = 0.1,
) -> T:
    """Run ``work`` on a worker thread so Ctrl-C reaches the main thread at once.

    ``tick`` runs on the main thread about every ``interval`` seconds (to redraw
    progress). On Ctrl-C the cancel token is set and the worker, which polls it, is given the
    time to stop cleanly; then ``Cancelled`` is raised. A second Ctrl-C stops waiting.
    """
    from engines.base import Cancelled

    outcome: dict[str, Any] = {}
    finished = threading.Event()

    def target() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # handed to the main thread
            outcome["error"] = exc
        finally:
            finished.set()

    # Waiting on an Event rather than Thread.join: a KeyboardInterrupt that lands inside
    # join() can leave the thread marked as stopped while it still runs (CPython 3.11).
    worker = threading.Thread(target=target, name="transfigure-worker", daemon=True)
    try:
        worker.start()  # inside the try: Ctrl-C may arrive while the thread starts
        while not finished.wait(interval):
            if tick is not None:
                tick()
    except KeyboardInterrupt:
        cancel.cancel()
        with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C stops the wait
            finished.wait()
        error = outcome.get("error")
        if isinstance(error, Cancelled):
            raise error from None
        raise Cancelled("Cancelled by the user.") from None
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def run_with_progress(
    bar: ProgressBar, tick: Callable[..., None], work: Callable[[CancelToken], T]
) -> T:
    """``work(cancel)`` on a worker while the main thread redraws ``bar`` through ``tick``.

    The bar is closed however the work ends; ``Cancelled`` reaches the caller, who says
    what was kept.
    """
    from engines.base import CancelToken

    cancel = CancelToken()
    tick()
    try:
        result = run_cancellable(lambda: work(cancel), cancel, tick)
        tick(force=True)
        return result
    finally:
        bar.finish()
