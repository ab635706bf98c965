"""A one-line progress bar for the command line, redrawn in place with carriage returns.

It is drawn only on a terminal: when stderr is a file or a pipe (scripts, CI logs) the
bar stays silent, so a successful command prints nothing there. Redraws are throttled,
and every line is cut to the terminal's width because a wrapped line cannot be
redrawn with ``\\r``.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
import time
from collections.abc import Callable
from typing import TextIO

BAR_WIDTH = 24


def format_elapsed(seconds: float) -> str:
    """``0:07``, ``12:34`` or ``1:02:03``."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def render(
    fraction: float, counter: str, message: str, elapsed: float, width: int
) -> str:
    """One line: ``[#####.....]  45%  12/27  message  0:03``, at most ``width`` characters."""
    fraction = min(1.0, max(0.0, fraction))
    filled = int(round(fraction * BAR_WIDTH))
    bar = "[" + "#" * filled + "." * (BAR_WIDTH - filled) + "]"
    head = f"{bar} {fraction * 100:3.0f}%"
    if counter:
        head += f"  {counter}"
    tail = f"  {format_elapsed(elapsed)}"
    room = width - len(head) - len(tail) - 2
    if message and room > 3:
        if len(message) > room:
            message = message[: room - 1] + "…"
        return f"{head}  {message}{tail}"
    return (head + tail)[:width]


class ProgressBar:
    """Draws progress on ``stream`` when it is a terminal (or when ``enabled`` says so)."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        enabled: bool | None = None,
        width: int | None = None,
        min_interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = sys.stderr if stream is None else stream
        if enabled is None:
            isatty = getattr(self.stream, "isatty", None)
            enabled = bool(isatty and isatty())
        self.enabled = enabled
        self._width = width
        self._min_interval = min_interval
        self._clock = clock
        self._started = clock()
        self._last_draw: float | None = None
        self._last_len = 0
        self._last_line = ""
        self._drawn = False

    @property
    def elapsed(self) -> float:
        return self._clock() - self._started

    def width(self) -> int:
        if self._width is not None:
            return self._width
        try:  # the terminal stderr is on (stdout may be redirected to a file)
            columns = os.get_terminal_size(self.stream.fileno()).columns
        except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
            columns = 0
        if columns <= 0:
            columns = shutil.get_terminal_size((80, 24)).columns
        return max(20, columns - 1)

    def update(
        self, fraction: float, counter: str = "", message: str = "", *, force: bool = False
    ) -> None:
        """Redraw, at most every ``min_interval`` seconds unless ``force``."""
        if not self.enabled:
            return
        now = self._clock()
        if (
            not force
            and self._last_draw is not None
            and now - self._last_draw < self._min_interval
        ):
            return
        self._last_draw = now
        line = render(fraction, counter, message, now - self._started, self.width())
        if line == self._last_line:
            return
        self._last_line = line
        pad = " " * max(0, self._last_len - len(line))
        self.stream.write("\r" + line + pad)
        self.stream.flush()
        self._last_len = len(line)
        self._drawn = True

    def finish(self) -> None:
        """End the bar's line so what follows starts on a fresh one."""
        if self.enabled and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False
