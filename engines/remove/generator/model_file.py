"""An inpainting model on disk: one safetensors file with the generator and its story.

The metadata says how to run it (the training crop size, the network widths, how far
each procedural block was mixed in) and how it came about (steps per stage, losses,
validation curve, data, date, which perceptual term trained it), so the app can show
it and a benchmark can be traced back. The store finds, checks and loads it as every
kind; this module says what makes one (``INPAINTING``) and how it is built.
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
from engines.remove.generator.networks import InpainterWidths, build_inpainter

if TYPE_CHECKING:
    from torch import nn

FORMAT = "transfigure-inpainter"
FORMAT_VERSION = "1"
ARCHITECTURE = "ch3-dilated-generator"
DEFAULT_MODEL = "inpainter"
ENV_VAR = "TRANSFIGURE_INPAINT_MODELS"
FIX = ("Train one with 'transfigure train-inpainter', or pass --model with an inpainting "
       "model file (.safetensors).")


@dataclass(frozen=True)
class InpainterInfo:
    """What a model file says about itself (parsed metadata)."""

    resolution: int  # the square crop it was trained on
    widths: InpainterWidths
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def steps(self) -> int:
        return int(sum(self.extra.get("iterations", {}).values()))


def _build(path: Path, tensors: Mapping[str, Any], meta: dict[str, str],
           device: str) -> tuple[nn.Module, InpainterInfo]:
    """(generator in eval mode on ``device``, info), from a file the store checked."""
    info = parse_info(path, meta)
    network = build_inpainter(info.widths)
    store.fit(INPAINTING, path, network, tensors)
    return network.eval().to(device), info


INPAINTING = store.ModelKind(
    noun="inpainting", format=FORMAT, architecture=ARCHITECTURE,
    format_version=FORMAT_VERSION, default=DEFAULT_MODEL, folder="inpaint", fix=FIX,
    build=_build, folder_env=ENV_VAR,
)


def save_model(network: nn.Module, path: str | os.PathLike[str], widths: InpainterWidths,
               metadata: Mapping[str, Any]) -> Path:
    """Write the generator + metadata atomically; ``metadata`` must hold ``resolution``."""
    if "resolution" not in metadata:
        raise ValueError("inpainting model metadata needs 'resolution'")
    return store.save(INPAINTING, path, network.state_dict(),
                      {**metadata, "widths": json.dumps(widths.as_dict())})


def read_info(path: str | os.PathLike[str]) -> InpainterInfo:
    """The parsed metadata; EngineError when the file is not a model we can run."""
    path = Path(path)
    return parse_info(path, store.checked_metadata(INPAINTING, path))


def parse_info(path: Path, meta: Mapping[str, str]) -> InpainterInfo:
    """``InpainterInfo`` from a checked file's metadata, or why it cannot be run."""
    try:
        widths = InpainterWidths(**json.loads(meta["widths"]))
        resolution = int(meta["resolution"])
        if resolution < 16:
            raise ValueError(f"resolution {resolution}")
        known = {"resolution", "widths", "format", "format_version", "architecture"}
        extra = {k: store.unstringify(v) for k, v in meta.items() if k not in known}
        return InpainterInfo(resolution=resolution, widths=widths, extra=extra)
    except (KeyError, ValueError, TypeError) as exc:
        raise EngineError(f"{path.name} does not describe its network properly; it is damaged "
                          f"or was written by another program. {FIX}",
                          f"{path}: {type(exc).__name__}: {exc}") from exc
