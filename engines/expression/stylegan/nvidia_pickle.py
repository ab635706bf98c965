"""Reading NVIDIA's StyleGAN network pickles without running anything they contain.

The official ``.pkl`` files are pickles of live ``torch.nn.Module`` objects whose classes
are wrapped by ``torch_utils.persistence``: every network records the *source code* of
its module, and NVIDIA's own loader ``exec``s that source to rebuild the class. A
plain ``pickle.load`` would therefore run whatever code a tampered file carries.

This unpickler resolves only an allow-list of globals, each to a function of ours that
builds data and nothing else:

* tensors and their storages (the storage bytes are themselves a legacy ``torch.save``
  stream, read with ``torch.load(weights_only=True)``), parameters, ``OrderedDict``,
  numpy dtypes, scalars and arrays, ``set``/``frozenset``;
* ``torch_utils.persistence._reconstruct_persistent_obj`` becomes an inert
  ``PersistentObject`` that keeps the class *name* and the instance ``state`` (its
  parameters, buffers and submodules); the source code is never looked at;
* ``dnnlib.util.EasyDict`` becomes a plain dict subclass.

Any other global (``os.system``, ``builtins.eval``, ``subprocess.Popen`` ...) is refused
with an ``EngineError`` naming it, before it could be called.
"""

from __future__ import annotations

import io
import pickle
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch

from engines.base import EngineError


class UnsafePickle(EngineError):
    """The file asks for something a weights file has no reason to contain."""


@dataclass
class PersistentObject:
    """What a persistence-wrapped network becomes here: its class name and its state."""

    class_name: str
    state: dict[str, Any] = field(default_factory=dict)

    def children(self) -> Mapping[str, Any]:
        return self.state.get("_modules") or {}

    def tensors(self) -> Iterator[tuple[str, torch.Tensor]]:
        """(name, tensor) for the parameters and buffers of this module and its submodules."""
        for group in ("_parameters", "_buffers"):
            for name, value in (self.state.get(group) or {}).items():
                if isinstance(value, torch.Tensor):
                    yield name, value
        for child_name, child in self.children().items():
            if isinstance(child, PersistentObject):
                for name, value in child.tensors():
                    yield f"{child_name}.{name}", value

    @property
    def init_kwargs(self) -> Mapping[str, Any]:
        kwargs = self.state.get("_init_kwargs")
        return kwargs if isinstance(kwargs, Mapping) else {}


class EasyDict(dict):
    """Stand-in for ``dnnlib.util.EasyDict``: the items, none of the behaviour."""


def _reconstruct_persistent_obj(meta: Any) -> PersistentObject:
    """Replaces NVIDIA's hook of the same name, which would ``exec(meta['module_src'])``."""
    if not isinstance(meta, Mapping) or meta.get("type") != "class":
        raise UnsafePickle("The network file holds a persistent object of an unknown kind.",
                           f"meta: {type(meta).__name__}")
    name = meta.get("class_name")
    state = meta.get("state")
    if not isinstance(name, str) or not isinstance(state, Mapping):
        raise UnsafePickle("The network file holds a malformed persistent object.")
    return PersistentObject(name, dict(state))


def _load_storage(data: Any) -> Any:
    """A storage pickled as ``torch.save`` bytes; ``weights_only`` keeps that load safe too."""
    if not isinstance(data, (bytes, bytearray)):
        raise UnsafePickle("The network file holds a malformed tensor storage.")
    try:
        return torch.load(io.BytesIO(bytes(data)), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise UnsafePickle(
            "A tensor storage in the network file could not be read safely.",
            f"{type(exc).__name__}: {exc}",
        ) from exc


def _rebuild_tensor(storage: Any, offset: Any, size: Any, stride: Any, *_ignored: Any) -> Any:
    """Tensor view of a storage; hooks and metadata in the pickle are dropped on purpose."""
    if not isinstance(storage, torch.storage.TypedStorage):
        raise UnsafePickle("The network file holds a tensor without a proper storage.")
    if not (isinstance(offset, int) and isinstance(size, tuple) and isinstance(stride, tuple)):
        raise UnsafePickle("The network file holds a malformed tensor.")
    t = torch.empty((0,), dtype=storage.dtype)
    return t.set_(storage._untyped_storage, offset, torch.Size(size), stride)


def _rebuild_parameter(data: Any, *_ignored: Any) -> Any:
    if not isinstance(data, torch.Tensor):
        raise UnsafePickle("The network file holds a malformed parameter.")
    return data


def _numpy_core(name: str) -> Any:
    core = getattr(np, "_core", None) or np.core  # numpy 2 renamed numpy.core
    return getattr(core.multiarray, name)


ALLOWED: dict[tuple[str, str], Callable[..., Any] | type] = {
    ("collections", "OrderedDict"): OrderedDict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch.storage", "_load_from_bytes"): _load_storage,
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _reconstruct_persistent_obj,
    ("dnnlib.util", "EasyDict"): EasyDict,
    ("dnnlib", "EasyDict"): EasyDict,
    ("numpy", "dtype"): np.dtype,
    ("numpy", "ndarray"): np.ndarray,
}
for _core in ("numpy.core.multiarray", "numpy._core.multiarray"):
    ALLOWED[(_core, "scalar")] = _numpy_core("scalar")
    ALLOWED[(_core, "_reconstruct")] = _numpy_core("_reconstruct")


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED[(module, name)]
        except KeyError:
            raise UnsafePickle(
                f"The network file was refused: it refers to '{module}.{name}', which a "
                "weights file has no reason to use, so it was not loaded. Download the "
                "official file again.",
                f"refused global {module}.{name}",
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickle("The network file uses persistent ids, which NVIDIA's pickles do not.")


def load(stream: BinaryIO) -> Any:
    """Unpickle ``stream`` with the allow-list; unknown globals raise ``UnsafePickle``."""
    try:
        return _RestrictedUnpickler(stream).load()
    except EngineError:
        raise
    except Exception as exc:
        raise EngineError(
            "The network file could not be read; it may be damaged or not a StyleGAN pickle.",
            f"{type(exc).__name__}: {exc}",
        ) from exc


def load_file(path: str | Path) -> Any:
    with Path(path).open("rb") as fh:
        return load(fh)
