"""The Translate engine: G(x) = A(x)·G0(x) + (1 − A(x))·x, composited at full resolution.

The networks run at the resolution the model was trained at (short side), because
that is the scale at which they learnt what a horse looks like; only G0(x) and A(x)
are upsampled. The composite itself is taken at the photo's full resolution, so every
pixel the attention leaves at 0 is the photo's own value, bit for bit, whatever the
networks did there. Attention below ``ATTENTION_FLOOR`` counts as 0: it could not move
an 8-bit value by half a step, and leaving those pixels exactly alone is worth more.

torch is imported inside functions: ``engines.translate`` lists this engine at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from engines import store
from engines.base import CancelToken, Engine, Progress, Report
from engines.translate.model_file import TRANSLATION
from engines.translate.networks import MULTIPLE
from engines.translate.request import TranslateRequest, TranslateResult

if TYPE_CHECKING:
    from torch import nn

ATTENTION_FLOOR = 1.0 / 512
TILE_OVERLAP = 0.25  # of a tile's side, shared with its neighbours and cross-faded
TILE_FACTOR = 2  # tiling starts when the short side exceeds this × the model resolution


def composite(image: np.ndarray, initial: np.ndarray, attention: np.ndarray) -> np.ndarray:
    """A·G0 + (1 − A)·x per pixel (float32); exact: where A = 0 the result is ``image``.

    Public so a front end can recomposite instantly after the user edits A.
    """
    a = attention.astype(np.float32)[..., None]
    out = a * initial.astype(np.float32) + (np.float32(1) - a) * image.astype(np.float32)
    return out.astype(np.float32)


def working_size(height: int, width: int, resolution: int) -> tuple[int, int]:
    """(h, w) with the short side at ``resolution``, both multiples of ``MULTIPLE``."""
    scale = resolution / min(height, width)

    def snap(side: int) -> int:
        return max(MULTIPLE, int(round(side * scale / MULTIPLE)) * MULTIPLE)

    return snap(height), snap(width)


def _resize(array: np.ndarray, height: int, width: int, smooth: bool = False) -> np.ndarray:
    shrink = height < array.shape[0] or width < array.shape[1]
    method = cv2.INTER_AREA if shrink else (cv2.INTER_CUBIC if smooth else cv2.INTER_LINEAR)
    return cv2.resize(array, (width, height), interpolation=method)


def predict(translator: nn.Module, attention: nn.Module, image: np.ndarray,
            size: tuple[int, int], device: str) -> tuple[np.ndarray, np.ndarray]:
    """(G0, A) of ``image`` computed at ``size`` and brought back to the image's size."""
    import torch

    h, w = image.shape[:2]
    small = np.ascontiguousarray(_resize(image, *size))
    with torch.inference_mode():
        x = torch.from_numpy(small.transpose(2, 0, 1).copy())[None].to(device)
        initial = translator(x)[0].permute(1, 2, 0).float().cpu().numpy()
        alpha = attention(x)[0, 0].float().cpu().numpy()
    initial = np.clip(_resize(initial, h, w, smooth=True), 0, 1)
    alpha = np.clip(_resize(alpha, h, w), 0, 1)
    return initial.astype(np.float32), alpha.astype(np.float32)


def tile_boxes(height: int, width: int, side: int) -> list[tuple[int, int, int, int]]:
    """(y0, x0, y1, x1) square tiles of ``side`` covering the image, overlapping."""
    step = max(1, int(side * (1 - TILE_OVERLAP)))

    def starts(length: int) -> list[int]:
        if length <= side:
            return [0]
        points = list(range(0, length - side, step)) + [length - side]
        return sorted(set(points))

    return [(y, x, min(height, y + side), min(width, x + side))
            for y in starts(height) for x in starts(width)]


def _tile_weight(h: int, w: int) -> np.ndarray:
    """A tent window: tiles fade into each other instead of meeting at a seam."""
    ramp_y = np.minimum(np.arange(h) + 1, h - np.arange(h)).astype(np.float32)
    ramp_x = np.minimum(np.arange(w) + 1, w - np.arange(w)).astype(np.float32)
    return np.outer(ramp_y, ramp_x)


def predict_tiled(translator: nn.Module, attention: nn.Module, image: np.ndarray,
                  resolution: int, device: str, report: Report,
                  cancel: CancelToken) -> tuple[np.ndarray, np.ndarray]:
    """(G0, A) from overlapping tiles, each run at ``resolution``: more detail on big photos."""
    h, w = image.shape[:2]
    side = max(resolution, min(h, w) // TILE_FACTOR)
    boxes = tile_boxes(h, w, side)
    initial = np.zeros((h, w, 3), np.float32)
    alpha = np.zeros((h, w), np.float32)
    total = np.zeros((h, w), np.float32)
    for index, (y0, x0, y1, x1) in enumerate(boxes):
        cancel.raise_if_set()
        report(Progress(1 + index, len(boxes) + 2, f"Translating tile {index + 1} of "
                                                   f"{len(boxes)}"))
        tile = image[y0:y1, x0:x1]
        size = working_size(y1 - y0, x1 - x0, resolution)
        g0, a = predict(translator, attention, tile, size, device)
        weight = _tile_weight(y1 - y0, x1 - x0)
        initial[y0:y1, x0:x1] += g0 * weight[..., None]
        alpha[y0:y1, x0:x1] += a * weight
        total[y0:y1, x0:x1] += weight
    return initial / total[..., None], alpha / total


class TranslateEngine(Engine[TranslateRequest, TranslateResult]):
    """Attention-guided translation with a ch. 4 model file (shipped or user-trained)."""

    name = "attention-gan"

    def compute(
        self, request: TranslateRequest, device: str, report: Report, cancel: CancelToken
    ) -> TranslateResult:
        image = np.clip(request.image.astype(np.float32, copy=False), 0, 1)
        report(Progress(0, 3, "Loading the translation model"))
        path, (translator, attention, info) = store.load(TRANSLATION, request.model, device)
        cancel.raise_if_set()
        h, w = image.shape[:2]
        if request.tile and min(h, w) > TILE_FACTOR * info.resolution:
            initial, alpha = predict_tiled(translator, attention, image, info.resolution,
                                           device, report, cancel)
        else:
            report(Progress(1, 3, f"Translating {info.title}"))
            initial, alpha = predict(translator, attention, image,
                                     working_size(h, w, info.resolution), device)
        cancel.raise_if_set()
        alpha[alpha < ATTENTION_FLOOR] = 0.0
        result = composite(image, initial, alpha)
        report(Progress(3, 3, "Done"))
        return TranslateResult(result, initial, alpha, path.stem)
