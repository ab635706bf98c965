"""The ch. 3 inpainting networks: the generator (head + procedural blocks) and the
multi-scale PatchGAN discriminator with hole-aware labels.

Generator head (ch. 3.3.1): a 7×7 convolution, three stride-2 convolutions, residual
blocks with dilation 2, three transposed convolutions back to full size and a 7×7
convolution to RGB, batch norm and ReLU throughout. It sees the photo with the hole
blanked and the mask as a fourth channel, and predicts the whole image; only the hole
is kept. Procedural blocks (ch. 3.3.3): each later stage adds one more dilated residual
block after the head's, mixed in as ``(1 − α)·f + α·r(f)`` with α growing from 0 (the
trained network, unchanged) to 1; α is a buffer so a model file records how far each
block had come. Widths are parameters: the same code trains a CPU model, a GPU model and
a toy one inside a unit test.

torch is imported inside functions, so importing this module stays cheap.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from torch import nn

DILATION = 2
MULTIPLE = 8  # three stride-2 convolutions
SCALES = 3  # the discriminator looks at the image, at ½ and at ¼


@dataclass(frozen=True)
class InpainterWidths:
    """Network sizes, stored in every model file so it can be rebuilt exactly.

    ``generator``: channels after the first convolution (×8 at the residual blocks);
    ``blocks``: the head's residual blocks (9 in ch. 3); ``procedural``: blocks added
    one stage at a time (3 in Alg. 1); ``discriminator``: each PatchGAN's first layer.
    """

    generator: int = 16
    blocks: int = 9
    procedural: int = 3
    discriminator: int = 32

    def __post_init__(self) -> None:
        if min(self.generator, self.discriminator) < 1 or self.blocks < 0 \
                or self.procedural < 0:
            raise ValueError(f"invalid network widths: {self}")

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@lru_cache(maxsize=1)
def _classes() -> dict[str, type]:
    """The torch module classes, defined on first use so importing this module stays cheap."""
    import torch
    from torch import nn
    from torch.nn import functional

    def norm_relu(channels: int) -> list[nn.Module]:
        return [nn.BatchNorm2d(channels), nn.ReLU(inplace=True)]

    class DilatedBlock(nn.Module):
        """Two dilated 3×3 convolutions with a skip: a wider view for the same weights."""

        def __init__(self, channels: int) -> None:
            super().__init__()
            self.body = nn.Sequential(
                nn.Conv2d(channels, channels, 3, padding=DILATION, dilation=DILATION),
                *norm_relu(channels),
                nn.Conv2d(channels, channels, 3, padding=DILATION, dilation=DILATION),
                nn.BatchNorm2d(channels),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.body(x)

        def start_as_identity(self) -> None:
            """Zero the last normalization's scale and shift: the block passes its input through
            unchanged until training teaches it something, so mixing it in cannot
            disturb the trained network (ch. 3.3.3's "identical to the already trained
            network", which the skip path's weight alone would not give)."""
            with torch.no_grad():
                self.body[-1].weight.zero_()
                self.body[-1].bias.zero_()

    class Inpainter(nn.Module):
        """G: (photo with hole, mask) → the whole photo predicted, in [0, 1]."""

        def __init__(self, widths: InpainterWidths) -> None:
            super().__init__()
            w = widths.generator
            self.down = nn.Sequential(
                nn.Conv2d(4, w, 7, padding=3), *norm_relu(w),
                nn.Conv2d(w, 2 * w, 3, 2, 1), *norm_relu(2 * w),
                nn.Conv2d(2 * w, 4 * w, 3, 2, 1), *norm_relu(4 * w),
                nn.Conv2d(4 * w, 8 * w, 3, 2, 1), *norm_relu(8 * w),
            )
            self.blocks = nn.Sequential(*(DilatedBlock(8 * w) for _ in range(widths.blocks)))
            self.procedural = nn.ModuleList(DilatedBlock(8 * w)
                                            for _ in range(widths.procedural))
            for block in self.procedural:
                block.start_as_identity()
            # How far each procedural block is mixed in (0: not yet; 1: fully).
            self.register_buffer("mix", torch.zeros(widths.procedural))
            self.up = nn.Sequential(
                nn.ConvTranspose2d(8 * w, 4 * w, 4, 2, 1), *norm_relu(4 * w),
                nn.ConvTranspose2d(4 * w, 2 * w, 4, 2, 1), *norm_relu(2 * w),
                nn.ConvTranspose2d(2 * w, w, 4, 2, 1), *norm_relu(w),
                nn.Conv2d(w, 3, 7, padding=3),
            )

        def forward(self, image: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
            """``image`` Bx3xHxW in [0, 1], ``hole`` Bx1xHxW (1 = fill); H, W multiples of 8.

            The hole is blanked to mid-grey before the network sees it, so nothing of
            what was there can leak into the prediction.
            """
            known = (image * 2 - 1) * (1 - hole)
            f = self.blocks(self.down(torch.cat([known, hole], 1)))
            for index, block in enumerate(self.procedural):
                alpha = self.mix[index]
                if float(alpha) > 0:
                    f = (1 - alpha) * f + alpha * block(f)
            return (torch.tanh(self.up(f)) + 1) / 2

    class PatchDiscriminator(nn.Module):
        """One PatchGAN: 3 stride-2 convs, 2 stride-1 convs; a logit per patch.

        ``features`` returns every layer's activation too: without ImageNet VGG-19,
        their distance is the perceptual term's stand-in (feature matching).
        """

        def __init__(self, width: int) -> None:
            super().__init__()
            w = width
            self.layers = nn.ModuleList([
                nn.Sequential(nn.Conv2d(3, w, 4, 2, 1), nn.LeakyReLU(0.2, True)),
                nn.Sequential(nn.Conv2d(w, 2 * w, 4, 2, 1), nn.InstanceNorm2d(2 * w),
                              nn.LeakyReLU(0.2, True)),
                nn.Sequential(nn.Conv2d(2 * w, 4 * w, 4, 2, 1), nn.InstanceNorm2d(4 * w),
                              nn.LeakyReLU(0.2, True)),
                nn.Sequential(nn.Conv2d(4 * w, 8 * w, 3, 1, 1), nn.InstanceNorm2d(8 * w),
                              nn.LeakyReLU(0.2, True)),
                nn.Conv2d(8 * w, 1, 3, 1, 1),
            ])

        def features(self, x: torch.Tensor) -> list[torch.Tensor]:
            out, h = [], x * 2 - 1
            for layer in self.layers:
                h = layer(h)
                out.append(h)
            return out

    class MultiScaleDiscriminator(nn.Module):
        """Identical PatchGANs on the image at full, ½ and ¼ size (ch. 3.3.2)."""

        def __init__(self, width: int, scales: int = SCALES) -> None:
            super().__init__()
            self.nets = nn.ModuleList(PatchDiscriminator(width) for _ in range(scales))

        def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
            """Each scale's layer activations; the last of each is its logits."""
            out = []
            for index, net in enumerate(self.nets):
                scaled = x if index == 0 else functional.avg_pool2d(x, 2 ** index)
                out.append(net.features(scaled))
            return out

    return {"Inpainter": Inpainter, "MultiScaleDiscriminator": MultiScaleDiscriminator}


def build_inpainter(widths: InpainterWidths) -> nn.Module:
    return _classes()["Inpainter"](widths)


def build_discriminator(widths: InpainterWidths) -> nn.Module:
    return _classes()["MultiScaleDiscriminator"](widths.discriminator)


def hole_labels(hole: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """1 where a patch of ``logits``' grid overlaps the hole: the only "fake" patches.

    Ch. 3.3.2's hole-aware labels: the composite is real outside the hole, so a patch
    that sees none of the hole is labelled real even in a generated image.
    """
    from torch.nn import functional

    return (functional.adaptive_max_pool2d(hole, logits.shape[-2:]) > 0).to(logits.dtype)
