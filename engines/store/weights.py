"""Pretrained weights from elsewhere: registry, download, import and safe loading.

Weights are large, licensed separately and need a network the user may not have, so
nothing here runs on its own: a download starts only when a front end calls
``download`` after an explicit user action, and a missing file is a normal state that
engines report with the one command that fixes it (see DESIGN.md, "Weights").
Every installed file has passed a sha256 check, and loading never runs pickled code.
The registry is ``resources/models.toml``; the files live in the user's models folder
(``engines.store.user_root``).

torch and safetensors are imported inside the functions that need them, so listing
weights (``transfigure weights list``, the engines' availability) stays instant.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import socket
import tomllib
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, NamedTuple
from urllib.parse import urlparse

from engines.base import CancelToken, EngineError
from engines.files import atomic_write, install_finished
from engines.resources import weights_registry_file
from engines.store.folders import user_root
from engines.store.tensors import load_tensors

if TYPE_CHECKING:
    import torch

CHUNK = 1 << 20
# "nvidia-pickle": a network pickle only an allow-listed converter may read (StyleGAN2).
FORMATS = ("torch", "safetensors", "nvidia-pickle")
_REQUIRED_KEYS = ("title", "url", "sha256", "size", "filename", "licence", "needed_by", "format")

ByteProgress = Callable[[int, int], None]


class WeightsError(EngineError):
    """Weights could not be found, fetched, verified or loaded; the message says what to do."""


class WeightsMissing(WeightsError):
    """The weights are not installed; a normal state that the user fixes by one command."""


@dataclass(frozen=True)
class WeightsEntry:
    """One downloadable weights file, as described in ``models.toml``."""

    name: str
    title: str
    url: str
    sha256: str
    size: int
    filename: str
    licence: str
    needed_by: tuple[str, ...]
    format: str

    @property
    def host(self) -> str:
        return urlparse(self.url).hostname or self.url


class StatusRow(NamedTuple):
    name: str
    title: str
    installed: bool
    size: int
    licence: str
    needed_by: tuple[str, ...]


# --------------------------------------------------------------------------- registry


def _entry_from_table(name: str, table: Mapping[str, Any]) -> WeightsEntry:
    """Validate one table so a typo in the registry fails at load, not mid-download."""
    missing = [k for k in _REQUIRED_KEYS if k not in table]
    if missing:
        raise WeightsError(
            f"The weights registry entry '{name}' is incomplete.",
            f"missing keys: {', '.join(missing)}",
        )
    sha = str(table["sha256"]).lower()
    if not re.fullmatch(r"[0-9a-f]{64}", sha):
        raise WeightsError(
            f"The weights registry entry '{name}' has an invalid checksum.",
            f"sha256 = {table['sha256']!r}",
        )
    if table["format"] not in FORMATS:
        raise WeightsError(
            f"The weights registry entry '{name}' has an unknown format.",
            f"format = {table['format']!r}; expected one of {FORMATS}",
        )
    return WeightsEntry(
        name=name,
        title=str(table["title"]),
        url=str(table["url"]),
        sha256=sha,
        size=int(table["size"]),
        filename=str(table["filename"]),
        licence=str(table["licence"]),
        needed_by=tuple(str(x) for x in table["needed_by"]),
        format=str(table["format"]),
    )


def load_registry(path: str | os.PathLike[str] | None = None) -> dict[str, WeightsEntry]:
    """Read a registry file; by default ``resources/models.toml``."""
    text = Path(path or weights_registry_file()).read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise WeightsError("The weights registry file is not valid TOML.", str(exc)) from exc
    return {name: _entry_from_table(name, table) for name, table in data.items()}


@lru_cache(maxsize=1)
def _default_registry() -> dict[str, WeightsEntry]:
    return load_registry()


def entry(name: str, registry: Mapping[str, WeightsEntry] | None = None) -> WeightsEntry:
    """Look a model up by the name users type on the command line."""
    reg = _default_registry() if registry is None else registry
    try:
        return reg[name]
    except KeyError:
        known = ", ".join(sorted(reg)) or "none"
        raise WeightsError(f"Unknown model '{name}'; known models: {known}.") from None


# ----------------------------------------------------------------------------- cache


def path_for(e: WeightsEntry) -> Path:
    return user_root() / e.filename


def _part_path(e: WeightsEntry) -> Path:
    return path_for(e).with_name(e.filename + ".part")


def is_installed(e: WeightsEntry) -> bool:
    """Cheap check (no hashing) for listings; files were hashed when they were installed."""
    try:
        return path_for(e).stat().st_size == e.size
    except OSError:
        return False


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def verify(e: WeightsEntry) -> bool:
    """Full hash check, for a "verify" action when a file is suspected to be damaged."""
    path = path_for(e)
    return path.is_file() and _sha256_of(path) == e.sha256


def status_rows(registry: Mapping[str, WeightsEntry] | None = None) -> list[StatusRow]:
    """What ``transfigure weights list`` shows; touches no network."""
    reg = _default_registry() if registry is None else registry
    return [
        StatusRow(e.name, e.title, is_installed(e), e.size, e.licence, e.needed_by)
        for e in reg.values()
    ]


# -------------------------------------------------------------------------- download


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def _reason(exc: BaseException) -> str:
    """Turn a network exception into a few plain words for the user-facing sentence."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"the server answered HTTP {exc.code} ({exc.reason})"
    if isinstance(exc, urllib.error.URLError):
        exc = exc.reason if isinstance(exc.reason, BaseException) else exc
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return "the server name could not be resolved"
    if isinstance(exc, TimeoutError):
        return "the connection timed out"
    if isinstance(exc, ConnectionResetError):
        return "the connection was reset"
    return "network error"


def _cannot_download(e: WeightsEntry, exc: BaseException) -> WeightsError:
    return WeightsError(
        f"Could not download {e.name} from {e.host}: {_reason(exc)}. Check your internet "
        f"connection, or import the file with 'transfigure weights import {e.name} FILE'.",
        f"{e.url}: {type(exc).__name__}: {exc}",
    )


def _interrupted(e: WeightsEntry, done: int, total: int, exc: BaseException | None) -> WeightsError:
    detail = f"{e.url}: received {done} of {total} bytes"
    if exc is not None:
        detail += f"; {type(exc).__name__}: {exc}"
    return WeightsError(
        f"The download of {e.name} was interrupted after {_mb(done)} of {_mb(total)}. "
        f"Run the download again to resume where it stopped.",
        detail,
    )


def _checksum_mismatch(e: WeightsEntry, actual: str, origin: str) -> WeightsError:
    """Why a file was refused. A download's partial copy is deleted (it is ours); a file
    the user imports is never touched, only the copy being installed is removed."""
    if origin == "download":
        what = (f"The download for {e.name} did not match its expected checksum, so the "
                "downloaded copy was deleted")
    else:
        what = (f"The {origin} does not match the checksum of {e.name}; your file was left "
                "as it is and the copy being installed was removed")
    return WeightsError(
        f"{what} (expected sha256 {e.sha256[:12]}…, got {actual[:12]}…). Nothing was "
        "installed.",
        f"expected {e.sha256}, got {actual}",
    )


def _install_verified(e: WeightsEntry, tmp: Path, origin: str) -> Path:
    """Move ``tmp`` into place only if its hash is right, so the cache never holds bad files."""
    actual = _sha256_of(tmp)
    if actual != e.sha256:
        tmp.unlink(missing_ok=True)
        raise _checksum_mismatch(e, actual, origin)
    return install_finished(tmp, path_for(e))


def _open(e: WeightsEntry, offset: int, timeout: float) -> http.client.HTTPResponse | None:
    """Start the request; ``None`` means the server says the part is already complete (416)."""
    headers = {"User-Agent": "transfigure-weights/1"}
    if offset > 0:
        headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(e.url, headers=headers)
    try:
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset > 0:
            exc.close()
            return None
        raise _cannot_download(e, exc) from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise _cannot_download(e, exc) from exc


def _resume_offset(response: http.client.HTTPResponse, offset: int) -> int | None:
    """Where the body starts in the file: ``offset`` for a matching 206, 0 for a full 200."""
    if response.status != 206:
        return 0
    match = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
    return offset if match and int(match.group(1)) == offset else None


def _expected_total(e: WeightsEntry, response: http.client.HTTPResponse, start: int) -> int:
    length = response.headers.get("Content-Length")
    return start + int(length) if length and length.isdigit() else e.size


def _stream(
    e: WeightsEntry,
    response: http.client.HTTPResponse,
    out: BinaryIO,
    done: int,
    total: int,
    progress: ByteProgress | None,
    cancel: CancelToken | None,
) -> int:
    """Copy the body chunk by chunk; a short body is an interruption the user can resume."""
    error: BaseException | None = None
    while done < total:
        if cancel is not None:
            cancel.raise_if_set()
        try:
            block = response.read(CHUNK)
        except (OSError, http.client.HTTPException) as exc:
            error = exc
            break
        if not block:
            break
        out.write(block)
        done += len(block)
        if progress is not None:
            progress(done, total)
    if done < total:
        out.flush()
        raise _interrupted(e, done, total, error)
    return done


def download(
    e: WeightsEntry,
    progress: ByteProgress | None = None,
    cancel: CancelToken | None = None,
    timeout: float = 30,
) -> Path:
    """Fetch, verify and install ``e``; the only function here that touches the network.

    A previous ``.part`` is resumed with an HTTP Range request, and cancellation or a
    dropped connection keep it, because these files are hundreds of megabytes.
    """
    final = path_for(e)
    if is_installed(e):
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    part = _part_path(e)
    offset = part.stat().st_size if part.exists() else 0
    if offset > e.size:
        part.unlink()
        offset = 0
    response = _open(e, offset, timeout)
    if response is None:  # 416: nothing left to send
        return _install_verified(e, part, "download")
    with response:
        start = _resume_offset(response, offset)
        if start is None:  # the server sent a range we did not ask for: start over
            response.close()
            part.unlink(missing_ok=True)
            if offset == 0:
                raise _cannot_download(e, ValueError("unexpected partial response"))
            return download(e, progress, cancel, timeout)
        total = _expected_total(e, response, start)
        if progress is not None:
            progress(start, total)
        with part.open("r+b" if start else "wb") as out:
            out.seek(start)
            out.truncate()
            _stream(e, response, out, start, total, progress, cancel)
    return _install_verified(e, part, "download")


# ---------------------------------------------------------------------------- import


def import_file(e: WeightsEntry, source_path: str | os.PathLike[str]) -> Path:
    """Install a file the user already has (offline machines, mirrors), after a hash check.

    The hash is taken of the bytes as they are copied; a mismatch removes the copy.
    """
    source = Path(source_path)
    if not source.is_file():
        raise WeightsError(f"Cannot import {e.name}: the file {source} does not exist.")
    folder = user_root()
    folder.mkdir(parents=True, exist_ok=True)

    def copy_checked(out: BinaryIO) -> None:
        digest = hashlib.sha256()
        with source.open("rb") as src:
            while block := src.read(CHUNK):
                digest.update(block)
                out.write(block)
        if digest.hexdigest() != e.sha256:
            raise _checksum_mismatch(e, digest.hexdigest(), f"file {source.name}")

    return atomic_write(path_for(e), copy_checked)


# ----------------------------------------------------------------------------- load


def _missing(e: WeightsEntry) -> WeightsMissing:
    return WeightsMissing(
        f"The {e.name} weights are not installed. Download them with "
        f"'transfigure weights download {e.name}' or import a file with "
        f"'transfigure weights import {e.name} FILE'.",
        f"expected at {path_for(e)}",
    )


def load_state_dict(e: WeightsEntry, device: str = "cpu") -> dict[str, torch.Tensor]:
    """Load tensors without ever executing pickled code (safetensors or weights_only)."""
    path = path_for(e)
    if not path.is_file():
        raise _missing(e)
    if e.format == "nvidia-pickle":
        raise WeightsError(
            f"The {e.name} weights are a network pickle; they are read only through the "
            "converter that never runs code from them (engines.expression.stylegan.convert).",
            str(path),
        )
    try:
        return load_tensors(path, e.format, device)
    except TypeError as exc:  # a pickle of something else than tensors by name
        raise WeightsError(
            f"The {e.name} weights file does not hold a state dict.", f"{path}: {exc}",
        ) from exc
    except Exception as exc:
        raise WeightsError(
            f"The {e.name} weights file could not be loaded safely; it may be damaged or "
            f"not a plain weights file. Delete it and download or import it again.",
            f"{path}: {type(exc).__name__}: {exc}",
        ) from exc
