"""FIR resampling for StyleGAN2 ("upfirdn2d"): upsample, pad, filter, all in plain torch.

NVIDIA's release ships a custom CUDA op for this; the generator only needs the 2× up
case with the [1, 3, 3, 1] binomial filter, which is a zero-stuffing, a pad and a
depthwise convolution. Plain torch keeps the engine working on CPU, CUDA and MPS and
free of compiled extensions, and the numbers match the reference implementation
because the operations are the same ones in the same order.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

BINOMIAL = (1.0, 3.0, 3.0, 1.0)


def setup_filter(taps: Sequence[float] = BINOMIAL) -> torch.Tensor:
    """The separable taps as a normalized 2-D kernel (sum 1), as stored in the official pickles."""
    f = torch.as_tensor(list(taps), dtype=torch.float32)
    kernel = torch.outer(f, f)
    return kernel / kernel.sum()


def upfirdn2d(
    x: torch.Tensor,
    kernel: torch.Tensor,
    up: int = 1,
    pad: tuple[int, int, int, int] = (0, 0, 0, 0),
    gain: float = 1.0,
) -> torch.Tensor:
    """Insert ``up - 1`` zeros after every sample, pad (x0, x1, y0, y1), convolve with ``kernel``.

    ``gain`` scales the kernel; upsampling by 2 passes 4 so that the zeros do not
    darken the result. The kernel is flipped to make this a true convolution like the
    reference (it is symmetric for the binomial filter, so this only matters for others).
    """
    n, c, h, w = x.shape
    if up > 1:
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(n, c, h * up, w * up)
    x0, x1, y0, y1 = pad
    if any(p < 0 for p in pad):
        raise ValueError(f"negative padding is not supported: {pad}")
    if any(pad):
        x = F.pad(x, [x0, x1, y0, y1])
    k = (kernel * gain).to(x.dtype).flip([0, 1])
    k = k[None, None].expand(c, 1, *k.shape)
    return F.conv2d(x, k, groups=c)


def upsample2d(x: torch.Tensor, kernel: torch.Tensor, factor: int = 2) -> torch.Tensor:
    """Upsample by ``factor`` with the FIR ``kernel``; output is exactly ``factor`` times larger."""
    kh = kernel.shape[0]
    p0 = (kh + factor - 1) // 2
    p1 = (kh - factor) // 2
    return upfirdn2d(x, kernel, up=factor, pad=(p0, p1, p0, p1), gain=factor * factor)
