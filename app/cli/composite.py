"""``transfigure composite``: put an object from a guide photo into a photo.

It cuts the object in a box of the guide photo (or takes the user's mask), puts it into
the target, fills around it and harmonizes it, and writes the target's own integers
wherever nothing changed, with its bit depth, alpha, colour profile and EXIF.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from app.cli.common import check_output, engine_entry, run_request, save_changed, seed
from app.cli.console import EXIT_OK, say
from engines.composite.request import PASTE_HARMONIZER


def parse_box(text: str) -> tuple[int, int, int, int]:
    """``x,y,w,h`` in guide pixels."""
    parts = _numbers(text, "--box", "x,y,w,h")
    if len(parts) != 4 or any(p != int(p) for p in parts):
        raise argparse.ArgumentTypeError(f"--box wants four whole numbers x,y,w,h, not {text!r}")
    x, y, w, h = (int(p) for p in parts)
    if w <= 0 or h <= 0:
        raise argparse.ArgumentTypeError("--box needs a positive width and height")
    return x, y, w, h


def parse_at(text: str) -> tuple[float, float, float]:
    """``x,y[,scale]``: where the box's top-left corner lands, and its scale."""
    parts = _numbers(text, "--at", "x,y[,scale]")
    if len(parts) not in (2, 3):
        raise argparse.ArgumentTypeError(f"--at wants x,y or x,y,scale, not {text!r}")
    scale = parts[2] if len(parts) == 3 else 1.0
    if scale <= 0:
        raise argparse.ArgumentTypeError("--at: the scale must be positive")
    return parts[0], parts[1], scale


def _numbers(text: str, flag: str, form: str) -> list[float]:
    try:
        return [float(p) for p in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{flag} wants numbers {form}, not {text!r}") from None


def add_object_options(parser: argparse.ArgumentParser) -> None:
    """How the object is cut, pasted and matched: the same options for one photo
    (``composite``) and many (``batch composite``)."""
    parser.add_argument("--segment", metavar="NAME",
                        help="segmentation engine (default grabcut; see 'transfigure "
                             "engines')")
    parser.add_argument("--harmonize", default=PASTE_HARMONIZER, metavar="NAME",
                        help=f"reinhard, poisson, edge, net or none (default "
                             f"{PASTE_HARMONIZER})")
    parser.add_argument("--strength", type=float, default=1.0,
                        help="harmonization strength 0–1 (default 1)")
    parser.add_argument("--keep-light", action="store_true",
                        help="do not carry the object from the guide photo's exposure and "
                             "white balance into the target's")
    parser.add_argument("--paste-box", action="store_true",
                        help="replace everything under the box, not only under the object")
    parser.add_argument("--flip", action="store_true", help="mirror the object left-right")
    parser.add_argument("--feather", type=float, default=2.0,
                        help="soft edge of the object in pixels (default 2)")
    parser.add_argument("--seed", type=seed, default=0, help="random seed (default: 0)")


def add_commands(commands, common: argparse.ArgumentParser) -> None:
    """``composite`` (called by ``app.cli.main.build_parser`` from the operations table)."""
    composite = commands.add_parser(
        "composite", parents=[common],
        help="put an object from a guide photo into a photo, filled in and harmonized",
        description=(
            "Cut the object inside --box of GUIDE, paste it into TARGET with the box's "
            "top-left corner at --at, fill the gap around it from TARGET and match its "
            "colours to TARGET. Pixels away from the object are written back unchanged."
        ),
    )
    composite.add_argument("target", metavar="TARGET", help="the photo the object goes into")
    composite.add_argument("guide", metavar="GUIDE", help="the photo the object comes from")
    composite.add_argument("--box", required=True, type=parse_box, metavar="x,y,w,h",
                           help="the box around the object in GUIDE (pixels)")
    composite.add_argument("--at", required=True, type=parse_at, metavar="x,y[,scale]",
                           help="where the box's top-left corner lands in TARGET, and its "
                                "scale (default 1)")
    composite.add_argument("--output", "-o", required=True, metavar="OUT",
                           help="where to save the composite (never replaces TARGET or GUIDE)")
    composite.add_argument("--mask", metavar="GUIDE_MASK",
                           help="the object's mask in GUIDE (white = object) instead of "
                                "segmenting the box")
    add_object_options(composite)
    composite.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    composite.set_defaults(handler=cmd_composite)


def cmd_composite(args: argparse.Namespace) -> int:
    import numpy as np

    from engines import imageio
    from engines.composite import CompositeRequest, SegmentRequest
    from engines.composite.guide_object import check_box, load_object_mask
    from engines.composite.request import Placement

    entry = engine_entry("composite", None)
    if args.harmonize != "none":
        engine_entry("harmonize", args.harmonize)
    source, target = Path(args.target), Path(args.output)
    check_output(target, [source, *(Path(p) for p in (args.guide, args.mask) if p)],
                 args.overwrite)
    photo = imageio.load_image(source)
    guide = imageio.load_image(args.guide).pixels
    check_box(args.box, guide.shape)
    if args.mask:
        object_mask = load_object_mask(Path(args.mask), args.box, guide.shape)
    else:
        segmenter = engine_entry("segment", args.segment)
        request = SegmentRequest(guide, args.box, seed=args.seed)
        segmented = run_request(segmenter.name, segmenter.load()(), request)[0]
        if segmented.doubt:
            say(f"Warning: {segmented.doubt} Check the result; to correct it, draw the "
                "object's mask in any paint program (white = object) and pass it with --mask.")
        object_mask = segmented.mask
    ax, ay, scale = args.at
    composite = CompositeRequest(
        photo.pixels, guide, object_mask.astype(np.float32), args.box,
        Placement(ax, ay, scale, scale, args.flip), harmonize=args.harmonize,
        strength=args.strength, paste_box=args.paste_box, feather=args.feather,
        seed=args.seed, match_light=not args.keep_light,
    )
    result, shown = run_request("composite", entry.load()(), composite)
    written = save_changed(photo, result.image, target, args.overwrite)
    if shown:
        say(f"Composited in {result.seconds:.1f} s; saved {written}.")
    return EXIT_OK
