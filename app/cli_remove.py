"""``transfigure remove``: fill the masked part of a photo and save it, losing nothing else.

Pixels outside the mask are written back as the file's own integers, with its bit
depth, transparency, colour profile and EXIF; the input file is never replaced.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from app.console import EXIT_CANCELLED, EXIT_OK, NOTHING_WRITTEN, run_with_progress, say
from app.progress_bar import ProgressBar

if TYPE_CHECKING:
    from engines.registry import EngineEntry


def _engine_entry(operation: str, name: str | None) -> EngineEntry:
    from engines import registry
    from engines.base import EngineUnavailable, InvalidInput

    try:
        entry = registry.get(operation, name)
    except KeyError as exc:
        raise InvalidInput(str(exc.args[0]) + ".") from None
    availability = entry.availability()
    if not availability.available:
        message = f"The {operation} engine '{entry.name}' is unavailable: {availability.reason}"
        if availability.fix:
            message += f" (fix: {availability.fix})"
        raise EngineUnavailable(message)
    return entry


def _check_output(target: Path, source: Path, overwrite: bool) -> None:
    """Refuse a bad OUT before spending minutes on the fill (``save_image`` checks again)."""
    from engines.base import InvalidInput
    from engines.imageio import SUPPORTED_SAVE_EXTENSIONS

    if target.suffix.lower() not in SUPPORTED_SAVE_EXTENSIONS:
        shown = target.suffix or "a file without an extension"
        raise InvalidInput(f"Cannot save as {shown}; use .png, .jpg, .webp or .tif.")
    if target.exists():
        if target.is_dir():
            raise InvalidInput(f"{target} is a folder; choose a file name.")
        if source.exists() and _same_file(target, source):
            raise InvalidInput(
                f"Saving as {target} would replace the original photo; choose another name."
            )
        if not overwrite:
            raise InvalidInput(f"{target} already exists; pass --overwrite to replace it.")
    elif not target.parent.is_dir():
        raise InvalidInput(f"The folder {target.parent} does not exist.")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


def cmd_remove(args: argparse.Namespace) -> int:
    import numpy as np

    from engines import imageio
    from engines.base import Cancelled, InvalidInput, Progress
    from engines.device import device_label, resolve_device
    from engines.remove import RemoveRequest

    entry = _engine_entry("remove", args.engine)
    source, target = Path(args.input), Path(args.output)
    _check_output(target, source, args.overwrite)
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

    bar = ProgressBar(sys.stderr)
    latest: list[Progress | None] = [None]

    def report(progress: Progress) -> None:
        latest[0] = progress  # drawn by the main thread, so the worker never waits on I/O

    def tick(force: bool = False) -> None:
        progress = latest[0]
        if progress is None:
            bar.update(0.0, "", f"Starting {entry.name}", force=force)
        else:
            bar.update(progress.fraction, f"{progress.step}/{progress.total}", progress.message,
                       force=force)

    try:
        result = run_with_progress(bar, tick, lambda token: engine.run(request, report, token))
    except Cancelled:
        say(NOTHING_WRITTEN)
        return EXIT_CANCELLED

    # Untouched pixels are the file's own integers; only the hole takes the engine's values.
    depth = photo.bit_depth
    values = photo.raw
    values[mask] = imageio.to_uint(result.image[mask], depth)
    pixels = values.astype(np.float32)
    pixels /= np.float32((1 << depth) - 1)  # save_image quantises this back exactly
    written = imageio.save_image(
        target, pixels, alpha=photo.alpha, bit_depth=depth, icc_profile=photo.icc_profile,
        exif=photo.exif, overwrite=args.overwrite, protect=source,
    )
    if bar.enabled:
        say(
            f"Filled in {result.seconds:.1f} s on {device_label(result.device)}; "
            f"saved {written}."
        )
    return EXIT_OK
