"""Find the compute device's name for the status bar without delaying start-up.

Naming a GPU means importing torch (seconds); on a machine that may have one the
question is asked on a background thread after the window is up, and the answer comes
back through a queued signal.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal

from engines.base import EngineError
from engines.device import device_label, resolve_device


class DeviceProbe(QObject):
    """``found(label)`` arrives on the GUI thread once, e.g. "CPU" or "NVIDIA … (cuda:0)"."""

    found = Signal(str)

    def start(self) -> None:
        threading.Thread(target=self._run, name="device-probe", daemon=True).start()

    def _run(self) -> None:
        try:
            label = device_label(resolve_device())
        except EngineError as exc:  # e.g. TRANSFIGURE_DEVICE asks for a missing GPU
            label = f"CPU ({exc.message})"
        except Exception as exc:  # a broken driver must not take the window down
            label = f"CPU (GPU check failed: {type(exc).__name__})"
        self.found.emit(label)
