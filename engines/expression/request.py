"""What the Expression engines are asked and answer (shared by every Expression engine).

Images are float32 HxWx3 in [0, 1]. The first photo gives the identity (and is the one
changed); the second gives the expression. When a photo shows several faces, ``face_*``
picks one by index in the detector's order (largest first); None means the largest.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

DEFAULT_LAYERS = (4, 5)  # 1-based StyleGAN style layers that carry expression (ch. 6)


@dataclass(frozen=True, eq=False)
class ExpressionRequest:
    first: np.ndarray
    second: np.ndarray
    strength: float = 1.0  # 0 = the first photo unchanged, 1 = the second face's expression
    face_first: int | None = None
    face_second: int | None = None
    layers: tuple[int, ...] = DEFAULT_LAYERS  # StyleGAN engine: layers from the second face
    steps: int = 1000  # StyleGAN engine: inversion steps per face
    start: str = "mean"  # StyleGAN engine: inversion starts from the "mean" or "zero" style
    seed: int = 0
    device: str | None = None


@dataclass(frozen=True, eq=False)
class ExpressionResult:
    """The first photo with the new expression; pixels outside ``region`` are unchanged.

    ``blend_mask`` is the first photo-sized alpha the new face was blended with.
    """

    image: np.ndarray
    region: tuple[int, int, int, int]
    blend_mask: np.ndarray
    seconds: float
    notes: tuple[str, ...] = field(default_factory=tuple)  # e.g. "the faces look like two people"
