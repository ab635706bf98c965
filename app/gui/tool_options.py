"""The tool options bar: brush or box, brush size and hardness, how strongly the mask shows.

It is bound to one canvas and one QSettings so every change is both applied and
remembered at once; the ``[``/``]`` shortcuts go through ``set_radius`` so the spin
box never disagrees with the brush.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QActionGroup, QColor, QIcon, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QColorDialog,
    QLabel,
    QSlider,
    QSpinBox,
    QToolBar,
    QToolButton,
    QWidget,
)

from app.gui.canvas.view import CanvasView

MIN_RADIUS, MAX_RADIUS = 1.0, 1000.0


class ToolOptionsBar(QToolBar):
    """Brush/Box, Size (diameter in photo pixels), Hardness %, Mask opacity % and colour."""

    def __init__(self, canvas: CanvasView, settings: QSettings,
                 parent: QWidget | None = None) -> None:
        super().__init__("Tool options", parent)
        self.setObjectName("tool-options")
        self.canvas, self.settings = canvas, settings
        group = QActionGroup(self)
        self.tool_actions: dict[str, QAction] = {}
        for name, text, key, tip in (
            ("brush", "Brush", "B", "Paint the selection; right button or Alt erases (B)"),
            ("box", "Box", "M", "Drag a rectangle to select; right button erases (M)"),
        ):
            action = QAction(text, self, checkable=True)
            action.setShortcut(QKeySequence(key))
            action.setToolTip(tip)
            action.triggered.connect(lambda _=False, n=name: self.set_tool(n))
            group.addAction(action)
            self.addAction(action)
            self.tool_actions[name] = action
        self.addSeparator()
        self.size = QSpinBox()
        self.size.setRange(int(2 * MIN_RADIUS), int(2 * MAX_RADIUS))
        self.size.setSuffix(" px")
        self.size.setToolTip("Brush diameter in photo pixels ([ and ] change it)")
        self.hardness = QSpinBox()
        self.hardness.setRange(0, 100)
        self.hardness.setSuffix(" %")
        self.hardness.setToolTip("100 % paints a crisp edge; lower values feather the fill")
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setMaximumWidth(120)
        self.opacity.setToolTip("How strongly the selection tints the photo")
        for text, widget in (("Size", self.size), ("Hardness", self.hardness),
                             ("Mask", self.opacity)):
            label = QLabel(f" {text} ")
            label.setBuddy(widget)
            self.addWidget(label)
            self.addWidget(widget)
        self.color_button = QToolButton()
        self.color_button.setToolTip("The selection's colour")
        self.color_button.clicked.connect(self._pick_color)
        self.addWidget(self.color_button)
        self._restore()
        self.size.valueChanged.connect(lambda d: self._set_radius(d / 2))
        self.hardness.valueChanged.connect(self._set_hardness)
        self.opacity.valueChanged.connect(self._set_opacity)

    def _restore(self) -> None:
        value = self.settings.value
        self.set_tool(str(value("tools/tool", "brush")))
        self.set_radius(float(value("brush/radius", 20.0)))
        self.hardness.setValue(int(float(value("brush/hardness", 100))))
        self._set_hardness(self.hardness.value())
        self.opacity.setValue(int(float(value("mask/opacity", 45))))
        self._set_opacity(self.opacity.value())
        color = QColor(str(value("mask/color", "#ff2828")))
        self.set_mask_color(color if color.isValid() else QColor("#ff2828"))

    def set_mask_color(self, color: QColor) -> None:
        self.canvas.set_overlay_color(color)
        swatch = QPixmap(16, 16)
        swatch.fill(color)
        self.color_button.setIcon(QIcon(swatch))
        self.settings.setValue("mask/color", color.name())

    def _pick_color(self) -> None:
        color = QColorDialog.getColor(self.canvas.overlay_color, self, "Selection colour")
        if color.isValid():
            self.set_mask_color(color)

    def set_tool(self, name: str) -> None:
        if name not in self.tool_actions:
            name = "brush"
        self.canvas.tool = name
        self.tool_actions[name].setChecked(True)
        self.settings.setValue("tools/tool", name)

    def set_radius(self, radius: float) -> None:
        """Resize the brush (shortcuts, spin box), clamped to what the canvas can paint."""
        radius = min(max(float(radius), MIN_RADIUS), MAX_RADIUS)
        self._set_radius(radius)
        self.size.blockSignals(True)
        self.size.setValue(round(2 * radius))
        self.size.blockSignals(False)

    def scale_radius(self, factor: float) -> None:
        self.set_radius(self.canvas.brush_radius * factor)

    def _set_radius(self, radius: float) -> None:
        self.canvas.brush_radius = radius
        self.canvas.refresh_cursor()
        self.settings.setValue("brush/radius", radius)

    def _set_hardness(self, percent: int) -> None:
        self.canvas.hardness = percent / 100
        self.settings.setValue("brush/hardness", percent)

    def _set_opacity(self, percent: int) -> None:
        self.canvas.set_overlay_opacity(percent / 100)
        self.settings.setValue("mask/opacity", percent)
