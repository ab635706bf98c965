"""The ``transfigure`` command line, driven in-process (``main``) and once as a real process.

Every image is made here: a small colourful periodic texture with a black-and-red blob
(the "distractor") and a mask PNG that is white over the blob.
"""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageCms

from app.__main__ import main

ROOT = Path(__file__).resolve().parents[2]
SIZE = 96
HOLE = (slice(28, 52), slice(38, 64))  # rows, columns of the white mask rectangle


# ----------------------------------------------------------------------------- images


def texture(bit_depth: int = 8) -> np.ndarray:
    """Periodic colour stripes and checks, with a black box and a red core in the hole."""
    y, x = np.mgrid[0:SIZE, 0:SIZE]
    img = np.zeros((SIZE, SIZE, 3), np.float64)
    img[..., 0] = np.where((x // 6) % 2 == 0, 0.78, 0.16)
    img[..., 1] = np.where((y // 8) % 2 == 0, 0.70, 0.24)
    img[..., 2] = ((x + y) * 5 % 256) / 255.0
    img[30:50, 40:62] = (0.0, 0.0, 0.0)
    img[36:44, 46:56] = (1.0, 0.0, 0.0)
    if bit_depth == 16:
        # + a small ramp so the values are not multiples of 257 (true 16-bit data)
        values = np.round(img * 65000 + (x % 7 * 37)[..., None]).astype(np.uint16)
        values[30:50, 40:62] = (0, 0, 0)
        values[36:44, 46:56] = (65535, 0, 0)
        return values
    return np.round(img * 255).astype(np.uint8)


def blob_mask() -> np.ndarray:
    mask = np.zeros((SIZE, SIZE), bool)
    mask[HOLE] = True
    return mask


def write_mask(path: Path, mask: np.ndarray) -> Path:
    Image.fromarray(np.where(mask, 255, 0).astype(np.uint8), "L").save(path)
    return path


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Weights cache in tmp_path; CPU only, so results are reproducible on any machine."""
    monkeypatch.setenv("TRANSFIGURE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TRANSFIGURE_DEVICE", "cpu")
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "in.png"
    Image.fromarray(texture()).save(path)
    return path


@pytest.fixture
def mask(tmp_path: Path) -> Path:
    return write_mask(tmp_path / "mask.png", blob_mask())


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_filled(before: np.ndarray, after: np.ndarray, mask: np.ndarray) -> None:
    """Untouched pixels are bit-exact; the blob is gone (no black or pure red left)."""
    assert after.shape == before.shape and after.dtype == before.dtype
    np.testing.assert_array_equal(after[~mask], before[~mask])
    top = np.iinfo(before.dtype).max
    hole = after[mask].astype(np.int64)
    black = (hole.max(axis=1) < top * 0.05).mean()
    red = ((hole[:, 0] > top * 0.95) & (hole[:, 1:].max(axis=1) < top * 0.05)).mean()
    assert black < 0.05 and red < 0.05, (black, red)
    # the fill looks like its surroundings: the hole's mean is near the photo's mean
    assert abs(hole.mean() - before[~mask].mean()) < 0.15 * top


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("transfigure: error: ")
    return lines[0]


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


# ----------------------------------------------------------------------------- remove


def test_remove_as_a_real_command(tmp_path: Path, photo: Path, mask: Path) -> None:
    out = tmp_path / "out.png"
    proc = subprocess.run(
        [sys.executable, "-m", "app", "remove", "in.png", "--mask", "mask.png", "-o", "out.png"],
        cwd=tmp_path, env=subprocess_env(), capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # stderr is a pipe, not a terminal: quiet on success
    after = np.asarray(Image.open(out))
    assert_filled(texture(), after, blob_mask())


def test_remove_in_process_is_quiet_and_exact(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, photo: Path, mask: Path
) -> None:
    out = tmp_path / "out.png"
    code, stdout, stderr = run(capsys, "remove", photo, "--mask", mask, "-o", out,
                               "--quality", "fast")
    assert (code, stdout, stderr) == (0, "", "")
    with Image.open(out) as im:
        assert im.mode == "RGB"
        after = np.asarray(im)
    assert_filled(texture(), after, blob_mask())


def test_remove_keeps_sixteen_bits(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, mask: Path
) -> None:
    before = texture(16)
    src = tmp_path / "deep.png"
    assert cv2.imwrite(str(src), before[..., ::-1])
    out = tmp_path / "deep-out.png"
    code, _, err = run(capsys, "remove", src, "--mask", mask, "-o", out)
    assert code == 0, err
    after = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert after is not None and after.dtype == np.uint16
    assert_filled(before, after[..., ::-1], blob_mask())


def test_remove_keeps_alpha_icc_and_exif(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, mask: Path
) -> None:
    rgb = texture()
    alpha = np.tile(np.linspace(40, 255, SIZE).astype(np.uint8), (SIZE, 1))
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x010F] = "Transfigure Test Camera"  # Make
    src = tmp_path / "layer.png"
    Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(src, icc_profile=icc, exif=exif)
    out = tmp_path / "layer-out.png"
    code, _, err = run(capsys, "remove", src, "--mask", mask, "-o", out)
    assert code == 0, err
    with Image.open(out) as im:
        assert im.mode == "RGBA"
        assert im.info.get("icc_profile") == icc
        assert im.getexif().get(0x010F) == "Transfigure Test Camera"
        values = np.asarray(im)
    np.testing.assert_array_equal(values[..., 3], alpha)
    assert_filled(rgb, values[..., :3], blob_mask())


def test_remove_is_deterministic_for_a_seed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, photo: Path, mask: Path
) -> None:
    outs = [tmp_path / "a.png", tmp_path / "b.png"]
    for out in outs:
        code, _, err = run(capsys, "remove", photo, "--mask", mask, "-o", out,
                           "--seed", 7, "--device", "cpu")
        assert code == 0, err
    assert outs[0].read_bytes() == outs[1].read_bytes()


def test_remove_refuses_to_overwrite_unless_asked(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, photo: Path, mask: Path
) -> None:
    out = tmp_path / "out.png"
    out.write_bytes(b"an earlier result the user wants to keep")
    code, _, err = run(capsys, "remove", photo, "--mask", mask, "-o", out)
    assert code == 1
    assert "exists" in one_line(err) and "--overwrite" in err
    assert out.read_bytes() == b"an earlier result the user wants to keep"

    code, _, err = run(capsys, "remove", photo, "--mask", mask, "-o", out, "--overwrite")
    assert code == 0, err
    assert_filled(texture(), np.asarray(Image.open(out)), blob_mask())


@pytest.mark.parametrize("extra", [[], ["--overwrite"]])
def test_remove_never_writes_onto_the_input(
    capsys: pytest.CaptureFixture[str], photo: Path, mask: Path, extra: list[str]
) -> None:
    original = photo.read_bytes()
    code, _, err = run(capsys, "remove", photo, "--mask", mask, "-o", photo, *extra)
    assert code == 1
    assert "original" in one_line(err)
    assert photo.read_bytes() == original


def test_remove_refuses_an_empty_mask(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, photo: Path
) -> None:
    empty = write_mask(tmp_path / "empty.png", np.zeros((SIZE, SIZE), bool))
    out = tmp_path / "out.png"
    code, _, err = run(capsys, "remove", photo, "--mask", empty, "-o", out)
    assert code == 1
    assert "mask is empty" in one_line(err)
    assert not out.exists()


def test_remove_refuses_a_mask_of_another_size(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, photo: Path
) -> None:
    small = write_mask(tmp_path / "small.png", np.ones((64, 80), bool))
    out = tmp_path / "out.png"
    code, _, err = run(capsys, "remove", photo, "--mask", small, "-o", out)
    assert code == 1
    line = one_line(err)
    assert re.search(r"80\s*[×x]\s*64", line) and re.search(r"96\s*[×x]\s*96", line), line
    assert not out.exists()


def test_remove_names_a_missing_input(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, mask: Path
) -> None:
    code, stdout, err = run(capsys, "remove", "holiday.png", "--mask", mask, "-o", "out.png")
    assert code == 1 and stdout == ""
    assert "holiday.png" in one_line(err)
    assert not (tmp_path / "out.png").exists()


def test_remove_unknown_engine_lists_the_choices(
    capsys: pytest.CaptureFixture[str], photo: Path, mask: Path
) -> None:
    code, _, err = run(capsys, "remove", photo, "--mask", mask, "-o", "out.png",
                       "--engine", "magic")
    assert code == 1
    line = one_line(err)
    assert "magic" in line and "patchmatch" in line


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], photo: Path) -> None:
    code, _, err = run(capsys, "remove", photo, "-o", "out.png")  # no --mask
    assert code == 2 and "--mask" in err
    code, _, err = run(capsys, "frobnicate")
    assert code == 2 and "invalid choice" in err


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Stand in for the desktop window: ``app.gui.window`` becomes a module whose
    ``run_window`` records the files it is given (PySide6 is never imported), and the
    platform check is skipped (offscreen needs no display)."""
    calls: list[list[str]] = []

    def run_window(files: list[str]) -> int:
        calls.append(list(files))
        return 0

    monkeypatch.setitem(sys.modules, "app.gui.window", types.SimpleNamespace(run_window=run_window))
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    return calls


def test_no_command_opens_the_window(
    capsys: pytest.CaptureFixture[str], photo: Path, opened: list[list[str]]
) -> None:
    assert run(capsys) == (0, "", "")
    assert run(capsys, photo) == (0, "", "")
    assert run(capsys, "--debug", photo) == (0, "", "")
    # a photo that is not there: the window opens and says so itself
    assert run(capsys, "gone/missing.jpg") == (0, "", "")
    assert opened == [[], [str(photo)], [str(photo)], ["gone/missing.jpg"]]


def test_help_and_unknown_words_do_not_open_the_window(
    capsys: pytest.CaptureFixture[str], opened: list[list[str]]
) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    assert "usage: transfigure" in out and "remove" in out and "weights" in out
    code, _, err = run(capsys, "frobnicate")  # not a command, not a path: a usage error
    assert code == 2 and "invalid choice" in err
    assert opened == []


# ---------------------------------------------------------------- progress and Ctrl-C


class TerminalBuffer(io.StringIO):
    """A stderr that says it is a terminal, so the progress bar is drawn."""

    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, photo: Path, mask: Path
) -> None:
    terminal = TerminalBuffer()
    monkeypatch.setattr(sys, "stderr", terminal)
    code = main(["remove", str(photo), "--mask", str(mask), "-o", str(tmp_path / "o.png")])
    text = terminal.getvalue()
    assert code == 0, text
    bar, _, summary = text.rpartition("\n")[0].rpartition("\n")
    assert "\r" in bar
    last = bar.split("\r")[-1]
    # percentage, step/total, the engine's message, the elapsed time
    assert re.search(r"100%\s+(\d+)/\1\s+Done\s+0:0\d", last), last
    assert "saved" in summary and "o.png" in summary


FAKE_ENGINES = textwrap.dedent(
    '''
    import signal
    import time

    from engines.base import Progress
    from engines.remove.request import RemoveResult


    class InterruptedEngine:
        """Reports progress, then the user presses Ctrl-C; it stops at the cancel token."""

        stopped_by_token = False

        def run(self, request, report, cancel):
            report(Progress(1, 10, "Filling"))
            signal.raise_signal(signal.SIGINT)  # delivered to the main thread, like Ctrl-C
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if cancel.cancelled:
                    type(self).stopped_by_token = True
                    cancel.raise_if_set()
                time.sleep(0.01)
            return RemoveResult(request.image)
    '''
)


@pytest.fixture
def fake_engines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Add engines to the registry for one test (removed again afterwards)."""
    from engines import registry

    (tmp_path / "transfigure_fake_engines.py").write_text(FAKE_ENGINES)
    monkeypatch.syspath_prepend(str(tmp_path))
    registry.entries("remove")  # load the built-in engines first

    def add(name: str, target: str, availability: registry.Availability | None = None):
        entry = registry.EngineEntry(
            operation="remove", name=name, title=f"Test engine {name}", description="",
            target=target, check=lambda: availability or registry.Availability(True),
        )
        monkeypatch.setitem(registry._ENTRIES["remove"], name, entry)

    return add


def test_ctrl_c_cancels_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, photo: Path, mask: Path, fake_engines
) -> None:
    fake_engines("interrupted", "transfigure_fake_engines:InterruptedEngine")
    # As at a terminal: a runner started in the background (``cmd &``) inherits Ctrl-C
    # ignored, and the command rightly cannot be interrupted there.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    out = tmp_path / "out.png"
    try:
        code, _, err = run(capsys, "remove", photo, "--mask", mask, "-o", out,
                           "--engine", "interrupted")
    finally:
        signal.signal(signal.SIGINT, previous)
    assert code == 130
    assert err.strip() == "Cancelled; nothing was written."
    assert not out.exists()
    import transfigure_fake_engines

    assert transfigure_fake_engines.InterruptedEngine.stopped_by_token


def test_unavailable_engine_says_why_and_how_to_fix(
    capsys: pytest.CaptureFixture[str], photo: Path, mask: Path, fake_engines
) -> None:
    from engines.registry import Availability

    fake_engines("neural-test", "transfigure_fake_engines:InterruptedEngine",
                 Availability(False, "The test weights are not installed.",
                              "transfigure weights download test"))
    code, _, err = run(capsys, "remove", photo, "--mask", mask, "-o", "out.png",
                       "--engine", "neural-test")
    assert code == 1
    line = one_line(err)
    assert "not installed" in line and "transfigure weights download test" in line

    code, out, _ = run(capsys, "engines")
    assert code == 0
    row = next(r for r in out.splitlines() if "neural-test" in r)
    assert "unavailable: The test weights are not installed." in row
    assert "(fix: transfigure weights download test)" in row


# ---------------------------------------------------------------------------- engines


def test_engines_lists_patchmatch_as_available(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "engines")
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == "remove:"
    row = next(r for r in out.splitlines() if "patchmatch" in r)
    assert "(default)" in row and row.rstrip().endswith("available")
    assert "unavailable" not in row


# ---------------------------------------------------------------------------- weights


def test_weights_list_shows_vgg19_not_installed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = run(capsys, "weights", "list")
    assert code == 0
    row = next(r for r in out.splitlines() if r.startswith("vgg19 "))
    assert "not installed" in row and "574.7 MB" in row and "remove/neural-patch" in row
    assert str(tmp_path / "cache") in out


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    import urllib.request

    from engines.store import weights

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("the network was used")

    monkeypatch.setattr(urllib.request, "urlopen", forbidden)
    monkeypatch.setattr(weights, "download", forbidden)


def test_weights_download_without_terminal_or_yes_refuses(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    no_network: None,
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))  # piped input is not consent
    code, out, err = run(capsys, "weights", "download", "vgg19")
    assert code == 1
    assert "download.pytorch.org" in out and "BSD-3-Clause" in out  # licence and host first
    assert "--yes" in one_line(err)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


def test_weights_download_with_yes_needs_no_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from engines.store import weights

    def fake_download(e, progress, cancel):
        progress(e.size, e.size)
        return tmp_path / "cache" / e.filename

    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    monkeypatch.setattr(weights, "download", fake_download)
    code, out, err = run(capsys, "weights", "download", "vgg19", "--yes")
    assert (code, err) == (0, "")
    assert "BSD-3-Clause" in out and "Installed vgg19" in out


def test_weights_download_ctrl_c_keeps_the_partial_file(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import signal
    import time

    from engines.base import Cancelled
    from engines.store import weights

    def interrupted_download(e, progress, cancel):
        progress(100_000_000, e.size)
        signal.raise_signal(signal.SIGINT)
        deadline = time.monotonic() + 20
        while not cancel.cancelled and time.monotonic() < deadline:
            time.sleep(0.01)
        raise Cancelled("Cancelled by the user.")

    monkeypatch.setattr(weights, "download", interrupted_download)
    code, _, err = run(capsys, "weights", "download", "vgg19", "--yes")
    assert code == 130
    assert "100.0 of 574.7 MB" in err and "again to resume" in err


def test_weights_import_checks_the_checksum(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bogus = tmp_path / "vgg19.pth"
    bogus.write_bytes(b"not the real weights" * 100)
    code, _, err = run(capsys, "weights", "import", "vgg19", bogus)
    assert code == 1
    assert re.search(r"checksum", one_line(err)) and "match" in err
    _, out, _ = run(capsys, "weights", "list")
    assert "not installed" in next(r for r in out.splitlines() if r.startswith("vgg19 "))


def test_unknown_model_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "weights", "import", "vgg91", "x.pth")
    assert code == 1 and "vgg19" in one_line(err)


# ---------------------------------------------------------------------- unexpected errors


def test_unexpected_error_is_one_line_unless_debug(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from engines.store import weights

    def broken(*args: object) -> None:
        raise RuntimeError("the registry fell over")

    monkeypatch.setattr(weights, "status_rows", broken)
    code, _, err = run(capsys, "weights", "list")
    assert code == 1
    line = one_line(err)
    assert "the registry fell over" in line and "--debug" in line

    code, _, err = run(capsys, "--debug", "weights", "list")
    assert code == 1 and "Traceback" in err and "RuntimeError" in err
    code, _, err = run(capsys, "weights", "list", "--debug")
    assert code == 1 and "Traceback" in err


# ----------------------------------------------------------------------------- start-up


def test_cli_imports_neither_torch_nor_qt(tmp_path: Path, photo: Path, mask: Path) -> None:
    code = textwrap.dedent(
        """
        import sys
        import app.cli, engines.remove.patchmatch
        from app.__main__ import main
        rc = main(["remove", "in.png", "--mask", "mask.png", "-o", "out.png",
                   "--device", "cpu"])
        heavy = sorted(m for m in ("torch", "PySide6") if m in sys.modules)
        print(rc, heavy)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=subprocess_env(),
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "0 []"
    assert (tmp_path / "out.png").is_file()
