"""What a batch works on: the photos a user names, each with its side inputs and output.

INPUT is a folder (searched recursively), a glob pattern or a text file listing one
photo per line. A side input (the mask of a Remove) is one file for every photo, or a
folder in which each photo's own is found by its stem (``beach.jpg`` ← ``beach.png``,
``beach_mask.png`` or ``beach-mask.png``). Outputs go to one folder under the input's
name and format (PNG for the formats Transfigure reads but does not write: HEIC, BMP,
GIF ...), so a batch writes the files a user expects; inputs from subfolders keep them.
"""

from __future__ import annotations

import glob
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from engines.base import InvalidInput
from engines.imageio import SUPPORTED_LOAD_EXTENSIONS, SUPPORTED_SAVE_EXTENSIONS

SIDE_SUFFIXES = ("", "_mask", "-mask", ".mask")


@dataclass(frozen=True)
class Job:
    """One photo to process: where it is, its side inputs, where the result goes.

    ``problem`` is set when the job cannot be run at all (no mask found for it); the
    batch reports it as failed with that sentence and goes on.
    """

    photo: Path
    output: Path
    sides: Mapping[str, Path] = field(default_factory=dict)
    problem: str = ""


def collect_photos(spec: str | Path) -> list[Path]:
    """The photos INPUT names, in name order; refuses an INPUT that names none."""
    text = str(spec)
    path = Path(text)
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.is_file()
                       and p.suffix.lower() in SUPPORTED_LOAD_EXTENSIONS)
    elif path.is_file() and path.suffix.lower() in (".txt", ".lst"):
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        found = [(path.parent / line.strip()) if not Path(line.strip()).is_absolute()
                 else Path(line.strip()) for line in lines if line.strip()
                 and not line.lstrip().startswith("#")]
    elif path.is_file():
        found = [path]
    elif any(c in text for c in "*?["):
        found = sorted(Path(p) for p in glob.glob(text, recursive=True)
                       if Path(p).is_file())
    else:
        raise InvalidInput(f"Could not find {text}: give a folder, a glob such as "
                           "'shoot/*.jpg' or a text file listing the photos.")
    if not found:
        raise InvalidInput(f"No photos found in {text} (looked for "
                           f"{', '.join(SUPPORTED_LOAD_EXTENSIONS[:6])}, …).")
    return found


def plan_jobs(photos: Sequence[Path], out_dir: Path,
              sides: Mapping[str, Path] | None = None) -> list[Job]:
    """One job per photo; side inputs matched by stem, or one file for all."""
    sides = dict(sides or {})
    for label, where in sides.items():
        if not where.exists():
            raise InvalidInput(f"Could not find the {label} {where}.")
    root = _common_root(photos)
    indexes = {label: _side_index(where) for label, where in sides.items() if where.is_dir()}
    jobs = []
    for photo in photos:
        try:
            relative = photo.resolve().relative_to(root)
        except ValueError:
            relative = Path(photo.name)
        found: dict[str, Path] = {}
        problem = ""
        for label, where in sides.items():
            match = indexes[label].get(photo.stem) if label in indexes else where
            if match is None:
                problem = (f"no {label} for {photo.name} in {where} (looked for "
                           f"{photo.stem}.png, {photo.stem}_mask.png, …)")
            else:
                found[label] = match
        output = out_dir / relative
        if output.suffix.lower() not in SUPPORTED_SAVE_EXTENSIONS:  # HEIC, BMP, GIF ...
            output = output.with_suffix(".png")
        jobs.append(Job(photo, output, found, problem))
    return jobs


def _common_root(photos: Sequence[Path]) -> Path:
    parents = [p.resolve().parent for p in photos]
    common = parents[0]
    for parent in parents[1:]:
        while not parent.is_relative_to(common):
            common = common.parent
    return common


def _side_index(folder: Path) -> dict[str, Path]:
    """Photo stem → its side file in ``folder``, listed once for the whole batch (not a
    dozen existence checks per photo). Where several would do, the plainest name wins
    (``beach.png`` before ``beach_mask.png``), then the earlier extension in
    SUPPORTED_LOAD_EXTENSIONS."""
    rank = {extension: i for i, extension in enumerate(SUPPORTED_LOAD_EXTENSIONS)}
    chosen: dict[str, tuple[tuple[int, int], Path]] = {}
    for path in folder.iterdir():
        if path.suffix not in rank or not path.is_file():
            continue
        name = path.name[: -len(path.suffix)]
        for order, suffix in enumerate(SIDE_SUFFIXES):
            if suffix and not name.endswith(suffix):
                continue
            stem = name[: len(name) - len(suffix)]
            key = (order, rank[path.suffix])
            if stem not in chosen or key < chosen[stem][0]:
                chosen[stem] = (key, path)
    return {stem: path for stem, (_, path) in chosen.items()}


def prepare_batch(input_spec: str, out_dir: Path,
                  sides: Mapping[str, Path] | None = None) -> list[Job]:
    """The jobs of a batch, its output folder made; refused (before any work) when the
    output folder is a file or holds the photos themselves (a result could replace a
    photo). Shared by the command line and the window's Batch dialog."""
    if out_dir.exists() and not out_dir.is_dir():
        raise InvalidInput(f"{out_dir} is a file; give a folder for the results.")
    photos = collect_photos(input_spec)
    out_folder = out_dir.resolve()
    if any(p.resolve().parent == out_folder for p in photos):
        raise InvalidInput(f"{out_dir} holds the photos themselves; give another folder, "
                           "so that no result can replace a photo.")
    jobs = plan_jobs(photos, out_dir, sides)
    out_dir.mkdir(parents=True, exist_ok=True)
    return jobs
