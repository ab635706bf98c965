"""``transfigure train-harmonizer``: train the harmonization network on your own photos.

Self-supervised (ch. 3.4.4): the trainer recolours a region of a real photo and learns
to undo it, so any folder of photos will do; object masks (white = object) make the
regions look like real composites. Ctrl-C stops after the current step and keeps a
usable model; ``--resume`` goes on from where a run stopped.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from app.cli_common import check_model_output, run_engine
from app.console import EXIT_CANCELLED, EXIT_OK, say

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp"}


def add_parser(commands, common: argparse.ArgumentParser) -> None:
    train = commands.add_parser(
        "train-harmonizer", parents=[common],
        help="train the harmonization network (the 'net' harmonize engine) on photos",
        description=(
            "Train a harmonization network on folders of photos (searched recursively; "
            "files with 'mask' in their name are taken as object masks). The model is "
            "written to OUT every few hundred steps, so stopping early still leaves one."
        ),
    )
    train.add_argument("--photos", nargs="+", required=True, metavar="DIR",
                       help="folders (or files) of photos")
    train.add_argument("--masks", nargs="*", default=[], metavar="DIR",
                       help="folders (or files) of object masks, white = object")
    train.add_argument("--out", "-o", required=True, metavar="MODEL",
                       help="the model file to write (.safetensors)")
    train.add_argument("--steps", type=int, default=20000, help="training steps (default 20000)")
    train.add_argument("--size", type=int, default=128, help="training crop size (default 128)")
    train.add_argument("--batch", type=int, default=8, help="batch size (default 8)")
    train.add_argument("--resume", action="store_true",
                       help="continue the run whose state lies beside MODEL")
    train.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    train.set_defaults(handler=cmd_train_harmonizer)


def collect(paths: list[str]) -> tuple[list[Path], list[Path]]:
    """(photos, masks) found under ``paths``: masks are image files named like masks."""
    photos: list[Path] = []
    masks: list[Path] = []
    for given in paths:
        root = Path(given)
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for file in files:
            if file.suffix.lower() not in PHOTO_SUFFIXES:
                continue
            (masks if "mask" in file.stem.lower() else photos).append(file)
    return photos, masks


def cmd_train_harmonizer(args: argparse.Namespace) -> int:
    from engines.base import Cancelled, InvalidInput
    from engines.composite.train import train

    for given in [*args.photos, *args.masks]:
        if not Path(given).exists():
            raise InvalidInput(f"Could not find {given}.")
    photos, stray_masks = collect(args.photos)
    _, masks = collect(args.masks)
    masks = masks or stray_masks
    if len(photos) < 2:
        raise InvalidInput(f"Found {len(photos)} photo(s) under {' '.join(args.photos)}; "
                           "training needs at least two.")
    out = check_model_output(Path(args.out), args.resume)
    say(f"Training on {len(photos)} photos and {len(masks)} masks; the model goes to {out}.")
    try:
        _, shown = run_engine("training", lambda report, token: train(
            photos, masks, out, steps=args.steps, size=args.size, batch=args.batch,
            resume=args.resume, report=report, cancel=token, seed=args.seed))
    except Cancelled:
        say(f"Stopped; the model so far is in {out} (continue with --resume).")
        return EXIT_CANCELLED
    if shown:
        say(f"Done; the model is in {out}. Use it with TRANSFIGURE_HARMONIZER={out}.")
    return EXIT_OK
