r"""The canvas widget: the photo, its selection overlay and previews; brush and box tools.

Coordinates: the scene is the photo in pixels, so a mouse position maps to a photo
pixel through the view's transform alone. Zoom is the transform's scale.

The brush and box paint the selection, or another coverage layer a panel lends with
``use_layer`` (Translate's attention map), drawn over the photo its own way; one brush
serves both.

Besides painting: Space+drag or the middle button pans, the wheel zooms, holding ``\``
shows the photo as it was opened, and the split view shows it left of a draggable line.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsLineItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QWidget,
)

from app.gui.canvas.items import ImageItem
from app.gui.canvas.mask import MaskEdit, MaskLayer, Rect
from app.gui.canvas.placement import PlacementItem
from app.gui.qimages import mask_overlay, to_qimage

MIN_ZOOM, MAX_ZOOM = 0.02, 32.0


class CanvasView(QGraphicsView):
    """Shows a photo and lets the user paint or box the selection.

    ``mask_edited(MaskEdit)`` fires once per finished stroke or box, for the undo stack;
    ``zoom_changed(float)`` whenever the scale changes (1.0 = 100 %).
    """

    mask_edited = Signal(object)
    zoom_changed = Signal(float)
    comparing_changed = Signal(bool)  # the whole "before" photo is shown (``\`` held)
    box_drawn = Signal(object)  # (x, y, w, h) from the "select" tool, in photo pixels
    placement_confirmed = Signal()  # Enter while a cut-out is being placed
    placement_cancelled = Signal()  # Esc while a cut-out is being placed
    mask_changed = Signal(object)  # (x, y, w, h) where the painted layer changed (dab, undo)
    split_changed = Signal(bool)  # the split view was turned on or off

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setMouseTracking(True)
        self.setBackgroundBrush(QColor(48, 48, 48))
        self._photo = ImageItem(mipmaps=True)
        self._preview = ImageItem()
        self._before = ImageItem(mipmaps=True)
        self._overlay = ImageItem()
        for z, item in enumerate((self._photo, self._preview, self._before, self._overlay)):
            item.setZValue(z)
            self.scene().addItem(item)
        self._before.hide()
        self._divider = QGraphicsLineItem()
        pen = QPen(QColor(255, 255, 255, 230), 2)
        pen.setCosmetic(True)
        self._divider.setPen(pen)
        self._divider.setZValue(12)
        self._divider.hide()
        self.scene().addItem(self._divider)
        self._labels = []
        for text in ("Before", "After"):
            label = QGraphicsSimpleTextItem(text)
            label.setBrush(QColor(255, 255, 255))
            label.setPen(QPen(QColor(0, 0, 0, 160), 0))
            label.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
            label.setZValue(13)
            label.hide()
            self.scene().addItem(label)
            self._labels.append(label)
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
        self.mask: MaskLayer | None = None  # the selection
        self._layer: MaskLayer | None = None  # a layer lent by a panel, painted instead
        self._layer_paint: Callable[[np.ndarray], QImage] | None = None
        self._selection_opacity = 0.45
        self._layer_opacity = 1.0
        self.overlay_color = QColor(255, 40, 40)
        self._overlay.setOpacity(self._selection_opacity)
        self._tool = "brush"
        self.brush_radius = 20.0
        self.hardness = 1.0
        self._stroke_last: QPointF | None = None
        self._stroke_erase = False
        self._box_start: QPointF | None = None
        self._pan_last: QPointF | None = None
        self._space_held = False
        self._before_pixels: np.ndarray | None = None
        self._before_shown: np.ndarray | None = None  # what _before's QImage was made from
        self._comparing = False
        self._split_x: float | None = None  # scene x of the divider while split view is on
        self._split_dragging = False
        self.editable = True  # False while a job runs: the job works on the mask it was given
        self.placement: PlacementItem | None = None

    EMPTY_HINT = "Drop a photo here, or File ▸ Open (Ctrl+O)"

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        """The scene; while no photo is open, a line saying how to open one."""
        super().paintEvent(event)
        if self.mask is not None:
            return
        painter = QPainter(self.viewport())
        painter.setPen(self.palette().placeholderText().color())
        font = painter.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        painter.setFont(font)
        painter.drawText(self.viewport().rect(), Qt.AlignmentFlag.AlignCenter, self.EMPTY_HINT)
        painter.end()

    # ------------------------------------------------------------------ content
    def set_image(self, pixels: np.ndarray) -> None:
        """Show a new photo (float or uint8 HxWx3) with an empty selection, fitted."""
        h, w = pixels.shape[:2]
        self.set_placement(None)
        self._photo.set_image(to_qimage(pixels))
        self.mask = MaskLayer(h, w)
        self._layer, self._layer_paint = None, None
        self._overlay.setOpacity(self._selection_opacity)
        overlay = QImage(w, h, QImage.Format.Format_ARGB32_Premultiplied)
        overlay.fill(0)
        self._overlay.set_image(overlay)
        self.clear_preview()
        self.scene().setSceneRect(QRectF(0, 0, w, h))
        self._before_pixels = self._before_shown = None
        self._before.set_image(QImage())
        self.set_comparing(False)
        self.set_split(False)
        self.fit(enlarge=False)

    def replace_photo(self, pixels: np.ndarray) -> None:
        """Show other pixels of the same size (an operation's result, undo), keeping the mask."""
        self._photo.set_image(to_qimage(pixels))
        self.clear_preview()

    @property
    def layer(self) -> MaskLayer | None:
        """What the brush and box edit and the overlay shows: the selection, unless a
        panel lent another layer with ``use_layer``."""
        return self._layer if self._layer is not None else self.mask

    def use_layer(
        self, layer: MaskLayer | None, paint: Callable[[np.ndarray], QImage] | None = None
    ) -> None:
        """Paint ``layer`` instead of the selection (None: the selection again).

        ``paint`` turns a part of its coverage into the overlay's pixels (default: the
        selection's tint). The selection is kept as it is meanwhile, for Remove.
        """
        if layer is not None and (self.mask is None or layer.shape != self.mask.shape):
            raise ValueError("a lent layer must have the photo's size")
        self._layer, self._layer_paint = layer, paint if layer is not None else None
        self._overlay.setOpacity(self._layer_opacity if layer is not None
                                 else self._selection_opacity)
        self.refresh_mask()

    def refresh_mask(self, rect: Rect | None = None) -> None:
        """Redraw the overlay where the layer changed (everything when ``rect`` is None)."""
        layer = self.layer
        if layer is None:
            return
        h, w = layer.shape
        x, y, rw, rh = rect or (0, 0, w, h)
        if rw <= 0 or rh <= 0:
            return
        coverage = layer.coverage[y : y + rh, x : x + rw]
        part = (self._layer_paint(coverage) if self._layer_paint is not None
                else mask_overlay(coverage, self.overlay_color))
        painter = QPainter(self._overlay.image)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
        painter.drawImage(x, y, part)
        painter.end()
        self._overlay.update(QRectF(x, y, rw, rh))
        self.mask_changed.emit((x, y, rw, rh))

    def show_preview(self, pixels: np.ndarray, box: tuple[int, int, int, int] | None) -> None:
        """Show an engine's preview stretched over ``box`` (the whole photo when None)."""
        if self.mask is None:
            return
        h, w = self.mask.shape
        x, y, bw, bh = box or (0, 0, w, h)
        self._preview.set_image(to_qimage(pixels), QRectF(x, y, bw, bh))
        self._preview.show()
        self._update_compare()  # the tint would hide the fill the user is watching

    def update_preview(self, pixels: np.ndarray, x: int, y: int) -> None:
        """Repaint part of a whole-photo preview (an edit that changed only that part)."""
        image = self._preview.image
        if image.isNull() or not self._preview.isVisible():
            return
        h, w = pixels.shape[:2]
        painter = QPainter(image)
        painter.drawImage(x, y, to_qimage(pixels))
        painter.end()
        self._preview.update(QRectF(x, y, w, h))

    def clear_preview(self) -> None:
        self._preview.set_image(QImage())
        self._preview.hide()
        self._update_compare()

    def set_overlay_color(self, color: QColor) -> None:
        """The selection's tint (a red photo needs a blue mask to see what is painted)."""
        self.overlay_color = QColor(color.red(), color.green(), color.blue())
        self.refresh_mask()

    @property
    def overlay_opacity(self) -> float:
        return self._selection_opacity

    def set_overlay_opacity(self, opacity: float) -> None:
        """How strongly the selection tints the photo (0 hides it, 1 is solid colour)."""
        self._selection_opacity = float(np.clip(opacity, 0.0, 1.0))
        if self._layer is None:
            self._overlay.setOpacity(self._selection_opacity)

    def set_layer_opacity(self, opacity: float) -> None:
        """How strongly a lent layer (``use_layer``) shows over the photo."""
        self._layer_opacity = float(np.clip(opacity, 0.0, 1.0))
        if self._layer is not None:
            self._overlay.setOpacity(self._layer_opacity)

    # ------------------------------------------------------------------ compare
    def set_before(self, pixels: np.ndarray | None) -> None:
        """The photo to compare against (as opened); converted only when first shown."""
        self._before_pixels = pixels

    @property
    def comparing(self) -> bool:
        return self._comparing

    def set_comparing(self, on: bool) -> None:
        r"""Show the whole "before" photo instead of the current one (``\`` held)."""
        on = on and self._ensure_before()
        if on == self._comparing:
            return
        self._comparing = on
        self._update_compare()
        self.comparing_changed.emit(on)

    @property
    def split_x(self) -> float | None:
        return self._split_x

    def set_split(self, on: bool, x: float | None = None) -> None:
        """Split view: "before" left of a vertical line at scene ``x`` (default: middle)."""
        was_on = self._split_x is not None
        if not on or not self._ensure_before():
            self._split_x = None
        else:
            w = self.sceneRect().width()
            start = x if x is not None else (self._split_x if self._split_x is not None
                                             else w / 2)
            self._split_x = float(np.clip(start, 0.0, w))
        self._update_compare()
        if was_on != (self._split_x is not None):
            self.split_changed.emit(self._split_x is not None)

    def _ensure_before(self) -> bool:
        if self._before_pixels is None:
            return False
        if self._before_shown is not self._before_pixels:
            self._before.set_image(to_qimage(self._before_pixels))
            self._before_shown = self._before_pixels
        return True

    def _update_compare(self) -> None:
        rect = self.sceneRect()
        split = self._split_x is not None and not self._comparing
        self._before.setVisible(self._comparing or split)
        self._before.set_clip(QRectF(0, 0, self._split_x, rect.height()) if split else None)
        previewing = self._preview.isVisible()
        self._overlay.setVisible(not self._comparing and not split and not previewing)
        self._divider.setVisible(split)
        for label in self._labels:
            label.setVisible(split)
        if split:
            x = self._split_x
            self._divider.setLine(x, 0, x, rect.height())
            self._place_labels()
        self.refresh_cursor()

    def _place_labels(self) -> None:
        if self._split_x is None:
            return
        top = max(0.0, self.mapToScene(0, 0).y())
        gap = 8 / max(self.zoom, 1e-6)
        before, after = self._labels
        before.setPos(self._split_x - gap - before.boundingRect().width() / self.zoom, top + gap)
        after.setPos(self._split_x + gap, top + gap)

    @property
    def tool(self) -> str:
        return self._tool

    @tool.setter
    def tool(self, name: str) -> None:
        """"brush" or "box" paint the mask; "select" drags a box and reports it."""
        if name not in ("brush", "box", "select"):
            raise ValueError(f"unknown tool {name!r}")
        self._tool = name
        self.refresh_cursor()

    # ---------------------------------------------------------------- placement
    def set_placement(self, item: PlacementItem | None) -> None:
        """Show a cut-out to move and scale (painting pauses), or end the placement."""
        if self.placement is not None:
            self.scene().removeItem(self.placement)
        self.placement = item
        if item is not None:
            self.scene().addItem(item)
            self.setFocus()
        self.refresh_cursor()

    def _placement_key(self, event: QKeyEvent) -> bool:
        """Enter applies, Esc cancels, arrows nudge (Shift: 10 px), H flips."""
        item, key = self.placement, event.key()
        if item is None:
            return False
        step = 10 if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else 1
        moves = {Qt.Key.Key_Left: (-step, 0), Qt.Key.Key_Right: (step, 0),
                 Qt.Key.Key_Up: (0, -step), Qt.Key.Key_Down: (0, step)}
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.placement_confirmed.emit()
        elif key == Qt.Key.Key_Escape:
            self.placement_cancelled.emit()
        elif key in moves:
            item.nudge(*moves[key])
        elif key == Qt.Key.Key_H:
            item.flip()
        else:
            return False
        return True

    # --------------------------------------------------------------------- zoom
    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, factor: float) -> None:
        factor = float(np.clip(factor, MIN_ZOOM, MAX_ZOOM))
        self.scale(factor / self.zoom, factor / self.zoom)
        self.refresh_cursor()
        self._place_labels()
        self.zoom_changed.emit(self.zoom)

    def zoom_by(self, step: float) -> None:
        self.set_zoom(self.zoom * step)

    def fit(self, enlarge: bool = True) -> None:
        """The whole photo in view (Ctrl+0). A newly opened photo smaller than the view
        is shown at 100 % instead (``enlarge=False``): blowing it up only blurs it."""
        rect = self.sceneRect()
        if rect.isEmpty():
            return
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        if not enlarge and self.zoom > 1.0:
            self.set_zoom(1.0)
            self.centerOn(rect.center())
        self.refresh_cursor()
        self._place_labels()
        self.zoom_changed.emit(self.zoom)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt API
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom_by(1.25**steps)
        event.accept()

    # -------------------------------------------------------------------- tools
    def scrollContentsBy(self, dx: int, dy: int) -> None:  # noqa: N802 - Qt API
        super().scrollContentsBy(dx, dy)
        self._place_labels()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        key = event.key()
        if self._placement_key(event):
            pass
        elif key == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = True
            self.refresh_cursor()
        elif key == Qt.Key.Key_Backslash and not event.isAutoRepeat():
            self.set_comparing(True)
        elif key not in (Qt.Key.Key_Space, Qt.Key.Key_Backslash):
            super().keyPressEvent(event)
            return
        event.accept()

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        key = event.key()
        if event.isAutoRepeat() and key in (Qt.Key.Key_Space, Qt.Key.Key_Backslash):
            event.accept()
            return
        if key == Qt.Key.Key_Space:
            self._space_held = False
            self.refresh_cursor()
        elif key == Qt.Key.Key_Backslash:
            self.set_comparing(False)
        else:
            super().keyReleaseEvent(event)
            return
        event.accept()

    def focusOutEvent(self, event) -> None:  # noqa: N802 - Qt API
        # A key released while another widget had focus must not leave a mode stuck on.
        self._space_held = False
        self.set_comparing(False)
        super().focusOutEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or (
            button == Qt.MouseButton.LeftButton and self._space_held
        ):
            self._pan_last = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        point = self.mapToScene(event.position().toPoint())
        if self.placement is not None:
            super().mousePressEvent(event)  # the scene hands it to the cut-out's handles
            return
        if self._split_x is not None and button == Qt.MouseButton.LeftButton:
            self._split_dragging = True
            self.set_split(True, point.x())
            event.accept()
            return
        if self.layer is None or self._comparing or not self.editable or button not in (
            Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton
        ):
            super().mousePressEvent(event)
            return
        erase = button == Qt.MouseButton.RightButton or bool(
            event.modifiers() & Qt.KeyboardModifier.AltModifier
        )
        self.layer.begin()
        if self.tool in ("box", "select"):
            self._box_start, self._stroke_erase = point, erase
            self._band.setRect(QRectF(point, point))
            self._band.show()
        else:
            self._stroke_last, self._stroke_erase = point, erase
            self._dab(point, point)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        if self.placement is not None and self._pan_last is None:
            super().mouseMoveEvent(event)
            return
        if self._pan_last is not None:
            delta = event.position() - self._pan_last
            self._pan_last = event.position()
            bars = self.horizontalScrollBar(), self.verticalScrollBar()
            bars[0].setValue(bars[0].value() - round(delta.x()))
            bars[1].setValue(bars[1].value() - round(delta.y()))
            event.accept()
            return
        point = self.mapToScene(event.position().toPoint())
        self._cursor_at(point)
        if self._split_dragging:
            self.set_split(True, point.x())
        elif self._stroke_last is not None:
            self._dab(self._stroke_last, point)
            self._stroke_last = point
        elif self._box_start is not None:
            self._band.setRect(QRectF(self._box_start, point).normalized())
        else:
            super().mouseMoveEvent(event)
            return
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        if self._pan_last is not None:
            self._pan_last = None
            self.refresh_cursor()
            event.accept()
            return
        if self._split_dragging:
            self._split_dragging = False
            event.accept()
            return
        if self.placement is not None:
            super().mouseReleaseEvent(event)
            return
        if self.layer is None or (self._stroke_last is None and self._box_start is None):
            super().mouseReleaseEvent(event)
            return
        if self._box_start is not None:
            rect = QRectF(self._box_start, self.mapToScene(event.position().toPoint()))
            rect = rect.normalized()
            self._band.hide()
            self._box_start = None
            box = (round(rect.x()), round(rect.y()), round(rect.width()), round(rect.height()))
            if self.tool == "select":
                self.layer.end()
                self.box_drawn.emit(_clip_box(box, self.layer.shape))
                event.accept()
                return
            changed = self.layer.fill_rect(box, erase=self._stroke_erase)
            self.refresh_mask(changed)
        self._stroke_last = None
        edit: MaskEdit = self.layer.end()
        if not edit.empty:
            self.mask_edited.emit(edit)
        event.accept()

    def _dab(self, a: QPointF, b: QPointF) -> None:
        assert self.layer is not None
        changed = self.layer.dab_line(
            (a.x(), a.y()), (b.x(), b.y()), self.brush_radius, self.hardness,
            erase=self._stroke_erase,
        )
        if changed is not None:
            self.refresh_mask(changed)

    def _cursor_at(self, point: QPointF) -> None:
        r = self.brush_radius
        self._cursor.setRect(QRectF(point.x() - r, point.y() - r, 2 * r, 2 * r))
        self._cursor.setVisible(self._mode() == "brush")

    def _mode(self) -> str:
        """What a left drag does now: pan, place, split, brush, box, select or nothing."""
        if self._space_held or self._pan_last is not None:
            return "pan"
        if self.placement is not None:
            return "place"
        if self._split_x is not None:
            return "split"
        if self.mask is None or self._comparing or not self.editable:
            return "none"
        return self.tool

    def refresh_cursor(self) -> None:
        """The mouse pointer and brush outline that say what a drag will do."""
        mode = self._mode()
        shapes = {
            "pan": Qt.CursorShape.ClosedHandCursor if self._pan_last is not None
            else Qt.CursorShape.OpenHandCursor,
            "split": Qt.CursorShape.SplitHCursor,
            "place": Qt.CursorShape.SizeAllCursor,
            "select": Qt.CursorShape.CrossCursor,
            "box": Qt.CursorShape.CrossCursor,
            "brush": Qt.CursorShape.CrossCursor,
            "none": Qt.CursorShape.ArrowCursor,
        }
        self.viewport().setCursor(shapes.get(mode, Qt.CursorShape.ArrowCursor))
        rect = self._cursor.rect()
        if not rect.isNull():
            self._cursor_at(rect.center())
        else:
            self._cursor.setVisible(False)


def _clip_box(box: Rect, shape: tuple[int, int]) -> Rect:
    """A dragged box limited to the photo (a drag may run past its edge)."""
    h, w = shape
    x, y, bw, bh = box
    x0, y0 = min(max(x, 0), w), min(max(y, 0), h)
    x1, y1 = min(max(x + bw, 0), w), min(max(y + bh, 0), h)
    return x0, y0, x1 - x0, y1 - y0
