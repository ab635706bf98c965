"""The engine contract every front end relies on: progress, cancel, registry, device."""

from __future__ import annotations

import importlib.util

import pytest

from engines import registry
from engines.base import Cancelled, CancelToken, DeviceUnavailable, Progress
from engines.device import resolve_device
from engines.registry import Availability, EngineEntry, needs_modules


def test_progress_fraction_is_clamped_for_progress_bars():
    assert Progress(3, 12).fraction == 0.25
    assert Progress(5, 0).fraction == 0.0
    assert Progress(20, 10).fraction == 1.0


def test_cancel_token_raises_only_after_cancel():
    token = CancelToken()
    token.raise_if_set()
    token.cancel()
    assert token.cancelled
    with pytest.raises(Cancelled):
        token.raise_if_set()


def test_remove_lists_patchmatch_as_the_available_default():
    names = [e.name for e in registry.entries("remove")]
    assert "patchmatch" in names
    default = registry.get("remove")
    assert default.name == "patchmatch" and default.availability().available
    assert default.load().__name__ == "PatchMatchEngine"


def test_unknown_engine_names_the_choices():
    with pytest.raises(KeyError, match="patchmatch"):
        registry.get("remove", "magic")
    with pytest.raises(KeyError, match="remove"):
        registry.get("levitate")


def test_missing_package_makes_an_engine_unavailable_with_the_fix():
    check = needs_modules("numpy", "surely_not_a_package_xyz")
    result = check()
    assert result == Availability(False, result.reason, result.fix)
    assert "surely_not_a_package_xyz" in result.reason
    assert result.fix == "pip install surely_not_a_package_xyz"


def test_registering_an_engine_makes_it_listed(monkeypatch):
    monkeypatch.setattr(registry, "_ENTRIES", {k: dict(v) for k, v in registry._ENTRIES.items()})
    registry.register(EngineEntry("remove", "test-only", "Test", "for tests", "math:floor"))
    assert "test-only" in [e.name for e in registry.entries("remove")]
    assert registry.get("remove").name == "patchmatch"  # the default is unchanged


def test_cpu_is_always_available_and_the_environment_can_pin_it(monkeypatch):
    assert resolve_device("cpu") == "cpu"
    monkeypatch.setenv("TRANSFIGURE_DEVICE", "cpu")
    assert resolve_device(None) == "cpu"


def test_unknown_device_is_refused_with_the_choices():
    with pytest.raises(DeviceUnavailable, match="auto, cpu, cuda, mps"):
        resolve_device("tpu")


def _has_cuda() -> bool:
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return torch.cuda.is_available()


@pytest.mark.skipif(_has_cuda(), reason="this machine has a CUDA GPU")
def test_asking_for_a_missing_gpu_says_so():
    with pytest.raises(DeviceUnavailable, match="CUDA GPU was requested"):
        resolve_device("cuda")
