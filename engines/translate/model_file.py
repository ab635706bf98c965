"""A translation model on disk: one safetensors file with G0, G_attn and their story.

The metadata says what the model does (source and target domain), how to run it
(training resolution, network widths) and how it came about (iterations per stage,
losses, date, whether G_attn started from ImageNet VGG-19), so the app can show it and
a benchmark can be traced back. Loading never runs pickled code, and every failure is
a sentence the user can act on.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engines.base import EngineError, EngineUnavailable
from engines.model_files import (
    check_model_kind,
    damaged_model,
    installed_data_dir,
    read_model_metadata,
    shipped_models_dir,
)
from engines.translate.networks import (
    RESIZE,
    TRANSPOSED,
    Widths,
    build_attention,
    build_translator,
)

if TYPE_CHECKING:
    from torch import nn

KIND = "translation"  # how error sentences name these files
FORMAT = "transfigure-translator"
FORMAT_VERSION = "1"
ARCHITECTURE = "g0-dilated-resnet+vgg19-attention"
# Revisions of ARCHITECTURE: how G0's and G_attn's decoders go up by 2 (networks.py).
# Files without the key are the first models, with ch. 4's transposed convolutions;
# they still load. A revision this code does not know is refused, not guessed.
ARCHITECTURE_VERSIONS = {"1": TRANSPOSED, "2": RESIZE}
ARCHITECTURE_VERSION = "2"
DEFAULT_MODEL = "horse2zebra"
SUFFIX = ".safetensors"
ENV_VAR = "TRANSFIGURE_TRANSLATE_MODELS"
FIX = ("Train one with 'transfigure train-translate', or pass --model with a translation "
       "model file (.safetensors).")


@dataclass(frozen=True)
class ModelInfo:
    """What a model file says about itself (parsed metadata)."""

    source: str
    target: str
    resolution: int
    widths: Widths
    vgg_warm_start: bool
    iterations: dict[str, int] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    architecture_version: str = ARCHITECTURE_VERSION

    @property
    def title(self) -> str:
        return f"{self.source} → {self.target}"

    @property
    def upsampling(self) -> str:
        """How this model's decoders upsample (``transposed`` or ``resize``)."""
        return ARCHITECTURE_VERSIONS[self.architecture_version]


# ------------------------------------------------------------------------- finding one


def packaged_models_dir() -> Path:
    """Where the shipped models live (package data of ``engines``)."""
    return shipped_models_dir()


def user_models_dir() -> Path | None:
    """Models the user trained or imported: ``translate`` beside the weights cache."""
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override)
    try:
        from engines.weights import cache_dir

        return cache_dir() / "translate"
    except Exception:  # no platformdirs: only the shipped models then
        return None


def model_dirs() -> list[Path]:
    dirs = [packaged_models_dir(), installed_data_dir()]
    user = user_models_dir()
    if user is not None:
        dirs.insert(0, user)
    return dirs


def is_translation_model(path: Path) -> bool:
    """Cheap: reads only the header, never the tensors."""
    try:
        return read_metadata(path).get("format") == FORMAT
    except EngineError:
        return False


def list_models() -> dict[str, Path]:
    """name → file of every translation model found; the user's win over shipped ones."""
    found: dict[str, Path] = {}
    for folder in reversed(model_dirs()):
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob(f"*{SUFFIX}")):
            if path.name.endswith(".train-state" + SUFFIX):
                continue
            if is_translation_model(path):
                found[path.stem] = path
    return found


def resolve_model(name_or_path: str | os.PathLike[str] | None = None) -> Path:
    """A model file from a name (``horse2zebra``) or a path; default: the shipped one.

    Something that looks like a path is taken as one and never falls back to another
    model: a typo must not silently translate with the wrong model.
    """
    chosen = str(name_or_path) if name_or_path is not None else DEFAULT_MODEL
    looks_like_path = (os.sep in chosen or "/" in chosen or chosen.endswith(SUFFIX)
                       or Path(chosen).is_file())
    if looks_like_path:
        path = Path(chosen).expanduser()
        if not path.is_file():
            raise EngineUnavailable(f"The translation model {path} does not exist.", str(path))
        return path
    for folder in model_dirs():
        path = folder / f"{chosen}{SUFFIX}"
        if path.is_file():
            return path
    known = ", ".join(sorted(list_models())) or "none installed"
    where = ", ".join(str(d) for d in model_dirs())
    raise EngineUnavailable(
        f"No translation model named '{chosen}' was found (known: {known}). {FIX}",
        f"looked in: {where}",
    )


# ---------------------------------------------------------------------- reading, writing


def save_model(translator: nn.Module, attention: nn.Module, path: str | os.PathLike[str],
               widths: Widths, metadata: Mapping[str, Any],
               upsampling: str = RESIZE) -> Path:
    """Write both networks + metadata atomically (a crash mid-write leaves the old file).

    ``metadata`` must hold ``source``, ``target``, ``resolution`` and ``vgg_warm_start``;
    non-string values are stored as JSON. Format, architecture revision (from
    ``upsampling``, how the networks were built) and widths are written from here.
    """
    from safetensors.torch import save_file

    for key in ("source", "target", "resolution", "vgg_warm_start"):
        if key not in metadata:
            raise ValueError(f"translation model metadata needs {key!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {k: v if isinstance(v, str) else json.dumps(v) for k, v in metadata.items()}
    version = {v: k for k, v in ARCHITECTURE_VERSIONS.items()}[upsampling]
    meta.update(format=FORMAT, format_version=FORMAT_VERSION, architecture=ARCHITECTURE,
                architecture_version=version, widths=json.dumps(widths.as_dict()))
    tensors = {f"g0.{k}": v for k, v in translator.state_dict().items()}
    tensors.update({f"attn.{k}": v for k, v in attention.state_dict().items()})
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata=meta)
    os.chmod(tmp, 0o644)  # safetensors writes owner-only files; a model is no secret
    os.replace(tmp, path)
    return path


def read_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """The raw metadata strings, without loading tensors."""
    return read_model_metadata(path, KIND, FIX)


def read_info(path: str | os.PathLike[str]) -> ModelInfo:
    """The parsed metadata; EngineError when the file is not a translation model we can run."""
    path = Path(path)
    meta = read_metadata(path)
    check_model_kind(path, meta, KIND, FORMAT, ARCHITECTURE, FORMAT_VERSION, FIX)
    version = meta.get("architecture_version", "1")
    if version not in ARCHITECTURE_VERSIONS:
        raise EngineError(
            f"{path.name} was made by a newer version of Transfigure (network revision "
            f"{version}); update Transfigure to use it. {FIX}",
            f"{path}: architecture_version {version!r}, known "
            f"{sorted(ARCHITECTURE_VERSIONS)}",
        )
    try:
        widths = Widths(**json.loads(meta["widths"]))
        resolution = int(meta["resolution"])
        if resolution < 8:
            raise ValueError(f"resolution {resolution}")
        known = {"source", "target", "resolution", "widths", "vgg_warm_start", "iterations",
                 "format", "format_version", "architecture", "architecture_version"}
        extra = {k: _json_or_text(v) for k, v in meta.items() if k not in known}
        return ModelInfo(
            source=meta.get("source", "source"), target=meta.get("target", "target"),
            resolution=resolution, widths=widths,
            vgg_warm_start=bool(json.loads(meta.get("vgg_warm_start", "false"))),
            iterations={k: int(v) for k, v in json.loads(meta.get("iterations", "{}")).items()},
            extra=extra, architecture_version=version,
        )
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise EngineError(f"{path.name} does not describe its network properly; it is damaged "
                          f"or was written by another program. {FIX}",
                          f"{path}: {type(exc).__name__}: {exc}") from exc


def load_model(path: str | os.PathLike[str],
               device: str = "cpu") -> tuple[nn.Module, nn.Module, ModelInfo]:
    """(G0, G_attn, info) in eval mode on ``device``."""
    from safetensors.torch import load_file

    path = Path(path)
    info = read_info(path)
    translator = build_translator(info.widths, info.upsampling)
    attention = build_attention(info.widths, info.upsampling)
    try:
        tensors = load_file(str(path), device="cpu")
    except Exception as exc:
        raise _damaged(path, exc) from exc
    try:
        translator.load_state_dict(_part(tensors, "g0."), strict=True)
        attention.load_state_dict(_part(tensors, "attn."), strict=True)
    except RuntimeError as exc:
        raise EngineError(
            f"The weights in {path.name} do not fit the network it describes; the file is "
            f"damaged or was written by another program. {FIX}",
            f"{path}: {exc}",
        ) from exc
    return translator.eval().to(device), attention.eval().to(device), info


def _part(tensors: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}


def _json_or_text(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def _damaged(path: Path, exc: BaseException) -> EngineError:
    return damaged_model(path, KIND, exc, FIX)
