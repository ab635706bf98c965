"""What a training run shows while it runs: the preview grid and the loss curves.

Both are painted with QPainter from plain numbers (no plotting library): the grid is
the trainer's input | G0 | attention | result strip with a caption over each quarter,
the plot draws the discriminator and adversarial losses on one scale, the
self-regularization on its own (it is orders of magnitude smaller), and marks where
the three stages begin.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.gui.qimages import to_qimage

GRID_CAPTIONS = ("Input", "Initial G0(x)", "Attention A(x)", "Result")
STAGE_NAMES = ("G0", "attention", "joint")
# column, label, colour, which scale: "left" (D and adversarial) or "right" (regularization)
SERIES = (
    ("d_loss", "D", QColor(220, 70, 60), "left"),
    ("g_adv", "adversarial", QColor(70, 120, 230), "left"),
    ("reg", "self-reg.", QColor(60, 170, 90), "right"),
)
MARGIN = 36


class PreviewGrid(QWidget):
    """The trainer's latest preview strip, scaled to fit, with its four captions."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image = QImage()
        self.setMinimumHeight(150)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_pixels(self, pixels: np.ndarray) -> None:
        self.image = to_qimage(pixels)
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(640, 200)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().base())
        text_h = painter.fontMetrics().height() + 4
        if self.image.isNull():
            painter.setPen(self.palette().placeholderText().color())
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter,
                             "The input, G0, attention and result of a training photo "
                             "appear here as training goes.")
            return
        area = QRectF(self.rect()).adjusted(4, text_h, -4, -4)
        scale = min(area.width() / self.image.width(), area.height() / self.image.height())
        w, h = self.image.width() * scale, self.image.height() * scale
        target = QRectF(area.x() + (area.width() - w) / 2, area.y(), w, h)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        painter.drawImage(target, self.image)
        painter.setPen(self.palette().text().color())
        quarter = w / len(GRID_CAPTIONS)
        for i, caption in enumerate(GRID_CAPTIONS):
            cell = QRectF(target.x() + i * quarter, 0, quarter, text_h)
            painter.drawText(cell, Qt.AlignmentFlag.AlignCenter, caption)


class LossPlot(QWidget):
    """Loss curves of the run so far: rows of {column: value} with a "step" column."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[dict[str, float]] = []
        self.setMinimumHeight(140)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_rows(self, rows: Sequence[dict[str, float]]) -> None:
        self.rows = list(rows)
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(640, 180)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        palette = self.palette()
        painter.fillRect(self.rect(), palette.base())
        text = palette.text().color()
        plot = QRectF(self.rect()).adjusted(MARGIN, 22, -MARGIN, -18)
        painter.setPen(QPen(palette.mid().color(), 1))
        painter.drawRect(plot)
        rows = [r for r in self.rows if "step" in r]
        if len(rows) < 2:
            painter.setPen(palette.placeholderText().color())
            painter.drawText(plot, Qt.AlignmentFlag.AlignCenter,
                             "Loss curves appear after a few previews.")
            return
        steps = np.array([r["step"] for r in rows], np.float64)
        first, last = float(steps[0]), float(steps[-1])

        def x_of(step: float) -> float:
            return plot.left() + (step - first) / max(1.0, last - first) * plot.width()

        self._stage_marks(painter, rows, x_of, plot, text)
        scales = {side: self._scale([r.get(key, 0.0) for r in rows for key, _, _, s in SERIES
                                     if s == side]) for side in ("left", "right")}
        legend_x = plot.left()
        for key, label, colour, side in SERIES:
            values = np.array([r.get(key, np.nan) for r in rows], np.float64)
            top = scales[side]
            path = QPainterPath()
            drawing = False
            for step, value in zip(steps, values, strict=True):
                if not np.isfinite(value):
                    drawing = False
                    continue
                y = plot.bottom() - min(1.0, max(0.0, value / top)) * plot.height()
                point = QPointF(x_of(step), y)
                if drawing:
                    path.lineTo(point)
                else:
                    path.moveTo(point)
                    drawing = True
            painter.setPen(QPen(colour, 1.6))
            painter.drawPath(path)
            latest = values[np.isfinite(values)]
            note = f"{label} {latest[-1]:.3g}" if latest.size else label
            painter.drawText(QPointF(legend_x, 15), note)
            legend_x += painter.fontMetrics().horizontalAdvance(note) + 16
        painter.setPen(text)
        painter.drawText(QRectF(0, plot.top() - 2, MARGIN - 4, 14),
                         Qt.AlignmentFlag.AlignRight, f"{scales['left']:.2g}")
        painter.drawText(QRectF(plot.right() + 4, plot.top() - 2, MARGIN, 14),
                         Qt.AlignmentFlag.AlignLeft, f"{scales['right']:.2g}")
        painter.drawText(QRectF(0, plot.bottom() - 12, MARGIN - 4, 14),
                         Qt.AlignmentFlag.AlignRight, "0")
        painter.drawText(QRectF(plot.left(), plot.bottom() + 2, plot.width(), 16),
                         Qt.AlignmentFlag.AlignLeft, f"step {first:.0f}")
        painter.drawText(QRectF(plot.left(), plot.bottom() + 2, plot.width(), 16),
                         Qt.AlignmentFlag.AlignRight, f"step {last:.0f}")

    @staticmethod
    def _scale(values: list[float]) -> float:
        """The top of an axis: a high percentile, so one wild step does not flatten all."""
        finite = np.array([v for v in values if np.isfinite(v)], np.float64)
        if finite.size == 0:
            return 1.0
        return max(1e-6, float(np.percentile(finite, 98)) * 1.1)

    @staticmethod
    def _stage_marks(painter: QPainter, rows, x_of, plot: QRectF, text: QColor) -> None:
        """A dashed line and the stage's name where each stage's rows begin."""
        pen = QPen(text, 1, Qt.PenStyle.DashLine)
        previous = None
        for row in rows:
            stage = int(row.get("stage", 0))
            if stage != previous:
                x = x_of(row["step"])
                painter.setPen(pen)
                if previous is not None:
                    painter.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()))
                name = STAGE_NAMES[stage] if 0 <= stage < len(STAGE_NAMES) else str(stage)
                painter.drawText(QPointF(x + 3, plot.top() + 12), name)
                previous = stage
