"""StyleGAN2's building blocks: equalized-lr dense layers and modulated convolutions.

Parameter and buffer names follow NVIDIA's ``training/networks_stylegan2.py`` (the
stylegan2-ada-pytorch / stylegan3 releases) so that a converted official network loads
with ``load_state_dict(strict=True)``: a missing or misnamed tensor is an error rather
than a silently random layer. The maths is the paper's (Karras et al. 2020): weights are
stored unscaled and multiplied by their He gain at run time ("equalized learning
rate"), styles scale the convolution's input channels, and demodulation renormalizes
each output channel so that styles cannot blow activations up.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from engines.expression.stylegan.resample import setup_filter, upfirdn2d

LRELU_SLOPE = 0.2
LRELU_GAIN = math.sqrt(2.0)


def bias_lrelu(x: torch.Tensor, bias: torch.Tensor, gain: float = 1.0,
               clamp: float | None = None) -> torch.Tensor:
    """Bias, leaky ReLU, the √2 gain that keeps the variance, optional clamp (as bias_act)."""
    x = x + bias.to(x.dtype).reshape(1, -1, *([1] * (x.ndim - 2)))
    x = F.leaky_relu(x, LRELU_SLOPE) * (LRELU_GAIN * gain)
    if clamp is not None:
        x = x.clamp(-clamp * gain, clamp * gain)
    return x


class FullyConnectedLayer(nn.Module):
    """Dense layer with equalized learning rate (``lr_multiplier`` slows the mapping net)."""

    def __init__(self, in_features: int, out_features: int, activation: str = "linear",
                 lr_multiplier: float = 1.0, bias_init: float = 0.0) -> None:
        super().__init__()
        if activation not in ("linear", "lrelu"):
            raise ValueError(f"unknown activation {activation!r}")
        self.activation = activation
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_multiplier)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init)))
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight.to(x.dtype) * self.weight_gain
        b = self.bias.to(x.dtype) * self.bias_gain
        if self.activation == "linear":
            return torch.addmm(b.unsqueeze(0), x, w.t())
        return bias_lrelu(x.matmul(w.t()), b)


def modulated_conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    styles: torch.Tensor,
    demodulate: bool = True,
    up: int = 1,
    padding: int = 0,
    resample_filter: torch.Tensor | None = None,
) -> torch.Tensor:
    """Per-sample modulated (and demodulated) convolution as one grouped convolution.

    The per-sample weights are built in float32 whatever the input dtype, because the
    sum of squares in the demodulation overflows half precision. ``up=2`` is a
    transposed convolution with stride 2 followed by the FIR filter, the order of the
    reference ``conv2d_resample`` (so the official weights give the official images).
    """
    n, c_in, h, w = x.shape
    c_out, _, kh, kw = weight.shape
    wgt = weight.float().unsqueeze(0) * styles.float().reshape(n, 1, c_in, 1, 1)
    if demodulate:
        wgt = wgt * torch.rsqrt(wgt.square().sum(dim=(2, 3, 4), keepdim=True) + 1e-8)
    wgt = wgt.to(x.dtype)
    x = x.reshape(1, n * c_in, h, w)
    if up == 1:
        out = F.conv2d(x, wgt.reshape(n * c_out, c_in, kh, kw), padding=padding, groups=n)
    elif up == 2:
        if resample_filter is None:
            raise ValueError("upsampling needs a resample filter")
        wt = wgt.transpose(1, 2).reshape(n * c_in, c_out, kh, kw)
        out = F.conv_transpose2d(x, wt, stride=2, groups=n)
        # The reference pads by (filter + up - 1) // 2 + padding - (kernel - 1) in front
        # and (filter - up) // 2 + padding - (kernel - up) behind: 1 and 1 for 3×3.
        fh = resample_filter.shape[0]
        p0 = (fh + up - 1) // 2 + padding - (kw - 1)
        p1 = (fh - up) // 2 + padding - (kw - up)
        out = upfirdn2d(out, resample_filter, pad=(p0, p1, p0, p1), gain=up * up)
    else:
        raise ValueError(f"unsupported upsampling factor {up}")
    return out.reshape(n, c_out, *out.shape[2:])


class SynthesisLayer(nn.Module):
    """A modulated 3×3 convolution, optionally upsampling, plus noise, bias and leaky ReLU.

    Noise is the stored ``noise_const`` image scaled by the learned strength: inversion
    keeps it fixed so that all of a face's variation has to come from its styles.
    """

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int,
                 up: int = 1, conv_clamp: float | None = None) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.resolution = resolution
        self.up = up
        self.conv_clamp = conv_clamp
        self.register_buffer("resample_filter", setup_filter())
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, 3, 3))
        self.register_buffer("noise_const", torch.randn(resolution, resolution))
        self.noise_strength = nn.Parameter(torch.zeros([]))
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor, use_noise: bool = True) -> torch.Tensor:
        styles = self.affine(w)
        x = modulated_conv2d(x, self.weight, styles, up=self.up, padding=1,
                             resample_filter=self.resample_filter)
        if use_noise:
            x = x + (self.noise_const * self.noise_strength).to(x.dtype)
        return bias_lrelu(x, self.bias, clamp=self.conv_clamp)


class ToRGBLayer(nn.Module):
    """Modulated 1×1 convolution to colour, without demodulation (it sets the colours)."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int,
                 conv_clamp: float | None = None) -> None:
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, 1, 1))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.weight_gain = 1.0 / math.sqrt(in_channels)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        styles = self.affine(w) * self.weight_gain
        x = modulated_conv2d(x, self.weight, styles, demodulate=False)
        x = x + self.bias.to(x.dtype).reshape(1, -1, 1, 1)
        if self.conv_clamp is not None:
            x = x.clamp(-self.conv_clamp, self.conv_clamp)
        return x
