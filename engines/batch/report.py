"""A batch's summary as a file: CSV (one row per photo) or JSON (rows and totals)."""

from __future__ import annotations

import csv
import io
import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

from engines.base import InvalidInput, Progress, Report
from engines.batch.work import Outcome
from engines.files import atomic_write


def progress_reporter(total: int, report: Report, outcomes: list[Outcome],
                      left_text: Callable[[float], str] | None = None
                      ) -> Callable[[Outcome], None]:
    """A batch's ``on_outcome`` for the command line and the window alike: keep each
    outcome in ``outcomes`` and report it with the photos per minute so far, and, with
    ``left_text`` (a duration formatter), the time left at that pace."""
    started = time.perf_counter()

    def seen(outcome: Outcome) -> None:
        outcomes.append(outcome)
        per_second = len(outcomes) / max(1e-6, time.perf_counter() - started)
        left = (f", about {left_text((total - len(outcomes)) / per_second)} left"
                if left_text else "")
        report(Progress(len(outcomes), total, f"{Path(outcome.photo).name} {outcome.status} "
                                              f"({per_second * 60:.1f} photos/min{left})"))
    return seen


def totals(outcomes: Sequence[Outcome]) -> dict[str, int]:
    counted = Counter(o.status for o in outcomes)
    return {status: counted.get(status, 0) for status in ("done", "skipped", "failed")}


def check_report_path(path: Path) -> None:
    """Refuse a report name whose format is unknown (before the batch, not after it)."""
    if path.suffix.lower() not in (".csv", ".json"):
        shown = path.suffix or "a file without an extension"
        raise InvalidInput(f"Cannot write a report as {shown}; use .csv or .json.")


def write_report(path: Path, outcomes: Sequence[Outcome], seconds: float) -> Path:
    """Write the report atomically; the format comes from the extension."""
    check_report_path(path)
    rows = [asdict(o) for o in outcomes]
    if path.suffix.lower() == ".json":
        text = json.dumps({"totals": totals(outcomes), "seconds": round(seconds, 2),
                           "photos": rows}, indent=2)
    else:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(Outcome.__dataclass_fields__))
        writer.writeheader()
        writer.writerows(rows)
        text = out.getvalue()
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")))
