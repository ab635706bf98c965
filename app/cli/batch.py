"""``transfigure batch OPERATION INPUT -o OUTPUT_DIR``: one operation over many photos.

Runs on worker processes of this machine (``--workers``, default one per core); an
output that exists is skipped unless ``--overwrite``, so running the same command
again continues where a stopped batch ended. A bad photo is reported and skipped,
never stops the batch. At the end: done / skipped / failed, each failure's reason, and
``--report FILE`` (.csv or .json) with one row per photo.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from app.cli.common import engine_entry, run_engine, seed
from app.cli.composite import add_object_options, parse_at, parse_box
from app.cli.console import EXIT_CANCELLED, EXIT_ERROR, EXIT_OK, say
from app.cli.expression import FEATURE_HELP, SLIDER_HELP, add_feature_options
from app.cli.progress_bar import format_elapsed
from app.cli.remove import QUALITIES


def add_commands(commands, common: argparse.ArgumentParser) -> None:
    """``batch`` (called by ``app.cli.main.build_parser``)."""
    batch = commands.add_parser(
        "batch", parents=[common],
        help="run an operation over a folder of photos (all cores)",
        description=(
            "Run OPERATION over every photo INPUT names (a folder, searched recursively; a "
            "glob such as 'shoot/*.jpg'; or a text file listing photos) and write the "
            "results under OUTPUT_DIR with the same names. Outputs that exist are "
            "skipped unless --overwrite, so the same command resumes a stopped batch."
        ),
    )
    operations = batch.add_subparsers(dest="operation", metavar="OPERATION", required=True)
    remove = operations.add_parser("remove", parents=[common],
                                   help="fill each photo's mask (see 'transfigure remove')")
    remove.add_argument("input", metavar="INPUT")
    remove.add_argument("--masks", "-m", required=True, metavar="DIR_OR_FILE",
                        help="one mask for every photo, or a folder with each photo's mask "
                             "by name (beach.jpg ← beach.png, beach_mask.png)")
    remove.add_argument("--output", "-o", required=True, metavar="OUTPUT_DIR")
    remove.add_argument("--engine", "-e", metavar="NAME", help="the Remove engine")
    remove.add_argument("--quality", choices=QUALITIES, default="balanced")
    remove.add_argument("--model", metavar="MODEL", help="inpainting model (guided, generator)")
    remove.add_argument("--seed", type=seed, default=0)
    _common_batch_options(remove)
    remove.set_defaults(handler=cmd_batch, sides={"mask": "masks"},
                        settings=("quality", "model", "seed"))

    harmonize = operations.add_parser("harmonize", parents=[common],
                                      help="harmonize each composite's foreground")
    harmonize.add_argument("input", metavar="INPUT")
    harmonize.add_argument("--masks", "-m", required=True, metavar="DIR_OR_FILE",
                           help="foreground masks (white = object), by name or one for all")
    harmonize.add_argument("--output", "-o", required=True, metavar="OUTPUT_DIR")
    harmonize.add_argument("--engine", "-e", metavar="NAME", help="the harmonize engine")
    harmonize.add_argument("--strength", type=float, default=1.0, help="0–1 (default 1)")
    _common_batch_options(harmonize)
    harmonize.set_defaults(handler=cmd_batch, sides={"mask": "masks"}, settings=("strength",))

    translate = operations.add_parser("translate", parents=[common],
                                      help="translate each photo (horse → zebra)")
    translate.add_argument("input", metavar="INPUT")
    translate.add_argument("--output", "-o", required=True, metavar="OUTPUT_DIR")
    translate.add_argument("--model", metavar="NAME|FILE", help="translation model")
    translate.add_argument("--tile", action="store_true", help="translate large photos in tiles")
    translate.add_argument("--engine", "-e", metavar="NAME", help=argparse.SUPPRESS)
    _common_batch_options(translate)
    translate.set_defaults(handler=cmd_batch, sides={}, settings=("model", "tile"))

    expression = operations.add_parser("expression", parents=[common],
                                       help="give each portrait the expression of another")
    expression.add_argument("input", metavar="INPUT")
    expression.add_argument("--second", metavar="DIR_OR_FILE",
                            help="the portrait whose expression each one takes: one for all, "
                                 "or a folder with one per portrait by name (optional with "
                                 "the sliders)")
    expression.add_argument("--output", "-o", required=True, metavar="OUTPUT_DIR")
    expression.add_argument("--engine", "-e", metavar="NAME", help="the expression engine")
    expression.add_argument("--strength", type=float, default=1.0, help="0–1 (default 1)")
    add_feature_options(expression)
    _common_batch_options(expression)
    expression.set_defaults(handler=cmd_batch, sides={"second": "second"},
                            settings=("strength", *FEATURE_HELP, *SLIDER_HELP))

    composite = operations.add_parser(
        "composite", parents=[common],
        help="put the object in a guide photo's box into each photo (see 'transfigure "
             "composite')")
    composite.add_argument("input", metavar="INPUT", help="the photos the object goes into")
    composite.add_argument("--guide", required=True, metavar="DIR_OR_FILE",
                           help="the photo the object comes from: one for all, or a folder "
                                "with one per photo by name")
    composite.add_argument("--box", required=True, type=parse_box, metavar="x,y,w,h",
                           help="the box around the object in the guide (pixels)")
    composite.add_argument("--at", required=True, type=parse_at, metavar="x,y[,scale]",
                           help="where the box's top-left corner lands in each photo, and "
                                "its scale (default 1)")
    composite.add_argument("--guide-mask", metavar="DIR_OR_FILE",
                           help="the object's mask in the guide (white = object), one for all "
                                "or by name, instead of segmenting the box")
    composite.add_argument("--output", "-o", required=True, metavar="OUTPUT_DIR")
    add_object_options(composite)
    composite.add_argument("--engine", "-e", metavar="NAME", help=argparse.SUPPRESS)
    _common_batch_options(composite)
    composite.set_defaults(handler=cmd_batch,
                           sides={"guide": "guide", "guide mask": "guide_mask"},
                           settings=("box", "at", "flip", "segment", "keep_light",
                                     "harmonize", "strength", "paste_box", "feather", "seed"))


def _common_batch_options(parser: argparse.ArgumentParser) -> None:
    from engines.batch.pool import default_workers

    parser.add_argument("--workers", type=int, metavar="N",
                        help=f"worker processes (default: one per GPU for engines that use "
                             f"one, else one per core: {default_workers()} here)")
    parser.add_argument("--overwrite", action="store_true",
                        help="redo photos whose output exists (default: skip them)")
    parser.add_argument("--memory", type=float, metavar="GB",
                        help="most memory each worker may hold; a photo that needs more "
                             "fails alone (default: 85%% of the free memory, shared among "
                             "the workers)")
    parser.add_argument("--report", metavar="FILE",
                        help="write one row per photo to FILE (.csv or .json)")
    parser.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                        help="run on a Ray cluster (ADDRESS such as ray://head:10001; "
                             "alone: a local Ray on this machine); needs transfigure[ray]")


def cmd_batch(args: argparse.Namespace) -> int:
    from engines.base import Cancelled, InvalidInput
    from engines.batch.jobs import prepare_batch
    from engines.batch.pool import run_batch
    from engines.batch.report import (
        check_report_path,
        progress_reporter,
        totals,
        write_report,
    )
    from engines.batch.work import Options

    entry = engine_entry(args.operation, args.engine)
    if getattr(args, "harmonize", "none") != "none":  # composite: a typo fails now, not per photo
        engine_entry("harmonize", args.harmonize)
    if getattr(args, "segment", None) is not None:
        engine_entry("segment", args.segment)
    if args.ray is not None:
        from engines.batch.on_ray import require_ray

        require_ray()  # before any work: say how to install it
    out_dir = Path(args.output)
    if args.workers is None:
        from engines.batch.pool import workers_for

        args.workers = workers_for(args.operation, entry.name)
    if args.workers < 1:
        raise InvalidInput(f"--workers must be 1 or more, not {args.workers}.")
    if args.memory is not None and args.memory <= 0:
        raise InvalidInput(f"--memory must be more than 0 GB, not {args.memory:g}.")
    report_path = Path(args.report) if args.report else None
    if report_path is not None:
        check_report_path(report_path)
    if args.operation == "expression" and args.second is None and not any(
            getattr(args, name) for name in SLIDER_HELP):
        raise InvalidInput("Give --second (the expression to take) or a slider "
                           "(--smile 0.6 …).")
    sides = {label: Path(getattr(args, option)) for label, option in args.sides.items()
             if getattr(args, option) is not None}  # optional ones not given
    jobs = prepare_batch(args.input, out_dir, sides)
    options = Options(args.operation, entry.name, args.overwrite,
                      {name: getattr(args, name) for name in args.settings})
    workers = min(args.workers, len(jobs))
    memory_mb = _memory_per_worker(args, workers)
    where = ("" if args.ray is None else " on Ray" if args.ray == "local"
             else f" on the Ray cluster {args.ray}")
    say(f"{len(jobs)} photos, {args.operation} with {entry.name}, {workers} worker"
        f"{'s' if workers != 1 else ''}{where}; results in {out_dir}.")
    outcomes = []
    started = time.perf_counter()

    def work(report, cancel):
        seen = progress_reporter(len(jobs), report, outcomes, format_elapsed)
        if args.ray is not None:
            from engines.batch.on_ray import run_on_ray

            address = None if args.ray == "local" else args.ray
            return run_on_ray(jobs, options, address, workers, seen, cancel, memory_mb)
        return run_batch(jobs, options, workers, seen, cancel, memory_mb,
                         in_process=args.memory is None)

    cancelled = False
    try:
        run_engine(f"batch {args.operation}", work)
    except Cancelled:
        cancelled = True
    seconds = time.perf_counter() - started
    count = totals(outcomes)
    for outcome in outcomes:
        if outcome.status == "failed":
            say(f"failed: {Path(outcome.photo).name}: {outcome.reason}")
    if report_path is not None:
        write_report(report_path, outcomes, seconds)
    peaks = [o.peak_mb for o in outcomes if o.status == "done"]
    if peaks:
        limit = f"limit {memory_mb / 1024:.1f} GB" if memory_mb else "no limit"
        say(f"Peak memory per worker: {max(peaks) / 1024:.2f} GB ({limit}).")
    rate = count["done"] / seconds * 60 if seconds > 0 else 0.0
    say(f"{'Stopped' if cancelled else 'Finished'} in {seconds:.1f} s: {count['done']} done "
        f"({rate:.1f} photos/min), {count['skipped']} skipped, {count['failed']} failed"
        + (f"; report in {report_path}" if report_path else "")
        + ("; run the same command again to continue." if cancelled else "."))
    if cancelled:
        return EXIT_CANCELLED
    return EXIT_ERROR if count["failed"] else EXIT_OK


def _memory_per_worker(args: argparse.Namespace, workers: int) -> int:
    """MB each worker may hold (0: no limit). The default shares this machine's free
    memory among the local workers. On Ray only --memory counts: it is declared to
    Ray's scheduler, and a default larger than what Ray counts as a node's memory would
    leave the actors unscheduled. One worker in this process (--workers 1) is watched
    only when asked (it then runs in a worker process)."""
    from engines.batch.memory import default_limit_mb

    if args.memory is not None:
        return int(args.memory * 1024)
    if args.ray is not None or workers <= 1:
        return 0
    return default_limit_mb(workers)
