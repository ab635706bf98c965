"""The weights registry, downloader and safe loader, against a local HTTP server only."""

from __future__ import annotations

import hashlib
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from engines import store
from engines.base import Cancelled, CancelToken, EngineError
from engines.store import weights
from engines.store.weights import WeightsEntry, WeightsError, WeightsMissing

SIZE = 3 * (1 << 20)
DATA = os.urandom(SIZE)
SHA = hashlib.sha256(DATA).hexdigest()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    mode = "normal"  # normal | drop | wrong | ignore-range
    ranges: list[str | None]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        header = self.headers.get("Range")
        self.server.ranges.append(header)
        mode = self.server.mode
        body = bytes(b ^ 0xFF for b in DATA[:16]) + DATA[16:] if mode == "wrong" else DATA
        start = 0
        match = re.fullmatch(r"bytes=(\d+)-", header or "")
        if match and mode != "ignore-range":
            start = int(match.group(1))
            if start >= SIZE:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{SIZE}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{SIZE - 1}/{SIZE}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(SIZE - start))
        self.end_headers()
        if mode == "drop":  # promise everything, deliver half the file, hang up
            self.wfile.write(body[start : SIZE // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body[start:])


@pytest.fixture(autouse=True)
def _offline_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A private cache per test, and no proxy that could take 127.0.0.1 off this machine."""
    monkeypatch.setenv("TRANSFIGURE_CACHE_DIR", str(tmp_path / "cache"))
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("NO_PROXY", "*")


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.ranges = []
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def make_entry(url: str, sha: str = SHA, size: int = SIZE, fmt: str = "torch") -> WeightsEntry:
    return WeightsEntry(
        name="testnet",
        title="Test network",
        url=url,
        sha256=sha,
        size=size,
        filename="testnet.bin",
        licence="CC0 test data",
        needed_by=("tests",),
        format=fmt,
    )


@pytest.fixture
def served(server: _Server) -> WeightsEntry:
    return make_entry(f"http://127.0.0.1:{server.server_address[1]}/testnet.bin")


def part_of(e: WeightsEntry) -> Path:
    return weights.path_for(e).with_name(e.filename + ".part")


def cache_files() -> list[str]:
    folder = store.user_root()
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# ------------------------------------------------------------------------ registry


def test_packaged_registry_describes_torchvision_vgg19() -> None:
    vgg = weights.load_registry()["vgg19"]
    assert vgg.url == "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"
    assert vgg.sha256 == "dcbb9e9dad569fff7a846263a77324fc34978fea2bfb039c012d710e1776ae44"
    assert vgg.size == 574673361
    assert vgg.format == "torch"
    assert "BSD-3-Clause" in vgg.licence
    assert "remove/neural-patch" in vgg.needed_by
    assert weights.entry("vgg19") == vgg


def test_unknown_model_lists_known_ones() -> None:
    with pytest.raises(WeightsError) as info:
        weights.entry("vgg99")
    assert "Unknown model 'vgg99'" in str(info.value)
    assert "vgg19" in str(info.value)


def test_registry_file_with_bad_checksum_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "models.toml"
    path.write_text(
        '[x]\ntitle="x"\nurl="http://127.0.0.1/x"\nsha256="abc"\nsize=1\nfilename="x"\n'
        'licence="l"\nneeded_by=[]\nformat="torch"\n'
    )
    with pytest.raises(WeightsError, match="invalid checksum"):
        weights.load_registry(path)


def test_default_cache_dir_is_per_user_weights_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRANSFIGURE_CACHE_DIR")
    folder = store.user_root()
    assert folder.name == "weights"
    assert "transfigure" in str(folder).lower()


def test_listing_touches_no_network(server: _Server, served: WeightsEntry) -> None:
    rows = weights.status_rows({served.name: served})
    assert rows == [("testnet", "Test network", False, SIZE, "CC0 test data", ("tests",))]
    assert server.ranges == []  # no request at all


def test_module_imports_without_torch() -> None:
    code = "import sys, engines.store.weights; sys.exit('torch' in sys.modules)"
    root = Path(__file__).parents[2]
    assert subprocess.run([sys.executable, "-c", code], cwd=root).returncode == 0


# ------------------------------------------------------------------------ download


def test_download_installs_verified_file_with_progress(
    server: _Server, served: WeightsEntry
) -> None:
    seen: list[tuple[int, int]] = []
    path = weights.download(served, progress=lambda d, t: seen.append((d, t)))
    assert path == weights.path_for(served)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SHA
    assert not part_of(served).exists()
    assert weights.is_installed(served) and weights.verify(served)
    assert seen[-1] == (SIZE, SIZE)
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:], strict=False))
    assert server.ranges == [None]


def test_download_of_installed_file_does_not_reach_the_server(
    server: _Server, served: WeightsEntry
) -> None:
    weights.download(served)
    weights.download(served)
    assert len(server.ranges) == 1


def test_wrong_bytes_are_deleted_with_checksum_error(server: _Server, served: WeightsEntry) -> None:
    server.mode = "wrong"
    with pytest.raises(WeightsError) as info:
        weights.download(served)
    assert "checksum" in str(info.value)
    assert "deleted" in str(info.value)
    assert cache_files() == []
    assert not weights.is_installed(served)


def test_dropped_connection_keeps_part_and_resumes(server: _Server, served: WeightsEntry) -> None:
    server.mode = "drop"
    with pytest.raises(WeightsError) as info:
        weights.download(served)
    assert "interrupted" in str(info.value)
    assert "resume" in str(info.value)
    kept = part_of(served).stat().st_size
    assert 0 < kept < SIZE
    assert not weights.path_for(served).exists()

    server.mode = "normal"
    seen: list[tuple[int, int]] = []
    path = weights.download(served, progress=lambda d, t: seen.append((d, t)))
    assert server.ranges[-1] == f"bytes={kept}-"
    assert seen[0][0] == kept and seen[-1] == (SIZE, SIZE)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SHA
    assert not part_of(served).exists()


def test_server_ignoring_range_restarts_from_zero(server: _Server, served: WeightsEntry) -> None:
    part_of(served).parent.mkdir(parents=True)
    part_of(served).write_bytes(b"\0" * 1000)  # would corrupt the file if appended to
    server.mode = "ignore-range"
    path = weights.download(served)
    assert server.ranges == ["bytes=1000-"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SHA


def test_complete_part_is_verified_when_server_answers_416(
    server: _Server, served: WeightsEntry
) -> None:
    part_of(served).parent.mkdir(parents=True)
    part_of(served).write_bytes(DATA)
    path = weights.download(served)
    assert server.ranges == [f"bytes={SIZE}-"]
    assert path.read_bytes() == DATA


def test_server_down_fails_fast_with_clear_message() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    e = make_entry(f"http://127.0.0.1:{port}/testnet.bin")
    started = time.monotonic()
    with pytest.raises(WeightsError) as info:
        weights.download(e, timeout=5)
    assert time.monotonic() - started < 5
    message = str(info.value)
    assert message.startswith("Could not download testnet from 127.0.0.1")
    assert "connection refused" in message
    assert "transfigure weights import testnet FILE" in message
    assert info.value.detail  # technical text kept for the details section
    assert not weights.is_installed(e)


class _NotFound(_Handler):
    def do_GET(self) -> None:  # noqa: N802
        self.send_error(404)


def test_http_error_is_reported(server: _Server) -> None:
    port = server.server_address[1]
    e = make_entry(f"http://127.0.0.1:{port}/missing.bin")
    server.RequestHandlerClass = _NotFound
    with pytest.raises(WeightsError, match="HTTP 404"):
        weights.download(e)


def test_cancel_keeps_part_for_later_resume(server: _Server, served: WeightsEntry) -> None:
    token = CancelToken()

    def cancel_after_first_chunk(done: int, total: int) -> None:
        if done > 0:
            token.cancel()

    with pytest.raises(Cancelled):
        weights.download(served, progress=cancel_after_first_chunk, cancel=token)
    kept = part_of(served).stat().st_size
    assert 0 < kept < SIZE
    assert not weights.path_for(served).exists()

    path = weights.download(served)
    assert server.ranges[-1] == f"bytes={kept}-"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SHA


# -------------------------------------------------------------------------- import


def test_import_good_file(tmp_path: Path) -> None:
    source = tmp_path / "mine.bin"
    source.write_bytes(DATA)
    e = make_entry("http://127.0.0.1:9/never-used")
    path = weights.import_file(e, source)
    assert path.read_bytes() == DATA
    assert weights.is_installed(e)
    assert cache_files() == [e.filename]  # no temporary file left behind
    assert source.exists()  # copied, not moved


def test_import_bad_file_installs_nothing(tmp_path: Path) -> None:
    source = tmp_path / "other.bin"
    source.write_bytes(b"not the weights")
    e = make_entry("http://127.0.0.1:9/never-used")
    with pytest.raises(WeightsError) as info:
        weights.import_file(e, source)
    message = str(info.value)
    assert "checksum" in message
    assert SHA[:12] in message
    assert hashlib.sha256(b"not the weights").hexdigest()[:12] in message
    assert cache_files() == []
    # The user's own file is intact, and the sentence says so (issue 16, defect 10).
    assert source.read_bytes() == b"not the weights"
    assert "your file was left as it is" in message and "was deleted" not in message


def test_import_missing_source(tmp_path: Path) -> None:
    e = make_entry("http://127.0.0.1:9/never-used")
    with pytest.raises(WeightsError, match="does not exist"):
        weights.import_file(e, tmp_path / "nope.bin")


# ---------------------------------------------------------------------------- load


def _install_raw(e: WeightsEntry) -> Path:
    path = weights.path_for(e)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def test_load_safetensors_round_trip() -> None:
    import torch
    from safetensors.torch import save_file

    e = make_entry("http://127.0.0.1:9/x", fmt="safetensors")
    tensors = {"conv.weight": torch.randn(4, 3, 3, 3), "conv.bias": torch.arange(4.0)}
    save_file(tensors, str(_install_raw(e)))
    loaded = weights.load_state_dict(e)
    assert loaded.keys() == tensors.keys()
    assert all(torch.equal(loaded[k], tensors[k]) for k in tensors)


def test_load_torch_round_trip() -> None:
    import torch

    e = make_entry("http://127.0.0.1:9/x", fmt="torch")
    tensors = {"fc.weight": torch.randn(5, 2), "fc.bias": torch.zeros(5)}
    torch.save(tensors, _install_raw(e))
    loaded = weights.load_state_dict(e)
    assert loaded.keys() == tensors.keys()
    assert all(torch.equal(loaded[k], tensors[k]) for k in tensors)


class _Exploit:
    """Unpickling this runs a shell command: what a hostile checkpoint would do."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, (f"touch '{self.target}'",)


@pytest.mark.skipif(sys.platform == "win32", reason="uses touch")
def test_code_executing_pickle_is_refused(tmp_path: Path) -> None:
    import torch

    marker = tmp_path / "pwned"
    e = make_entry("http://127.0.0.1:9/x", fmt="torch")
    path = _install_raw(e)
    torch.save({"w": torch.zeros(1), "x": _Exploit(marker)}, path)

    with pytest.raises(WeightsError) as info:
        weights.load_state_dict(e)
    assert "could not be loaded safely" in str(info.value)
    assert not marker.exists()

    # The payload is real: an unsafe load would have run it.
    torch.load(path, weights_only=False)
    assert marker.exists()


def test_damaged_file_is_a_weights_error() -> None:
    e = make_entry("http://127.0.0.1:9/x", fmt="safetensors")
    _install_raw(e).write_bytes(b"\x00garbage" * 10)
    with pytest.raises(WeightsError, match="could not be loaded"):
        weights.load_state_dict(e)


def test_missing_weights_name_the_fix() -> None:
    vgg = weights.entry("vgg19")
    with pytest.raises(WeightsMissing) as info:
        weights.load_state_dict(vgg)
    assert isinstance(info.value, EngineError)
    assert "The vgg19 weights are not installed" in str(info.value)
    assert "transfigure weights download vgg19" in str(info.value)
