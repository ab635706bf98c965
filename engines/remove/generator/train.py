"""Training the ch. 3 inpainting generator (Alg. 1), resumable, on CPU or GPU.

Stages: the generator head first, then one procedural block at a time. Each block
stage divides the learning rate and the generator's adversarial weight by 10 again
(``lr_i = 10⁻ⁱ·lr₀``, ``λ_adv^i = 10⁻ⁱ·λ_adv⁰``: adversarial loss annealing) and mixes
its new block in from 0 to 1 over the stage's first half, so the deeper network starts
as the trained one. The discriminator is the multi-scale PatchGAN with hole-aware
labels (only patches that see the hole are fake).

Where this departs from ch. 3, and why:

- The patch perceptual loss (PPL) needs a pretrained perceptual network. With
  torchvision's ImageNet VGG-19 installed it is VGG's first layers at two scales (the
  image, and zoomed out by 2) on the composite. Without it — the case on every machine
  that cannot download — its stand-in is *discriminator feature matching*: the L1
  distance between the three PatchGANs' activations of the composite and of the real
  photo. The model file names which one trained it.
- An L1 term on the hole (and, weaker, on the rest) anchors the prediction while the
  adversary is weak; on a CPU budget of a few thousand steps it is what teaches the
  coarse structure that guided fill needs.
- λ_adv⁰ is 0.1, not 1: with few steps the head's adversarial loss otherwise wins over
  the reconstruction and paints noise into the hole (the failure ALA exists to curb).

Photos are decoded once (short side between 1× and 2× the crop) and held in memory;
each step takes a random crop of random size, scaled to the crop size, flipped, with a
fresh hole (``holes.random_hole``). The model file and the training state beside it
are rewritten every ``checkpoint_every`` steps, on cancel and at the end, so a stopped
run leaves a usable model and ``resume`` goes on. Stage lengths may change between
runs: shortening the stage a run is in ends it at once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from engines.base import CancelToken, EngineError, Progress, Report, ignore_progress
from engines.remove.generator.holes import load_silhouettes, random_hole
from engines.remove.generator.model_file import save_model
from engines.remove.generator.networks import (
    MULTIPLE,
    InpainterWidths,
    build_discriminator,
    build_inpainter,
    hole_labels,
)
from engines.store import train_state

if TYPE_CHECKING:
    import torch
    from torch import nn

HISTORY_LIMIT = 400
LOSS_COLUMNS = ["step", "stage", "d_loss", "g_adv", "rec", "perceptual", "val_l1", "val_psnr"]
VALIDATION_PHOTOS = 48


@dataclass(frozen=True)
class InpainterSettings:
    """Everything that shapes a run; stored in the model's metadata.

    ``steps``: the head's steps, then each procedural block's (Alg. 1: 150k, 1.5k × 3).
    ``size``: the square training crop (a multiple of 8). ``rec_weight``,
    ``perceptual_weight``, ``adversarial_weight``: λ of the L1, perceptual and
    adversarial terms (the last one for the head; each block divides it by 10).
    ``hole_share``: the hole's share of the image, low and high.
    ``reconstruction_steps``: the head's first steps train on the L1 term alone, at
    ``reconstruction_lr``, with no discriminator (``reconstruction_only`` says why).
    """

    steps: tuple[int, ...] = (6000, 500, 500, 500)
    size: int = 128
    batch: int = 8
    widths: InpainterWidths = field(default_factory=InpainterWidths)
    lr: float = 2e-4
    rec_weight: float = 10.0
    valid_weight: float = 0.2
    perceptual_weight: float = 1.0
    adversarial_weight: float = 0.1
    hole_share: tuple[float, float] = (0.05, 0.5)
    reconstruction_steps: int = 2000
    reconstruction_lr: float = 5e-4
    checkpoint_every: int = 250
    preview_every: int = 25
    validate_every: int = 250
    seed: int = 0
    device: str | None = None
    threads: int | None = None

    def __post_init__(self) -> None:
        if self.size % MULTIPLE or self.size < 64:  # D's ¼ scale needs 64 px
            raise EngineError(f"The training size must be a multiple of {MULTIPLE}, at least "
                              f"64 (got {self.size}).")
        if (len(self.steps) != 1 + self.widths.procedural or min(self.steps) < 0
                or sum(self.steps) < 1):
            raise EngineError(f"Give {1 + self.widths.procedural} stage lengths (the head, "
                              f"then each added block) as whole numbers ≥ 0 "
                              f"(got {self.steps}).")
        if self.batch < 1:
            raise EngineError("The batch size must be at least 1.")

    @property
    def total(self) -> int:
        return sum(self.steps)

    def stage_of(self, step: int) -> int:
        """0 (the head) or i (block i): the stage that trains step ``step`` (0-based)."""
        end = 0
        for index, count in enumerate(self.steps):
            end += count
            if step < end:
                return index
        return len(self.steps) - 1

    def stage_bounds(self, stage: int) -> tuple[int, int]:
        start = sum(self.steps[:stage])
        return start, start + self.steps[stage]

    def reconstruction_only(self, step: int) -> bool:
        """Whether ``step`` trains the L1 term alone (no adversary, no perceptual term).

        Not in Alg. 1. Completion networks are commonly pretrained on reconstruction
        before the adversary joins (Iizuka et al. 2017 train theirs on MSE first): a
        discriminator that judges a prediction with no structure yet only adds noise,
        and on a CPU each step without it costs half as much. The first CPU model sat at
        16.1 dB validation PSNR in the hole (below Telea's 17.0 on the same crops) from
        step 600 to 1,300 with every term on, which is why it was switched to this.
        """
        return step < self.reconstruction_steps

    def learning_rate(self, stage: int, step: int = -1) -> float:
        if stage == 0 and self.reconstruction_only(step):
            return self.reconstruction_lr
        return self.lr * 10.0 ** -stage

    def adversarial(self, stage: int) -> float:
        return self.adversarial_weight * 10.0 ** -stage

    def mix(self, stage: int, step: int) -> float:
        """How far stage ``stage``'s new block is mixed in at ``step``: 0 → 1 over half."""
        start, end = self.stage_bounds(stage)
        half = max(1.0, (end - start) / 2)
        return float(min(1.0, (step - start + 1) / half))


# -------------------------------------------------------------------------- the data


def load_photos(paths: Sequence[Path], size: int,
                cancel: CancelToken | None = None) -> list[np.ndarray]:
    """RGB uint8 photos with the short side between ``size`` and ``2 × size``.

    Smaller or unreadable files are skipped: a crop cannot be taken from them.
    """
    photos = []
    for path in paths:
        if cancel is not None:
            cancel.raise_if_set()
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None or min(bgr.shape[:2]) < size:
            continue
        short = min(bgr.shape[:2])
        if short > 2 * size:
            scale = 2 * size / short
            bgr = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        photos.append(np.ascontiguousarray(bgr[..., ::-1]))
    return photos


def random_crop(photo: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """A square crop of random side (``size`` up to the short side), scaled to ``size``."""
    h, w = photo.shape[:2]
    side = int(rng.integers(size, min(h, w) + 1))
    y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    crop = photo[y:y + side, x:x + side]
    if side != size:
        crop = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
    return crop[:, ::-1] if rng.random() < 0.5 else crop


def make_batch(photos: Sequence[np.ndarray], silhouettes: Sequence[np.ndarray],
               settings: InpainterSettings, rng: np.random.Generator, count: int
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """(images Bx3xSxS in [0, 1], holes Bx1xSxS) of random crops and random holes."""
    import torch

    size = settings.size
    images = np.stack([random_crop(photos[int(rng.integers(len(photos)))], size, rng)
                       for _ in range(count)])
    holes = np.stack([random_hole((size, size), rng, silhouettes, *settings.hole_share)
                      for _ in range(count)])
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255
    return x, torch.from_numpy(holes[:, None].astype(np.float32))


# ----------------------------------------------------------------------- the networks


@dataclass
class Nets:
    generator: nn.Module
    discriminator: nn.Module
    perceptual: nn.Module | None  # ImageNet VGG layers, or None: feature matching


def build_nets(settings: InpainterSettings, device: str) -> Nets:
    import torch

    from engines.translate.networks import VGG_WIDTH, imagenet_vgg_state, perceptual_network

    torch.manual_seed(settings.seed)
    state = imagenet_vgg_state()
    perceptual = (perceptual_network(VGG_WIDTH, state).to(device) if state is not None
                  else None)
    return Nets(build_inpainter(settings.widths).to(device),
                build_discriminator(settings.widths).to(device), perceptual)


def perceptual_name(nets: Nets) -> str:
    if nets.perceptual is not None:
        return ("patch perceptual loss on ImageNet VGG-19 conv1_1–conv2_1 features, at the "
                "image's scale and zoomed out by 2")
    return ("stand-in for the patch perceptual loss (ImageNet VGG-19 not installed): L1 "
            "feature matching on the three PatchGAN discriminators' activations")


# ------------------------------------------------------------------------- training


def train(
    photos: Sequence[Path],
    out: Path,
    settings: InpainterSettings = InpainterSettings(),  # noqa: B008 (frozen dataclass)
    silhouettes: Sequence[Path] = (),
    validation: Sequence[Path] = (),
    resume: bool = True,
    report: Report = ignore_progress,
    cancel: CancelToken | None = None,
    preview_dir: Path | None = None,
    data_note: str = "",
    data_card: str = "",
) -> Path:
    """Train (or go on training) an inpainting model on ``photos``; returns ``out``.

    ``silhouettes``: mask files whose shapes become object holes; ``validation``:
    photos never trained on, scored every ``validate_every`` steps (PSNR in the hole).
    Progress reports carry a preview grid (input with hole | prediction | result |
    original); with ``preview_dir`` the grid and loss curves are also written there.
    ``data_card``: the training set's card (sources, commits, terms), kept in the model.
    """
    import torch

    from engines.device import resolve_device

    cancel = cancel or CancelToken()
    if settings.threads:
        torch.set_num_threads(settings.threads)
    device = resolve_device(settings.device)
    amp = device.startswith("cuda")
    report(Progress(0, settings.total, "Loading photos"))
    train_photos = load_photos(photos, settings.size, cancel)
    if len(train_photos) < 2:
        raise EngineError(f"Training needs at least two readable photos at least "
                          f"{settings.size} pixels on their short side.",
                          f"{len(photos)} paths given, {len(train_photos)} readable")
    shapes = load_silhouettes(silhouettes)
    check = _validation_set(validation, shapes, settings)
    cancel.raise_if_set()

    nets = build_nets(settings, device)
    g_opt = torch.optim.Adam(nets.generator.parameters(), lr=settings.lr, betas=(0.5, 0.999))
    d_opt = torch.optim.Adam(nets.discriminator.parameters(), lr=settings.lr,
                             betas=(0.5, 0.999))
    step, history, seconds = 0, [], 0.0
    state_file = train_state.state_path(out)
    if resume and state_file.is_file():
        step, history, seconds = _load_state(nets, g_opt, d_opt, state_file)
    rng = np.random.default_rng([settings.seed, step])
    scalers = [torch.amp.GradScaler("cuda", enabled=amp) for _ in range(2)]
    started, started_step = time.perf_counter(), step
    sums: dict[str, float] = {}
    validation_row: list[float] = [float("nan"), float("nan")]
    data = (f"{len(train_photos)} photos, {len(shapes)} silhouettes; {data_note}").strip("; ")

    def elapsed() -> float:
        return seconds + time.perf_counter() - started

    def checkpoint() -> None:
        _save_state(nets, g_opt, d_opt, step, history, elapsed(), state_file)
        write_model(nets, settings, out, step, history, data, elapsed(), device, data_card)

    try:
        while step < settings.total:
            cancel.raise_if_set()
            stage = settings.stage_of(step)
            with torch.no_grad():
                mix = nets.generator.mix
                mix[:max(0, stage - 1)] = 1.0
                if stage:
                    if float(mix[stage - 1]) == 0.0:  # the block enters now
                        nets.generator.procedural[stage - 1].start_as_identity()
                    mix[stage - 1] = settings.mix(stage, step)
            for opt in (g_opt, d_opt):
                for group in opt.param_groups:
                    group["lr"] = settings.learning_rate(stage, step)
            x, hole = (t.to(device) for t in make_batch(train_photos, shapes, settings, rng,
                                                        settings.batch))
            if settings.reconstruction_only(step):
                values = _reconstruction_step(nets, g_opt, scalers[0], x, hole, settings, amp)
            else:
                values = _train_step(nets, g_opt, d_opt, scalers, x, hole, settings, stage,
                                     amp)
            step += 1
            for key, value in values.items():
                sums[key] = sums.get(key, 0.0) + value
            sums["n"] = sums.get("n", 0.0) + 1
            if check is not None and (step % settings.validate_every == 0
                                      or step == settings.total):
                validation_row = list(validate(nets.generator, check, device))
            if step % settings.preview_every == 0 or step == settings.total:
                n = sums.pop("n")
                means = {k: v / n for k, v in sums.items()}
                sums.clear()
                history.append([step, stage, *(round(means[k], 5) for k in
                                               ("d_loss", "g_adv", "rec", "perceptual")),
                                *(round(v, 4) for v in validation_row)])
                grid = preview_grid(nets.generator, x, hole)
                rate = (step - started_step) / max(1e-6, time.perf_counter() - started)
                stage_name = "head" if stage == 0 else f"block {stage}"
                report(Progress(
                    step, settings.total,
                    f"{stage_name}, step {step}: L1 {means['rec']:.4f}, adv "
                    f"{means['g_adv']:.3f}, D {means['d_loss']:.3f}"
                    + (f", validation PSNR {validation_row[1]:.2f} dB"
                       if validation_row[1] == validation_row[1] else "")
                    + f", {rate:.2f} steps/s",
                    grid,
                ))
                if preview_dir is not None:
                    train_state.write_previews(preview_dir, out.stem, grid, history,
                                               LOSS_COLUMNS)
            if step % settings.checkpoint_every == 0:
                checkpoint()
    finally:
        if step > started_step:
            checkpoint()
    return out


def _train_step(nets: Nets, g_opt, d_opt, scalers, x, hole, settings: InpainterSettings,
                stage: int, amp: bool) -> dict[str, float]:
    """One generator and one discriminator update; returns the losses as floats."""
    import torch
    from torch.nn.functional import binary_cross_entropy_with_logits as bce

    device_type = "cuda" if amp else "cpu"
    g_scaler, d_scaler = scalers
    nets.generator.train()
    with torch.autocast(device_type, enabled=amp):
        predicted = nets.generator(x, hole)
        result = hole * predicted + (1 - hole) * x
        for p in nets.discriminator.parameters():
            p.requires_grad_(False)
        fake_features = nets.discriminator(result)
        adversarial = result.new_zeros(())
        for features in fake_features:
            logits = features[-1].float()
            labels = hole_labels(hole, logits)
            per_patch = bce(logits, torch.ones_like(logits), reduction="none")
            adversarial = adversarial + (per_patch * labels).sum() / labels.sum().clamp_min(1)
        rec, in_hole = _reconstruction_loss(predicted, x, hole, settings)
        perceptual = _perceptual(nets, x, result.float(), fake_features)
        total = (settings.rec_weight * rec + settings.perceptual_weight * perceptual
                 + settings.adversarial(stage) * adversarial)
    g_opt.zero_grad(set_to_none=True)
    g_scaler.scale(total).backward()
    g_scaler.step(g_opt)
    g_scaler.update()

    for p in nets.discriminator.parameters():
        p.requires_grad_(True)
    with torch.autocast(device_type, enabled=amp):
        d_loss = result.new_zeros(())
        for real, fake in zip(nets.discriminator(x), nets.discriminator(result.detach()),
                              strict=True):
            real_logits, fake_logits = real[-1].float(), fake[-1].float()
            labels = 1 - hole_labels(hole, fake_logits)  # real wherever the hole is not
            d_loss = d_loss + 0.5 * (bce(real_logits, torch.ones_like(real_logits))
                                     + bce(fake_logits, labels))
    d_opt.zero_grad(set_to_none=True)
    d_scaler.scale(d_loss).backward()
    d_scaler.step(d_opt)
    d_scaler.update()
    return {"d_loss": d_loss.item(), "g_adv": adversarial.item(), "rec": in_hole.item(),
            "perceptual": perceptual.item()}


def _reconstruction_loss(predicted, x, hole, settings: InpainterSettings):
    """(weighted L1, L1 in the hole alone): the hole counts fully, the rest weakly."""
    error = (predicted.float() - x).abs().mean(1, keepdim=True)
    in_hole = (error * hole).sum() / hole.sum().clamp_min(1)
    outside = (error * (1 - hole)).sum() / (1 - hole).sum().clamp_min(1)
    return in_hole + settings.valid_weight * outside, in_hole


def _reconstruction_step(nets: Nets, g_opt, scaler, x, hole, settings: InpainterSettings,
                         amp: bool) -> dict[str, float]:
    """One generator update on the L1 term alone (``reconstruction_only``)."""
    import torch

    nets.generator.train()
    with torch.autocast("cuda" if amp else "cpu", enabled=amp):
        rec, in_hole = _reconstruction_loss(nets.generator(x, hole), x, hole, settings)
        total = settings.rec_weight * rec
    g_opt.zero_grad(set_to_none=True)
    scaler.scale(total).backward()
    scaler.step(g_opt)
    scaler.update()
    return {"d_loss": 0.0, "g_adv": 0.0, "rec": in_hole.item(), "perceptual": 0.0}


def _perceptual(nets: Nets, x, result, fake_features) -> torch.Tensor:
    """The patch perceptual term, or its feature-matching stand-in (module docstring)."""
    import torch
    from torch.nn import functional

    if nets.perceptual is not None:
        from engines.translate.networks import perceptual_distance

        return (perceptual_distance(nets.perceptual, x, result)
                + perceptual_distance(nets.perceptual, functional.avg_pool2d(x, 2),
                                      functional.avg_pool2d(result, 2)))
    with torch.no_grad():
        real_features = nets.discriminator(x)
    total = result.new_zeros(())
    for fake, real in zip(fake_features, real_features, strict=True):
        for a, b in zip(fake[:-1], real[:-1], strict=True):
            total = total + (a.float() - b.float()).abs().mean()
    return total / len(fake_features)


# ----------------------------------------------------------------------- validation


@dataclass(frozen=True)
class ValidationSet:
    images: Any  # Bx3xSxS
    holes: Any  # Bx1xSxS


def _validation_set(paths: Sequence[Path], shapes: Sequence[np.ndarray],
                    settings: InpainterSettings) -> ValidationSet | None:
    """A fixed batch of validation crops and holes (the same every run: seeded)."""
    import torch

    if not paths:
        return None
    rng = np.random.default_rng(12345)
    chosen = [paths[int(i)] for i in rng.permutation(len(paths))[:VALIDATION_PHOTOS * 2]]
    photos = load_photos(chosen, settings.size)[:VALIDATION_PHOTOS]
    if not photos:
        return None
    images = np.stack([random_crop(p, settings.size, rng) for p in photos])
    holes = np.stack([random_hole((settings.size,) * 2, rng, shapes, *settings.hole_share)
                      for _ in photos])
    return ValidationSet(
        torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255,
        torch.from_numpy(holes[:, None].astype(np.float32)))


def validate(generator: nn.Module, check: ValidationSet, device: str) -> tuple[float, float]:
    """(mean L1, mean PSNR in dB) inside the holes of the validation batch."""
    import torch

    generator.eval()
    l1, psnr = [], []
    with torch.no_grad():
        for start in range(0, len(check.images), 16):
            x = check.images[start:start + 16].to(device)
            hole = check.holes[start:start + 16].to(device)
            predicted = generator(x, hole).float()
            error = (predicted - x) * hole
            area = hole.sum((1, 2, 3)).clamp_min(1) * 3
            l1 += (error.abs().sum((1, 2, 3)) / area).tolist()
            mse = (error.pow(2).sum((1, 2, 3)) / area).clamp_min(1e-10)
            psnr += (10 * torch.log10(1 / mse)).tolist()
    generator.train()
    return float(np.mean(l1)), float(np.mean(psnr))


# --------------------------------------------------------------------- files written


def write_model(nets: Nets, settings: InpainterSettings, out: Path, step: int,
                history: list, data: str, seconds: float, device: str,
                data_card: str = "") -> Path:
    """The model file as of ``step`` (stages not reached count 0 steps)."""
    names = ["head"] + [f"block {i}" for i in range(1, len(settings.steps))]
    iterations = {}
    for index, name in enumerate(names):
        start, end = settings.stage_bounds(index)
        iterations[name] = max(0, min(step, end) - start)
    validation = [[row[0], row[-1]] for row in history  # each validation once
                  if row[-1] == row[-1] and row[0] % settings.validate_every == 0]
    return save_model(nets.generator, out, settings.widths, {
        "resolution": settings.size,
        "iterations": iterations,
        "planned_iterations": dict(zip(names, settings.steps, strict=True)),
        "perceptual": perceptual_name(nets),
        "weights": {"rec_l1": settings.rec_weight, "valid_l1": settings.valid_weight,
                    "perceptual": settings.perceptual_weight,
                    "adversarial_head": settings.adversarial_weight,
                    "adversarial_annealing": "÷10 per added block"},
        "optimizer": f"Adam lr {settings.lr} ÷10 per added block, betas (0.5, 0.999)",
        "reconstruction_only": {"steps": settings.reconstruction_steps,
                                "lr": settings.reconstruction_lr},
        "batch": settings.batch, "hole_share": list(settings.hole_share),
        "losses": history[-HISTORY_LIMIT:], "loss_columns": LOSS_COLUMNS,
        "validation_psnr": validation[-HISTORY_LIMIT:],
        "training_seconds": round(seconds), "device": device,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "data": data, "seed": settings.seed,
        **({"data_card": data_card} if data_card else {}),
    })


def _save_state(nets: Nets, g_opt, d_opt, step: int, history: list, seconds: float,
                path: Path) -> None:
    tensors = {}
    tensors.update(train_state.with_prefix("g", nets.generator.state_dict()))
    tensors.update(train_state.with_prefix("d", nets.discriminator.state_dict()))
    tensors.update(train_state.with_prefix("g_opt", train_state.optimizer_tensors(g_opt)))
    tensors.update(train_state.with_prefix("d_opt", train_state.optimizer_tensors(d_opt)))
    train_state.write_state(path, tensors, {"step": str(step), "history": json.dumps(history),
                                            "seconds": str(round(seconds, 1))})


def _load_state(nets: Nets, g_opt, d_opt, path: Path) -> tuple[int, list, float]:
    try:
        tensors, meta = train_state.read_state(path)
        nets.generator.load_state_dict(train_state.part(tensors, "g"))
        nets.discriminator.load_state_dict(train_state.part(tensors, "d"))
        train_state.restore_optimizer(g_opt, train_state.part(tensors, "g_opt"))
        train_state.restore_optimizer(d_opt, train_state.part(tensors, "d_opt"))
        return (int(meta["step"]), json.loads(meta.get("history", "[]")),
                float(meta.get("seconds", "0")))
    except Exception as exc:
        raise EngineError(
            f"The training state {path.name} could not be resumed; it is damaged or belongs "
            f"to a differently sized network. Delete it to start over.",
            f"{path}: {type(exc).__name__}: {exc}",
        ) from exc


def preview_grid(generator: nn.Module, x, hole) -> np.ndarray:
    """input with hole | prediction | result | original, HxWx3 float32 in [0, 1]."""
    import torch

    generator.eval()
    with torch.no_grad():
        sample, h = x[:1].float(), hole[:1].float()
        predicted = generator(sample, h).float()
        shown = sample * (1 - h) + 0.5 * h
        parts = [shown, predicted, h * predicted + (1 - h) * sample, sample]
    generator.train()
    return np.concatenate([p[0].clamp(0, 1).permute(1, 2, 0).cpu().numpy() for p in parts],
                          axis=1).astype(np.float32)
