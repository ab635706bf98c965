"""What every trained-model file of ours shares: safetensors metadata and its checks.

The harmonizer and the translators are each one safetensors file whose metadata names
its format, architecture and format version; reading and checking that the same way
keeps their error sentences alike and fixes both at once.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from engines.base import EngineError, EngineUnavailable


def shipped_models_dir() -> Path:
    """The models Transfigure ships (package data, so wheels and checkouts both have it)."""
    return Path(__file__).resolve().parent / "models"


def installed_data_dir() -> Path:
    """``<prefix>/share/transfigure/models``: where a distribution package may put them."""
    return Path(sys.prefix) / "share" / "transfigure" / "models"


def damaged_model(path: Path, kind: str, exc: BaseException, fix: str) -> EngineError:
    return EngineError(
        f"The {kind} model {path.name} could not be read; it may be damaged or not a "
        f".safetensors file. {fix}",
        f"{path}: {type(exc).__name__}: {exc}",
    )


def read_model_metadata(path: str | os.PathLike[str], kind: str, fix: str) -> dict[str, str]:
    """The file's metadata strings without loading its tensors.

    Opened for numpy, not torch: listing models in the window must not import torch.
    """
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise EngineUnavailable(f"The {kind} model {path} does not exist. {fix}", str(path))
    try:
        with safe_open(str(path), framework="numpy") as fh:
            return dict(fh.metadata() or {})
    except Exception as exc:
        raise damaged_model(path, kind, exc, fix) from exc


def check_model_kind(
    path: Path, meta: dict[str, str], kind: str, fmt: str, architecture: str, version: str,
    fix: str,
) -> None:
    """Refuse a file of another kind, or one made for another network or format version."""
    if meta.get("format") != fmt:
        raise EngineError(
            f"{path.name} is not a Transfigure {kind} model. {fix}",
            f"{path}: metadata format = {meta.get('format')!r}",
        )
    if meta.get("architecture") != architecture or meta.get("format_version") != version:
        raise EngineError(
            f"{path.name} was made for a different {kind} network than this version of "
            f"Transfigure uses. {fix}",
            f"{path}: architecture {meta.get('architecture')!r}, format version "
            f"{meta.get('format_version')!r}; expected {architecture!r} {version!r}",
        )
