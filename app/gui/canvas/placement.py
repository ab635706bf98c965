"""The cut-out object as a layer the user moves, scales and flips over the photo.

The layer knows only geometry: where the guide's box lands (top-left corner in photo
pixels), its scale along each axis and whether it is mirrored. The Composite engine
redoes the resampling at full quality from those numbers, so dragging stays cheap.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import (
    QGraphicsObject,
    QGraphicsSceneMouseEvent,
    QStyleOptionGraphicsItem,
    QWidget,
)

from engines.composite.request import Placement

HANDLE_PX = 9  # screen pixels: corner handles stay grabbable at any zoom
MIN_SIZE = 2.0  # photo pixels


class PlacementItem(QGraphicsObject):
    """The guide box's pixels (object opaque, the rest faint) with four corner handles.

    ``changed`` fires whenever the placement moves, scales or flips.
    """

    changed = Signal()

    def __init__(self, cutout: QImage) -> None:
        super().__init__()
        self._cutout = cutout
        self._size = QPointF(cutout.width(), cutout.height())
        self._flip = False
        self._drag: tuple[str, QPointF, QPointF, QPointF] | None = None
        self.setZValue(5)
        self.setAcceptHoverEvents(True)

    # ------------------------------------------------------------------ geometry
    @property
    def placement(self) -> Placement:
        return Placement(self.pos().x(), self.pos().y(),
                         self._size.x() / self._cutout.width(),
                         self._size.y() / self._cutout.height(), self._flip)

    def set_placement(self, placement: Placement) -> None:
        self.prepareGeometryChange()
        self.setPos(placement.x, placement.y)
        self._size = QPointF(self._cutout.width() * placement.scale_x,
                             self._cutout.height() * placement.scale_y)
        self._flip = placement.flip
        self.update()
        self.changed.emit()

    def set_cutout(self, cutout: QImage) -> None:
        """New pixels (a refined segmentation) at the same place and scale."""
        scale = self.placement
        self._cutout = cutout
        self.set_placement(scale)

    def nudge(self, dx: float, dy: float) -> None:
        self.setPos(self.pos() + QPointF(dx, dy))
        self.changed.emit()

    def flip(self) -> None:
        self._flip = not self._flip
        self.update()
        self.changed.emit()

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt API
        pad = 2 * HANDLE_PX / max(self._view_scale(), 1e-6)
        return QRectF(0, 0, self._size.x(), self._size.y()).adjusted(-pad, -pad, pad, pad)

    def _view_scale(self) -> float:
        scene = self.scene()
        views = scene.views() if scene is not None else []
        return views[0].transform().m11() if views else 1.0

    def _handles(self) -> dict[str, QRectF]:
        half = HANDLE_PX / 2 / max(self._view_scale(), 1e-6)
        w, h = self._size.x(), self._size.y()
        corners = {"tl": (0, 0), "tr": (w, 0), "bl": (0, h), "br": (w, h)}
        return {name: QRectF(x - half, y - half, 2 * half, 2 * half)
                for name, (x, y) in corners.items()}

    # ------------------------------------------------------------------ painting
    def paint(  # noqa: D102 - Qt API
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        w, h = self._size.x(), self._size.y()
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        if self._flip:
            painter.translate(w, 0)
            painter.scale(-1, 1)
        painter.drawImage(QRectF(0, 0, w, h), self._cutout)
        painter.restore()
        pen = QPen(QColor(255, 255, 255), 0, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.drawRect(QRectF(0, 0, w, h))
        painter.setPen(QPen(QColor(0, 0, 0), 0))
        painter.setBrush(QColor(255, 255, 255))
        for rect in self._handles().values():
            painter.drawRect(rect)

    # --------------------------------------------------------------------- mouse
    def handle_at(self, scene_point: QPointF) -> str | None:
        local = self.mapFromScene(scene_point)
        for name, rect in self._handles().items():
            if rect.contains(local):
                return name
        return None

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802 - Qt API
        if event.button() != Qt.MouseButton.LeftButton:
            event.ignore()
            return
        mode = self.handle_at(event.scenePos()) or "move"
        self._drag = (mode, event.scenePos(), self.pos(), QPointF(self._size))
        event.accept()

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802 - Qt API
        if self._drag is None:
            return
        mode, start, pos, size = self._drag
        delta = event.scenePos() - start
        if mode == "move":
            self.setPos(pos + delta)
        else:
            self._resize(mode, pos, size, delta,
                         free=bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier))
        self.changed.emit()

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802 - Qt API
        self._drag = None
        event.accept()

    def _resize(self, corner: str, pos: QPointF, size: QPointF, delta: QPointF,
                free: bool) -> None:
        """Drag a corner; the opposite corner stays put. Aspect kept unless ``free``."""
        sign_x = 1 if corner in ("tr", "br") else -1
        sign_y = 1 if corner in ("bl", "br") else -1
        w = max(MIN_SIZE, size.x() + sign_x * delta.x())
        h = max(MIN_SIZE, size.y() + sign_y * delta.y())
        if not free:
            factor = max(w / size.x(), h / size.y())
            w, h = max(MIN_SIZE, size.x() * factor), max(MIN_SIZE, size.y() * factor)
        x = pos.x() if sign_x > 0 else pos.x() + size.x() - w
        y = pos.y() if sign_y > 0 else pos.y() + size.y() - h
        self.prepareGeometryChange()
        self._size = QPointF(w, h)
        self.setPos(x, y)
        self.update()
