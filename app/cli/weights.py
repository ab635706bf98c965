"""``transfigure weights list | download | import | card``: the models and their terms.

Pretrained weights from elsewhere come on request only: a download shows the licence and
source first, asks on a terminal, and resumes when run again after an interruption. The
models Transfigure trained (shipped, or the user's own) are listed after them, each with
its data card (where its training data came from and under which terms), which ``card``
prints.
"""

from __future__ import annotations

import argparse
import sys

from app.cli.console import (
    EXIT_CANCELLED,
    EXIT_ERROR,
    EXIT_OK,
    CommandError,
    run_with_progress,
    say,
)
from app.cli.progress_bar import ProgressBar


def add_commands(commands, common: argparse.ArgumentParser) -> None:
    """``weights list | download | import | card`` (called by ``app.cli.main.build_parser``)."""
    weights = commands.add_parser(
        "weights", parents=[common],
        help="list, download or import pretrained weights; show the models' data cards",
        description=(
            "Pretrained weights for the neural engines, and the models Transfigure trained "
            "with their data cards. Nothing downloads on its own."
        ),
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
    card = actions.add_parser(
        "card", aliases=["show"], parents=[common],
        help="print the data card of a model Transfigure trained",
        description=(
            "Print a model's data card: what it was trained on, where that data came from "
            "and under which terms."
        ),
    )
    card.add_argument("name", metavar="NAME",
                      help="the model, as 'weights list' shows it under 'Models trained by "
                           "Transfigure'")
    card.set_defaults(handler=cmd_weights_card)


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def cmd_weights_list(args: argparse.Namespace) -> int:
    from engines.store import user_root, weights

    rows = weights.status_rows()
    table = [("NAME", "TITLE", "STATE", "SIZE", "NEEDED BY")]
    for row in rows:
        table.append((
            row.name, row.title, "installed" if row.installed else "not installed",
            _mb(row.size), ", ".join(row.needed_by),
        ))
    _print_table(table, right={3})
    if not rows:
        print("(no models are registered)")
    print(f"\nWeights folder: {user_root()}")
    _list_trained()
    return EXIT_OK


def _list_trained() -> None:
    """The second table: the models Transfigure trained, shipped or the user's."""
    from engines.store import catalog

    models = catalog.trained_models()
    print("\nModels trained by Transfigure")
    table = [("NAME", "KIND", "STEPS", "TRAINED", "SIZE", "WHERE", "DATA CARD")]
    for m in models:
        table.append((
            m.name, m.kind, f"{m.steps:,}" if m.steps is not None else "-",
            m.date[:10] or "-", _mb(m.size), m.where,
            str(m.card_path) if m.card is not None else "(none)",
        ))
    _print_table(table, right={2, 4})
    if not models:
        print("(none found)")
    else:
        print("\n'transfigure weights card NAME' prints a model's data card: its training data "
              "and their terms.")


def _print_table(table: list[tuple[str, ...]], right: set[int]) -> None:
    """Columns padded to their widest cell (those in ``right`` aligned right); the last
    column is not padded."""
    last = len(table[0]) - 1
    widths = [max(len(r[i]) for r in table) for i in range(last)]
    for r in table:
        cells = [r[i].rjust(widths[i]) if i in right else r[i].ljust(widths[i])
                 for i in range(last)]
        print("  ".join([*cells, r[last]]).rstrip())


def cmd_weights_card(args: argparse.Namespace) -> int:
    from engines.store import catalog

    try:
        model = catalog.find_model(args.name)
    except LookupError as exc:
        raise CommandError(str(exc)) from None
    if model.card is None:
        raise CommandError(f"The {model.kind} model {model.name} ({model.path}) has no data "
                           f"card; it would be {model.card_path}.")
    sys.stdout.write(model.card.text if model.card.text.endswith("\n")
                     else model.card.text + "\n")
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
    from engines.base import Cancelled
    from engines.store import weights

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

    try:
        path = run_with_progress(bar, tick, lambda cancel: weights.download(e, progress, cancel))
    except Cancelled:
        if weights.is_installed(e):
            print(f"Installed {e.name} at {weights.path_for(e)}.")
            return EXIT_OK
        done, total = received[0]
        if done == 0:
            say("Cancelled; nothing was downloaded.")
            return EXIT_CANCELLED
        say(
            f"Cancelled after {done / 1e6:.1f} of {_mb(total)}; the partial file was kept. "
            f"Run 'transfigure weights download {e.name}' again to resume."
        )
        return EXIT_CANCELLED
    print(f"Installed {e.name} at {path}.")
    return EXIT_OK


def cmd_weights_import(args: argparse.Namespace) -> int:
    from engines.store import weights

    e = weights.entry(args.name)
    path = weights.import_file(e, args.file)
    print(f"Imported {e.name} to {path}.")
    return EXIT_OK
