"""A translation model on disk: one safetensors file with G0, G_attn and their story.

The metadata says what the model does (source and target domain), how to run it
(training resolution, network widths) and how it came about (iterations per stage,
losses, date, whether G_attn started from ImageNet VGG-19), so the app can show it and
a benchmark can be traced back. The model store (``engines.store``) finds, checks,
loads and keeps these files as it does every kind; this module says what makes one
(``TRANSLATION``), how its metadata reads and how its networks are built.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engines import store
from engines.base import EngineError
from engines.translate.networks import (
    RESIZE,
    TRANSPOSED,
    Widths,
    build_attention,
    build_translator,
)

if TYPE_CHECKING:
    from torch import nn

FORMAT = "transfigure-translator"
FORMAT_VERSION = "1"
ARCHITECTURE = "g0-dilated-resnet+vgg19-attention"
# Revisions of ARCHITECTURE: how G0's and G_attn's decoders go up by 2 (networks.py).
# Files without the key are the first models, with ch. 4's transposed convolutions;
# they still load. A revision this code does not know is refused, not guessed.
ARCHITECTURE_VERSIONS = {"1": TRANSPOSED, "2": RESIZE}
ARCHITECTURE_VERSION = "2"
DEFAULT_MODEL = "horse2zebra"
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


def _build(path: Path, tensors: Mapping[str, Any], meta: dict[str, str],
           device: str) -> tuple[nn.Module, nn.Module, ModelInfo]:
    """(G0, G_attn, info) in eval mode on ``device``, from a file the store checked."""
    info = parse_info(path, meta)
    translator = build_translator(info.widths, info.upsampling)
    attention = build_attention(info.widths, info.upsampling)
    store.fit(TRANSLATION, path, translator, _part(tensors, "g0."))
    store.fit(TRANSLATION, path, attention, _part(tensors, "attn."))
    return translator.eval().to(device), attention.eval().to(device), info


TRANSLATION = store.ModelKind(
    noun="translation", format=FORMAT, architecture=ARCHITECTURE,
    format_version=FORMAT_VERSION, default=DEFAULT_MODEL, folder="translate", fix=FIX,
    build=_build, folder_env=ENV_VAR,
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
    for key in ("source", "target", "resolution", "vgg_warm_start"):
        if key not in metadata:
            raise ValueError(f"translation model metadata needs {key!r}")
    version = {v: k for k, v in ARCHITECTURE_VERSIONS.items()}[upsampling]
    tensors = {f"g0.{k}": v for k, v in translator.state_dict().items()}
    tensors.update({f"attn.{k}": v for k, v in attention.state_dict().items()})
    return store.save(TRANSLATION, path, tensors, {
        **metadata, "architecture_version": version, "widths": json.dumps(widths.as_dict())})


def read_info(path: str | os.PathLike[str]) -> ModelInfo:
    """The parsed metadata; EngineError when the file is not a translation model we can run."""
    path = Path(path)
    return parse_info(path, store.checked_metadata(TRANSLATION, path))


def parse_info(path: Path, meta: Mapping[str, str]) -> ModelInfo:
    """``ModelInfo`` from a checked file's metadata, or why it cannot be run."""
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
        extra = {k: store.unstringify(v) for k, v in meta.items() if k not in known}
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


def _part(tensors: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
