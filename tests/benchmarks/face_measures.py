"""How far apart two faces' expressions are: the Expression benchmark's measure.

Landmarks of both faces are laid on each other by the similarity that fits their stable
points (eye corners, nose bridge), and the distance of the remaining points is taken per
region in eye distances. Only the benchmark (``expression.py``) and the tests that judge
an engine by it use this, so it lives here rather than in the engines.
"""

from __future__ import annotations

import numpy as np

from engines.faces.geometry import apply_affine, similarity_fit
from engines.faces.shape import BROWS, EYES, JAW, MOUTH, STABLE, eye_centres, eye_distance

REGIONS: dict[str, tuple[int, ...]] = {
    "brows": BROWS,
    "eyes": EYES,
    "mouth": MOUTH,
    "jaw": JAW,
}
EXPRESSION_REGIONS = ("brows", "eyes", "mouth")



def fit_to(points: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``points`` moved by the similarity that lays their stable points on ``reference``'s."""
    idx = list(STABLE)
    matrix = similarity_fit(np.asarray(points)[idx], np.asarray(reference)[idx])
    return apply_affine(points, matrix)


def normalised_shape(points: np.ndarray) -> np.ndarray:
    """The shape in a frame of its own: eye centres at (-0.5, 0) and (0.5, 0).

    Comparable across photos for one face's geometry (mouth opening, brow height), but
    the frame rests on two points only; to compare two faces use ``fit_to``.
    """
    pts = np.asarray(points, dtype=np.float64)
    left, right = eye_centres(pts)
    matrix = similarity_fit(np.stack([left, right]), np.array([[-0.5, 0.0], [0.5, 0.0]]))
    return apply_affine(pts, matrix)


def region_distances(points: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """Mean point distance per region after fitting ``points`` to ``reference``.

    In eye distances of ``reference``; keys are those of ``REGIONS``.
    """
    ref = np.asarray(reference, dtype=np.float64)
    fitted = fit_to(points, ref)
    unit = max(eye_distance(ref), 1e-9)
    return {
        name: float(np.linalg.norm(fitted[list(idx)] - ref[list(idx)], axis=1).mean()) / unit
        for name, idx in REGIONS.items()
    }


def expression_distance(
    points: np.ndarray, reference: np.ndarray, include_jaw: bool = False
) -> float:
    """How different two expressions are: mean distance over brows, eyes and mouth.

    Every point counts once (the mouth's 20 points weigh most, as mouths carry most of
    an expression). The jaw is left out by default: its outline is mostly the person's
    build and head turn, not their expression.
    """
    names = EXPRESSION_REGIONS + (("jaw",) if include_jaw else ())
    idx = [i for name in names for i in REGIONS[name]]
    ref = np.asarray(reference, dtype=np.float64)
    fitted = fit_to(points, ref)
    unit = max(eye_distance(ref), 1e-9)
    return float(np.linalg.norm(fitted[idx] - ref[idx], axis=1).mean()) / unit
