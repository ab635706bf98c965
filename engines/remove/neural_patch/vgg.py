"""VGG-19 as the texture network of neural patch synthesis (ch. 2.3.4).

The layers are built the way torchvision's ``vgg19().features`` numbers them, so the
ImageNet file of the weights registry (``vgg19``, torchvision's own) loads exactly,
and only up to relu4_1: the deepest layer the texture term reads (20 MB of weights
instead of 550). Without that file the engine is unavailable; development and tests may
ask for a randomly initialised network (fixed seed), which every result then names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import nn

from engines.vgg import VGG19_PLAN, vgg_layers

# End index (exclusive) of ``features`` for each ReLU output the texture term can read.
VGG19_TAPS = {"relu1_1": 2, "relu2_1": 7, "relu3_1": 12, "relu4_1": 21}
TEXTURE_LAYERS = ("relu3_1", "relu4_1")  # the dissertation's choice (ch. 2.3.4)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
RANDOM_SEED = 0


@dataclass(frozen=True)
class TextureNetworkInfo:
    """What the texture network is, for the result's notes."""

    imagenet: bool

    @property
    def label(self) -> str:
        if self.imagenet:
            return "texture network: VGG-19 (ImageNet, torchvision)"
        return (f"texture network: VGG-19 with RANDOM weights (seed {RANDOM_SEED}), for "
                "development only; install the vgg19 weights for real results")


class TextureNetwork(nn.Module):
    """VGG-19's trunk up to the deepest tap; ``forward`` returns the taps' feature maps.

    Input: RGB in [0, 1], N×3×H×W (ImageNet normalisation happens here).
    """

    def __init__(self, layers: tuple[str, ...] = TEXTURE_LAYERS) -> None:
        super().__init__()
        unknown = [name for name in layers if name not in VGG19_TAPS]
        if unknown:
            raise ValueError(f"unknown VGG-19 layers {unknown}; choose from {list(VGG19_TAPS)}")
        self.layers = layers
        self.features = nn.Sequential(*vgg_layers(VGG19_PLAN,
                                                  max(VGG19_TAPS[n] for n in layers)))
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).reshape(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).reshape(1, 3, 1, 1))

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        x = (image - self.mean) / self.std
        ends = {VGG19_TAPS[name]: name for name in self.layers}
        taps: dict[str, torch.Tensor] = {}
        for index, module in enumerate(self.features):
            x = module(x)
            if index + 1 in ends:
                taps[ends[index + 1]] = x
        return taps


def feature_size(size: tuple[int, int], layer: str) -> tuple[int, int]:
    """(h, w) of ``layer``'s feature map for an image of ``size``: each max-pool before
    it halves the sides, rounding down (known without running the network)."""
    modules = 0
    pools = 0
    for item in VGG19_PLAN:
        if modules >= VGG19_TAPS[layer]:
            break
        pools += item == "M"
        modules += 1 if item == "M" else 2
    return size[0] >> pools, size[1] >> pools


def imagenet_network(state: Mapping[str, torch.Tensor],
                     layers: tuple[str, ...] = TEXTURE_LAYERS) -> TextureNetwork:
    """The trunk with torchvision's ImageNet weights (``features.N.*`` keys of vgg19)."""
    network = TextureNetwork(layers)
    own = network.features.state_dict()
    picked = {k: state[f"features.{k}"] for k in own if f"features.{k}" in state}
    missing = sorted(set(own) - picked.keys())
    if missing:
        raise KeyError(f"the VGG-19 weights lack features.{missing[0]}")
    network.features.load_state_dict(picked, strict=True)
    return network.eval().requires_grad_(False)


def random_network(layers: tuple[str, ...] = TEXTURE_LAYERS) -> TextureNetwork:
    """A fixed random initialisation (the same every run), for development and tests."""
    generator = torch.Generator().manual_seed(RANDOM_SEED)
    network = TextureNetwork(layers)
    with torch.no_grad():
        for module in network.features:
            if isinstance(module, nn.Conv2d):
                fan_in = module.in_channels * 9
                module.weight.copy_(torch.randn(module.weight.shape, generator=generator)
                                    * (2.0 / fan_in) ** 0.5)  # He init keeps activations alive
                module.bias.zero_()
    return network.eval().requires_grad_(False)


def load_texture_network(random: bool, device: str) -> tuple[TextureNetwork, TextureNetworkInfo]:
    """ImageNet VGG-19 from the weights store, or the labelled random one."""
    if random:
        return random_network().to(device), TextureNetworkInfo(imagenet=False)
    from engines.store import weights

    entry = weights.entry("vgg19")
    state = weights.load_state_dict(entry)  # says how to install it when it is missing
    try:
        network = imagenet_network(state)
    except (KeyError, RuntimeError) as exc:
        raise weights.WeightsError(
            "The vgg19 weights file does not hold torchvision's VGG-19; import the file "
            "from download.pytorch.org again.", str(exc)) from exc
    return network.to(device), TextureNetworkInfo(imagenet=True)
