"""One job of a batch, in a worker process: load, run the engine, save, say what happened.

The per-photo function is the same whoever schedules it (the local pool today): it
never raises for a bad photo, it answers an ``Outcome``. The engine is loaded once per
process and kept (a model is read once, not once per photo). Results are saved as the
single-photo commands save them (``imageio.save_result``: untouched pixels, bit depth,
alpha, ICC and EXIF kept; atomic, so a killed worker leaves no partial file).
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engines.base import CancelToken, EngineError
from engines.batch.jobs import Job
from engines.batch.memory import out_of_memory, peak_mb

DONE, SKIPPED, FAILED = "done", "skipped", "failed"


@dataclass(frozen=True)
class Options:
    """What every job of one batch is asked: the operation, its engine and settings."""

    operation: str
    engine: str | None = None
    overwrite: bool = False
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What became of one job; ``reason`` is one sentence for skipped and failed ones."""

    photo: str
    output: str
    status: str
    reason: str = ""
    seconds: float = 0.0
    peak_mb: float = 0.0  # the worker's peak resident memory when it finished this job


_ENGINES: dict[tuple[str, str | None], Any] = {}


def _engine(operation: str, name: str | None) -> Any:
    """The engine instance of this process (loaded on first use, then kept)."""
    key = (operation, name)
    if key not in _ENGINES:
        from engines import registry

        _ENGINES[key] = registry.get(operation, name).load()()
    return _ENGINES[key]


def preload(operation: str, name: str | None) -> None:
    """Load the engine before the first photo, so that the first one is not slower than
    the rest; a failure here is left for the first job to report, with its photo."""
    with contextlib.suppress(Exception):
        _engine(operation, name)


def _remove(photo, job: Job, options: Options,
            cancel: CancelToken) -> tuple[np.ndarray, np.ndarray | None]:
    from engines import imageio
    from engines.remove.request import RemoveRequest

    mask = imageio.load_mask_alpha(job.sides["mask"], shape=photo.pixels.shape[:2]) > 0.5
    request = RemoveRequest(photo.pixels, mask, **dict(options.settings))
    result = _engine("remove", options.engine).run(request, cancel=cancel)
    return result.image, mask


def _harmonize(photo, job: Job, options: Options,
               cancel: CancelToken) -> tuple[np.ndarray, np.ndarray | None]:
    from engines import imageio
    from engines.composite import HarmonizeRequest

    alpha = imageio.load_foreground_alpha(job.sides["mask"], photo.pixels.shape[:2])
    request = HarmonizeRequest(photo.pixels, alpha, **dict(options.settings))
    return _engine("harmonize", options.engine).run(request, cancel=cancel).image, None


def _translate(photo, job: Job, options: Options,
               cancel: CancelToken) -> tuple[np.ndarray, np.ndarray | None]:
    from engines.translate import TranslateRequest

    request = TranslateRequest(photo.pixels, **dict(options.settings))
    return _engine("translate", options.engine).run(request, cancel=cancel).image, None


def _expression(photo, job: Job, options: Options,
                cancel: CancelToken) -> tuple[np.ndarray, np.ndarray | None]:
    from engines import imageio
    from engines.expression.request import ExpressionRequest

    second = job.sides.get("second")
    pixels = None if second is None else imageio.load_image(second).pixels
    request = ExpressionRequest(photo.pixels, pixels, **dict(options.settings))
    result = _engine("expression", options.engine).run(request, cancel=cancel)
    return result.image, result.blend_mask > 0


def _composite(photo, job: Job, options: Options,
               cancel: CancelToken) -> tuple[np.ndarray, np.ndarray | None]:
    from engines.composite import CompositeRequest
    from engines.composite.request import Placement

    settings = dict(options.settings)
    box, (x, y, scale), flip = settings.pop("box"), settings.pop("at"), settings.pop("flip")
    mask_file = job.sides.get("guide mask")
    guide, object_mask = _guide_object(
        str(job.sides["guide"]), None if mask_file is None else str(mask_file), tuple(box),
        settings.pop("segment"), settings["seed"])
    request = CompositeRequest(
        photo.pixels, guide, object_mask, tuple(box), Placement(x, y, scale, scale, flip),
        match_light=not settings.pop("keep_light"), **settings)
    return _engine("composite", options.engine).run(request, cancel=cancel).image, None


@functools.lru_cache(maxsize=2)
def _guide_object(guide_file: str, mask_file: str | None, box: tuple[int, int, int, int],
                  segmenter: str | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The guide's pixels and its object's mask (float), read and cut once per process
    when one guide serves the whole batch (a logo into every product photo), not once
    per photo; two entries are enough for guides matched photo by photo."""
    from engines import imageio
    from engines.composite import SegmentRequest
    from engines.composite.guide_object import check_box, load_object_mask

    guide = imageio.load_image(guide_file).pixels
    check_box(box, guide.shape)
    if mask_file is not None:
        mask = load_object_mask(Path(mask_file), box, guide.shape)
    else:
        mask = _engine("segment", segmenter).run(SegmentRequest(guide, box, seed=seed)).mask
    return guide, mask.astype(np.float32)


# operation -> (photo, job, options, cancel) -> (result, changed pixels or None: those
# that differ), the same requests and saving as each operation's own command.
OPERATIONS: dict[str, Callable[..., tuple[np.ndarray, np.ndarray | None]]] = {
    "remove": _remove, "harmonize": _harmonize, "translate": _translate,
    "expression": _expression, "composite": _composite,
}


def process(job: Job, options: Options, cancel: CancelToken | None = None) -> Outcome:
    """Do ``job``; never raises for what the photo or its files hold."""
    from engines import imageio

    started = time.perf_counter()

    def outcome(status: str, reason: str = "") -> Outcome:
        return Outcome(str(job.photo), str(job.output), status, reason,
                       round(time.perf_counter() - started, 3), peak_mb())

    if job.problem:
        return outcome(FAILED, job.problem)
    if job.output.exists() and not options.overwrite:
        return outcome(SKIPPED, f"{job.output.name} already exists (done by an earlier run)")
    try:
        photo = imageio.load_image(job.photo)
        result, changed = OPERATIONS[options.operation](photo, job, options,
                                                        cancel or CancelToken())
        job.output.parent.mkdir(parents=True, exist_ok=True)
        imageio.save_result(photo, result, job.output, options.overwrite, changed)
    except EngineError as exc:
        return outcome(FAILED, exc.message)
    except OSError as exc:
        return outcome(FAILED, f"{job.photo.name}: {exc.strerror or 'could not be read'}")
    except Exception as exc:  # noqa: BLE001 - one photo must never stop the batch
        if out_of_memory(exc):
            return outcome(FAILED, f"{job.photo.name} needs more memory than this worker "
                                   "could get; run fewer --workers")
        return outcome(FAILED, f"{job.photo.name} could not be processed (an error in "
                               f"Transfigure: {str(exc).splitlines()[0][:120] or 'no detail'})")
    return outcome(DONE)
