"""Valid photos are never called damaged (issue 16, defect 6): a HEIC photo (iPhones) and
a 32-bit floating-point colour TIFF open, edit and save; what they cannot keep is said."""

from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest
from PIL import Image

from app.__main__ import main
from engines.base import InvalidInput
from engines.imageio import load_image


def smooth_photo(h: int = 48, w: int = 64) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.dstack([x / w, y / h, 0.5 + 0.3 * np.sin(x / 5)]).astype(np.float32)


@pytest.fixture
def heic(tmp_path):
    import pillow_heif

    pillow_heif.register_heif_opener()
    path = tmp_path / "phone.heic"
    Image.fromarray(np.rint(smooth_photo() * 255).astype(np.uint8)).save(path, quality=95)
    return path


@pytest.fixture
def mask(tmp_path):
    path = tmp_path / "mask.png"
    pixels = np.zeros((48, 64), np.uint8)
    pixels[15:30, 20:40] = 255
    Image.fromarray(pixels).save(path)
    return path


def test_a_heic_photo_opens_with_its_pixels(heic):
    loaded = load_image(heic)
    assert loaded.pixels.shape == (48, 64, 3)
    assert np.abs(loaded.pixels - smooth_photo()).mean() < 0.03  # a lossy codec, same picture


def test_remove_on_a_heic_photo_saves_a_png(heic, mask, tmp_path, capsys):
    out = tmp_path / "clean.png"
    before = heic.read_bytes()
    assert main(["remove", str(heic), "--mask", str(mask), "-o", str(out)]) == 0
    result = np.asarray(Image.open(out)).astype(np.float32) / 255
    source = load_image(heic).pixels
    keep = np.asarray(Image.open(mask)) == 0
    assert np.abs(result[keep] - source[keep]).max() <= 1 / 255 + 1e-6  # only the hole moved
    assert heic.read_bytes() == before


def test_without_pillow_heif_a_heic_photo_names_the_package(heic, monkeypatch):
    monkeypatch.setitem(sys.modules, "pillow_heif", None)  # import fails as if not installed
    with pytest.raises(InvalidInput) as caught:
        load_image(heic)
    assert "HEIC" in caught.value.message and "pip install pillow-heif" in caught.value.message
    assert "damaged" not in caught.value.message


def test_a_float_colour_tiff_opens_at_sixteen_bits_and_says_so(tmp_path):
    values = smooth_photo()
    path = tmp_path / "scan.tif"
    cv2.imwrite(str(path), values[..., ::-1].copy())
    loaded = load_image(path)
    assert loaded.bit_depth == 16
    assert np.abs(loaded.pixels - values).max() < 1e-6
    assert "floating-point" in loaded.notes[0] and "clipped" not in loaded.notes[0]


def test_float_highlights_beyond_white_are_clipped_with_a_word(tmp_path):
    values = smooth_photo()
    values[0, 0] = 3.0
    path = tmp_path / "hdr.tif"
    cv2.imwrite(str(path), values[..., ::-1].copy())
    loaded = load_image(path)
    assert loaded.pixels.max() == 1.0 and "clipped" in loaded.notes[0]


def test_a_float_tiff_through_the_command_keeps_sixteen_bits(tmp_path, mask, capsys):
    path = tmp_path / "scan.tif"
    cv2.imwrite(str(path), smooth_photo()[..., ::-1].copy())
    out = tmp_path / "clean.tif"
    assert main(["remove", str(path), "--mask", str(mask), "-o", str(out)]) == 0
    assert "floating-point" in capsys.readouterr().err
    assert cv2.imread(str(out), cv2.IMREAD_UNCHANGED).dtype == np.uint16

