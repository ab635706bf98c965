"""Scene items that paint straight from a QImage, only the part that is exposed.

A QPixmap of a 12-megapixel photo would be rebuilt on every mask change; painting the
exposed rectangle of a QImage keeps brush strokes and previews cheap at any size.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget


class ImageItem(QGraphicsItem):
    """A QImage drawn at (0, 0) in scene pixels, or stretched over ``target`` if given."""

    def __init__(self, image: QImage | None = None) -> None:
        super().__init__()
        self._image = image or QImage()
        self._target = QRectF()
        self._clip = QRectF()
        # Without it, exposedRect is the whole item and every update repaints it all.
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)

    @property
    def image(self) -> QImage:
        return self._image

    def set_image(self, image: QImage, target: QRectF | None = None) -> None:
        self.prepareGeometryChange()
        self._image = image
        self._target = QRectF(target) if target is not None else QRectF()
        self.update()

    def set_clip(self, clip: QRectF | None) -> None:
        """Paint only inside ``clip`` (scene pixels), e.g. the "before" half of a split view."""
        self._clip = QRectF(clip) if clip is not None else QRectF()
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt API
        if not self._target.isNull():
            return self._target
        return QRectF(0, 0, self._image.width(), self._image.height())

    def paint(  # noqa: D102 - Qt API
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        if self._image.isNull():
            return
        bounds = self.boundingRect()
        exposed = option.exposedRect.intersected(bounds)
        if not self._clip.isNull():
            exposed = exposed.intersected(self._clip)
        if exposed.isEmpty():
            return
        sx = self._image.width() / bounds.width()
        sy = self._image.height() / bounds.height()
        source = QRectF(
            (exposed.x() - bounds.x()) * sx, (exposed.y() - bounds.y()) * sy,
            exposed.width() * sx, exposed.height() * sy,
        )
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        painter.drawImage(exposed, self._image, source)
