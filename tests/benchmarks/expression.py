"""Benchmark of the Expression operation's landmark-warp engine on real portrait pairs.

Run it from the repository root (a script, not a test; pytest does not collect it)::

    PYTHONPATH=. .venv/bin/python tests/benchmarks/expression.py [--out DIR] [--no-shared]

Pairs: every photo in ``../shared/data/faces`` (beside the checkout, when present; only
read, never copied) is resized to about 1 MP and its largest face described by dlib's
identity network. Two photos whose faces are closer than ``SAME_PERSON`` form a pair,
in both orders (smile → neutral and neutral → smile are different tasks), when their
expressions differ by at least ``MIN_CHANGE``. A few pairs of two different people are
run too, to show the engine's warning. Without the shared folder, one pair is made from
``skimage.data.astronaut()`` (the unit tests' jaw drop).

Per pair: the engine's wall time; the identity distance between the result's face and
the first photo's face (dlib, < 0.6 = same person); the expression distance (brows,
eyes, mouth; similarity-fitted, in eye distances; ``engines.faces.shape``) between the
result's re-detected landmarks and the second photo's, beside the same distance for
the unchanged first photo (the baseline); and the mouth opening of all three. Then the
issue's targets with PASS/FAIL. Output: the tables on stdout and in ``DIR/results.md``
(default ``bench-out/expression``) and one side-by-side per pair (first | second |
result, cropped around the faces) in ``DIR``.

Two references without any engine, measured the same way, show what this measure can
credit: the second photo's own brows, eyes and mouth pasted into the first photo where
the second face's landmarks fall (a similarity on the stable points, feathered), and its
whole inner face (brows to lips, nose included) pasted the same way. The detector reads
a feature in the context of the face around it, so a face that keeps the first photo's
nose and outline is read as only partly changed even when its features are the second
photo's pixels.
"""

from __future__ import annotations

import argparse
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
from engines.expression.retarget import moved_landmarks, target_landmarks  # noqa: E402
from engines.expression.warp import WarpExpressionEngine  # noqa: E402
from engines.faces.detect import Face, detect_faces  # noqa: E402
from engines.faces.geometry import apply_affine, similarity_fit  # noqa: E402
from engines.faces.identity import face_descriptor, identity_distance  # noqa: E402
from engines.faces.shape import (  # noqa: E402
    BROWS,
    FIRST_EYE,
    MOUTH,
    SECOND_EYE,
    STABLE,
    mouth_gap,
)
from engines.imageio import load_image  # noqa: E402
from tests.benchmarks.face_measures import (  # noqa: E402
    EXPRESSION_REGIONS,
    expression_distance,
    region_distances,
)

SHARED = ROOT.parent / "shared" / "data" / "faces"
WORK_PIXELS = 1_000_000
SAME_PERSON = 0.5  # stricter than dlib's 0.6, so look-alikes do not make a pair
MIN_CHANGE = 0.04  # eye distances: pairs whose expressions differ less are skipped
CROSS_PAIRS = 3
# The references' pasted regions: the hull of each part (its points in both faces)
# grown by this factor about its centre, feathered over this many eye distances.
REFERENCE_PARTS = {
    "features": (BROWS[:5], BROWS[5:], FIRST_EYE, SECOND_EYE, MOUTH),
    "inner face": (tuple(range(17, 68)),),
}
REFERENCE_GROW = 1.4
REFERENCE_FEATHER = 0.05
SHEET_HEIGHT = 420

TARGET_SECONDS = 1.5
TARGET_IDENTITY = 0.5
TARGET_IDENTITY_SHARE = 0.9
TARGET_REDUCTION = 0.6


@dataclass
class Portrait:
    name: str
    image: np.ndarray
    face: Face
    descriptor: np.ndarray


@dataclass
class Row:
    group: str
    first: str
    second: str
    size: str
    seconds: float
    cpu_seconds: float  # process time (all threads): less affected by other work
    identity_in: float  # first vs second photo
    identity_out: float  # result vs first photo (nan when no face was found again)
    baseline: float  # expression distance, unchanged first vs second
    ours: float  # expression distance, result vs second
    asked: float  # expression distance, the landmarks the engine asked for vs second
    regions: dict[str, tuple[float, float, float]]  # per region: first, asked, ours
    gaps: tuple[float, float, float]  # mouth opening: first, second, result
    notes: str
    references: dict[str, float]  # expression distance of each pasted reference vs second

    @property
    def reduction(self) -> float:
        return 1.0 - self.ours / self.baseline if self.baseline > 0 else float("nan")


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
    return Portrait(name, image, face, face_descriptor(image, face.landmarks))


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


def run_pair(engine: WarpExpressionEngine, group: str, a: Portrait, b: Portrait,
             out: Path) -> Row:
    started, cpu = time.perf_counter(), time.process_time()
    result = engine.run(ExpressionRequest(a.image, b.image))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    face = refound_face(result.image, a)
    if face is not None:
        identity_out = identity_distance(face_descriptor(result.image, face.landmarks),
                                         a.descriptor)
        ours = expression_distance(face.landmarks, b.face.landmarks)
        gap = mouth_gap(face.landmarks)
        found = region_distances(face.landmarks, b.face.landmarks)
    else:
        identity_out = ours = gap = float("nan")
        found = {name: float("nan") for name in EXPRESSION_REGIONS}
    # Where the engine sent the landmarks (its own retargeting, recomputed here from the
    # same detections): the part of the distance the warp and the re-detection add is
    # ours − asked; asked itself is what the retargeting leaves (pose, stable points).
    asked_points = moved_landmarks(
        a.face.landmarks, target_landmarks(a.face.landmarks, b.face.landmarks).target, 1.0)
    before = region_distances(a.face.landmarks, b.face.landmarks)
    asked = region_distances(asked_points, b.face.landmarks)
    write_sheet(out, group, a, b, result.image)
    laid, points = second_laid_over(a, b)
    h, w = a.image.shape[:2]
    return Row(
        group, a.name, b.name, f"{w}×{h}", seconds, cpu,
        identity_distance(a.descriptor, b.descriptor), identity_out,
        expression_distance(a.face.landmarks, b.face.landmarks), ours,
        expression_distance(asked_points, b.face.landmarks),
        {name: (before[name], asked[name], found[name]) for name in EXPRESSION_REGIONS},
        (mouth_gap(a.face.landmarks), mouth_gap(b.face.landmarks), gap),
        " ".join(result.notes),
        {name: redetected_distance(pasted_reference(a, laid, points, parts), a, b)
         for name, parts in REFERENCE_PARTS.items()},
    )


def second_laid_over(a: Portrait, b: Portrait) -> tuple[np.ndarray, np.ndarray]:
    """The second photo laid over the first, and the second face's landmarks there.

    By the similarity on the stable points (the frame the expression distance is
    measured in), so a part pasted from it sits exactly where the second face has it.
    """
    matrix = similarity_fit(b.face.landmarks[list(STABLE)], a.face.landmarks[list(STABLE)])
    h, w = a.image.shape[:2]
    laid = cv2.warpAffine(b.image, matrix, (w, h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT_101)
    return laid, apply_affine(b.face.landmarks, matrix)


def pasted_reference(a: Portrait, laid: np.ndarray, points: np.ndarray,
                     parts: tuple[tuple[int, ...], ...]) -> np.ndarray:
    """The first photo with ``parts`` of the laid-over second photo pasted in, feathered.

    No warp, no light matching: a reference, not an engine.
    """
    mask = np.zeros(a.image.shape[:2], np.float32)
    for part in parts:
        idx = list(part)
        both = np.concatenate([points[idx], a.face.landmarks[idx]]).astype(np.float32)
        hull = cv2.convexHull(both).reshape(-1, 2)
        centre = hull.mean(0)
        grown = centre + (hull - centre) * REFERENCE_GROW
        cv2.fillPoly(mask, [np.round(grown).astype(np.int32)], 1.0)
    mask = cv2.GaussianBlur(mask, (0, 0), REFERENCE_FEATHER * a.face.eye_distance)[..., None]
    return a.image * (1 - mask) + laid * mask


def refound_face(image: np.ndarray, a: Portrait) -> Face | None:
    """The face in ``image`` (an edit of ``a``'s photo) nearest to ``a``'s, if any is found."""
    again = detect_faces(image)
    if not again:
        return None
    return min(again, key=lambda f: np.linalg.norm(f.landmarks - a.face.landmarks))


def redetected_distance(image: np.ndarray, a: Portrait, b: Portrait) -> float:
    """Expression distance of the face found again in ``image`` to the second face."""
    face = refound_face(image, a)
    return float("nan") if face is None else expression_distance(face.landmarks,
                                                                  b.face.landmarks)


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


def write_sheet(out: Path, group: str, a: Portrait, b: Portrait, result: np.ndarray) -> None:
    gap = np.ones((SHEET_HEIGHT, 6, 3), np.float32)
    tiles = [face_crop(a.image, a.face), gap, face_crop(b.image, b.face), gap,
             face_crop(result, a.face)]
    sheet = np.clip(np.concatenate(tiles, axis=1) * 255 + 0.5, 0, 255).astype(np.uint8)
    name = f"{group}_{a.name.split('/')[-1]}__{b.name.split('/')[-1]}.png"
    cv2.imwrite(str(out / name), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))


def pairs_of(portraits: list[Portrait]) -> tuple[list, list]:
    same, cross = [], []
    for a, b in permutations(portraits, 2):
        d = identity_distance(a.descriptor, b.descriptor)
        if d < SAME_PERSON:
            if expression_distance(a.face.landmarks, b.face.landmarks) >= MIN_CHANGE:
                same.append((a, b))
        elif d > 0.75 and a.name < b.name:
            cross.append((d, a, b))
    cross.sort(key=lambda item: item[0])
    picks = cross[:: max(1, len(cross) // CROSS_PAIRS)][:CROSS_PAIRS]
    return same, [(a, b) for _, a, b in picks]


def table(rows: list[Row]) -> list[str]:
    lines = [
        "| first → second | size | s | cpu s | id in | id out | expr first | expr ours | lower by "
        "| mouth 1st / 2nd / ours | notes |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        g1, g2, g3 = r.gaps
        lines.append(
            f"| {r.first} → {r.second} | {r.size} | {r.seconds:.2f} | {r.cpu_seconds:.2f} "
            f"| {r.identity_in:.2f} "
            f"| {r.identity_out:.2f} | {r.baseline:.3f} | {r.ours:.3f} | {r.reduction:.0%} "
            f"| {g1:.2f} / {g2:.2f} / {g3:.2f} | {r.notes[:60]} |"
        )
    return lines


def summary(rows: list[Row]) -> list[str]:
    if not rows:
        return ["No same-person pairs were run."]
    times = [r.seconds for r in rows]
    cpu = [r.cpu_seconds for r in rows]
    ids = [r.identity_out for r in rows]
    id_share = sum(d < TARGET_IDENTITY for d in ids) / len(ids)
    base = statistics.fmean(r.baseline for r in rows)
    ours = _mean([r.ours for r in rows])
    mean_reduction = 1 - ours / base
    per_pair = sum(r.reduction >= TARGET_REDUCTION for r in rows) / len(rows)
    asked = statistics.fmean(r.asked for r in rows)
    references = "; ".join(
        f"the second photo's own {name} pasted in: "
        f"{1 - _mean([r.references[name] for r in rows]) / base:.0%} lower"
        for name in REFERENCE_PARTS)
    per_region = "; ".join(
        f"{name} " + " → ".join(
            f"{statistics.fmean(r.regions[name][k] for r in rows if r.ours == r.ours):.3f}"
            for k in range(3))
        for name in EXPRESSION_REGIONS)

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    return [
        f"Same-person pairs: {len(rows)}. Time per pair: median {statistics.median(times):.2f} s,"
        f" max {max(times):.2f} s (process time: median {statistics.median(cpu):.2f} s, max "
        f"{max(cpu):.2f} s). Identity distance out: median {statistics.median(ids):.2f},"
        f" max {max(ids):.2f}. Expression distance: mean {base:.3f} unchanged → {ours:.3f} "
        f"ours ({mean_reduction:.0%} lower; {per_pair:.0%} of pairs at least "
        f"{TARGET_REDUCTION:.0%} lower).",
        "",
        f"Where it goes: the landmarks the engine asked for are {asked:.3f} from the second "
        f"face ({1 - asked / base:.0%} lower than unchanged); re-detected on the result, "
        f"{ours:.3f}. Per region, unchanged → asked → re-detected: {per_region}.",
        "",
        f"References measured the same way (no engine): {references}.",
        "",
        "| target | measured | |",
        "|---|---|---|",
        f"| ≤ {TARGET_SECONDS} s per pair at ~1 MP (max) | {max(times):.2f} s "
        f"| {verdict(max(times) <= TARGET_SECONDS)} |",
        f"| identity distance < {TARGET_IDENTITY} on ≥ {TARGET_IDENTITY_SHARE:.0%} of pairs "
        f"| {id_share:.0%} | {verdict(id_share >= TARGET_IDENTITY_SHARE)} |",
        f"| expression distance ≥ {TARGET_REDUCTION:.0%} lower than the unchanged first face "
        f"(mean over pairs) | {mean_reduction:.0%} "
        f"| {verdict(mean_reduction >= TARGET_REDUCTION)} |",
    ]


def _mean(values: list[float]) -> float:
    found = [v for v in values if v == v]
    return statistics.fmean(found) if found else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench-out" / "expression",
                        help="folder for results.md and the side-by-side PNGs")
    parser.add_argument("--no-shared", action="store_true", help="ignore ../shared/data/faces")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    engine = WarpExpressionEngine()
    if SHARED.is_dir() and not args.no_shared:
        same, cross = pairs_of(shared_portraits())
    else:
        same, cross = [generated_pair()], []
    engine.run(ExpressionRequest(same[0][0].image, same[0][1].image))  # warm-up (models)
    print(f"{len(same)} same-person pairs, {len(cross)} of two people", flush=True)
    rows, cross_rows = [], []
    for group, pairs, into in (("same", same, rows), ("cross", cross, cross_rows)):
        for a, b in pairs:
            into.append(run_pair(engine, group, a, b, args.out))
            print(table(into[-1:])[-1], flush=True)
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    text = [
        "# Expression: landmark warp", "",
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; load average "
        f"at the end {load} (times grow with other work on the machine).", "",
        "Identity: dlib descriptor distance (< 0.6 same person). Expression: brows, eyes and "
        "mouth landmarks, similarity-fitted on stable points, mean distance in eye distances "
        "(of the second face); 'expr first' is the unchanged first photo's. Mouth: inner-lip "
        "gap in eye distances.", "",
        "## Same person, different expression", "", *table(rows), "",
        "## Two different people (the engine should warn)", "", *table(cross_rows), "",
        "## Targets", "", *summary(rows), "",
        "### The same, on pairs whose heads face the same way (no pose note)", "",
        *summary([r for r in rows if "turned differently" not in r.notes]), "",
    ]
    print("\n".join(text))
    (args.out / "results.md").write_text("\n".join(text), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
