"""Reading weights files without ever running code from them, and writing them whole.

A ``.safetensors`` file is a JSON header plus raw tensors; PyTorch's own files are
pickles, which ``torch.load`` reads with ``weights_only=True`` so that no object in them
can run code. These are the only two ways Transfigure loads weights. Writing goes
through ``engines.files.atomic_write``: a crash mid-write leaves the old file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engines.files import write_bytes

if TYPE_CHECKING:
    import torch

FORMATS = ("safetensors", "torch")


def load_tensors(
    path: str | os.PathLike[str], fmt: str = "safetensors", device: str = "cpu"
) -> dict[str, torch.Tensor]:
    """All tensors of ``path`` by name; raises whatever the reader raises on a bad file
    (callers turn it into a sentence that names the model and the fix)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown weights format {fmt!r}; expected one of {FORMATS}")
    if fmt == "safetensors":
        from safetensors.torch import load_file

        return load_file(str(path), device=device)
    import torch

    state = torch.load(Path(path), map_location=device, weights_only=True)
    if not isinstance(state, Mapping):
        raise TypeError(f"the file holds a {type(state).__name__}, not a dict of tensors")
    return dict(state)


def read_header(path: str | os.PathLike[str]) -> dict[str, str]:
    """A safetensors file's metadata strings, without reading its tensors.

    Opened for numpy, not torch: listing models in the window must not import torch.
    """
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as fh:
        return dict(fh.metadata() or {})


def stringify(metadata: Mapping[str, Any]) -> dict[str, str]:
    """Metadata as safetensors stores it: strings as they are, anything else as JSON."""
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in metadata.items()}


def unstringify(value: str) -> Any:
    """A metadata value as ``stringify`` wrote it: JSON where it parses, else the text."""
    try:
        return json.loads(value)
    except ValueError:
        return value


def save_tensors(
    path: str | os.PathLike[str], tensors: Mapping[str, torch.Tensor],
    metadata: Mapping[str, str] | None = None,
) -> Path:
    """Write ``tensors`` (moved to the CPU) and ``metadata`` to ``path`` atomically."""
    from safetensors.torch import save

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    return write_bytes(path, save(state, metadata=dict(metadata) if metadata else None))
