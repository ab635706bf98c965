"""The Remove panel: which engine, how careful, and the button that fills the selection."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engines import registry

QUALITIES = (("Fast", "fast"), ("Balanced", "balanced"), ("Best", "best"))


class RemovePanel(QWidget):
    """Emits ``run_requested(engine_name, quality)``; the window runs the job."""

    run_requested = Signal(str, str)
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.engine = QComboBox()
        model: QStandardItemModel = self.engine.model()  # type: ignore[assignment]
        for entry in registry.entries("remove"):
            state = entry.availability()
            self.engine.addItem(entry.title, entry.name)
            item = model.item(self.engine.count() - 1)
            item.setToolTip(entry.description if state.available else
                            f"Unavailable: {state.reason} Fix: {state.fix}")
            item.setEnabled(state.available)
        self.engine.setCurrentIndex(self.engine.findData(registry.get("remove").name))
        self.quality = QComboBox()
        for label, value in QUALITIES:
            self.quality.addItem(label, value)
        self.quality.setCurrentIndex(1)
        self.run_button = QPushButton("Remove")
        self.run_button.setToolTip("Fill the selection from the rest of the photo (Ctrl+R)")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop and keep the photo as it was (Esc)")
        self.cancel_button.setEnabled(False)
        hint = QLabel("Paint over what should go (right button erases), then Remove.")
        hint.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Engine", self.engine)
        form.addRow("Quality", self.quality)
        layout = QVBoxLayout(self)
        layout.addWidget(hint)
        layout.addLayout(form)
        layout.addWidget(self.run_button)
        layout.addWidget(self.cancel_button)
        layout.addStretch(1)
        self.run_button.clicked.connect(self.request_run)
        self.cancel_button.clicked.connect(self.cancel_requested)

    def set_busy(self, busy: bool) -> None:
        """Lock the choices while a job runs (the window decides when Remove may run)."""
        self.engine.setEnabled(not busy)
        self.quality.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)

    def request_run(self) -> None:
        self.run_requested.emit(self.engine.currentData(), self.quality.currentData())
