"""StyleGAN2 generator (config F, skip generator): mapping network and synthesis network.

The layout mirrors NVIDIA's pickles (``mapping.fc0.weight``, ``synthesis.b4.const``,
``synthesis.b8.torgb.affine.weight``, ``synthesis.b16.conv0.noise_const``,
``mapping.w_avg`` ...), so converted official weights load strictly. Resolution and
channel widths come from a ``GeneratorConfig``, which lets tests build a 32-pixel
network with a handful of channels on exactly the code path the 1024-pixel FFHQ model
uses. ``num_ws`` is 2·log2(resolution) − 2: 18 styles at 1024 px.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import nn

from engines.expression.stylegan.layers import FullyConnectedLayer, SynthesisLayer, ToRGBLayer
from engines.expression.stylegan.resample import setup_filter, upsample2d


@dataclass(frozen=True)
class GeneratorConfig:
    """Shape of a generator; ``channels[i]`` is the width at resolution 4·2^i."""

    resolution: int = 1024
    z_dim: int = 512
    w_dim: int = 512
    mapping_layers: int = 8
    channels: tuple[int, ...] = (512, 512, 512, 512, 512, 256, 128, 64, 32)
    img_channels: int = 3
    conv_clamp: float | None = None
    mapping_lr_multiplier: float = 0.01

    def __post_init__(self) -> None:
        log2 = math.log2(self.resolution)
        if self.resolution < 4 or log2 != int(log2):
            raise ValueError(f"resolution must be a power of two >= 4, not {self.resolution}")
        if len(self.channels) != int(log2) - 1:
            raise ValueError(
                f"{self.resolution} px needs {int(log2) - 1} channel widths, "
                f"got {len(self.channels)}"
            )

    @property
    def num_ws(self) -> int:
        return 2 * int(math.log2(self.resolution)) - 2

    @property
    def block_resolutions(self) -> tuple[int, ...]:
        return tuple(4 * 2**i for i in range(len(self.channels)))

    @classmethod
    def standard(cls, resolution: int = 1024, channel_base: int = 32768, channel_max: int = 512,
                 **kwargs: object) -> GeneratorConfig:
        """Widths as NVIDIA computes them: min(channel_base / res, channel_max)."""
        count = int(math.log2(resolution)) - 1
        channels = tuple(min(channel_base // (4 * 2**i), channel_max) for i in range(count))
        return cls(resolution=resolution, channels=channels, **kwargs)  # type: ignore[arg-type]

    @classmethod
    def from_state_dict(cls, state: Mapping[str, torch.Tensor],
                        conv_clamp: float | None = None) -> GeneratorConfig:
        """Read the shape off the tensors, so a converted file needs no separate description."""
        fcs = sorted(int(m.group(1)) for k in state
                     if (m := re.fullmatch(r"mapping\.fc(\d+)\.weight", k)))
        blocks = sorted({int(m.group(1)) for k in state
                         if (m := re.match(r"synthesis\.b(\d+)\.", k))})
        if not fcs or not blocks or blocks[0] != 4:
            raise ValueError("not a StyleGAN2 generator state dict (no mapping.fc*/synthesis.b4)")
        last = blocks[-1]
        return cls(
            resolution=last,
            z_dim=int(state["mapping.fc0.weight"].shape[1]),
            w_dim=int(state[f"mapping.fc{fcs[-1]}.weight"].shape[0]),
            mapping_layers=len(fcs),
            channels=tuple(int(state[f"synthesis.b{r}.conv1.weight"].shape[0]) for r in blocks),
            img_channels=int(state[f"synthesis.b{last}.torgb.weight"].shape[0]),
            conv_clamp=conv_clamp,
        )


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


class MappingNetwork(nn.Module):
    """z → w through ``mapping_layers`` leaky-ReLU dense layers; ``w_avg`` is the mean style."""

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        self.num_ws = config.num_ws
        self.layer_count = config.mapping_layers
        features = [config.z_dim] + [config.w_dim] * config.mapping_layers
        for i in range(config.mapping_layers):
            setattr(self, f"fc{i}", FullyConnectedLayer(
                features[i], features[i + 1], activation="lrelu",
                lr_multiplier=config.mapping_lr_multiplier))
        self.register_buffer("w_avg", torch.zeros(config.w_dim))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """One w per sample, broadcast to ``num_ws`` rows (N × num_ws × w_dim)."""
        x = normalize_2nd_moment(z.float())
        for i in range(self.layer_count):
            x = getattr(self, f"fc{i}")(x)
        return x.unsqueeze(1).repeat(1, self.num_ws, 1)


class SynthesisBlock(nn.Module):
    """One resolution: (upsampling) conv0, conv1, and a toRGB added to the upsampled image."""

    def __init__(self, in_channels: int, out_channels: int, config: GeneratorConfig,
                 resolution: int) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.register_buffer("resample_filter", setup_filter())
        if in_channels == 0:
            self.const = nn.Parameter(torch.randn(out_channels, resolution, resolution))
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, config.w_dim, resolution,
                                        up=2, conv_clamp=config.conv_clamp)
        self.conv1 = SynthesisLayer(out_channels, out_channels, config.w_dim, resolution,
                                    conv_clamp=config.conv_clamp)
        self.torgb = ToRGBLayer(out_channels, config.img_channels, config.w_dim,
                                conv_clamp=config.conv_clamp)
        self.num_conv = 1 if in_channels == 0 else 2

    def forward(self, x: torch.Tensor | None, img: torch.Tensor | None, ws: torch.Tensor,
                use_noise: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """``ws`` holds this block's styles: its convolutions' and then its toRGB's."""
        if self.in_channels == 0:
            x = self.const.to(ws.dtype).unsqueeze(0).repeat(ws.shape[0], 1, 1, 1)
            x = self.conv1(x, ws[:, 0], use_noise)
        else:
            assert x is not None
            x = self.conv0(x, ws[:, 0], use_noise)
            x = self.conv1(x, ws[:, 1], use_noise)
        y = self.torgb(x, ws[:, self.num_conv]).float()
        img = y if img is None else upsample2d(img, self.resample_filter) + y
        return x, img


class SynthesisNetwork(nn.Module):
    """W+ (N × num_ws × w_dim) → image (N × 3 × res × res, about [-1, 1])."""

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        self.num_ws = config.num_ws
        self.block_resolutions = config.block_resolutions
        previous = 0
        for res, width in zip(config.block_resolutions, config.channels, strict=True):
            setattr(self, f"b{res}", SynthesisBlock(previous, width, config, res))
            previous = width

    def forward(self, ws: torch.Tensor, use_noise: bool = True) -> torch.Tensor:
        if ws.ndim != 3 or ws.shape[1] != self.num_ws:
            raise ValueError(f"expected N × {self.num_ws} × w_dim styles, got {tuple(ws.shape)}")
        x = img = None
        index = 0
        for res in self.block_resolutions:
            block: SynthesisBlock = getattr(self, f"b{res}")
            # A block's toRGB shares its style row with the next block's first convolution.
            x, img = block(x, img, ws[:, index:index + block.num_conv + 1], use_noise)
            index += block.num_conv
        assert img is not None
        return img


class Generator(nn.Module):
    """StyleGAN2's generator: ``mapping`` (z → w) and ``synthesis`` (W+ → image)."""

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        self.config = config
        self.mapping = MappingNetwork(config)
        self.synthesis = SynthesisNetwork(config)

    @property
    def num_ws(self) -> int:
        return self.config.num_ws

    @property
    def w_avg(self) -> torch.Tensor:
        return self.mapping.w_avg

    def forward(self, z: torch.Tensor, truncation: float = 1.0) -> torch.Tensor:
        ws = self.mapping(z)
        if truncation != 1.0:
            ws = self.w_avg.lerp(ws, truncation)
        return self.synthesis(ws)

    @torch.no_grad()
    def estimate_w_avg(self, samples: int = 4096, seed: int = 0) -> torch.Tensor:
        """Set ``w_avg`` to the mean w of random z (random test networks have none stored)."""
        generator = torch.Generator().manual_seed(seed)
        z = torch.randn(samples, self.config.z_dim, generator=generator)
        w = self.mapping(z.to(self.w_avg.device))[:, 0]
        self.mapping.w_avg.copy_(w.mean(dim=0))
        return self.mapping.w_avg


def to_unit_range(img: torch.Tensor) -> torch.Tensor:
    """Generator output (about [-1, 1]) → [0, 1], the range of every image in the engines."""
    return (img + 1.0) * 0.5
