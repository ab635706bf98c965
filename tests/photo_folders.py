"""Folders of generated photos with their holes, as a batch reads them (shared by the
command-line and window tests of ``batch``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def write_photo_and_hole(photo: Path, mask: Path, size: tuple[int, int],
                         hole: tuple[slice, slice], rng: np.random.Generator) -> None:
    """A noise photo of ``size`` (height, width) and its mask, white over ``hole``."""
    Image.fromarray((rng.random((*size, 3)) * 255).astype(np.uint8)).save(photo)
    pixels = np.zeros(size, np.uint8)
    pixels[hole] = 255
    Image.fromarray(pixels).save(mask)
