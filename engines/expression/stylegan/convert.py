"""Convert NVIDIA's StyleGAN2 network pickle to safetensors, once, in the weights cache.

The downloaded ``.pkl`` stays the verified original (its sha256 is what the registry
checks); the generator's tensors are copied out of it with the allow-listed unpickler
of ``nvidia_pickle`` and written next to it as ``<name>.safetensors``, which later runs
load in a fraction of the time and without any pickle at all. The converted file records
the sha256 of the pickle it came from, so replacing the download triggers a fresh
conversion instead of silently using stale tensors.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from engines.base import EngineError
from engines.expression.stylegan import nvidia_pickle
from engines.expression.stylegan.generator import Generator, GeneratorConfig
from engines.expression.stylegan.nvidia_pickle import PersistentObject
from engines.store.tensors import load_tensors, read_header, save_tensors

FORMAT = "transfigure-stylegan2"
NETWORK_KEYS = ("G_ema", "G")  # the moving average of the generator is the one to sample from


def _conv_clamp(network: PersistentObject) -> float | None:
    """The clamp the network was built with, read from its first synthesis layer's state."""
    node: Any = network
    for name in ("synthesis", "b4", "conv1"):
        node = node.children().get(name) if isinstance(node, PersistentObject) else None
    value = node.state.get("conv_clamp") if isinstance(node, PersistentObject) else None
    return float(value) if isinstance(value, (int, float)) else None


def generator_from_pickle_data(data: Any) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The generator's tensors and a description, from an unpickled NVIDIA network dict."""
    if not isinstance(data, Mapping):
        raise EngineError("The network file does not hold NVIDIA's dictionary of networks.",
                          f"top level is a {type(data).__name__}")
    network = next((data[k] for k in NETWORK_KEYS if isinstance(data.get(k), PersistentObject)),
                   None)
    if network is None:
        raise EngineError("The network file holds no StyleGAN generator (G_ema or G).",
                          f"keys: {', '.join(map(str, data))}")
    state = {name: t.detach().to(torch.float32).clone().contiguous()
             for name, t in network.tensors()}
    clamp = _conv_clamp(network)
    try:
        config = GeneratorConfig.from_state_dict(state, conv_clamp=clamp)
        Generator(config).load_state_dict(state, strict=True)
    except (ValueError, KeyError, RuntimeError) as exc:
        raise EngineError(
            "The network file holds a generator of a layout this engine does not know; "
            "it needs NVIDIA's StyleGAN2 (config F) FFHQ network.",
            f"{type(exc).__name__}: {exc}",
        ) from exc
    meta = {
        "format": FORMAT,
        "source_class": network.class_name,
        "resolution": str(config.resolution),
        "conv_clamp": "none" if clamp is None else repr(clamp),
    }
    return state, meta


def convert(source: str | os.PathLike[str], target: str | os.PathLike[str],
            source_sha256: str = "") -> Path:
    """Read the pickle at ``source`` safely and write the generator to ``target`` atomically."""
    state, meta = generator_from_pickle_data(nvidia_pickle.load_file(source))
    meta["source_sha256"] = source_sha256
    return save_tensors(target, state, meta)


def converted_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    return read_header(path)


def ensure_converted(source: Path, target: Path, source_sha256: str) -> Path:
    """``target``, converting ``source`` first unless a conversion of that very file exists."""
    if target.is_file():
        try:
            meta = converted_metadata(target)
        except Exception:  # a damaged conversion is simply redone
            meta = {}
        if meta.get("format") == FORMAT and meta.get("source_sha256") == source_sha256:
            return target
    return convert(source, target, source_sha256)


def load_converted(path: str | os.PathLike[str],
                   device: str = "cpu") -> tuple[dict[str, torch.Tensor], GeneratorConfig]:
    """The tensors and the generator shape of a converted file."""
    state = load_tensors(path, device=device)
    clamp_text = converted_metadata(path).get("conv_clamp", "none")
    clamp = None if clamp_text == "none" else float(clamp_text)
    return state, GeneratorConfig.from_state_dict(state, conv_clamp=clamp)
