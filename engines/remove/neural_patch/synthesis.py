"""The energy of neural patch synthesis and its coarse-to-fine L-BFGS solve (ch. 2.3).

At each scale the hole's pixels x minimise (eq. 2.1)

    E(x) = E_c(x) + α·E_t(x) + β·Υ(x)

- E_c (eq. 2.2): squared distance, inside the hole, to the content prediction at the
  coarsest scale and to the previous scale's result (upsampled) after that;
- E_t (eq. 2.3–2.4): for every 3×3 neural patch of the hole (VGG-19 relu3_1 and
  relu4_1), the squared distance to its nearest neighbour among the patches outside
  the hole; neighbours by normalised cross-correlation, computed as a convolution of
  the feature map with the outside patches (normalised) as filters, in chunks so the
  memory stays bounded, and found again at every iteration;
- Υ (eq. 2.5): total variation, squared differences of neighbouring pixels.

Units: pixels count in 0–255 and feature maps are multiplied by ``FEATURE_GAIN``, so
the terms have the magnitudes of the thesis's VGG (Caffe weights, 0–255 input) for
which α = β = 5e-6 were set; torchvision's VGG reads 0–1 input divided by the ImageNet
spread, which shrinks its activations by about that factor.

Two economies that leave the energy unchanged where it matters: the outside patches
(the bank) come from the scale's starting image once, because outside pixels never
change (only the few near the hole see it through their receptive field); and during
the iterations VGG runs on a window around the hole (the hole's box plus a margin,
aligned to VGG's pooling), not on the whole image.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from engines.base import CancelToken
from engines.remove.neural_patch.vgg import IMAGENET_STD, TextureNetwork, feature_size

FEATURE_GAIN = 255.0 * float(np.mean(IMAGENET_STD))
PIXEL_UNIT = 1.0
MARGIN = 32  # px of context around the hole's box that VGG sees during the iterations
ALIGN = 8  # VGG pools three times before relu4_1: windows start on multiples of 8
MIN_SIDE = 32  # a scale smaller than this is skipped (nothing left to synthesise)


@dataclass(frozen=True)
class SynthesisSettings:
    """The solve's knobs; the defaults are the dissertation's where it gives them."""

    alpha: float = 5e-6  # texture term weight (ch. 2.3.2)
    beta: float = 5e-6  # total variation weight
    iterations: int = 20  # L-BFGS iterations per scale (20: 512² in under 3 min on 2 cores)
    scales: int = 3  # the thesis: a 512×512 photo with a 256×256 hole, 3 scales
    bank_stride: int = 2  # outside patches taken at every n-th feature position
    chunk: int = 512  # outside patches per convolution of the neighbour search
    precision: str = "fp32"  # "bf16" / "fp16": VGG under autocast on CUDA (measure first)


@dataclass(frozen=True)
class Iteration:
    """One L-BFGS iteration, reported as it ends (the energy is the one it started at)."""

    scale: int  # 0 = coarsest
    scales: int
    iteration: int
    iterations: int
    energy: float
    content: float
    texture: float
    smoothness: float
    image: np.ndarray  # the scale's whole image with the current hole, HxWx3 in [0, 1]


@dataclass
class _Bank:
    """The outside patches of one layer: raw (targets) and normalised (filters)."""

    raw: torch.Tensor  # D × K
    filters: torch.Tensor  # K × C × 3 × 3, unit length


def synthesize(
    image: np.ndarray,
    hole: np.ndarray,
    content: np.ndarray,
    network: TextureNetwork,
    settings: SynthesisSettings,
    device: str = "cpu",
    on_iteration: Callable[[Iteration], None] | None = None,
    cancel: CancelToken | None = None,
) -> np.ndarray:
    """The hole of ``image`` (HxWx3 float32 in [0, 1]; ``hole`` bool HxW) synthesised
    coarse to fine from ``content`` (the prediction, HxWx3 or any size). Pixels outside
    the hole are the image's own. Returns HxWx3 float32."""
    cancel = cancel or CancelToken()
    h, w = hole.shape
    sizes = _scale_sizes(w, h, settings.scales)
    previous: np.ndarray | None = None
    for scale, (sw, sh) in enumerate(sizes):
        level_image = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA)
        level_hole = cv2.resize(hole.astype(np.float32), (sw, sh),
                                interpolation=cv2.INTER_AREA) > 0
        guide = content if previous is None else previous
        target = cv2.resize(np.ascontiguousarray(guide, np.float32), (sw, sh),
                            interpolation=cv2.INTER_AREA if previous is None
                            else cv2.INTER_CUBIC).clip(0, 1)
        previous = _solve_scale(level_image, level_hole, target, network, settings, device,
                                scale, len(sizes), on_iteration, cancel)
    assert previous is not None
    if previous.shape[:2] != (h, w):
        previous = cv2.resize(previous, (w, h), interpolation=cv2.INTER_CUBIC).clip(0, 1)
    return np.where(hole[..., None], previous, image).astype(np.float32)


def _scale_sizes(w: int, h: int, scales: int) -> list[tuple[int, int]]:
    sizes = []
    for scale in range(scales):
        factor = 2 ** (scales - 1 - scale)
        sw, sh = max(1, round(w / factor)), max(1, round(h / factor))
        if min(sw, sh) >= MIN_SIDE or factor == 1:
            sizes.append((sw, sh))
    return sizes


def _window(hole: np.ndarray) -> tuple[slice, slice]:
    """The hole's box plus MARGIN, starting and ending on multiples of ALIGN."""
    ys, xs = np.nonzero(hole)
    h, w = hole.shape
    y0 = max(0, (int(ys.min()) - MARGIN) // ALIGN * ALIGN)
    x0 = max(0, (int(xs.min()) - MARGIN) // ALIGN * ALIGN)
    y1 = min(h, y0 + math.ceil((int(ys.max()) + 1 + MARGIN - y0) / ALIGN) * ALIGN)
    x1 = min(w, x0 + math.ceil((int(xs.max()) + 1 + MARGIN - x0) / ALIGN) * ALIGN)
    return slice(y0, y1), slice(x0, x1)


def _to_tensor(values: np.ndarray, device: str) -> torch.Tensor:
    array = np.ascontiguousarray(values, np.float32)
    if array.ndim == 2:
        return torch.from_numpy(array)[None, None].to(device)
    return torch.from_numpy(array).permute(2, 0, 1)[None].contiguous().to(device)


def _feature_hole(hole: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Feature positions that see any hole pixel (area > 0 after pooling), as bool."""
    return F.adaptive_max_pool2d(hole, size)[0, 0] > 0 if hole.shape[-2:] != size \
        else hole[0, 0] > 0


def _bank(features: torch.Tensor, hole_positions: torch.Tensor, stride: int) -> _Bank:
    """Every ``stride``-th 3×3 patch that neither touches the hole nor the map's border."""
    _, c, fh, fw = features.shape
    near = F.max_pool2d(hole_positions[None, None].float(), 5, stride=1, padding=2)[0, 0] > 0
    keep = ~near
    keep[:1, :] = keep[-1:, :] = False
    keep[:, :1] = keep[:, -1:] = False
    grid = torch.zeros_like(keep)
    grid[::stride, ::stride] = True
    positions = torch.nonzero((keep & grid).flatten()).flatten()
    if positions.numel() == 0:
        positions = torch.nonzero(keep.flatten()).flatten()
    patches = F.unfold(features, 3, padding=1)[0][:, positions]  # D × K
    norms = patches.norm(dim=0, keepdim=True).clamp_min(1e-8)
    filters = (patches / norms).t().reshape(-1, c, 3, 3).contiguous()
    return _Bank(patches, filters)


def _nearest(features: torch.Tensor, query: torch.Tensor, bank: _Bank,
             chunk: int) -> torch.Tensor:
    """For each query position (flat index into the map), the bank patch of highest
    normalised cross-correlation: a convolution with the bank as filters, in chunks."""
    best_score = torch.full((query.numel(),), -math.inf, device=features.device)
    best_index = torch.zeros(query.numel(), dtype=torch.long, device=features.device)
    for start in range(0, bank.filters.shape[0], chunk):
        filters = bank.filters[start:start + chunk]
        response = F.conv2d(features, filters, padding=1)[0].flatten(1)[:, query]  # K × Q
        score, index = response.max(dim=0)
        better = score > best_score
        best_score = torch.where(better, score, best_score)
        best_index = torch.where(better, index + start, best_index)
    return best_index


def _solve_scale(
    image: np.ndarray,
    hole: np.ndarray,
    target: np.ndarray,
    network: TextureNetwork,
    settings: SynthesisSettings,
    device: str,
    scale: int,
    scales: int,
    on_iteration: Callable[[Iteration], None] | None,
    cancel: CancelToken,
) -> np.ndarray:
    """L-BFGS on one scale's hole pixels; returns the scale's whole image."""
    start = np.where(hole[..., None], target, image).astype(np.float32)
    full = _to_tensor(start, device)
    full_hole = _to_tensor(hole.astype(np.float32), device)
    with torch.no_grad():
        taps = network(full)
    banks = {}
    for name, features in taps.items():
        features = features * FEATURE_GAIN
        banks[name] = _bank(features, _feature_hole(full_hole, features.shape[-2:]),
                            settings.bank_stride)

    rows, cols = _window(hole)
    known = _to_tensor(np.where(hole[..., None], 0.0, image)[rows, cols], device)
    inside = _to_tensor(hole[rows, cols].astype(np.float32), device)
    goal = _to_tensor(target[rows, cols], device)
    pixels = _to_tensor(start[rows, cols], device).requires_grad_(True)
    window_size = (int(inside.shape[-2]), int(inside.shape[-1]))
    queries = {name: torch.nonzero(_feature_hole(inside, feature_size(window_size, name))
                                   .flatten()).flatten() for name in network.layers}
    optimizer = torch.optim.LBFGS([pixels], lr=1.0, max_iter=1, history_size=10)
    terms: dict[str, float] = {}
    half = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(settings.precision)
    autocast = half is not None and device.startswith("cuda")

    def texture_features(x: torch.Tensor) -> dict[str, torch.Tensor]:
        with torch.autocast("cuda", dtype=half or torch.bfloat16, enabled=autocast):
            taps = network(x)
        return {name: f.float() * FEATURE_GAIN for name, f in taps.items()}

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        x = known + inside * pixels
        content = (((x - goal) * inside * PIXEL_UNIT) ** 2).sum()
        texture = x.new_zeros(())
        for name, features in texture_features(x).items():
            query = queries[name]
            if query.numel() == 0 or banks[name].raw.shape[1] == 0:
                continue  # a map too small to hold patches clear of the hole
            with torch.no_grad():
                nearest = _nearest(features.detach(), query, banks[name], settings.chunk)
            patches = F.unfold(features, 3, padding=1)[0][:, query]
            texture = texture + ((patches - banks[name].raw[:, nearest]) ** 2).sum(0).mean()
        dx = (x[..., :, 1:] - x[..., :, :-1]) * PIXEL_UNIT
        dy = (x[..., 1:, :] - x[..., :-1, :]) * PIXEL_UNIT
        smoothness = (dx ** 2).sum() + (dy ** 2).sum()
        energy = content + settings.alpha * texture + settings.beta * smoothness
        energy.backward()
        terms.update(energy=float(energy.detach()), content=float(content.detach()),
                     texture=float(texture.detach()), smoothness=float(smoothness.detach()))
        return energy

    result = start.copy()
    for iteration in range(settings.iterations):
        cancel.raise_if_set()
        optimizer.step(closure)
        with torch.no_grad():
            pixels.clamp_(0.0, 1.0)
            window = (known + inside * pixels)[0].permute(1, 2, 0).cpu().numpy()
        result[rows, cols] = window
        if on_iteration is not None:
            on_iteration(Iteration(scale, scales, iteration, settings.iterations,
                                   terms["energy"], terms["content"], terms["texture"],
                                   terms["smoothness"], result.copy()))
    return result
