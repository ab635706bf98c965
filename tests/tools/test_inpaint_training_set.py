"""tools/inpaint_training_set.py: the generator's photos, laid out from a snapshot at a
fixed commit, split so that validation photos are never trained on, with a data card."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def layout():
    spec = importlib.util.spec_from_file_location(
        "inpaint_training_set", ROOT / "tools" / "inpaint_training_set.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def snapshot(folder: Path, count: int) -> tuple[Path, str]:
    """A git repository like a fetched mirror: ``photos/`` of tiny PNGs, one commit."""
    work = folder / "work"
    (work / "photos").mkdir(parents=True)
    for i in range(count):
        pixels = np.full((8, 8, 3), i * 7 % 256, np.uint8)
        cv2.imwrite(str(work / "photos" / f"{i:03d}.png"), pixels)
    (work / "README.md").write_text("not a photo\n")
    git = ["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "photos"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True,
                            text=True).stdout.strip()
    mirror = folder / "mirrors" / "someone+photos"
    mirror.mkdir(parents=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(mirror / "repo")],
                   check=True)
    return folder / "mirrors", commit


def test_photos_are_split_once_and_for_all_and_every_file_is_traced(layout, tmp_path,
                                                                     monkeypatch):
    mirrors, commit = snapshot(tmp_path, 60)
    source = layout.Source("toy", "someone/photos", commit, ("photos",), "CC0", "test photos")
    monkeypatch.setattr(layout, "SOURCES", (source,))
    manifest: list[list[str]] = []
    out = tmp_path / "set"
    counts = layout.lay_out_sources(mirrors, out, manifest)["toy"]

    train = {p.name for p in (out / "train" / "photos" / "toy").iterdir()}
    val = {p.name for p in (out / "val" / "photos" / "toy").iterdir()}
    assert not train & val and len(train | val) == 60  # README.md is not a photo
    assert (counts["train"], counts["val"]) == (len(train), len(val)) and val
    assert {row[2] for row in manifest} == {commit}  # every file names the commit
    # The split is a property of the name: a second layout puts every photo on the same side.
    again = tmp_path / "again"
    layout.lay_out_sources(mirrors, again, [])
    assert {p.name for p in (again / "val" / "photos" / "toy").iterdir()} == val

    card = layout.card({**{"toy": counts}, "horse2zebra": {"train": 0, "val": 0,
                                                           "silhouettes": 0},
                        "scenes": {"train": 0, "val": 0, "silhouettes": 0}}, out)
    assert commit in card and "someone/photos" in card and "CC0" in card
    assert (out / "CARD.md").read_text() == card
