"""engines.imageio: every kind of file a user may open, and saves that never lose data.

All images are made here in tmp_path.
"""

from __future__ import annotations

import errno
import os
import struct
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageCms, ImageFile, ImageOps

from engines import imageio
from engines.base import InvalidInput
from engines.imageio import (
    SUPPORTED_LOAD_EXTENSIONS,
    SUPPORTED_SAVE_EXTENSIONS,
    load_image,
    load_mask,
    save_image,
    to_uint,
)

RNG = np.random.default_rng(1234)
SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _exif(orientation: int | None = None, make: str = "Transfigure test camera") -> bytes:
    exif = Image.Exif()
    exif[0x010F] = make
    if orientation is not None:
        exif[0x0112] = orientation
    return exif.tobytes()


def _random_u8(h: int, w: int, c: int = 3) -> np.ndarray:
    return RNG.integers(0, 256, size=(h, w, c), dtype=np.uint8)


def _random_u16(h: int, w: int, c: int = 3) -> np.ndarray:
    return RNG.integers(0, 65536, size=(h, w, c), dtype=np.uint16)


def _gradient(h: int = 48, w: int = 64) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.stack([x / (w - 1), y / (h - 1), 0.5 + 0.0 * x], axis=2).astype(np.float32)


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


# --------------------------------------------------------------------------- orientation


def test_exif_orientation_6_turns_phone_photo_upright(tmp_path: Path) -> None:
    # Stored landscape 64x32 with a red block in its top-left; orientation 6 means the
    # camera was turned clockwise, so upright it is portrait with the block top-right.
    stored = np.zeros((32, 64, 3), dtype=np.uint8)
    stored[:8, :8] = (255, 0, 0)
    path = tmp_path / "phone.jpg"
    Image.fromarray(stored).save(path, quality=100, exif=_exif(orientation=6))

    img = load_image(path)

    assert img.pixels.shape == (64, 32, 3)
    assert img.pixels[3, 28, 0] > 0.9 and img.pixels[3, 28, 1] < 0.1  # block now top-right
    assert img.pixels[3, 3].max() < 0.1  # and no longer top-left
    kept = Image.Exif()
    kept.load(img.exif)
    assert kept[0x0112] == 1, "the pixels are upright, so EXIF must no longer ask to rotate"
    assert kept[0x010F] == "Transfigure test camera"


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_matches_pillow(tmp_path: Path, orientation: int) -> None:
    stored = _random_u8(5, 7)
    path = tmp_path / f"o{orientation}.png"
    Image.fromarray(stored).save(path, exif=_exif(orientation=orientation))
    with Image.open(path) as im:
        expected = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))

    assert np.array_equal(load_image(path).raw, expected)


@pytest.mark.parametrize("ext", [".png", ".tif"])
def test_16bit_colour_with_orientation_is_rotated_once(tmp_path: Path, ext: str) -> None:
    stored = _random_u16(4, 6)
    ok, encoded = cv2.imencode(ext, stored[..., ::-1])
    assert ok
    data = encoded.tobytes()
    if ext == ".png":
        data = imageio._png_add_chunks(data, [(b"eXIf", _exif(orientation=6)[6:])])
    else:
        endian = "<" if data[:2] == b"II" else ">"
        data = imageio._tiff_add_tag(data, 0x0112, 3, struct.pack(endian + "H", 6))
    path = tmp_path / f"rotated16{ext}"
    path.write_bytes(data)

    img = load_image(path)

    assert img.bit_depth == 16
    assert np.array_equal(img.raw, np.rot90(stored, -1))


# --------------------------------------------------------------------------- bit depths


def test_8bit_png_round_trip_is_bit_exact(tmp_path: Path) -> None:
    stored = _random_u8(33, 47, 4)
    src, dst = tmp_path / "in.png", tmp_path / "out.png"
    Image.fromarray(stored, "RGBA").save(src)

    img = load_image(src)
    save_image(dst, img.pixels, alpha=img.alpha, bit_depth=img.bit_depth)

    with Image.open(dst) as out:
        assert out.mode == "RGBA"
        assert np.array_equal(np.asarray(out), stored)


def test_quantiser_inverts_loader_scaling_for_every_value() -> None:
    for depth, dtype in ((8, np.uint8), (16, np.uint16)):
        values = np.arange(2**depth, dtype=dtype)
        floats = values.astype(np.float32) / np.float32(2**depth - 1)
        assert np.array_equal(to_uint(floats, depth), values)
    # values engines compute are rounded to the nearest level, not truncated
    assert to_uint(np.array([0.9985, 0.003], dtype=np.float32), 8).tolist() == [255, 1]
    assert to_uint(np.array([-0.5, 1.5, np.nan], dtype=np.float32), 8).tolist() == [0, 255, 0]


def test_16bit_grey_png_round_trips_exactly(tmp_path: Path) -> None:
    grey = RNG.integers(0, 65536, size=(20, 30), dtype=np.uint16)
    src, dst = tmp_path / "grey16.png", tmp_path / "out16.png"
    Image.fromarray(grey).save(src)  # mode I;16

    img = load_image(src)
    assert img.bit_depth == 16
    assert np.array_equal(img.raw, np.repeat(grey[..., None], 3, axis=2))

    save_image(dst, img.pixels, bit_depth=16)
    assert np.array_equal(load_image(dst).raw[..., 1], grey)


@pytest.mark.parametrize("ext", [".png", ".tif", ".tiff"])
@pytest.mark.parametrize("with_alpha", [False, True])
def test_16bit_colour_round_trips_exactly(tmp_path: Path, ext: str, with_alpha: bool) -> None:
    rgb = _random_u16(17, 23)
    alpha = RNG.integers(0, 65536, size=(17, 23), dtype=np.uint16)
    bgr = rgb[..., ::-1]
    src = tmp_path / f"colour16{ext}"
    cv2.imwrite(str(src), np.dstack([bgr, alpha]) if with_alpha else bgr)

    img = load_image(src)
    assert img.bit_depth == 16
    assert np.array_equal(img.raw, rgb), "16-bit colour must not be cut to 8 bits"
    assert (img.alpha is not None) == with_alpha
    if with_alpha:
        assert np.array_equal(img.raw_alpha, alpha)

    dst = tmp_path / f"out16{ext}"
    save_image(dst, img.pixels, alpha=img.alpha, bit_depth=16)
    written = cv2.imread(str(dst), cv2.IMREAD_UNCHANGED)
    assert written.dtype == np.uint16
    assert np.array_equal(written[..., 2::-1], rgb)
    if with_alpha:
        assert np.array_equal(written[..., 3], alpha)


def test_16bit_pixels_saved_as_jpeg_become_8bit(tmp_path: Path) -> None:
    path = save_image(tmp_path / "out.jpg", _gradient(), bit_depth=16)
    img = load_image(path)
    assert img.bit_depth == 8 and img.format == "JPEG"


# --------------------------------------------------------------------------- modes


def test_palette_transparency_becomes_alpha(tmp_path: Path) -> None:
    indices = np.zeros((10, 12), dtype=np.uint8)
    indices[2:8, 3:9] = 1
    im = Image.fromarray(indices, "P")
    im.putpalette([0, 0, 0, 200, 30, 40] + [0] * 762)
    path = tmp_path / "sticker.png"
    im.save(path, transparency=0)

    img = load_image(path)

    assert img.alpha is not None
    assert np.array_equal(img.alpha > 0.5, indices == 1)
    assert np.array_equal(img.raw[4, 5], [200, 30, 40])


def test_grey_with_alpha_keeps_both(tmp_path: Path) -> None:
    values = _random_u8(6, 9, 2)
    path = tmp_path / "la.png"
    Image.fromarray(values, "LA").save(path)

    img = load_image(path)

    assert np.array_equal(img.raw, np.repeat(values[..., :1], 3, axis=2))
    assert np.array_equal(img.raw_alpha, values[..., 1])


def test_cmyk_jpeg_loads_as_rgb(tmp_path: Path) -> None:
    path = tmp_path / "print.jpg"
    Image.new("CMYK", (16, 8), (255, 0, 0, 0)).save(path, quality=100)  # pure cyan

    img = load_image(path)

    assert img.mode == "CMYK" and img.pixels.shape == (8, 16, 3)
    r, g, b = img.pixels.reshape(-1, 3).mean(axis=0)
    assert r < 0.2 and g > 0.8 and b > 0.8
    assert img.icc_profile is None, "the pixels are sRGB now; a CMYK profile would mislabel them"


def test_cmyk_with_broken_profile_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "print.jpg"
    broken = b"\x00" * 200
    Image.new("CMYK", (8, 8), (0, 255, 0, 0)).save(path, icc_profile=broken)  # magenta

    r, g, b = load_image(path).pixels.reshape(-1, 3).mean(axis=0)
    assert r > 0.8 and g < 0.2 and b > 0.8


def test_grey_loads_as_three_equal_channels(tmp_path: Path) -> None:
    grey = RNG.integers(0, 256, size=(9, 11), dtype=np.uint8)
    path = tmp_path / "grey.png"
    Image.fromarray(grey, "L").save(path)

    img = load_image(path)

    assert img.pixels.shape == (9, 11, 3) and img.pixels.dtype == np.float32
    assert np.array_equal(img.raw[..., 0], grey)
    assert np.array_equal(img.pixels[..., 0], img.pixels[..., 1])
    assert np.array_equal(img.pixels[..., 1], img.pixels[..., 2])
    assert img.alpha is None and img.bit_depth == 8


def test_bilevel_and_float_images_load(tmp_path: Path) -> None:
    bits = RNG.integers(0, 2, size=(8, 10)).astype(bool)
    Image.fromarray(bits).save(tmp_path / "bits.png")
    floats = RNG.random((8, 10), dtype=np.float32)
    Image.fromarray(floats, "F").save(tmp_path / "floats.tif")

    assert np.array_equal(load_image(tmp_path / "bits.png").pixels[..., 0], bits)
    loaded = load_image(tmp_path / "floats.tif")
    assert loaded.bit_depth == 16
    assert np.allclose(loaded.pixels[..., 2], floats, atol=1e-6)


def test_load_extensions_are_all_readable_by_pillow() -> None:
    import pillow_heif  # HEIC/HEIF: Pillow reads them once the plug-in is registered

    pillow_heif.register_heif_opener()
    Image.init()
    readable = set(Image.registered_extensions())
    assert set(SUPPORTED_LOAD_EXTENSIONS) <= readable
    assert set(SUPPORTED_SAVE_EXTENSIONS) <= set(SUPPORTED_LOAD_EXTENSIONS)


# --------------------------------------------------------------------------- refusing input


def _big_png(tmp_path: Path) -> Path:
    path = tmp_path / "big.png"
    Image.new("L", (2000, 2000)).save(path)
    return path


def _forbid_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("pixels were decoded before the size check")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)
    monkeypatch.setattr(cv2, "imdecode", refuse)


def test_pixel_limit_refuses_before_decoding(tmp_path: Path, monkeypatch) -> None:
    path = _big_png(tmp_path)
    _forbid_decoding(monkeypatch)

    with pytest.raises(InvalidInput) as err:
        load_image(path, max_pixels=1_000_000)

    message = str(err.value)
    assert "big.png is 4.0 megapixels" in message
    assert "limit is 1 megapixels" in message
    assert "Preferences" in message


def test_pixel_limit_comes_from_environment(tmp_path: Path, monkeypatch) -> None:
    path = _big_png(tmp_path)
    monkeypatch.setenv("TRANSFIGURE_MAX_PIXELS", "3000000")
    with pytest.raises(InvalidInput, match="megapixels"):
        load_image(path)
    assert load_image(path, max_pixels=5_000_000).pixels.shape == (2000, 2000, 3)


@pytest.mark.parametrize("limit", [1_000_000, 3_000_000])  # Pillow error / Pillow warning
def test_pillow_bomb_guard_becomes_the_same_message(tmp_path: Path, monkeypatch, limit) -> None:
    path = _big_png(tmp_path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)

    with pytest.raises(InvalidInput, match=r"4\.0 megapixels; the limit is [13] megapixels"):
        load_image(path, max_pixels=limit)
    assert Image.MAX_IMAGE_PIXELS == 1000, "Pillow's global limit must be restored"


def test_raised_limit_overrides_pillows_own_guard(tmp_path: Path, monkeypatch) -> None:
    path = _big_png(tmp_path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)  # Pillow alone would refuse

    assert load_image(path, max_pixels=5_000_000).width == 2000
    assert Image.MAX_IMAGE_PIXELS == 1_000_000


def test_truncated_png_is_reported_as_damaged(tmp_path: Path) -> None:
    good = tmp_path / "good.png"
    Image.fromarray(_random_u8(64, 64)).save(good)
    bad = tmp_path / "photo.png"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])

    with pytest.raises(InvalidInput) as err:
        load_image(bad)
    assert str(err.value) == "Could not read photo.png: the file is damaged or not an image."
    assert err.value.detail  # technical reason kept for the details section


def test_text_file_named_jpg_is_reported_as_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_text("these are my holiday notes, not a picture\n")

    with pytest.raises(InvalidInput, match=r"^Could not read photo\.jpg: .*not an image"):
        load_image(path)


def test_missing_folder_and_empty_files_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"Could not find nothing\.png"):
        load_image(tmp_path / "nothing.png")
    (tmp_path / "album.png").mkdir()
    with pytest.raises(InvalidInput, match=r"album\.png is a folder"):
        load_image(tmp_path / "album.png")
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(InvalidInput, match=r"empty\.jpg: the file is empty"):
        load_image(tmp_path / "empty.jpg")


# --------------------------------------------------------------------------- metadata


@pytest.mark.parametrize(
    ("name", "depth"),
    [("out.jpg", 8), ("out.png", 8), ("out.webp", 8), ("out.tif", 8), ("out.png", 16)],
)
def test_save_keeps_icc_profile_and_exif(tmp_path: Path, name: str, depth: int) -> None:
    path = save_image(
        tmp_path / name, _gradient(), bit_depth=depth, icc_profile=SRGB_ICC, exif=_exif(6)
    )

    with Image.open(path) as im:
        im.load()
        assert im.info.get("icc_profile") == SRGB_ICC
        exif = im.getexif()
        assert exif[0x010F] == "Transfigure test camera"
        assert exif[0x0112] == 1, "saved pixels are upright; a stale rotation would turn them"
    loaded = load_image(path)
    assert loaded.icc_profile == SRGB_ICC
    assert loaded.exif is not None and loaded.exif.startswith(b"Exif\x00\x00")


def test_16bit_tiff_keeps_icc_profile(tmp_path: Path) -> None:
    path = save_image(tmp_path / "out.tif", _gradient(), bit_depth=16, icc_profile=SRGB_ICC)

    img = load_image(path)
    assert img.bit_depth == 16 and img.icc_profile == SRGB_ICC
    assert np.array_equal(img.raw, to_uint(_gradient(), 16))


def test_grey_icc_profile_is_not_attached_to_rgb_output(tmp_path: Path) -> None:
    grey_profile = bytearray(SRGB_ICC)
    grey_profile[16:20] = b"GRAY"
    path = save_image(tmp_path / "out.png", _gradient(), icc_profile=bytes(grey_profile))
    with Image.open(path) as im:
        assert "icc_profile" not in im.info


# --------------------------------------------------------------------------- safe saving


@pytest.mark.parametrize(
    ("error", "expected"),
    [(OSError(errno.ENOSPC, "No space left on device"), InvalidInput), (RuntimeError(), None)],
)
def test_failed_save_leaves_existing_file_and_no_temp_files(
    tmp_path: Path, monkeypatch, error: BaseException, expected: type | None
) -> None:
    target = tmp_path / "photo.png"
    save_image(target, _gradient())
    before = target.read_bytes()
    listing = _files(tmp_path)

    def broken_save(self: Image.Image, fp, *args: object, **kwargs: object) -> None:
        fp.write(b"\x89PNG half written")
        raise error

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(expected or type(error)) as err:
        save_image(target, np.zeros_like(_gradient()), overwrite=True)

    assert target.read_bytes() == before
    assert _files(tmp_path) == listing
    if expected is InvalidInput:
        assert str(err.value) == "Could not save photo.png: the disk is full."


def test_never_overwrites_without_permission(tmp_path: Path) -> None:
    target = save_image(tmp_path / "photo.png", _gradient())
    before = target.read_bytes()

    with pytest.raises(InvalidInput) as err:
        save_image(target, np.zeros_like(_gradient()))
    assert str(err.value) == "photo.png already exists; choose another name or allow overwriting."
    assert target.read_bytes() == before

    save_image(target, np.zeros_like(_gradient()), overwrite=True)
    assert load_image(target).pixels.max() == 0.0


def test_refuses_to_replace_the_original_photo(tmp_path: Path) -> None:
    original = tmp_path / "holiday.jpg"
    Image.fromarray(_random_u8(20, 30)).save(original)
    before = original.read_bytes()
    img = load_image(original)
    same_file_other_spelling = tmp_path / "sub" / ".." / "holiday.jpg"
    (tmp_path / "sub").mkdir()

    with pytest.raises(InvalidInput, match="would replace the original photo"):
        save_image(original, img.pixels * 0.5, overwrite=True, protect=same_file_other_spelling)
    assert original.read_bytes() == before

    save_image(original, img.pixels * 0.5, protect=original, allow_original=True)
    assert original.read_bytes() != before


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
def test_new_files_are_readable_by_other_programs(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        path = save_image(tmp_path / "out.png", _gradient())
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644


def test_unsupported_extension_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"Cannot save as \.bmp"):
        save_image(tmp_path / "out.bmp", _gradient())
    assert _files(tmp_path) == set()


@pytest.mark.parametrize("name", ["out.webp", "out.tif"])
def test_webp_and_tiff_load_back_close_with_alpha(tmp_path: Path, name: str) -> None:
    pixels = _gradient()
    alpha = np.linspace(0, 1, pixels.shape[1], dtype=np.float32)[None, :].repeat(48, axis=0)

    img = load_image(save_image(tmp_path / name, pixels, alpha=alpha, quality=95))

    assert img.pixels.shape == pixels.shape
    assert np.abs(img.pixels - pixels).mean() < 0.02
    assert img.alpha is not None and np.abs(img.alpha - alpha).max() < 0.02


def test_jpeg_drops_alpha(tmp_path: Path) -> None:
    alpha = np.zeros((48, 64), dtype=np.float32)
    img = load_image(save_image(tmp_path / "out.jpg", _gradient(), alpha=alpha))
    assert img.alpha is None
    assert np.abs(img.pixels - _gradient()).mean() < 0.02  # colour not composited away


# --------------------------------------------------------------------------- masks


def test_mask_from_black_and_white_image(tmp_path: Path) -> None:
    values = np.zeros((40, 50), dtype=np.uint8)
    values[10:20, 5:25] = 255
    path = tmp_path / "mask.png"
    Image.fromarray(values).save(path)

    mask = load_mask(path, shape=(40, 50))

    assert mask.dtype == bool and np.array_equal(mask, values > 0)


def test_mask_uses_transparency_when_there_is_some(tmp_path: Path) -> None:
    rgba = np.zeros((40, 50, 4), dtype=np.uint8)  # black strokes on a transparent layer
    rgba[5:15, 30:45, 3] = 255
    path = tmp_path / "strokes.png"
    Image.fromarray(rgba, "RGBA").save(path)

    assert np.array_equal(load_mask(path), rgba[..., 3] > 0)


def test_mask_ignores_fully_opaque_alpha(tmp_path: Path) -> None:
    rgba = np.full((40, 50, 4), 255, dtype=np.uint8)
    rgba[..., :3] = 0
    rgba[1:3, 1:3, :3] = 255
    path = tmp_path / "opaque.png"
    Image.fromarray(rgba, "RGBA").save(path)

    mask = load_mask(path)
    assert mask.sum() == 4 and mask[1:3, 1:3].all()


def test_mask_ignores_an_alpha_that_is_only_nearly_opaque(tmp_path: Path) -> None:
    """A real composite's mask (DeepHarmonization) was exported with alpha 253-255: it
    selected the whole photo instead of its white object."""
    rgba = np.full((40, 50, 4), 255, dtype=np.uint8)
    rgba[..., :3] = 0
    rgba[10:20, 10:30, :3] = 255
    rgba[0, :5, 3] = 253
    path = tmp_path / "exported.png"
    Image.fromarray(rgba, "RGBA").save(path)

    mask = load_mask(path)
    assert mask.sum() == 200 and mask[10:20, 10:30].all()


def test_mask_of_wrong_size_is_refused_not_resized(tmp_path: Path) -> None:
    path = tmp_path / "mask.png"
    Image.new("L", (640, 480), 255).save(path)

    with pytest.raises(InvalidInput) as err:
        load_mask(path, shape=(768, 1024))
    assert str(err.value) == "The mask is 640×480 but the photo is 1024×768."
