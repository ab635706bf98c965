"""``transfigure batch remove``: the same pixels as the single-photo command, a bad
photo reported and skipped, a resumed batch that redoes nothing, and refusals that
come before any work."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.__main__ import main


@pytest.fixture
def shoot(tmp_path) -> tuple[Path, Path]:
    photos, masks = tmp_path / "shoot", tmp_path / "masks"
    photos.mkdir()
    masks.mkdir()
    rng = np.random.default_rng(4)
    for i in range(3):
        pixels = (rng.random((48, 64, 3)) * 255).astype(np.uint8)
        Image.fromarray(pixels).save(photos / f"img{i}.png")
        hole = np.zeros((48, 64), np.uint8)
        hole[12 + i: 28 + i, 20:40] = 255
        Image.fromarray(hole).save(masks / f"img{i}_mask.png")
    return photos, masks


def test_a_batch_writes_what_the_single_photo_command_writes(shoot, tmp_path, capsys):
    photos, masks = shoot
    out = tmp_path / "out"
    assert main(["batch", "remove", str(photos), "--masks", str(masks), "-o", str(out),
                 "--workers", "1"]) == 0
    for photo in sorted(photos.glob("*.png")):
        single = tmp_path / f"single-{photo.name}"
        assert main(["remove", str(photo), "--mask", str(masks / f"{photo.stem}_mask.png"),
                     "-o", str(single)]) == 0
        assert np.array_equal(np.asarray(Image.open(out / photo.name)),
                              np.asarray(Image.open(single)))
    assert "3 done" in capsys.readouterr().err


def test_a_bad_photo_is_reported_and_the_batch_goes_on(shoot, tmp_path, capsys):
    photos, masks = shoot
    (photos / "broken.png").write_bytes(b"not a photo at all")
    Image.fromarray(np.full((48, 64), 255, np.uint8)).save(masks / "broken.png")
    report = tmp_path / "report.json"
    out = tmp_path / "out"
    code = main(["batch", "remove", str(photos), "--masks", str(masks), "-o", str(out),
                 "--workers", "1", "--report", str(report)])
    assert code == 1  # something failed: a script can tell
    rows = {Path(r["photo"]).name: r for r in json.loads(report.read_text())["photos"]}
    assert rows["broken.png"]["status"] == "failed"
    assert "damaged or not an image" in rows["broken.png"]["reason"]
    assert all(rows[f"img{i}.png"]["status"] == "done" for i in range(3))
    assert sorted(p.name for p in out.iterdir()) == ["img0.png", "img1.png", "img2.png"]
    assert "failed: broken.png" in capsys.readouterr().err


def test_running_the_same_command_again_resumes(shoot, tmp_path, capsys):
    photos, masks = shoot
    out = tmp_path / "out"
    args = ["batch", "remove", str(photos), "--masks", str(masks), "-o", str(out),
            "--workers", "1"]
    assert main(args) == 0
    kept = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.iterdir()}
    (out / "img1.png").unlink()  # as if the batch had been stopped before it
    capsys.readouterr()
    assert main(args) == 0
    said = capsys.readouterr().err
    assert "1 done" in said and "2 skipped" in said
    for name, (data, mtime) in kept.items():
        if name != "img1.png":
            assert (out / name).stat().st_mtime_ns == mtime  # not rewritten
        assert (out / name).read_bytes() == data


def test_two_workers_give_the_same_pixels(shoot, tmp_path):
    photos, masks = shoot
    one, two = tmp_path / "one", tmp_path / "two"
    for out, workers in ((one, "1"), (two, "2")):
        assert main(["batch", "remove", str(photos), "--masks", str(masks), "-o", str(out),
                     "--workers", workers]) == 0
    for name in ("img0.png", "img1.png", "img2.png"):
        assert (one / name).read_bytes() == (two / name).read_bytes()


@pytest.mark.parametrize("where, words", [("input", "holds the photos themselves"),
                                          ("report", "use .csv or .json")])
def test_refusals_come_before_any_work(shoot, tmp_path, capsys, where, words):
    photos, masks = shoot
    out = photos if where == "input" else tmp_path / "out"
    extra = ["--report", str(tmp_path / "r.txt")] if where == "report" else []
    before = sorted(p.name for p in photos.iterdir())
    assert main(["batch", "remove", str(photos), "--masks", str(masks), "-o", str(out),
                 *extra]) == 1
    assert words in capsys.readouterr().err
    assert sorted(p.name for p in photos.iterdir()) == before
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("operation", ["harmonize", "translate"])
def test_other_operations_write_what_their_commands_write(shoot, tmp_path, operation):
    photos, masks = shoot
    out = tmp_path / "out"
    side = ["--masks", str(masks)] if operation == "harmonize" else []
    assert main(["batch", operation, str(photos), *side, "-o", str(out), "--workers", "1"]) == 0
    photo = photos / "img0.png"
    single = tmp_path / "single.png"
    extra = ["--mask", str(masks / "img0_mask.png")] if operation == "harmonize" else []
    assert main([operation, str(photo), *extra, "-o", str(single)]) == 0
    assert np.array_equal(np.asarray(Image.open(out / "img0.png")),
                          np.asarray(Image.open(single)))


def test_ray_runs_the_same_batch_with_the_same_pixels(shoot, tmp_path):
    """A local Ray cluster (2 CPUs on 127.0.0.1), the same per-photo function."""
    pytest.importorskip("ray", reason="the ray extra is installed by make test")
    photos, masks = shoot
    local, on_ray = tmp_path / "local", tmp_path / "ray"
    assert main(["batch", "remove", str(photos), "--masks", str(masks), "-o", str(local),
                 "--workers", "1"]) == 0
    assert main(["batch", "remove", str(photos), "--masks", str(masks), "-o", str(on_ray),
                 "--workers", "2", "--ray"]) == 0
    for name in ("img0.png", "img1.png", "img2.png"):
        assert (local / name).read_bytes() == (on_ray / name).read_bytes()


def test_without_ray_the_option_says_how_to_install_it(shoot, tmp_path, capsys, monkeypatch):
    import sys

    photos, masks = shoot
    monkeypatch.setitem(sys.modules, "ray", None)  # as if it were not installed
    code = main(["batch", "remove", str(photos), "--masks", str(masks), "-o",
                 str(tmp_path / "out"), "--ray"])
    assert code == 1
    assert "pip install 'transfigure[ray]'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
