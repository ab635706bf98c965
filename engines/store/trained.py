"""Models Transfigure trains: shipped ones, and those the user trained or imported.

Each kind (a translator, a harmonizer) is one safetensors file per model whose metadata
names its format, architecture and format version. A model is named by its file's stem
("horse2zebra"); the user's folder for the kind is searched before the shipped models,
so a model the user trained under a shipped name takes its place. Anything that looks
like a path is taken as one and never falls back to another model: a typo must not
silently run the wrong model. Every failure is a sentence the user can act on.

The kind's own package says how a checked file becomes networks (``ModelKind.build``);
this module finds, checks, loads, keeps and writes the files for every kind alike.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engines.base import EngineError, EngineUnavailable, InvalidInput
from engines.files import atomic_write
from engines.store.folders import shipped_models_dir, user_root
from engines.store.memory import keep_last
from engines.store.tensors import load_tensors, read_header, save_tensors, stringify

if TYPE_CHECKING:
    import torch
    from torch import nn

    from engines.registry import Availability

SUFFIX = ".safetensors"
STATE_SUFFIX = ".train-state" + SUFFIX  # a trainer's resumable state beside its model
CHUNK = 1 << 20

# (path, tensors, metadata, device) → the loaded model, for a file that passed the checks
Build = Callable[[Path, Mapping[str, Any], dict[str, str], str], Any]


@dataclass(frozen=True)
class ModelKind:
    """One kind of model file, and where its models are looked for."""

    noun: str  # how sentences name these models: "translation", "harmonization"
    format: str  # the metadata "format" that marks a file as one of them
    architecture: str  # the network the code builds; another one is refused
    format_version: str
    default: str  # the model used when none is named (a shipped one)
    folder: str  # the user's models of this kind: this folder of user_root() ("" = itself)
    fix: str  # the sentence that says how to get such a model
    build: Build
    folder_env: str | None = None  # an environment variable that moves the user's folder
    file_env: str | None = None  # one naming the file to use when a request names none


# ---------------------------------------------------------------------------- finding


def user_folder(kind: ModelKind) -> Path | None:
    """Where the user's models of ``kind`` go (None without platformdirs: shipped only)."""
    override = os.environ.get(kind.folder_env) if kind.folder_env else None
    if override:
        return Path(override)
    try:
        root = user_root()
    except ImportError:
        return None
    return root / kind.folder if kind.folder else root


def folders(kind: ModelKind) -> list[Path]:
    """Where models of ``kind`` are looked for, first match wins."""
    found = [shipped_models_dir()]
    user = user_folder(kind)
    if user is not None:
        found.insert(0, user)
    return found


def is_model(kind: ModelKind, path: Path) -> bool:
    """Cheap: reads only the header, never the tensors."""
    try:
        return read_header(path).get("format") == kind.format
    except Exception:
        return False


def models(kind: ModelKind) -> dict[str, Path]:
    """name → file of every model of ``kind`` found; the user's win over shipped ones."""
    found: dict[str, Path] = {}
    for folder in reversed(folders(kind)):
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob(f"*{SUFFIX}")):
            if not path.name.endswith(STATE_SUFFIX) and is_model(kind, path):
                found[path.stem] = path
    return found


def new_model_file(kind: ModelKind, name: str) -> Path | None:
    """Where a model the user trains under ``name`` goes (None: no folder for it here)."""
    folder = user_folder(kind)
    return None if folder is None else folder / f"{name}{SUFFIX}"


def is_user_model(kind: ModelKind, path: Path) -> bool:
    """Whether ``path`` lies in the user's folder (trained or imported, not shipped)."""
    user = user_folder(kind)
    return user is not None and path.parent.resolve() == user.resolve()


def _looks_like_path(chosen: str) -> bool:
    return (os.sep in chosen or "/" in chosen or chosen.endswith(SUFFIX)
            or Path(chosen).is_file())


def find(kind: ModelKind, name: str | os.PathLike[str] | None = None) -> Path:
    """The file of the model ``name`` (a name or a path); None: the kind's file variable
    when set, else its default. ``EngineUnavailable`` says what is missing and the fix.

    A name resolves to the model ``models`` lists under it (the first folder whose file
    of that name is a model of this kind; only those files' headers are read); a file of
    that name that is no such model is only returned when no folder has a good one, so
    that loading it says what is wrong with it.
    """
    chosen = str(name) if name is not None else None
    if chosen is None and kind.file_env:
        chosen = os.environ.get(kind.file_env) or None
    chosen = chosen or kind.default
    if _looks_like_path(chosen):
        path = Path(chosen).expanduser()
        if not path.is_file():
            raise EngineUnavailable(
                f"The {kind.noun} model {path} does not exist. {kind.fix}", str(path))
        return path
    named = [p for p in (folder / f"{chosen}{SUFFIX}" for folder in folders(kind))
             if p.is_file()]
    if named:
        return next((p for p in named if is_model(kind, p)), named[0])
    known = ", ".join(sorted(models(kind))) or "none installed"
    where = ", ".join(str(d) for d in folders(kind))
    raise EngineUnavailable(
        f"No {kind.noun} model named '{chosen}' was found; it does not exist in your models "
        f"folder or among the shipped ones (known: {known}). {kind.fix}",
        f"looked in: {where}",
    )


def availability(kind: ModelKind) -> Availability:
    """The registry's check: torch importable and the model a request without one would
    use is there (no torch import, only file headers)."""
    from engines.registry import Availability, needs_modules

    missing = needs_modules("torch", "safetensors")()
    if not missing.available:
        return missing
    try:
        find(kind)
    except EngineUnavailable as exc:
        return Availability(False, exc.message.removesuffix(kind.fix).strip(), kind.fix)
    return Availability(True)


# ---------------------------------------------------------------------------- reading


def damaged(kind: ModelKind, path: Path, exc: BaseException) -> EngineError:
    return EngineError(
        f"The {kind.noun} model {path.name} could not be read; it may be damaged or not a "
        f".safetensors file. {kind.fix}",
        f"{path}: {type(exc).__name__}: {exc}",
    )


def read_metadata(kind: ModelKind, path: str | os.PathLike[str]) -> dict[str, str]:
    """The file's metadata strings without loading its tensors."""
    path = Path(path)
    if not path.is_file():
        raise EngineUnavailable(f"The {kind.noun} model {path} does not exist. {kind.fix}",
                                str(path))
    try:
        return read_header(path)
    except Exception as exc:
        raise damaged(kind, path, exc) from exc


def check(kind: ModelKind, path: Path, meta: Mapping[str, str]) -> None:
    """Refuse a file of another kind, or one made for another network or format version."""
    if meta.get("format") != kind.format:
        raise EngineError(
            f"{path.name} is not a Transfigure {kind.noun} model. {kind.fix}",
            f"{path}: metadata format = {meta.get('format')!r}",
        )
    if (meta.get("architecture") != kind.architecture
            or meta.get("format_version") != kind.format_version):
        raise EngineError(
            f"{path.name} was made for a different {kind.noun} network than this version of "
            f"Transfigure uses. {kind.fix}",
            f"{path}: architecture {meta.get('architecture')!r}, format version "
            f"{meta.get('format_version')!r}; expected {kind.architecture!r} "
            f"{kind.format_version!r}",
        )


def checked_metadata(kind: ModelKind, path: str | os.PathLike[str]) -> dict[str, str]:
    """``read_metadata`` and ``check`` in one: the metadata of a file this code can run."""
    path = Path(path)
    meta = read_metadata(kind, path)
    check(kind, path, meta)
    return meta


def load_file(kind: ModelKind, path: str | os.PathLike[str], device: str = "cpu") -> Any:
    """The model in ``path``, built by its kind, on ``device`` (not kept in memory)."""
    path = Path(path)
    meta = checked_metadata(kind, path)
    try:
        tensors = load_tensors(path)
    except Exception as exc:
        raise damaged(kind, path, exc) from exc
    return kind.build(path, tensors, meta, device)


def load(kind: ModelKind, name: str | os.PathLike[str] | None, device: str) -> tuple[Path, Any]:
    """(file, model) for ``name`` (see ``find``); the last one loaded stays in memory, so
    the next photo does not read the file again."""
    path = find(kind, name)
    key = (str(path.resolve()), path.stat().st_mtime, device)
    return path, keep_last(kind.noun, key, lambda: load_file(kind, path, device))


def fit(kind: ModelKind, path: Path, network: nn.Module, tensors: Mapping[str, Any]) -> None:
    """Load ``tensors`` into ``network`` exactly, or say that the file does not fit it."""
    try:
        network.load_state_dict(dict(tensors), strict=True)
    except RuntimeError as exc:
        raise EngineError(
            f"The weights in {path.name} do not fit the network it describes; the file is "
            f"damaged or was written by another program. {kind.fix}",
            f"{path}: {exc}",
        ) from exc


# ---------------------------------------------------------------------------- writing


def save(kind: ModelKind, path: str | os.PathLike[str], tensors: Mapping[str, torch.Tensor],
         metadata: Mapping[str, Any]) -> Path:
    """Write a model atomically (a crash mid-write leaves the old file).

    Non-string metadata values are stored as JSON; the kind's format, format version and
    architecture are always written from here.
    """
    meta = stringify(metadata)
    meta.update(format=kind.format, format_version=kind.format_version,
                architecture=kind.architecture)
    return save_tensors(path, tensors, meta)


def install(kind: ModelKind, source: str | os.PathLike[str]) -> Path:
    """Check that ``source`` loads as a model of ``kind``, then copy it into the user's
    folder; returns the installed file (its stem is the model's name).

    The file is loaded once (every weight fitted) before anything is copied, so a
    damaged or foreign file is refused with the loader's sentence and never lands where
    the app would list it. A name already taken (by a shipped model or another file)
    gets a number appended, so an import never replaces or shadows a model the user
    has; importing the same file twice installs it once.
    """
    source = Path(source).expanduser()
    folder = user_folder(kind)
    if folder is None:
        raise EngineUnavailable("There is no folder for your own models on this system "
                                "(platformdirs is missing).")
    if source.suffix.lower() != SUFFIX:
        raise InvalidInput(
            f"{source.name} is not a {kind.noun} model: those end in {SUFFIX}.", str(source))
    load_file(kind, source, "cpu")  # raises EngineError with a sentence for a bad file
    if source.resolve().parent == folder.resolve():
        return source  # already installed
    folder.mkdir(parents=True, exist_ok=True)
    target = _free_name(kind, folder, _clean_stem(source.stem), source)
    if target.is_file():
        return target  # the same bytes are already installed under this name

    def copy(out) -> None:
        with source.open("rb") as src:
            shutil.copyfileobj(src, out, CHUNK)

    return atomic_write(target, copy)


def _clean_stem(stem: str) -> str:
    """A name that is a plain file name and not mistaken for a trainer's state file."""
    stem = re.sub(r"[^\w.-]+", "-", stem.replace(".train-state", "")).strip(".-")
    return stem or "model"


def _free_name(kind: ModelKind, folder: Path, stem: str, source: Path) -> Path:
    """``stem`` or ``stem-2``, ``stem-3``…: the first name not taken by another model."""
    taken = models(kind)
    for n in range(1, 1000):
        name = stem if n == 1 else f"{stem}-{n}"
        target = folder / f"{name}{SUFFIX}"
        if target.is_file() and _same_bytes(target, source):
            return target
        if not target.exists() and name not in taken:
            return target
    raise InvalidInput(f"Too many models are named {stem}; rename the file and import it "
                       "again.")


def _same_bytes(a: Path, b: Path) -> bool:
    if a.stat().st_size != b.stat().st_size:
        return False
    with a.open("rb") as fa, b.open("rb") as fb:
        while True:
            block = fa.read(CHUNK)
            if block != fb.read(CHUNK):
                return False
            if not block:
                return True
