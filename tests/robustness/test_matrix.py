"""The hostile tester's matrix (issue 16): bad input to every command, each case checked
the same way a user would judge it.

Every case runs the real command line (``app.__main__.main``) in this process on files
the test makes, and asserts:

- the exit code (1 for refused input, 2 for a bad option, 0 where the input is odd but
  valid);
- a refusal is one line a user understands, naming what to do, with no Python
  exception name, errno text or traceback;
- every input file is byte-identical afterwards, and no output, partial or temp file
  is left beside it (a valid case leaves exactly its output).

The cases are data (``CASES``): what is passed, what is expected. Kinds of input: files
that are missing, empty, truncated, text, HTML, a folder or a decompression bomb in every
photo position; empty, faint, mis-sized and broken masks; outputs in missing,
read-only or full folders, outputs that are inputs, folders, unknown formats or names
too long; bad models and pickles in every model loader; bad option values; and odd but
valid photos (16-bit, CMYK, palette, alpha, grey, EXIF-rotated with an upright mask,
1×1) that must work.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import resource
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.__main__ import main

RAW = ("Traceback", "Errno", "Error:", "Exception", "unexpected", "errno", "  File ")
H, W = 40, 56


# --------------------------------------------------------------------------- the files


def photo_pixels(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:H, 0:W]
    base = np.dstack([x / W, y / H, 0.5 + 0.2 * np.sin(x / 4.0)])
    return np.clip(base + 0.05 * rng.standard_normal((H, W, 3)), 0, 1)


def as_u8(values: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(values, 0, 1) * 255).astype(np.uint8)


def mask_pixels(level: int = 255, shape: tuple[int, int] = (H, W)) -> np.ndarray:
    m = np.zeros(shape, np.uint8)
    h, w = shape
    m[h // 4: h // 2, w // 4: w // 2] = level
    return m


def png_bomb(path: Path, side: int = 200_000) -> None:
    """A valid PNG header for side × side pixels with almost no data: Pillow reads the
    size without decoding, so a loader must refuse it before it allocates."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


class Evil:
    """Unpickling this would create a file: proof that a loader ran a pickle."""

    def __init__(self, proof: Path) -> None:
        self.proof = proof

    def __reduce__(self):
        return (os.makedirs, (str(self.proof),))


BAD_FILES: dict[str, Callable[[Path], None]] = {
    "missing": lambda p: None,
    "empty": lambda p: p.write_bytes(b""),
    "truncated": lambda p: p.write_bytes(_png_bytes(photo_pixels())[:300]),
    "text": lambda p: p.write_text("these are my holiday notes, not a photo\n"),
    "html": lambda p: p.write_text("<!DOCTYPE html><html><body>404</body></html>"),
    "folder": lambda p: p.mkdir(),
    "bomb": png_bomb,
}
BAD_FILE_WORDS = {
    "missing": "Could not find",
    "empty": "empty",
    "truncated": "damaged",
    "text": "not an image",
    "html": "not an image",
    "folder": "folder",
    "bomb": "megapixels",
}


def _png_bytes(values: np.ndarray) -> bytes:
    import io

    out = io.BytesIO()
    Image.fromarray(as_u8(values) if values.dtype != np.uint8 else values).save(out, "PNG")
    return out.getvalue()


@dataclass
class Files:
    """The folder of one case: a photo, a guide, a second portrait, masks, a composite."""

    root: Path
    made: dict[str, Path] = field(default_factory=dict)

    def __getitem__(self, name: str) -> str:
        return str(self.made[name])

    def add(self, name: str, filename: str, write: Callable[[Path], None]) -> str:
        path = self.root / filename
        write(path)
        self.made[name] = path
        return str(path)

    def snapshot(self) -> dict[Path, bytes | None]:
        """Every file under the case folder with its bytes (folders as None)."""
        seen: dict[Path, bytes | None] = {}
        for path in sorted(self.root.rglob("*")):
            seen[path] = None if path.is_dir() else path.read_bytes()
        return seen


def standard_files(root: Path) -> Files:
    files = Files(root)
    files.add("photo", "photo.png", lambda p: p.write_bytes(_png_bytes(photo_pixels(0))))
    files.add("guide", "guide.png", lambda p: p.write_bytes(_png_bytes(photo_pixels(1))))
    files.add("second", "second.png", lambda p: p.write_bytes(_png_bytes(photo_pixels(2))))
    files.add("mask", "mask.png", lambda p: p.write_bytes(_png_bytes(mask_pixels())))
    files.add("avoid", "avoid.png", lambda p: p.write_bytes(_png_bytes(mask_pixels()[::-1])))
    return files


# --------------------------------------------------------------------------- the cases


@dataclass(frozen=True)
class Case:
    """``args(files, out)`` builds the command line; ``setup`` may add or break files."""

    id: str
    args: Callable[[Files, str], list[str]]
    code: int
    words: tuple[str, ...] = ()
    setup: Callable[[Files], None] | None = None
    output: str = "out.png"  # the OUT name given (relative to the case folder)
    writes_output: bool = False  # a valid case: exactly OUT appears
    context: Callable[[Files], contextlib.AbstractContextManager] | None = None


COMMANDS: dict[str, Callable[[Files, str], list[str]]] = {
    "remove": lambda f, o: ["remove", f["photo"], "--mask", f["mask"], "-o", o],
    "composite": lambda f, o: ["composite", f["photo"], f["guide"], "--box", "10,8,20,16",
                               "--at", "20,12", "--mask", f["mask"], "-o", o],
    "harmonize": lambda f, o: ["harmonize", f["photo"], "--mask", f["mask"], "-o", o],
    "translate": lambda f, o: ["translate", f["photo"], "-o", o],
    "expression": lambda f, o: ["expression", f["photo"], f["second"], "-o", o],
}
# Which input of which command each photo position is.
PHOTO_POSITIONS = {
    "remove IN": ("remove", "photo"),
    "composite TARGET": ("composite", "photo"),
    "composite GUIDE": ("composite", "guide"),
    "harmonize COMPOSITE": ("harmonize", "photo"),
    "translate IN": ("translate", "photo"),
    "expression FIRST": ("expression", "photo"),
    "expression SECOND": ("expression", "second"),
}


def break_file(name: str, kind: str) -> Callable[[Files], None]:
    def setup(files: Files) -> None:
        path = files.made[name]
        path.unlink()
        BAD_FILES[kind](path)
    return setup


def photo_cases() -> Iterator[Case]:
    for position, (command, name) in PHOTO_POSITIONS.items():
        for kind in BAD_FILES:
            yield Case(f"{position} is {kind}", COMMANDS[command], 1,
                       (BAD_FILE_WORDS[kind],), setup=break_file(name, kind))


MASK_POSITIONS = {
    "remove --mask": ("remove", "mask"),
    "remove --avoid": ("remove-avoid", "avoid"),
    "harmonize --mask": ("harmonize", "mask"),
    "composite --mask": ("composite", "mask"),
}
MASK_COMMANDS = dict(COMMANDS, **{
    "remove-avoid": lambda f, o: ["remove", f["photo"], "--mask", f["mask"], "--avoid",
                                  f["avoid"], "-o", o],
})


def write_mask(values: np.ndarray) -> Callable[[Path], None]:
    return lambda p: p.write_bytes(_png_bytes(values))


def replace_mask(name: str, write: Callable[[Path], None]) -> Callable[[Files], None]:
    def setup(files: Files) -> None:
        files.made[name].unlink()
        write(files.made[name])
    return setup


def mask_cases() -> Iterator[Case]:
    for position, (command, name) in MASK_POSITIONS.items():
        for kind in ("missing", "empty", "truncated", "text", "folder"):
            yield Case(f"{position} is {kind}", MASK_COMMANDS[command], 1,
                       (BAD_FILE_WORDS[kind],), setup=break_file(name, kind))
    blank = np.zeros((H, W), np.uint8)
    faint = mask_pixels(100)
    for position, command, said in (("remove --mask", "remove", "is empty"),
                                    ("harmonize --mask", "harmonize", "is empty"),
                                    ("composite --mask", "composite", "selects nothing")):
        yield Case(f"{position} selects nothing", MASK_COMMANDS[command], 1,
                   ("mask", said), setup=replace_mask("mask", write_mask(blank)))
    yield Case("remove --mask painted at 39 % grey", COMMANDS["remove"], 1,
               ("50 % grey", "39%"), setup=replace_mask("mask", write_mask(faint)))
    yield Case("remove --mask of another size", COMMANDS["remove"], 1, ("mask is", "photo is"),
               setup=replace_mask("mask", write_mask(mask_pixels(255, (30, 30)))))
    yield Case("composite --mask of another size", COMMANDS["composite"], 1,
               ("mask is", "photo is"),
               setup=replace_mask("mask", write_mask(mask_pixels(255, (30, 30)))))
    yield Case("remove --mask selects everything", COMMANDS["remove"], 1, ("whole",),
               setup=replace_mask("mask", write_mask(np.full((H, W), 255, np.uint8))))
    yield Case("remove --avoid covers the whole photo", MASK_COMMANDS["remove-avoid"], 1,
               ("Not enough", "copy from"),
               setup=replace_mask("avoid", write_mask(np.full((H, W), 255, np.uint8))))


def make_read_only(files: Files) -> None:
    sub = files.root / "locked"
    sub.mkdir()
    sub.chmod(0o555)


@contextlib.contextmanager
def read_only(files: Files) -> Iterator[None]:
    """Permissions do not stop root (CI runs as root): there the folder's writability
    is simulated where the commands ask for it, os.access."""
    if os.geteuid() != 0:
        yield
        return
    real_access = os.access

    def access(path, mode, **kwargs):
        if str(path).endswith("locked") and mode & os.W_OK:
            return False
        return real_access(path, mode, **kwargs)

    os.access = access
    try:
        yield
    finally:
        os.access = real_access


def make_existing(files: Files) -> None:
    files.add("existing", "out.png", lambda p: p.write_bytes(b"the user's earlier result"))


def make_folder(files: Files) -> None:
    (files.root / "out.png").mkdir()


@contextlib.contextmanager
def full_disk(files: Files) -> Iterator[None]:
    """Files can grow to 100 bytes: every save hits the limit (EFBIG), as on a full
    disk, without needing root for a tmpfs. Python ignores SIGXFSZ, so writes fail."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (100, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


OUTPUT_KINDS: dict[str, dict] = {
    "in a missing folder": dict(output="nowhere/out.png", words=("does not exist",)),
    "in a read-only folder": dict(output="locked/out.png", words=("read-only",),
                                  setup=make_read_only, context=read_only),
    "already there, no --overwrite": dict(words=("already exists", "--overwrite"),
                                          setup=make_existing),
    "a folder": dict(words=("folder",), setup=make_folder),
    "of an unknown format": dict(output="out.psd", words=("Cannot save as .psd", ".png")),
    "without an extension": dict(output="out", words=("without an extension", ".png")),
    "a name too long": dict(output="x" * 300 + ".png", words=("too long",)),
    "on a full disk": dict(words=("Could not save",), context=full_disk),
}


def output_cases() -> Iterator[Case]:
    for command, build in COMMANDS.items():
        for kind, spec in OUTPUT_KINDS.items():
            if command == "expression" and kind == "on a full disk":
                continue  # no face in generated photos: refused before saving
            yield Case(f"{command} OUT {kind}", build, 1, spec["words"],
                       setup=spec.get("setup"), output=spec.get("output", "out.png"),
                       context=spec.get("context"))
    for position, (command, name) in PHOTO_POSITIONS.items():
        def same(f: Files, o: str, command=command, name=name) -> list[str]:
            args = COMMANDS[command](f, o)
            return args[:args.index("-o")] + ["-o", f[name], "--overwrite"]
        yield Case(f"{command} OUT is {position.split()[1]} with --overwrite", same, 1,
                   ("would replace",))


def model_cases() -> Iterator[Case]:
    def garbage(f: Files) -> None:
        f.add("model", "model.safetensors", lambda p: p.write_bytes(b"\x00not a model" * 9))

    def evil(f: Files) -> None:
        f.add("evil", "vgg16.pth", lambda p: p.write_bytes(
            pickle.dumps(Evil(f.root / "pwned"))))
        f.add("proof", "pwned", lambda p: None)

    yield Case("remove --model that is not a model", lambda f, o: [
        "remove", f["photo"], "--mask", f["mask"], "--engine", "generator", "--model",
        f["model"], "-o", o], 1, ("model.safetensors",), setup=garbage)
    yield Case("remove --model that does not exist", lambda f, o: [
        "remove", f["photo"], "--mask", f["mask"], "--engine", "generator", "--model",
        str(f.root / "nothing.safetensors"), "-o", o], 1, ("nothing.safetensors",))
    yield Case("translate --model that is not a model", lambda f, o: [
        "translate", f["photo"], "--model", f["model"], "-o", o], 1, ("model.safetensors",),
        setup=garbage)
    yield Case("translate --model unknown name", lambda f, o: [
        "translate", f["photo"], "--model", "unicorn2dragon", "-o", o], 1, ("unicorn2dragon",))
    yield Case("weights import a pickle that runs code", lambda f, o: [
        "weights", "import", "vgg16", f["evil"]], 1, ("vgg16.pth",), setup=evil)
    yield Case("weights import a text file", lambda f, o: [
        "weights", "import", "vgg16", f["mask"]], 1, ("mask.png",))
    yield Case("weights import an unknown model", lambda f, o: [
        "weights", "import", "unicorn", f["photo"]], 1, ("unicorn",))
    yield Case("weights card of an unknown model", lambda f, o: [
        "weights", "card", "unicorn"], 1, ("unicorn",))
    yield Case("train-inpainter on a folder without photos", lambda f, o: [
        "train-inpainter", str(f.root / "empty-dir"), "--out",
        str(f.root / "m.safetensors")], 1, ("photo",),
        setup=lambda f: (f.root / "empty-dir").mkdir())
    yield Case("train-translate on a folder without photos", lambda f, o: [
        "train-translate", "--a", str(f.root / "empty-dir"), "--b",
        str(f.root / "empty-dir"), "--out", str(f.root / "m.safetensors")], 1, ("photo",),
        setup=lambda f: (f.root / "empty-dir").mkdir())
    yield Case("train-harmonizer on a folder without photos", lambda f, o: [
        "train-harmonizer", "--photos", str(f.root / "empty-dir"), "--out",
        str(f.root / "m.safetensors")], 1, ("photo",),
        setup=lambda f: (f.root / "empty-dir").mkdir())


def option_cases() -> Iterator[Case]:
    remove = COMMANDS["remove"]
    yield Case("remove --seed -1", lambda f, o: remove(f, o) + ["--seed", "-1"], 2,
               ("0 or more",))
    yield Case("remove --engine unknown", lambda f, o: remove(f, o) + ["--engine", "magic"], 1,
               ("magic",))
    yield Case("remove --quality unknown", lambda f, o: remove(f, o) + ["--quality", "ultra"],
               2, ("ultra",))
    yield Case("harmonize --strength 2", lambda f, o: COMMANDS["harmonize"](f, o)
               + ["--strength", "2"], 1, ("strength",))
    yield Case("composite --box outside the guide", lambda f, o: [
        "composite", f["photo"], f["guide"], "--box", "50,30,40,40", "--at", "0,0", "--mask",
        f["mask"], "-o", o], 1, ("not inside",))
    yield Case("composite --at far off the photo", lambda f, o: [
        "composite", f["photo"], f["guide"], "--box", "10,8,20,16", "--at", "900,900",
        "--mask", f["mask"], "-o", o], 1, ("outside the photo",))
    yield Case("composite --box malformed", lambda f, o: [
        "composite", f["photo"], f["guide"], "--box", "ten,8,20,16", "--at", "0,0",
        "-o", o], 2, ("x,y,w,h",))
    yield Case("expression on photos without faces", COMMANDS["expression"], 1, ("face",))
    yield Case("expression --pairs missing", lambda f, o: [
        "expression", "--pairs", str(f.root / "pairs.csv"), "--out-dir", str(f.root)], 1,
        ("Could not find",))


# Odd but valid photos: each must work, and leave the photo's pixels outside the mask.
def _save_with(filename: str, make: Callable[[], Image.Image], **options) -> Callable[[Files],
                                                                                      None]:
    def setup(files: Files) -> None:
        files.made["photo"].unlink()
        path = files.root / filename
        make().save(path, **options)
        files.made["photo"] = path
    return setup


# How the sensor stored an upright picture, for each EXIF orientation (the viewer undoes it).
STORED = {
    2: (Image.Transpose.FLIP_LEFT_RIGHT,),
    3: (Image.Transpose.ROTATE_180,),
    4: (Image.Transpose.FLIP_TOP_BOTTOM,),
    5: (Image.Transpose.TRANSPOSE,),
    6: (Image.Transpose.ROTATE_90,),
    7: (Image.Transpose.TRANSVERSE,),
    8: (Image.Transpose.ROTATE_270,),
}


def _exif_rotated(orientation: int = 6) -> Image.Image:
    stored = Image.fromarray(as_u8(photo_pixels()))  # W×H as the user sees it
    for step in STORED[orientation]:
        stored = stored.transpose(step)
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored.info["exif"] = exif.tobytes()
    return stored


def valid_cases() -> Iterator[Case]:
    pixels = as_u8(photo_pixels())
    odd = {
        "16-bit PNG": ("photo16.png", lambda: Image.fromarray(
            (photo_pixels()[..., 0] * 65535).astype(np.uint16)), {}),
        "CMYK JPEG": ("cmyk.jpg", lambda: Image.fromarray(pixels).convert("CMYK"),
                      {"quality": 95}),
        "palette PNG": ("palette.png", lambda: Image.fromarray(pixels).convert("P"), {}),
        "RGBA PNG": ("alpha.png", lambda: Image.fromarray(np.dstack(
            [pixels, np.full((H, W), 200, np.uint8)])), {}),
        "greyscale JPEG": ("grey.jpg", lambda: Image.fromarray(pixels[..., 1]), {}),
        **{f"JPEG with EXIF orientation {o} and an upright mask": (f"rotated{o}.jpg", None, {})
           for o in STORED},
        "16-bit colour TIFF": ("photo16.tif", None, {}),
        "photo with spaces and accents in its name": ("ma photo d'été #1.png",
                                                      lambda: Image.fromarray(pixels), {}),
        "photo whose name starts with a dash (with its folder)": (
            "-photo.png", lambda: Image.fromarray(pixels), {}),
        "WebP": ("photo.webp", lambda: Image.fromarray(pixels), {"lossless": True}),
        "BMP": ("photo.bmp", lambda: Image.fromarray(pixels), {}),
    }
    for label, (filename, make, options) in odd.items():
        def args(f: Files, o: str) -> list[str]:
            return ["remove", f["photo"], "--mask", f["mask"], "-o", o]
        if "EXIF orientation" in label:
            setup = _save_exif(filename, int(label.split("orientation ")[1][0]))
        elif label == "16-bit colour TIFF":
            setup = _save_tiff16(filename)
        else:
            setup = _save_with(filename, make, **options)
        yield Case(f"remove on a {label}", args, 0, writes_output=True, setup=setup)
    yield Case("remove on a 1×1 photo", lambda f, o: ["remove", f["photo"], "--mask",
               f["mask"], "-o", o], 1, ("whole photo",), setup=_one_by_one)


def _save_tiff16(filename: str) -> Callable[[Files], None]:
    def setup(files: Files) -> None:
        import cv2

        files.made["photo"].unlink()
        path = files.root / filename
        cv2.imwrite(str(path), np.rint(photo_pixels()[..., ::-1] * 65535).astype(np.uint16))
        files.made["photo"] = path
    return setup


def _save_exif(filename: str, orientation: int) -> Callable[[Files], None]:
    def setup(files: Files) -> None:
        files.made["photo"].unlink()
        path = files.root / filename
        image = _exif_rotated(orientation)
        image.save(path, exif=image.info["exif"], quality=95)
        files.made["photo"] = path
    return setup


def _one_by_one(files: Files) -> None:
    Image.fromarray(np.zeros((1, 1, 3), np.uint8)).save(files.made["photo"])
    Image.fromarray(np.full((1, 1), 255, np.uint8)).save(files.made["mask"])


CASES = [*photo_cases(), *mask_cases(), *output_cases(), *model_cases(), *option_cases(),
         *valid_cases()]


def test_the_matrix_is_as_large_as_the_issue_asks():
    assert len(CASES) >= 120
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input(case: Case, tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setenv("TRANSFIGURE_MAX_PIXELS", "50000000")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))  # weights import goes here
    root = tmp_path / "case"
    root.mkdir()
    files = standard_files(root)
    if case.setup is not None:
        case.setup(files)
    before = files.snapshot()
    out = str(root / case.output)
    args = case.args(files, out)
    capsys.readouterr()
    with case.context(files) if case.context else contextlib.nullcontext():
        try:
            code = main(args)
        finally:
            if (root / "locked").exists():
                (root / "locked").chmod(0o755)
    err = capsys.readouterr().err
    assert code == case.code, err
    assert not any(word in err for word in RAW), err
    after = files.snapshot()
    new = sorted(set(after) - set(before))
    for path, data in before.items():
        assert after.get(path, "gone") == data, f"{path.name} changed"
    if case.writes_output:
        assert new == [Path(out)], new
        assert_pixels_kept(files, Path(out))
        return
    assert new == [], f"left behind: {[p.name for p in new]}"
    lines = [line for line in err.strip().splitlines() if not line.startswith("Note:")]
    assert len(lines) == 1, err  # one line, whatever notes came first
    for word in case.words:
        assert word in lines[0], (word, lines[0])


def assert_pixels_kept(files: Files, out: Path) -> None:
    """Outside the mask the result is the photo as loaded (upright, 8-bit or 16-bit)."""
    from engines.imageio import load_image, load_mask

    photo = load_image(files.made["photo"])
    mask = load_mask(files.made["mask"], photo.pixels.shape)
    result = load_image(out)
    assert result.pixels.shape == photo.pixels.shape
    tolerance = 1 / 255 + 1e-6  # a JPEG or CMYK source is saved as 8-bit PNG
    assert np.abs(result.pixels[~mask] - photo.pixels[~mask]).max() <= tolerance
