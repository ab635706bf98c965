"""Loading and saving photos for every front end (CLI, GUI, tests).

Engines only ever see float32 HxWx3 RGB in [0, 1]; everything a real file can be
(16-bit, palettes, CMYK, rotated phone pictures, alpha) is settled here once, so no
engine has to care. Saving is the mirror image, with two promises users rely on:
untouched pixels come back bit-exactly, and a failed save never damages an existing
file (in particular the original photo).

Pillow does most of the work; OpenCV decodes and encodes 16-bit colour, which Pillow
cannot hold. Colour metadata (ICC profile, EXIF) that OpenCV drops is spliced back
into its PNG and TIFF output here.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import struct
import threading
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np
from PIL import Image, ImageCms, UnidentifiedImageError

from engines.base import InvalidInput
from engines.files import atomic_write

DEFAULT_MAX_PIXELS = 100_000_000
MAX_PIXELS_ENV = "TRANSFIGURE_MAX_PIXELS"

SUPPORTED_LOAD_EXTENSIONS: tuple[str, ...] = (
    ".png",
    ".jpg",
    ".jpeg",
    ".jpe",
    ".jfif",
    ".webp",
    ".tif",
    ".tiff",
    ".bmp",
    ".gif",
    ".ppm",
    ".pgm",
    ".pbm",
    ".pnm",
    ".tga",
    ".heic",
    ".heif",
)
SUPPORTED_SAVE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff")

_SAVE_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".webp": "WEBP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
}
_SCALE = {8: 255.0, 16: 65535.0}
_DTYPE = {8: np.uint8, 16: np.uint16}
_SIXTEEN_BIT_GRAY_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")
_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")
_EXIF_HEADER = b"Exif\x00\x00"
_ORIENTATION_TAG = 0x0112
_ICC_TAG = 34675
# ImageDescription, Make, Model, Orientation, Software, DateTime, Artist, Copyright
_TIFF_DESCRIPTIVE_TAGS = (270, 271, 272, 274, 305, 306, 315, 33432)
_EXIF_SUB_IFDS = (0x8769, 0x8825)  # Exif and GPS sub-directories
_WEBP_MAX_SIDE = 16383
_JPEG_MAX_SIDE = 65535
_JPEG_MAX_EXIF = 65533

# Image.MAX_IMAGE_PIXELS is process-global; the lock keeps concurrent loads from
# restoring each other's temporary value.
_PIL_LIMIT_LOCK = threading.Lock()


@dataclass(frozen=True, eq=False)
class LoadedImage:
    """A photo in engine form plus everything needed to write it back faithfully.

    ``icc_profile`` is kept only when it describes RGB pixels (a grey or CMYK profile
    would mislabel the converted pixels); ``exif`` always starts with ``b"Exif\\0\\0"``
    and has its Orientation reset to 1 because ``pixels`` are already upright.
    """

    pixels: np.ndarray
    alpha: np.ndarray | None
    bit_depth: int
    icc_profile: bytes | None
    exif: bytes | None
    format: str
    mode: str
    path: Path
    notes: tuple[str, ...] = ()  # what of the file the pixels leave out (frames of a GIF)

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def raw(self) -> np.ndarray:
        """The integers as stored in the file (after orientation), for bit-exact write-back.

        Recomputed rather than stored so a 100-megapixel photo is not held twice; the
        quantiser inverts the loader's scaling exactly for 8- and 16-bit data.
        """
        return to_uint(self.pixels, self.bit_depth)

    @property
    def raw_alpha(self) -> np.ndarray | None:
        return None if self.alpha is None else to_uint(self.alpha, self.bit_depth)


# --------------------------------------------------------------------------- quantising


def to_uint(pixels: np.ndarray, bit_depth: int) -> np.ndarray:
    """Quantise [0, 1] floats by rounding, the exact inverse of how files are loaded.

    Rounding (not truncating) is what makes load -> save reproduce the file's integers;
    NaN becomes 0 so a numerical glitch cannot turn into random bytes.
    """
    if bit_depth not in _SCALE:
        raise ValueError(f"bit_depth must be 8 or 16, not {bit_depth!r}")
    scale = np.float32(_SCALE[bit_depth])
    scaled = np.multiply(pixels, scale, dtype=np.float32)
    np.nan_to_num(scaled, copy=False, nan=0.0, posinf=float(scale), neginf=0.0)
    np.clip(scaled, 0.0, scale, out=scaled)
    np.rint(scaled, out=scaled)
    return scaled.astype(_DTYPE[bit_depth])


def _to_float(values: np.ndarray, bit_depth: int) -> np.ndarray:
    if values.dtype.kind == "f":
        out = np.nan_to_num(values.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0)
        return np.clip(out, 0.0, 1.0, out=out)
    out = values.astype(np.float32)
    out /= np.float32(_SCALE[bit_depth])
    return out


# --------------------------------------------------------------------------- loading


def load_image(path: str | os.PathLike[str], max_pixels: int | None = None) -> LoadedImage:
    """Open any photo a user is likely to have, refusing oversized ones before decoding.

    ``max_pixels`` overrides ``TRANSFIGURE_MAX_PIXELS`` and ``DEFAULT_MAX_PIXELS``;
    zero or a negative value means no limit. Every failure caused by the file itself
    is an ``InvalidInput`` naming it.
    """
    file = Path(path)
    limit = _pixel_limit(max_pixels)
    _check_readable(file)
    head = _file_head(file)
    _enable_heif(file, head)
    float_tiff = _float_colour_tiff(file) if head[:2] in (b"II", b"MM") else None
    if float_tiff is not None:
        return _load_float_tiff(file, limit, *float_tiff)
    with _open_pil(file, limit) as im:
        fmt, mode = im.format or file.suffix.lstrip(".").upper(), im.mode
        frames = int(getattr(im, "n_frames", 1) or 1)
        notes = (f"{file.name} holds {frames} frames (an animation or a multi-page file); "
                 "only the first is used, and a result holds that frame alone.",
                 ) if frames > 1 else ()
        try:
            rgb, alpha, depth, icc, by_cv2 = _decode(im, file)
            orientation, exif = _read_exif(im, file, by_cv2)
        except MemoryError as exc:
            raise InvalidInput(
                f"{file.name} is too large to open with the memory available.", detail=repr(exc)
            ) from exc
        except Exception as exc:  # any decoder failure on user input means a damaged file
            raise _unreadable(file, exc) from exc
    rgb = _orient(rgb, orientation)
    if alpha is not None:
        alpha = _to_float(_orient(alpha, orientation), depth)
    return LoadedImage(
        pixels=_to_float(rgb, depth),
        alpha=alpha,
        bit_depth=depth,
        icc_profile=icc,
        exif=exif,
        format=fmt,
        mode=mode,
        path=file,
        notes=notes,
    )


def load_mask(
    path: str | os.PathLike[str],
    shape: tuple[int, int] | None = None,
    max_pixels: int | None = None,
) -> np.ndarray:
    """Read a hole/selection mask saved by any paint program (True = selected).

    Transparency wins when the file has some (painted strokes on a transparent layer,
    some pixel at least half see-through); otherwise bright pixels are selected. A size
    mismatch is an error rather than a resize, because a silently stretched mask removes
    the wrong thing.
    """
    return load_mask_alpha(path, shape, max_pixels) > 0.5


def load_mask_alpha(
    path: str | os.PathLike[str],
    shape: tuple[int, int] | None = None,
    max_pixels: int | None = None,
) -> np.ndarray:
    """A mask as a soft alpha in [0, 1] (for foreground masks with feathered edges)."""
    img = load_image(path, max_pixels)
    if shape is not None and tuple(shape[:2]) != img.pixels.shape[:2]:
        want_h, want_w = shape[:2]
        raise InvalidInput(
            f"The mask is {img.width}×{img.height} but the photo is {want_w}×{want_h}.",
            detail=f"mask {img.path}: {img.pixels.shape[:2]}, expected {tuple(shape[:2])}",
        )
    # Transparency is the mask only where some pixel is at least half see-through: masks
    # exported by paint programs often carry an alpha channel at 253-255 everywhere,
    # which would otherwise select the whole photo.
    if img.alpha is not None and float(img.alpha.min()) < 0.5:
        return np.asarray(img.alpha, np.float32)
    return img.pixels @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def load_foreground_alpha(path: str | os.PathLike[str], shape: tuple[int, int]) -> np.ndarray:
    """A composite's foreground mask as alpha at the photo's ``shape`` (h, w).

    Unlike a hole, a foreground mask is often saved at another size than the composite
    (a thumbnail-sized matte): it is scaled to the photo, keeping its soft edge.
    """
    alpha = load_mask_alpha(path)
    h, w = shape[:2]
    if alpha.shape != (h, w):
        alpha = np.clip(cv2.resize(alpha, (w, h), interpolation=cv2.INTER_LINEAR), 0, 1)
    return alpha


def _pixel_limit(max_pixels: int | None) -> int | None:
    """Argument, then environment, then default; a non-positive value lifts the limit."""
    if max_pixels is None:
        env = os.environ.get(MAX_PIXELS_ENV, "").strip()
        try:
            max_pixels = int(float(env)) if env else DEFAULT_MAX_PIXELS
        except ValueError:
            max_pixels = DEFAULT_MAX_PIXELS
    return max_pixels if max_pixels > 0 else None


def _check_readable(file: Path) -> None:
    if not file.exists():
        raise InvalidInput(f"Could not find {file.name}.", detail=str(file))
    if file.is_dir():
        raise InvalidInput(f"{file.name} is a folder, not an image file.", detail=str(file))
    try:
        size = file.stat().st_size
    except OSError as exc:
        raise InvalidInput(f"Could not open {file.name}.", detail=repr(exc)) from exc
    if size == 0:
        raise InvalidInput(f"Could not read {file.name}: the file is empty.", detail=str(file))


def _unreadable(file: Path, exc: BaseException) -> InvalidInput:
    return InvalidInput(
        f"Could not read {file.name}: the file is damaged or not an image.",
        detail=f"{file}: {type(exc).__name__}: {exc}",
    )


_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")


def _file_head(file: Path) -> bytes:
    """The first bytes of the file, where its format says what it is (b"" if unreadable:
    ``_open_pil`` then says why)."""
    try:
        with open(file, "rb") as fh:
            return fh.read(12)
    except OSError:
        return b""


def _enable_heif(file: Path, head: bytes) -> None:
    """Teach Pillow HEIC/HEIF (iPhone photos) through pillow-heif, only when one is opened:
    the plug-in costs a tenth of a second to import, which most sessions never need."""
    if head[4:8] != b"ftyp" or head[8:12] not in _HEIF_BRANDS:
        return
    try:
        import pillow_heif
    except ImportError as exc:
        raise InvalidInput(
            f"{file.name} is a HEIC/HEIF photo; reading it needs the pillow-heif package "
            "(pip install pillow-heif).", detail=repr(exc)) from exc
    pillow_heif.register_heif_opener()


def _float_colour_tiff(file: Path) -> tuple[int, int, int] | None:
    """(width, height, orientation) of a TIFF with floating-point colour samples, else None.

    Pillow opens floating-point grey TIFFs (mode "F") but not colour ones, and calls them
    unidentified; OpenCV decodes them, so they are recognised from IFD0's tags first.
    """
    try:
        with open(file, "rb") as fh:
            data = fh.read(8)
            endian, ifd = _tiff_header(data)
            tags = _tiff_ifd_numbers(fh, endian, ifd, (256, 257, 274, 277, 339))
    except (OSError, ValueError, struct.error):
        return None
    samples, formats = tags.get(277, [1]), tags.get(339, [1])
    if samples[0] < 3 or 3 not in formats or 256 not in tags or 257 not in tags:
        return None
    return tags[256][0], tags[257][0], tags.get(274, [1])[0]


def _tiff_ifd_numbers(
    fh: BinaryIO, endian: str, ifd: int, wanted: tuple[int, ...]
) -> dict[int, list[int]]:
    """The SHORT/LONG values of the wanted tags of one TIFF directory."""
    sizes = {3: ("H", 2), 4: ("I", 4)}
    fh.seek(ifd)
    (count,) = struct.unpack(endian + "H", fh.read(2))
    entries = fh.read(12 * count)
    found: dict[int, list[int]] = {}
    for i in range(count):
        tag, kind, n, value = struct.unpack_from(endian + "HHI4s", entries, 12 * i)
        if tag not in wanted or kind not in sizes or not 0 < n <= 16:
            continue
        code, size = sizes[kind]
        if n * size > 4:
            fh.seek(struct.unpack(endian + "I", value)[0])
            value = fh.read(n * size)
        found[tag] = list(struct.unpack_from(f"{endian}{n}{code}", value))
    return found


def _load_float_tiff(
    file: Path, limit: int | None, width: int, height: int, orientation: int
) -> LoadedImage:
    """A floating-point colour TIFF (scientific and HDR exports) at 16 bits per channel."""
    if limit is not None and width * height > limit:
        raise _too_large(file, width * height, limit)
    try:
        rgb, alpha, _ = _decode_cv2(file, is_tiff=True)
    except (ValueError, cv2.error) as exc:
        raise _unreadable(file, exc) from exc
    clipped = any(bool(np.any(a < 0.0) or np.any(a > 1.0) or np.isnan(a).any())
                  for a in (rgb, alpha) if a is not None)
    rgb = _orient(rgb, orientation)
    alpha = None if alpha is None else _orient(alpha, orientation)
    note = (f"{file.name} holds 32-bit floating-point samples (0 black, 1 white); a result "
            "is saved with 16 bits per channel" + (
                ", and values outside 0–1 (HDR highlights, negatives) were clipped."
                if clipped else "."))
    return LoadedImage(
        pixels=_to_float(rgb, 16),
        alpha=None if alpha is None else _to_float(alpha, 16),
        bit_depth=16, icc_profile=None, exif=None, format="TIFF", mode="RGBF",
        path=file, notes=(note,),
    )


def _too_large(file: Path, pixels: int | None, limit: int | None) -> InvalidInput:
    size = "too large" if pixels is None else f"{pixels / 1e6:.1f} megapixels"
    allowed = "" if limit is None else f"; the limit is {limit / 1e6:g} megapixels"
    return InvalidInput(
        f"{file.name} is {size}{allowed}. "
        "Raise the limit in Preferences or resize the image first.",
        detail=f"{file}: {pixels} pixels, limit {limit} (env {MAX_PIXELS_ENV})",
    )


def _open_pil(file: Path, limit: int | None) -> Image.Image:
    """Open lazily (header only) and enforce the pixel limit before any pixel is decoded.

    Pillow's own decompression-bomb guard fires inside ``Image.open`` with its own
    limit and wording; it is aligned with ours and turned into the same message.
    """
    try:
        with _PIL_LIMIT_LOCK, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            saved = Image.MAX_IMAGE_PIXELS
            no_limit = limit is None or saved is None
            Image.MAX_IMAGE_PIXELS = None if no_limit else max(limit, saved)
            try:
                im = Image.open(file)
            finally:
                Image.MAX_IMAGE_PIXELS = saved
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        found = re.search(r"\((\d+) pixels\)", str(exc))
        raise _too_large(file, int(found.group(1)) if found else None, limit) from exc
    except PermissionError as exc:
        raise InvalidInput(
            f"Could not open {file.name}: permission denied.", detail=repr(exc)
        ) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise _unreadable(file, exc) from exc
    width, height = im.size
    if limit is not None and width * height > limit:
        im.close()
        raise _too_large(file, width * height, limit)
    return im


def _decode(
    im: Image.Image, file: Path
) -> tuple[np.ndarray, np.ndarray | None, int, bytes | None, bool]:
    """Return (RGB values, alpha values, bit depth, RGB ICC profile, decoded by OpenCV)."""
    icc = _rgb_icc(im.info.get("icc_profile"))
    if _is_sixteen_bit_colour(im, file):
        rgb, alpha, depth = _decode_cv2(file, is_tiff=im.format == "TIFF")
        return rgb, alpha, depth, icc, True
    if im.mode == "CMYK":
        # The pixels are converted to sRGB, so no profile describes them any more.
        return np.asarray(_cmyk_to_rgb(im)), None, 8, None, False
    rgb, alpha, depth = _decode_pil(im)
    return rgb, alpha, depth, icc, False


def _decode_pil(im: Image.Image) -> tuple[np.ndarray, np.ndarray | None, int]:
    mode = im.mode
    if mode in _SIXTEEN_BIT_GRAY_MODES:
        grey = np.asarray(im)
        grey = np.clip(grey, 0, 65535).astype(np.uint16) if mode == "I" else grey.astype(np.uint16)
        return _grey_to_rgb(grey), None, 16
    if mode == "F":
        return _grey_to_rgb(np.asarray(im, dtype=np.float32)), None, 16
    has_alpha = mode in _ALPHA_MODES or "transparency" in im.info
    if mode == "L" and not has_alpha:
        return _grey_to_rgb(np.asarray(im)), None, 8
    if mode == "LA":
        values = np.asarray(im)
        return _grey_to_rgb(values[..., 0]), values[..., 1], 8
    if mode != ("RGBA" if has_alpha else "RGB"):
        im = im.convert("RGBA" if has_alpha else "RGB")
    values = np.asarray(im)
    if im.mode == "RGBA":
        return values[..., :3], values[..., 3], 8
    return values, None, 8


def _grey_to_rgb(grey: np.ndarray) -> np.ndarray:
    return np.repeat(grey[..., None], 3, axis=2)


def _cmyk_to_rgb(im: Image.Image) -> Image.Image:
    """Use the embedded press profile when it works; naive conversion is the fallback."""
    icc = im.info.get("icc_profile")
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            srgb = ImageCms.createProfile("sRGB")
            converted = ImageCms.profileToProfile(im, source, srgb, outputMode="RGB")
            if converted is not None:
                return converted
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass
    return im.convert("RGB")


def _is_sixteen_bit_colour(im: Image.Image, file: Path) -> bool:
    """True for files whose colour samples Pillow would silently cut to 8 bits."""
    if im.format == "PNG":
        with open(file, "rb") as fh:
            header = fh.read(26)
        return len(header) == 26 and header[24] == 16 and header[25] in (2, 4, 6)
    if im.format == "TIFF" and im.mode not in _SIXTEEN_BIT_GRAY_MODES + ("F",):
        bits = getattr(im, "tag_v2", {}).get(258)
        bits = (bits,) if isinstance(bits, int) else tuple(bits or ())
        return len(bits) >= 2 and max(bits) > 8
    return False


def _decode_cv2(file: Path, is_tiff: bool) -> tuple[np.ndarray, np.ndarray | None, int]:
    """Decode without any rotation; orientation is applied once, by ``_orient``, for all paths.

    IMREAD_UNCHANGED ignores EXIF orientation, but OpenCV's TIFF decoder still honours the
    TIFF Orientation tag, so that tag is reset in the in-memory copy first. Decoding from
    bytes also avoids imread, which cannot open non-ASCII paths on Windows.
    """
    data = np.fromfile(file, dtype=np.uint8)
    if is_tiff:
        with contextlib.suppress(ValueError, struct.error):
            _reset_orientation(memoryview(data))
    values = cv2.imdecode(data, cv2.IMREAD_UNCHANGED | cv2.IMREAD_ANYDEPTH)
    if values is None:
        raise ValueError("OpenCV could not decode the file")
    if values.dtype == np.uint16:
        depth = 16
    elif values.dtype == np.uint8:
        depth = 8
    elif values.dtype.kind == "f":
        depth = 16
    else:
        values, depth = np.clip(values, 0, 65535).astype(np.uint16), 16
    if values.ndim == 2:
        return _grey_to_rgb(values), None, depth
    channels = values.shape[2]
    if channels == 1:
        return _grey_to_rgb(values[..., 0]), None, depth
    if channels == 2:
        return _grey_to_rgb(values[..., 0]), values[..., 1], depth
    rgb = values[..., 2::-1]
    return rgb, (values[..., 3] if channels >= 4 else None), depth


def _read_exif(im: Image.Image, file: Path, by_cv2: bool) -> tuple[int, bytes | None]:
    """Return (orientation, EXIF bytes marked upright).

    Pillow finds a PNG's eXIf chunk only by decoding the whole image, which the OpenCV
    path has not done and should not pay for twice; that chunk is looked up directly.
    """
    if im.format == "PNG" and by_cv2:
        raw = _png_chunk(file, b"eXIf")
        exif = Image.Exif()
        if raw:
            exif.load(_EXIF_HEADER + raw)
    else:
        raw = _tiff_exif(im) if im.format == "TIFF" else im.info.get("exif")
        exif = im.getexif()
    try:
        orientation = int(exif.get(_ORIENTATION_TAG, 1))
    except (TypeError, ValueError):
        orientation = 1
    return (orientation if 1 <= orientation <= 8 else 1), _exif_from_info(raw)


def _tiff_exif(im: Image.Image) -> bytes | None:
    """TIFF keeps camera metadata among its own layout tags (strips, compression...);
    only the descriptive ones are copied so they can travel on into a JPEG, PNG or WebP.
    """
    try:
        source = im.getexif()
        exif = Image.Exif()
        for tag in _TIFF_DESCRIPTIVE_TAGS:
            if tag in source:
                exif[tag] = source[tag]
        for tag in _EXIF_SUB_IFDS:
            if sub := source.get_ifd(tag):
                exif[tag] = sub
        if _ORIENTATION_TAG in exif:
            exif[_ORIENTATION_TAG] = 1
        return exif.tobytes() if len(exif) else None
    except Exception:  # metadata is a bonus; a quirky tag must not block the photo
        return None


def _png_chunk(file: Path, kind: bytes) -> bytes | None:
    """The body of the first chunk of that kind, found by skipping over the others."""
    with open(file, "rb") as fh:
        fh.seek(8)
        while len(head := fh.read(8)) == 8:
            length, found = struct.unpack(">I4s", head)
            if found == kind:
                return fh.read(length)
            if found == b"IEND":
                break
            fh.seek(length + 4, os.SEEK_CUR)
    return None


def _orient(values: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation to an HxW or HxWxC array, matching ImageOps.exif_transpose."""
    transforms: dict[int, Callable[[np.ndarray], np.ndarray]] = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.swapaxes(0, 1),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
        8: lambda a: np.rot90(a, 1),
    }
    transform = transforms.get(orientation)
    return values if transform is None else np.ascontiguousarray(transform(values))


def _rgb_icc(profile: bytes | None) -> bytes | None:
    """Keep a profile only if it describes RGB data (ICC header bytes 16-20)."""
    if not profile or len(profile) < 128 or profile[16:20] != b"RGB ":
        return None
    return bytes(profile)


def _exif_from_info(raw: bytes | None) -> bytes | None:
    """Normalise to the ``Exif\\0\\0`` form JPEG uses and mark the pixels as upright."""
    if not raw:
        return None
    raw = bytes(raw)
    if not raw.startswith(_EXIF_HEADER):
        raw = _EXIF_HEADER + raw
    return _exif_upright(raw)


def _exif_upright(raw: bytes) -> bytes:
    """Set Orientation to 1, leaving every other byte (maker notes...) intact.

    Re-serialising through Pillow would move offsets and can corrupt maker notes, so the
    one SHORT value is patched instead; unparseable EXIF is passed through unchanged.
    """
    prefix = len(_EXIF_HEADER) if raw.startswith(_EXIF_HEADER) else 0
    patched = bytearray(raw)
    try:
        _reset_orientation(memoryview(patched)[prefix:])
    except (ValueError, struct.error):
        return raw
    return bytes(patched)


def _reset_orientation(tiff: memoryview) -> None:
    """Patch IFD0's Orientation to 1 inside a writable TIFF-structured buffer."""
    endian, ifd = _tiff_header(tiff)
    (count,) = struct.unpack_from(endian + "H", tiff, ifd)
    for i in range(count):
        entry = ifd + 2 + 12 * i
        tag, kind = struct.unpack_from(endian + "HH", tiff, entry)
        if tag == _ORIENTATION_TAG and kind == 3:
            struct.pack_into(endian + "H", tiff, entry + 8, 1)


def _tiff_header(data: bytes | bytearray | memoryview) -> tuple[str, int]:
    endian = {b"II": "<", b"MM": ">"}.get(bytes(data[:2]))
    if endian is None:
        raise ValueError("not a TIFF structure")
    magic, ifd = struct.unpack_from(endian + "HI", data, 2)
    if magic != 42:
        raise ValueError("not a classic TIFF structure")
    return endian, ifd


# --------------------------------------------------------------------------- saving


def save_image(
    path: str | os.PathLike[str],
    pixels: np.ndarray,
    *,
    alpha: np.ndarray | None = None,
    bit_depth: int = 8,
    icc_profile: bytes | None = None,
    exif: bytes | None = None,
    quality: int = 95,
    overwrite: bool = False,
    protect: str | os.PathLike[str] | None = None,
    allow_original: bool = False,
) -> Path:
    """Write a result so that nothing the user already has can be lost.

    The format comes from the extension. ``bit_depth=16`` is honoured by PNG and TIFF;
    JPEG and WebP are always 8-bit and JPEG drops alpha. An existing file is replaced
    only with ``overwrite=True``; ``protect`` names the photo the result came from,
    which is replaced only with ``allow_original=True`` (that alone suffices, as it is
    the more deliberate choice). The write is atomic: a crash or an encoder error
    leaves any existing file exactly as it was. Returns the path written.
    """
    target = Path(path)
    if target.is_dir():  # before the format: a folder's name has no extension either
        raise InvalidInput(f"{target.name} is a folder; choose a file name.", detail=str(target))
    fmt = _save_format(target)
    rgb, alpha = _check_arrays(pixels, alpha)
    depth = _check_settings(target, fmt, rgb, bit_depth, quality)
    target = _check_target(target, overwrite, protect, allow_original)
    icc = _rgb_icc(icc_profile)
    exif_bytes = _exif_from_info(exif)

    def encode(out: BinaryIO) -> None:
        _encode(out, fmt, rgb, alpha, depth, icc, exif_bytes, quality)

    may_replace = target.exists()  # checked (and allowed) by _check_target just now
    try:
        atomic_write(target, encode, replace=may_replace)
    except FileExistsError as exc:
        raise InvalidInput(
            f"{target.name} appeared while this result was being saved (another program "
            "saved under that name); it was left as it is and nothing was written. "
            "Choose another name or allow overwriting.", detail=f"{target}: {exc!r}",
        ) from exc
    except (OSError, ValueError) as exc:
        raise InvalidInput(
            f"Could not save {target.name}: {_reason(exc)}.", detail=f"{target}: {exc!r}"
        ) from exc
    return target


def save_result(
    photo: LoadedImage, result: np.ndarray, target: str | os.PathLike[str], overwrite: bool,
    changed: np.ndarray | None = None,
) -> Path:
    """Save an edit of ``photo``: ``result`` where ``changed`` is set, the file's own
    integers everywhere else, with its bit depth, alpha, colour profile and EXIF.

    ``changed`` defaults to the pixels whose values differ from the photo's. The photo's
    own file is never the target. Every front end (the commands, batches) saves this way,
    so untouched pixels come back bit for bit whoever wrote the file.
    """
    if changed is None:
        changed = np.any(result != photo.pixels, axis=2)
    depth = photo.bit_depth
    values = photo.raw
    values[changed] = to_uint(result[changed], depth)
    pixels = values.astype(np.float32)
    pixels /= np.float32((1 << depth) - 1)  # save_image quantises this back exactly
    return save_image(
        target, pixels, alpha=photo.alpha, bit_depth=depth, icc_profile=photo.icc_profile,
        exif=photo.exif, overwrite=overwrite, protect=Path(photo.path),
    )


def _save_format(target: Path) -> str:
    fmt = _SAVE_FORMATS.get(target.suffix.lower())
    if fmt is None and not target.suffix:
        raise InvalidInput(
            f"Add .png, .jpg, .webp or .tif to {target.name} so the format is known.",
            detail=str(target),
        )
    if fmt is None:
        raise InvalidInput(
            f"Cannot save as {target.suffix}; use .png, .jpg, .webp or .tif.", detail=str(target)
        )
    return fmt


def _check_arrays(
    pixels: np.ndarray, alpha: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Shape and dtype mistakes are programming errors, hence ValueError, not InvalidInput."""
    pixels = np.asarray(pixels)
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype.kind != "f":
        raise ValueError(f"pixels must be float HxWx3, got {pixels.dtype} {pixels.shape}")
    if alpha is not None:
        alpha = np.asarray(alpha)
        if alpha.shape != pixels.shape[:2]:
            raise ValueError(f"alpha must be {pixels.shape[:2]}, got {alpha.shape}")
        alpha = alpha.astype(np.float32) if alpha.dtype == bool else alpha
    return pixels, alpha


def _check_settings(target: Path, fmt: str, rgb: np.ndarray, bit_depth: int, quality: int) -> int:
    if bit_depth not in _SCALE:
        raise InvalidInput(f"The bit depth must be 8 or 16, not {bit_depth}.")
    if not 1 <= quality <= 100:
        raise InvalidInput(f"The quality must be between 1 and 100, not {quality}.")
    side = max(rgb.shape[:2])
    if fmt == "WEBP" and side > _WEBP_MAX_SIDE:
        raise InvalidInput(
            f"WebP cannot store images wider or taller than {_WEBP_MAX_SIDE} pixels; "
            f"save {target.stem} as PNG or TIFF instead."
        )
    if fmt == "JPEG" and side > _JPEG_MAX_SIDE:
        raise InvalidInput(
            f"JPEG cannot store images wider or taller than {_JPEG_MAX_SIDE} pixels; "
            f"save {target.stem} as PNG or TIFF instead."
        )
    return bit_depth if fmt in ("PNG", "TIFF") else 8


def _check_target(
    target: Path,
    overwrite: bool,
    protect: str | os.PathLike[str] | None,
    allow_original: bool,
) -> Path:
    if target.is_symlink():
        target = target.resolve()  # replace the file the link points to, not the link
    if target.is_dir():
        raise InvalidInput(f"{target.name} is a folder; choose a file name.", detail=str(target))
    if not target.parent.is_dir():
        raise InvalidInput(
            f"The folder {target.parent.name or target.parent} does not exist.",
            detail=str(target.parent),
        )
    if not target.exists():
        return target
    if protect is not None and _same_file(target, Path(protect)):
        if allow_original:
            return target
        raise InvalidInput(
            f"Saving as {target.name} would replace the original photo; choose another name.",
            detail=f"{target} is the input file {protect}",
        )
    if not overwrite:
        raise InvalidInput(
            f"{target.name} already exists; choose another name or allow overwriting.",
            detail=str(target),
        )
    return target


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


def _reason(exc: BaseException) -> str:
    reasons = {
        errno.ENOSPC: "the disk is full",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.EROFS: "the disk is read-only",
    }
    code = getattr(exc, "errno", None)
    return reasons.get(code, "the file could not be written") if code else "encoding failed"


def _encode(
    out: BinaryIO,
    fmt: str,
    rgb: np.ndarray,
    alpha: np.ndarray | None,
    depth: int,
    icc: bytes | None,
    exif: bytes | None,
    quality: int,
) -> None:
    if fmt == "JPEG":
        alpha = None  # JPEG has no alpha channel
    if depth == 16:
        out.write(_encode_sixteen_bit(fmt, rgb, alpha, icc, exif))
        return
    values = to_uint(rgb, 8)
    if alpha is not None:
        values = np.dstack([values, to_uint(alpha, 8)])
    im = Image.fromarray(values, "RGBA" if alpha is not None else "RGB")
    options: dict[str, object] = {}
    if icc:
        options["icc_profile"] = icc
    if exif and not (fmt == "JPEG" and len(exif) > _JPEG_MAX_EXIF):
        options["exif"] = exif
    if fmt == "JPEG":
        options.update(quality=quality, subsampling=0 if quality >= 90 else 2)
    elif fmt == "WEBP":
        options.update(quality=quality, lossless=quality >= 100)
    elif fmt == "TIFF":
        options.update(compression="tiff_deflate")
    im.save(out, format=fmt, **options)


def _encode_sixteen_bit(
    fmt: str, rgb: np.ndarray, alpha: np.ndarray | None, icc: bytes | None, exif: bytes | None
) -> bytes:
    """OpenCV writes 16-bit colour but no metadata, so the ICC profile is spliced in after.

    EXIF goes into PNG's eXIf chunk; 16-bit TIFF keeps the ICC profile only.
    """
    values = to_uint(rgb, 16)[..., ::-1]
    if alpha is not None:
        values = np.dstack([values, to_uint(alpha, 16)])
    if fmt == "PNG":
        ok, encoded = cv2.imencode(".png", values, [cv2.IMWRITE_PNG_COMPRESSION, 6])
    else:
        ok, encoded = cv2.imencode(".tif", values)
    if not ok:
        raise ValueError(f"OpenCV could not encode a 16-bit {fmt}")
    data = encoded.tobytes()
    if fmt == "PNG":
        chunks = []
        if icc:
            chunks.append((b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(icc)))
        if exif:
            chunks.append((b"eXIf", exif.removeprefix(_EXIF_HEADER)))
        return _png_add_chunks(data, chunks)
    return _tiff_add_tag(data, _ICC_TAG, 7, icc) if icc else data


def _png_add_chunks(data: bytes, chunks: list[tuple[bytes, bytes]]) -> bytes:
    """Insert ancillary chunks right after IHDR, where iCCP must precede IDAT."""
    (ihdr_length,) = struct.unpack_from(">I", data, 8)
    end = 8 + 12 + ihdr_length
    extra = b"".join(
        struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        for kind, body in chunks
    )
    return data[:end] + extra + data[end:]


def _tiff_add_tag(data: bytes, tag: int, kind: int, value: bytes) -> bytes:
    """Add (or replace) one tag of the first IFD by appending a rewritten copy of the IFD.

    Existing entries are copied verbatim since none of the data they point to moves;
    ``value`` must already be in the file's byte order.
    """
    endian, ifd = _tiff_header(data)
    (count,) = struct.unpack_from(endian + "H", data, ifd)
    entries = [data[ifd + 2 + 12 * i : ifd + 14 + 12 * i] for i in range(count)]
    (next_ifd,) = struct.unpack_from(endian + "I", data, ifd + 2 + 12 * count)
    out = bytearray(data)
    out += b"\x00" * (len(out) % 2)
    item_size = {1: 1, 2: 1, 3: 2, 4: 4, 7: 1}[kind]
    if len(value) <= 4:
        field = value.ljust(4, b"\x00")
    else:
        field = struct.pack(endian + "I", len(out))
        out += value + b"\x00" * (len(value) % 2)
    entry = struct.pack(endian + "HHI", tag, kind, len(value) // item_size) + field
    kept = [e for e in entries if struct.unpack_from(endian + "H", e)[0] != tag]
    kept.append(entry)
    kept.sort(key=lambda e: struct.unpack_from(endian + "H", e)[0])
    new_ifd = len(out)
    out += (
        struct.pack(endian + "H", len(kept)) + b"".join(kept) + struct.pack(endian + "I", next_ifd)
    )
    struct.pack_into(endian + "I", out, 4, new_ifd)
    return bytes(out)
