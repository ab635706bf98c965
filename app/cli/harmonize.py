"""``transfigure harmonize`` and ``transfigure train-harmonizer``.

``harmonize`` fixes the colours of a composite the user already has, writing its own
integers wherever nothing changed. ``train-harmonizer`` trains the harmonization
network on the user's photos, self-supervised (ch. 3.4.4): the trainer recolours a
region of a real photo and learns to undo it, so any folder of photos will do; object
masks (white = object) make the regions look like real composites. Ctrl-C stops after
the current step and keeps a usable model; ``--resume`` goes on from where a run
stopped.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from app.cli.common import (
    check_model_output,
    check_output,
    engine_entry,
    run_engine,
    run_request,
    save_changed,
    seed,
)
from app.cli.console import EXIT_CANCELLED, EXIT_OK, say


def add_commands(commands, common: argparse.ArgumentParser) -> None:
    """``harmonize`` and ``train-harmonizer`` (called by ``app.cli.main.build_parser``)."""
    harmonize = commands.add_parser(
        "harmonize", parents=[common],
        help="match a composite's foreground colours to its background",
        description=(
            "Harmonize the foreground (white in --mask) of COMPOSITE with the rest of it. "
            "Pixels outside the mask are written back unchanged."
        ),
    )
    harmonize.add_argument("composite", metavar="COMPOSITE")
    harmonize.add_argument("--mask", "-m", required=True, metavar="FG_MASK",
                           help="white = foreground; any size (resized to the composite's)")
    harmonize.add_argument("--output", "-o", required=True, metavar="OUT")
    harmonize.add_argument("--engine", "-e", metavar="NAME",
                           help="harmonization engine: poisson (default: colour transfer "
                                "and gradient blend), reinhard, edge or net")
    harmonize.add_argument("--strength", type=float, default=1.0, help="0–1 (default 1)")
    harmonize.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    harmonize.set_defaults(handler=cmd_harmonize)

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
    train.add_argument("--seed", type=seed, default=0, help="random seed (default: 0)")
    train.set_defaults(handler=cmd_train_harmonizer)


def cmd_harmonize(args: argparse.Namespace) -> int:
    from engines import imageio
    from engines.composite import HarmonizeRequest

    entry = engine_entry("harmonize", args.engine)
    source, target = Path(args.composite), Path(args.output)
    check_output(target, [source, Path(args.mask)], args.overwrite)
    photo = imageio.load_image(source)
    alpha = imageio.load_foreground_alpha(args.mask, photo.pixels.shape[:2])
    request = HarmonizeRequest(photo.pixels, alpha, strength=args.strength)
    result, shown = run_request(entry.name, entry.load()(), request)
    written = save_changed(photo, result.image, target, args.overwrite)
    if result.unchanged:  # said even without a terminal: OUT is a copy, and why
        say(f"{result.unchanged} Saved {written} as it was.")
    elif shown:
        say(f"Harmonized in {result.seconds:.1f} s; saved {written}.")
    return EXIT_OK


def cmd_train_harmonizer(args: argparse.Namespace) -> int:
    from engines.base import Cancelled, InvalidInput
    from engines.composite.train import train
    from engines.photo_files import photo_files, split_masks

    photos, stray_masks = split_masks(photo_files(args.photos))
    _, masks = split_masks(photo_files(args.masks))
    masks = masks or stray_masks
    if len(photos) < 2:
        raise InvalidInput(f"Found {len(photos)} photo(s) under {' '.join(args.photos)}; "
                           "training needs at least two.")
    out = check_model_output(Path(args.out), args.resume)
    say(f"Training on {len(photos)} photos and {len(masks)} masks; the model goes to {out}.")
    try:
        run_engine("training", lambda report, cancel: train(
            photos, masks, out, steps=args.steps, size=args.size, batch=args.batch,
            resume=args.resume, report=report, cancel=cancel, seed=args.seed))
    except Cancelled:
        say(f"Stopped; the model so far is in {out} (continue with --resume).")
        return EXIT_CANCELLED
    # Said even without a terminal: a log of a long run must end with where it went.
    say(f"Done; the model is in {out}. Use it with TRANSFIGURE_HARMONIZER={out}.")
    return EXIT_OK
