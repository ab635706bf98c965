"""Every operation Transfigure offers, in one table: where its engines, panel and commands are.

The registry imports each operation's engine package (which registers its engines), the
window builds a dock from each panel, and the command line adds each command module's
commands, all from this table and in its order (read as ``operations.OPERATIONS`` at
each use, so a line added later counts). Adding an operation is its own files
(an engine package; a panel and/or a command module if users reach it there) and one
line here. Panels and command modules are named as strings and imported only by the
front end that shows them, so the engines never import Qt or the command line. The kinds
of model an operation trains and ships are named here too, so that listing every model
Transfigure trained (``engines.store.catalog``: ``transfigure weights list``, the About
box) picks up a new kind without touching a front end.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Operation:
    """One operation and the modules that implement it.

    ``engines``: the package whose import registers the operation's engines.
    ``panel``: ``"module:Class"`` of its dock panel in the window, or None when it has
    none (a step another operation runs). ``commands``: the command-line module whose
    ``add_commands(commands, common)`` adds its commands, or None. ``models``: the
    ``"module:ATTRIBUTE"`` of each ``store.ModelKind`` whose models the operation runs
    (models Transfigure trains and ships; imported only when models are listed).
    """

    name: str
    engines: str
    panel: str | None = None
    commands: str | None = None
    models: tuple[str, ...] = ()


OPERATIONS: tuple[Operation, ...] = (
    Operation("remove", "engines.remove",
              "app.gui.panels.remove_panel:RemovePanel", "app.cli.remove",
              models=("engines.remove.generator.model_file:INPAINTING",)),
    Operation("composite", "engines.composite",
              "app.gui.panels.composite_panel:CompositePanel", "app.cli.composite"),
    Operation("segment", "engines.composite"),
    Operation("harmonize", "engines.composite", None, "app.cli.harmonize",
              models=("engines.composite.harmonize_net:HARMONIZATION",)),
    Operation("translate", "engines.translate",
              "app.gui.panels.translate_panel:TranslatePanel", "app.cli.translate",
              models=("engines.translate.model_file:TRANSLATION",)),
    Operation("expression", "engines.expression",
              "app.gui.panels.expression_panel:ExpressionPanel", "app.cli.expression"),
)


def load(target: str) -> Any:
    """The object a ``"module:attribute"`` string names (a panel class, an engine class)."""
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)
