"""Benchmark of ``transfigure batch``: photos per minute with 1 and 2 local workers and
through a local Ray cluster.

    PYTHONPATH=. .venv/bin/python tests/benchmarks/batch.py [--photos 200] [--workers 1,2]

The photos are about 1 MP (1155×866) with a 5 % hole in the middle: scenes from
``../shared/data/scenes`` resized (cycled) when that folder is there, else generated
textures; Remove with the default engine. Each configuration runs the whole batch
through the same code as the command (``engines.batch``), into a fresh folder; the
table gives photos/min, the scaling against one worker and the peak resident memory of
the worker processes (ru_maxrss of the children), then checks that every
configuration wrote identical files.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engines.batch.jobs import collect_photos, plan_jobs  # noqa: E402
from engines.batch.pool import run_batch  # noqa: E402
from engines.batch.work import Options, process  # noqa: E402

SCENES = ROOT.parent / "shared" / "data" / "scenes"
SIZE = (1155, 866)


def make_photos(folder: Path, count: int) -> tuple[list[Path], Path, str]:
    sources = sorted(p for p in SCENES.glob("*/*") if p.suffix.lower() in (".jpg", ".png"))
    rng = np.random.default_rng(0)
    for i in range(count):
        if sources:
            image = cv2.imread(str(sources[i % len(sources)]))
            image = cv2.resize(image, SIZE, interpolation=cv2.INTER_AREA)
        else:
            noise = rng.random((SIZE[1], SIZE[0], 3), dtype=np.float32)
            image = (cv2.GaussianBlur(noise, (0, 0), 3) * 255).astype(np.uint8)
        cv2.imwrite(str(folder / f"photo{i:04d}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 92])
    mask = np.zeros((SIZE[1], SIZE[0]), np.uint8)
    side = int(np.sqrt(0.05 * SIZE[0] * SIZE[1]))
    y0, x0 = (SIZE[1] - side) // 2, (SIZE[0] - side) // 2
    mask[y0:y0 + side, x0:x0 + side] = 255
    cv2.imwrite(str(folder.parent / "mask.png"), mask)
    return (collect_photos(folder), folder.parent / "mask.png",
            f"{len(sources)} scenes, resized" if sources else "generated textures")


def digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            h.update(path.name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--no-ray", action="store_true",
                        help="skip the row through a local Ray cluster (2 CPUs)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        (root / "in").mkdir()
        photos, mask, source = make_photos(root / "in", args.photos)
        print(f"# Batch Remove: {len(photos)} photos of {SIZE[0]}×{SIZE[1]} ({source}), "
              "5 % hole, default engine\n")
        rows, baseline, digests = [], None, {}
        configs = [(int(w), False) for w in args.workers.split(",")]
        if not args.no_ray:
            try:
                import ray  # noqa: F401
                configs.append((2, True))
            except ImportError:
                print("(Ray is not installed: no Ray row; pip install 'transfigure[ray]')")
        for workers, on_ray in configs:
            label = f"{workers} on Ray" if on_ray else str(workers)
            out = root / f"out-{label.replace(' ', '-')}"
            jobs = plan_jobs(photos, out, {"mask": mask})
            started = time.perf_counter()
            arrivals: list[float] = []

            def arrived(_outcome, arrivals=arrivals) -> None:
                arrivals.append(time.perf_counter())
            if on_ray:  # start-up of the local cluster included, as a user waits for it
                from engines.batch.on_ray import run_on_ray

                outcomes = run_on_ray(jobs, Options("remove"), None, workers, arrived)
                done = len(outcomes)
            elif workers == 1:  # in this process, as the command does with --workers 1
                process(jobs[0], Options("remove"))  # warm-up: imports and the engine
                started = time.perf_counter()
                outcomes = run_batch(jobs[1:], Options("remove"), 1, arrived)
                done = len(outcomes) + 1
            else:
                outcomes = run_batch(jobs, Options("remove"), workers, arrived)
                done = len(outcomes)
            seconds = time.perf_counter() - started
            rate = (done - (1 if workers == 1 else 0)) / seconds * 60
            if workers == 1 and not on_ray:  # the 1-worker row is the scale's unit
                baseline = rate
            peak = max((o.peak_mb for o in outcomes), default=0.0)
            failed = sum(o.status == "failed" for o in outcomes)
            # Start-up (to the first result) apart from the pace after it, which is what
            # a long batch is made of.
            first = arrivals[0] - started if arrivals else 0.0
            pace = ((len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) * 60
                    if len(arrivals) > 1 and arrivals[-1] > arrivals[0] else 0.0)
            local = next((r for r in rows if r[0] == str(workers)), None)
            against_pool = (f"{(float(local[4]) / rate - 1) * 100:+.1f} % "
                            f"(pace {(float(local[3]) / pace - 1) * 100:+.1f} %)"
                            if on_ray and local and pace else "")
            rows.append([label, f"{seconds:.1f}", f"{first:.1f}", f"{pace:.1f}",
                         f"{rate:.1f}", f"{rate / baseline:.2f}×" if baseline else "",
                         f"{rate / baseline / workers * 100:.0f} %" if baseline else "",
                         against_pool,
                         f"{peak / 1024:.2f} GB", str(failed)])
            digests[label] = digest(out)
        headers = ["workers", "seconds", "first result after s", "pace after it /min",
                   "photos/min", "vs 1 worker", "scaling efficiency",
                   "Ray's overhead vs the pool", "peak memory per worker", "failed"]
        widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
        for r in [headers, ["-" * w for w in widths], *rows]:
            print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
        same = len(set(digests.values())) == 1
        print(f"\nidentical outputs across configurations: {'yes' if same else 'NO'} "
              f"({', '.join(f'{k}: {v}' for k, v in digests.items())})")
        print("(1 worker: in this process, its first photo, which pays the imports, left out "
              "of the rate; 2 workers and Ray: start-up included. Ray's overhead: how much "
              "longer per photo than the local pool with as many workers. Peak memory: the "
              "largest VmHWM a worker reported.)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
