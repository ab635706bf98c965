"""The batch's parts: what INPUT names, masks found by stem, cancel between photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engines.base import Cancelled, CancelToken, InvalidInput
from engines.batch.jobs import collect_photos, plan_jobs
from engines.batch.pool import run_batch
from engines.batch.work import Options


@pytest.fixture
def folder(tmp_path) -> Path:
    shoot = tmp_path / "shoot"
    (shoot / "day2").mkdir(parents=True)
    rng = np.random.default_rng(1)
    for name in ("a.png", "b.jpg", "day2/c.png", "notes.txt"):
        path = shoot / name
        if name.endswith(".txt"):
            path.write_text("not a photo")
        else:
            Image.fromarray((rng.random((30, 40, 3)) * 255).astype(np.uint8)).save(path)
    return shoot


def test_input_is_a_folder_a_glob_or_a_list(folder, tmp_path):
    assert [p.name for p in collect_photos(folder)] == ["a.png", "b.jpg", "c.png"]
    assert [p.name for p in collect_photos(f"{folder}/*.png")] == ["a.png"]
    listing = tmp_path / "list.txt"
    listing.write_text("# the keepers\nshoot/b.jpg\n\nshoot/day2/c.png\n")
    assert [p.name for p in collect_photos(listing)] == ["b.jpg", "c.png"]
    with pytest.raises(InvalidInput, match="No photos found"):
        collect_photos(f"{folder}/*.tif")


def test_masks_by_stem_keep_subfolders_and_say_what_is_missing(folder, tmp_path):
    masks = tmp_path / "masks"
    masks.mkdir()
    for name in ("a_mask.png", "c-mask.png"):
        Image.fromarray(np.zeros((30, 40), np.uint8)).save(masks / name)
    jobs = {job.photo.name: job for job in plan_jobs(collect_photos(folder), tmp_path / "out",
                                                     {"mask": masks})}
    assert jobs["a.png"].sides["mask"].name == "a_mask.png"
    assert jobs["c.png"].output == tmp_path / "out" / "day2" / "c.png"
    assert "no mask for b.jpg" in jobs["b.jpg"].problem


def test_cancel_stops_between_photos_and_leaves_no_partial_file(folder, tmp_path):
    mask = tmp_path / "mask.png"
    hole = np.zeros((30, 40), np.uint8)
    hole[10:20, 10:30] = 255
    Image.fromarray(hole).save(mask)
    out = tmp_path / "out"
    jobs = plan_jobs(collect_photos(folder), out, {"mask": mask})
    token = CancelToken()
    seen = []

    def first_then_stop(outcome) -> None:
        seen.append(outcome)
        token.cancel()

    with pytest.raises(Cancelled):
        run_batch(jobs, Options("remove"), 1, first_then_stop, token)
    assert [o.status for o in seen] == ["done"]
    written = [p for p in out.rglob("*") if p.is_file()]
    assert [p.name for p in written] == ["a.png"]  # one whole result, nothing half-written
