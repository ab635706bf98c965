"""Self-supervised training of the harmonization network (ch. 3.4.4).

No harmonization ground truth is needed: a region of a real photo gets its colours
changed (Reinhard colour transfer from another photo's statistics, or moderate gains,
gamma, offsets and saturation), and the network learns to give the real photo back.
Some samples are left unchanged so it also learns to leave harmonious objects alone.
The loss is taken both on the network's pixels and on the colour transform fitted from
them, the very output inference uses, so training optimises what the user sees.

Photos and masks are decoded once, at a size a little above the training size, and
held in memory: on a CPU, decoding JPEGs every step would cost as much as the network.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from engines.base import CancelToken, EngineError, Progress, Report, ignore_progress
from engines.composite.harmonize_net import (
    DEFAULT_WIDTH,
    MULTIPLE,
    REGULARISATION,
    build_network,
    colour_features,
    fit_colour_transform,
    save_model,
)
from engines.store import train_state

if TYPE_CHECKING:
    import torch
    from torch import nn

PHOTO_OVERSIZE = 1.5  # photos are kept at this × the training size, for random crops
MASK_SIDE = 256
HISTORY_LIMIT = 400  # loss points kept in the model's metadata
BACKGROUND_WEIGHT = 0.1  # the network's pixels outside the object count this much


# -------------------------------------------------------------------------- the data


def load_photos(paths: Sequence[Path], size: int) -> list[np.ndarray]:
    """RGB uint8 photos with the short side at ``PHOTO_OVERSIZE × size``; unreadable skipped."""
    short = int(round(size * PHOTO_OVERSIZE))
    photos = []
    for path in paths:
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None or min(bgr.shape[:2]) < size // 2:
            continue
        scale = short / min(bgr.shape[:2])
        h, w = round(bgr.shape[0] * scale), round(bgr.shape[1] * scale)
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        photos.append(cv2.cvtColor(cv2.resize(bgr, (w, h), interpolation=interp),
                                   cv2.COLOR_BGR2RGB))
    return photos


def load_masks(paths: Sequence[Path]) -> list[np.ndarray]:
    """Object masks (white = object) cropped to the object, long side at most MASK_SIDE."""
    masks = []
    for path in paths:
        grey = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if grey is None:
            continue
        binary = grey > 127
        if binary.mean() < 0.002 or binary.mean() > 0.9:  # empty, or no object in it
            continue
        ys, xs = np.nonzero(binary)
        crop = binary[ys.min():ys.max() + 1, xs.min():xs.max() + 1].astype(np.uint8) * 255
        scale = min(1.0, MASK_SIDE / max(crop.shape))
        if scale < 1:
            crop = cv2.resize(crop, (max(1, round(crop.shape[1] * scale)),
                                     max(1, round(crop.shape[0] * scale))),
                              interpolation=cv2.INTER_AREA)
        masks.append(crop)
    return masks


def load_pairs(pairs: Sequence[tuple[Path, Path]], size: int) -> list[np.ndarray]:
    """Photos with their own object's mask as a 4th channel (uint8), sized like photos."""
    loaded = []
    for photo_path, mask_path in pairs:
        photo = load_photos([photo_path], size)
        grey = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)
        if not photo or grey is None:
            continue
        h, w = photo[0].shape[:2]
        mask = cv2.resize(grey, (w, h), interpolation=cv2.INTER_AREA)
        if 0.01 < (mask > 127).mean() < 0.9:
            loaded.append(np.dstack([photo[0], mask]))
    return loaded


def random_crop(photo: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """A size×size float32 crop at a random scale, sometimes mirrored (any channel count)."""
    h, w = photo.shape[:2]
    side = int(rng.uniform(0.6, 1.0) * min(h, w))
    side = max(side, min(size, h, w))
    y, x = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
    crop = photo[y:y + side, x:x + side]
    interp = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    crop = cv2.resize(crop, (size, size), interpolation=interp).astype(np.float32) / 255
    return crop[:, ::-1].copy() if rng.random() < 0.5 else crop


def placed_mask(shape: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """An object mask scaled and put at a random place of a size×size image."""
    area = rng.uniform(0.04, 0.45) * size * size
    scale = math.sqrt(area / max(1.0, float((shape > 127).sum())))
    h = int(np.clip(round(shape.shape[0] * scale), 4, size))
    w = int(np.clip(round(shape.shape[1] * scale), 4, size))
    resized = cv2.resize(shape, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32) / 255
    if rng.random() < 0.5:
        resized = resized[:, ::-1]
    out = np.zeros((size, size), np.float32)
    y = int(rng.integers(-h // 4, size - 3 * h // 4 + 1))
    x = int(rng.integers(-w // 4, size - 3 * w // 4 + 1))
    ys, xs = slice(max(0, y), min(size, y + h)), slice(max(0, x), min(size, x + w))
    out[ys, xs] = resized[ys.start - y:ys.stop - y, xs.start - x:xs.stop - x]
    return out


def blob_mask(size: int, rng: np.random.Generator) -> np.ndarray:
    """A random smooth blob: low-frequency noise under a Gaussian bump, thresholded."""
    grid = rng.normal(size=(6, 6)).astype(np.float32)
    noise = cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    cy, cx = rng.uniform(0.2, 0.8, 2)
    spread = rng.uniform(0.12, 0.35)
    field = noise * 0.6 + 3 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * spread ** 2))
    fraction = rng.uniform(0.05, 0.4)
    return (field > np.quantile(field, 1 - fraction)).astype(np.float32)


def soften(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A soft edge of random width, like a feathered paste."""
    sigma = rng.uniform(0.0, 1.5)
    return cv2.GaussianBlur(mask, (0, 0), sigma) if sigma > 0.3 else mask


def lab_stats(rgb: np.ndarray, weight: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).reshape(-1, 3)
    w = np.ones(len(lab), np.float32) if weight is None else weight.reshape(-1)
    w = w / max(float(w.sum()), 1e-6)
    mean = (lab * w[:, None]).sum(0)
    std = np.sqrt(((lab - mean) ** 2 * w[:, None]).sum(0)) + 1e-3
    return mean, std


def reinhard(photo: np.ndarray, mask: np.ndarray, reference: np.ndarray,
             amount: float) -> np.ndarray:
    """Colour transfer [Reinhard 2001] of the masked region towards ``reference``'s Lab stats."""
    mean, std = lab_stats(photo, mask)
    ref_mean, ref_std = lab_stats(reference)
    new_mean = mean + amount * (ref_mean - mean)
    new_std = std * (np.clip(ref_std / std, 0.25, 4.0) ** amount)
    lab = cv2.cvtColor(photo, cv2.COLOR_RGB2LAB)
    lab = (lab - mean) / std * new_std + new_mean
    lab[..., 0] = np.clip(lab[..., 0], 0, 100)
    return np.clip(cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_LAB2RGB), 0, 1)


def tone_change(photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Moderate camera-like changes: gains (white balance), gamma, offset, saturation."""
    gain = np.exp(rng.normal(0, 0.15, 3) + rng.normal(0, 0.15)).astype(np.float32)
    gamma = np.exp(rng.normal(0, 0.12, 3) + rng.normal(0, 0.2)).astype(np.float32)
    offset = rng.normal(0, 0.03, 3).astype(np.float32)
    out = np.clip(photo, 0, 1) ** gamma * gain + offset
    grey = out.mean(axis=-1, keepdims=True)
    saturation = np.float32(np.exp(rng.normal(0, 0.25)))
    contrast = np.float32(np.exp(rng.normal(0, 0.12)))
    out = grey + saturation * (out - grey)
    out = out.mean() + contrast * (out - out.mean())
    return np.clip(out, 0, 1).astype(np.float32)


def paired_crop(pairs: Sequence[np.ndarray], size: int,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray] | None:
    """A crop of a photo and its own object's mask, or None if no crop shows the object."""
    for _ in range(4):
        crop = random_crop(pairs[rng.integers(len(pairs))], size, rng)
        alpha = (crop[..., 3] > 0.5).astype(np.float32)
        if 0.02 < alpha.mean() < 0.85:
            return np.ascontiguousarray(crop[..., :3]), alpha
    return None


def make_sample(
    photos: Sequence[np.ndarray], masks: Sequence[np.ndarray], size: int,
    rng: np.random.Generator, pairs: Sequence[np.ndarray] = (),
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(composite, alpha, real): a photo whose object region's colours were changed.

    Half the time (when ``pairs`` are given) the region is a real object of the photo,
    as in real composites: objects often differ from their surroundings, and a
    network that only saw arbitrary regions learns to make every object look like
    its background.
    """
    found = paired_crop(pairs, size, rng) if len(pairs) and rng.random() < 0.5 else None
    if found is not None:
        real, alpha = found
    else:
        real = random_crop(photos[rng.integers(len(photos))], size, rng)
        for _ in range(5):
            if masks and rng.random() < 0.7:
                alpha = placed_mask(masks[rng.integers(len(masks))], size, rng)
            else:
                alpha = blob_mask(size, rng)
            if alpha.mean() > 0.01:
                break
    alpha = soften(alpha, rng)
    kind = rng.random()
    if kind < 0.1:  # harmonious already: must be left alone
        changed = real
    elif kind < 0.6:
        reference = random_crop(photos[rng.integers(len(photos))], size // 2, rng)
        changed = reinhard(real, alpha, reference, float(rng.uniform(0.5, 1.0)))
        if rng.random() < 0.3:
            changed = tone_change(changed, rng)
    else:
        changed = tone_change(real, rng)
    composite = real + alpha[..., None] * (changed - real)
    return composite.astype(np.float32), alpha, real


def make_batch(photos, masks, size: int, batch: int, rng: np.random.Generator, pairs=()):
    import torch

    samples = [make_sample(photos, masks, size, rng, pairs) for _ in range(batch)]
    comp, alpha, real = (np.stack(parts) for parts in zip(*samples, strict=True))
    return (torch.from_numpy(comp).permute(0, 3, 1, 2).contiguous(),
            torch.from_numpy(alpha)[:, None].contiguous(),
            torch.from_numpy(real).permute(0, 3, 1, 2).contiguous())


# -------------------------------------------------------------------------- the losses


@dataclass(frozen=True)
class Losses:
    total: torch.Tensor
    pixels: float  # foreground-weighted L1 of the network's own output
    fitted: float  # foreground L1 of the colour transform fitted from it (what users get)
    composite: float  # foreground L1 of the untouched composite, for scale


def fitted_output(comp: torch.Tensor, alpha: torch.Tensor, out: torch.Tensor,
                  regularisation: float = REGULARISATION) -> torch.Tensor:
    """What inference makes of ``out``: the fitted colour transform applied to the composite."""
    b = comp.shape[0]
    src = comp.flatten(2).transpose(1, 2)
    dst = out.flatten(2).transpose(1, 2)
    matrix = fit_colour_transform(src, dst, alpha.flatten(1), regularisation)
    mapped = (colour_features(src) @ matrix.transpose(1, 2)).clamp(0, 1)
    return mapped.transpose(1, 2).reshape(b, 3, *comp.shape[2:])


def compute_losses(net: nn.Module, comp, alpha, real) -> tuple[Losses, torch.Tensor]:
    out = net(comp, alpha)
    weight = alpha + BACKGROUND_WEIGHT
    pixels = ((out - real).abs() * weight).sum() / (3 * weight.sum())
    fitted = fitted_output(comp, alpha, out)
    fg = alpha.sum().clamp_min(1e-6) * 3
    fitted_l1 = ((fitted - real).abs() * alpha).sum() / fg
    composite_l1 = ((comp - real).abs() * alpha).sum() / fg
    total = pixels + fitted_l1
    return Losses(total, pixels.item(), fitted_l1.item(), composite_l1.item()), out


# ------------------------------------------------------------------ checkpoint and resume


def calibrated_copy(net: nn.Module, batches) -> nn.Module:
    """A copy whose batch-norm statistics are recomputed for the current weights.

    The running averages kept during training lag behind weights that Adam keeps
    moving; in eval mode that lag made the network worse than doing nothing. Exact
    averages over a few fresh batches ("precise BN") cure it for a few seconds' work.
    """
    import copy

    import torch

    calibrated = copy.deepcopy(net)
    norms = [m for m in calibrated.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a plain average over the calibration batches
    calibrated.train()
    with torch.no_grad():
        for comp, alpha, _ in batches:
            calibrated(comp, alpha)
    for norm in norms:
        norm.momentum = 0.1
    return calibrated.eval()



def _save_state(net, ema, optimizer, step: int, history: list, out: Path) -> None:
    tensors = train_state.with_prefix("model", net.state_dict())
    tensors.update(train_state.with_prefix("ema", ema.state_dict()))
    tensors.update(train_state.with_prefix("optim", train_state.optimizer_tensors(optimizer)))
    meta = {"step": str(step), "history": json.dumps(history)}
    train_state.write_state(train_state.state_path(out), tensors, meta)


def _load_state(net, ema, optimizer, out: Path) -> tuple[int, list]:
    tensors, meta = train_state.read_state(train_state.state_path(out))
    net.load_state_dict(train_state.part(tensors, "model"))
    averaged = train_state.part(tensors, "ema")
    ema.load_state_dict(averaged or net.state_dict())  # states from before EMA: start it here
    train_state.restore_optimizer(optimizer, train_state.part(tensors, "optim"))
    return int(meta.get("step", 0)), json.loads(meta.get("history", "[]"))


# ------------------------------------------------------------------------------ train


def train(
    photos: list[Path],
    masks: list[Path],
    out: Path,
    steps: int = 20000,
    size: int = 128,
    batch: int = 8,
    width: int = DEFAULT_WIDTH,
    resume: bool = True,
    report: Report = ignore_progress,
    cancel: CancelToken | None = None,
    seed: int = 0,
    *,
    lr: float = 2e-4,
    checkpoint_every: int = 250,
    preview_every: int = 50,
    calibration_batches: int = 24,
    ema_decay: float = 0.999,
    pairs: Sequence[tuple[Path, Path]] = (),
    data_note: str = "",
) -> Path:
    """Train (or go on training) a harmonizer and write it to ``out``; returns ``out``.

    The model file is rewritten every ``checkpoint_every`` steps, at the end and on
    cancel, so a long run can be stopped at any time and still leaves a usable model.
    With ``resume`` an existing training state beside ``out`` is continued up to
    ``steps`` in all (a new ``lr`` applies from there). ``pairs`` are (photo, mask of an
    object in that photo): half the samples then perturb a real object.

    The saved weights are an exponential moving average (``ema_decay``) of the trained
    ones, with batch-norm statistics recomputed over ``calibration_batches`` fresh
    batches: with small batches the weights wander from step to step, and so did the
    results. Progress reports carry a preview: composite | network output | real.
    """
    import torch

    cancel = cancel or CancelToken()
    if size % MULTIPLE:
        raise EngineError(f"The training size must be a multiple of {MULTIPLE} (got {size}).")
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    report(Progress(0, steps, "Loading photos and masks"))
    photo_arrays = load_photos(photos, size)
    mask_arrays = load_masks(masks)
    pair_arrays = load_pairs(pairs, size)
    if len(photo_arrays) < 2:
        raise EngineError("Training needs at least two readable photos.",
                          f"{len(photos)} paths given, {len(photo_arrays)} readable")
    cancel.raise_if_set()

    net = build_network(width)
    ema = build_network(width)
    ema.load_state_dict(net.state_dict())
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    step, history = 0, []
    if resume and train_state.state_path(out).is_file():
        step, history = _load_state(net, ema, optimizer, out)
        rng = np.random.default_rng([seed, step])
    started, started_step = time.perf_counter(), step
    running: dict[str, float] = {}
    data = (f"{len(photo_arrays)} photos, {len(mask_arrays)} object masks + random blobs, "
            f"{len(pair_arrays)} photos with their own object's mask; "
            + data_note).strip("; ")

    def checkpoint() -> None:
        _save_state(net, ema, optimizer, step, history, out)
        calibration_rng = np.random.default_rng([seed, 1, step])
        batches = (make_batch(photo_arrays, mask_arrays, size, batch, calibration_rng,
                              pair_arrays)
                   for _ in range(calibration_batches))
        save_model(calibrated_copy(ema, batches), out, {
            "resolution": size, "iterations": step, "batch": batch, "learning_rate": lr,
            "batch_norm_calibration": f"{calibration_batches} batches of {batch}",
            "weights": f"exponential moving average, decay {ema_decay}",
            "losses": history[-HISTORY_LIMIT:],
            "loss_columns": ["step", "pixels_l1", "fitted_l1", "composite_l1"],
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "data": data, "seed": seed,
            "training": "self-supervised: Reinhard Lab transfer / tone changes of a masked "
                        "region, reconstruct the real photo (ch. 3.4.4)",
        })

    net.train()
    try:
        while step < steps:
            cancel.raise_if_set()
            comp, alpha, real = make_batch(photo_arrays, mask_arrays, size, batch, rng,
                                           pair_arrays)
            losses, output = compute_losses(net, comp, alpha, real)
            optimizer.zero_grad(set_to_none=True)
            losses.total.backward()
            optimizer.step()
            _update_average(ema, net, min(ema_decay, (1 + step) / (10 + step)))
            step += 1
            for key in ("pixels", "fitted", "composite"):
                running[key] = running.get(key, 0.0) + getattr(losses, key)
            running["n"] = running.get("n", 0.0) + 1
            if step % preview_every == 0 or step == steps:
                n = running.pop("n")
                means = {k: v / n for k, v in running.items()}
                running.clear()
                history.append([step, round(means["pixels"], 5), round(means["fitted"], 5),
                                round(means["composite"], 5)])
                rate = (step - started_step) / max(1e-6, time.perf_counter() - started)
                report(Progress(
                    step, steps,
                    f"step {step}: fitted L1 {means['fitted']:.4f} (composite "
                    f"{means['composite']:.4f}), net L1 {means['pixels']:.4f}, "
                    f"{rate:.2f} steps/s",
                    _preview(comp, output, real),
                ))
            if step % checkpoint_every == 0:
                checkpoint()
    finally:
        if step > started_step:
            checkpoint()
    return out


def _update_average(ema: nn.Module, net: nn.Module, decay: float) -> None:
    import torch

    with torch.no_grad():
        for averaged, current in zip(ema.parameters(), net.parameters(), strict=True):
            averaged.lerp_(current, 1 - decay)


def _preview(comp, output, real) -> np.ndarray:
    """composite | output | real of the batch's first sample, HxWx3 float32."""
    parts = [t[0].detach().clamp(0, 1).permute(1, 2, 0).numpy() for t in (comp, output, real)]
    return np.concatenate(parts, axis=1).astype(np.float32)
