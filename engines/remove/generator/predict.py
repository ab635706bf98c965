"""Running the generator on a photo: a crop around each hole, at the model's scale.

The network is fully convolutional, but it learnt holes of 5–50 % of a crop of
``resolution`` pixels; a hole is therefore filled in a square crop around it with
enough context, scaled so that the crop's long side is ``work_side`` (a multiple of 8),
and the prediction is scaled back to the crop. The crop follows the hole, so the cost
does not grow with the photo's size.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import cv2
import numpy as np

from engines.crop import Crop, merge_overlapping, union_all

if TYPE_CHECKING:
    from torch import nn

# The crop's long side at which the network runs, as a multiple of its training crop:
# chosen on held-out photos (tests/benchmarks/remove.py --choose-generator-scale).
WORK_SCALE = 2.0
HOLE_SHARE = 0.2  # the crop around a hole is sized so the hole covers about this much


def work_side(resolution: int) -> int:
    """The crop's long side at which a model trained at ``resolution`` runs."""
    return int(round(resolution * WORK_SCALE / 8)) * 8


def context_crop(mask: np.ndarray, hole: Crop, share: float = HOLE_SHARE) -> Crop:
    """A square-ish crop around ``hole`` (the hole's box) holding it at about ``share``.

    At least a quarter of the hole's size of context on every side; clipped to the
    photo (a crop against the border grows inward instead).
    """
    h, w = mask.shape
    area = max(1, int(np.count_nonzero(mask[hole.slices])))
    hw, hh = hole.x1 - hole.x0, hole.y1 - hole.y0
    side = max(int(max(hw, hh) * 1.5) + 16, int(math.sqrt(area / share)))
    sw, sh = min(w, max(side, hw)), min(h, max(side, hh))
    cx, cy = (hole.x0 + hole.x1) / 2, (hole.y0 + hole.y1) / 2
    x0 = int(np.clip(round(cx - sw / 2), 0, w - sw))
    y0 = int(np.clip(round(cy - sh / 2), 0, h - sh))
    return Crop(x0, y0, x0 + sw, y0 + sh)


def work_size(shape: tuple[int, int], long_side: int, multiple: int = 8) -> tuple[int, int]:
    """(h, w) of a crop of ``shape`` scaled to ``long_side``, each a multiple of 8."""
    h, w = shape
    scale = long_side / max(h, w)
    return (max(multiple, int(round(h * scale / multiple)) * multiple),
            max(multiple, int(round(w * scale / multiple)) * multiple))


def predict(network: nn.Module, image: np.ndarray, hole: np.ndarray, long_side: int,
            device: str) -> np.ndarray:
    """The network's prediction of a crop (float32 HxWx3 in [0, 1]) at the crop's size."""
    h, w = hole.shape
    small, _ = predict_small(network, image, hole, long_side, device)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC).clip(0, 1)


def predict_small(network: nn.Module, image: np.ndarray, hole: np.ndarray, long_side: int,
                  device: str) -> tuple[np.ndarray, np.ndarray]:
    """(prediction, the crop's pixels), both at the working size (long side ``long_side``).

    ``image`` float32 HxWx3 in [0, 1]; ``hole`` bool HxW. A scaled hole is grown by a
    pixel so no trace of the distractor's rim reaches the network. Callers that need
    the prediction at other sizes (the guided engine's pyramid levels) scale this one:
    bringing it to a 12 MP crop's full size first would cost more than the network.
    """
    import torch

    h, w = hole.shape
    wh, ww = work_size((h, w), long_side)
    small = cv2.resize(image, (ww, wh), interpolation=cv2.INTER_AREA)
    small_hole = cv2.resize(hole.astype(np.float32), (ww, wh), interpolation=cv2.INTER_AREA) > 0
    small_hole = cv2.dilate(small_hole.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    x = torch.from_numpy(np.ascontiguousarray(small)).permute(2, 0, 1)[None].to(device)
    m = torch.from_numpy(small_hole.astype(np.float32))[None, None].to(device)
    with torch.inference_mode():
        out = network(x.float(), m)
    predicted = match_rim(out[0].permute(1, 2, 0).float().cpu().numpy(), small, small_hole)
    return predicted.clip(0, 1), small


def match_rim(predicted: np.ndarray, image: np.ndarray, hole: np.ndarray,
              sigma: float = 6.0) -> np.ndarray:
    """The prediction with its colour offset at the hole's rim carried into the hole.

    The network's output drifts in colour and brightness by a few per cent, which a
    pasted fill shows as a seam. The photo-minus-prediction difference on the known
    pixels around the hole is spread smoothly over the hole (normalized convolution
    with a Gaussian of ``sigma`` px at the working scale) and added, so the fill meets
    the photo without a step and keeps its own detail.
    """
    ring = cv2.dilate(hole.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool) & ~hole
    if not ring.any():
        return predicted
    weight = ring.astype(np.float32)
    offset = (image - predicted) * weight[..., None]
    spread = cv2.GaussianBlur(offset, (0, 0), sigma)
    total = cv2.GaussianBlur(weight, (0, 0), sigma)[..., None]
    far = total < 1e-4  # deep inside a big hole: repeat until the offset reaches it
    while far.any() and sigma < max(hole.shape):
        sigma *= 2
        spread = np.where(far, cv2.GaussianBlur(offset, (0, 0), sigma), spread)
        total = np.where(far, cv2.GaussianBlur(weight, (0, 0), sigma)[..., None], total)
        far = total < 1e-4
    correction = spread / np.maximum(total, 1e-4)
    out = predicted.copy()
    out[hole] += correction[hole]
    return out


def hole_crops(mask: np.ndarray) -> list[Crop]:
    """One context crop per group of nearby holes (crops that overlap are merged)."""
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    crops = [context_crop(mask, Crop(int(x), int(y), int(x + cw), int(y + ch)))
             for x, y, cw, ch, _ in stats[1:count]]
    if len(crops) > 64:  # a speckle of holes: one crop over all of them
        crops = [context_crop(mask, union_all(crops))]
    return merge_overlapping(crops, lambda union: context_crop(mask, union))
