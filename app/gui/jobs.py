"""Runs one engine job at a time on a QThread and feeds its progress to the window.

The worker never talks to widgets: it leaves the latest ``Progress`` in a slot, and a
timer on the GUI thread picks it up about ten times a second ("latest wins"). A slow
canvas therefore never slows the engine, and a fast engine never floods the event
loop with previews nobody will see.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, QTimer, Signal

from engines.base import Cancelled, CancelToken, EngineError, Progress, Report

Work = Callable[[Report, CancelToken], Any]

POLL_MS = 100  # how often the GUI thread looks at the worker's latest progress

# Workers still running. A QThread destroyed while it runs aborts the process, so a
# worker is kept alive here until its runner has seen it end, even if the runner (a
# closing dialog, a panel) is deleted first.
_RUNNING: set[QThread] = set()


class _Worker(QThread):
    """Runs ``work`` and keeps its outcome for the GUI thread."""

    def __init__(self, work: Work, cancel: CancelToken, report: Report) -> None:
        super().__init__()
        self._work, self._token, self._report = work, cancel, report
        self.result: Any = None
        self.error: BaseException | None = None
        self.trace = ""

    def run(self) -> None:  # noqa: D102 - QThread entry point
        try:
            self.result = self._work(self._report, self._token)
        except BaseException as exc:  # handed to the GUI thread, never lost on stderr
            self.error = exc
            self.trace = traceback.format_exc()


class JobRunner(QObject):
    """One job at a time; signals arrive on the GUI thread.

    ``progress(step, total, message, eta_seconds)`` (eta −1 while unknown),
    ``preview(image, box)`` with the engine's preview and its ``preview_box``,
    then exactly one of ``finished(result)``, ``failed(message, detail)`` or
    ``cancelled()``. ``busy_changed(bool)`` lets the window disable what would start
    another job.
    """

    progress = Signal(int, int, str, float)
    preview = Signal(object, object)
    finished = Signal(object)
    failed = Signal(str, str)
    cancelled = Signal()
    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._latest: Progress | None = None
        self._shown: Progress | None = None
        self._worker: _Worker | None = None
        self._token: CancelToken | None = None
        self._origin: tuple[float, float] | None = None  # (time, fraction) of the first report
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._poll)

    @property
    def busy(self) -> bool:
        return self._worker is not None

    def start(self, work: Work) -> bool:
        """Start ``work(report, cancel)``; False (and nothing started) while one runs."""
        if self.busy:
            return False
        self._token = CancelToken()
        self._latest = self._shown = None
        self._origin = None
        self._worker = _Worker(work, self._token, self._keep)
        _RUNNING.add(self._worker)
        self._worker.finished.connect(self._done)
        self._worker.start()
        self._timer.start()
        self.busy_changed.emit(True)
        return True

    def cancel(self) -> None:
        """Ask the job to stop; ``cancelled`` follows once the engine has let go."""
        if self._token is not None:
            self._token.cancel()

    def shutdown(self, timeout_ms: int = 5000) -> None:
        """Cancel and wait for the worker (closing the window during a job)."""
        worker = self._worker
        if worker is None:
            return
        self.cancel()
        worker.wait(timeout_ms)
        self._done()

    def _keep(self, progress: Progress) -> None:
        with self._lock:  # called on the worker thread: store only, never touch Qt
            self._latest = progress

    def _poll(self) -> None:
        with self._lock:
            latest = self._latest
        if latest is None or latest is self._shown:
            return
        self._shown = latest
        self.progress.emit(latest.step, latest.total, latest.message, self._eta(latest))
        if latest.preview is not None:
            self.preview.emit(latest.preview, latest.preview_box)

    def _eta(self, progress: Progress) -> float:
        now = (time.perf_counter(), progress.fraction)
        if self._origin is None:
            self._origin = now
        return remaining_seconds(self._origin, now)

    def _done(self) -> None:
        worker = self._worker
        if worker is None:
            return
        self._timer.stop()
        worker.wait()  # it has ended or is ending; dropping a running QThread would crash
        self._poll()  # the last progress and preview before the outcome
        self._worker = None
        _RUNNING.discard(worker)
        self.busy_changed.emit(False)
        error = worker.error
        if error is None:
            self.finished.emit(worker.result)
        elif isinstance(error, Cancelled):
            self.cancelled.emit()
        elif isinstance(error, EngineError):
            self.failed.emit(error.message, error.detail)
        else:
            self.failed.emit(
                f"Something went wrong: {type(error).__name__}: {error}", worker.trace
            )


def remaining_seconds(origin: tuple[float, float], now: tuple[float, float]) -> float:
    """Seconds left at the pace since ``origin``; −1 until 5 % of what remains is done.

    Both are (time, fraction done). The pace is measured from the first report, not
    from 0 %: a resumed training run starts at, say, 85 %, and counting that as work
    done in the first second promised the end far too soon.
    """
    (start, done_then), (at, done_now) = origin, now
    progressed = done_now - done_then
    if progressed < 0.05 * (1.0 - done_then) or progressed <= 0:
        return -1.0
    return (at - start) * (1.0 - done_now) / progressed
