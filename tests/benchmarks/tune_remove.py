"""Choose the structure-aware Remove engines' constants on the *tune* part of the held-out
photos (``object_holes.part_of``), never on the part the benchmark reports.

    PYTHONPATH=. .venv/bin/python tests/benchmarks/tune_remove.py [--cases 30] [--model M]

It prints, for each candidate, the mean PSNR and SSIM in the hole and the texture ratio
over object-shaped holes (10–40 %) on the tune photos: first the generator's working
scale (``predict.WORK_SCALE``: the crop's long side as a multiple of the training crop),
then the guided engine's content weights per octave (``guided.GUIDE_WEIGHTS``). The
chosen values are written into those modules by hand, with the table in the commit.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engines.remove.generator import predict as predict_module  # noqa: E402
from engines.remove.generator.engine import GeneratorEngine  # noqa: E402
from engines.remove.guided import GuidedEngine  # noqa: E402
from engines.remove.patchmatch import PatchMatchEngine  # noqa: E402
from engines.remove.request import RemoveRequest  # noqa: E402
from tests.benchmarks.object_holes import DEFAULT_SET, object_cases  # noqa: E402
from tests.benchmarks.remove import Case, hole_quality, mean, table  # noqa: E402

SCALES = (1.0, 1.5, 2.0, 3.0)
WEIGHTS = (  # full resolution, ½, ¼, ... (the last holds for coarser levels); they weigh
    # a squared mean-colour difference against a sum over the patch's 7×7×3 values
    (0.0,),
    (0.0, 50.0, 200.0),
    (10.0, 50.0, 200.0),
    (0.0, 200.0, 1000.0),
    (20.0, 200.0, 1000.0),
    (50.0, 500.0, 2000.0),
    (0.0, 1000.0, 5000.0),
)


def score(engine, cases: list[Case], model: str | None) -> list[str]:
    psnr, ssim, texture, seconds = [], [], [], []
    for case in cases:
        start = time.perf_counter()
        result = engine.run(RemoveRequest(case.image, case.mask, seed=0, model=model)).image
        seconds.append(time.perf_counter() - start)
        q = hole_quality(result, case)
        psnr.append(q.psnr)
        ssim.append(q.ssim)
        texture.append(q.texture)
    return [f"{mean(psnr):.2f}", f"{mean(ssim):.4f}", f"{mean(texture):.3f}",
            f"{mean(seconds):.3f}"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=30)
    parser.add_argument("--model", help="the inpainting model (default: the shipped one)")
    parser.add_argument("--inpaint-set", type=Path, default=DEFAULT_SET)
    parser.add_argument("--only", choices=("scale", "weights"))
    args = parser.parse_args()
    cases = [Case("tune", c.name, c.image, c.mask, c.image)
             for c in object_cases(args.inpaint_set, "tune", args.cases)]
    print(f"{len(cases)} tune cases (object holes 10–40 %)")
    headers = ("candidate", "PSNR hole dB", "SSIM hole", "texture", "time s")
    if args.only != "weights":
        rows = [["patchmatch", *score(PatchMatchEngine("numpy"), cases, args.model)]]
        for scale in SCALES:
            predict_module.WORK_SCALE = scale
            rows.append([f"generator, work scale {scale}",
                         *score(GeneratorEngine(), cases, args.model)])
        print("\n".join(table(headers, [rows])))
    if args.only != "scale":
        rows = []
        for weights in WEIGHTS:
            rows.append([f"guided {weights}",
                         *score(GuidedEngine("numpy", weights), cases, args.model)])
        print("\n".join(table(headers, [rows])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
