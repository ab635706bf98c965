"""Loaded models kept in memory: running the next photo must not read the file again.

Each slot (a kind of model: "translation", "maskrcnn", ...) holds the last model loaded
into it, keyed by what makes it that model (its file and modification time, the
device). Loading the same key again returns the kept object; another key replaces it,
so memory holds one model per slot. Engines run on worker threads while the window
checks models on its own thread, so a slot is loaded by one thread at a time and a
second thread asking for the same model waits for it instead of loading it twice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

_kept: dict[str, tuple[Hashable, Any]] = {}
_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


def keep_last(slot: str, key: Hashable, load: Callable[[], T]) -> T:
    """The model ``load()`` makes for ``key``, loaded at most once while it stays the last."""
    with _guard:
        lock = _locks.setdefault(slot, threading.Lock())
    with lock:
        kept = _kept.get(slot)
        if kept is not None and kept[0] == key:
            return kept[1]
        _kept.pop(slot, None)  # let the old model go before the new one needs the memory
        value = load()
        _kept[slot] = (key, value)
        return value


def holds(slot: str) -> bool:
    """Whether a model is kept in ``slot`` (a first load may take long: say so first)."""
    return slot in _kept


def forget(slot: str) -> None:
    """Drop the model kept in ``slot`` (tests; a file replaced under the same key)."""
    _kept.pop(slot, None)
