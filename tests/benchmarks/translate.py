"""Benchmark of the Translate operation (ch. 4) on the held-out horse2zebra horses.

Run it from the repository root (a script, not a test; pytest does not collect it)::

    PYTHONPATH=. .venv/bin/python tests/benchmarks/translate.py [--model NAME|FILE]
        [--data DIR] [--out DIR] [--epochs N] [--seed N] [--threads N]

Cases: the last 100 ``train_`` horses of ``../shared/data/horse2zebra/horse`` in name
order, which the shipped model never saw, with their masks from
``seg_masks_model-generated/horse`` (made by a segmentation model, white = horse).
Each is translated at its own size (256 px) by the engine, and scored twice: G0 alone
(the whole-image translation) and the full model A·G0 + (1 − A)·x.

- background PSNR: the output against the input outside the horse mask (per image,
  an MSE of 0 counts as 99 dB; mean and median over images);
- attention IoU: A > 0.5 against the mask (for G0 alone, "A" is 1 everywhere);
- zebra score: the share of outputs that a small horse-vs-zebra CNN calls zebra. The
  CNN (group norm, classes balanced, random crops and flips, 12 epochs) is trained here
  on the train split (the held-out horses excluded), its accuracy on the test split is
  printed, and the untranslated horses are scored as a baseline. Scored twice: on the
  whole photo, and on a square around the horse (its mask's box): a whole photo is
  partly judged by its setting (meadow or savanna), which a model that leaves the
  background alone never changes;
- inference time: the engine on a 1 MP photo (median of 3 after a warm-up), whole and
  tiled (``TranslateRequest(tile=True)``);
- the mean attention on the horses and on the background (where a low IoU comes from).

Prints a markdown table (also saved as ``DIR/results.md``, default ``bench-out/translate``)
and writes side-by-sides of the first cases (input | G0 | attention | result) to DIR.
The photos are only read, never copied into the repository.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "horse2zebra"
HELD_OUT = 100
CLASSIFIER_SIDE = 96
CLASSIFIER_STORE = 128  # the photos are kept at this size and cropped from it
MIN_CROP = 0.5  # of the side: the smallest random crop the classifier trains on
HORSE_MARGIN = 0.15  # of the box side, around the horse
PSNR_CAP = 99.0


def read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise SystemExit(f"cannot read {path}")
    return (bgr[..., ::-1].astype(np.float32) / 255.0).copy()


def split(data: Path) -> dict[str, list[Path]]:
    """The held-out horses and the photos the classifier trains and is tested on."""
    horses = sorted(p for p in (data / "horse").iterdir() if p.name.startswith("train_"))
    zebras = sorted(p for p in (data / "zebra").iterdir() if p.name.startswith("train_"))
    return {
        "held_out": horses[-HELD_OUT:], "train_horse": horses[:-HELD_OUT],
        "train_zebra": zebras,
        "test_horse": sorted(p for p in (data / "horse").iterdir() if p.name.startswith("test_")),
        "test_zebra": sorted(p for p in (data / "zebra").iterdir() if p.name.startswith("test_")),
    }


def mask_for(data: Path, photo: Path, shape: tuple[int, int]) -> np.ndarray:
    path = data / "seg_masks_model-generated" / "horse" / f"{photo.stem}.png"
    grey = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if grey is None:
        raise SystemExit(f"no mask for {photo.name} ({path})")
    if grey.shape != shape:
        grey = cv2.resize(grey, shape[::-1], interpolation=cv2.INTER_NEAREST)
    return grey > 127


# ------------------------------------------------------------------------- classifier


def classifier_batch(images: list[np.ndarray], side: int = CLASSIFIER_SIDE):
    import torch

    small = [cv2.resize(im, (side, side), interpolation=cv2.INTER_AREA) for im in images]
    return torch.from_numpy(np.stack(small).transpose(0, 3, 1, 2).copy())


def random_crops(batch, rng: np.random.Generator):
    """Each photo cropped to a random square (``MIN_CROP``..1 of its side), flipped at
    random, and resized to the classifier's side: it then also judges a crop around one
    animal, as the horse-box score asks of it."""
    import torch
    from torch.nn import functional

    out = []
    side = batch.shape[-1]
    for image in batch:
        size = int(side * rng.uniform(MIN_CROP, 1.0))
        y, x = rng.integers(0, side - size + 1, 2)
        crop = image[:, y:y + size, x:x + size]
        if rng.random() < 0.5:
            crop = crop.flip(2)
        out.append(functional.interpolate(crop[None], size=(CLASSIFIER_SIDE, CLASSIFIER_SIDE),
                                          mode="bilinear", align_corners=False, antialias=True))
    return torch.cat(out)


def train_classifier(horses: list[Path], zebras: list[Path], epochs: int, seed: int = 0):
    """A small CNN, horse (0) vs zebra (1), on 96 px crops with flips; independent of G."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    x = torch.cat([classifier_batch([read_rgb(p) for p in horses], CLASSIFIER_STORE),
                   classifier_batch([read_rgb(p) for p in zebras], CLASSIFIER_STORE)])
    y = torch.cat([torch.zeros(len(horses)), torch.ones(len(zebras))])

    def block(i: int, o: int) -> list[nn.Module]:
        return [nn.Conv2d(i, o, 3, 1, 1), nn.GroupNorm(4, o), nn.ReLU(True),
                nn.Conv2d(o, o, 3, 2, 1), nn.GroupNorm(4, o), nn.ReLU(True)]

    net = nn.Sequential(*block(3, 16), *block(16, 32), *block(32, 64), *block(64, 96),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(96, 1))
    optimizer = torch.optim.Adam(net.parameters(), weight_decay=1e-4)  # rate: the schedule
    steps = epochs * math.ceil(len(x) / 64)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, 2e-3, total_steps=steps)
    balance = torch.tensor(len(horses) / len(zebras))  # the classes count the same
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = torch.from_numpy(rng.permutation(len(x)))
        for start in range(0, len(x), 64):
            idx = order[start:start + 64]
            loss = nn.functional.binary_cross_entropy_with_logits(
                net(random_crops(x[idx], rng))[:, 0], y[idx], pos_weight=balance)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
    return net.eval()


def horse_square(mask: np.ndarray) -> tuple[slice, slice]:
    """A square around the horse (its mask's box, grown by ``HORSE_MARGIN``), in the photo."""
    ys, xs = np.nonzero(mask)
    h, w = mask.shape
    if len(ys) == 0:
        return slice(0, h), slice(0, w)
    side = max(ys.max() - ys.min(), xs.max() - xs.min()) * (1 + 2 * HORSE_MARGIN)
    side = int(min(max(side, 16), h, w))
    cy, cx = (ys.min() + ys.max()) / 2, (xs.min() + xs.max()) / 2
    y0 = int(np.clip(round(cy - side / 2), 0, h - side))
    x0 = int(np.clip(round(cx - side / 2), 0, w - side))
    return slice(y0, y0 + side), slice(x0, x0 + side)


def zebra_share(net, images: list[np.ndarray]) -> float:
    import torch

    with torch.no_grad():
        logits = torch.cat([net(classifier_batch(images[i:i + 64]))[:, 0]
                            for i in range(0, len(images), 64)])
    return float((logits > 0).float().mean())


# --------------------------------------------------------------------------- metrics


def psnr_outside(output: np.ndarray, source: np.ndarray, mask: np.ndarray) -> float:
    background = ~mask
    if not background.any():
        return float("nan")
    out8 = np.round(np.clip(output, 0, 1) * 255)  # what a saved file would hold
    src8 = np.round(source * 255)
    mse = float(((out8 - src8)[background] ** 2).mean())
    return PSNR_CAP if mse == 0 else min(PSNR_CAP, 10 * math.log10(255.0 ** 2 / mse))


def iou(pred: np.ndarray, mask: np.ndarray) -> float:
    union = (pred | mask).sum()
    return float((pred & mask).sum() / union) if union else 1.0


def side_by_side(image, initial, attention, result) -> np.ndarray:
    heat = cv2.applyColorMap((attention * 255).astype(np.uint8), cv2.COLORMAP_INFERNO)
    parts = [image, initial, heat[..., ::-1].astype(np.float32) / 255, result]
    return (np.concatenate(parts, axis=1) * 255 + 0.5).clip(0, 255).astype(np.uint8)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None, help="model name or file (default: shipped)")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=ROOT / "bench-out" / "translate")
    parser.add_argument("--epochs", type=int, default=12, help="classifier epochs (default 12)")
    parser.add_argument("--seed", type=int, default=0, help="classifier seed (default 0)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--pictures", type=int, default=12, help="side-by-sides to write")
    args = parser.parse_args(argv)

    import torch

    from engines import store
    from engines.translate import TranslateRequest
    from engines.translate.engine import TranslateEngine
    from engines.translate.model_file import TRANSLATION, read_info

    if args.threads:
        torch.set_num_threads(args.threads)
    if not args.data.is_dir():
        print(f"no data at {args.data}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    model = store.find(TRANSLATION, args.model)
    info = read_info(model)
    files = split(args.data)
    engine = TranslateEngine()

    started = time.perf_counter()
    classifier = train_classifier(files["train_horse"], files["train_zebra"], args.epochs,
                                  args.seed)
    test_acc_h = 1 - zebra_share(classifier, [read_rgb(p) for p in files["test_horse"]])
    test_acc_z = zebra_share(classifier, [read_rgb(p) for p in files["test_zebra"]])
    classifier_seconds = time.perf_counter() - started

    rows = {"input": [], "g0": [], "full": []}
    boxes = {"input": [], "g0": [], "full": []}
    psnr = {"g0": [], "full": []}
    ious = {"g0": [], "full": []}
    attention_in: list[float] = []
    attention_out: list[float] = []
    for index, path in enumerate(files["held_out"]):
        image = read_rgb(path)
        mask = mask_for(args.data, path, image.shape[:2])
        result = engine.run(TranslateRequest(image, model))
        rows["input"].append(image)
        rows["g0"].append(result.initial)
        rows["full"].append(result.image)
        square = horse_square(mask)
        for key, output in (("input", image), ("g0", result.initial), ("full", result.image)):
            boxes[key].append(output[square])
        psnr["g0"].append(psnr_outside(result.initial, image, mask))
        psnr["full"].append(psnr_outside(result.image, image, mask))
        ious["g0"].append(iou(np.ones_like(mask), mask))
        ious["full"].append(iou(result.attention > 0.5, mask))
        attention_in.append(float(result.attention[mask].mean()) if mask.any() else np.nan)
        attention_out.append(float(result.attention[~mask].mean()))
        if index < args.pictures:
            cv2.imwrite(str(args.out / f"{index:02d}_{path.stem}.png"),
                        side_by_side(image, result.initial, result.attention,
                                     result.image)[..., ::-1])

    rng = np.random.default_rng(0)
    big = rng.random((1000, 1000, 3), dtype=np.float32)
    engine.run(TranslateRequest(big, model))  # warm-up (model load, allocator)
    timings = {}
    for tile in (False, True):
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            engine.run(TranslateRequest(big, model, tile=tile))
            times.append(time.perf_counter() - t0)
        timings[tile] = times
    seconds = float(np.median(timings[False]))
    tiled = float(np.median(timings[True]))

    shares = {k: zebra_share(classifier, v) for k, v in rows.items()}
    on_horse = {k: zebra_share(classifier, v) for k, v in boxes.items()}
    lines = [
        f"Model: {model.name} ({info.title}), iterations {info.iterations}, resolution "
        f"{info.resolution}, widths {info.widths.as_dict()}, ImageNet VGG warm start: "
        f"{info.vgg_warm_start}, trained {info.extra.get('date', '?')}",
        f"Held-out horses: {len(files['held_out'])}; classifier: {args.epochs} epochs "
        f"(seed {args.seed}) on "
        f"{len(files['train_horse'])} horses + {len(files['train_zebra'])} zebras "
        f"({classifier_seconds:.0f} s), test accuracy horses {test_acc_h:.2f}, zebras "
        f"{test_acc_z:.2f}",
        "",
        "| output | background PSNR mean (dB) | median (dB) | attention IoU | zebra score "
        "(photo) | zebra score (horse's box) |",
        "|---|---|---|---|---|---|",
        f"| input horses (untranslated) | — | — | — | {shares['input']:.2f} "
        f"| {on_horse['input']:.2f} |",
    ]
    for key, label in (("g0", "G0 alone"), ("full", "full model A·G0 + (1−A)·x")):
        lines.append(f"| {label} | {np.nanmean(psnr[key]):.1f} | {np.nanmedian(psnr[key]):.1f}"
                     f" | {np.mean(ious[key]):.2f} | {shares[key]:.2f} | {on_horse[key]:.2f} |")
    inside, outside = np.nanmean(attention_in), np.mean(attention_out)
    lines += ["", f"Mean attention on the horses {inside:.2f}, on the background {outside:.2f}",
              "", f"Inference at 1 MP (1000×1000, CPU, {torch.get_num_threads()} threads): "
                  f"{seconds:.2f} s median of 3 (runs "
                  f"{', '.join(f'{t:.2f}' for t in timings[False])}); tiled: {tiled:.2f} s",
              "", "Targets: background PSNR ≥ 30 dB (full model), attention IoU ≥ 0.5, zebra "
                  "score well above the input's, 1 MP ≤ 3 s.",
              f"  PSNR {'PASS' if np.nanmean(psnr['full']) >= 30 else 'FAIL'}, "
              f"IoU {'PASS' if np.mean(ious['full']) >= 0.5 else 'FAIL'}, "
              f"zebra {'PASS' if shares['full'] > shares['input'] + 0.2 else 'FAIL'} (photo), "
              f"{'PASS' if on_horse['full'] > on_horse['input'] + 0.2 else 'FAIL'} (horse's box), "
              f"time {'PASS' if seconds <= 3 else 'FAIL'}"]
    text = "\n".join(lines)
    print(text)
    (args.out / "results.md").write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
