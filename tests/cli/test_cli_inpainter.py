"""``transfigure train-inpainter`` and ``remove --engine guided|generator --model``, with
toy models the test trains or makes (no downloads, no shipped weights needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.__main__ import main
from tests.unit.conftest import noise_texture

torch = pytest.importorskip("torch")


@pytest.fixture
def photos(tmp_path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(4):
        pixels = (noise_texture(72, 80, i, (0.3, 0.4 + 0.1 * i, 0.5)) * 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"p{i}.png")
    return folder


@pytest.fixture
def photo_and_mask(tmp_path) -> tuple[Path, Path, np.ndarray, np.ndarray]:
    pixels = (noise_texture(90, 120, 7, (0.5, 0.4, 0.3)) * 255).astype(np.uint8)
    mask = np.zeros((90, 120), bool)
    mask[30:60, 40:80] = True
    pixels[mask] = (255, 0, 255)
    Image.fromarray(pixels).save(tmp_path / "photo.png")
    Image.fromarray(np.where(mask, 255, 0).astype(np.uint8)).save(tmp_path / "mask.png")
    return tmp_path / "photo.png", tmp_path / "mask.png", pixels, mask


def test_a_model_trained_on_the_command_line_fills_a_hole(photos, photo_and_mask, tmp_path,
                                                           capsys):
    model = tmp_path / "mine.safetensors"
    card = tmp_path / "CARD.md"
    card.write_text("# My photos\n\nFrom my own camera; all rights mine.\n", encoding="utf-8")
    code = main(["train-inpainter", str(photos), "-o", str(model), "--steps", "3", "1",
                 "--size", "64", "--batch", "2", "--width", "4", "--data-card", str(card)])
    assert code == 0 and model.is_file()
    said = capsys.readouterr().err  # not a terminal: no bar, but the run still ends saying so
    assert f"Done; the model is in {model}" in said
    from engines.remove.generator.model_file import read_info

    info = read_info(model)
    assert "own camera" in info.extra["data_card"]  # the card travels with the model
    assert info.extra["iterations"] == {"head": 3, "block 1": 1}
    photo, mask_path, pixels, mask = photo_and_mask
    for engine in ("generator", "guided"):
        out = tmp_path / f"{engine}.png"
        code = main(["remove", str(photo), "--mask", str(mask_path), "-o", str(out),
                     "--engine", engine, "--model", str(model)])
        assert code == 0
        result = np.asarray(Image.open(out))
        assert np.array_equal(result[~mask], pixels[~mask])  # outside: the photo's own
        magenta = np.all(np.abs(result[mask].astype(int) - (255, 0, 255)) < 30, axis=1)
        assert magenta.mean() < 0.05


def test_training_again_without_resume_refuses_to_replace_the_model(photos, tmp_path, capsys):
    model = tmp_path / "mine.safetensors"
    args = ["train-inpainter", str(photos), "-o", str(model), "--steps", "2", "0",
            "--size", "64", "--batch", "1", "--width", "4"]
    assert main(args) == 0
    before = model.read_bytes()
    capsys.readouterr()
    assert main(args) != 0
    assert "--resume" in capsys.readouterr().err
    assert model.read_bytes() == before


def test_a_wrong_model_fails_before_the_photo_is_read_and_writes_nothing(photo_and_mask,
                                                                         tmp_path, capsys):
    photo, mask_path, _, _ = photo_and_mask
    out = tmp_path / "out.png"
    code = main(["remove", str(photo), "--mask", str(mask_path), "-o", str(out),
                 "--engine", "guided", "--model", str(tmp_path / "typo.safetensors")])
    assert code != 0 and not out.exists()
    error = capsys.readouterr().err
    assert "typo.safetensors does not exist" in error and "train-inpainter" in error
