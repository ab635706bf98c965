"""The same batch through Ray Data, for clusters (``transfigure batch ... --ray [ADDRESS]``).

The job list becomes a Ray dataset; ``map_batches`` runs an actor pool whose actors
each hold the operation's engine (loaded once per actor, as a local worker keeps its
own) and call the very per-photo function the local pool calls (``work.process``), so
the outputs are the same files; each actor writes its results where the job says, on
storage every node sees. Ray is an optional extra (``pip install 'transfigure[ray]'``);
without it ``--ray`` says how to install it. No scheduling of our own: Ray Data decides
where each photo runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from engines.base import Cancelled, CancelToken, InvalidInput
from engines.batch.jobs import Job
from engines.batch.pool import answer_idle, uses_gpu
from engines.batch.work import Options, Outcome, process

INSTALL = "pip install 'transfigure[ray]'  (or: pip install 'ray[data]')"


def require_ray() -> Any:
    """The ray module, or a sentence that says how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401 - Ray Data is the part the batch uses
    except ImportError as exc:
        raise InvalidInput(f"--ray needs Ray, which is not installed: {INSTALL}",
                           detail=repr(exc)) from exc
    return ray


def _quiet(ray: Any) -> None:
    """Ray Data's progress bars and INFO lines would interleave with our own progress."""
    import logging

    logging.getLogger("ray").setLevel(logging.WARNING)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    if hasattr(context, "enable_operator_progress_bars"):
        context.enable_operator_progress_bars = False


class _Photos:
    """The actor of the pool: one engine per actor, kept across photos."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = Options(**options)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        rows: dict[str, list[Any]] = {name: [] for name in Outcome.__dataclass_fields__}
        for photo, output, sides, problem in zip(batch["photo"], batch["output"],
                                                 batch["sides"], batch["problem"],
                                                 strict=True):
            job = Job(Path(photo), Path(output),
                      {k: Path(v) for k, v in dict(sides).items() if v}, problem)
            for name, value in asdict(process(job, self.options)).items():
                rows[name].append(value)
        return rows


def run_on_ray(jobs: Sequence[Job], options: Options, address: str | None, workers: int,
               on_outcome: Callable[[Outcome], None],
               cancel: CancelToken | None = None, memory_mb: int = 0) -> list[Outcome]:
    """Every job's outcome, computed by a Ray actor pool of ``workers`` actors, each
    reserving ``memory_mb`` of its node's memory (0: Ray's default)."""
    ray = require_ray()
    cancel = cancel or CancelToken()
    outcomes, jobs = answer_idle(jobs, options, on_outcome)
    if not jobs:
        return outcomes
    _quiet(ray)
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address or None, num_cpus=None if address else workers,
                 include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    try:
        # Arrow cannot type a column of empty dicts (translate has no side input): a
        # placeholder entry stands in, and the actor drops entries without a path.
        items = [{"photo": str(j.photo), "output": str(j.output),
                  "sides": {k: str(v) for k, v in j.sides.items()} or {"": ""},
                  "problem": j.problem} for j in jobs]
        # An engine that runs on GPUs gets one per actor where the cluster has them;
        # Ray places each actor on a node with a free GPU and sets its CUDA device.
        cluster_gpus = int(ray.cluster_resources().get("GPU", 0))
        per_actor_gpus = 1 if cluster_gpus and uses_gpu(options.operation,
                                                        options.engine) else 0
        if per_actor_gpus:
            workers = min(workers, cluster_gpus)
        dataset = ray.data.from_items(items, override_num_blocks=max(1, len(items)))
        results = dataset.map_batches(
            _Photos, fn_constructor_args=(asdict(options),), batch_size=1,
            compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=1,
            num_gpus=per_actor_gpus,
            # Ray schedules by declared memory and its own monitor kills what outgrows
            # a node; a worker's share is declared so no node takes more than it holds.
            **({"memory": memory_mb << 20} if memory_mb else {}),
        )
        for row in results.iter_rows():
            if cancel.cancelled:
                raise Cancelled()
            outcomes.append(Outcome(**{k: row[k] for k in Outcome.__dataclass_fields__}))
            on_outcome(outcomes[-1])
        return outcomes
    finally:
        if started_here:
            ray.shutdown()
