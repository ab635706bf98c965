"""The command line: ``transfigure remove``, ``transfigure engines``, ``transfigure weights``.

Start-up stays fast: nothing here imports an engine, torch or PySide6 at module level;
each command imports what it needs when it runs. Errors the user can fix are one line
on stderr (``transfigure: error: ...``, exit 1), usage errors exit 2, Ctrl-C exits 130,
and a traceback appears only with ``--debug``.

``transfigure`` with no command opens the desktop window (on the photo given on the
command line, if any), after a check that Qt can show a window here (``app.qt_platform``).
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from app import __version__
from app.cli_composite import add_parsers as add_composite_parsers
from app.cli_expression import add_parser as add_expression_parser
from app.cli_remove import cmd_remove
from app.cli_train import add_parser as add_train_parser
from app.cli_translate import add_parsers as add_translate_parsers
from app.cli_weights import cmd_weights_download, cmd_weights_import, cmd_weights_list
from app.console import (
    DEBUG_HINT,
    EXIT_CANCELLED,
    EXIT_ERROR,
    EXIT_OK,
    NOTHING_WRITTEN,
    PROG,
    CommandError,
    error,
    say,
)

COMMANDS = (
    "remove", "composite", "harmonize", "expression", "train-harmonizer", "translate",
    "train-translate", "engines", "weights",
)
QUALITIES = ("fast", "balanced", "best")


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
            "'transfigure' alone, or 'transfigure PHOTO', opens the desktop window."
        ),
        epilog=(
            "examples:\n"
            "  transfigure remove photo.jpg --mask hole.png -o clean.jpg\n"
            "  transfigure composite street.jpg dog.jpg --box 40,60,300,260 --at 500,420 "
            "-o with-dog.jpg\n"
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
    add_composite_parsers(commands, common)
    add_expression_parser(commands, common)
    add_train_parser(commands, common)
    add_translate_parsers(commands, common)

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
    if _opens_window(args_list):
        return launch_window([a for a in args_list if not a.startswith("-")])
    parser = build_parser()
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # --help, --version, usage errors: keep argparse's codes
        return _exit_code(exc.code)
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return EXIT_OK
    return _run(args)


def _opens_window(argv: list[str]) -> bool:
    """No command: ``transfigure`` alone or ``transfigure PHOTO...`` (the desktop window).

    A first word that is a file, or looks like a path to one (``photo.jpg``, ``a/b``),
    opens the window even when it does not exist, so that the window says what is wrong
    with it; any other word is left to argparse ("invalid choice", exit 2).
    """
    flags = [a for a in argv if a.startswith("-")]
    if any(flag != "--debug" for flag in flags):
        return False
    positional = [a for a in argv if not a.startswith("-")]
    if not positional:
        return True
    first = positional[0]
    if first in COMMANDS:
        return False
    path = Path(first)
    return path.is_file() or bool(path.suffix) or len(path.parts) > 1


def launch_window(files: list[str]) -> int:
    """Open the desktop window on ``files``; return its exit code.

    PySide6 is imported here and only here, so the commands above never pay for it. The
    preflight runs first because Qt aborts the process (no message worth reading, often
    a core dump) when its platform plugin cannot load or there is no display.
    """
    from app import qt_platform

    problem = qt_platform.find_problem()
    if problem is not None:
        error(problem)
        return EXIT_ERROR
    try:
        from app.window import run_window
    except ImportError as exc:  # PySide6 itself misses a system library (libEGL, ...)
        message = qt_platform.import_error_message(exc)
        if message is None:
            raise
        error(message)
        return EXIT_ERROR
    return run_window(files)


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
        error(exc.message)
        return EXIT_ERROR
    except (Cancelled, KeyboardInterrupt):
        if debug:
            traceback.print_exc()
        say(NOTHING_WRITTEN)
        return EXIT_CANCELLED
    except Exception as exc:
        return _report_unexpected(exc, debug)


def _report_unexpected(exc: BaseException, debug: bool) -> int:
    if debug:
        traceback.print_exc()
        error(f"unexpected {type(exc).__name__}: {exc}")
    else:
        error(f"unexpected {type(exc).__name__}: {exc} {DEBUG_HINT}")
    return EXIT_ERROR


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
