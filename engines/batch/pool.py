"""Run a batch's jobs on worker processes of this machine, as they finish.

Workers are separate processes (the engines' numpy and PyTorch work holds the GIL in
places and a crash must not take the batch down), started with ``spawn`` so none
inherits a half-initialised PyTorch; each splits the machine's cores with the others
(``torch.set_num_threads``, OpenCV's threads) and keeps its engine loaded. One worker
runs in this process. Outcomes arrive in completion order; cancel stops handing out
jobs and drops the queued ones, and what is running finishes or is abandoned without
a partial file (saves are atomic).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

from engines.base import Cancelled, CancelToken
from engines.batch.jobs import Job
from engines.batch.work import Options, Outcome, process


def default_workers() -> int:
    """One worker per core (the engines use one thread each then)."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else (os.cpu_count() or 1))


def _share_cores(threads: int) -> None:
    """Worker initialiser: this process's share of the cores, for every library; Ctrl-C
    is the main process's to handle (it stops handing out jobs, the running ones end)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ["OMP_NUM_THREADS"] = str(threads)
    try:
        import cv2

        cv2.setNumThreads(threads)
    except ImportError:
        pass
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:
        pass


def answer_idle(jobs: Sequence[Job], options: Options, on_outcome: Callable[[Outcome], None]
                ) -> tuple[list[Outcome], list[Job]]:
    """(outcomes of the jobs that need no work, the jobs that do): done by an earlier
    run, or no mask found. A resumed batch must not start workers (or a cluster) to
    learn that."""
    outcomes, waiting = [], []
    for job in jobs:
        if job.problem or (job.output.exists() and not options.overwrite):
            outcomes.append(process(job, options))
            on_outcome(outcomes[-1])
        else:
            waiting.append(job)
    return outcomes, waiting


def run_batch(jobs: Sequence[Job], options: Options, workers: int,
              on_outcome: Callable[[Outcome], None],
              cancel: CancelToken | None = None) -> list[Outcome]:
    """Every job's outcome (completion order); ``on_outcome`` sees each as it comes."""
    cancel = cancel or CancelToken()
    outcomes, jobs = answer_idle(jobs, options, on_outcome)
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            cancel.raise_if_set()
            outcomes.append(process(job, options, cancel))
            on_outcome(outcomes[-1])
        return outcomes
    threads = max(1, default_workers() // workers)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_share_cores,
                             initargs=(threads,)) as pool:
        queue = list(jobs)
        running: set[Future[Outcome]] = set()
        try:
            while queue or running:
                while queue and len(running) < 2 * workers and not cancel.cancelled:
                    running.add(pool.submit(process, queue.pop(0), options))
                if cancel.cancelled and not running:
                    break
                done, running = wait(running, timeout=0.2, return_when=FIRST_COMPLETED)
                for future in done:
                    outcomes.append(future.result())
                    on_outcome(outcomes[-1])
                if cancel.cancelled:
                    queue.clear()
        finally:
            for future in running:
                future.cancel()
    if cancel.cancelled:
        raise Cancelled()
    return outcomes
