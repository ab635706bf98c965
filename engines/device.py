"""Compute device choice: CUDA > MPS > CPU, overridable per call or by environment.

``TRANSFIGURE_DEVICE`` lets a user pin a device for every front end at once (for
example ``cpu`` on a laptop whose GPU is busy) without touching settings.

Importing torch costs seconds, so ``resolve_device`` only imports it when this
machine could have a GPU at all (an NVIDIA driver node, or a Mac); a plain CPU box
answers "cpu" instantly and CPU engines may then run without torch.
"""

from __future__ import annotations

import os
import sys

from engines.base import DeviceUnavailable

ENV_VAR = "TRANSFIGURE_DEVICE"
CHOICES = ("auto", "cpu", "cuda", "mps")


def resolve_device(preference: str | None = None) -> str:
    """The device name to compute on; an explicit request that cannot be met is an error."""
    wanted = (preference or os.environ.get(ENV_VAR) or "auto").strip().lower()
    kind = wanted.partition(":")[0]
    if kind not in CHOICES:
        raise DeviceUnavailable(f"Unknown device {wanted!r}; choose one of: {', '.join(CHOICES)}.")
    if kind == "cpu":
        return "cpu"
    if kind == "auto":
        if not _gpu_may_exist():
            return "cpu"
        if _cuda_available():
            return "cuda"
        return "mps" if _mps_available() else "cpu"
    if kind == "cuda" and not _cuda_available():
        raise DeviceUnavailable(
            "A CUDA GPU was requested, but none is usable on this machine.",
            "torch.cuda.is_available() is False; use --device cpu or auto.",
        )
    if kind == "mps" and not _mps_available():
        raise DeviceUnavailable("Apple's MPS device was requested, but it is not available here.")
    return wanted


def device_label(name: str) -> str:
    """A short human name for status bars and results ("CPU", "NVIDIA H100 (cuda:0)")."""
    if name.startswith("cuda"):
        import torch

        index = int(name.partition(":")[2] or torch.cuda.current_device())
        return f"{torch.cuda.get_device_name(index)} (cuda:{index})"
    if name == "mps":
        return "Apple GPU (mps)"
    return "CPU"


def _gpu_may_exist() -> bool:
    if sys.platform == "darwin":
        return True
    return os.path.exists("/dev/nvidia0") or os.path.exists("/proc/driver/nvidia/version")


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def _mps_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())
