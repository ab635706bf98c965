"""What the command-line commands share: engine lookup, output checks, a progress bar.

Nothing here imports numpy, torch or an engine at module level; each function imports
what it needs, so ``transfigure --help`` stays instant.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.cli.console import run_with_progress, say
from app.cli.progress_bar import ProgressBar

if TYPE_CHECKING:
    import numpy as np

    from engines.base import CancelToken, Report
    from engines.imageio import LoadedImage
    from engines.registry import EngineEntry


def engine_entry(operation: str, name: str | None, check: bool = True) -> EngineEntry:
    """The named engine (or the default); unless ``check`` is False, refuse one that
    cannot run here with its reason and fix. A command that was handed the model the
    engine would otherwise miss checks that model itself and passes ``check=False``."""
    from engines import registry
    from engines.base import EngineUnavailable, InvalidInput

    try:
        entry = registry.get(operation, name)
    except KeyError as exc:
        raise InvalidInput(str(exc.args[0]) + ".") from None
    availability = entry.availability() if check else None
    if availability is not None and not availability.available:
        message = f"The {operation} engine '{entry.name}' is unavailable: {availability.reason}"
        if availability.fix:
            message += f" (fix: {availability.fix})"
        raise EngineUnavailable(message)
    return entry


def seed(text: str) -> int:
    """argparse type of ``--seed``: a whole number ≥ 0, or a sentence saying so."""
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"the seed must be a whole number, not {text!r}") \
            from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"the seed must be 0 or more, not {value}")
    return value


def check_output(target: Path, inputs: Path | Sequence[Path], overwrite: bool,
                 others: Sequence[tuple[str, Path]] = ()) -> None:
    """Refuse a bad OUT before spending minutes on the work (``save_image`` checks again).

    No input of the command (the photo, its mask, a guide, a second photo ...) may be
    an output, with or without ``--overwrite``: replacing a mask with a photo loses the
    mask. ``others`` are the command's other outputs, as (option, path): no two outputs
    may name the same file, or the second write would replace the first.
    """
    from engines.base import InvalidInput
    from engines.imageio import SUPPORTED_SAVE_EXTENSIONS

    given = [inputs] if isinstance(inputs, Path) else list(inputs)
    if target.is_dir():
        raise InvalidInput(f"{target} is a folder; give a file name inside it, such as "
                           f"{target / 'result.png'}.")
    if target.suffix.lower() not in SUPPORTED_SAVE_EXTENSIONS:
        shown = target.suffix or "a file without an extension"
        raise InvalidInput(f"Cannot save as {shown}; use .png, .jpg, .webp or .tif.")
    for option, other in others:
        if same_path(target, other):
            raise InvalidInput(f"{target} is also given as {option}; each output needs its "
                               "own file name.")
    if target.exists():
        if target.is_dir():
            raise InvalidInput(f"{target} is a folder; choose a file name.")
        for index, source in enumerate(given):
            if source.exists() and same_file(target, source):
                what = "the original photo" if index == 0 else f"the input {source.name}"
                raise InvalidInput(
                    f"Saving as {target} would replace {what}; choose another name.")
        if not overwrite:
            raise InvalidInput(f"{target} already exists; pass --overwrite to replace it.")
    elif not target.parent.is_dir():
        raise InvalidInput(f"The folder {target.parent} does not exist.")
    if not os.access(target.parent, os.W_OK | os.X_OK):  # before minutes of work, not after
        raise InvalidInput(f"The folder {target.parent} cannot be written to (it is read-only "
                           "for you); choose another folder.")


def same_path(a: Path, b: Path) -> bool:
    """Whether two paths name one file, whether or not it exists yet."""
    if a.exists() and b.exists():
        return same_file(a, b)
    return a.resolve() == b.resolve()


def same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


def check_model_output(out: Path, resume: bool) -> Path:
    """Refuse a bad model path for a trainer before any data is loaded."""
    from engines.base import InvalidInput

    if out.suffix.lower() != ".safetensors":
        raise InvalidInput("The model file should end in .safetensors.")
    if out.exists() and not resume:
        raise InvalidInput(f"{out} already exists; pass --resume to continue training it, "
                           "or choose another name.")
    if not out.parent.is_dir():
        raise InvalidInput(f"The folder {out.parent} does not exist.")
    return out


def run_engine(
    label: str, work: Callable[[Report, CancelToken], Any]
) -> tuple[Any, bool]:
    """``work(report, cancel)`` with a progress bar on a terminal; (result, bar was shown).

    The engine's reports are only stored; the main thread draws them, so the worker
    never waits on terminal I/O. ``Cancelled`` (Ctrl-C) reaches the caller.
    """
    from engines.base import Progress

    bar = ProgressBar(sys.stderr)
    latest: list[Progress | None] = [None]

    def report(progress: Progress) -> None:
        latest[0] = progress

    def tick(force: bool = False) -> None:
        progress = latest[0]
        if progress is None:
            bar.update(0.0, "", f"Starting {label}", force=force)
        else:
            bar.update(progress.fraction, f"{progress.step}/{progress.total}", progress.message,
                       force=force)

    result = run_with_progress(bar, tick, lambda cancel: work(report, cancel))
    return result, bar.enabled


def run_request(label: str, engine: Any, request: Any) -> tuple[Any, bool]:
    """``engine.run(request)`` with a progress bar (see ``run_engine``).

    Ctrl-C raises ``Cancelled``, which ``app.cli.main`` answers with "nothing was
    written" and exit code 130: nothing has been saved at that point.
    """
    return run_engine(label, lambda report, cancel: engine.run(request, report, cancel))


def save_changed(
    photo: LoadedImage, result: np.ndarray, target: Path, overwrite: bool,
    changed: np.ndarray | None = None,
) -> Path:
    """Save ``result`` where ``changed`` is set and the file's own integers elsewhere.

    ``changed`` defaults to the pixels whose values differ from the photo's. Untouched
    pixels come back bit for bit, with the photo's bit depth, alpha, colour profile and
    EXIF; the original file is never the target.
    """
    from engines import imageio

    for note in photo.notes:
        say(f"Note: {note}")
    if photo.alpha is not None and target.suffix.lower() in (".jpg", ".jpeg"):
        say(f"Note: {target.name} is a JPEG, which has no transparency: the photo's "
            "transparent parts are saved opaque. Save as .png, .webp or .tif to keep them.")
    return imageio.save_result(photo, result, target, overwrite, changed)
