"""The photo being edited: its pixels, where it came from, and whether it changed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engines.imageio import LoadedImage


@dataclass
class Document:
    """Current pixels plus the loaded file's metadata, kept for saving back faithfully."""

    source: LoadedImage
    pixels: np.ndarray
    modified: bool = False

    @property
    def path(self) -> Path:
        return Path(self.source.path)

    @property
    def size(self) -> tuple[int, int]:
        h, w = self.pixels.shape[:2]
        return w, h
