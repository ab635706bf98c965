"""The three networks of ch. 4: the translator G0, the attention branch G_attn and D.

G(x) = A(x)·G0(x) + (1 − A(x))·x. G0 translates the whole image; G_attn says where the
translation belongs, so everything it leaves at 0 stays the photo itself. Widths are
parameters because the same code must train a usable model on a CPU, a real one on a
GPU and a toy one inside a unit test.

torch is imported inside functions: ``engines.translate`` registers its engine at
start-up and must not pay for a torch import.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from torch import nn

DILATION = 2
MULTIPLE = 4  # two stride-2 stages in G0 and two poolings in G_attn
VGG_WIDTH = 64  # torchvision's VGG-19 first-stage width: only this width can be warm-started
# torchvision vgg19.features indices up to and including relu3_3 (conv3_3 is index 14).
VGG_CONV_INDICES = (0, 2, 5, 7, 10, 12, 14)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# G_attn's first output, as a logit: A ≈ 0.12 everywhere. Ch. 4 does not say; a head
# starting at 0 gives A = 0.5, and where G0 left the photo as it was the GAN losses
# have no reason to move A at all, so a from-scratch branch kept half of every such
# pixel "translated" (an attention map that is grey wherever it is not sure). Starting
# low, A only grows where compositing G0 in buys realism.
ATTENTION_START = -2.0
# How the decoders of G0 and G_attn go back up by 2. Ch. 4 uses transposed convolutions
# ("deconvolutions"); their uneven kernel overlap printed a checkerboard into both G0(x)
# and A(x) of the first CPU-trained model, and a from-scratch attention branch never
# trained long enough to learn it away. A resize-convolution (bilinear ×2, then a 3×3
# convolution; Odena et al. 2016) cannot make that pattern. Model files name theirs.
TRANSPOSED = "transposed"
RESIZE = "resize"
UPSAMPLINGS = (TRANSPOSED, RESIZE)


@dataclass(frozen=True)
class Widths:
    """Network sizes, stored in every model file so it can be rebuilt exactly.

    ``generator``: G0's first-stage channels (CycleGAN uses 64); ``blocks``: its residual
    blocks (9 in ch. 4); ``attention``: G_attn's VGG first-stage channels (64 = VGG-19,
    the only width that ImageNet weights fit); ``discriminator``: D's first layer.
    """

    generator: int = 32
    blocks: int = 9
    attention: int = VGG_WIDTH
    discriminator: int = 64

    def __post_init__(self) -> None:
        if min(self.generator, self.attention, self.discriminator) < 1 or self.blocks < 0:
            raise ValueError(f"invalid network widths: {self}")

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@lru_cache(maxsize=1)
def _classes() -> dict[str, type]:
    """The torch module classes, defined on first use so importing this module stays cheap."""
    import torch
    from torch import nn

    class ResidualBlock(nn.Module):
        """Two dilated 3×3 convolutions with a skip: a wider view for the same weights."""

        def __init__(self, channels: int) -> None:
            super().__init__()
            self.body = nn.Sequential(
                nn.ReflectionPad2d(DILATION), nn.Conv2d(channels, channels, 3, dilation=DILATION),
                nn.InstanceNorm2d(channels), nn.ReLU(inplace=True),
                nn.ReflectionPad2d(DILATION), nn.Conv2d(channels, channels, 3, dilation=DILATION),
                nn.InstanceNorm2d(channels),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.body(x)

    class Translator(nn.Module):
        """G0: 7×7 in, 2 stride-2 convs, residual blocks, 2 up-convs, 7×7 out, + input.

        Instance norm, not batch norm: GAN translators train with batches of one, and
        instance norm keeps no running statistics that could differ at inference.
        """

        def __init__(self, width: int, blocks: int, upsampling: str = RESIZE) -> None:
            super().__init__()
            w = width
            self.net = nn.Sequential(
                nn.ReflectionPad2d(3), nn.Conv2d(3, w, 7), nn.InstanceNorm2d(w), nn.ReLU(True),
                nn.Conv2d(w, 2 * w, 3, 2, 1), nn.InstanceNorm2d(2 * w), nn.ReLU(True),
                nn.Conv2d(2 * w, 4 * w, 3, 2, 1), nn.InstanceNorm2d(4 * w), nn.ReLU(True),
                *(ResidualBlock(4 * w) for _ in range(blocks)),
                up_convolution(4 * w, 2 * w, upsampling, kernel=3),
                nn.InstanceNorm2d(2 * w), nn.ReLU(True),
                up_convolution(2 * w, w, upsampling, kernel=3),
                nn.InstanceNorm2d(w), nn.ReLU(True),
                nn.ReflectionPad2d(3), nn.Conv2d(w, 3, 7),
            )
            with torch.no_grad():  # start near the identity: a tiny change of the input
                last = self.net[-1]
                last.weight.mul_(0.1)
                last.bias.zero_()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            """``x`` Bx3xHxW in [0, 1], H and W multiples of 4; returns G0(x) in [0, 1].

            G0 predicts a change added to the photo. Starting from "leave it alone"
            (instead of CycleGAN's noise) keeps the self-regularization small from the
            first step, so the adversarial loss alone decides what changes: on a CPU
            budget that is the difference between a translation and a texture soup.
            """
            return (x + self.net(x * 2 - 1)).clamp(0, 1)

    class Attention(nn.Module):
        """G_attn: VGG-19 layers up to conv3_3, 2 up-convs back to full size, 1×1 conv, sigmoid.

        ``features`` keeps torchvision's layer indices so ImageNet VGG-19 weights load
        into it by name (``features.0.weight`` ...).
        """

        def __init__(self, width: int, upsampling: str = RESIZE) -> None:
            super().__init__()
            w = width
            self.width = width
            self.features = nn.Sequential(*vgg_layers(w, upto=16))
            self.up = nn.Sequential(
                up_convolution(4 * w, 2 * w, upsampling, kernel=4), nn.InstanceNorm2d(2 * w),
                nn.ReLU(True),
                up_convolution(2 * w, w, upsampling, kernel=4), nn.InstanceNorm2d(w),
                nn.ReLU(True),
            )
            self.head = nn.Conv2d(w, 1, 1)
            with torch.no_grad():  # start at "leave the photo alone", as G0 does
                self.head.bias.fill_(ATTENTION_START)
            mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
            std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
            self.register_buffer("mean", mean, persistent=False)
            self.register_buffer("std", std, persistent=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            """``x`` Bx3xHxW in [0, 1]; returns A(x) Bx1xHxW in (0, 1)."""
            f = self.features((x - self.mean) / self.std)
            return torch.sigmoid(self.head(self.up(f)))

    class Discriminator(nn.Module):
        """The 5-layer PatchGAN: 3 stride-2 convs, 2 stride-1 convs; one logit per patch."""

        def __init__(self, width: int) -> None:
            super().__init__()
            w = width
            self.net = nn.Sequential(
                nn.Conv2d(3, w, 4, 2, 1), nn.LeakyReLU(0.2, True),
                nn.Conv2d(w, 2 * w, 4, 2, 1), nn.InstanceNorm2d(2 * w), nn.LeakyReLU(0.2, True),
                nn.Conv2d(2 * w, 4 * w, 4, 2, 1), nn.InstanceNorm2d(4 * w),
                nn.LeakyReLU(0.2, True),
                nn.Conv2d(4 * w, 8 * w, 4, 1, 1), nn.InstanceNorm2d(8 * w),
                nn.LeakyReLU(0.2, True),
                nn.Conv2d(8 * w, 1, 4, 1, 1),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.net(x * 2 - 1)

    return {"Translator": Translator, "Attention": Attention, "Discriminator": Discriminator}


def up_convolution(channels: int, out: int, upsampling: str, kernel: int) -> nn.Module:
    """×2 up: a transposed convolution (ch. 4, model files of version 1; ``kernel`` is
    its size, 3 in G0 and 4 in G_attn, as those files hold them) or a resize-convolution
    (bilinear ×2, reflection pad, 3×3 convolution)."""
    from torch import nn

    if upsampling == TRANSPOSED:
        if kernel == 3:
            return nn.ConvTranspose2d(channels, out, 3, 2, 1, output_padding=1)
        return nn.ConvTranspose2d(channels, out, kernel, 2, 1)
    if upsampling != RESIZE:
        raise ValueError(f"unknown upsampling {upsampling!r}")
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                         nn.ReflectionPad2d(1), nn.Conv2d(channels, out, 3))


def vgg_layers(width: int, upto: int) -> list[nn.Module]:
    """VGG-19's ``features[:upto]`` at first-stage ``width`` (64 = the real VGG-19)."""
    from engines.vgg import VGG19_PLAN
    from engines.vgg import vgg_layers as stack

    scale = width / 64
    return stack([item if item == "M" else round(int(item) * scale) for item in VGG19_PLAN],
                 upto)


def build_translator(widths: Widths, upsampling: str = RESIZE) -> nn.Module:
    return _classes()["Translator"](widths.generator, widths.blocks, upsampling)


def build_attention(widths: Widths, upsampling: str = RESIZE) -> nn.Module:
    return _classes()["Attention"](widths.attention, upsampling)


def build_discriminator(widths: Widths) -> nn.Module:
    return _classes()["Discriminator"](widths.discriminator)


def imagenet_vgg_state() -> dict[str, Any] | None:
    """torchvision's ImageNet VGG-19 ``features.*`` tensors when installed, else None.

    A missing or unreadable file (or a broken registry) is not an error here: the
    attention branch then starts from scratch, and the model file says so.
    """
    try:
        from engines.store import weights

        entry = weights.entry("vgg19")
        if not weights.is_installed(entry):
            return None
        state = weights.load_state_dict(entry)
    except Exception:
        return None
    return {k: v for k, v in state.items() if k.startswith("features.")}


def warm_start_attention(attention: nn.Module, state: dict[str, Any] | None) -> bool:
    """Copy ImageNet VGG-19 weights into G_attn's VGG layers; True when it did."""
    if state is None or attention.width != VGG_WIDTH:
        return False
    import torch

    own = attention.features.state_dict()
    picked = {k[len("features."):]: v for k, v in state.items()
              if k[len("features."):] in own}
    if len(picked) != len(own) or any(picked[k].shape != own[k].shape for k in own):
        return False
    with torch.no_grad():
        attention.features.load_state_dict(picked)
    return True


def perceptual_network(width: int, state: dict[str, Any] | None, seed: int = 0) -> nn.Module:
    """F̂ of eq. 4.4: VGG-19's first three conv layers (ImageNet weights when given).

    Without ImageNet weights the layers keep a fixed random initialisation (seeded, so a
    resumed run measures the same distance): random 3×3 filters still compare local
    colour and edge structure, which is what the self-regularization must keep.
    """
    import torch
    from torch import nn

    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    layers = vgg_layers(width, upto=7)  # conv1_1, relu, conv1_2, relu, pool, conv2_1, relu
    torch.random.set_rng_state(generator_state)
    net = nn.Sequential(*layers)
    if state is not None and width == VGG_WIDTH:
        own = net.state_dict()
        net.load_state_dict({k: state[f"features.{k}"] for k in own})
    for p in net.parameters():
        p.requires_grad_(False)
    return net.eval()


# Outputs of the three layers (after ReLU) and their weights w_l (ch. 4: 1/32, 1/16, 1/8).
PERCEPTUAL_TAPS = ((1, 1 / 32), (3, 1 / 16), (6, 1 / 8))


def perceptual_distance(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """ℓ_reg(y, x) = Σ_l w_l · mean_hw ‖F̂_l(x) − F̂_l(y)‖² / E_l (eq. 4.4, batch mean).

    E_l, the mean ‖F̂_l(x)‖² of the input (held constant), is not in eq. 4.4: it makes
    the distance relative, so λ means the same whether F̂ has ImageNet weights or
    random ones, whose features are orders of magnitude weaker.
    """
    mean = x.new_tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = x.new_tensor(IMAGENET_STD).view(1, 3, 1, 1)
    a, b = (x - mean) / std, (y - mean) / std
    total = x.new_zeros(())
    taps = dict(PERCEPTUAL_TAPS)
    for index, layer in enumerate(net):
        a, b = layer(a), layer(b)
        if index in taps:
            energy = a.detach().pow(2).sum(1).mean().clamp_min(1e-8)
            total = total + taps[index] * (a - b).pow(2).sum(1).mean() / energy
        if index >= max(taps):
            break
    return total
