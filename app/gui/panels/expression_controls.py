"""The Expression panel's feature-by-feature controls: what to take, and the sliders.

Two groups of horizontal sliders. "Take from the second face": mouth, eyes, brows (0 to
100 %, all on by default) and head tilt (off by default). "Sliders": smile, open mouth,
raise brows, open eyes, from -100 to 100 around a neutral 0, which need no second photo.
Each slider shows its value beside it; double-clicking a value label puts that slider
back to its default. ``changed`` is emitted on every move, so the panel can preview live.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

FEATURES = {  # request field: (label, default %, tooltip)
    "mouth": ("Mouth", 100, "How much of the second face's mouth to take"),
    "eyes": ("Eyes", 100, "How much of the second face's eye openness to take"),
    "brows": ("Brows", 100, "How much of the second face's brows to take"),
    "tilt": ("Head tilt", 0, "How much of the second head's lean to take (off by default)"),
}
SLIDERS = {  # request field: (label, tooltip)
    "smile": ("Smile", "Right: smile (corners and cheeks up). Left: frown."),
    "mouth_open": ("Open mouth", "Right: the jaw opens. Left: an open mouth closes."),
    "brow_raise": ("Raise brows", "Right: brows up. Left: brows down."),
    "eye_open": ("Open eyes", "Right: eyes wider. Left: the lids close."),
}


class _ValueLabel(QLabel):
    """The slider's value; a double-click resets the slider."""

    def __init__(self, slider: QSlider, default: int) -> None:
        super().__init__()
        self._slider, self._default = slider, default
        self.setMinimumWidth(36)
        self.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.setToolTip("Double-click to reset")
        slider.valueChanged.connect(self._show)
        self._show(slider.value())

    def _show(self, value: int) -> None:
        self.setText(f"{value:+d}" if self._slider.minimum() < 0 else f"{value} %")

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802 - Qt API
        self._slider.setValue(self._default)


class ExpressionControls(QWidget):
    """Feature strengths and sliders; ``values()`` gives the request's fields."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.features: dict[str, QSlider] = {}
        self.sliders: dict[str, QSlider] = {}
        take = QGroupBox("Take from the second face")
        take_form = QFormLayout(take)
        for name, (label, default, tip) in FEATURES.items():
            take_form.addRow(label, self._row(self.features, name, 0, 100, default, tip))
        moves = QGroupBox("Sliders (no second photo needed)")
        moves_form = QFormLayout(moves)
        for name, (label, tip) in SLIDERS.items():
            moves_form.addRow(label, self._row(self.sliders, name, -100, 100, 0, tip))
        self.reset_button = QPushButton("Reset Sliders")
        self.reset_button.setToolTip("Put every slider back to 0")
        self.reset_button.clicked.connect(self.reset_sliders)
        moves_form.addRow(self.reset_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(take)
        layout.addWidget(moves)

    def _row(self, into: dict[str, QSlider], name: str, low: int, high: int, default: int,
             tip: str) -> QWidget:
        slider = QSlider(Qt.Orientation.Horizontal)
        slider.setRange(low, high)
        slider.setValue(default)
        slider.setPageStep(10)
        slider.setToolTip(tip)
        slider.setObjectName(name)
        slider.valueChanged.connect(lambda _: self.changed.emit())
        into[name] = slider
        row = QWidget()
        line = QHBoxLayout(row)
        line.setContentsMargins(0, 0, 0, 0)
        line.addWidget(slider, 1)
        line.addWidget(_ValueLabel(slider, default))
        return row

    def values(self) -> dict[str, float]:
        """The request's per-feature strengths (0-1) and slider settings (-1 to 1)."""
        return {name: slider.value() / 100
                for name, slider in (*self.features.items(), *self.sliders.items())}

    @property
    def sliders_moved(self) -> bool:
        return any(slider.value() != 0 for slider in self.sliders.values())

    def reset_sliders(self) -> None:
        """All sliders back to 0, announced once (not once per slider)."""
        self.blockSignals(True)
        for slider in self.sliders.values():
            slider.setValue(0)
        self.blockSignals(False)
        self.changed.emit()

    def save_settings(self, settings: QSettings) -> None:
        """Remember the feature strengths (sliders start at 0 on every photo)."""
        for name, slider in self.features.items():
            settings.setValue(f"expression/{name}", slider.value())

    def restore_settings(self, settings: QSettings) -> None:
        for name, slider in self.features.items():
            slider.setValue(int(settings.value(f"expression/{name}", FEATURES[name][1])))
