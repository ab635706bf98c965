"""Real mouse events for GUI tests (QTest's moves carry no pressed buttons)."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QGraphicsView


def send(view: QGraphicsView, kind, pos: QPoint, button, buttons) -> None:
    """A real QMouseEvent to the viewport (QTest's moves carry no pressed buttons)."""
    local = QPointF(pos)
    event = QMouseEvent(kind, local, view.viewport().mapToGlobal(local), button, buttons,
                        Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(view.viewport(), event)


def drag(view: QGraphicsView, points: list[tuple[float, float]], button=Qt.MouseButton.LeftButton):
    """Press at the first photo pixel, move through the rest, release at the last."""
    where = [view.mapFromScene(QPointF(x, y)) for x, y in points]
    send(view, QMouseEvent.Type.MouseButtonPress, where[0], button, button)
    for p in where[1:]:
        send(view, QMouseEvent.Type.MouseMove, p, Qt.MouseButton.NoButton, button)
    send(view, QMouseEvent.Type.MouseButtonRelease, where[-1], button, Qt.MouseButton.NoButton)
