"""``transfigure remove``: fill the masked part of a photo and save it, losing nothing else.

Pixels outside the mask are written back as the file's own integers, with its bit
depth, transparency, colour profile and EXIF; the input file is never replaced.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from app.cli_common import check_output, engine_entry, run_engine, save_changed
from app.console import EXIT_CANCELLED, EXIT_OK, NOTHING_WRITTEN, say


def cmd_remove(args: argparse.Namespace) -> int:
    from engines import imageio
    from engines.base import Cancelled, InvalidInput
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
    engine = entry.load()()
    try:
        result, shown = run_engine(entry.name,
                                   lambda report, token: engine.run(request, report, token))
    except Cancelled:
        say(NOTHING_WRITTEN)
        return EXIT_CANCELLED

    written = save_changed(photo, result.image, mask, target, args.overwrite)
    if shown:
        say(
            f"Filled in {result.seconds:.1f} s on {device_label(result.device)}; "
            f"saved {written}."
        )
    return EXIT_OK
