"""Same outputs: every command-line command on real photos, recorded so two checkouts compare.

A restructuring (modules moved, a new engine base class) must not change any result. This
script runs each ``python -m app COMMAND`` on a fixed set of inputs with fixed seeds and
records, per case, the exit codes, the normalized stdout and stderr, and every file written
(decoded pixels and raw bytes of images, per-tensor hashes and metadata of ``.safetensors``
models, the text of CSV files). Two such records compare case by case::

    .venv/bin/python tests/benchmarks/same_outputs.py run [--repo DIR] [--out DIR] [--data DIR]
    .venv/bin/python tests/benchmarks/same_outputs.py compare DIR_A DIR_B

It only ever talks to the code under test through its command line, in a subprocess whose
working directory and ``PYTHONPATH`` are ``--repo``, so the same script records the code
before and after module paths change (and can record an older worktree of the code).
Nothing of the project is imported here: numpy, OpenCV and Pillow only decode the results.

Every command gets its own empty ``TRANSFIGURE_CACHE_DIR`` and
``TRANSFIGURE_TRANSLATE_MODELS`` under ``--out`` and ``TRANSFIGURE_DEVICE=cpu``, so nothing
depends on the user's cache, models or GPU; other ``TRANSFIGURE_*`` variables are removed.
Inputs are read from ``--data`` (``../shared/data`` beside the checkout, never copied into
the repository); the few generated ones (an upscaled photo for tiling, a 16-bit photo with
alpha, an avoid mask, a pairs CSV) are written deterministically into ``--out`` first.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import math
import os
import re
import shutil
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

SCRIPT = Path(__file__).resolve()
CHECKOUT = SCRIPT.parents[2]
DEFAULT_DATA = SCRIPT.parents[3] / "shared" / "data"
DEFAULT_OUT = CHECKOUT / "bench-out" / "same-outputs"
MARKER = ".same-outputs"  # marks a folder this script may empty before a run
MANIFEST = "manifest.json"
COMMAND_TIMEOUT = 600  # seconds; a hung command is recorded as rc "timeout"

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp"}
TEXT_SUFFIXES = {".csv", ".txt", ".json", ".md"}
# Metadata keys of model files that hold the time of writing: they differ on every run.
VOLATILE_METADATA = {"date"}
# A number followed by a unit of time or speed, e.g. "1.7 s", "3.20 steps/s", "120 ms".
TIMING = re.compile(r"\d+(?:\.\d+)?\s*(?:ms|s|sec|seconds|steps/s|it/s)\b")

# Inputs, chosen once. Names are fixed where the choice matters (see the comments);
# bulk inputs are the first N of a sorted listing.
REMOVE_DIR = "inpaint/latent-diffusion_object-removal"  # 512 px photos, white = hole
LIBCOM_DIR = "harmonize/libcom-composition"
# A libcom object whose light differs from the library's enough that "reinhard" changes
# it when the light match is off (with the light match on, the match alone suffices).
LIBCOM_GUIDE = "35149c4895418040_m01yrx_e5b3a7bd_09"
LIBRARY = "scenes/imagenet-samples/n03661043_library.JPEG"
VALLEY = "scenes/imagenet-samples/n09468604_valley.JPEG"
IHARMONY = "harmonize/MFCM_iHarmony4-samples"
# (composite, mask), about 0.7 MP each: on the first both "edge" and "reinhard" change the
# object (on most iHarmony4 samples "edge" finds no colour step and writes the photo back
# unchanged); on the second "reinhard" changes it most.
HARMONIZE_SETS = (
    ("f227_1_2_composite.jpg", "f227_1_mask.png"),
    ("f1998_1_2_composite.jpg", "f1998_1_mask.png"),
)
HORSES = "horse2zebra/horse"
ZEBRAS = "horse2zebra/zebra"
HORSE_MASKS = "horse2zebra/seg_masks_model-generated/horse"
FACES = "faces/face_recognition"
OBAMA, OBAMA2 = "knn_examples__train__obama__obama.jpg", "knn_examples__train__obama__obama2.jpg"
OBAMA1 = "knn_examples__test__obama1.jpg"
BIDEN, BIDEN2 = "biden.jpg", "knn_examples__train__biden__biden2.jpg"
BIG_SIDE = 704  # the upscaled horse: over 2 × the model's ~144 px, so --tile tiles it


@dataclass
class Case:
    """One test: commands run in order (most cases have one), then their files recorded."""

    name: str
    commands: list[list[str]]
    inputs: list[Path]


@dataclass
class Paths:
    """The folders a run reads and writes; their paths are replaced by names in the record."""

    repo: Path
    out: Path
    data: Path

    def case_dir(self, name: str) -> Path:
        return self.out / "cases" / name

    def env_dir(self, name: str) -> Path:
        return self.out / "env" / name

    def placeholders(self) -> list[tuple[str, str]]:
        """(path, name) pairs, longest path first so nested folders are replaced whole."""
        pairs = [(str(self.out), "{OUT}"), (str(self.data), "{DATA}"),
                 (str(self.repo), "{REPO}"), (sys.executable, "{PYTHON}")]
        return sorted(pairs, key=lambda pair: -len(pair[0]))


@dataclass
class Generated:
    """Inputs this script writes before any command runs."""

    big_horse: Path
    photo16: Path
    avoid: Path
    pairs_csv: Path


@dataclass
class Record:
    """What one case left behind; the manifest holds one per case."""

    name: str
    argv: list[list[str]]
    rc: list[int | str]
    stdout: str
    stdout_sha256: str
    stderr: str
    inputs: dict[str, str]
    files: dict[str, dict[str, Any]]
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------- hashing


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    return sha256(path.read_bytes())


def array_record(pixels: np.ndarray) -> dict[str, Any]:
    """Hash, dtype and shape: equal records mean bit-identical arrays."""
    pixels = np.ascontiguousarray(pixels)
    return {"sha256": sha256(pixels.tobytes()), "dtype": str(pixels.dtype),
            "shape": list(pixels.shape)}


def decode_image(path: Path) -> np.ndarray:
    """The stored pixels, bit depth and alpha kept (OpenCV; Pillow for what it cannot read).

    ``IMREAD_UNCHANGED`` keeps 16-bit channels and alpha and ignores EXIF orientation, so
    the array is what the file holds, not a display of it.
    """
    pixels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if pixels is None:
        with Image.open(path) as image:
            pixels = np.asarray(image)
    return pixels


def image_metadata(path: Path) -> dict[str, str]:
    """Pillow's ``info`` (text chunks, ICC profile, EXIF, dpi…), long values hashed.

    Kept so that a byte difference with identical pixels can be told apart from a
    different encoding: the note then names the metadata keys that changed.
    """
    try:
        with Image.open(path) as image:
            info = dict(image.info)
            info["format"], info["mode"] = image.format, image.mode
    except OSError:
        return {}
    out: dict[str, str] = {}
    for key, value in sorted(info.items(), key=lambda kv: str(kv[0])):
        text = value if isinstance(value, bytes) else repr(value).encode()
        out[str(key)] = repr(value) if len(text) <= 80 and not isinstance(value, bytes) \
            else f"sha256:{sha256(text)}"
    return out


def safetensors_record(raw: bytes) -> dict[str, Any]:
    """Per-tensor hashes (dtype, shape, bytes), the metadata minus its dates, a canonical hash.

    The header is read directly (8-byte length, JSON) rather than through
    ``safetensors.numpy``: that needs no numpy dtype for every tensor type and hashes the
    exact stored bytes. Tensors are compared by name. The file's bytes differ from run to
    run even when nothing else does: safetensors writes the metadata from a hash map, so
    its key order in the header changes with every process. ``canonical_sha256`` (header
    with sorted keys and without dates, then the tensor data) tells that case apart.
    """
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + length])
    metadata = header.pop("__metadata__", None) or {}
    base = 8 + length
    tensors = {}
    for name in sorted(header):
        entry = header[name]
        start, end = entry["data_offsets"]
        tensors[name] = {"dtype": entry["dtype"], "shape": entry["shape"],
                         "sha256": sha256(raw[base + start:base + end])}
    dropped = {key: metadata[key] for key in sorted(VOLATILE_METADATA & set(metadata))}
    kept = {key: value for key, value in sorted(metadata.items()) if key not in dropped}
    canonical = json.dumps({**header, "__metadata__": kept}, sort_keys=True).encode()
    return {"tensors": tensors, "metadata": kept, "metadata_dropped": dropped,
            "canonical_sha256": sha256(canonical + raw[base:])}


def file_record(path: Path) -> dict[str, Any]:
    """The kind-specific record of one written file (always with its byte hash)."""
    raw = path.read_bytes()
    record: dict[str, Any] = {"bytes_sha256": sha256(raw), "size": len(raw)}
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        record["kind"] = "image"
        record["pixels"] = array_record(decode_image(path))
        record["metadata"] = image_metadata(path)
    elif suffix == ".safetensors":
        record["kind"] = "safetensors"
        record.update(safetensors_record(raw))
    elif suffix in TEXT_SUFFIXES:
        record["kind"] = "text"
        record["text"] = raw.decode("utf-8", errors="replace")
    else:
        record["kind"] = "bytes"
    return record


# ---------------------------------------------------------------------------- inputs


def sorted_files(folder: Path, pattern: str, first: int) -> list[Path]:
    """The first ``first`` files of a sorted listing: the same picks on every run."""
    found = sorted(p for p in folder.glob(pattern) if p.is_file())
    if len(found) < first:
        raise SystemExit(f"{folder} has {len(found)} files matching {pattern}, want {first}.")
    return found[:first]


def mask_box(mask_path: Path, grow: float = 0.05) -> str:
    """The mask's bounding box grown by ``grow`` per side, as "x,y,w,h" (a user's box)."""
    mask = decode_image(mask_path)
    if mask.ndim == 3:
        mask = mask.max(axis=2)
    ys, xs = np.nonzero(mask > 127)
    h, w = mask.shape
    x0, x1, y0, y1 = int(xs.min()), int(xs.max()) + 1, int(ys.min()), int(ys.max()) + 1
    dx, dy = round((x1 - x0) * grow), round((y1 - y0) * grow)
    x0, y0, x1, y1 = max(0, x0 - dx), max(0, y0 - dy), min(w, x1 + dx), min(h, y1 + dy)
    return f"{x0},{y0},{x1 - x0},{y1 - y0}"


def write_generated(paths: Paths) -> Generated:
    """Write the generated inputs: fixed methods on fixed photos, so every run gets the same.

    - a horse upscaled to ``BIG_SIDE`` px (bicubic) so that ``translate --tile`` tiles;
    - a remove photo widened to 16 bits per channel with a left-to-right alpha ramp, to
      run the 16-bit and transparency paths of reading and writing;
    - an avoid mask (the left third of the photo) for ``remove --avoid``;
    - the ``expression --pairs`` CSV (absolute paths into the data folder; one row with an
      output name, the others with the default name).
    """
    folder = paths.out / "inputs"
    folder.mkdir(parents=True, exist_ok=True)
    horse = sorted_files(paths.data / HORSES, "test_*.jpg", 1)[0]
    big = folder / "horse-big.png"
    with Image.open(horse) as image:
        image.convert("RGB").resize((BIG_SIDE, BIG_SIDE), Image.Resampling.BICUBIC).save(big)

    pairs = remove_pairs(paths.data)
    bgr = cv2.imread(str(pairs[2][0]), cv2.IMREAD_COLOR).astype(np.uint16) * 257
    h, w = bgr.shape[:2]
    ramp = np.linspace(65535, 16384, w).round().astype(np.uint16)
    alpha = np.broadcast_to(ramp, (h, w))[..., None]
    photo16 = folder / "photo16-alpha.png"
    cv2.imwrite(str(photo16), np.concatenate([bgr, alpha], axis=2))

    avoid = folder / "avoid-left-third.png"
    h, w = decode_image(pairs[1][1]).shape[:2]  # the size of the photo it goes with
    avoid_mask = np.zeros((h, w), np.uint8)
    avoid_mask[:, : w // 3] = 255
    cv2.imwrite(str(avoid), avoid_mask)

    faces = paths.data / FACES
    pairs_csv = folder / "pairs.csv"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["first", "second", "output"])
    writer.writerow([faces / BIDEN2, faces / BIDEN, ""])
    writer.writerow([faces / OBAMA1, faces / OBAMA, "obama1-as-obama.png"])
    writer.writerow([faces / OBAMA2, faces / OBAMA, ""])
    pairs_csv.write_text(buffer.getvalue(), encoding="utf-8")
    return Generated(big, photo16, avoid, pairs_csv)


def remove_pairs(data: Path) -> list[tuple[Path, Path]]:
    """(photo, mask) of the first three object-removal photos."""
    masks = sorted_files(data / REMOVE_DIR, "*_mask.png", 3)
    return [(mask.with_name(mask.name.removesuffix("_mask.png") + ".png"), mask)
            for mask in masks]


# ---------------------------------------------------------------------------- cases


def remove_cases(paths: Paths, gen: Generated) -> list[Case]:
    """Every quality, a seed other than 0, --avoid, 16 bits + alpha, and one refusal."""
    (p1, m1), (p2, m2), (_, m3) = remove_pairs(paths.data)
    cases = []
    for quality in ("fast", "balanced", "best"):
        out = paths.case_dir(f"remove-{quality}") / "clean.png"
        cases.append(Case(f"remove-{quality}", [["remove", str(p1), "--mask", str(m1), "-o",
                                                 str(out), "--quality", quality]], [p1, m1]))
    out = paths.case_dir("remove-seed7") / "clean.png"
    cases.append(Case("remove-seed7", [["remove", str(p2), "--mask", str(m2), "-o", str(out),
                                        "--seed", "7"]], [p2, m2]))
    out = paths.case_dir("remove-avoid") / "clean.png"
    cases.append(Case("remove-avoid", [["remove", str(p2), "--mask", str(m2), "-o", str(out),
                                        "--avoid", str(gen.avoid)]], [p2, m2, gen.avoid]))
    out = paths.case_dir("remove-16bit-alpha") / "clean.png"
    cases.append(Case("remove-16bit-alpha", [["remove", str(gen.photo16), "--mask", str(m3),
                                              "-o", str(out)]], [gen.photo16, m3]))
    # A mask of another size is refused: the exit code and the one-line error are recorded.
    wrong = sorted_files(paths.data / HORSE_MASKS, "*.png", 1)[0]
    out = paths.case_dir("remove-error-mask-size") / "clean.png"
    cases.append(Case("remove-error-mask-size", [["remove", str(p1), "--mask", str(wrong),
                                                  "-o", str(out)]], [p1, wrong]))
    return cases


def composite_cases(paths: Paths) -> list[Case]:
    """Given mask with every harmonizer (light match on and off); GrabCut box variants."""
    libcom = paths.data / LIBCOM_DIR
    guide, guide_mask = (libcom / f"{LIBCOM_GUIDE}_foreground.png",
                         libcom / f"{LIBCOM_GUIDE}_foreground_mask.png")
    target = paths.data / LIBRARY
    with_mask = [str(target), str(guide), "--mask", str(guide_mask), "--box", "0,0,512,512",
                 "--at", "40,40,0.5"]
    cases = []
    variants: list[tuple[str, list[str]]] = [
        (f"composite-mask-{name}", ["--harmonize", name])
        for name in ("reinhard", "poisson", "edge", "none", "net")]
    variants.append(("composite-mask-keep-light", ["--harmonize", "reinhard", "--keep-light"]))
    for name, extra in variants:
        out = paths.case_dir(name) / "composite.png"
        cases.append(Case(name, [["composite", *with_mask, "-o", str(out), *extra]],
                          [target, guide, guide_mask]))

    horse = sorted_files(paths.data / HORSE_MASKS, "*.png", 1)[0]
    horse_photo = paths.data / HORSES / f"{horse.stem}.jpg"
    valley = paths.data / VALLEY
    by_box = [str(valley), str(horse_photo), "--box", mask_box(horse), "--at", "150,90,0.9"]
    box_variants: list[tuple[str, list[str]]] = [
        ("composite-box", []),
        ("composite-box-paste-box", ["--paste-box"]),
        ("composite-box-flip", ["--flip"]),
        ("composite-box-strength-seed-feather",
         ["--strength", "0.5", "--seed", "3", "--feather", "5"]),
    ]
    for name, extra in box_variants:
        out = paths.case_dir(name) / "composite.png"
        cases.append(Case(name, [["composite", *by_box, "-o", str(out), *extra]],
                          [valley, horse_photo, horse]))
    return cases


def harmonize_cases(paths: Paths) -> list[Case]:
    """Each engine (default edge first), one --strength 0.5, one JPEG output."""
    folder = paths.data / IHARMONY
    (c1, m1), (c2, m2) = ((folder / c, folder / m) for c, m in HARMONIZE_SETS)
    cases = []
    for engine in ("default", "reinhard", "poisson", "net"):
        name = f"harmonize-{engine}"
        extra = [] if engine == "default" else ["--engine", engine]
        out = paths.case_dir(name) / "harmonized.png"
        cases.append(Case(name, [["harmonize", str(c1), "--mask", str(m1), "-o", str(out),
                                  *extra]], [c1, m1]))
    out = paths.case_dir("harmonize-reinhard-strength") / "harmonized.png"
    cases.append(Case("harmonize-reinhard-strength", [[
        "harmonize", str(c2), "--mask", str(m2), "-o", str(out), "--engine", "reinhard",
        "--strength", "0.5"]], [c2, m2]))
    out = paths.case_dir("harmonize-poisson-jpeg") / "harmonized.jpg"
    cases.append(Case("harmonize-poisson-jpeg", [["harmonize", str(c2), "--mask", str(m2),
                                                  "-o", str(out), "--engine", "poisson"]],
                      [c2, m2]))
    return cases


def translate_cases(paths: Paths, gen: Generated) -> list[Case]:
    """The shipped model with its extra outputs, a greyscale photo, and a tiled large one."""
    horse = sorted_files(paths.data / HORSES, "test_*.jpg", 1)[0]
    folder = paths.case_dir("translate-extras")
    cases = [Case("translate-extras", [[
        "translate", str(horse), "-o", str(folder / "zebra.png"),
        "--save-attention", str(folder / "attention.png"),
        "--save-initial", str(folder / "initial.png")]], [horse])]
    grey = next(p for p in sorted((paths.data / ZEBRAS).glob("*.jpg")) if is_grey(p))
    cases.append(Case("translate-grey", [[
        "translate", str(grey), "-o", str(paths.case_dir("translate-grey") / "out.png")]],
        [grey]))
    folder = paths.case_dir("translate-tile")
    cases.append(Case("translate-tile", [[
        "translate", str(gen.big_horse), "-o", str(folder / "zebra.png"), "--tile",
        "--save-attention", str(folder / "attention.png")]], [gen.big_horse]))
    return cases


def is_grey(path: Path) -> bool:
    with Image.open(path) as image:
        return image.mode in ("L", "LA", "I;16")


def expression_cases(paths: Paths, gen: Generated) -> list[Case]:
    """Same-person pairs with the warp engine, one at strength 0.5, and a --pairs batch."""
    faces = paths.data / FACES
    pairs = [("expression-obama-obama2", OBAMA, OBAMA2, []),
             ("expression-biden-biden2", BIDEN, BIDEN2, []),
             ("expression-obama2-obama1-half", OBAMA2, OBAMA1, ["--strength", "0.5"])]
    cases = []
    for name, first, second, extra in pairs:
        out = paths.case_dir(name) / "result.png"
        cases.append(Case(name, [["expression", str(faces / first), str(faces / second),
                                  "-o", str(out), *extra]], [faces / first, faces / second]))
    inputs = [gen.pairs_csv, *(faces / n for n in (BIDEN, BIDEN2, OBAMA, OBAMA1, OBAMA2))]
    cases.append(Case("expression-pairs", [[
        "expression", "--pairs", str(gen.pairs_csv),
        "--out-dir", str(paths.case_dir("expression-pairs"))]], inputs))
    return cases


def training_cases(paths: Paths) -> list[Case]:
    """Tiny runs of both trainers, and a translate run resumed from its saved state."""
    libcom = paths.data / LIBCOM_DIR
    photos = sorted_files(libcom, "*_foreground.png", 4)
    masks = [p.with_name(p.stem + "_mask.png") for p in photos]
    model = paths.case_dir("train-harmonizer") / "harmonizer.safetensors"
    cases = [Case("train-harmonizer", [[
        "train-harmonizer", "--photos", *map(str, photos), "--masks", *map(str, masks),
        "--out", str(model), "--steps", "20", "--size", "64", "--batch", "2"]],
        [*photos, *masks])]

    horses = sorted_files(paths.data / HORSES, "train_*.jpg", 3)
    zebras = sorted_files(paths.data / ZEBRAS, "train_*.jpg", 3)
    common = ["--a", *map(str, horses), "--b", *map(str, zebras), "--size", "32",
              "--widths", "8,8,8", "--name-a", "horse", "--name-b", "zebra"]
    model = paths.case_dir("train-translate") / "h2z.safetensors"
    # 20 steps per stage: 60 in all, so the losses CSV gets rows at step 50 and at the end.
    cases.append(Case("train-translate", [[
        "train-translate", *common, "--out", str(model),
        "--steps-per-stage", "20", "20", "20"]], [*horses, *zebras]))
    model = paths.case_dir("train-translate-resume") / "h2z.safetensors"
    previews = paths.case_dir("train-translate-resume") / "previews"
    cases.append(Case("train-translate-resume", [
        ["train-translate", *common, "--out", str(model), "--steps-per-stage", "10", "10", "10",
         "--seed", "5", "--preview-dir", str(previews)],
        ["train-translate", *common, "--out", str(model), "--steps-per-stage", "20", "10", "10",
         "--seed", "5", "--preview-dir", str(previews), "--resume"]],
        [*horses, *zebras]))
    return cases


def listing_cases() -> list[Case]:
    """The text commands: what engines exist and what weights are installed (none here)."""
    return [Case("engines", [["engines"]], []),
            Case("weights-list", [["weights", "list"]], [])]


def all_cases(paths: Paths, gen: Generated) -> list[Case]:
    return [*remove_cases(paths, gen), *composite_cases(paths), *harmonize_cases(paths),
            *translate_cases(paths, gen), *expression_cases(paths, gen),
            *training_cases(paths), *listing_cases()]


# ---------------------------------------------------------------------------- running


def command_env(paths: Paths, case: str) -> dict[str, str]:
    """The environment of one command: only the repo's code, empty caches, the CPU."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRANSFIGURE_")}
    cache, models = paths.env_dir(case) / "cache", paths.env_dir(case) / "translate-models"
    cache.mkdir(parents=True, exist_ok=True)
    models.mkdir(parents=True, exist_ok=True)
    env.update({"PYTHONPATH": str(paths.repo), "TRANSFIGURE_CACHE_DIR": str(cache),
                "TRANSFIGURE_TRANSLATE_MODELS": str(models), "TRANSFIGURE_DEVICE": "cpu",
                "QT_QPA_PLATFORM": "offscreen"})
    return env


def normalize_text(text: str, paths: Paths) -> str:
    """Folder paths replaced by their names, timings by ``<time>``: what may differ by run."""
    for path, name in paths.placeholders():
        text = text.replace(path, name)
    return TIMING.sub("<time>", text)


def run_command(argv: list[str], paths: Paths, env: dict[str, str]) -> tuple[int | str, str,
                                                                               str]:
    """(exit code, stdout, stderr) of ``python -m app ARGV`` run in the repo."""
    try:
        done = subprocess.run([sys.executable, "-m", "app", *argv], cwd=paths.repo, env=env,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=COMMAND_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        return "timeout", str(exc.stdout or ""), str(exc.stderr or "")
    return done.returncode, done.stdout, done.stderr


def written_files(paths: Paths, case: str) -> dict[str, dict[str, Any]]:
    """Every file in the case's output folder and its cache folders, by relative name."""
    files = {}
    for root, prefix in ((paths.case_dir(case), ""), (paths.env_dir(case), "env/")):
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            files[prefix + path.relative_to(root).as_posix()] = file_record(path)
    return files


def run_case(case: Case, paths: Paths) -> Record:
    """Run a case's commands in order and record what they printed and wrote."""
    paths.case_dir(case.name).mkdir(parents=True, exist_ok=True)
    env = command_env(paths, case.name)
    started = time.perf_counter()
    codes: list[int | str] = []
    stdout, stderr = [], []
    for argv in case.commands:
        code, out, err = run_command(argv, paths, env)
        codes.append(code)
        stdout.append(normalize_text(out, paths))
        stderr.append(normalize_text(err, paths))
    seconds = time.perf_counter() - started
    text = "".join(stdout)
    return Record(
        name=case.name,
        argv=[[normalize_text(a, paths) for a in argv] for argv in case.commands],
        rc=codes, stdout=text, stdout_sha256=sha256(text.encode()), stderr="".join(stderr),
        inputs={normalize_text(str(p), paths): file_sha256(p) for p in case.inputs},
        files=written_files(paths, case.name), seconds=round(seconds, 2))


def probe(paths: Paths) -> dict[str, str]:
    """Which ``app`` the commands import, and the library versions, checked before running.

    The commands run with the repo as working directory and ``PYTHONPATH``; this fails
    loudly when another checkout's package (e.g. the venv's editable install) would win.
    """
    code = ("import json, app, numpy, cv2, PIL, torch, platform; print(json.dumps({"
            "'app': app.__file__, 'python': platform.python_version(), "
            "'numpy': numpy.__version__, 'opencv': cv2.__version__, "
            "'pillow': PIL.__version__, 'torch': torch.__version__, "
            "'torch_threads': torch.get_num_threads()}))")
    env = command_env(paths, "_probe")
    done = subprocess.run([sys.executable, "-c", code], cwd=paths.repo, env=env,
                          capture_output=True, text=True, check=True)
    found = json.loads(done.stdout)
    if not Path(found["app"]).resolve().is_relative_to(paths.repo):
        raise SystemExit(f"'app' is imported from {found['app']}, not from {paths.repo}.")
    shutil.rmtree(paths.env_dir("_probe"))
    return found


def prepare_out(out: Path) -> None:
    """An empty output folder; only a folder this script made (or an empty one) is emptied."""
    if out.exists() and any(out.iterdir()):
        if not (out / MARKER).exists():
            raise SystemExit(f"{out} is not empty and was not written by this script.")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("written by tests/benchmarks/same_outputs.py\n")


def cmd_run(args: argparse.Namespace) -> int:
    paths = Paths(Path(args.repo).resolve(), Path(args.out).resolve(),
                  Path(args.data).resolve())
    if not paths.data.is_dir():
        raise SystemExit(f"No data folder at {paths.data} (give --data).")
    prepare_out(paths.out)
    started = time.perf_counter()
    versions = probe(paths)
    print(f"code: {versions['app']} (python {versions['python']}, torch {versions['torch']}, "
          f"{versions['torch_threads']} threads)", flush=True)
    gen = write_generated(paths)
    cases = [c for c in all_cases(paths, gen) if not args.only or
             any(part in c.name for part in args.only)]
    records = []
    for number, case in enumerate(cases, 1):
        record = run_case(case, paths)
        records.append(record)
        print(f"[{number}/{len(cases)}] {case.name}: rc {record.rc}, {len(record.files)} "
              f"files, {record.seconds:.1f} s", flush=True)
    total = time.perf_counter() - started
    manifest = {"repo": str(paths.repo), "data": str(paths.data), "environment": versions,
                "seconds": round(total, 1), "cases": [asdict(r) for r in records]}
    (paths.out / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n",
                                      encoding="utf-8")
    print(f"{len(records)} cases in {total:.0f} s; manifest: {paths.out / MANIFEST}")
    return 0


# ---------------------------------------------------------------------------- comparing


@dataclass
class Verdict:
    """One case's comparison: content counts, byte counts, and what differs."""

    name: str
    files: int = 0
    content_same: int = 0
    bytes_same: int = 0
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not self.failures


def compare_text_files(name: str, a: dict, b: dict, verdict: Verdict) -> bool:
    """Text files must match exactly; a CSV that differs is reported with its largest gap."""
    if a.get("text") == b.get("text"):
        return True
    gap = csv_gap(a.get("text", ""), b.get("text", ""))
    detail = f"largest numeric gap {gap:.3g}" if gap is not None else "not the same layout"
    verdict.failures.append(f"{name} text differs ({detail})")
    return False


def csv_gap(a: str, b: str) -> float | None:
    """The largest absolute difference between numeric cells of two same-shaped CSVs."""
    rows_a, rows_b = list(csv.reader(io.StringIO(a))), list(csv.reader(io.StringIO(b)))
    if [len(r) for r in rows_a] != [len(r) for r in rows_b]:
        return None
    gap = 0.0
    for cell_a, cell_b in zip(_cells(rows_a), _cells(rows_b), strict=True):
        if cell_a == cell_b:
            continue
        try:
            gap = max(gap, abs(float(cell_a) - float(cell_b)))
        except ValueError:
            return None
    return gap if math.isfinite(gap) else None


def _cells(rows: Iterable[list[str]]) -> Iterable[str]:
    return (cell for row in rows for cell in row)


def compare_models(name: str, a: dict, b: dict, verdict: Verdict) -> bool:
    """Tensors by name (dtype, shape, bytes) and metadata minus dates."""
    same = True
    ta, tb = a["tensors"], b["tensors"]
    if set(ta) != set(tb):
        verdict.failures.append(f"{name}: tensor names differ ({len(set(ta) ^ set(tb))})")
        same = False
    differing = [k for k in set(ta) & set(tb) if ta[k] != tb[k]]
    if differing:
        verdict.failures.append(f"{name}: {len(differing)} of {len(ta)} tensors differ "
                                f"(e.g. {sorted(differing)[0]})")
        same = False
    keys = sorted(k for k in set(a["metadata"]) | set(b["metadata"])
                  if a["metadata"].get(k) != b["metadata"].get(k))
    if keys:
        verdict.failures.append(f"{name}: metadata differs ({', '.join(keys)})")
        same = False
    return same


def compare_images(name: str, a: dict, b: dict, verdict: Verdict) -> bool:
    if a["pixels"] == b["pixels"]:
        return True
    shapes = f"{a['pixels']['shape']} {a['pixels']['dtype']} vs " \
             f"{b['pixels']['shape']} {b['pixels']['dtype']}"
    verdict.failures.append(f"{name}: pixels differ" + (
        "" if a["pixels"]["shape"] == b["pixels"]["shape"] else f" ({shapes})"))
    return False


COMPARERS: dict[str, Callable[[str, dict, dict, Verdict], bool]] = {
    "image": compare_images, "safetensors": compare_models, "text": compare_text_files}


def compare_file(name: str, a: dict, b: dict, verdict: Verdict) -> None:
    """Content (pixels, tensors, text) decides; a byte-only difference is a note."""
    verdict.files += 1
    same_bytes = a["bytes_sha256"] == b["bytes_sha256"]
    verdict.bytes_same += same_bytes
    if a["kind"] != b["kind"]:
        verdict.failures.append(f"{name}: kind {a['kind']} vs {b['kind']}")
        return
    comparer = COMPARERS.get(a["kind"])
    same = comparer(name, a, b, verdict) if comparer else same_bytes
    if comparer is None and not same:
        verdict.failures.append(f"{name}: bytes differ")
    verdict.content_same += same
    if same and not same_bytes:
        verdict.notes.append(f"{name}: same content, bytes differ{metadata_note(a, b)}")


def metadata_note(a: dict, b: dict) -> str:
    """Which metadata keys explain a byte difference, when the record has any."""
    meta_a, meta_b = a.get("metadata", {}), b.get("metadata", {})
    if a["kind"] == "safetensors":
        dates = sorted(k for k in set(a["metadata_dropped"]) | set(b["metadata_dropped"])
                       if a["metadata_dropped"].get(k) != b["metadata_dropped"].get(k))
        rest = "header key order" if a["canonical_sha256"] == b["canonical_sha256"] \
            else "header layout"
        return f" ({', '.join(dates)} not compared; {rest})" if dates else f" ({rest})"
    keys = sorted(k for k in set(meta_a) | set(meta_b) if meta_a.get(k) != meta_b.get(k))
    return f" (metadata: {', '.join(keys)})" if keys else " (encoding; metadata the same)"


def compare_case(a: dict, b: dict) -> Verdict:
    verdict = Verdict(a["name"])
    if a["argv"] != b["argv"]:
        verdict.failures.append("the commands differ")
    if a["inputs"] != b["inputs"]:
        verdict.failures.append("the inputs differ")
    if a["rc"] != b["rc"]:
        verdict.failures.append(f"rc {a['rc']} vs {b['rc']}")
    if a["stdout_sha256"] != b["stdout_sha256"]:
        verdict.failures.append("stdout differs")
    if a["stderr"] != b["stderr"]:
        verdict.notes.append("stderr differs (not counted)")
    for name in sorted(set(a["files"]) - set(b["files"])):
        verdict.failures.append(f"only in A: {name}")
    for name in sorted(set(b["files"]) - set(a["files"])):
        verdict.failures.append(f"only in B: {name}")
    for name in sorted(set(a["files"]) & set(b["files"])):
        compare_file(name, a["files"][name], b["files"][name], verdict)
    return verdict


def load_manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    if not path.is_file():
        raise SystemExit(f"No {MANIFEST} in {folder}: run 'same_outputs.py run' first.")
    return json.loads(path.read_text(encoding="utf-8"))


def cmd_compare(args: argparse.Namespace) -> int:
    a, b = load_manifest(Path(args.a)), load_manifest(Path(args.b))
    for key in sorted((set(a["environment"]) | set(b["environment"])) - {"app"}):
        if a["environment"].get(key) != b["environment"].get(key):
            print(f"warning: {key} differs: {a['environment'].get(key)} vs "
                  f"{b['environment'].get(key)}")
    cases_a = {c["name"]: c for c in a["cases"]}
    cases_b = {c["name"]: c for c in b["cases"]}
    print(f"A: {args.a} ({a['repo']})\nB: {args.b} ({b['repo']})\n")
    print("| case | files | identical pixels | identical bytes | note |")
    print("| --- | --- | --- | --- | --- |")
    identical = 0
    names = [*cases_a, *(n for n in cases_b if n not in cases_a)]
    for name in names:
        if name not in cases_a or name not in cases_b:
            print(f"| {name} | – | – | – | only in {'B' if name in cases_b else 'A'} |")
            continue
        verdict = compare_case(cases_a[name], cases_b[name])
        identical += verdict.identical
        print(table_row(verdict))
    differ = len(names) - identical
    print(f"\n{len(names)} cases: {identical} identical, {differ} differ")
    return 0 if differ == 0 else 1


def table_row(verdict: Verdict) -> str:
    """One markdown row; 'identical pixels' counts pixels, tensors and text alike."""
    note = "; ".join(verdict.failures + verdict.notes) or "identical"
    mark = "" if verdict.identical else "**DIFFERS** "
    return (f"| {verdict.name} | {verdict.files} | {verdict.content_same}/{verdict.files} | "
            f"{verdict.bytes_same}/{verdict.files} | {mark}{note} |")


# ---------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="mode", required=True)
    run = commands.add_parser("run", help="run every case and write DIR/manifest.json")
    run.add_argument("--repo", default=str(CHECKOUT),
                     help="the checkout whose code runs (default: this script's)")
    run.add_argument("--out", default=str(DEFAULT_OUT),
                     help="output folder, emptied first (default: bench-out/same-outputs)")
    run.add_argument("--data", default=str(DEFAULT_DATA),
                     help="the shared data folder (default: ../shared/data beside this "
                          "script's checkout)")
    run.add_argument("--only", nargs="+", metavar="TEXT",
                     help="only the cases whose name contains one of these")
    run.set_defaults(handler=cmd_run)
    compare = commands.add_parser("compare", help="compare two runs' manifests")
    compare.add_argument("a", metavar="DIR_A")
    compare.add_argument("b", metavar="DIR_B")
    compare.set_defaults(handler=cmd_compare)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
