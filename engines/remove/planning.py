"""Where and at which scales to work, so cost follows the hole and not the photo.

A 12-megapixel photo with a small distractor needs only a padded crop around the
distractor; the crop is solved coarse-to-fine, the coarse levels (small enough to
afford many iterations) decide the structure and the full-resolution levels only
sharpen it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from engines.crop import Crop, merge_overlapping, union_all


def plan_crops(
    mask: np.ndarray,
    avoid: np.ndarray | None = None,
    context: float = 1.0,
    min_pad: int = 32,
) -> list[Crop]:
    """One crop per group of nearby holes, padded by ``context`` times the hole's size.

    A crop grows until it holds at least twice as many usable pixels (known, not in
    ``avoid``) as hole pixels. Crops that overlap are merged, so each crop contains
    all of any hole it touches and crops can be filled independently.
    """
    h, w = mask.shape
    blocked = mask if avoid is None else mask | avoid
    crops = []
    for x, y, cw, ch, area in _hole_boxes(mask):
        pad = max(min_pad, int(context * max(cw, ch)))
        while True:
            crop = Crop(
                max(0, x - pad), max(0, y - pad), min(w, x + cw + pad), min(h, y + ch + pad)
            )
            whole = crop.area == h * w
            usable = crop.area - np.count_nonzero(blocked[crop.slices])
            if whole or usable >= 2 * area:
                break
            pad *= 2
        crops.append(crop)
    if len(crops) > 256:  # a speckle of holes: one crop over all of them
        crops = [union_all(crops)]
    return merge_overlapping(crops)


def _hole_boxes(mask: np.ndarray, big: int = 4_000_000) -> list[tuple[int, ...]]:
    """(x, y, width, height, area) of each group of touching hole pixels.

    Labelling a 12-megapixel mask takes a noticeable part of a small fill; on large
    masks the groups are found on a 4× smaller any-pooled copy and their boxes scaled
    back (a box may grow by up to 3 px per side, which the padding absorbs).
    """
    f = 4 if mask.size > big else 1
    small = mask.astype(np.uint8)
    if f > 1:  # block maximum: dilate towards the bottom-right, keep every f-th pixel
        small = cv2.dilate(small, np.ones((f, f), np.uint8), anchor=(0, 0))[::f, ::f]
    _, _, stats, _ = cv2.connectedComponentsWithStats(small, connectivity=8)
    return [
        (int(x) * f, int(y) * f, int(cw) * f, int(ch) * f, int(area) * f * f)
        for x, y, cw, ch, area in stats[1:]
    ]


@dataclass(frozen=True)
class Level:
    """One pyramid level of a crop: its pixels and hole at ``scale`` of full resolution."""

    image: np.ndarray
    hole: np.ndarray
    avoid: np.ndarray | None
    scale: float


def build_pyramid(
    image: np.ndarray, hole: np.ndarray, avoid: np.ndarray | None, patch: int
) -> list[Level]:
    """Levels from full resolution down, halving until the hole is about two patches thick.

    Going coarser than that loses thin structures (a bench's slats, a fence) before
    the fill can decide to continue them.

    Coarse pixels average only the known pixels under them, and count as hole only
    where most of what they cover is hole: thin strokes then thin out instead of
    swallowing the coarse levels, and no distractor colour leaks into them.
    """
    thickness = _hole_thickness(hole)
    levels = [Level(image, hole, avoid, 1.0)]
    while True:
        top = levels[-1]
        h, w = top.hole.shape
        if thickness * top.scale <= 2 * patch or min(h, w) // 2 < 4 * patch:
            break
        size = (w // 2, h // 2)
        weight = cv2.resize((~top.hole).astype(np.float32), size, interpolation=cv2.INTER_AREA)
        coarse_hole = weight < 0.5
        avoid = None
        if top.avoid is not None:
            avoid = cv2.resize(top.avoid.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0
        if _source_count(coarse_hole, avoid, patch) < max(64, coarse_hole.sum() // 4):
            break  # too little left to copy from at this scale
        coarse = _masked_halve(top.image, top.hole, weight, size)
        coarse[coarse_hole] = 0.0
        levels.append(Level(coarse, coarse_hole, avoid, top.scale * 0.5))
    return levels


def _masked_halve(
    image: np.ndarray, hole: np.ndarray, weight: np.ndarray, size: tuple[int, int]
) -> np.ndarray:
    """Halve ``image`` averaging known pixels only.

    A plain 2×2 average is right wherever a block holds no hole pixel, which is almost
    everywhere; only the few blocks that straddle the hole's rim are averaged again
    over their known pixels (copying the whole photo to mask it cost more).
    """
    coarse = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    ys, xs = np.nonzero((weight >= 0.5) & (weight < 1.0))
    if ys.size:
        total = np.zeros((ys.size, 3), np.float32)
        count = np.zeros(ys.size, np.float32)
        for dy in (0, 1):
            for dx in (0, 1):
                fy, fx = 2 * ys + dy, 2 * xs + dx
                known = ~hole[fy, fx]
                total += image[fy, fx] * known[:, None]
                count += known
        some = count > 0  # odd sizes: an area-weighted block may reach past these four
        coarse[ys[some], xs[some]] = total[some] / count[some, None]
    return coarse


def _source_count(hole: np.ndarray, avoid: np.ndarray | None, patch: int) -> int:
    """How many whole patches at this scale hold no hole and no avoided pixel."""
    blocked = hole if avoid is None else hole | avoid
    r = patch // 2
    touched = cv2.dilate(blocked.astype(np.uint8), np.ones((patch, patch), np.uint8))
    return int(np.count_nonzero(touched[r:-r, r:-r] == 0))


def _hole_thickness(hole: np.ndarray) -> float:
    """The largest distance from a hole pixel to the nearest known pixel.

    On large crops it is measured on a 2× block-max copy (a slight overestimate),
    which is all the pyramid's depth needs and a quarter of the work.
    """
    if hole.size > 4_000_000:
        small = cv2.dilate(hole.astype(np.uint8), np.ones((2, 2), np.uint8), anchor=(0, 0))
        return 2.0 * _hole_thickness(small[::2, ::2] > 0)
    padded = np.pad(~hole, 1, constant_values=True).astype(np.uint8)
    return float(cv2.distanceTransform(1 - padded, cv2.DIST_L2, 3).max())
