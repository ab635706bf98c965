"""Side panels, one per operation that names one in the operations table.

The window builds a dock for each class ``panel_types`` returns, in the table's order
(``engines.operations``); a new operation's panel is its own module plus its line there.
"""

from __future__ import annotations

from app.gui.panels.base import OperationPanel
from engines import operations


def panel_types() -> list[type[OperationPanel]]:
    """The panel class of every operation that has one, in the table's order."""
    return [operations.load(op.panel) for op in operations.OPERATIONS if op.panel]
