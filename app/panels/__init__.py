"""Side panels, one per operation; the window builds a dock for each class listed here."""

from __future__ import annotations

from app.panels.base import OperationPanel
from app.panels.composite_panel import CompositePanel
from app.panels.expression_panel import ExpressionPanel
from app.panels.remove_panel import RemovePanel
from app.panels.translate_panel import TranslatePanel

PANEL_TYPES: tuple[type[OperationPanel], ...] = (
    RemovePanel, CompositePanel, TranslatePanel, ExpressionPanel,
)
