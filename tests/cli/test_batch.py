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
from tests.photo_folders import write_photo_and_hole


@pytest.fixture
def shoot(tmp_path) -> tuple[Path, Path]:
    photos, masks = tmp_path / "shoot", tmp_path / "masks"
    photos.mkdir()
    masks.mkdir()
    rng = np.random.default_rng(4)
    for i in range(3):
        write_photo_and_hole(photos / f"img{i}.png", masks / f"img{i}_mask.png", (48, 64),
                             np.s_[12 + i: 28 + i, 20:40], rng)
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


def test_a_composite_batch_pastes_what_the_single_command_pastes(shoot, tmp_path, capsys):
    """One guide for every photo (a product shot into a set of backgrounds); a photo
    whose guide box would fall outside its guide is refused with the box and size."""
    photos, _ = shoot
    guide = np.full((40, 40, 3), 200, np.uint8)
    guide[10:30, 12:28] = (30, 90, 210)  # the object: a blue card on grey
    Image.fromarray(guide).save(tmp_path / "guide.png")
    object_mask = np.zeros((40, 40), np.uint8)
    object_mask[10:30, 12:28] = 255
    Image.fromarray(object_mask).save(tmp_path / "card.png")
    out = tmp_path / "out"
    options = ["--box", "8,6,24,28", "--at", "20,10", "--guide-mask", str(tmp_path / "card.png")]
    assert main(["batch", "composite", str(photos), "--guide", str(tmp_path / "guide.png"),
                 "-o", str(out), "--workers", "1", *options]) == 0
    for photo in sorted(photos.glob("*.png")):
        single = tmp_path / f"single-{photo.name}"
        assert main(["composite", str(photo), str(tmp_path / "guide.png"), "-o", str(single),
                     *options[:4], "--mask", options[5]]) == 0
        batch, alone = np.asarray(Image.open(out / photo.name)), np.asarray(Image.open(single))
        assert np.array_equal(batch, alone)
        before = np.asarray(Image.open(photo))
        assert not np.array_equal(batch[16:36, 24:40], before[16:36, 24:40])  # card pasted
        assert np.array_equal(batch[:, :16], before[:, :16])  # far from it: untouched
    report = tmp_path / "report.csv"
    code = main(["batch", "composite", str(photos), "--guide", str(tmp_path / "guide.png"),
                 "-o", str(tmp_path / "out2"), "--workers", "1", "--box", "30,30,20,20",
                 "--at", "0,0", "--report", str(report)])
    assert code == 1
    assert "not inside the 40×40 guide photo" in report.read_text(encoding="utf-8")
    assert not (tmp_path / "out2" / "img0.png").exists()


def test_a_photo_too_big_for_the_memory_limit_fails_alone(shoot, tmp_path, capsys):
    """--memory bounds each worker: the worker that outgrows it on a 9 MP photo with a
    huge hole ends, that photo is reported with the limit, and the others are done."""
    photos, masks = shoot
    ramp = np.linspace(0, 255, 3000, dtype=np.float32)
    big = np.stack([np.add.outer(ramp, ramp) / 2, np.add.outer(ramp, -ramp) / 2 + 128,
                    np.tile(ramp, (3000, 1))], axis=2).clip(0, 255).astype(np.uint8)
    Image.fromarray(big).save(photos / "big.png", compress_level=1)
    hole = np.zeros((3000, 3000), np.uint8)
    hole[600:2400, 600:2400] = 255
    Image.fromarray(hole).save(masks / "big.png")
    report = tmp_path / "report.json"
    code = main(["batch", "remove", str(photos), "--masks", str(masks), "-o",
                 str(tmp_path / "out"), "--workers", "1", "--memory", "0.9",
                 "--report", str(report)])
    assert code == 1
    rows = {Path(r["photo"]).name: r for r in json.loads(report.read_text())["photos"]}
    assert rows["big.png"]["status"] == "failed"
    assert "0.9 GB a worker may use" in rows["big.png"]["reason"]
    assert all(rows[f"img{i}.png"]["status"] == "done" for i in range(3))
    peaks = [rows[f"img{i}.png"]["peak_mb"] for i in range(3)]
    assert all(0 < peak < 0.9 * 1024 for peak in peaks), peaks
    assert not (tmp_path / "out" / "big.png").exists()
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]
    assert "Peak memory per worker" in capsys.readouterr().err


def test_a_killed_batch_resumed_equals_a_clean_run(shoot, tmp_path):
    """kill -9 of the command and its workers mid-batch, then the same command again:
    no partial or temp file at any point, and every output equals a clean run's."""
    import os
    import signal
    import subprocess
    import sys
    import time

    photos, masks = shoot
    for i in range(3, 10):
        write_photo_and_hole(photos / f"img{i}.png", masks / f"img{i}.png", (240, 320),
                             np.s_[60:180, 100:220], np.random.default_rng(i))
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    assert main(["batch", "remove", str(photos), "--masks", str(masks), "-o", str(clean),
                 "--workers", "1"]) == 0
    command = [sys.executable, "-m", "app", "batch", "remove", str(photos), "--masks",
               str(masks), "-o", str(killed), "--workers", "2"]
    run = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while run.poll() is None and time.monotonic() < deadline and not (
            killed.exists() and any(p.suffix == ".png" for p in killed.iterdir())):
        time.sleep(0.05)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    left = sorted(p.name for p in killed.iterdir())
    assert len([n for n in left if n.endswith(".png")]) < 10  # stopped part-way
    assert not [n for n in left if n.startswith(".")]  # no temp file survives a kill
    assert main(["batch", "remove", str(photos), "--masks", str(masks), "-o", str(killed),
                 "--workers", "2"]) == 0
    for result in sorted(clean.iterdir()):
        assert (killed / result.name).read_bytes() == result.read_bytes(), result.name
