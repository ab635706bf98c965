"""What an operation panel is, and what it may ask of the window.

Every operation with a panel in the operations table (Remove, Composite, Translate,
Expression) is one dock panel built from its class. A panel owns its controls and how
to turn them into an engine job; the window owns the photo, the undo stack, the job
runner and the status bar. Keeping that line means a new operation is a new module plus
one line in the table, with no edit to the window.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Protocol

import numpy as np
from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction, QKeySequence, QStandardItemModel
from PySide6.QtWidgets import QComboBox, QDockWidget, QWidget

from app.gui.canvas.mask import MaskLayer
from app.gui.canvas.view import CanvasView
from app.gui.document import Document
from app.gui.jobs import Work
from engines import registry


class Workspace(Protocol):
    """The window as panels see it."""

    canvas: CanvasView
    document: Document | None

    def start_job(
        self, work: Work, on_done: Callable[[Any], None],
        on_preview: Callable[[Any, Any], None] | None = None,
    ) -> bool:
        """Run ``work`` on the job runner; ``on_done(result)`` only if it succeeds;
        previews to ``on_preview(pixels, box)`` instead of the canvas when given."""

    def apply_result(
        self, pixels: np.ndarray, label: str, alpha: np.ndarray | None = None,
        clear_mask: bool = True,
    ) -> None:
        """Make ``pixels`` the photo as one undoable step (blended by ``alpha`` if given)."""

    def show_error(self, title: str, message: str, detail: str = "") -> None:
        """A message box with the sentence and expandable details."""

    def show_status(self, message: str) -> None:
        """A short note in the status bar."""

    def forget_layer_edits(self, layer: MaskLayer) -> None:
        """Drop the undo steps on top that painted ``layer``: it is being thrown away."""

    def open_photo(self, path: str) -> bool:
        """Open ``path`` as the photo being edited (asks about unsaved changes)."""


class OperationPanel(QWidget):
    """A dock panel for one operation.

    Subclasses set ``title`` (the dock's and menu's name), ``key`` (settings and
    object names) and the run action's ``action_text``, ``shortcut`` and ``action_tip``
    (menu, toolbar and shortcut all call ``run``), and keep their choices with
    ``save_settings``/``restore_settings``.
    """

    title: ClassVar[str] = ""
    key: ClassVar[str] = ""
    action_text: ClassVar[str] = ""  # the run action's menu text, with its & mnemonic
    shortcut: ClassVar[str] = ""
    action_tip: ClassVar[str] = ""

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.run_action = QAction(self.action_text or self.title, self)
        if self.shortcut:
            self.run_action.setShortcut(QKeySequence(self.shortcut))
        self.run_action.setToolTip(self.action_tip)
        self.run_action.triggered.connect(self.run)

    def run(self) -> None:
        """Start the operation: the run action (menu, toolbar, shortcut) calls this."""

    def update_state(self, has_photo: bool, idle: bool) -> None:
        """Enable what may run now; a panel locks its choices while a job runs."""
        self.run_action.setEnabled(has_photo and idle)

    def document_changed(self) -> None:
        """The photo was opened, or its pixels changed (a result, undo, redo)."""

    def visibility_changed(self, visible: bool) -> None:
        """The panel's dock came into view or went out of it (its tab, the window)."""

    @property
    def on_screen(self) -> bool:
        """Whether the user can see the panel now. Not ``isVisible()`` alone: Qt moves
        the docks of tabs that are not current off the screen instead of hiding them."""
        return self.isVisible() and not self.visibleRegion().isEmpty()

    def bring_to_front(self) -> None:
        """Show the panel's tab (a shortcut ran its operation from elsewhere)."""
        dock = self.parentWidget()
        if isinstance(dock, QDockWidget):
            dock.show()
            dock.raise_()

    def shutdown(self) -> None:
        """The window is closing: let background work end cleanly."""

    def models_changed(self) -> None:
        """A model was trained or installed: engines that lacked one may run now."""

    def save_settings(self, settings: QSettings) -> None:
        """Remember the panel's choices (called when the window closes)."""

    def restore_settings(self, settings: QSettings) -> None:
        """Put back the choices remembered by ``save_settings``."""


def engine_combo(operation: str, default: str | None = None) -> QComboBox:
    """The engines of ``operation``: unavailable ones greyed, with the reason and the fix.

    ``default`` names the engine chosen at first (the operation's default otherwise).
    """
    combo = QComboBox()
    for entry in registry.entries(operation):
        combo.addItem(entry.title, entry.name)
    check_engines(combo, operation)
    combo.setCurrentIndex(combo.findData(registry.get(operation, default).name))
    return combo


def check_engines(combo: QComboBox, operation: str) -> None:
    """Grey the engines of ``engine_combo`` that cannot run now, ungrey the others."""
    model: QStandardItemModel = combo.model()  # type: ignore[assignment]
    for index in range(combo.count()):
        entry = registry.get(operation, combo.itemData(index))
        state = entry.availability()
        item = model.item(index)
        item.setToolTip(entry.description if state.available else
                        f"Unavailable: {state.reason} Fix: {state.fix}")
        item.setEnabled(state.available)


def restore_choice(combo: QComboBox, value: object) -> None:
    """Select a remembered entry, unless it is gone or has become unavailable."""
    index = combo.findData(value)
    model: QStandardItemModel = combo.model()  # type: ignore[assignment]
    if index >= 0 and model.item(index).isEnabled():
        combo.setCurrentIndex(index)
