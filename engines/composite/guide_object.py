"""The object a composite takes from its guide photo: the box checked, the mask found.

The single-photo command and the batch both start a composite from files (a guide
photo, a box, maybe the object's mask); this is that step, once, so that both refuse
the same boxes with the same sentence and cut the same object.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engines.base import InvalidInput
from engines.composite.request import Box


def check_box(box: Box, guide_shape: tuple[int, ...]) -> None:
    """Refuse a box that is not inside the guide photo, naming both."""
    x, y, w, h = box
    gh, gw = guide_shape[:2]
    if x < 0 or y < 0 or x + w > gw or y + h > gh:
        raise InvalidInput(f"The box {x},{y},{w},{h} is not inside the {gw}×{gh} guide photo.")


def load_object_mask(path: Path, box: Box, guide_shape: tuple[int, ...]) -> np.ndarray:
    """The user's mask of the object in the guide photo (white = object), as bools.

    Refused when it selects nothing inside the box: the composite would paste nothing.
    """
    from engines import imageio

    x, y, w, h = box
    mask = imageio.load_mask(path, shape=guide_shape[:2])
    if not mask[y:y + h, x:x + w].any():
        raise InvalidInput(f"The mask {path.name} selects nothing inside the box "
                           f"{x},{y},{w},{h} (white = the object); check the box or the mask.")
    return mask
