"""``transfigure remove``: fill the masked part of a photo and save it, losing nothing else.

Pixels outside the mask are written back as the file's own integers, with its bit
depth, transparency, colour profile and EXIF; the input file is never replaced.
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

QUALITIES = ("fast", "balanced", "best")


def add_commands(commands, common: argparse.ArgumentParser) -> None:
    """``remove`` (called by ``app.cli.main.build_parser`` from the operations table)."""
    remove = commands.add_parser(
        "remove", parents=[common],
        help="fill the masked part of a photo so the distractor disappears",
        description=(
            "Fill the white part of MASK in the photo IN and save the result as OUT. Pixels "
            "outside the mask are written back exactly as they were; bit depth, "
            "transparency, colour profile and EXIF are kept."
        ),
    )
    remove.add_argument("input", metavar="IN", help="the photo")
    remove.add_argument(
        "--mask", "-m", required=True, metavar="MASK",
        help="an image the size of the photo, white (or opaque) where the hole is",
    )
    remove.add_argument("--output", "-o", required=True, metavar="OUT", help="where to save")
    remove.add_argument(
        "--engine", "-e", metavar="NAME",
        help="the Remove engine (default: the default one; see 'transfigure engines')",
    )
    remove.add_argument(
        "--device", metavar="{auto,cpu,cuda,mps}",
        help="compute device (default: $TRANSFIGURE_DEVICE or auto; cuda:N picks a GPU)",
    )
    remove.add_argument("--seed", type=seed, default=0, help="random seed (default: 0)")
    remove.add_argument(
        "--quality", choices=QUALITIES, default="balanced",
        help="more quality takes longer (default: balanced)",
    )
    remove.add_argument(
        "--avoid", metavar="MASK2",
        help="a second mask, white where the fill must not copy from",
    )
    remove.add_argument(
        "--model", metavar="MODEL",
        help="the inpainting model of the guided and generator engines: a name or a "
             ".safetensors file (default: the shipped one)",
    )
    remove.add_argument(
        "--iterations", type=int, metavar="N",
        help="neural-patch: L-BFGS iterations per scale (default 20)",
    )
    remove.add_argument(
        "--texture-weight", type=float, metavar="ALPHA",
        help="neural-patch: weight of the texture term, α (default 5e-6, the thesis's)",
    )
    remove.add_argument(
        "--tv-weight", type=float, metavar="BETA",
        help="neural-patch: weight of the smoothness (total variation) term, β "
             "(default 5e-6, the thesis's)",
    )
    remove.add_argument(
        "--overwrite", action="store_true", help="replace OUT if it already exists"
    )
    remove.set_defaults(handler=cmd_remove)
    _add_train_command(commands, common)


def _add_train_command(commands, common: argparse.ArgumentParser) -> None:
    train = commands.add_parser(
        "train-inpainter", parents=[common],
        help="train the Remove generator (ch. 3) on folders of photos",
        description=(
            "Train (or go on training) the ch. 3 inpainting generator on the photos under "
            "DIR...: holes are drawn at random (brush strokes, boxes and, with "
            "--silhouettes, object shapes). Stopping at any time leaves a usable model; "
            "--resume goes on where it stopped."
        ),
    )
    train.add_argument("photos", nargs="+", metavar="DIR", help="folders (or files) of photos")
    train.add_argument("--out", "-o", required=True, metavar="MODEL",
                       help="the model file to write (.safetensors)")
    train.add_argument("--silhouettes", nargs="+", default=[], metavar="DIR",
                       help="folders of object masks (white = object) used as hole shapes")
    train.add_argument("--validation", nargs="+", default=[], metavar="DIR",
                       help="photos never trained on, scored as training goes (PSNR in "
                            "the hole)")
    train.add_argument("--steps", type=int, nargs="+", default=[6000, 500, 500, 500],
                       metavar="N",
                       help="steps of the head, then of each added block (default: 6000 500 "
                            "500 500)")
    train.add_argument("--size", type=int, default=128,
                       help="training crop size, a multiple of 8 (default 128)")
    train.add_argument("--reconstruction-steps", type=int, default=2000, metavar="N",
                       help="the head's first N steps learn the L1 term alone, without the "
                            "discriminator (default 2000; 0 = every term from the start)")
    train.add_argument("--batch", type=int, default=8, help="batch size (default 8)")
    train.add_argument("--width", type=int, default=16,
                       help="the generator's first-layer channels (default 16)")
    train.add_argument("--data-card", metavar="FILE",
                       help="a text file describing the photos (sources, terms), kept in "
                            "the model (tools/inpaint_training_set.py writes one: CARD.md)")
    train.add_argument("--preview-dir", metavar="DIR",
                       help="write the preview grid and losses here (default: beside MODEL)")
    train.add_argument("--resume", action="store_true",
                       help="continue the training state beside MODEL")
    train.add_argument("--device", metavar="{auto,cpu,cuda,mps}", help="compute device")
    train.add_argument("--seed", type=seed, default=0, help="random seed (default: 0)")
    train.set_defaults(handler=cmd_train_inpainter)


def selection(alpha, option: str):
    """The selected pixels of a mask (brighter than 50 % grey, or more than half opaque),
    refusing one whose painting stays below that with the rule and what it holds."""
    from engines.base import InvalidInput

    chosen = alpha > 0.5
    brightest = float(alpha.max()) if alpha.size else 0.0
    if not chosen.any() and brightest > 0.02:
        raise InvalidInput(
            f"The {option} image selects nothing: only pixels brighter than 50 % grey (or "
            f"more than half opaque) count as selected, and its brightest is "
            f"{brightest:.0%}. Paint the hole white.")
    return chosen


def cmd_remove(args: argparse.Namespace) -> int:
    from engines import imageio
    from engines.base import InvalidInput
    from engines.device import device_label, resolve_device
    from engines.remove import RemoveRequest

    entry = engine_entry("remove", args.engine, check=not args.model)
    source, target = Path(args.input), Path(args.output)
    check_output(target, [source, *(Path(p) for p in (args.mask, args.avoid) if p)],
                 args.overwrite)
    if args.model:  # a wrong --model fails before the photo is read
        from engines import store
        from engines.remove.generator.model_file import INPAINTING

        store.find(INPAINTING, args.model)
    device = resolve_device(args.device)

    photo = imageio.load_image(source)
    shape = photo.pixels.shape[:2]
    mask = selection(imageio.load_mask_alpha(args.mask, shape=shape), "--mask")
    avoid = None
    if args.avoid:
        try:
            avoid = imageio.load_mask_alpha(args.avoid, shape=shape) > 0.5
        except InvalidInput as exc:
            raise InvalidInput(
                exc.message.replace("The mask", "The --avoid mask", 1), exc.detail
            ) from exc
    request = RemoveRequest(
        image=photo.pixels, mask=mask, avoid=avoid, seed=args.seed, device=device,
        quality=args.quality, model=args.model, iterations=args.iterations,
        texture_weight=args.texture_weight, smoothness_weight=args.tv_weight,
    )
    request.validate()
    result, shown = run_request(entry.name, entry.load()(), request)
    if entry.name == "neural-patch" and result.notes:  # e.g. a development texture network
        say(f"Note: {result.notes}.")
    written = save_changed(photo, result.image, target, args.overwrite, changed=mask)
    if shown:
        say(
            f"Filled in {result.seconds:.1f} s on {device_label(result.device)}; "
            f"saved {written}."
        )
    return EXIT_OK


def cmd_train_inpainter(args: argparse.Namespace) -> int:
    from engines.base import Cancelled, InvalidInput
    from engines.photo_files import photo_files
    from engines.remove.generator.networks import InpainterWidths
    from engines.remove.generator.train import InpainterSettings, train

    photos = photo_files(args.photos)
    if len(photos) < 2:
        raise InvalidInput(f"Found {len(photos)} photo(s) under {' '.join(args.photos)}; "
                           "training needs at least two.")
    silhouettes = photo_files(args.silhouettes) if args.silhouettes else []
    validation = photo_files(args.validation) if args.validation else []
    out = check_model_output(Path(args.out), args.resume)
    card = ""
    if args.data_card:
        try:
            card = Path(args.data_card).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"Could not read the data card {args.data_card}: it must be a "
                               "text file.", str(exc)) from exc
    widths = InpainterWidths(generator=args.width, procedural=len(args.steps) - 1)
    settings = InpainterSettings(steps=tuple(args.steps), size=args.size, batch=args.batch,
                                 widths=widths, device=args.device, seed=args.seed,
                                 reconstruction_steps=max(0, args.reconstruction_steps))
    preview_dir = Path(args.preview_dir) if args.preview_dir else out.parent
    say(f"Training the inpainter on {len(photos)} photos"
        + (f" and {len(silhouettes)} silhouettes" if silhouettes else "")
        + f"; the model goes to {out}.")
    try:
        run_engine("training", lambda report, cancel: train(
            photos, out, settings, silhouettes, validation, resume=args.resume,
            report=report, cancel=cancel, preview_dir=preview_dir, data_card=card))
    except Cancelled:
        say(f"Stopped; the model so far is in {out} (continue with --resume).")
        return EXIT_CANCELLED
    # Said even without a terminal: a log of a long run must end with where it went.
    say(f"Done; the model is in {out}. Use it with 'transfigure remove --engine guided "
        f"--model {out}'.")
    return EXIT_OK
