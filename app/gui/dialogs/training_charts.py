"""What a training run shows while it runs: the preview grid and the loss curves.

Both are painted with QPainter from plain numbers (no plotting library), and both are
told what they show, so every training dialog uses them: the grid is the trainer's
strip of equal panels with a caption over each, the plot draws the series it is given,
each on its axis (series on one axis share its scale; the first axis is labelled on
the left, every other one on the right), and marks where the stages begin.

The loss rows come from the CSV a trainer writes beside its previews (``read_losses``).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.gui.qimages import to_qimage

MARGIN = 36  # room for one axis' labels


@dataclass(frozen=True, eq=False)
class Series:
    """One loss curve: the CSV column, its legend label, colour and axis.

    ``from_zero``: the axis starts at 0 (losses); False spans the values' own range
    (a PSNR in dB, which moves by tenths around 20).
    """

    key: str
    label: str
    colour: QColor
    axis: str = "left"
    from_zero: bool = True
    unit: str = ""


def read_losses(path: Path) -> list[dict[str, float]]:
    """A trainer's loss CSV as rows of {column: value}; [] while there is none yet.

    "nan" (a column not measured yet, such as validation before its first round) is
    read as NaN: the plot leaves a gap there.
    """
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = []
            for row in csv.DictReader(fh):
                try:
                    rows.append({k: float(v) for k, v in row.items() if k and v})
                except (TypeError, ValueError):
                    continue  # a line caught half-written
            return rows
    except OSError:
        return []


def duration_text(seconds: float) -> str:
    """"40 s", "12 min", "3.5 h": how long is left, as a person says it."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class PreviewGrid(QWidget):
    """The trainer's latest preview strip, scaled to fit, a caption over each panel."""

    def __init__(self, captions: Sequence[str], placeholder: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.captions = tuple(captions)
        self.placeholder = placeholder or (
            "The " + ", ".join(c.lower() for c in self.captions)
            + " of a training photo appear here as training goes.")
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
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter
                             | Qt.TextFlag.TextWordWrap, self.placeholder)
            return
        area = QRectF(self.rect()).adjusted(4, text_h, -4, -4)
        scale = min(area.width() / self.image.width(), area.height() / self.image.height())
        w, h = self.image.width() * scale, self.image.height() * scale
        target = QRectF(area.x() + (area.width() - w) / 2, area.y(), w, h)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        painter.drawImage(target, self.image)
        painter.setPen(self.palette().text().color())
        panel = w / max(1, len(self.captions))
        for i, caption in enumerate(self.captions):
            cell = QRectF(target.x() + i * panel, 0, panel, text_h)
            painter.drawText(cell, Qt.AlignmentFlag.AlignCenter, caption)


class LossPlot(QWidget):
    """Loss curves of the run so far: rows of {column: value} with a "step" column.

    ``series``: what to draw; a series with no finite value yet is left out (and so is
    its axis). ``stage_names``: the label of each "stage" value, where it begins.
    """

    def __init__(self, series: Sequence[Series], stage_names: Sequence[str] = (),
                 placeholder: str = "Loss curves appear after a few previews.",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.series = tuple(series)
        self.stage_names = tuple(stage_names)
        self.placeholder = placeholder
        self.rows: list[dict[str, float]] = []
        self.setMinimumHeight(140)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_rows(self, rows: Sequence[dict[str, float]]) -> None:
        self.rows = list(rows)
        self.update()

    def shown_series(self) -> list[Series]:
        """The series drawn now: those with at least one finite value."""
        rows = [r for r in self.rows if "step" in r]
        return [s for s in self.series
                if any(np.isfinite(r.get(s.key, np.nan)) for r in rows)]

    def axes(self) -> dict[str, list[Series]]:
        """axis → its shown series, in the order the series name them (first: left)."""
        found: dict[str, list[Series]] = {}
        for s in self.shown_series():
            found.setdefault(s.axis, []).append(s)
        return found

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(640, 180)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        palette = self.palette()
        painter.fillRect(self.rect(), palette.base())
        text = palette.text().color()
        rows = [r for r in self.rows if "step" in r]
        axes = self.axes() if len(rows) >= 2 else {}
        ranges = {axis: self._range([r.get(s.key, np.nan) for r in rows for s in shown],
                                    all(s.from_zero for s in shown))
                  for axis, shown in axes.items()}
        labels = {axis: _labels(*ranges[axis]) for axis in axes}
        metrics = painter.fontMetrics()
        widths = [max(MARGIN, 8 + max(metrics.horizontalAdvance(t) for t in labels[axis]))
                  for axis in axes]
        left = widths[0] if widths else MARGIN
        right = sum(widths[1:]) or MARGIN
        plot = QRectF(self.rect()).adjusted(left, 22, -right, -18)
        painter.setPen(QPen(palette.mid().color(), 1))
        painter.drawRect(plot)
        if not axes:
            painter.setPen(palette.placeholderText().color())
            painter.drawText(plot, Qt.AlignmentFlag.AlignCenter, self.placeholder)
            return
        steps = np.array([r["step"] for r in rows], np.float64)
        first, last = float(steps[0]), float(steps[-1])

        def x_of(step: float) -> float:
            return plot.left() + (step - first) / max(1.0, last - first) * plot.width()

        self._stage_marks(painter, rows, x_of, plot, text)
        legend_x = plot.left()
        for shown in axes.values():
            for s in shown:
                low, high = ranges[s.axis]
                values = np.array([r.get(s.key, np.nan) for r in rows], np.float64)
                painter.setPen(QPen(s.colour, 1.6))
                painter.drawPath(self._path(steps, values, low, high, x_of, plot))
                latest = values[np.isfinite(values)]
                digits = 3 if s.from_zero else 4  # a PSNR moves in its second decimal
                note = f"{s.label} {latest[-1]:.{digits}g}{s.unit}"
                painter.drawText(QPointF(legend_x, 15), note)
                legend_x += painter.fontMetrics().horizontalAdvance(note) + 16
        column_x = plot.right() + 4
        for index, (axis, shown) in enumerate(axes.items()):
            high_text, low_text = labels[axis]
            painter.setPen(shown[0].colour if len(shown) == 1 and len(axes) > 2 else text)
            if index == 0:
                x, align = 0.0, Qt.AlignmentFlag.AlignRight
            else:
                x, align = column_x, Qt.AlignmentFlag.AlignLeft
                column_x += widths[index]
            width = widths[index] - 4
            painter.drawText(QRectF(x, plot.top() - 2, width, 14), align, high_text)
            painter.drawText(QRectF(x, plot.bottom() - 12, width, 14), align, low_text)
        painter.setPen(text)
        painter.drawText(QRectF(plot.left(), plot.bottom() + 2, plot.width(), 16),
                         Qt.AlignmentFlag.AlignLeft, f"step {first:.0f}")
        painter.drawText(QRectF(plot.left(), plot.bottom() + 2, plot.width(), 16),
                         Qt.AlignmentFlag.AlignRight, f"step {last:.0f}")

    @staticmethod
    def _path(steps: np.ndarray, values: np.ndarray, low: float, high: float, x_of,
              plot: QRectF) -> QPainterPath:
        """The curve, broken where a value is missing."""
        path = QPainterPath()
        drawing = False
        for step, value in zip(steps, values, strict=True):
            if not np.isfinite(value):
                drawing = False
                continue
            share = min(1.0, max(0.0, (value - low) / (high - low)))
            point = QPointF(x_of(step), plot.bottom() - share * plot.height())
            if drawing:
                path.lineTo(point)
            else:
                path.moveTo(point)
                drawing = True
        return path

    @staticmethod
    def _range(values: list[float], from_zero: bool) -> tuple[float, float]:
        """An axis' bottom and top: high (and low) percentiles, so one wild step does
        not flatten the rest."""
        finite = np.array([v for v in values if np.isfinite(v)], np.float64)
        if finite.size == 0:
            return 0.0, 1.0
        high = float(np.percentile(finite, 98))
        if from_zero:
            return 0.0, max(1e-6, high * 1.1)
        low = float(np.percentile(finite, 2))
        pad = max((high - low) * 0.1, 1e-3 * max(1.0, abs(high)))
        return low - pad, high + pad

    def _stage_marks(self, painter: QPainter, rows, x_of, plot: QRectF, text: QColor) -> None:
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
                names = self.stage_names
                name = names[stage] if 0 <= stage < len(names) else str(stage)
                painter.drawText(QPointF(x + 3, plot.top() + 12), name)
                previous = stage


def _labels(low: float, high: float) -> tuple[str, str]:
    """The top and bottom of an axis, with the decimals that tell them apart."""
    if low == 0:
        return f"{high:.3g}", "0"
    decimals = max(0, min(6, 1 - int(np.floor(np.log10(max(high - low, 1e-9))))))
    return f"{high:.{decimals}f}", f"{low:.{decimals}f}"
