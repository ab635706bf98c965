"""``transfigure translate`` and ``transfigure train-translate`` with tiny models the test makes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.__main__ import main

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")


def tiny_model(path: Path, attention_bias: float | None = None) -> Path:
    from engines.translate.model_file import save_model
    from engines.translate.networks import Widths, build_attention, build_translator

    widths = Widths(4, 1, 4, 4)
    torch.manual_seed(0)
    translator, attention = build_translator(widths), build_attention(widths)
    if attention_bias is not None:
        with torch.no_grad():
            attention.head.weight.zero_()
            attention.head.bias.fill_(attention_bias)
    return save_model(translator, attention, path, widths, {
        "source": "horse", "target": "zebra", "resolution": 32, "vgg_warm_start": False,
    })


@pytest.fixture
def photo(tmp_path) -> tuple[Path, np.ndarray]:
    pixels = (np.random.default_rng(0).random((70, 90, 3)) * 255).astype(np.uint8)
    path = tmp_path / "photo.png"
    Image.fromarray(pixels).save(path)
    return path, pixels


def test_translate_round_trip_writes_result_attention_and_initial(photo, tmp_path):
    path, pixels = photo
    model = tiny_model(tmp_path / "tiny.safetensors")
    out, attn, initial = tmp_path / "out.png", tmp_path / "a.png", tmp_path / "g0.png"
    code = main(["translate", str(path), "-o", str(out), "--model", str(model),
                 "--save-attention", str(attn), "--save-initial", str(initial)])
    assert code == 0
    result = np.asarray(Image.open(out))
    assert result.shape == pixels.shape
    assert np.asarray(Image.open(attn)).shape[:2] == pixels.shape[:2]
    assert np.asarray(Image.open(initial)).shape == pixels.shape
    # Every pixel is between the photo and G0's translation, as A·G0 + (1 − A)·x must be.
    g0 = np.asarray(Image.open(initial)).astype(int)
    low, high = np.minimum(pixels, g0) - 1, np.maximum(pixels, g0) + 1
    assert ((result >= low) & (result <= high)).all()


def test_zero_attention_writes_the_photo_back_bit_for_bit(photo, tmp_path):
    path, pixels = photo
    model = tiny_model(tmp_path / "off.safetensors", attention_bias=-30.0)
    out = tmp_path / "out.png"
    assert main(["translate", str(path), "-o", str(out), "--model", str(model), "--tile"]) == 0
    assert np.array_equal(np.asarray(Image.open(out)), pixels)


def test_a_bad_model_is_one_clear_line(photo, tmp_path, capsys):
    path, _ = photo
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"nonsense" * 20)
    code = main(["translate", str(path), "-o", str(tmp_path / "o.png"), "--model", str(bad)])
    assert code != 0
    err = capsys.readouterr().err
    assert "could not be read" in err and "Traceback" not in err
    assert not (tmp_path / "o.png").exists()
    code = main(["translate", str(path), "-o", str(tmp_path / "o.png"), "--model", "nope"])
    assert code != 0 and "No translation model named 'nope'" in capsys.readouterr().err


def test_train_translate_writes_a_model_the_translate_command_uses(photo, tmp_path):
    rng = np.random.default_rng(1)
    for domain, colour in (("a", (200, 60, 40)), ("b", (40, 60, 200))):
        folder = tmp_path / domain
        folder.mkdir()
        for i in range(3):
            pixels = (rng.random((40, 40, 3)) * 80).astype(np.uint8)
            pixels[10:30, 10:30] = colour
            Image.fromarray(pixels).save(folder / f"{i}.png")
    model = tmp_path / "toy.safetensors"
    args = ["train-translate", "--a", str(tmp_path / "a"), "--b", str(tmp_path / "b"),
            "--out", str(model), "--steps-per-stage", "2", "1", "1", "--size", "32",
            "--widths", "4,4,4", "--name-a", "red", "--name-b", "blue", "--device", "cpu"]
    assert main(args) == 0
    from engines.translate.model_file import read_info

    info = read_info(model)
    assert (info.source, info.target) == ("red", "blue")
    assert info.iterations == {"translator": 2, "attention": 1, "joint": 1}
    assert main(args) != 0  # exists: refuses without --resume
    args[args.index("--steps-per-stage") + 3] = "2"  # a longer joint stage
    assert main([*args, "--resume"]) == 0
    assert read_info(model).iterations == {"translator": 2, "attention": 1, "joint": 2}
    path, _ = photo
    out = tmp_path / "out.png"
    assert main(["translate", str(path), "-o", str(out), "--model", str(model)]) == 0
    assert out.is_file()
