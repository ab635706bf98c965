"""The ``guided`` Remove engine: patch synthesis that follows the generator's content.

Ch. 2's cure for texture synthesis that breaks structure (Fig. 2.8), with pixel
patches instead of neural ones: the ch. 3 generator predicts each hole's coarse
content, and the classic engine's search and voting then copy real patches of the
photo that match both the hole's surroundings and that prediction. The prediction
weighs most at the coarse levels, where the layout is decided (a bench's seat goes on,
a horizon stays level), and fades at the fine ones, where texture comes from the
photo and the prediction's blur would only soften it. The coarsest level also starts
from the prediction instead of peeling the hole from its rim.
"""

from __future__ import annotations

import cv2
import numpy as np

from engines.crop import Crop
from engines.remove.generator.engine import load_generator
from engines.remove.generator.predict import predict_small, work_side
from engines.remove.patchmatch import PatchMatchEngine
from engines.remove.request import RemoveRequest

# The content term's weight at full resolution, ½, ¼, ... (the last holds for coarser
# levels): chosen on the tune part of the held-out photos (tests/benchmarks/tune_remove.py).
GUIDE_WEIGHTS = (20.0, 200.0, 1000.0)


class GuidedEngine(PatchMatchEngine):
    """Classic patch-based fill with the generator's prediction as a content term."""

    name = "guided"

    def __init__(self, backend: str = "auto",
                 guide_weights: tuple[float, ...] = GUIDE_WEIGHTS) -> None:
        super().__init__(backend)
        self.guide_weights = guide_weights

    def content_prior(self, request: RemoveRequest, device: str, image: np.ndarray,
                      mask: np.ndarray, crops: list[Crop], counter
                      ) -> list[np.ndarray | None]:
        """The generator's prediction of each crop, each shown at once as a preview (the
        photo with the prediction in the hole: the layout the fill will follow)."""
        network, info, self.notes = load_generator(request.model, device)
        long_side = work_side(info.resolution)
        guides: list[np.ndarray | None] = []
        for crop in crops:
            hole = mask[crop.slices]
            guide, small = predict_small(network, image[crop.slices], hole, long_side, device)
            shown = np.where(cv2.resize(hole.astype(np.uint8), small.shape[1::-1],
                                        interpolation=cv2.INTER_NEAREST)[..., None] > 0,
                             guide, small)
            counter.advance("Predicting the hole's content", shown, crop, steps=0)
            guides.append(guide)  # at the working size: each level scales it
        return guides
