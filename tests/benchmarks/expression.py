"""Benchmark of the Expression operation's landmark engine, judged feature by feature.

Run it from the repository root (a script, not a test; pytest does not collect it)::

    PYTHONPATH=. .venv/bin/python tests/benchmarks/expression.py [--out DIR] [--no-shared]

Portraits: every photo in ``../shared/data/faces`` (beside the checkout, when present;
only read, never copied), resized to about 1 MP; its largest face is described by dlib's
identity network and by the expression descriptors of ``engines.faces.descriptors``
(mouth opening, mouth width, corner lift, eye openness, brow height; inter-ocular units
in the face's own frame). Without the shared folder, the unit tests' astronaut and her
dropped jaw make one pair.

Pairs: two photos of one person (identity distance < ``SAME_PERSON``), in both orders,
and pairs of two different people (distance > ``OTHER_PERSON``), whenever at least one
descriptor differs beyond landmark noise (``NOISE``: 2.5 standard deviations of that
descriptor over re-detections of the same photo shifted and scaled by a few per cent).

Per pair and descriptor that differs beyond noise: the share of the difference the
result closed, (result - first) / (second - first), on the landmarks re-detected on the
result. Per pair: the dlib identity distance of the result to the first photo, the
warp's smallest Jacobian determinant and worst local stretch on the face's skin (from
the engine), and the time. Pairs are split by a hash of the first photo's name into a
tuning half and a held-out half; constants were chosen on the tuning half, and both
are printed. The sliders are timed too: after one call, steps of the smile slider on
the same photo (face analysis remembered).

Output: the tables on stdout and ``DIR/results.md`` (default ``bench-out/expression``),
and a sheet per pair (first | second | result, cropped around the face) in ``DIR``.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from itertools import permutations
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engines.expression.request import ExpressionRequest  # noqa: E402
from engines.expression.warp import WarpExpressionEngine  # noqa: E402
from engines.faces.analysis import forget  # noqa: E402
from engines.faces.descriptors import NAMED, Descriptors, describe  # noqa: E402
from engines.faces.detect import Face, detect_faces  # noqa: E402
from engines.faces.identity import face_descriptor, identity_distance  # noqa: E402
from engines.imageio import load_image  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "faces"
WORK_PIXELS = 1_000_000
SAME_PERSON = 0.5  # stricter than dlib's 0.6, so look-alikes do not make a pair
OTHER_PERSON = 0.7  # looser pairs are neither: a look-alike is no test of either kind
CROSS_PAIRS = 40  # two-person pairs run (the ones with the largest changes)
# Landmark noise per descriptor: 2.5 standard deviations over re-detections of the 50
# shared portraits shifted by a fraction of a pixel and scaled by 0.93 and 1.07.
NOISE = {"mouth opening": 0.048, "mouth width": 0.053, "corner lift": 0.032,
         "eye openness": 0.035, "brow height": 0.015}
SHEET_HEIGHT = 420
SLIDER_STEPS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)

TARGET_SECONDS = 1.5
TARGET_SLIDER_MS = 150.0
TARGET_MEDIAN = 0.7
TARGET_EACH = 0.5
TARGET_IDENTITY = 0.6
TARGET_IDENTITY_SHARE = 0.95


@dataclass
class Portrait:
    name: str
    image: np.ndarray
    face: Face
    identity: np.ndarray
    expression: Descriptors


@dataclass
class Row:
    group: str  # "same" or "two"
    half: str  # "tune" or "held-out"
    first: str
    second: str
    seconds: float
    identity_out: float  # result vs first photo (nan: no face found again)
    shares: dict[str, float]  # descriptor -> share closed (only those beyond noise)
    change: float  # sum of |second - first| / noise over descriptors: how big the change
    min_jacobian: float
    max_stretch: float
    notes: str


def about_one_megapixel(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    scale = (WORK_PIXELS / (h * w)) ** 0.5
    size = (round(w * scale), round(h * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return np.clip(cv2.resize(image, size, interpolation=interpolation), 0.0, 1.0)


def portrait(name: str, image: np.ndarray) -> Portrait | None:
    faces = detect_faces(image)
    if not faces:
        return None
    face = faces[0]
    return Portrait(name, image, face, face_descriptor(image, face.landmarks),
                    describe(face.landmarks))


def shared_portraits() -> list[Portrait]:
    found = []
    photos = (p for p in SHARED.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    for path in sorted(photos):
        if path.name == "two_people.jpg":
            continue
        image = about_one_megapixel(load_image(path).pixels)
        item = portrait(f"{path.parent.name}/{path.stem}", image)
        if item is None:
            print(f"(no face found in {path.name}; skipped)")
        else:
            found.append(item)
    return found


def generated_pair() -> tuple[Portrait, Portrait]:
    """The unit tests' pair: astronaut, and astronaut with the jaw dropped."""
    from skimage import data as skdata

    from tests.unit.test_expression_warp import open_mouth

    image = about_one_megapixel(skdata.astronaut().astype(np.float32) / 255.0)
    first = portrait("astronaut", image)
    assert first is not None
    second = portrait("astronaut-jaw-dropped", open_mouth(image, first.face.landmarks)[0])
    assert second is not None
    return first, second


def differing(a: Portrait, b: Portrait) -> dict[str, float]:
    """Descriptor -> second minus first, for those that differ beyond landmark noise."""
    out = {}
    for name, value in NAMED.items():
        delta = value(b.expression) - value(a.expression)
        if abs(delta) > NOISE[name]:
            out[name] = delta
    return out


def half_of(name: str) -> str:
    return "tune" if hashlib.sha1(name.encode()).digest()[0] % 2 == 0 else "held-out"


def pairs_of(portraits: list[Portrait]) -> tuple[list, list]:
    same, two = [], []
    for a, b in permutations(portraits, 2):
        if not differing(a, b):
            continue
        d = identity_distance(a.identity, b.identity)
        if d < SAME_PERSON:
            same.append((a, b))
        elif d > OTHER_PERSON:
            size = sum(abs(v) / NOISE[k] for k, v in differing(a, b).items())
            two.append((size, a, b))
    # The largest changes between two people, each first photo at most twice.
    two.sort(key=lambda item: -item[0])
    picked, used = [], {}
    for _, a, b in two:
        if used.get(a.name, 0) < 2 and len(picked) < CROSS_PAIRS:
            picked.append((a, b))
            used[a.name] = used.get(a.name, 0) + 1
    return same, picked


def refound_face(image: np.ndarray, a: Portrait) -> Face | None:
    """The face in ``image`` (an edit of ``a``'s photo) nearest to ``a``'s, if any is found."""
    again = detect_faces(image)
    if not again:
        return None
    return min(again, key=lambda f: np.linalg.norm(f.landmarks - a.face.landmarks))


def run_pair(engine: WarpExpressionEngine, group: str, a: Portrait, b: Portrait,
             out: Path) -> Row:
    forget()  # the time of a first run on a new pair: both faces found and described
    started = time.perf_counter()
    result = engine.run(ExpressionRequest(a.image, b.image))
    seconds = time.perf_counter() - started
    wanted = differing(a, b)
    face = refound_face(result.image, a)
    shares: dict[str, float] = {}
    if face is not None:
        identity_out = identity_distance(face_descriptor(result.image, face.landmarks),
                                         a.identity)
        got = describe(face.landmarks)
        for name, delta in wanted.items():
            shares[name] = (NAMED[name](got) - NAMED[name](a.expression)) / delta
    else:
        identity_out = float("nan")
        shares = {name: float("nan") for name in wanted}
    write_sheet(out, group, a, b, result.image)
    warp = result.warp
    return Row(group, half_of(a.name), a.name, b.name, seconds, identity_out, shares,
               sum(abs(v) / NOISE[k] for k, v in wanted.items()),
               warp.min_jacobian if warp else float("nan"),
               warp.max_stretch if warp else float("nan"), " ".join(result.notes))


def slider_times(engine: WarpExpressionEngine, portraits: list[Portrait]) -> list[float]:
    """Milliseconds per smile-slider step, each photo's analysis already remembered."""
    times = []
    for p in portraits:
        engine.run(ExpressionRequest(p.image, smile=0.05))
        for value in SLIDER_STEPS:
            started = time.perf_counter()
            engine.run(ExpressionRequest(p.image, smile=value))
            times.append(1000 * (time.perf_counter() - started))
    return times


def face_crop(image: np.ndarray, face: Face) -> np.ndarray:
    """The face with room around it, scaled to the sheet's height."""
    x, y, w, h = face.box
    cx, cy, half = x + w / 2, y + h / 2, 1.1 * max(w, h)
    ih, iw = image.shape[:2]
    x0, y0 = int(max(0, cx - half)), int(max(0, cy - half))
    x1, y1 = int(min(iw, cx + half)), int(min(ih, cy + half))
    crop = image[y0:y1, x0:x1]
    scale = SHEET_HEIGHT / crop.shape[0]
    return cv2.resize(crop, (max(1, round(crop.shape[1] * scale)), SHEET_HEIGHT),
                      interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)


def sheet_name(group: str, first: str, second: str) -> str:
    return f"{group}_{first.split('/')[-1]}__{second.split('/')[-1]}.png"


def write_sheet(out: Path, group: str, a: Portrait, b: Portrait, result: np.ndarray) -> None:
    gap = np.ones((SHEET_HEIGHT, 6, 3), np.float32)
    tiles = [face_crop(a.image, a.face), gap, face_crop(b.image, b.face), gap,
             face_crop(result, a.face)]
    sheet = np.clip(np.concatenate(tiles, axis=1) * 255 + 0.5, 0, 255).astype(np.uint8)
    cv2.imwrite(str(out / sheet_name(group, a.name, b.name)),
                cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))


def pair_table(rows: list[Row]) -> list[str]:
    names = list(NAMED)
    lines = [
        "| first → second | half | s | identity | min Jacobian | stretch | "
        + " | ".join(names) + " |",
        "|---|---|---|---|---|---|" + "---|" * len(names),
    ]
    for r in rows:
        shares = " | ".join(f"{r.shares[n]:.2f}" if n in r.shares else "" for n in names)
        lines.append(f"| {r.first} → {r.second} | {r.half} | {r.seconds:.2f} "
                     f"| {r.identity_out:.2f} | {r.min_jacobian:.2f} | {r.max_stretch:.2f} "
                     f"| {shares} |")
    return lines


def _median(values: list[float]) -> float:
    found = [v for v in values if v == v]
    return statistics.median(found) if found else float("nan")


def summary(label: str, rows: list[Row]) -> list[str]:
    """Per descriptor the median share closed, and the other targets, for ``rows``."""
    if not rows:
        return [f"| {label} | 0 pairs |" + " |" * (len(NAMED) + 5)]
    cells = []
    each_ok = True
    for name in NAMED:
        shares = [r.shares[name] for r in rows if name in r.shares]
        median = _median(shares)
        each_ok &= math.isnan(median) or median >= TARGET_EACH
        cells.append(f"{median:.2f} ({len(shares)})" if shares else "–")
    all_shares = [v for r in rows for v in r.shares.values()]
    overall = _median(all_shares)
    ids = [r.identity_out for r in rows]
    id_share = sum(d < TARGET_IDENTITY for d in ids) / len(ids)
    folded = sum(r.min_jacobian <= 0 for r in rows)
    worst_time = max(r.seconds for r in rows)
    ok = (overall >= TARGET_MEDIAN and each_ok and id_share >= TARGET_IDENTITY_SHARE
          and folded == 0 and worst_time <= TARGET_SECONDS)
    return [
        f"| {label} | {len(rows)} | " + " | ".join(cells) + f" | **{overall:.2f}** "
        f"| {id_share:.0%} (max {max(ids):.2f}) | {folded} "
        f"| {max(r.max_stretch for r in rows):.2f} "
        f"| {statistics.median(r.seconds for r in rows):.2f} / {worst_time:.2f} "
        f"| {'PASS' if ok else 'FAIL'} |"
    ]


def summary_header() -> list[str]:
    return [
        "| pairs | n | " + " | ".join(f"{n} (pairs)" for n in NAMED)
        + " | all | identity < 0.6 | folds | worst stretch | s median / max | targets |",
        "|---|---|" + "---|" * len(NAMED) + "---|---|---|---|---|---|",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench-out" / "expression",
                        help="folder for results.md and the side-by-side PNGs")
    parser.add_argument("--no-shared", action="store_true", help="ignore ../shared/data/faces")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    engine = WarpExpressionEngine()
    if SHARED.is_dir() and not args.no_shared:
        portraits = shared_portraits()
        same, two = pairs_of(portraits)
    else:
        first, second = generated_pair()
        portraits, same, two = [first], [(first, second)], []
    engine.run(ExpressionRequest(same[0][0].image, same[0][1].image))  # warm-up (models)
    print(f"{len(same)} same-person pairs, {len(two)} of two people", flush=True)
    rows: list[Row] = []
    for group, pairs in (("same", same), ("two", two)):
        for a, b in pairs:
            rows.append(run_pair(engine, group, a, b, args.out))
            print(pair_table(rows[-1:])[-1], flush=True)
    sliders = slider_times(engine, portraits[:: max(1, len(portraits) // 8)][:8])
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    same_rows = [r for r in rows if r.group == "same"]
    two_rows = [r for r in rows if r.group == "two"]
    extreme = sorted(two_rows, key=lambda r: -r.change)[:8]
    text = [
        "# Expression: landmark engine, feature by feature", "",
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; load average "
        f"at the end {load} (times grow with other work on the machine).", "",
        "Share closed per descriptor: (result − first) / (second − first) on the result's "
        "re-detected landmarks, only where the two photos differ beyond landmark noise "
        f"({', '.join(f'{k} {v}' for k, v in NOISE.items())} inter-ocular units / eye "
        "aspect ratio). Identity: dlib distance of the result to the first photo. Jacobian "
        "and stretch: the engine's warp on the face's skin.", "",
        "## Targets", "", *summary_header(),
        *summary("same person, tune", [r for r in same_rows if r.half == "tune"]),
        *summary("same person, held-out", [r for r in same_rows if r.half == "held-out"]),
        *summary("same person, all", same_rows),
        *summary("two people, tune", [r for r in two_rows if r.half == "tune"]),
        *summary("two people, held-out", [r for r in two_rows if r.half == "held-out"]),
        *summary("two people, all", two_rows),
        *summary("all pairs", rows), "",
        f"Targets: median share ≥ {TARGET_MEDIAN} over all descriptors and ≥ {TARGET_EACH} "
        f"for each; identity < {TARGET_IDENTITY} on ≥ {TARGET_IDENTITY_SHARE:.0%}; no fold; "
        f"≤ {TARGET_SECONDS} s per pair at about 1 MP.", "",
        f"Slider step (smile, face analysis remembered), {len(sliders)} steps on "
        f"{len(sliders) // len(SLIDER_STEPS)} photos: median {statistics.median(sliders):.0f} "
        f"ms, max {max(sliders):.0f} ms (target ≤ {TARGET_SLIDER_MS:.0f} ms: "
        f"{'PASS' if max(sliders) <= TARGET_SLIDER_MS else 'FAIL'}).", "",
        "## The eight largest two-person changes (sheets)", "",
        *(f"- `{sheet_name(r.group, r.first, r.second)}` (change {r.change:.1f} noise units, "
          f"identity {r.identity_out:.2f}, stretch {r.max_stretch:.2f})" for r in extreme), "",
        "## Same person", "", *pair_table(same_rows), "",
        "## Two people", "", *pair_table(two_rows), "",
    ]
    print("\n".join(text))
    (args.out / "results.md").write_text("\n".join(text), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
