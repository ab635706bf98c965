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

import functools
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from engines.base import Cancelled, CancelToken
from engines.batch.jobs import Job
from engines.batch.memory import watch_memory
from engines.batch.work import FAILED, Options, Outcome, preload, process


def default_workers() -> int:
    """One worker per core (the engines use one thread each then)."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else (os.cpu_count() or 1))


def uses_gpu(operation: str, engine: str | None) -> bool:
    """Whether the operation's engine computes on a GPU when there is one (engines that
    are numpy and OpenCV only say ``cpu_only``)."""
    from engines import registry

    return not getattr(registry.get(operation, engine).load(), "cpu_only", False)


@functools.cache
def gpus_for(operation: str, engine: str | None) -> int:
    """How many CUDA GPUs this machine gives the operation's engine: 0 for a CPU-only
    engine or without CUDA. Asked once per process; torch (a second or two to import)
    is only imported where an NVIDIA driver is present."""
    if not uses_gpu(operation, engine):
        return 0
    if sys.platform.startswith("linux") and not os.path.exists("/proc/driver/nvidia"):
        return 0
    try:
        import torch
    except ImportError:
        return 0
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def workers_for(operation: str, engine: str | None) -> int:
    """The default number of workers: one per GPU where the engine runs on GPUs (several
    workers sharing one GPU only queue for it, each holding its own copy of the model),
    else one per core."""
    return gpus_for(operation, engine) or default_workers()


def _start_worker(threads: int, memory_mb: int, operation: str, engine: str | None,
                  gpus: int = 0, started: Any = None) -> None:
    """Worker initialiser: this process's share of the cores, for every library, and its
    own GPU where there are ``gpus`` (the ``started`` counter numbers the workers);
    its engine loaded; its memory watched (``memory.watch_memory``). Ctrl-C is the main
    process's to handle (it stops handing out jobs, the running ones end)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if gpus and started is not None:
        with started.get_lock():
            number, started.value = started.value, started.value + 1
        os.environ["CUDA_VISIBLE_DEVICES"] = str(number % gpus)  # before torch starts CUDA
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
    preload(operation, engine)
    watch_memory(memory_mb)


def _run_pool(queue: list[Job], options: Options, workers: int, setup: tuple[Any, ...],
              cancel: CancelToken, outcomes: list[Outcome],
              on_outcome: Callable[[Outcome], None]) -> list[Job]:
    """Work through ``queue`` on one pool until it is empty, cancelled or the pool breaks
    (a worker killed: by the kernel for memory, or a crash in native code); returns the
    jobs that were running when it broke, any of which may have caused it."""
    context = multiprocessing.get_context("spawn")
    running: dict[Future[Outcome], Job] = {}
    started = context.Value("i", 0)  # numbers the workers, each takes its own GPU
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                             initargs=(*setup, started)) as pool:
        try:
            while queue or running:
                while queue and len(running) < 2 * workers and not cancel.cancelled:
                    job = queue.pop(0)
                    running[pool.submit(process, job, options)] = job
                if cancel.cancelled and not running:
                    break
                done, _ = wait(running, timeout=0.2, return_when=FIRST_COMPLETED)
                for future in done:
                    job = running.pop(future)
                    try:
                        outcomes.append(future.result())
                    except BrokenProcessPool:
                        return [job, *running.values()]
                    on_outcome(outcomes[-1])
                if cancel.cancelled:
                    queue.clear()
        finally:
            for future in running:
                future.cancel()
    return []


def _limit_text(memory_mb: int) -> str:
    return (f"the {memory_mb / 1024:.1f} GB a worker may use (--memory)" if memory_mb
            else "this machine has")


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
              cancel: CancelToken | None = None, memory_mb: int = 0,
              in_process: bool = True) -> list[Outcome]:
    """Every job's outcome (completion order); ``on_outcome`` sees each as it comes.

    Worker processes may each hold ``memory_mb`` resident (0: no limit). With
    one worker and ``in_process`` the jobs run in this process, uncapped and with no
    start-up cost; the window passes False, so that a crash never takes it down.
    """
    cancel = cancel or CancelToken()
    outcomes, jobs = answer_idle(jobs, options, on_outcome)
    if in_process and (workers <= 1 or len(jobs) <= 1):
        for job in jobs:
            cancel.raise_if_set()
            outcomes.append(process(job, options, cancel))
            on_outcome(outcomes[-1])
        return outcomes
    if not jobs:
        return outcomes
    workers = max(1, min(workers, len(jobs)))
    gpus = gpus_for(options.operation, options.engine)
    setup = (max(1, default_workers() // workers), memory_mb, options.operation,
             options.engine, gpus)
    queue = list(jobs)
    while queue and not cancel.cancelled:
        # A broken pool loses every job it was running; the one that broke it is found
        # by trying each alone, so that a photo too big for memory fails by itself.
        for job in _run_pool(queue, options, workers, setup, cancel, outcomes, on_outcome):
            if not cancel.cancelled and _run_pool([job], options, 1, setup, cancel,
                                                  outcomes, on_outcome):
                outcomes.append(Outcome(str(job.photo), str(job.output), FAILED, (
                    f"{job.photo.name} stopped its worker: it needs more memory than "
                    f"{_limit_text(memory_mb)}, or the engine crashed on it")))
                on_outcome(outcomes[-1])
    if cancel.cancelled:
        raise Cancelled()
    return outcomes
