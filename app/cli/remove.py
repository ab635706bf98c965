"""``transfigure remove``: fill the masked part of a photo and save it, losing nothing else.

Pixels outside the mask are written back as the file's own integers, with its bit
depth, transparency, colour profile and EXIF; the input file is never replaced.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from app.cli.common import check_output, engine_entry, run_request, save_changed
from app.cli.console import EXIT_OK, say

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
    remove.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    remove.add_argument(
        "--quality", choices=QUALITIES, default="balanced",
        help="more quality takes longer (default: balanced)",
    )
    remove.add_argument(
        "--avoid", metavar="MASK2",
        help="a second mask, white where the fill must not copy from",
    )
    remove.add_argument(
        "--overwrite", action="store_true", help="replace OUT if it already exists"
    )
    remove.set_defaults(handler=cmd_remove)


def cmd_remove(args: argparse.Namespace) -> int:
    from engines import imageio
    from engines.base import InvalidInput
    from engines.device import device_label, resolve_device
    from engines.remove import RemoveRequest

    entry = engine_entry("remove", args.engine)
    source, target = Path(args.input), Path(args.output)
    check_output(target, source, args.overwrite)
    device = resolve_device(args.device)

    photo = imageio.load_image(source)
    shape = photo.pixels.shape[:2]
    mask = imageio.load_mask(args.mask, shape=shape)
    avoid = None
    if args.avoid:
        try:
            avoid = imageio.load_mask(args.avoid, shape=shape)
        except InvalidInput as exc:
            raise InvalidInput(
                exc.message.replace("The mask", "The --avoid mask", 1), exc.detail
            ) from exc
    request = RemoveRequest(
        image=photo.pixels, mask=mask, avoid=avoid, seed=args.seed, device=device,
        quality=args.quality,
    )
    request.validate()
    result, shown = run_request(entry.name, entry.load()(), request)
    written = save_changed(photo, result.image, target, args.overwrite, changed=mask)
    if shown:
        say(
            f"Filled in {result.seconds:.1f} s on {device_label(result.device)}; "
            f"saved {written}."
        )
    return EXIT_OK
