"""Benchmark of the neural-patch Remove engine (ch. 2): time per scale and per iteration,
total time, first preview and peak memory, on the CPU and on CUDA when there is a GPU.

    PYTHONPATH=. .venv/bin/python tests/benchmarks/nps.py [--iterations 20]
        [--devices cpu,cuda] [--precisions fp32,bf16] [--cases 512,1mp]

Cases (the issue's):

- ``512``: a 512×512 photo with a 256×256 hole (the thesis's setting, 3 scales);
- ``1mp``: a 1 MP photo (1155×866) with a 10 % hole: the engine optimises a 512-px crop
  around the hole and refines texture at full size.

The photo is a scene from ``../shared/data/scenes`` when that folder is there (resized
to the case's size), else a generated texture. The texture network is torchvision's
ImageNet VGG-19 when its weights are installed, else the fixed random one, and the table
says which (the cost is the same; the pictures are not). Peak memory: on CUDA
``torch.cuda.max_memory_allocated``; on the CPU the growth of the process's peak
resident size during the case (an upper bound of what the engine held). Precision rows
beyond fp32 run on CUDA only, with the mean absolute difference of their hole to fp32's.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engines.remove.neural_patch.engine import NeuralPatchEngine  # noqa: E402
from engines.remove.neural_patch.synthesis import SynthesisSettings  # noqa: E402
from engines.remove.request import RemoveRequest  # noqa: E402

SCENES = ROOT.parent / "shared" / "data" / "scenes"
CASES = {"512": ((512, 512), (256, 256)), "1mp": ((1155, 866), (365, 274))}


def photo(size: tuple[int, int]) -> tuple[np.ndarray, str]:
    w, h = size
    found = sorted(p for p in SCENES.glob("*/*") if p.suffix.lower() in (".jpg", ".png"))
    if found:
        from engines.imageio import load_image

        image = load_image(found[0]).pixels
        return cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA), found[0].name
    rng = np.random.default_rng(0)
    noise = cv2.GaussianBlur(rng.random((h, w, 3), dtype=np.float32), (0, 0), 2.0)
    return np.clip(0.3 + noise, 0, 1).astype(np.float32), "generated texture"


def vgg_label() -> tuple[bool, str]:
    from engines.store import weights

    installed = weights.is_installed(weights.entry("vgg19"))
    return (not installed, "ImageNet VGG-19" if installed else "random VGG-19 (no weights)")


def run_case(name: str, device: str, precision: str, iterations: int,
             random_vgg: bool) -> tuple[list[str], np.ndarray]:
    import torch

    (w, h), (hw, hh) = CASES[name]
    image, source = photo((w, h))
    mask = np.zeros((h, w), bool)
    y0, x0 = (h - hh) // 2, (w - hw) // 2
    mask[y0:y0 + hh, x0:x0 + hw] = True
    engine = NeuralPatchEngine(random_vgg=random_vgg,
                               settings=SynthesisSettings(iterations=iterations,
                                                          precision=precision))
    marks: list[tuple[float, str]] = []
    previews: list[float] = []
    start = time.perf_counter()

    def report(progress) -> None:
        marks.append((time.perf_counter() - start, progress.message))
        if progress.preview is not None:
            previews.append(marks[-1][0])

    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = engine.run(RemoveRequest(image, mask, device=device), report)
    total = time.perf_counter() - start
    if device.startswith("cuda"):
        peak = f"{torch.cuda.max_memory_allocated() / 2**30:.2f} GiB (GPU)"
    else:
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
        peak = f"≤ {max(grown, 0) / 2**20:.2f} GiB (RSS growth)"
    first = previews[0] if previews else float("nan")  # the prediction, shown at once
    first_iteration = next((t for t, m in marks if "iteration" in m), float("nan"))
    per_scale: dict[str, list[float]] = {}
    previous = None
    for t, message in marks:
        if "iteration" in message:
            scale = message.split(",")[0]
            if previous is not None:
                per_scale.setdefault(scale, []).append(t - previous)
            previous = t
    scales = "; ".join(f"{k}: {sum(v):.1f} s, {np.mean(v):.2f} s/it"
                       for k, v in per_scale.items())
    row = [name, f"{w}×{h}", source, device, precision, f"{total:.1f}", f"{first:.2f}",
           f"{first_iteration:.2f}", scales, peak]
    return row, result.image[mask]


def isolated(*args) -> tuple[list[str], np.ndarray]:
    """``run_case`` in a fresh process, so that the peak resident size it reports is its
    own and not that of a case run before it."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(run_case, *args).result()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=SynthesisSettings().iterations)
    parser.add_argument("--devices", default="cpu,cuda")
    parser.add_argument("--precisions", default="fp32,bf16,fp16")
    parser.add_argument("--cases", default=",".join(CASES))
    args = parser.parse_args()
    import torch

    random_vgg, label = vgg_label()
    print(f"# Neural patch synthesis: {label}, {args.iterations} iterations per scale\n")
    headers = ["case", "size", "photo", "device", "precision", "total s", "first preview s",
               "first iteration s", "per scale", "peak memory"]
    rows = []
    for device in args.devices.split(","):
        if device == "cuda" and not torch.cuda.is_available():
            rows.append(["—", "—", "—", "cuda", "—", "no GPU here", "—", "—", "ready to run",
                         "—"])
            continue
        for case in args.cases.split(","):
            reference = None
            for precision in args.precisions.split(","):
                if precision != "fp32" and device != "cuda":
                    continue
                row, hole = isolated(case, device, precision, args.iterations, random_vgg)
                if precision == "fp32":
                    reference = hole
                elif reference is not None:
                    row[4] += f" (Δ {np.abs(hole - reference).mean() * 255:.2f}/255)"
                rows.append(row)
                print(" | ".join(row), file=sys.stderr, flush=True)
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    for r in [headers, ["-" * n for n in widths], *rows]:
        print("  ".join(str(c).ljust(n) for c, n in zip(r, widths, strict=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
