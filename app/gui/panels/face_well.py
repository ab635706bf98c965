"""A drop well for a portrait: its thumbnail, the faces found in it, and which one is used.

Detection runs as a background job on the well's own job runner (a big photo takes a
noticeable moment) and its answer arrives on the GUI thread; a photo dropped while one
is being searched waits its turn, and only the latest photo's answer is shown. A click
on another face's box chooses that face.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDropEvent,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
)
from PySide6.QtWidgets import QApplication, QSizePolicy, QWidget

from app.gui.drops import accept_files, dropped_file
from app.gui.jobs import JobRunner
from app.gui.qimages import to_qimage

WELL_BACKGROUND = QColor(48, 48, 48)  # the canvas's grey: photos read the same in both
THUMB_SIDE = 640  # px: thumbnails are made once, small enough to repaint instantly


@dataclass(frozen=True)
class FoundFace:
    """A face as the well draws it: box (x, y, w, h) and 68 landmarks, photo pixels."""

    box: tuple[float, float, float, float]
    landmarks: np.ndarray


def detect_faces(pixels: np.ndarray) -> list[FoundFace]:
    """Faces largest first (the engines' own detector, so the well shows what they use)."""
    from engines.faces.detect import detect_faces as detect

    return [FoundFace(tuple(float(v) for v in face.box), np.asarray(face.landmarks))
            for face in detect(pixels)]


class FaceWell(QWidget):
    """``file_dropped(path)`` on a drop; ``face_chosen(index)`` when a face is clicked."""

    file_dropped = Signal(str)
    face_chosen = Signal(int)
    faces_found = Signal()

    def __init__(self, placeholder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.setMinimumSize(QSize(120, 150))
        self.setMaximumHeight(240)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.placeholder = placeholder
        self.pixels: np.ndarray | None = None
        self.faces: list[FoundFace] = []
        self.chosen = 0
        self.show_landmarks = False
        self.message = ""
        self._thumb = QImage()
        self._overlay = QImage()  # an engine's live preview for this photo, if any
        self._scale = 1.0
        self._generation = 0  # counts the photos shown; an older photo's answer is dropped
        self._searched = 0  # the generation of the photo being searched
        self._waiting: tuple[np.ndarray, int] | None = None  # the next photo to search
        self._finder = JobRunner(self)
        self._finder.finished.connect(lambda faces: self._found(faces, ""))
        self._finder.failed.connect(lambda message, _detail: self._found([], message))
        app = QApplication.instance()
        if app is not None:  # quitting with a detection in dlib would abort the process
            app.aboutToQuit.connect(self.wait_idle)

    # ---------------------------------------------------------------- content
    def set_image(self, pixels: np.ndarray | None) -> None:
        """Show a photo (or nothing) and look for faces in it in the background."""
        self._generation += 1
        self.pixels, self.faces, self.chosen, self._overlay = pixels, [], 0, QImage()
        self._thumb = QImage()
        if pixels is not None:
            h, w = pixels.shape[:2]
            self._scale = min(1.0, THUMB_SIDE / max(h, w))
            step = max(1, int(1 / self._scale))
            self._thumb = to_qimage(np.ascontiguousarray(pixels[::step, ::step]))
            self._scale = self._thumb.width() / w
            self.message = "Looking for faces…"
            self._search(pixels, self._generation)
        else:
            self._waiting = None
            self.message = ""
        self.update()

    def _search(self, pixels: np.ndarray, generation: int) -> None:
        """Look for faces as a job; while one runs, this photo waits for it to end."""
        if self._finder.start(lambda report, cancel: detect_faces(pixels)):
            self._searched, self._waiting = generation, None
        else:
            self._waiting = (pixels, generation)

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Let a running detection finish (native code must not be cut off at exit)."""
        self._waiting = None
        self._finder.shutdown(int(timeout * 1000))

    def _found(self, faces: list[FoundFace], problem: str) -> None:
        """A search ended (``problem``: why it failed, shown in the well; the engines will
        say it again on Run)."""
        generation = self._searched
        if self._waiting is not None:
            self._search(*self._waiting)
        if generation != self._generation:
            return  # an older photo's answer
        self.faces = faces
        self.message = problem or ("No face found" if not faces else
                                   f"{len(faces)} faces: click one to use it"
                                   if len(faces) > 1 else "")
        self.update()
        self.faces_found.emit()

    def show_preview(self, pixels: np.ndarray | None) -> None:
        """An engine's intermediate image for this photo (e.g. its inverted face)."""
        self._overlay = QImage() if pixels is None else to_qimage(pixels)
        self.update()

    # --------------------------------------------------------------- painting
    def _target_rect(self) -> QRectF:
        if self._thumb.isNull():
            return QRectF()
        tw, th = self._thumb.width(), self._thumb.height()
        fit = min(self.width() / tw, self.height() / th)
        w, h = tw * fit, th * fit
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        painter.fillRect(self.rect(), WELL_BACKGROUND)
        rect = self._target_rect()
        if rect.isNull():
            painter.setPen(QColor(200, 200, 200))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             self.placeholder)
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        painter.drawImage(rect, self._thumb)
        fit = rect.width() / self._thumb.width() * self._scale  # photo px → widget px
        for index, face in enumerate(self.faces):
            x, y, w, h = face.box
            chosen = index == self.chosen
            pen = QPen(QColor(80, 220, 120) if chosen else QColor(255, 255, 255, 170),
                       2 if chosen else 1)
            painter.setPen(pen)
            painter.drawRect(QRectF(rect.x() + x * fit, rect.y() + y * fit, w * fit, h * fit))
            if self.show_landmarks and chosen:
                painter.setPen(QPen(QColor(255, 220, 0), 2))
                for px, py in face.landmarks:
                    painter.drawPoint(QPointF(rect.x() + px * fit, rect.y() + py * fit))
        if not self._overlay.isNull():
            side = min(rect.width(), rect.height()) * 0.45
            inset = QRectF(rect.right() - side - 4, rect.bottom() - side - 4, side, side)
            painter.drawImage(inset, self._overlay)
            painter.setPen(QPen(QColor(255, 255, 255), 1))
            painter.drawRect(inset)
        if self.message:
            painter.setPen(QColor(255, 255, 255))
            band = QRectF(rect.x(), rect.bottom() - 22, rect.width(), 22)
            painter.fillRect(band, QColor(0, 0, 0, 150))
            painter.drawText(band, Qt.AlignmentFlag.AlignCenter, self.message)

    # ------------------------------------------------------------------ input
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        rect = self._target_rect()
        if rect.isNull() or not self.faces:
            return
        fit = rect.width() / self._thumb.width() * self._scale
        x = (event.position().x() - rect.x()) / fit
        y = (event.position().y() - rect.y()) / fit
        for index, face in enumerate(self.faces):
            fx, fy, fw, fh = face.box
            if fx <= x <= fx + fw and fy <= y <= fy + fh:
                self.chosen = index
                self.update()
                self.face_chosen.emit(index)
                return

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt API
        accept_files(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt API
        path = dropped_file(event)
        if path is not None:
            self.file_dropped.emit(path)
