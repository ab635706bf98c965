"""The engine contract shared by every operation (see DESIGN.md, "The engine contract").

Engines are plain callables driven by the CLI, the tests and the Qt job runner alike,
so progress, cancellation and user-facing errors are expressed here without any
knowledge of threads or widgets.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Progress:
    """One step of a long operation.

    ``preview`` is the current state (float32 HxWx3 in [0, 1]) when the engine has one
    cheaply at hand; front ends may throttle or drop previews freely. Engines that work
    on a region of a large photo preview just that region: ``preview_box`` is then
    (x, y, width, height) in photo pixels and the preview, possibly at a lower
    resolution, is to be stretched over it. Copying a 12-megapixel photo for every
    iteration would cost more than the iteration.
    """

    step: int
    total: int
    message: str = ""
    preview: np.ndarray | None = None
    preview_box: tuple[int, int, int, int] | None = None

    @property
    def fraction(self) -> float:
        return 0.0 if self.total <= 0 else min(1.0, max(0.0, self.step / self.total))


Report = Callable[[Progress], None]


def ignore_progress(_: Progress) -> None:
    """A ``Report`` for callers that do not show progress."""


class Cancelled(Exception):
    """Raised inside an engine when the user cancelled; nothing was changed."""


class CancelToken:
    """Thread-safe flag a front end sets and an engine polls at its cheap points."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_set(self) -> None:
        if self._event.is_set():
            raise Cancelled("Cancelled by the user.")


class EngineError(Exception):
    """An error the user caused or can fix; ``str(err)`` is a sentence meant for them.

    ``detail`` holds technical context (paths, shapes, exception text) for an
    expandable "details" section, never needed to understand what went wrong.
    """

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class InvalidInput(EngineError):
    """The inputs cannot be processed as given (empty mask, wrong size, ...)."""


class EngineUnavailable(EngineError):
    """The engine cannot run on this installation (missing weights or library)."""


class DeviceUnavailable(EngineError):
    """The requested compute device does not exist on this machine."""
