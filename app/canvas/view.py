"""The canvas widget: the photo, its selection overlay and previews; brush and box tools.

Coordinates: the scene is the photo in pixels, so a mouse position maps to a photo
pixel through the view's transform alone. Zoom is the transform's scale.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPen, QWheelEvent
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsView,
    QWidget,
)

from app.canvas.items import ImageItem
from app.canvas.mask import MaskEdit, MaskLayer, Rect
from app.qimages import mask_overlay, to_qimage

MIN_ZOOM, MAX_ZOOM = 0.02, 32.0


class CanvasView(QGraphicsView):
    """Shows a photo and lets the user paint or box the selection.

    ``mask_edited(MaskEdit)`` fires once per finished stroke or box, for the undo stack;
    ``zoom_changed(float)`` whenever the scale changes (1.0 = 100 %).
    """

    mask_edited = Signal(object)
    zoom_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setMouseTracking(True)
        self.setBackgroundBrush(QColor(48, 48, 48))
        self._photo = ImageItem()
        self._overlay = ImageItem()
        self._preview = ImageItem()
        for z, item in enumerate((self._photo, self._preview, self._overlay)):
            item.setZValue(z)
            self.scene().addItem(item)
        self._cursor = QGraphicsEllipseItem()
        self._cursor.setPen(QPen(QColor(255, 255, 255, 200), 0))  # cosmetic: 1 screen px
        self._cursor.setZValue(10)
        self._cursor.hide()
        self.scene().addItem(self._cursor)
        self._band = QGraphicsRectItem()
        self._band.setPen(QPen(QColor(255, 255, 255), 0, Qt.PenStyle.DashLine))
        self._band.setZValue(11)
        self._band.hide()
        self.scene().addItem(self._band)
        self.mask: MaskLayer | None = None
        self.overlay_color = QColor(255, 40, 40, 110)
        self.tool = "brush"
        self.brush_radius = 20.0
        self.hardness = 1.0
        self._stroke_last: QPointF | None = None
        self._stroke_erase = False
        self._box_start: QPointF | None = None

    # ------------------------------------------------------------------ content
    def set_image(self, pixels: np.ndarray) -> None:
        """Show a new photo (float or uint8 HxWx3) with an empty selection, fitted."""
        h, w = pixels.shape[:2]
        self._photo.set_image(to_qimage(pixels))
        self.mask = MaskLayer(h, w)
        overlay = QImage(w, h, QImage.Format.Format_ARGB32_Premultiplied)
        overlay.fill(0)
        self._overlay.set_image(overlay)
        self.clear_preview()
        self.scene().setSceneRect(QRectF(0, 0, w, h))
        self.fit()

    def replace_photo(self, pixels: np.ndarray) -> None:
        """Show other pixels of the same size (an operation's result, undo), keeping the mask."""
        self._photo.set_image(to_qimage(pixels))
        self.clear_preview()

    def refresh_mask(self, rect: Rect | None = None) -> None:
        """Redraw the overlay where the mask changed (everything when ``rect`` is None)."""
        if self.mask is None:
            return
        h, w = self.mask.shape
        x, y, rw, rh = rect or (0, 0, w, h)
        if rw <= 0 or rh <= 0:
            return
        part = mask_overlay(self.mask.coverage[y : y + rh, x : x + rw] >= 128, self.overlay_color)
        painter = QPainter(self._overlay.image)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
        painter.drawImage(x, y, part)
        painter.end()
        self._overlay.update(QRectF(x, y, rw, rh))

    def show_preview(self, pixels: np.ndarray, box: tuple[int, int, int, int] | None) -> None:
        """Show an engine's preview stretched over ``box`` (the whole photo when None)."""
        if self.mask is None:
            return
        h, w = self.mask.shape
        x, y, bw, bh = box or (0, 0, w, h)
        self._preview.set_image(to_qimage(pixels), QRectF(x, y, bw, bh))
        self._preview.show()

    def clear_preview(self) -> None:
        self._preview.set_image(QImage())
        self._preview.hide()

    # --------------------------------------------------------------------- zoom
    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, factor: float) -> None:
        factor = float(np.clip(factor, MIN_ZOOM, MAX_ZOOM))
        self.scale(factor / self.zoom, factor / self.zoom)
        self._update_cursor()
        self.zoom_changed.emit(self.zoom)

    def zoom_by(self, step: float) -> None:
        self.set_zoom(self.zoom * step)

    def fit(self) -> None:
        rect = self.sceneRect()
        if rect.isEmpty():
            return
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        self._update_cursor()
        self.zoom_changed.emit(self.zoom)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt API
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom_by(1.25**steps)
        event.accept()

    # -------------------------------------------------------------------- tools
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        button = event.button()
        if self.mask is None or button not in (Qt.MouseButton.LeftButton,
                                               Qt.MouseButton.RightButton):
            super().mousePressEvent(event)
            return
        point = self.mapToScene(event.position().toPoint())
        erase = button == Qt.MouseButton.RightButton or bool(
            event.modifiers() & Qt.KeyboardModifier.AltModifier
        )
        self.mask.begin()
        if self.tool == "box":
            self._box_start, self._stroke_erase = point, erase
            self._band.setRect(QRectF(point, point))
            self._band.show()
        else:
            self._stroke_last, self._stroke_erase = point, erase
            self._dab(point, point)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        point = self.mapToScene(event.position().toPoint())
        self._cursor_at(point)
        if self._stroke_last is not None:
            self._dab(self._stroke_last, point)
            self._stroke_last = point
        elif self._box_start is not None:
            self._band.setRect(QRectF(self._box_start, point).normalized())
        else:
            super().mouseMoveEvent(event)
            return
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        if self.mask is None or (self._stroke_last is None and self._box_start is None):
            super().mouseReleaseEvent(event)
            return
        if self._box_start is not None:
            rect = QRectF(self._box_start, self.mapToScene(event.position().toPoint()))
            rect = rect.normalized()
            self._band.hide()
            self._box_start = None
            changed = self.mask.fill_rect(
                (round(rect.x()), round(rect.y()), round(rect.width()), round(rect.height())),
                erase=self._stroke_erase,
            )
            self.refresh_mask(changed)
        self._stroke_last = None
        edit: MaskEdit = self.mask.end()
        if not edit.empty:
            self.mask_edited.emit(edit)
        event.accept()

    def _dab(self, a: QPointF, b: QPointF) -> None:
        assert self.mask is not None
        changed = self.mask.dab_line(
            (a.x(), a.y()), (b.x(), b.y()), self.brush_radius, self.hardness,
            erase=self._stroke_erase,
        )
        if changed is not None:
            self.refresh_mask(changed)

    def _cursor_at(self, point: QPointF) -> None:
        r = self.brush_radius
        self._cursor.setRect(QRectF(point.x() - r, point.y() - r, 2 * r, 2 * r))
        self._cursor.setVisible(self.tool == "brush" and self.mask is not None)

    def _update_cursor(self) -> None:
        rect = self._cursor.rect()
        if not rect.isNull():
            self._cursor_at(rect.center())
