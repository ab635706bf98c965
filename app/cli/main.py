"""The command line: one command per operation (from the operations table), plus
``transfigure engines`` and ``transfigure weights``.

Start-up stays fast: nothing here imports an engine, torch or PySide6 at module level;
each command imports what it needs when it runs. Errors the user can fix are one line
on stderr (``transfigure: error: ...``, exit 1), usage errors exit 2, Ctrl-C exits 130,
and a traceback appears only with ``--debug``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
import traceback
from collections.abc import Sequence
from typing import NoReturn

from app import __version__
from app.cli import batch, desktop, listing, weights
from app.cli.console import (
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
from engines import operations

# Commands that belong to no operation; they come after the operations' own.
TOOL_COMMANDS = (listing, weights, desktop, batch)


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error said in one line that names where help is.

    argparse prints the whole usage block above the error; in a terminal or a log the
    sentence that matters ends up under a wall of options. Exit code 2 as argparse.
    """

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    """Every command: each operation's command module adds its own (``add_commands``)."""
    # --debug is accepted before or after the command: the sub-parsers' copy has no
    # default, so it never resets a --debug given before the command.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS,
        help="print the full traceback when something goes wrong",
    )

    parser = Parser(
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
    modules = [importlib.import_module(op.commands) for op in operations.OPERATIONS
               if op.commands]
    for module in [*modules, *TOOL_COMMANDS]:
        module.add_commands(commands, common)
    return parser


def command_names() -> list[str]:
    """The names ``transfigure COMMAND`` accepts, in the order ``--help`` lists them."""
    parser = build_parser()
    choices = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return list(choices.choices)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``), run the command, return the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # --help, --version, usage errors: keep argparse's codes
        return _exit_code(exc.code)
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return EXIT_OK
    return _run(args)


def _exit_code(code: object) -> int:
    if code is None:
        return EXIT_OK
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return EXIT_ERROR


class Terminated(KeyboardInterrupt):
    """SIGTERM (a logout, ``kill``, a service manager): stopped like Ctrl-C, so the work
    is cancelled and a half-written file is removed by the code writing it."""


EXIT_TERMINATED = 128 + signal.SIGTERM


def _on_sigterm(signum, frame) -> None:  # noqa: ARG001 - the signal API's arguments
    raise Terminated()


def _run(args: argparse.Namespace) -> int:
    """Run the command with SIGTERM stopping it like Ctrl-C (``Terminated``); the
    previous handler comes back afterwards (tests call ``main`` in their own process)."""
    if threading.current_thread() is not threading.main_thread():
        return _run_command(args)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return _run_command(args)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run_command(args: argparse.Namespace) -> int:
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
    except (Cancelled, KeyboardInterrupt) as exc:
        if debug:
            traceback.print_exc()
        say(NOTHING_WRITTEN)
        terminated = isinstance(exc, Terminated) or isinstance(exc.__context__, Terminated)
        return EXIT_TERMINATED if terminated else EXIT_CANCELLED
    except OSError as exc:
        sentence = os_error_sentence(exc)
        if sentence is None:
            return _report_unexpected(exc, debug)
        if debug:
            traceback.print_exc()
        error(sentence)
        return EXIT_ERROR
    except Exception as exc:
        return _report_unexpected(exc, debug)


def os_error_sentence(exc: OSError) -> str | None:
    """What the file system refused, as a sentence (None: no plain wording for it).

    Commands turn the failures they expect into sentences themselves; this catches the
    rest (a 300-character file name, a full disk while importing weights) so that no
    errno text reaches the user.
    """
    import errno

    name = exc.filename or exc.filename2
    shown = ""
    if name:
        text = os.fsdecode(name)
        shown = text if len(text) <= 60 else f"{text[:28]}…{text[-28:]}"
    reasons = {
        errno.ENAMETOOLONG: "A file name is too long for this file system"
                            + (f" ({len(os.fsdecode(name))} characters: {shown})" if name
                               else "") + "; choose a shorter one.",
        errno.ENOSPC: "The disk is full" + (f" (writing {shown})" if name else "")
                      + "; nothing was replaced. Free some space and try again.",
        errno.EDQUOT: "Your disk quota is used up" + (f" (writing {shown})" if name else "")
                      + "; nothing was replaced.",
        errno.EACCES: f"Permission denied{': ' + shown if name else ''}.",
        errno.EPERM: f"Permission denied{': ' + shown if name else ''}.",
        errno.EROFS: f"The disk is read-only{' (' + shown + ')' if name else ''}.",
        errno.ENOENT: f"Could not find {shown}." if name else None,
        errno.EISDIR: f"{shown} is a folder; a file was expected." if name else None,
    }
    return reasons.get(exc.errno)


def _report_unexpected(exc: BaseException, debug: bool) -> int:
    if debug:
        traceback.print_exc()
        error(f"unexpected {type(exc).__name__}: {exc}")
    else:
        error(f"unexpected {type(exc).__name__}: {exc} {DEBUG_HINT}")
    return EXIT_ERROR
