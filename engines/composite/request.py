"""What the Composite engines are asked and answer: segment, harmonize, composite.

Shared by every engine of each step so the window, the CLI and the benchmarks can swap
engines freely. Images are float32 HxWx3 in [0, 1]; masks are float32 HxW alphas in
[0, 1] (1 = foreground) unless a field says otherwise; boxes are (x, y, w, h) pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Box = tuple[int, int, int, int]

# A pasted object shares no surface with its new surroundings, so the edge-match engine
# (the harmonize default, for composites edited in place) has nothing to go on: pastes
# are matched by the colour transfer unless the user picks another engine.
PASTE_HARMONIZER = "reinhard"


@dataclass(frozen=True, eq=False)
class SegmentRequest:
    """Find the object inside ``box`` of ``image`` (a bounding box, not a selection).

    ``keep``/``drop`` are optional bool HxW strokes the user painted: pixels that must be
    object / must be background (refinement re-runs the segmentation with them).
    """

    image: np.ndarray
    box: Box
    keep: np.ndarray | None = None
    drop: np.ndarray | None = None
    iterations: int = 5
    seed: int = 0


@dataclass(frozen=True, eq=False)
class SegmentResult:
    """``mask``: bool HxW of the whole guide image, True on the object (only inside box)."""

    mask: np.ndarray
    seconds: float


@dataclass(frozen=True, eq=False)
class HarmonizeRequest:
    """Make the foreground of a composite agree with its background.

    ``mask`` is the foreground's alpha (1 inside the pasted object, soft at its edge);
    ``strength`` 0 leaves the image as it is, 1 applies the engine fully.
    """

    image: np.ndarray
    mask: np.ndarray
    strength: float = 1.0
    seed: int = 0
    device: str | None = None


@dataclass(frozen=True, eq=False)
class HarmonizeResult:
    """Pixels where ``mask`` is 0 (and outside the engine's declared band) are unchanged."""

    image: np.ndarray
    seconds: float


@dataclass(frozen=True)
class Placement:
    """Where the guide's box lands in the target: its top-left corner at (x, y) target
    pixels, scaled by ``scale_x``/``scale_y`` (equal unless the user freed the aspect),
    mirrored left-right when ``flip``."""

    x: float
    y: float
    scale_x: float = 1.0
    scale_y: float = 1.0
    flip: bool = False


@dataclass(frozen=True, eq=False)
class CompositeRequest:
    """Paste the object cut from ``guide`` into ``target``.

    ``object_mask`` is the guide-sized alpha of the object (from segmentation, edited by
    the user). ``source_box`` is the guide region being pasted (the user's box) and
    ``place`` where it lands. With
    ``paste_box`` the whole box comes along and only its non-object part is filled;
    otherwise only the object is pasted and the band around its edge is filled.
    """

    target: np.ndarray
    guide: np.ndarray
    object_mask: np.ndarray
    source_box: Box
    place: Placement
    harmonize: str = PASTE_HARMONIZER  # a "harmonize" engine name, or "none"
    strength: float = 1.0  # of the light match and of the harmonization
    match_light: bool = True  # carry the object from the guide's light into the target's
    paste_box: bool = False
    remove_engine: str = "patchmatch"
    feather: float = 2.0  # px of soft edge on the pasted object, in target pixels
    seed: int = 0


@dataclass(frozen=True, eq=False)
class CompositeResult:
    """The composite; ``region`` is the target box outside which pixels are unchanged."""

    image: np.ndarray
    object_alpha: np.ndarray  # target-sized alpha of the pasted object (for harmonize/undo)
    region: Box
    seconds: float
