"""The photos in the folders a user names, for the trainers and for batch work.

Both front ends ask for the same thing ("train on the photos in these folders"), so the
command line and the window's training dialog find them here, the same way: folders are
searched recursively, files are taken in name order (a run is repeatable), and only the
formats the trainers read count as photos.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from engines.base import InvalidInput

TRAINING_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp"})


def photo_files(paths: Sequence[str | Path]) -> list[Path]:
    """Image files under ``paths`` (folders searched recursively), in name order.

    A path that does not exist is refused with its name: a typo must not train on less.
    """
    found: list[Path] = []
    for given in paths:
        root = Path(given)
        if not root.exists():
            raise InvalidInput(f"Could not find {given}.")
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        found += [f for f in files if f.suffix.lower() in TRAINING_SUFFIXES]
    return found


def split_masks(files: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """(photos, masks): files with "mask" in their name are masks (white = object)."""
    photos = [f for f in files if "mask" not in f.stem.lower()]
    masks = [f for f in files if "mask" in f.stem.lower()]
    return photos, masks
