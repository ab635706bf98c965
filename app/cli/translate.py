"""``transfigure translate`` and ``transfigure train-translate`` (ch. 4).

``translate`` turns a photo into the model's target domain (horse → zebra by default)
only where the model's attention says so, and writes the photo's own integers
everywhere else. ``train-translate`` trains a model from two unpaired folders; Ctrl-C
stops after the current step and keeps a usable model, ``--resume`` goes on.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from app.cli.common import (
    check_model_output,
    check_output,
    run_engine,
    run_request,
    save_changed,
    seed,
)
from app.cli.console import EXIT_CANCELLED, EXIT_OK, say


def parse_widths(text: str) -> tuple[int, int, int]:
    """``G,A,D``: first-stage widths of G0, G_attn's VGG and the discriminator."""
    try:
        parts = tuple(int(p) for p in text.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 3 or min(parts) < 1:
        raise argparse.ArgumentTypeError(f"--widths wants three positive whole numbers G,A,D, "
                                         f"not {text!r}")
    return parts  # type: ignore[return-value]


def add_commands(commands, common: argparse.ArgumentParser) -> None:
    """``translate`` and ``train-translate`` (called by ``app.cli.main.build_parser``)."""
    translate = commands.add_parser(
        "translate", parents=[common],
        help="translate a photo into another domain (horse → zebra) where attention says",
        description=(
            "Translate IN with a ch. 4 model: the translator G0 changes the whole photo, "
            "the attention map A says where that change belongs, and OUT = A·G0 + (1−A)·IN "
            "at full resolution. Pixels with A = 0 are written back unchanged."
        ),
    )
    translate.add_argument("input", metavar="IN", help="the photo")
    translate.add_argument("--output", "-o", required=True, metavar="OUT", help="where to save")
    translate.add_argument("--model", metavar="NAME|FILE",
                           help="a model name (default: horse2zebra) or a .safetensors file")
    translate.add_argument("--save-attention", metavar="PATH",
                           help="also save the attention map A (white = translated)")
    translate.add_argument("--save-initial", metavar="PATH",
                           help="also save G0's translation of the whole photo")
    translate.add_argument("--tile", action="store_true",
                           help="run large photos in overlapping tiles (more detail, slower)")
    translate.add_argument("--device", metavar="{auto,cpu,cuda,mps}",
                           help="compute device (default: $TRANSFIGURE_DEVICE or auto)")
    translate.add_argument("--overwrite", action="store_true", help="replace files that exist")
    translate.set_defaults(handler=cmd_translate)

    train = commands.add_parser(
        "train-translate", parents=[common],
        help="train a translation model from two folders of unpaired photos",
        description=(
            "Train a ch. 4 translation model from the photos in --a (source domain) to those "
            "in --b (target domain): G0 first, then the attention branch, then both. The "
            "model is written to MODEL every few hundred steps, so stopping early still "
            "leaves one."
        ),
    )
    train.add_argument("--a", required=True, nargs="+", metavar="DIR",
                       help="folders (or files) of source-domain photos")
    train.add_argument("--b", required=True, nargs="+", metavar="DIR",
                       help="folders (or files) of target-domain photos")
    train.add_argument("--out", "-o", required=True, metavar="MODEL",
                       help="the model file to write (.safetensors)")
    train.add_argument("--steps-per-stage", type=int, nargs=3, default=[4000, 2000, 2000],
                       metavar=("G0", "ATTN", "JOINT"),
                       help="steps of the three stages (default 4000 2000 2000)")
    train.add_argument("--size", type=int, default=128,
                       help="training crop size, a multiple of 4 (default 128)")
    train.add_argument("--batch", type=int, default=1, help="batch size (default 1)")
    train.add_argument("--widths", type=parse_widths, default=(32, 64, 64), metavar="G,A,D",
                       help="first-stage widths of G0, the attention VGG and D (default "
                            "32,64,64; an attention width of 64 can start from ImageNet "
                            "VGG-19)")
    train.add_argument("--name-a", default="source", help="the source domain's name")
    train.add_argument("--name-b", default="target", help="the target domain's name")
    train.add_argument("--preview-dir", metavar="DIR",
                       help="where preview grids and loss curves go (default: beside MODEL)")
    train.add_argument("--resume", action="store_true",
                       help="continue the run whose state lies beside MODEL")
    train.add_argument("--device", metavar="{auto,cpu,cuda,mps}",
                       help="compute device (default: $TRANSFIGURE_DEVICE or auto)")
    train.add_argument("--seed", type=seed, default=0, help="random seed (default: 0)")
    train.set_defaults(handler=cmd_train_translate)


def cmd_translate(args: argparse.Namespace) -> int:
    import numpy as np

    from engines import imageio, store
    from engines.translate import TranslateRequest
    from engines.translate.engine import TranslateEngine
    from engines.translate.model_file import TRANSLATION

    source, target = Path(args.input), Path(args.output)
    sides = [(option, Path(p)) for option, p in (("--save-attention", args.save_attention),
                                                  ("--save-initial", args.save_initial)) if p]
    check_output(target, source, args.overwrite, sides)
    for index, (_, extra) in enumerate(sides):
        check_output(extra, source, args.overwrite, sides[index + 1:])
    store.find(TRANSLATION, args.model)  # a wrong --model fails before the photo is read
    photo = imageio.load_image(source)
    request = TranslateRequest(photo.pixels, args.model, tile=args.tile, device=args.device)
    result, shown = run_request("translate", TranslateEngine(), request)
    changed = np.any(result.image != photo.pixels, axis=2)
    written = save_changed(photo, result.image, target, args.overwrite, changed=changed)
    if args.save_attention:
        grey = np.repeat(result.attention[..., None], 3, axis=2)
        imageio.save_image(args.save_attention, grey, overwrite=args.overwrite,
                           protect=source)
    if args.save_initial:
        imageio.save_image(args.save_initial, result.initial, overwrite=args.overwrite,
                           protect=source)
    if shown:
        share = float(changed.mean()) * 100
        say(f"Translated with {result.model} in {result.seconds:.1f} s ({share:.0f}% of the "
            f"pixels changed); saved {written}.")
    return EXIT_OK


def cmd_train_translate(args: argparse.Namespace) -> int:
    from engines.base import Cancelled, InvalidInput
    from engines.photo_files import photo_files
    from engines.translate.networks import Widths
    from engines.translate.train import TrainSettings, train

    sources, targets = photo_files(args.a), photo_files(args.b)
    for flag, found in (("--a", sources), ("--b", targets)):
        if len(found) < 2:
            raise InvalidInput(f"Found {len(found)} photo(s) under {flag}; training needs at "
                               "least two per domain.")
    out = check_model_output(Path(args.out), args.resume)
    g, a, d = args.widths
    settings = TrainSettings(
        steps=tuple(args.steps_per_stage), size=args.size, batch=args.batch,
        widths=Widths(g, 9, a, d), perceptual_width=a,
        source=args.name_a, target=args.name_b, device=args.device, seed=args.seed,
    )
    preview_dir = Path(args.preview_dir) if args.preview_dir else out.parent
    say(f"Training {args.name_a} → {args.name_b} on {len(sources)} + {len(targets)} photos; "
        f"the model goes to {out}.")
    try:
        run_engine("training", lambda report, cancel: train(
            sources, targets, out, settings, resume=args.resume, report=report, cancel=cancel,
            preview_dir=preview_dir))
    except Cancelled:
        say(f"Stopped; the model so far is in {out} (continue with --resume).")
        return EXIT_CANCELLED
    # Said even without a terminal: a log of a long run must end with where it went.
    say(f"Done; the model is in {out}. Use it with 'transfigure translate --model {out}'.")
    return EXIT_OK
