"""SIGTERM while a command works or saves: nothing is written, no temporary file is left,
and the exit code says it was terminated (issue 16, defect 4)."""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from engines import imageio

ROOT = Path(__file__).resolve().parents[2]
cli_main = importlib.import_module("app.cli.main")  # the module; app.cli.main is a function


def photo_with_hole(photo: Path, mask: Path, size: tuple[int, int],
                    hole: tuple[slice, slice], seed: int) -> None:
    """A random photo of ``size`` (h, w) and a mask white over ``hole``."""
    rng = np.random.default_rng(seed)
    Image.fromarray((rng.random((*size, 3)) * 255).astype(np.uint8)).save(photo)
    pixels = np.zeros(size, np.uint8)
    pixels[hole] = 255
    Image.fromarray(pixels).save(mask)


def test_sigterm_during_the_save_leaves_no_temporary_file(tmp_path, monkeypatch, capsys):
    photo, mask = tmp_path / "photo.png", tmp_path / "mask.png"
    photo_with_hole(photo, mask, (60, 80), (slice(20, 40), slice(30, 50)), seed=1)
    real_encode = imageio._encode

    def terminated_mid_write(out, *args):
        real_encode(out, *args)
        os.kill(os.getpid(), signal.SIGTERM)  # as a logout would, while the file is open

    monkeypatch.setattr(imageio, "_encode", terminated_mid_write)
    before = sorted(p.name for p in tmp_path.iterdir())
    code = cli_main.main(["remove", str(photo), "--mask", str(mask), "-o",
                          str(tmp_path / "out.png"), "--engine", "patchmatch"])
    assert code == 128 + signal.SIGTERM
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no out.png, no .tmp
    assert "nothing was written" in capsys.readouterr().err.lower()
    assert signal.getsignal(signal.SIGTERM) is not cli_main._on_sigterm  # handler restored


def test_sigterm_during_the_fill_stops_the_process_cleanly(tmp_path):
    photo, mask = tmp_path / "big.png", tmp_path / "mask.png"
    photo_with_hole(photo, mask, (1500, 2000), (slice(400, 1100), slice(600, 1400)), seed=2)
    env = dict(os.environ, PYTHONPATH=str(ROOT), TRANSFIGURE_DEVICE="cpu")
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "remove", str(photo), "--mask", str(mask), "-o",
         str(tmp_path / "out.png"), "--engine", "patchmatch"],
        cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    time.sleep(3.0)  # into the fill
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.png", "mask.png"]
    assert "nothing was written" in err.lower() and "Traceback" not in err
