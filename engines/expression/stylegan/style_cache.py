"""Remembered inversions: the W+ styles of an aligned face, in memory and on disk.

Inverting a face takes minutes (1000 generator passes), while choosing other layers or
another strength needs none of them again. Styles are keyed by a hash of the aligned
pixels together with everything that changes the result (steps, start, the networks),
so a cached entry is exactly what a fresh inversion would return. Files are plain
``.npy`` arrays read with ``allow_pickle=False``.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path

import numpy as np

from engines.files import atomic_write


def style_key(image: np.ndarray, steps: int, start: str, model_key: str, extra: str = "") -> str:
    """A hex digest naming one inversion of ``image`` (the aligned face) and its settings."""
    pixels = np.ascontiguousarray(image, dtype=np.float32)
    digest = hashlib.sha256()
    digest.update(f"{model_key}|{steps}|{start}|{extra}|{pixels.shape}".encode())
    digest.update(pixels.tobytes())
    return digest.hexdigest()


class StyleCache:
    """An in-memory LRU of recent inversions in front of a folder of ``<key>.npy`` files."""

    def __init__(self, folder: str | os.PathLike[str] | None, capacity: int = 16) -> None:
        self.folder = Path(folder) if folder is not None else None
        self.capacity = capacity
        self._memory: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()  # engines run on worker threads

    def _path(self, key: str) -> Path | None:
        return None if self.folder is None else self.folder / f"{key}.npy"

    def get(self, key: str) -> np.ndarray | None:
        with self._lock:
            if key in self._memory:
                self._memory.move_to_end(key)
                return self._memory[key].copy()
        path = self._path(key)
        if path is None or not path.is_file():
            return None
        try:
            styles = np.load(path, allow_pickle=False)
        except (OSError, ValueError):  # a damaged file is a miss, redone and rewritten
            return None
        if styles.ndim != 2 or styles.dtype != np.float32:
            return None
        self._remember(key, styles)
        return styles.copy()

    def put(self, key: str, styles: np.ndarray) -> None:
        styles = np.asarray(styles, dtype=np.float32).copy()
        self._remember(key, styles)
        path = self._path(key)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, lambda out: np.save(out, styles, allow_pickle=False), sync=False)
        except OSError:  # a read-only cache only costs the next session its speed-up
            return

    def _remember(self, key: str, styles: np.ndarray) -> None:
        with self._lock:
            self._memory[key] = styles
            self._memory.move_to_end(key)
            while len(self._memory) > self.capacity:
                self._memory.popitem(last=False)


@lru_cache(maxsize=4)
def shared_cache(folder: str) -> StyleCache:
    """One cache per folder for the whole process, so repeated runs share its memory."""
    return StyleCache(folder)


def default_cache() -> StyleCache:
    """The cache in the user's models folder (``TRANSFIGURE_CACHE_DIR`` moves it)."""
    from engines.store import user_root

    return shared_cache(str(user_root() / "stylegan-inversions"))
