"""Training a translation model from two unpaired folders (ch. 4).

Three stages, as ch. 4 trains them: G0 alone (adversarial + self-regularization), then
G_attn with G0 fixed, then both together at a lower rate. The weight λ of the
self-regularization is found by adaptive weight induction in each of the first two
stages: it starts at 0 and grows while the discriminator still mistakes the generated
images for the target domain, and is held once the discriminator's loss on them sinks
below a threshold (the output has moved as far back towards the input as the
adversary tolerates). The discriminator sees generated images from a history buffer of
50, which damps the oscillation of the two players; Adam at 2e-4 decays linearly to 0
over the second half of each stage.

Where this departs from ch. 4, and why: λ never drops below ``lambda_min``, because a
discriminator that wins from the first steps would otherwise hold λ at 0 and leave G0
unconstrained; G0 predicts a change of the photo (networks.py), so it starts at "leave
it alone"; the perceptual distance is relative (networks.py), so one λ scale fits
ImageNet and random VGG features; ``attention_sparsity`` and ``attention_tv`` charge
for the area A covers and for its total variation (``attention_prior`` says why); and
in the joint stage G0 keeps its own self-regularization, ℓ_reg(x, G0(x)) at the λ its
stage found (``joint_translator_reg``). Ch. 4 fine-tunes both on the composite's loss
alone, which leaves G0 unconstrained wherever A is low: on the CPU-trained horse2zebra
model, 1000 such steps took G0's own background from 24 to 15 dB and taught it to
paint zebra hide over grass and trees, which A then followed. The model file records
each of these settings. Without installed ImageNet VGG-19 weights, G_attn starts from
scratch and F̂ is a fixed random VGG; the model's metadata says which.

Photos are decoded once, a little above the training size, and held in memory: on a
CPU, decoding JPEGs every step would cost as much as the networks. The model file is
rewritten every ``checkpoint_every`` steps, on cancel and at the end, so stopping at
any time leaves a usable model; the optimizer state beside it lets ``resume`` go on.
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
from engines.store import train_state
from engines.translate.model_file import save_model
from engines.translate.networks import (
    MULTIPLE,
    VGG_WIDTH,
    Widths,
    build_attention,
    build_discriminator,
    build_translator,
    imagenet_vgg_state,
    perceptual_distance,
    perceptual_network,
    warm_start_attention,
)

if TYPE_CHECKING:
    import torch
    from torch import nn

OVERSIZE = 1.125  # photos are held with the short side at this × the crop size
HISTORY_LIMIT = 400  # loss rows kept in the model's metadata
STAGES = ("translator", "attention", "joint")
LOSS_COLUMNS = ["step", "stage", "d_loss", "d_fake", "g_adv", "reg", "lambda", "attention"]


@dataclass(frozen=True)
class TrainSettings:
    """Everything that shapes a run; stored (mostly) in the model's metadata.

    ``steps``: iterations of the three stages (G0, G_attn, joint). ``size``: the square
    training crop. ``threshold``: ℓ_adv^t, the discriminator's loss on generated images
    below which λ stops growing; ``lambda_step`` is added every ``lambda_every`` steps
    until then, never before ``induction_warmup`` steps of a stage (the discriminator
    has to learn something first), and λ never drops below ``lambda_min``.
    ``attention_sparsity`` weights the mean of A and ``attention_tv`` its total
    variation (``attention_prior``); ``joint_translator_reg`` × G0's λ weights G0's own
    self-regularization in the joint stage. All three are 0 in ch. 4; the defaults are
    what trained the shipped horse2zebra model on a CPU without ImageNet weights.
    ``average``: the decay of the weight averages that the model file holds (0 = the
    trained weights themselves; ``Averages`` says why).
    """

    steps: tuple[int, int, int] = (4000, 2000, 2000)
    size: int = 128
    batch: int = 1
    widths: Widths = field(default_factory=Widths)
    lr: float = 2e-4
    joint_lr_scale: float = 0.1
    pool_size: int = 50
    threshold: float = 0.35
    lambda_step: float = 0.5
    lambda_every: int = 20
    lambda_min: float = 1.0
    induction_warmup: int = 200
    attention_sparsity: float = 2.0
    attention_tv: float = 2.0
    joint_translator_reg: float = 1.0
    average: float = 0.999
    perceptual_width: int = VGG_WIDTH
    checkpoint_every: int = 250
    preview_every: int = 50
    seed: int = 0
    source: str = "source"
    target: str = "target"
    device: str | None = None

    def __post_init__(self) -> None:
        if self.size % MULTIPLE or self.size < 24:  # D's five layers need 24 pixels
            raise EngineError(f"The training size must be a multiple of {MULTIPLE}, at least "
                              f"24 (got {self.size}).")
        if len(self.steps) != 3 or min(self.steps) < 0 or sum(self.steps) < 1:
            raise EngineError("Give the steps of the three stages as three whole numbers "
                              f"≥ 0 (got {self.steps}).")

    @property
    def total(self) -> int:
        return sum(self.steps)

    @property
    def resolution(self) -> int:
        """The short side the networks saw photos at: what inference scales photos to."""
        return int(round(self.size * OVERSIZE))

    def stage_of(self, step: int) -> int:
        """0, 1 or 2: the stage that trains step ``step`` (0-based)."""
        end = 0
        for index, count in enumerate(self.steps):
            end += count
            if step < end:
                return index
        return 2

    def stage_bounds(self, stage: int) -> tuple[int, int]:
        start = sum(self.steps[:stage])
        return start, start + self.steps[stage]

    def learning_rate(self, step: int) -> float:
        """Constant for the first half of a stage, then linear to 0 (ch. 4: 5k + 5k)."""
        stage = self.stage_of(step)
        start, end = self.stage_bounds(stage)
        base = self.lr * (self.joint_lr_scale if stage == 2 else 1.0)
        half = start + (end - start) / 2
        if step < half:
            return base
        return base * max(0.0, (end - step) / max(1.0, end - half))


# -------------------------------------------------------------------------- the data


def load_photos(paths: Sequence[Path], size: int) -> list[np.ndarray]:
    """RGB uint8 photos, short side at ``OVERSIZE × size``; unreadable or tiny ones skipped."""
    short = int(round(size * OVERSIZE))
    photos = []
    for path in paths:
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)  # greyscale files come back as BGR
        if bgr is None or min(bgr.shape[:2]) < size // 2:
            continue
        h, w = bgr.shape[:2]
        scale = short / min(h, w)
        size_hw = (max(size, round(w * scale)), max(size, round(h * scale)))
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
        photos.append(np.ascontiguousarray(cv2.resize(bgr, size_hw, interpolation=interpolation)
                                           [..., ::-1]))
    return photos


def random_batch(photos: Sequence[np.ndarray], size: int, batch: int,
                 rng: np.random.Generator) -> torch.Tensor:
    """Bx3xSxS float in [0, 1]: random photos, random crops, random left-right flips."""
    import torch

    crops = []
    for _ in range(batch):
        photo = photos[rng.integers(len(photos))]
        h, w = photo.shape[:2]
        y, x = rng.integers(h - size + 1), rng.integers(w - size + 1)
        crop = photo[y:y + size, x:x + size]
        crops.append(crop[:, ::-1] if rng.random() < 0.5 else crop)
    array = np.stack(crops).astype(np.float32) / 255.0
    return torch.from_numpy(array).permute(0, 3, 1, 2).contiguous()


class ImagePool:
    """The history buffer (Shrivastava et al. 2017): D also sees older generated images.

    Until it holds ``capacity`` images it passes new ones through (and keeps them);
    then each image is, with probability ½, swapped for a random stored one.
    """

    def __init__(self, capacity: int, rng: np.random.Generator) -> None:
        self.capacity = capacity
        self.rng = rng
        self.images: list[Any] = []

    def query(self, images: torch.Tensor) -> torch.Tensor:
        import torch

        if self.capacity <= 0:
            return images
        out = []
        for image in images.detach():
            image = image[None]
            if len(self.images) < self.capacity:
                self.images.append(image)
                out.append(image)
            elif self.rng.random() < 0.5:
                index = int(self.rng.integers(self.capacity))
                out.append(self.images[index])
                self.images[index] = image
            else:
                out.append(image)
        return torch.cat(out)


# ------------------------------------------------------------------- λ induction


@dataclass
class Induction:
    """Adaptive weight induction of λ (ch. 4), one per stage that trains a generator."""

    value: float = 0.0
    frozen: bool = False
    d_fake: float | None = None  # running mean of D's loss on generated images

    def observe(self, d_fake: float, stage_step: int, settings: TrainSettings) -> None:
        self.d_fake = d_fake if self.d_fake is None else 0.95 * self.d_fake + 0.05 * d_fake
        if self.frozen or stage_step % settings.lambda_every:
            return
        if self.d_fake < settings.threshold and stage_step >= settings.induction_warmup:
            self.frozen = True
        elif self.d_fake >= settings.threshold:
            self.value += settings.lambda_step

    def weight(self, settings: TrainSettings) -> float:
        return max(settings.lambda_min, self.value)


# ---------------------------------------------------------------------------- the run


@dataclass
class Nets:
    translator: nn.Module
    attention: nn.Module
    discriminator: nn.Module
    perceptual: nn.Module
    warm_start: bool
    averages: Averages | None = None


class Averages:
    """Exponential moving averages of G0's and G_attn's weights: what the model holds.

    Not in ch. 4 (a common GAN practice, e.g. Karras et al. 2018, Yazıcı et al. 2019).
    The attention branch does not settle: D keeps learning, and on horse2zebra the
    held-out attention IoU of one run read 0.38, 0.44, 0.22, 0.40 at checkpoints 500
    steps apart, one of them with A flipped off the horse onto the grass. Averaging the
    weights over the last ~1/(1 − decay) steps keeps what the oscillation circles
    around. The decay warms up (``(1 + n)/(10 + n)`` after n steps of a stage), so
    short runs average over their own steps, not over the initial weights.
    """

    def __init__(self, nets: Nets, decay: float) -> None:
        import copy

        self.decay = decay
        self.translator = copy.deepcopy(nets.translator).requires_grad_(False)
        self.attention = copy.deepcopy(nets.attention).requires_grad_(False)

    def pairs(self, nets: Nets, stage: int) -> list[tuple[nn.Module, nn.Module]]:
        """(average, trained) for the networks that ``stage`` trains."""
        pairs = []
        if stage in (0, 2):
            pairs.append((self.translator, nets.translator))
        if stage in (1, 2):
            pairs.append((self.attention, nets.attention))
        return pairs

    def update(self, nets: Nets, stage: int, stage_step: int) -> None:
        import torch

        decay = min(self.decay, (1 + stage_step) / (10 + stage_step))
        with torch.no_grad():
            for average, trained in self.pairs(nets, stage):
                for a, t in zip(average.state_dict().values(), trained.state_dict().values(),
                                strict=True):
                    if a.dtype.is_floating_point:
                        a.mul_(decay).add_(t.detach(), alpha=1 - decay)
                    else:
                        a.copy_(t)

    def adopt(self, nets: Nets) -> None:
        """Make the averages the trained networks: a new stage starts from them."""
        nets.translator.load_state_dict(self.translator.state_dict())
        nets.attention.load_state_dict(self.attention.state_dict())


def build_nets(settings: TrainSettings, device: str) -> Nets:
    """Fresh networks; G_attn from ImageNet VGG-19 when installed and the width fits."""
    import torch

    torch.manual_seed(settings.seed)
    translator = build_translator(settings.widths)
    attention = build_attention(settings.widths)
    discriminator = build_discriminator(settings.widths)
    vgg = imagenet_vgg_state()
    warm = warm_start_attention(attention, vgg)
    perceptual = perceptual_network(settings.perceptual_width, vgg, settings.seed)
    nets = Nets(translator.to(device), attention.to(device), discriminator.to(device),
                perceptual.to(device), warm)
    if settings.average:
        nets.averages = Averages(nets, settings.average)
    return nets


def generator_params(nets: Nets, stage: int) -> list[Any]:
    if stage == 0:
        return list(nets.translator.parameters())
    if stage == 1:
        return list(nets.attention.parameters())
    return list(nets.translator.parameters()) + list(nets.attention.parameters())


def generate(nets: Nets, x: torch.Tensor, stage: int) -> tuple[torch.Tensor, ...]:
    """(G(x), G0(x), A(x) or None) for the stage: stage 0 trains G0 alone."""
    import torch

    if stage == 0:
        initial = nets.translator(x)
        return initial, initial, None
    if stage == 1:
        with torch.no_grad():
            initial = nets.translator(x)
    else:
        initial = nets.translator(x)
    attention = nets.attention(x)
    return attention * initial + (1 - attention) * x, initial, attention


def train(
    sources: Sequence[Path],
    targets: Sequence[Path],
    out: Path,
    settings: TrainSettings = TrainSettings(),  # noqa: B008 (frozen dataclass)
    resume: bool = True,
    report: Report = ignore_progress,
    cancel: CancelToken | None = None,
    preview_dir: Path | None = None,
    data_note: str = "",
) -> Path:
    """Train (or go on training) a translation model from ``sources`` to ``targets``.

    With ``resume`` the training state beside ``out`` is continued up to
    ``settings.steps`` (the stage lengths may grow between runs). Progress reports carry
    a preview grid (input | G0 | attention | result); with ``preview_dir`` that grid and
    the loss curves are also written there as PNG and CSV.
    """
    import torch

    from engines.device import resolve_device

    cancel = cancel or CancelToken()
    device = resolve_device(settings.device)
    amp = device.startswith("cuda")
    report(Progress(0, settings.total, "Loading photos"))
    source_photos = load_photos(sources, settings.size)
    target_photos = load_photos(targets, settings.size)
    for name, photos, given in (("source", source_photos, sources),
                                ("target", target_photos, targets)):
        if len(photos) < 2:
            raise EngineError(f"Training needs at least two readable {name} photos at least "
                              f"{settings.size // 2} pixels on their short side.",
                              f"{len(given)} paths given, {len(photos)} readable")
    cancel.raise_if_set()

    nets = build_nets(settings, device)
    step, history, inductions = 0, [], [Induction(), Induction()]
    d_opt = torch.optim.Adam(nets.discriminator.parameters(), lr=settings.lr, betas=(0.5, 0.999))
    g_opt = None
    stage = -1
    state_file = train_state.state_path(out)
    saved_state = None
    if resume and state_file.is_file():
        saved_state = _load_state(nets, d_opt, state_file)
        step, history = saved_state["step"], saved_state["history"]
        inductions = saved_state["inductions"]
    rng = np.random.default_rng([settings.seed, step])
    pool = ImagePool(settings.pool_size, rng)
    scalers = [torch.amp.GradScaler("cuda", enabled=amp) for _ in range(2)]
    started, started_step = time.perf_counter(), step
    sums: dict[str, float] = {}
    data = (f"{len(source_photos)} {settings.source} photos, {len(target_photos)} "
            f"{settings.target} photos; {data_note}").strip("; ")
    last_preview: list[np.ndarray | None] = [None]

    def checkpoint() -> None:
        _save_state(nets, g_opt, d_opt, stage, step, history, inductions, state_file)
        write_model(nets, settings, out, step, history, inductions, data)

    try:
        while step < settings.total:
            cancel.raise_if_set()
            if settings.stage_of(step) != stage:
                stage = settings.stage_of(step)
                resumed = saved_state is not None and saved_state["stage"] == stage
                if nets.averages is not None and not resumed:
                    nets.averages.adopt(nets)  # a new stage starts from the averages
                g_opt = torch.optim.Adam(generator_params(nets, stage), lr=settings.lr,
                                         betas=(0.5, 0.999))
                if resumed:
                    train_state.restore_optimizer(g_opt, saved_state["g_opt"])
                saved_state = None
                pool.images.clear()
                nets.translator.train(stage != 1)
            lr = settings.learning_rate(step)
            for group in [*g_opt.param_groups, *d_opt.param_groups]:
                group["lr"] = lr
            x = random_batch(source_photos, settings.size, settings.batch, rng).to(device)
            y = random_batch(target_photos, settings.size, settings.batch, rng).to(device)
            induction = inductions[min(stage, 1)]
            weight = induction.weight(settings)
            # The joint stage keeps G0's own self-regularization at the λ its stage found.
            own = (inductions[0].weight(settings) * settings.joint_translator_reg
                   if stage == 2 else 0.0)
            values = _train_step(nets, g_opt, d_opt, scalers, pool, x, y, stage, weight,
                                 settings, amp, own)
            stage_step = step - settings.stage_bounds(stage)[0]
            if nets.averages is not None:
                nets.averages.update(nets, stage, stage_step)
            if stage < 2:
                induction.observe(values["d_fake"], stage_step, settings)
            step += 1
            for key, value in values.items():
                sums[key] = sums.get(key, 0.0) + value
            sums["n"] = sums.get("n", 0.0) + 1
            if step % settings.preview_every == 0 or step == settings.total:
                n = sums.pop("n")
                means = {k: v / n for k, v in sums.items()}
                sums.clear()
                history.append([step, stage, *(round(means[k], 5) for k in
                                               ("d_loss", "d_fake", "g_adv", "reg")),
                                round(weight, 4), round(means["attention"], 4)])
                grid = preview_grid(nets, x, stage)
                last_preview[0] = grid
                rate = (step - started_step) / max(1e-6, time.perf_counter() - started)
                report(Progress(
                    step, settings.total,
                    f"{STAGES[stage]} stage, step {step}: D {means['d_loss']:.3f}, "
                    f"adv {means['g_adv']:.3f}, reg {means['reg']:.4f}, λ {weight:.2f}"
                    + (f", mean A {means['attention']:.2f}" if stage else "")
                    + f", {rate:.2f} steps/s",
                    grid,
                ))
                if preview_dir is not None:
                    write_previews(preview_dir, out.stem, grid, history)
            if step % settings.checkpoint_every == 0:
                checkpoint()
    finally:
        if step > started_step:
            checkpoint()
    return out


def _train_step(nets: Nets, g_opt, d_opt, scalers, pool: ImagePool, x, y, stage: int,
                weight: float, settings: TrainSettings, amp: bool,
                translator_weight: float = 0.0) -> dict[str, float]:
    """One generator and one discriminator update; returns the losses as floats.

    ``translator_weight`` (joint stage) adds G0's own self-regularization, ℓ_reg(x, G0(x)).
    """
    import torch
    from torch.nn.functional import binary_cross_entropy_with_logits as bce

    device_type = "cuda" if amp else "cpu"
    g_scaler, d_scaler = scalers
    with torch.autocast(device_type, enabled=amp):
        fake, initial, attention = generate(nets, x, stage)
        for p in nets.discriminator.parameters():
            p.requires_grad_(False)
        logits = nets.discriminator(fake)
        adversarial = bce(logits.float(), torch.ones_like(logits, dtype=torch.float32))
        regular = perceptual_distance(nets.perceptual, x.float(), fake.float())
        total = adversarial + weight * regular
        if translator_weight:
            total = total + translator_weight * perceptual_distance(
                nets.perceptual, x.float(), initial.float())
        if attention is not None:
            total = total + attention_prior(attention.float(), settings)
    g_opt.zero_grad(set_to_none=True)
    g_scaler.scale(total).backward()
    g_scaler.step(g_opt)
    g_scaler.update()

    for p in nets.discriminator.parameters():
        p.requires_grad_(True)
    with torch.autocast(device_type, enabled=amp):
        real_logits = nets.discriminator(y)
        fake_logits = nets.discriminator(pool.query(fake))
        d_real = bce(real_logits.float(), torch.ones_like(real_logits, dtype=torch.float32))
        d_fake = bce(fake_logits.float(), torch.zeros_like(fake_logits, dtype=torch.float32))
        d_loss = 0.5 * (d_real + d_fake)
    d_opt.zero_grad(set_to_none=True)
    d_scaler.scale(d_loss).backward()
    d_scaler.step(d_opt)
    d_scaler.update()
    return {"d_loss": d_loss.item(), "d_fake": d_fake.item(), "g_adv": adversarial.item(),
            "reg": regular.item(),
            "attention": attention.mean().item() if attention is not None else 0.0}


def attention_prior(attention: torch.Tensor, settings: TrainSettings) -> torch.Tensor:
    """What A costs apart from the GAN: its area (L1) and its total variation.

    Neither is in ch. 4. The area charge makes "leave the photo alone" the answer
    wherever G0's change does not buy realism, so A drops to 0 over the background G0
    barely touched instead of drifting at 0.5 (a pixel that G0 left unchanged gives
    the GAN losses no reason either way). Total variation makes A a few solid regions:
    a from-scratch G_attn otherwise speckles, and a speckled A composites a blotchy
    half-horse, half-zebra coat (G_attn learnt to draw stripes by switching between
    G0 and the photo).
    """
    prior = attention.new_zeros(())
    if settings.attention_sparsity:
        prior = prior + settings.attention_sparsity * attention.mean()
    if settings.attention_tv:
        tv = ((attention[..., 1:, :] - attention[..., :-1, :]).abs().mean()
              + (attention[..., :, 1:] - attention[..., :, :-1]).abs().mean())
        prior = prior + settings.attention_tv * tv
    return prior


# --------------------------------------------------------------------- files written


def write_model(nets: Nets, settings: TrainSettings, out: Path, step: int, history: list,
                inductions: Sequence[Induction], data: str) -> Path:
    """The model file as of ``step`` (stages not reached yet count 0 iterations)."""
    iterations = {}
    for index, name in enumerate(STAGES):
        start, end = settings.stage_bounds(index)
        iterations[name] = max(0, min(step, end) - start)
    lambdas = {STAGES[i]: {"lambda": round(ind.weight(settings), 4), "held": ind.frozen}
               for i, ind in enumerate(inductions)}
    kept = nets.averages or nets
    return save_model(kept.translator, kept.attention, out, settings.widths, {
        "source": settings.source, "target": settings.target,
        "resolution": settings.resolution, "crop": settings.size,
        "iterations": iterations, "planned_iterations": dict(zip(STAGES, settings.steps,
                                                                 strict=True)),
        "vgg_warm_start": nets.warm_start,
        "self_regularization": "VGG-19 conv1_1, conv1_2, conv2_1 features, w = 1/32, 1/16, "
                               "1/8, " + ("ImageNet weights" if nets.warm_start or
                                          _perceptual_is_imagenet(nets, settings)
                                          else f"fixed random weights (ImageNet VGG-19 not "
                                               f"installed), width {settings.perceptual_width}"),
        "lambda_induction": {**lambdas, "threshold": settings.threshold,
                             "step": settings.lambda_step, "every": settings.lambda_every,
                             "minimum": settings.lambda_min},
        "attention_sparsity": settings.attention_sparsity,
        "attention_tv": settings.attention_tv,
        "joint_translator_reg": settings.joint_translator_reg,
        "weight_average": settings.average,
        "optimizer": f"Adam lr {settings.lr} (joint stage × {settings.joint_lr_scale}), "
                     "linear decay over each stage's second half, betas (0.5, 0.999)",
        "batch": settings.batch, "history_buffer": settings.pool_size,
        "losses": history[-HISTORY_LIMIT:], "loss_columns": LOSS_COLUMNS,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "data": data, "seed": settings.seed,
    })


def _perceptual_is_imagenet(nets: Nets, settings: TrainSettings) -> bool:
    return settings.perceptual_width == VGG_WIDTH and imagenet_vgg_state() is not None


def _save_state(nets: Nets, g_opt, d_opt, stage: int, step: int, history: list,
                inductions: Sequence[Induction], path: Path) -> None:
    tensors = {}
    for prefix, net in _state_parts(nets):
        tensors.update(train_state.with_prefix(prefix, net.state_dict()))
    tensors.update(train_state.with_prefix("g_opt", train_state.optimizer_tensors(g_opt)))
    tensors.update(train_state.with_prefix("d_opt", train_state.optimizer_tensors(d_opt)))
    meta = {"step": str(step), "stage": str(stage), "history": json.dumps(history),
            "inductions": json.dumps([vars(i) for i in inductions]),
            "warm_start": json.dumps(nets.warm_start)}
    train_state.write_state(path, tensors, meta)


def _state_parts(nets: Nets) -> list[tuple[str, nn.Module]]:
    """(name, network) of everything a training state holds."""
    parts = [("g0", nets.translator), ("attn", nets.attention), ("d", nets.discriminator)]
    if nets.averages is not None:
        parts += [("average_g0", nets.averages.translator),
                  ("average_attn", nets.averages.attention)]
    return parts


def _load_state(nets: Nets, d_opt, path: Path) -> dict[str, Any]:
    try:
        tensors, meta = train_state.read_state(path)
        for name, net in _state_parts(nets):
            weights = train_state.part(tensors, name)
            if not weights and name.startswith("average_"):  # saved without averages
                weights = train_state.part(tensors, name.removeprefix("average_"))
            net.load_state_dict(weights)
        train_state.restore_optimizer(d_opt, train_state.part(tensors, "d_opt"))
        nets.warm_start = bool(json.loads(meta.get("warm_start", "false")))
        return {
            "step": int(meta["step"]), "stage": int(meta.get("stage", -1)),
            "history": json.loads(meta.get("history", "[]")),
            "inductions": [Induction(**i) for i in json.loads(meta["inductions"])],
            "g_opt": train_state.part(tensors, "g_opt"),
        }
    except Exception as exc:
        raise EngineError(
            f"The training state {path.name} could not be resumed; it is damaged or belongs "
            f"to a differently sized network. Delete it to start over.",
            f"{path}: {type(exc).__name__}: {exc}",
        ) from exc


def preview_grid(nets: Nets, x: torch.Tensor, stage: int) -> np.ndarray:
    """input | G0(x) | A(x) | G(x) of the batch's first image, HxWx3 float32 in [0, 1]."""
    import torch

    with torch.no_grad():
        sample = x[:1].float()
        initial = nets.translator(sample)
        attention = nets.attention(sample)
        result = attention * initial + (1 - attention) * sample
        parts = [sample, initial, attention.expand(-1, 3, -1, -1), result]
        if stage == 0:  # G_attn is untrained: show G0's result, and no attention
            parts[2], parts[3] = torch.zeros_like(sample), initial
    return np.concatenate([p[0].clamp(0, 1).permute(1, 2, 0).cpu().numpy() for p in parts],
                          axis=1).astype(np.float32)


def loss_plot(history: Sequence[Sequence[float]], width: int = 480,
              height: int = 200) -> np.ndarray:
    """The D, adversarial and (scaled) regularization losses as a small RGB uint8 chart."""
    chart = np.full((height, width, 3), 255, np.uint8)
    if len(history) < 2:
        return chart
    rows = np.asarray(history, np.float64)
    steps = rows[:, 0]
    colours = {2: (200, 40, 40), 4: (40, 40, 200), 5: (40, 150, 40)}  # D, adv, reg
    for column, colour in colours.items():
        values = rows[:, column]
        top = max(1e-6, float(np.percentile(values, 98)))
        xs = (steps - steps[0]) / max(1.0, steps[-1] - steps[0]) * (width - 11) + 5
        ys = height - 5 - np.clip(values / top, 0, 1) * (height - 10)
        points = np.stack([xs, ys], axis=1).round().astype(np.int32)[:, None]
        cv2.polylines(chart, [points], False, colour, 1, cv2.LINE_AA)
    return chart


def write_previews(folder: Path, stem: str, grid: np.ndarray, history: list) -> None:
    """The grid, the loss chart and the losses CSV beside the model."""
    train_state.write_previews(folder, stem, grid, history, LOSS_COLUMNS,
                               {"losses": loss_plot(history)})
