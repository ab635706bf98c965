"""Timing of the StyleGAN2 expression engine's inversion: seconds per 100 steps at 1024 px.

Run it from the repository root (a script, not a test; pytest does not collect it)::

    PYTHONPATH=. .venv/bin/python tests/benchmarks/stylegan_timing.py [--device cuda] [--steps N]

It builds the full-size generator (StyleGAN2 config F, 1024 px, 18 × 512 styles) and the
VGG-16 trunk up to conv3_3 with *random* weights (the cost of a step does not depend on
the weights, and no download is needed), then runs ``invert()`` itself, the engine's
own code path, with a preview after every step so each step can be timed on its own.
The first step is reported separately (allocations, cuDNN autotuning) and left out of
the per-step figure. On a CPU a handful of steps is enough and the rest is extrapolated;
on a GPU the default is 100 real steps.

Prints a markdown table: device, steps timed, seconds per step, seconds per 100 steps,
the estimate for the engine's default run (two faces × 1000 steps), peak GPU memory, and
the final/initial loss of the timed run (with ``--no-amp`` in a second run this shows
whether bfloat16 autocast costs convergence on the same target).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engines.base import Progress  # noqa: E402
from engines.device import device_label, resolve_device  # noqa: E402
from engines.expression.stylegan.generator import Generator, GeneratorConfig  # noqa: E402
from engines.expression.stylegan.invert import InversionSettings, invert, synthesize  # noqa: E402
from engines.expression.stylegan.perceptual import PerceptualLoss, vgg16_trunk  # noqa: E402


def build(resolution: int, device: str) -> tuple[Generator, PerceptualLoss]:
    torch.manual_seed(0)
    generator = Generator(GeneratorConfig.standard(resolution)).eval()
    generator.estimate_w_avg(256)
    return generator.to(device), PerceptualLoss(vgg16_trunk()).to(device)


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_steps(generator: Generator, loss: PerceptualLoss, device: str, steps: int,
               amp: bool) -> tuple[float, list[float], float]:
    """(first step, later steps) in seconds, from the engine's own progress reports, and
    the final/initial loss ratio (to compare precisions on the same problem)."""
    with torch.no_grad():
        ws = generator.mapping(torch.randn(1, generator.config.z_dim, device=device))
    target = synthesize(generator, ws, device)[0].permute(1, 2, 0).float().cpu().numpy()
    stamps: list[float] = []

    def report(progress: Progress) -> None:
        sync(device)
        stamps.append(time.perf_counter())

    sync(device)
    start = time.perf_counter()
    result = invert(generator, loss, np.ascontiguousarray(target), device=device, report=report,
                    settings=InversionSettings(steps=steps, preview_every=1, amp=amp))
    times = np.diff([start, *stamps]).tolist()
    return times[0], times[1:], result.loss_end / result.loss_start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None, help="cpu, cuda, mps (default: auto)")
    parser.add_argument("--steps", type=int, default=None,
                        help="steps to time (default: 100 on a GPU, 4 on a CPU)")
    parser.add_argument("--resolution", type=int, default=1024)
    parser.add_argument("--no-amp", action="store_true", help="float32 only on CUDA")
    args = parser.parse_args()

    device = resolve_device(args.device)
    steps = args.steps or (4 if device == "cpu" else 100)
    steps = max(2, steps)
    amp = not args.no_amp and device.startswith("cuda")
    print(f"Building the {args.resolution} px generator and VGG-16 (random weights) on "
          f"{device_label(device)} ...", file=sys.stderr)
    generator, loss = build(args.resolution, device)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    first, later, ratio = time_steps(generator, loss, device, steps, amp)
    per_step = statistics.median(later)
    memory = (f"{torch.cuda.max_memory_allocated() / 2**30:.1f} GiB"
              if device.startswith("cuda") else "n/a")
    kind = "measured" if len(later) >= 99 else f"extrapolated from {len(later)}"
    print()
    print(f"StyleGAN2 W+ inversion timing ({platform.node()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} CPU threads)")
    print()
    print("| device | resolution | precision | steps timed | first step s | s / step "
          "| s / 100 steps | 2 faces × 1000 steps | peak GPU memory | final / first loss |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    precision = "bf16 autocast + TF32" if amp else (
        "TF32" if device.startswith("cuda") else "float32")
    print(f"| {device_label(device)} | {args.resolution} px | {precision} | {len(later)} "
          f"(+1 warm-up) | {first:.2f} | {per_step:.3f} | {100 * per_step:.1f} ({kind}) "
          f"| {2000 * per_step / 60:.1f} min | {memory} | {ratio:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
