"""Engines registered by name per operation, loaded lazily.

Listing engines must not import torch or load weights (the CLI's ``engines`` command
and the UI's menus call it at start-up), so each entry names the module that holds
the engine and a cheap availability check. Which packages register engines, and in
which order operations are listed, comes from the operations table
(``engines.operations``).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field

from engines import operations


@dataclass(frozen=True)
class Availability:
    """Whether an engine can run here; when not, why and the one action that fixes it."""

    available: bool
    reason: str = ""
    fix: str = ""


def needs_modules(*names: str) -> Callable[[], Availability]:
    """An availability check that only looks for importable packages (cheap, no import)."""

    def check() -> Availability:
        missing = [n for n in names if importlib.util.find_spec(n) is None]
        if missing:
            return Availability(
                False,
                f"The Python package(s) {', '.join(missing)} are not installed.",
                f"pip install {' '.join(missing)}",
            )
        return Availability(True)

    return check


def needs_weights(*names: str, modules: tuple[str, ...] = ("torch",)) -> Callable[[], Availability]:
    """An availability check for engines that need downloadable weights: the packages
    import and every named file is installed (no hashing, no torch import)."""

    def check() -> Availability:
        missing = needs_modules(*modules)()
        if not missing.available:
            return missing
        from engines.store import weights

        for name in names:
            try:
                entry = weights.entry(name)
            except Exception as exc:  # an entry missing from models.toml is our bug: say so
                return Availability(False, f"No weights named {name!r} are registered ({exc}).")
            if not weights.is_installed(entry):
                return Availability(
                    False,
                    f"The {entry.title} weights are not installed.",
                    f"transfigure weights download {name}  (or: transfigure weights import "
                    f"{name} FILE)",
                )
        return Availability(True)

    return check


def needs_model(kind: str) -> Callable[[], Availability]:
    """An availability check for engines that run a model we train: torch imports and the
    model a request without one would use is installed. ``kind`` is the
    ``"module:ATTRIBUTE"`` of its ``store.ModelKind``, imported only when checked."""

    def check() -> Availability:
        from engines import store

        return store.availability(operations.load(kind))

    return check


@dataclass(frozen=True)
class EngineEntry:
    operation: str
    name: str
    title: str
    description: str
    target: str  # "package.module:ClassName"
    check: Callable[[], Availability] = field(default=lambda: Availability(True))
    default: bool = False

    def availability(self) -> Availability:
        return self.check()

    def load(self) -> type:
        return operations.load(self.target)


_ENTRIES: dict[str, dict[str, EngineEntry]] = {}


def register(entry: EngineEntry) -> None:
    _ENTRIES.setdefault(entry.operation, {})[entry.name] = entry


def operation_names() -> list[str]:
    """Operations with engines, in the table's order (whatever order their packages
    happened to be imported in)."""
    _import_engine_packages()
    rank = {op.name: i for i, op in enumerate(operations.OPERATIONS)}
    return sorted(_ENTRIES, key=lambda name: (rank.get(name, len(rank)), name))


def entries(operation: str) -> list[EngineEntry]:
    _import_engine_packages()
    return list(_ENTRIES.get(operation, {}).values())


def get(operation: str, name: str | None = None) -> EngineEntry:
    """The named engine, or the operation's default; KeyError names the choices."""
    _import_engine_packages()
    table = _ENTRIES.get(operation)
    if not table:
        raise KeyError(f"Unknown operation {operation!r}; known: {', '.join(_ENTRIES)}")
    if name is None:
        return next((e for e in table.values() if e.default), next(iter(table.values())))
    if name not in table:
        raise KeyError(f"Unknown {operation} engine {name!r}; choose one of: {', '.join(table)}")
    return table[name]


def _import_engine_packages() -> None:
    """Import the operation packages whose ``__init__`` registers their engines (a package
    already imported costs a dictionary lookup, so the table is read at every call)."""
    for op in operations.OPERATIONS:
        importlib.import_module(op.engines)
