"""The engine contract shared by every operation (docs/ARCHITECTURE.md, "The contract").

Engines are driven by the CLI, the tests and the Qt job runner alike, so progress,
cancellation and user-facing errors are expressed here without any knowledge of threads
or widgets. ``Engine.run`` does once what every engine needs around its own work (a
cancel token when none is given, the request's checks, the device, the time it took);
an engine implements only ``compute``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import ClassVar, Generic, TypeVar

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


@dataclass(frozen=True, eq=False, kw_only=True)
class Request:
    """What every request holds besides its own fields: where the user wants it computed.

    ``device`` is a preference ("auto", "cpu", "cuda", "cuda:1", "mps"; None means
    ``TRANSFIGURE_DEVICE`` or auto). Requests are frozen dataclasses with defaults that
    work; each one says in ``validate`` what no engine of its operation could process.
    """

    device: str | None = None

    def validate(self) -> None:
        """Raise ``InvalidInput`` with a sentence for the user; called before any work."""
        raise NotImplementedError(f"{type(self).__name__} does not say what it accepts")


@dataclass(frozen=True, eq=False, kw_only=True)
class Result:
    """What every result holds besides its own fields: where it ran and how long it took.

    ``Engine.run`` stamps both, so an engine's ``compute`` leaves them at their defaults.
    """

    device: str = "cpu"
    seconds: float = 0.0


RequestT = TypeVar("RequestT", bound=Request)
ResultT = TypeVar("ResultT", bound=Result)


class Engine(Generic[RequestT, ResultT]):
    """One way of doing an operation: ``run(request, report, cancel) -> result``.

    Subclasses set ``name`` (as the registry lists it) and implement ``compute``. Engines
    whose numerics are numpy and OpenCV only set ``cpu_only``: they never ask for a GPU,
    which on a machine that has one would import torch for nothing.
    """

    name: ClassVar[str] = ""
    cpu_only: ClassVar[bool] = False

    def run(
        self,
        request: RequestT,
        report: Report = ignore_progress,
        cancel: CancelToken | None = None,
    ) -> ResultT:
        """Check the request, pick the device, compute, and stamp the device and time."""
        started = time.perf_counter()
        cancel = cancel or CancelToken()
        request.validate()
        device = self.device_for(request)
        result = self.compute(request, device, report, cancel)
        return replace(result, device=device, seconds=time.perf_counter() - started)

    def device_for(self, request: RequestT) -> str:
        """The device this run computes on; an explicit request that cannot be met is an
        error (``DeviceUnavailable``)."""
        if self.cpu_only:
            return "cpu"
        from engines.device import resolve_device  # device imports this module

        return resolve_device(request.device)

    def compute(
        self, request: RequestT, device: str, report: Report, cancel: CancelToken
    ) -> ResultT:
        """The engine's own work on a checked request; ``report`` progress and poll
        ``cancel`` at cheap points."""
        raise NotImplementedError
