"""VGG-16 perceptual distance for the inversion (ch. 6, eq. 6.1 and the ablation in 6.4.3).

The dissertation measures D(g(s), I) as the Euclidean distance of "the mid-feature layer
of VGG-16 pretrained network", and its ablation finds layer L = 9 best. Counted as
Keras' VGG16 counts its layers (input, block1_conv1, block1_conv2, block1_pool, ...), the
encoder the chapter builds on uses, index 9 is ``block3_conv3``: conv3_3 with its ReLU,
i.e. torchvision's ``features[:16]``. That is the default here; other depths can be
chosen for experiments. Images are compared at 256 px, as in that encoder, which also
keeps the loss cheap next to the 1024-px generator.

Only the convolutional trunk up to the chosen layer is built (a few MB), never the
500 MB classifier, and weights come from the registry's ``vgg16`` entry only.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from engines.vgg import VGG16_PLAN, vgg_layers

# End index (exclusive) of torchvision's ``features`` for each ReLU output.
VGG16_LAYERS = {"relu1_2": 4, "relu2_2": 9, "relu3_3": 16, "relu4_3": 23, "relu5_3": 30}
DEFAULT_LAYER = "relu3_3"  # the dissertation's L = 9 (Keras index) = block3_conv3
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def vgg16_trunk(layer: str = DEFAULT_LAYER) -> nn.Sequential:
    """torchvision's VGG-16 ``features`` cut after ``layer``, with the same module indices."""
    if layer not in VGG16_LAYERS:
        raise ValueError(f"unknown VGG-16 layer {layer!r}; choose from {sorted(VGG16_LAYERS)}")
    return nn.Sequential(*vgg_layers(VGG16_PLAN, VGG16_LAYERS[layer]))


def load_vgg16_trunk(state: Mapping[str, torch.Tensor],
                     layer: str = DEFAULT_LAYER) -> nn.Sequential:
    """The trunk with torchvision's ImageNet weights (``features.N.*`` keys of vgg16)."""
    trunk = vgg16_trunk(layer)
    wanted = set(trunk.state_dict())
    picked = {k: state[f"features.{k}"] for k in wanted if f"features.{k}" in state}
    missing = sorted(wanted - picked.keys())
    if missing:
        raise KeyError(f"the VGG-16 weights lack features.{missing[0]}")
    trunk.load_state_dict(picked, strict=True)
    return trunk


class PerceptualLoss(nn.Module):
    """‖φ(x) − φ(y)‖² of a frozen feature network φ, plus an optional pixel MSE term.

    ``features`` is any image → feature-map module: VGG-16's trunk in the engine, a tiny
    random network in the tests (the same code path, in milliseconds). Targets are
    prepared once per image, because the target side never changes during an inversion.
    """

    def __init__(self, features: nn.Module, size: int = 256, pixel_weight: float = 0.0,
                 feature_weight: float = 1.0, imagenet_normalize: bool = True) -> None:
        super().__init__()
        self.features = features.eval().requires_grad_(False)
        self.size = size
        self.pixel_weight = pixel_weight
        self.feature_weight = feature_weight
        self.imagenet_normalize = imagenet_normalize
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).reshape(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).reshape(1, 3, 1, 1))

    def _resize(self, image: torch.Tensor) -> torch.Tensor:
        if self.size and image.shape[-1] > self.size:
            image = F.interpolate(image, size=(self.size, self.size), mode="area")
        return image

    def _features(self, image: torch.Tensor) -> torch.Tensor:
        x = (image - self.mean) / self.std if self.imagenet_normalize else image
        return self.features(x)

    @torch.no_grad()
    def prepare(self, target: torch.Tensor) -> dict[str, torch.Tensor]:
        """Resized target pixels and their features (``target`` is N×3×H×W in [0, 1])."""
        small = self._resize(target.float())
        prepared = {"pixels": small}
        if self.feature_weight:
            prepared["features"] = self._features(small).float()
        return prepared

    def forward(self, image: torch.Tensor, target: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Per-sample loss (N) of ``image`` (N×3×H×W in [0, 1]) against a prepared target."""
        small = self._resize(image)
        loss = image.new_zeros(image.shape[0], dtype=torch.float32)
        if self.feature_weight:
            diff = self._features(small).float() - target["features"]
            loss = loss + self.feature_weight * diff.square().mean(dim=(1, 2, 3))
        if self.pixel_weight:
            diff = small.float() - target["pixels"]
            loss = loss + self.pixel_weight * diff.square().mean(dim=(1, 2, 3))
        return loss
