"""torchvision's VGG layer stacks, built with its module indices.

Three parts of Transfigure read VGG features: Translate's attention branch (VGG-19 up
to conv3_3, ch. 4), the StyleGAN inversion's perceptual distance (VGG-16, ch. 6) and
neural patch synthesis's texture network (VGG-19 up to relu4_1, ch. 2). Each builds
its trunk here, numbered as ``torchvision.models.vgg*().features`` numbers it, so
torchvision's ImageNet files (``features.N.weight``) load into any of them exactly.
torch is imported when a stack is built, not when this module is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn

# Output channels per 3×3 convolution (each followed by a ReLU); "M" is a 2×2 max-pool.
VGG16_PLAN: tuple[int | str, ...] = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M",
                                     512, 512, 512, "M", 512, 512, 512, "M")
VGG19_PLAN: tuple[int | str, ...] = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
                                     512, 512, 512, 512, "M", 512, 512, 512, 512, "M")


def vgg_layers(plan: Sequence[int | str], upto: int) -> list[nn.Module]:
    """The modules ``features[:upto]`` of the VGG that ``plan`` describes."""
    from torch import nn

    layers: list[nn.Module] = []
    channels = 3
    for item in plan:
        if len(layers) >= upto:
            break
        if item == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(channels, int(item), kernel_size=3, padding=1),
                       nn.ReLU(inplace=False)]
            channels = int(item)
    return layers[:upto]
