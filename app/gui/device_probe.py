"""Find the compute device's name for the status bar without delaying start-up.

Naming a GPU means importing torch (seconds); on a machine that may have one the
question is asked as a background job after the window is up (on a job runner of its
own, so it never holds up an operation), and the answer arrives on the GUI thread.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from app.gui.jobs import JobRunner
from engines.base import CancelToken, EngineError, Report
from engines.device import device_label, resolve_device


def probe_label(report: Report, cancel: CancelToken) -> str:
    """"CPU" or "NVIDIA … (cuda:0)"; a device that cannot be used is named with why."""
    try:
        return device_label(resolve_device())
    except EngineError as exc:  # e.g. TRANSFIGURE_DEVICE asks for a missing GPU
        return f"CPU ({exc.message})"
    except Exception as exc:  # a broken driver must not take the window down
        return f"CPU (GPU check failed: {type(exc).__name__})"


class DeviceProbe(QObject):
    """``found(label)`` arrives on the GUI thread once, e.g. "CPU" or "NVIDIA … (cuda:0)"."""

    found = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = JobRunner(self)
        self.runner.finished.connect(self.found.emit)

    def start(self) -> None:
        self.runner.start(probe_label)

    def shutdown(self) -> None:
        """The window is closing: let a probe still importing torch end first."""
        self.runner.shutdown()
