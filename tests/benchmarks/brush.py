"""Brush responsiveness at 12 MP: time per mouse event to paint the mask and rebuild the
overlay for what changed, beside a naive full-frame redraw, in the same process.

    PYTHONPATH=. .venv/bin/python tests/benchmarks/brush.py

A mouse reports ~60–120 events a second; anything well under 8 ms per event keeps up.
"""

from __future__ import annotations

import os
import time

import cv2
import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtGui import QColor, QGuiApplication  # noqa: E402

from app.canvas.mask import MaskLayer  # noqa: E402
from app.qimages import mask_overlay  # noqa: E402

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
        mask_overlay(layer.coverage[y : y + h, x : x + w] >= 128, COLOR)
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
        mask_overlay(mask >= 128, COLOR)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    QGuiApplication([])
    points = stroke_points()
    ours(points[:5])  # warm-up
    rows = [("ours: dirty rect + tile undo", ours(points)), ("naive: full frame", naive(points))]
    print(f"# Brush at {W}×{H} (12 MP), radius {RADIUS} px, soft edge\n")
    print(f"{'method':<30} {'events':>6} {'median ms':>10} {'p95 ms':>8} {'max ms':>8}")
    for name, times in rows:
        ms = np.asarray(times) * 1000
        print(f"{name:<30} {len(ms):>6} {np.median(ms):>10.2f} {np.percentile(ms, 95):>8.2f}"
              f" {ms.max():>8.2f}")


if __name__ == "__main__":
    main()
