"""What a trainer keeps beside its model so that a stopped run can go on where it stopped.

A training state is one safetensors file, ``<model>.train-state.safetensors``: every
network's weights and the optimizers' moments as tensors under a prefix per part, and
the counters (step, stage, loss history) as metadata. It is rewritten atomically at
every checkpoint, never shipped, and skipped when models are listed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engines.store.tensors import load_tensors, read_header, save_tensors
from engines.store.trained import STATE_SUFFIX

if TYPE_CHECKING:
    import torch


def state_path(out: Path) -> Path:
    """Where the state of the run writing the model ``out`` goes: beside it."""
    return out.with_name(out.stem + STATE_SUFFIX)


def write_state(path: Path, tensors: Mapping[str, torch.Tensor], metadata: Mapping[str, str]
                ) -> Path:
    """The state file, written whole or not at all."""
    return save_tensors(path, tensors, metadata)


def read_state(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """(tensors, metadata) of a state file; whatever the reader raises on a bad file."""
    return load_tensors(path), read_header(path)


def with_prefix(prefix: str, state: Mapping[str, Any]) -> dict[str, Any]:
    """``state`` under ``prefix.``: one part (a network, an optimizer) of the file."""
    return {f"{prefix}.{k}": v for k, v in state.items()}


def part(tensors: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """The tensors stored under ``prefix.``, with the prefix taken off."""
    start = len(prefix) + 1
    return {k[start:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}


def optimizer_tensors(optimizer: Any) -> dict[str, torch.Tensor]:
    """An optimizer's per-parameter state as flat tensors ``<index>.<name>`` (none: {})."""
    import torch

    tensors: dict[str, torch.Tensor] = {}
    if optimizer is None:
        return tensors
    for index, entries in optimizer.state_dict()["state"].items():
        for name, value in entries.items():
            value = value if torch.is_tensor(value) else torch.tensor(value)
            tensors[f"{index}.{name}"] = value.detach().cpu().contiguous()
    return tensors


def restore_optimizer(optimizer: Any, flat: Mapping[str, Any]) -> None:
    """Put back what ``optimizer_tensors`` took (hyper-parameters stay the optimizer's)."""
    state = optimizer.state_dict()
    for key, value in flat.items():
        index, name = key.split(".", 1)
        state["state"].setdefault(int(index), {})[name] = value
    optimizer.load_state_dict(state)


def write_previews(folder: Path, stem: str, grid: Any, history: Sequence[Sequence[Any]],
                   columns: Sequence[str], charts: Mapping[str, Any] | None = None) -> None:
    """What a trainer shows beside its model: ``<stem>.preview.png`` (the grid, HxWx3
    float in [0, 1]), ``<stem>.<name>.png`` for each of ``charts`` (RGB uint8) and
    ``<stem>.losses.csv`` (``columns``, then a row per history entry).

    Each is replaced whole (a viewer refreshing it never reads half a file); they are
    redrawn at every preview, so they are not forced to disk.
    """
    import cv2
    import numpy as np

    from engines.files import write_bytes

    folder.mkdir(parents=True, exist_ok=True)
    image = (np.clip(grid, 0, 1) * 255 + 0.5).astype(np.uint8)
    for name, rgb in {"preview": image, **(charts or {})}.items():
        png = cv2.imencode(".png", np.ascontiguousarray(rgb[..., ::-1]))[1].tobytes()
        write_bytes(folder / f"{stem}.{name}.png", png, sync=False)
    lines = [",".join(columns)] + [",".join(str(v) for v in row) for row in history]
    write_bytes(folder / f"{stem}.losses.csv", ("\n".join(lines) + "\n").encode("utf-8"),
                sync=False)
