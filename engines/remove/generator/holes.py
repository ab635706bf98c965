"""Holes like the ones users paint: brush strokes, boxes and object silhouettes.

The generator learns to fill what it is shown, so training holes follow what people
remove: mostly whole objects (a silhouette of a person, a car, an animal, scaled,
rotated and placed at random), and also free-hand strokes and rectangles. Each hole
covers between ``low`` and ``high`` of the image (5–50 % by default). The benchmark
draws its object holes with the same code from silhouettes of other photos.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

KINDS = ("silhouette", "strokes", "box")
KIND_SHARES = (0.5, 0.3, 0.2)  # object-shaped holes matter most


def load_silhouettes(paths: Sequence[Path], limit: int = 256) -> list[np.ndarray]:
    """Binary uint8 shapes (1 = object), cropped to their box, long side ≤ ``limit``."""
    shapes = []
    for path in paths:
        mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if mask is None or not (mask > 127).any():
            continue
        ys, xs = np.nonzero(mask > 127)
        mask = (mask[ys.min():ys.max() + 1, xs.min():xs.max() + 1] > 127).astype(np.uint8)
        scale = limit / max(mask.shape)
        if scale < 1:
            mask = cv2.resize(mask, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
        shapes.append(mask)
    return shapes


def silhouette_hole(shape: np.ndarray, size: tuple[int, int], share: float,
                    rng: np.random.Generator) -> np.ndarray:
    """``shape`` scaled to cover ``share`` of an ``size`` (h, w) image, rotated, placed."""
    h, w = size
    if rng.random() < 0.5:
        shape = shape[:, ::-1]
    angle = float(rng.uniform(-30, 30))
    pad = int(max(shape.shape) * 0.5)
    padded = cv2.copyMakeBorder(np.ascontiguousarray(shape), pad, pad, pad, pad,
                                cv2.BORDER_CONSTANT, value=0)
    centre = (padded.shape[1] / 2, padded.shape[0] / 2)
    rotated = cv2.warpAffine(padded, cv2.getRotationMatrix2D(centre, angle, 1.0),
                             padded.shape[::-1], flags=cv2.INTER_NEAREST)
    ys, xs = np.nonzero(rotated)
    rotated = rotated[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    scale = np.sqrt(share * h * w / max(1, rotated.sum()))
    sh = max(1, int(round(rotated.shape[0] * scale)))
    sw = max(1, int(round(rotated.shape[1] * scale)))
    if sh > h or sw > w:  # too tall or wide for the image: shrink to fit
        fit = min(h / sh, w / sw)
        sh, sw = max(1, int(sh * fit)), max(1, int(sw * fit))
    placed = cv2.resize(rotated, (sw, sh), interpolation=cv2.INTER_NEAREST)
    hole = np.zeros((h, w), np.uint8)
    y = int(rng.integers(0, h - sh + 1))
    x = int(rng.integers(0, w - sw + 1))
    hole[y:y + sh, x:x + sw] = placed
    return hole.astype(bool)


def stroke_hole(size: tuple[int, int], share: float, rng: np.random.Generator) -> np.ndarray:
    """Free-hand brush strokes, added until they cover about ``share`` of the image."""
    h, w = size
    hole = np.zeros((h, w), np.uint8)
    side = min(h, w)
    for _ in range(40):
        if hole.mean() >= share:
            break
        width = int(rng.uniform(0.04, 0.12) * side) + 1
        points = [rng.uniform((0, 0), (w, h))]
        for _ in range(int(rng.integers(2, 8))):
            angle = rng.uniform(0, 2 * np.pi)
            length = rng.uniform(0.1, 0.4) * side
            points.append(np.clip(points[-1] + length * np.array([np.cos(angle),
                                                                  np.sin(angle)]),
                                  0, (w - 1, h - 1)))
        cv2.polylines(hole, [np.round(points).astype(np.int32)], False, 1, width,
                      cv2.LINE_8)
        for point in points:
            cv2.circle(hole, tuple(int(v) for v in point), width // 2, 1, -1)
    return hole.astype(bool)


def box_hole(size: tuple[int, int], share: float, rng: np.random.Generator) -> np.ndarray:
    """One rectangle of about ``share`` of the image, aspect ratio between ½ and 2."""
    h, w = size
    aspect = float(np.exp(rng.uniform(np.log(0.5), np.log(2.0))))
    bh = int(np.clip(np.sqrt(share * h * w / aspect), 4, h))
    bw = int(np.clip(share * h * w / bh, 4, w))
    y = int(rng.integers(0, h - bh + 1))
    x = int(rng.integers(0, w - bw + 1))
    hole = np.zeros((h, w), bool)
    hole[y:y + bh, x:x + bw] = True
    return hole


def random_hole(size: tuple[int, int], rng: np.random.Generator,
                silhouettes: Sequence[np.ndarray] = (), low: float = 0.05,
                high: float = 0.5, kind: str | None = None) -> np.ndarray:
    """A hole of a random kind covering ``low``–``high`` of ``size`` (h, w); bool HxW."""
    if kind is None:
        shares = np.array(KIND_SHARES)
        if not silhouettes:
            shares[0] = 0
        kind = KINDS[int(rng.choice(len(KINDS), p=shares / shares.sum()))]
    for _ in range(8):
        share = float(rng.uniform(low, high))
        if kind == "silhouette":
            shape = silhouettes[int(rng.integers(len(silhouettes)))]
            hole = silhouette_hole(shape, size, share, rng)
        elif kind == "strokes":
            hole = stroke_hole(size, share, rng)
        else:
            hole = box_hole(size, share, rng)
        if low * 0.8 <= hole.mean() <= high * 1.1:
            return hole
    return hole
