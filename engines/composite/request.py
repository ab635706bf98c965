"""What the Composite engines are asked and answer: segment, harmonize, composite.

Shared by every engine of each step so the window, the CLI and the benchmarks can swap
engines freely. Images are float32 HxWx3 in [0, 1]; masks are float32 HxW alphas in
[0, 1] (1 = foreground) unless a field says otherwise; boxes are (x, y, w, h) pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engines.base import InvalidInput, Request, Result
from engines.crop import Box, Crop

MIN_BOX_SIDE = 8  # px; GrabCut's colour models need some pixels, users need a visible box
MIN_OBJECT_SIDE = 2  # px: a pasted object smaller than this cannot be seen, let alone filled

# The harmonizer of the Composite operation: the same as the harmonize default (issue 16,
# defect 11: the most accurate engine on real composites, and none made worse; see the
# "harmonize" entry in engines/composite/__init__.py). The edge-match engine has nothing
# to go on for a paste, which shares no surface with its new surroundings.
PASTE_HARMONIZER = "poisson"


@dataclass(frozen=True, eq=False)
class SegmentRequest(Request):
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

    def validate(self) -> None:
        self.box_in_photo()

    def box_in_photo(self) -> Crop:
        """The box clipped to the photo, or InvalidInput with a sentence the user understands.

        A box dragged past the photo's edge is clipped rather than refused: the user meant
        "up to the edge". Boxes that miss the photo or are too small to hold an object are
        refused, as are strokes that do not match the photo.
        """
        image = self.image
        if image.ndim != 3 or image.shape[2] != 3:
            raise InvalidInput("The guide photo must be an RGB image.", f"shape {image.shape}")
        h, w = image.shape[:2]
        try:
            x, y, bw, bh = (int(v) for v in self.box)
        except (TypeError, ValueError) as exc:
            raise InvalidInput("The box must be four whole numbers: x, y, width, height.",
                               repr(self.box)) from exc
        if bw <= 0 or bh <= 0:
            raise InvalidInput("The box is empty: drag a rectangle around the object.",
                               f"box {self.box}")
        x0, y0, x1, y1 = max(0, x), max(0, y), min(w, x + bw), min(h, y + bh)
        if x1 <= x0 or y1 <= y0:
            raise InvalidInput(
                f"The box lies outside the {w}×{h} photo; draw it around an object in the "
                "photo.", f"box {self.box}",
            )
        if x1 - x0 < MIN_BOX_SIDE or y1 - y0 < MIN_BOX_SIDE:
            raise InvalidInput(
                f"The box is too small ({x1 - x0}×{y1 - y0} pixels inside the photo); draw it "
                f"at least {MIN_BOX_SIDE} pixels wide and high around the object.",
                f"box {self.box}",
            )
        for name, strokes in (("keep", self.keep), ("drop", self.drop)):
            if strokes is not None and strokes.shape != (h, w):
                raise InvalidInput(
                    f"The {name} strokes do not match the photo's size.",
                    f"strokes {strokes.shape}, photo {(h, w)}",
                )
        if self.iterations < 1:
            raise InvalidInput("Segmentation needs at least one iteration.",
                               f"iterations = {self.iterations}")
        return Crop(x0, y0, x1, y1)


@dataclass(frozen=True, eq=False)
class SegmentResult(Result):
    """``mask``: bool HxW of the whole guide image, True on the object (only inside box).

    ``doubt`` is one sentence when the cut-out does not look like an object (it fills
    its box, or runs along its sides), for the front end to show with its way to fix it.
    """

    mask: np.ndarray
    doubt: str = ""


@dataclass(frozen=True, eq=False)
class HarmonizeRequest(Request):
    """Make the foreground of a composite agree with its background.

    ``mask`` is the foreground's alpha (1 inside the pasted object, soft at its edge);
    ``strength`` 0 leaves the image as it is, 1 applies the engine fully. ``model``
    names the harmonization model (or its file) for the engines that use one; None is
    the model store's choice.
    """

    image: np.ndarray
    mask: np.ndarray
    strength: float = 1.0
    seed: int = 0
    model: str | None = None

    def validate(self) -> None:
        image = np.asarray(self.image)
        mask = np.asarray(self.mask)
        if image.ndim != 3 or image.shape[2] != 3:
            raise InvalidInput("The photo must be an RGB image.", f"shape {image.shape}")
        if mask.ndim != 2 or mask.shape != image.shape[:2]:
            mh, mw = (mask.shape + (0, 0))[:2]
            raise InvalidInput(
                f"The mask is {mw}×{mh} but the photo is {image.shape[1]}×{image.shape[0]}.",
                f"mask shape {mask.shape}, photo shape {image.shape}",
            )
        if not 0.0 <= float(self.strength) <= 1.0:
            raise InvalidInput(f"The strength must be between 0 and 1, not {self.strength}.")
        alpha = mask.astype(np.float32, copy=False)
        low, high = float(alpha.min()), float(alpha.max())
        if not (low >= 0.0 and high <= 1.0):  # also refuses NaN
            raise InvalidInput(
                "The mask must hold values between 0 (background) and 1 (object).",
                f"mask values from {low} to {high}",
            )
        if high == 0.0:
            raise InvalidInput("The mask is empty: mark the pasted object to harmonize first.")
        if low > 0.0:
            raise InvalidInput(
                "The mask covers the whole photo, so there is no background to match the "
                "object to."
            )


@dataclass(frozen=True, eq=False)
class HarmonizeResult(Result):
    """Pixels where ``mask`` is 0 (and outside the engine's declared band) are unchanged.

    ``unchanged`` is one sentence when the engine decided to change nothing, saying why
    (a front end must not report "harmonized" then).
    """

    image: np.ndarray
    unchanged: str = ""


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
class CompositeRequest(Request):
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

    def validate(self) -> None:
        target, guide, mask = self.target, self.guide, self.object_mask
        for name, image in (("photo", target), ("guide photo", guide)):
            if image.ndim != 3 or image.shape[2] != 3:
                raise InvalidInput(f"The {name} must be an RGB image.", f"shape {image.shape}")
        if mask.shape != guide.shape[:2]:
            raise InvalidInput("The object's mask does not match the guide photo's size.")
        gh, gw = guide.shape[:2]
        bx, by, bw, bh = self.source_box
        if bw < 1 or bh < 1 or bx < 0 or by < 0 or bx + bw > gw or by + bh > gh:
            raise InvalidInput(
                f"The box ({bx}, {by}, {bw}×{bh}) is not inside the {gw}×{gh} guide photo.")
        inside = np.asarray(mask[by : by + bh, bx : bx + bw]) >= 0.5
        if not inside.any():
            raise InvalidInput("No object was found in the box: segment it first, or paint "
                               "it with keep strokes.")
        place = self.place
        if not (place.scale_x > 0 and place.scale_y > 0) or not all(
            math.isfinite(v) for v in (place.x, place.y, place.scale_x, place.scale_y)
        ):
            raise InvalidInput("The object's scale must be a positive number.")
        ys, xs = np.nonzero(inside)
        ow = (xs.max() - xs.min() + 1) * place.scale_x
        oh = (ys.max() - ys.min() + 1) * place.scale_y
        th, tw = target.shape[:2]
        if ow > tw or oh > th:
            raise InvalidInput(
                f"The object ({ow:.0f}×{oh:.0f} px at this scale) is larger than the photo "
                f"({tw}×{th}); scale it down.")
        if min(ow, oh) < MIN_OBJECT_SIDE:
            raise InvalidInput("At this scale the object is smaller than 2 pixels; scale it "
                               "up.")
        if not 0.0 <= self.strength <= 1.0:
            raise InvalidInput("The harmonization strength must be between 0 and 1.")
        if self.feather < 0:
            raise InvalidInput("The soft edge cannot be negative.")


@dataclass(frozen=True, eq=False)
class CompositeResult(Result):
    """The composite; ``region`` is the target box outside which pixels are unchanged."""

    image: np.ndarray
    object_alpha: np.ndarray  # target-sized alpha of the pasted object (for harmonize/undo)
    region: Box
