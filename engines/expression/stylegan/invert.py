"""W+ inversion (ch. 6.3.3): find the 18 × 512 styles whose image matches an aligned face.

s_I = argmin_s D(g(s), I) with g the frozen synthesis network, its noise inputs fixed to
the stored constants (so every difference has to be explained by the styles) and D the
perceptual distance of ``perceptual.py``. Adam replaces the chapter's plain gradient
descent at lr 1: it is far less sensitive to the scale of the loss, which changes with
the feature layer. The learning rate ramps up over the first 5 % of the steps and
down along a half cosine over the last 25 %, which settles the styles instead of
leaving them jittering at the end.

The start is the mean style ``w_avg`` (a plausible average face, the default) or zero
(the dissertation's choice). Results are cached (``style_cache``): re-running with other
layers or strength does not invert again.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from engines.base import CancelToken, InvalidInput, Progress, Report, ignore_progress
from engines.expression.stylegan.generator import Generator, to_unit_range
from engines.expression.stylegan.perceptual import PerceptualLoss
from engines.expression.stylegan.style_cache import StyleCache, style_key

STARTS = ("mean", "zero")
PREVIEW_SIDE = 256  # previews are for the eye; a 1024² float copy per preview is waste


@dataclass(frozen=True)
class InversionSettings:
    steps: int = 1000
    start: str = "mean"
    learning_rate: float = 0.05
    rampup: float = 0.05  # fraction of the steps
    rampdown: float = 0.25  # fraction of the steps
    preview_every: int = 25
    amp: bool = True  # bfloat16 autocast on CUDA; ignored elsewhere

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise InvalidInput(f"The inversion needs at least one step, not {self.steps}.")
        if self.start not in STARTS:
            raise InvalidInput(f"The inversion starts from 'mean' or 'zero', not {self.start!r}.")

    def learning_rate_at(self, step: int) -> float:
        t = step / max(1, self.steps)
        ramp = min(1.0, (1.0 - t) / self.rampdown) if self.rampdown > 0 else 1.0
        ramp = 0.5 - 0.5 * math.cos(ramp * math.pi)
        if self.rampup > 0:
            ramp *= min(1.0, t / self.rampup + 1.0 / max(1, self.steps))
        return self.learning_rate * ramp


@dataclass(frozen=True)
class Inversion:
    styles: np.ndarray  # num_ws × w_dim, float32
    loss_start: float
    loss_end: float
    cached: bool
    seconds: float


@dataclass(frozen=True)
class ProgressSpan:
    """Where one inversion sits in the whole operation's progress (two faces, then blending)."""

    offset: int = 0
    total: int = 0
    label: str = "Inverting"


def image_tensor(image: np.ndarray, device: str | torch.device) -> torch.Tensor:
    """H×W×3 float in [0, 1] → 1×3×H×W on ``device``."""
    array = np.ascontiguousarray(np.asarray(image, dtype=np.float32)[..., :3])
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0).to(device)


def preview_of(image: torch.Tensor) -> np.ndarray:
    """First image of a 1×3×H×W [0, 1] batch as a small H×W×3 float32 array."""
    x = image.detach()[:1].float()
    if x.shape[-1] > PREVIEW_SIDE:
        x = F.interpolate(x, size=(PREVIEW_SIDE, PREVIEW_SIDE), mode="area")
    return x[0].clamp(0, 1).permute(1, 2, 0).cpu().numpy()


@contextmanager
def fast_math(device: str) -> Iterator[None]:
    """TF32 matmuls/convolutions and cuDNN autotuning on CUDA, restored afterwards.

    TF32 keeps float32's range (unlike half precision), so the loss and the
    demodulation cannot overflow; its 10-bit mantissa is plenty for an optimization
    that stops at a perceptual loss, not at machine precision.
    """
    if not device.startswith("cuda"):
        yield
        return
    matmul, conv = torch.backends.cuda.matmul, torch.backends.cudnn
    saved = (matmul.allow_tf32, conv.allow_tf32, conv.benchmark)
    matmul.allow_tf32, conv.allow_tf32, conv.benchmark = True, True, True
    try:
        yield
    finally:
        matmul.allow_tf32, conv.allow_tf32, conv.benchmark = saved


def _autocast(device: str, enabled: bool) -> torch.autocast:
    use = enabled and device.startswith("cuda") and torch.cuda.is_bf16_supported()
    return torch.autocast("cuda", dtype=torch.bfloat16, enabled=use)


def start_styles(generator: Generator, start: str, device: str | torch.device) -> torch.Tensor:
    """1 × num_ws × w_dim: the mean style on every layer, or zeros."""
    w = generator.w_avg.detach().float().to(device)
    if start == "zero":
        w = torch.zeros_like(w)
    return w.reshape(1, 1, -1).repeat(1, generator.num_ws, 1)


def synthesize(generator: Generator, styles: torch.Tensor | np.ndarray,
               device: str | torch.device) -> torch.Tensor:
    """The [0, 1] image (1×3×H×W) of W+ ``styles`` with the fixed noise, without gradients."""
    ws = torch.as_tensor(np.asarray(styles, np.float32) if isinstance(styles, np.ndarray)
                         else styles).to(device).float()
    if ws.ndim == 2:
        ws = ws.unsqueeze(0)
    with torch.no_grad():
        return to_unit_range(generator.synthesis(ws)).clamp(0, 1)


def invert(
    generator: Generator,
    loss_fn: PerceptualLoss,
    target: np.ndarray,
    settings: InversionSettings,
    device: str = "cpu",
    report: Report = ignore_progress,
    cancel: CancelToken | None = None,
    cache: StyleCache | None = None,
    model_key: str = "",
    span: ProgressSpan | None = None,
) -> Inversion:
    """Optimize W+ so that the generator reproduces ``target`` (res × res × 3, [0, 1])."""
    started = time.perf_counter()
    cancel = cancel or CancelToken()
    span = span or ProgressSpan(0, settings.steps)
    res = generator.config.resolution
    if target.shape[:2] != (res, res):
        raise InvalidInput(f"The aligned face must be {res}×{res} pixels, not "
                           f"{target.shape[1]}×{target.shape[0]}.")
    key = style_key(target, settings.steps, settings.start, model_key,
                    f"lr={settings.learning_rate},{settings.rampup},{settings.rampdown},"
                    f"amp={settings.amp and device.startswith('cuda')}")
    if cache is not None and (hit := cache.get(key)) is not None:
        report(Progress(span.offset + settings.steps, span.total,
                        f"{span.label}: reused the earlier result"))
        return Inversion(hit, math.nan, math.nan, True, time.perf_counter() - started)

    generator.requires_grad_(False)
    loss_fn.requires_grad_(False)
    with fast_math(device), _autocast(device, settings.amp):
        prepared = loss_fn.prepare(image_tensor(target, device))
    ws = start_styles(generator, settings.start, device).requires_grad_(True)
    optimizer = torch.optim.Adam([ws], lr=settings.learning_rate, betas=(0.9, 0.999))
    loss_start = math.nan
    with fast_math(device):
        for step in range(settings.steps):
            cancel.raise_if_set()
            for group in optimizer.param_groups:
                group["lr"] = settings.learning_rate_at(step)
            with _autocast(device, settings.amp):
                image = to_unit_range(generator.synthesis(ws))
                loss = loss_fn(image, prepared).sum()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if step == 0:
                loss_start = float(loss.detach())
            done = step + 1
            if done % settings.preview_every == 0 or done == settings.steps or step == 0:
                report(Progress(span.offset + done, span.total,
                                f"{span.label}: step {done} of {settings.steps}",
                                preview_of(image)))
        cancel.raise_if_set()
        with torch.no_grad(), _autocast(device, settings.amp):
            loss_end = float(loss_fn(to_unit_range(generator.synthesis(ws)), prepared).sum())
    styles = ws.detach()[0].float().cpu().numpy()
    if cache is not None:
        cache.put(key, styles)
    return Inversion(styles, loss_start, loss_end, False, time.perf_counter() - started)
