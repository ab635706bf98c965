"""Brush responsiveness at 12 MP: time per mouse event to paint the mask and rebuild the
overlay for what changed, beside a naive full-frame redraw, in the same process; then the
whole path in the real canvas (mouse event, mask, overlay and a synchronous repaint of
the view) at fit and at 100 %, beside the same view merely moving the cursor.

    PYTHONPATH=. .venv/bin/python tests/benchmarks/brush.py

A mouse reports ~60–120 events a second; anything well under 8 ms per event keeps up.
"""

from __future__ import annotations

import os
import time

import cv2
import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPointF, Qt  # noqa: E402
from PySide6.QtGui import QColor, QMouseEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.gui.canvas.mask import MaskLayer  # noqa: E402
from app.gui.canvas.view import CanvasView  # noqa: E402
from app.gui.qimages import mask_overlay  # noqa: E402

H, W = 3000, 4000
RADIUS = 40
COLOR = QColor(255, 40, 40, 110)


def stroke_points(n: int = 240) -> list[tuple[float, float]]:
    """A wavy drag across the photo, 240 events apart by 4–12 px like a real mouse."""
    t = np.linspace(0, 1, n)
    xs = 400 + 3200 * t
    ys = 1500 + 600 * np.sin(6 * t)
    return list(zip(xs.tolist(), ys.tolist(), strict=True))


def ours(points: list[tuple[float, float]]) -> list[float]:
    layer = MaskLayer(H, W)
    layer.begin()
    times = []
    for a, b in zip(points, points[1:], strict=False):
        start = time.perf_counter()
        x, y, w, h = layer.dab_line(a, b, RADIUS, hardness=0.8)
        mask_overlay(layer.coverage[y : y + h, x : x + w], COLOR)
        times.append(time.perf_counter() - start)
    layer.end()
    return times


def naive(points: list[tuple[float, float]]) -> list[float]:
    """Draw into the full mask and rebuild the whole overlay on every event."""
    mask = np.zeros((H, W), np.uint8)
    times = []
    for a, b in zip(points[:40], points[1:41], strict=False):  # it is slow: fewer events
        start = time.perf_counter()
        cv2.line(mask, tuple(map(round, a)), tuple(map(round, b)), 255, 2 * RADIUS)
        mask_overlay(mask, COLOR)
        times.append(time.perf_counter() - start)
    return times


def _send(view: CanvasView, kind, point: QPointF, button, buttons) -> None:
    pos = QPointF(view.mapFromScene(point))
    event = QMouseEvent(kind, pos, view.viewport().mapToGlobal(pos), button, buttons,
                        Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(view.viewport(), event)


def in_canvas(view: CanvasView, points: list[tuple[float, float]], paint: bool) -> list[float]:
    """Mouse moves through the real canvas, each followed by the repaint it causes."""
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    move = QMouseEvent.Type.MouseMove
    if paint:
        _send(view, QMouseEvent.Type.MouseButtonPress, QPointF(*points[0]), left, left)
    times = []
    for x, y in points[1:]:
        start = time.perf_counter()
        _send(view, move, QPointF(x, y), none, left if paint else none)
        QApplication.processEvents()  # Qt paints just the changed region, as on screen
        times.append(time.perf_counter() - start)
    if paint:
        _send(view, QMouseEvent.Type.MouseButtonRelease, QPointF(*points[-1]), left, none)
    return times


def canvas_rows(points: list[tuple[float, float]]) -> list[tuple[str, list[float]]]:
    view = CanvasView()
    view.resize(1280, 800)
    view.show()
    for _ in range(20):  # let the offscreen platform expose the window
        QApplication.processEvents()
        time.sleep(0.01)
    rng = np.random.default_rng(0)
    view.set_image(rng.random((H, W, 3), dtype=np.float32))
    view.brush_radius, view.hardness = RADIUS, 0.8
    rows = []
    for label, zoom in (("fit", None), ("100 %", 1.0)):
        if zoom is None:
            view.fit()
            pts = points
        else:
            view.set_zoom(zoom)
            view.centerOn(2000, 1500)
            pts = [(1700 + (x - 400) * 600 / 3200, 1400 + (y - 1500) / 3) for x, y in points]
        in_canvas(view, pts[:5], paint=False)  # warm-up (first paint builds the mipmap)
        rows.append((f"canvas {label}: move cursor only", in_canvas(view, pts, paint=False)))
        rows.append((f"canvas {label}: paint stroke", in_canvas(view, pts, paint=True)))
    view.fit()
    rows.append(("canvas fit: whole view, mipmaps", full_repaints(view)))
    rows.append(("canvas: wheel zoom step + repaint", zoom_steps(view)))
    view._photo._mipmaps = False  # the plain nearest-neighbour paint, as a baseline
    rows.append(("canvas fit: whole view, nearest", full_repaints(view)))
    return rows


def zoom_steps(view: CanvasView, n: int = 12) -> list[float]:
    """Zooming out of and back into the fitted view: each step resamples once."""
    times = []
    for i in range(n):
        start = time.perf_counter()
        view.zoom_by(1.25 if i % 4 < 2 else 0.8)
        view.viewport().grab()
        times.append(time.perf_counter() - start)
    return times


def full_repaints(view: CanvasView, n: int = 20) -> list[float]:
    """What a scroll or zoom costs: repainting every pixel of the viewport."""
    times = []
    for _ in range(n):
        start = time.perf_counter()
        view.viewport().grab()  # renders every pixel of the viewport now
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    QApplication([])
    points = stroke_points()
    ours(points[:5])  # warm-up
    rows = [("ours: dirty rect + tile undo", ours(points)), ("naive: full frame", naive(points))]
    rows += canvas_rows(points)
    print(f"# Brush at {W}×{H} (12 MP), radius {RADIUS} px, soft edge\n")
    print(f"{'method':<34} {'events':>6} {'median ms':>10} {'p95 ms':>8} {'max ms':>8}")
    for name, times in rows:
        ms = np.asarray(times) * 1000
        print(f"{name:<34} {len(ms):>6} {np.median(ms):>10.2f} {np.percentile(ms, 95):>8.2f}"
              f" {ms.max():>8.2f}")


if __name__ == "__main__":
    main()
