"""The ``generator`` Remove engine: the ch. 3 network's prediction, composited.

One forward pass per group of holes, on a context crop at the model's scale
(``predict``), scaled back and pasted into the hole only: every pixel outside the
mask is the photo's own. Fast and structure-aware, but soft at full resolution: the
``guided`` engine uses the same prediction as a content prior and copies real texture.
"""

from __future__ import annotations

import numpy as np

from engines import store
from engines.base import CancelToken, Engine, Progress, Report
from engines.remove.generator.model_file import INPAINTING
from engines.remove.generator.predict import hole_crops, predict, work_side
from engines.remove.request import RemoveRequest, RemoveResult


def load_generator(model: str | None, device: str):
    """(network, info, note) of the named inpainting model (kept in memory between photos)."""
    path, (network, info) = store.load(INPAINTING, model, device)
    return network, info, f"inpainting model {path.stem} ({info.steps} training steps)"


class GeneratorEngine(Engine[RemoveRequest, RemoveResult]):
    """Fills each hole with the trained generator's prediction."""

    name = "generator"

    def compute(self, request: RemoveRequest, device: str, report: Report,
                cancel: CancelToken) -> RemoveResult:
        network, info, note = load_generator(request.model, device)
        image = np.ascontiguousarray(request.image, dtype=np.float32)
        mask = np.asarray(request.mask, dtype=bool)
        crops = hole_crops(mask)
        long_side = work_side(info.resolution)
        result = image.copy()
        for index, crop in enumerate(crops):
            cancel.raise_if_set()
            hole = mask[crop.slices]
            predicted = predict(network, image[crop.slices], hole, long_side, device)
            region = result[crop.slices]
            region[hole] = predicted[hole]
            report(Progress(index + 1, len(crops) + 1,
                            f"Filling hole {index + 1} of {len(crops)}", region.copy(),
                            crop.box))
        report(Progress(len(crops) + 1, len(crops) + 1, "Done", result))
        return RemoveResult(result, notes=note)
