"""Scene items that paint straight from a QImage, only the part that is exposed.

A QPixmap of a 12-megapixel photo would be rebuilt on every mask change; painting the
exposed rectangle of a QImage keeps brush strokes and previews cheap at any size.

Zoomed out, nearest-neighbour sampling of a big photo shimmers and moirés on fine
texture, and smooth sampling of the full image on every paint is slow and still
aliases. With ``mipmaps`` on, the item keeps copies averaged down by powers of two and,
from the nearest one, one copy at exactly the current zoom: a zoom step costs one
small resample, and every later paint (brush strokes, scrolling) is a plain copy.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget


class ImageItem(QGraphicsItem):
    """A QImage drawn at (0, 0) in scene pixels, or stretched over ``target`` if given."""

    def __init__(self, image: QImage | None = None, mipmaps: bool = False) -> None:
        super().__init__()
        self._image = image or QImage()
        self._mipmaps = mipmaps
        self._levels: dict[int, QImage] = {}
        self._at_zoom: tuple[float, QImage] | None = None
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
        self._levels.clear()
        self._at_zoom = None
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
        image = self._image
        if self._mipmaps:
            image = self._zoomed(option.levelOfDetailFromTransform(painter.worldTransform()))
        sx = image.width() / bounds.width()
        sy = image.height() / bounds.height()
        source = QRectF(
            (exposed.x() - bounds.x()) * sx, (exposed.y() - bounds.y()) * sy,
            exposed.width() * sx, exposed.height() * sy,
        )
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        painter.drawImage(exposed, image, source)

    def _zoomed(self, lod: float) -> QImage:
        """The image averaged down to the screen's scale (itself at 100 % and above)."""
        if lod >= 1.0 or lod <= 0:
            return self._image
        lod = round(lod, 4)
        if self._at_zoom is None or self._at_zoom[0] != lod:
            k = min(int(math.floor(math.log2(1.0 / lod))), 6)
            base = self._halved(k)
            w, h = self._image.width(), self._image.height()
            self._at_zoom = lod, base.scaled(
                max(1, round(w * lod)), max(1, round(h * lod)),
                Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation,
            )
        return self._at_zoom[1]

    def _halved(self, k: int) -> QImage:
        """The image averaged down by 2**k (made once per image)."""
        if k == 0:
            return self._image
        if k not in self._levels:
            w, h = self._image.width(), self._image.height()
            self._levels[k] = self._image.scaled(
                max(1, w >> k), max(1, h >> k), Qt.AspectRatioMode.IgnoreAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        return self._levels[k]
