"""Object-shaped holes on held-out photos, with ground truth: the cases users care about.

A person, a car or an animal removed from a photo leaves a hole of its shape. These cases
put silhouettes of *other* photos' objects (CamVid pedestrians, cars and cyclists, the
horse2zebra animals) on validation photos of the Remove generator's training set, which
training never saw, covering 10–40 % of the photo: the photo itself is the ground truth.

The set is laid out by ``tools/inpaint_training_set.py``; its ``val/`` photos are split
once more, by name, into a *tune* part (where constants such as the guided engine's
content weights are chosen) and a *report* part (where the benchmark's numbers come
from), so no reported number is one a constant was fitted to.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from engines.remove.generator.holes import load_silhouettes, silhouette_hole

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SET = Path(os.environ.get("TRANSFIGURE_INPAINT_SET", ROOT.parent / "data" / "inpaint-set"))
LONG_SIDE = 512  # photos larger than this are scaled down (the 1 MP cases time big ones)
MIN_SIDE = 200  # the 150 px scene photos are too small to remove a person from
TUNE_SHARE = 4  # one photo in 4 is for tuning, the rest for the report
SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}


@dataclass(frozen=True)
class ObjectCase:
    name: str
    image: np.ndarray  # float32 HxWx3 in [0, 1]
    mask: np.ndarray  # bool, True = hole


def part_of(name: str) -> str:
    digest = hashlib.sha1(name.encode("utf-8")).digest()
    return "tune" if int.from_bytes(digest[:4], "big") % TUNE_SHARE == 0 else "report"


def _photos(folder: Path, part: str) -> list[Path]:
    found = sorted(p for p in (folder / "val" / "photos").rglob("*")
                   if p.suffix.lower() in SUFFIXES)
    return [p for p in found if part_of(p.name) == part]


def object_cases(folder: Path = DEFAULT_SET, part: str = "report", count: int = 120,
                 low: float = 0.10, high: float = 0.40, seed: int = 7) -> Iterator[ObjectCase]:
    """Up to ``count`` cases of the ``part`` ("tune" or "report"), the same every run."""
    silhouette_files = sorted((folder / "val" / "silhouettes").glob("*.png"))
    shapes = load_silhouettes(silhouette_files)
    owners = [f.stem for f in silhouette_files if cv2.imread(str(f), 0) is not None]
    if not shapes:
        return
    rng = np.random.default_rng(seed)
    made = 0
    for path in _photos(folder, part):
        if made >= count:
            return
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None or min(bgr.shape[:2]) < MIN_SIDE:
            continue
        scale = LONG_SIDE / max(bgr.shape[:2])
        if scale < 1:
            bgr = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        image = np.ascontiguousarray(bgr[..., ::-1], dtype=np.float32) / np.float32(255)
        stem = path.stem.split("__")[-1]
        while True:  # a silhouette from another photo
            pick = int(rng.integers(len(shapes)))
            if stem not in owners[pick]:
                break
        share = float(rng.uniform(low, high))
        mask = silhouette_hole(shapes[pick], image.shape[:2], share, rng)
        made += 1
        yield ObjectCase(f"{path.parent.name}/{stem}", image, mask)
