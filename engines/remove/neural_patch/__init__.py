"""Neural patch synthesis (ch. 2): fill a hole by optimizing its pixels so that its
VGG-19 neural patches look like the photo's own, starting from a content prediction.

``vgg`` builds the texture network (torchvision's VGG-19 layers, ImageNet weights from
the weights store, or a labelled random one for development); ``synthesis`` is the
energy and its coarse-to-fine L-BFGS solve; ``engine`` is the Remove engine around it
(crops, content prediction, previews, full-resolution refinement).
"""

from __future__ import annotations

import os

RANDOM_VGG_ENV = "TRANSFIGURE_RANDOM_VGG"  # "1": the labelled random texture network


def random_vgg_requested() -> bool:
    """Whether development asked for the fixed random VGG-19 (checked without torch)."""
    return os.environ.get(RANDOM_VGG_ENV) == "1"
