"""The command line: ``transfigure remove``, ``transfigure engines``, ``transfigure weights``.

Start-up stays fast: nothing here imports an engine, torch or PySide6 at module level;
each command imports what it needs when it runs. Errors the user can fix are one line
on stderr (``transfigure: error: ...``, exit 1), usage errors exit 2, Ctrl-C exits 130,
and a traceback appears only with ``--debug``.

``transfigure`` with no command will open the desktop window (with any photos given on
the command line); until the window exists it prints the help.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from app import __version__
from app.progress_bar import ProgressBar

if TYPE_CHECKING:
    from engines.base import CancelToken
    from engines.registry import EngineEntry

PROG = "transfigure"
COMMANDS = ("remove", "engines", "weights")
DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")  # engines.device.CHOICES, without importing it
QUALITIES = ("fast", "balanced", "best")

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_CANCELLED = 130

NOTHING_WRITTEN = "Cancelled; nothing was written."
DEBUG_HINT = "(run with --debug for the traceback)"

T = TypeVar("T")


class CommandError(Exception):
    """A refusal of the command line itself (not of an engine); printed as one line."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# ------------------------------------------------------------------------------ parser


def build_parser() -> argparse.ArgumentParser:
    # --debug is accepted before or after the command: the sub-parsers' copy has no
    # default, so it never resets a --debug given before the command.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS,
        help="print the full traceback when something goes wrong",
    )

    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Transfigure: remove distractors from photos and more. Run a command below; "
            "'transfigure' alone will open the desktop window."
        ),
        epilog=(
            "examples:\n"
            "  transfigure remove photo.jpg --mask hole.png -o clean.jpg\n"
            "  transfigure engines\n"
            "  transfigure weights list\n\n"
            "Run 'transfigure COMMAND --help' for a command's options."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--debug", action="store_true", default=False,
        help="print the full traceback when something goes wrong",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")

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

    engines = commands.add_parser(
        "engines", parents=[common],
        help="list the engines of every operation and whether they can run here",
    )
    engines.set_defaults(handler=cmd_engines)

    weights = commands.add_parser(
        "weights", parents=[common],
        help="list, download or import pretrained weights",
        description="Pretrained weights for the neural engines. Nothing downloads on its own.",
    )
    actions = weights.add_subparsers(dest="action", metavar="ACTION", title="actions")
    actions.required = True
    listing = actions.add_parser("list", parents=[common], help="show every model and its state")
    listing.set_defaults(handler=cmd_weights_list)
    fetch = actions.add_parser(
        "download", parents=[common], help="download a model (asks first)",
        description=(
            "Download a model after showing its licence and source. An interrupted "
            "download resumes when the command is run again."
        ),
    )
    fetch.add_argument("name", metavar="NAME", help="the model, as 'weights list' shows it")
    fetch.add_argument(
        "--yes", "-y", action="store_true", help="accept the licence and download without asking"
    )
    fetch.set_defaults(handler=cmd_weights_download)
    importing = actions.add_parser(
        "import", parents=[common], help="install a model file you already have",
        description="Install a local copy of a model after checking its checksum.",
    )
    importing.add_argument("name", metavar="NAME", help="the model, as 'weights list' shows it")
    importing.add_argument("file", metavar="FILE", help="the downloaded weights file")
    importing.set_defaults(handler=cmd_weights_import)
    return parser


# -------------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``), run the command, return the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if _opens_window(args_list):
        return launch_window(parser, [a for a in args_list if not a.startswith("-")])
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # --help, --version, usage errors: keep argparse's codes
        return _exit_code(exc.code)
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return EXIT_OK
    return _run(args)


def _opens_window(argv: list[str]) -> bool:
    """No command: ``transfigure`` alone or ``transfigure PHOTO...`` (the desktop window)."""
    flags = [a for a in argv if a.startswith("-")]
    if any(flag != "--debug" for flag in flags):
        return False
    positional = [a for a in argv if not a.startswith("-")]
    if not positional:
        return True
    return positional[0] not in COMMANDS and Path(positional[0]).is_file()


def launch_window(parser: argparse.ArgumentParser, files: list[str]) -> int:
    """Open the desktop window on ``files``.

    The window arrives in a later issue; until then this shows the help, so the
    command-line commands are discoverable from a bare ``transfigure``.
    """
    del files  # will be opened in the window
    parser.print_help()
    return EXIT_OK


def _exit_code(code: object) -> int:
    if code is None:
        return EXIT_OK
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return EXIT_ERROR


def _run(args: argparse.Namespace) -> int:
    """Run the command; every failure becomes one line (and a traceback with --debug)."""
    debug = bool(getattr(args, "debug", False))
    try:
        from engines.base import Cancelled, EngineError
    except Exception as exc:  # a broken installation: still no raw traceback
        return _report_unexpected(exc, debug)
    try:
        return int(args.handler(args))
    except (EngineError, CommandError) as exc:
        if debug:
            traceback.print_exc()
            detail = getattr(exc, "detail", "")
            if detail:
                print(f"detail: {detail}", file=sys.stderr)
        _error(exc.message)
        return EXIT_ERROR
    except (Cancelled, KeyboardInterrupt):
        if debug:
            traceback.print_exc()
        _say(NOTHING_WRITTEN)
        return EXIT_CANCELLED
    except Exception as exc:
        return _report_unexpected(exc, debug)


def _report_unexpected(exc: BaseException, debug: bool) -> int:
    if debug:
        traceback.print_exc()
        _error(f"unexpected {type(exc).__name__}: {exc}")
    else:
        _error(f"unexpected {type(exc).__name__}: {exc} {DEBUG_HINT}")
    return EXIT_ERROR


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _error(message: str) -> None:
    print(f"{PROG}: error: {_one_line(message)}", file=sys.stderr)
    sys.stderr.flush()


def _say(message: str) -> None:
    print(message, file=sys.stderr)
    sys.stderr.flush()


# ---------------------------------------------------------------------- worker threads


def run_cancellable(
    work: Callable[[], T],
    token: CancelToken,
    tick: Callable[[], None] | None = None,
    interval: float = 0.1,
) -> T:
    """Run ``work`` on a worker thread so Ctrl-C reaches the main thread at once.

    ``tick`` runs on the main thread about every ``interval`` seconds (to redraw
    progress). On Ctrl-C the token is set and the worker, which polls it, is given the
    time to stop cleanly; then ``Cancelled`` is raised. A second Ctrl-C stops waiting.
    """
    from engines.base import Cancelled

    outcome: dict[str, Any] = {}
    finished = threading.Event()

    def target() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # handed to the main thread
            outcome["error"] = exc
        finally:
            finished.set()

    # Waiting on an Event rather than Thread.join: a KeyboardInterrupt that lands inside
    # join() can leave the thread marked as stopped while it still runs (CPython 3.11).
    worker = threading.Thread(target=target, name="transfigure-worker", daemon=True)
    try:
        worker.start()  # inside the try: Ctrl-C may arrive while the thread starts
        while not finished.wait(interval):
            if tick is not None:
                tick()
    except KeyboardInterrupt:
        token.cancel()
        with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C stops the wait
            finished.wait()
        error = outcome.get("error")
        if isinstance(error, Cancelled):
            raise error from None
        raise Cancelled("Cancelled by the user.") from None
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


# ------------------------------------------------------------------------------ remove


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
    from engines.base import Cancelled, CancelToken, InvalidInput, Progress
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

    token = CancelToken()
    tick()
    try:
        result = run_cancellable(lambda: engine.run(request, report, token), token, tick)
        tick(force=True)
    except Cancelled:
        bar.finish()
        _say(NOTHING_WRITTEN)
        return EXIT_CANCELLED
    finally:
        bar.finish()

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
        _say(
            f"Filled in {result.seconds:.1f} s on {device_label(result.device)}; "
            f"saved {written}."
        )
    return EXIT_OK


# ----------------------------------------------------------------------------- engines


def cmd_engines(args: argparse.Namespace) -> int:
    from engines import registry

    for operation in registry.operations():
        entries = registry.entries(operation)
        print(f"{operation}:")
        width = max((len(e.name) for e in entries), default=0)
        for e in entries:
            availability = e.availability()
            if availability.available:
                state = "available"
            else:
                state = f"unavailable: {availability.reason}"
                if availability.fix:
                    state += f" (fix: {availability.fix})"
            default = " (default)" if e.default else ""
            print(f"  {e.name:<{width}}  {e.title}{default}  {state}")
    return EXIT_OK


# ----------------------------------------------------------------------------- weights


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def cmd_weights_list(args: argparse.Namespace) -> int:
    from engines import weights

    rows = weights.status_rows()
    table = [("NAME", "TITLE", "STATE", "SIZE", "NEEDED BY")]
    for row in rows:
        table.append((
            row.name, row.title, "installed" if row.installed else "not installed",
            _mb(row.size), ", ".join(row.needed_by),
        ))
    widths = [max(len(r[i]) for r in table) for i in range(4)]
    for r in table:
        cells = [r[i].ljust(widths[i]) if i != 3 else r[i].rjust(widths[i]) for i in range(4)]
        print("  ".join([*cells, r[4]]).rstrip())
    if not rows:
        print("(no models are registered)")
    print(f"\nWeights folder: {weights.cache_dir()}")
    return EXIT_OK


def _stdin_is_terminal() -> bool:
    stdin = sys.stdin
    return bool(stdin is not None and hasattr(stdin, "isatty") and stdin.isatty())


def _confirm(question: str) -> bool:
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")


def cmd_weights_download(args: argparse.Namespace) -> int:
    from engines import weights
    from engines.base import Cancelled, CancelToken

    e = weights.entry(args.name)
    if weights.is_installed(e):
        print(f"{e.name} is already installed at {weights.path_for(e)}.")
        return EXIT_OK
    print(f"{e.title} ({e.name})")
    print(f"  source:  {e.host}  ({e.url})")
    print(f"  licence: {e.licence}")
    print(f"  size:    {_mb(e.size)}")
    sys.stdout.flush()
    if not args.yes:
        if not _stdin_is_terminal():
            raise CommandError(
                f"not downloading {e.name} ({_mb(e.size)}) without confirmation and there is "
                f"no terminal to ask on; pass --yes to accept the licence and download."
            )
        if not _confirm(f"Download {_mb(e.size)}?"):
            print("Nothing was downloaded.")
            return EXIT_ERROR

    bar = ProgressBar(sys.stderr)
    received: list[tuple[int, int]] = [(0, e.size)]

    def progress(done: int, total: int) -> None:
        received[0] = (done, total)

    def tick(force: bool = False) -> None:
        done, total = received[0]
        bar.update(done / total if total else 0.0, f"{done / 1e6:.1f}/{_mb(total)}",
                   f"Downloading {e.name} from {e.host}", force=force)

    token = CancelToken()
    tick()
    try:
        path = run_cancellable(lambda: weights.download(e, progress, token), token, tick)
        tick(force=True)
    except Cancelled:
        bar.finish()
        if weights.is_installed(e):
            print(f"Installed {e.name} at {weights.path_for(e)}.")
            return EXIT_OK
        done, total = received[0]
        if done == 0:
            _say("Cancelled; nothing was downloaded.")
            return EXIT_CANCELLED
        _say(
            f"Cancelled after {done / 1e6:.1f} of {_mb(total)}; the partial file was kept. "
            f"Run 'transfigure weights download {e.name}' again to resume."
        )
        return EXIT_CANCELLED
    finally:
        bar.finish()
    print(f"Installed {e.name} at {path}.")
    return EXIT_OK


def cmd_weights_import(args: argparse.Namespace) -> int:
    from engines import weights

    e = weights.entry(args.name)
    path = weights.import_file(e, args.file)
    print(f"Imported {e.name} to {path}.")
    return EXIT_OK
