"""No input of any command may become an output, with or without --overwrite, and no two
outputs of one command may name the same file (issue 16, defects 1 and 2). Each case is
refused before any work: exit code 1, one sentence, every file byte-identical."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.__main__ import main


@pytest.fixture
def files(tmp_path) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    made = {}
    for name in ("photo", "guide", "second", "composite"):
        made[name] = tmp_path / f"{name}.png"
        Image.fromarray((rng.random((40, 50, 3)) * 255).astype(np.uint8)).save(made[name])
    for name in ("mask", "avoid"):
        made[name] = tmp_path / f"{name}.png"
        pixels = np.zeros((40, 50), np.uint8)
        pixels[10:20, 10:30] = 255
        Image.fromarray(pixels).save(made[name])
    return made


def run_refused(args: list[str], files: dict[str, Path], capsys) -> str:
    before = {name: path.read_bytes() for name, path in files.items()}
    capsys.readouterr()
    code = main(args)
    error = capsys.readouterr().err.strip()
    assert code == 1
    assert all(files[name].read_bytes() == data for name, data in before.items())
    assert "\n" not in error and "Error" not in error.split(":", 1)[-1]  # one plain sentence
    return error


@pytest.mark.parametrize("output", ["mask", "avoid"])
def test_remove_never_writes_over_its_masks(files, capsys, output):
    f = files
    error = run_refused(["remove", str(f["photo"]), "--mask", str(f["mask"]), "--avoid",
                         str(f["avoid"]), "-o", str(f[output]), "--overwrite"], f, capsys)
    assert f"would replace the input {output}.png" in error


@pytest.mark.parametrize("output", ["guide", "mask"])
def test_composite_never_writes_over_its_guide_or_mask(files, capsys, output):
    f = files
    error = run_refused(["composite", str(f["photo"]), str(f["guide"]), "--box", "0,0,20,20",
                         "--at", "10,10", "--mask", str(f["mask"]), "-o", str(f[output]),
                         "--overwrite"], f, capsys)
    assert f"would replace the input {output}.png" in error


def test_harmonize_never_writes_over_its_mask(files, capsys):
    f = files
    error = run_refused(["harmonize", str(f["composite"]), "--mask", str(f["mask"]), "-o",
                         str(f["mask"]), "--overwrite"], f, capsys)
    assert "would replace the input mask.png" in error


def test_expression_never_writes_over_the_second_portrait(files, capsys):
    f = files
    error = run_refused(["expression", str(f["photo"]), str(f["second"]), "-o",
                         str(f["second"]), "--overwrite"], f, capsys)
    assert "would replace the input second.png" in error


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
@pytest.mark.parametrize("side", ["--save-attention", "--save-initial"])
def test_translate_outputs_need_their_own_names(files, capsys, tmp_path, overwrite, side):
    f = files
    out = tmp_path / "z.png"
    error = run_refused(["translate", str(f["photo"]), "-o", str(out), side, str(out),
                         *overwrite], f, capsys)
    assert f"also given as {side}" in error
    assert not out.exists()  # refused before anything was written


def test_translate_side_outputs_need_names_of_their_own_too(files, capsys, tmp_path):
    f = files
    side = tmp_path / "side.png"
    error = run_refused(["translate", str(f["photo"]), "-o", str(tmp_path / "out.png"),
                         "--save-attention", str(side), "--save-initial", str(side)],
                        f, capsys)
    assert "also given as --save-initial" in error
    assert not side.exists()
