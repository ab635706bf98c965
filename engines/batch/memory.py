"""How much memory a batch worker may use, and how much it did.

A worker that needs too much memory for one huge photo must fail that photo, not the
machine: a watchdog thread in each worker ends the worker when its resident memory
passes the limit, the pool is replaced, and the photo that did it is found and
reported (``pool.run_batch``). Every outcome carries the worker's peak resident memory,
so the user sees how many workers the machine can carry.

Why not an address-space or data ``rlimit``: tried first, it counts virtual memory
(PyTorch alone maps a gigabyte it never touches), and native libraries that hit it
abort or fail to load a module instead of raising an error.
"""

from __future__ import annotations

import os
import threading
import time

OVER_LIMIT = 137  # a worker's exit status when its watchdog ended it
MEMORY_SHARE = 0.85  # of the memory free at the start, shared among the workers
_OUT_OF_MEMORY = ("can't allocate memory", "insufficient memory", "out of memory",
                  "unable to allocate")


def available_mb() -> int:
    """Memory free for new work now (MemAvailable), or all of it where that is unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as info:
            for line in info:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1 << 20)
    except (ValueError, OSError, AttributeError):
        return 0


def default_limit_mb(workers: int) -> int:
    """Each worker's share of the free memory (0: unknown, no limit)."""
    return int(available_mb() * MEMORY_SHARE / max(1, workers))


def watch_memory(limit_mb: int, every: float = 0.05) -> bool:
    """End this process (exit status ``OVER_LIMIT``) if its resident memory ever passes
    ``limit_mb``; False where the limit is 0 or the system does not say (no /proc)."""
    if limit_mb <= 0 or _resident_mb() is None:
        return False

    def watch() -> None:
        while True:
            resident = _resident_mb()
            if resident is not None and resident > limit_mb:
                os._exit(OVER_LIMIT)  # no cleanup to run: saves are atomic
            time.sleep(every)

    threading.Thread(target=watch, name="memory watchdog", daemon=True).start()
    return True


def _resident_mb() -> float | None:
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / (1 << 20)


def peak_mb() -> float:
    """This process's peak resident memory so far, in MB (0 where unknown).

    VmHWM, not ``getrusage``'s ru_maxrss: Linux carries ru_maxrss over fork and exec,
    so a spawned worker would report its parent's size (a test runner's gigabyte).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    try:
        import resource
    except ImportError:
        return 0.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # bytes on macOS, else KB
    return round(peak / (1 << 20) if os.uname().sysname == "Darwin" else peak / 1024, 1)


def out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is an allocation refused (numpy's MemoryError, PyTorch's and
    OpenCV's own errors for the same thing)."""
    return isinstance(exc, MemoryError) or any(
        words in str(exc).lower() for words in _OUT_OF_MEMORY)
