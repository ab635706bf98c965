"""Images the Remove tests make for themselves (never files from outside the repo)."""

from __future__ import annotations

import numpy as np
import pytest


def periodic_texture(h: int, w: int) -> np.ndarray:
    """A colourful texture that repeats every 16×24 px: a hole in it has one right answer."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.stack(
        [
            0.5 + 0.4 * np.sin(2 * np.pi * xx / 16),
            0.5 + 0.4 * np.sin(2 * np.pi * (xx + yy) / 24),
            0.5 + 0.3 * np.cos(2 * np.pi * yy / 12),
        ],
        axis=-1,
    ).astype(np.float32)


def noise_texture(h: int, w: int, seed: int, tint: tuple[float, float, float]) -> np.ndarray:
    """Smooth-ish random texture around a base colour, like grass or gravel."""
    rng = np.random.default_rng(seed)
    noise = rng.random((h, w, 3), dtype=np.float32)
    noise = (noise + np.roll(noise, 1, 0) + np.roll(noise, 1, 1)) / 3
    return np.clip(np.asarray(tint, np.float32) + 0.25 * (noise - 0.5), 0, 1)


@pytest.fixture
def texture() -> np.ndarray:
    return periodic_texture(160, 192)
