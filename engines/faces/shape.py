"""Landmark shapes as numbers: which points are what, and how far two expressions are.

The 68 points follow dlib's iBUG 300-W numbering. To compare expressions across photos
the shapes are first brought into one frame by a similarity fitted on points an
expression barely moves (eye corners, nose bridge), then distances are divided by the
distance between the eyes, so a 0.1 means "a tenth of the eye distance" at any size.
"""

from __future__ import annotations

import numpy as np

from engines.faces.geometry import apply_affine, similarity_fit

JAW = tuple(range(0, 17))
CHIN = tuple(range(5, 12))
BROWS = tuple(range(17, 27))
NOSE_BRIDGE = (27, 28, 29, 30)
NOSE = tuple(range(27, 36))
FIRST_EYE = tuple(range(36, 42))  # the eye on the photo's left (the person's right)
SECOND_EYE = tuple(range(42, 48))
EYES = FIRST_EYE + SECOND_EYE
MOUTH = tuple(range(48, 68))
OUTER_LIPS = tuple(range(48, 60))
INNER_LIPS = tuple(range(60, 68))
UPPER_INNER_LIP = (61, 62, 63)
LOWER_INNER_LIP = (67, 66, 65)  # paired with UPPER_INNER_LIP point by point
MOUTH_CORNERS = (48, 54)

# Points an expression hardly moves: the eyes' corners and the bridge of the nose.
STABLE = (36, 39, 42, 45) + NOSE_BRIDGE

REGIONS: dict[str, tuple[int, ...]] = {
    "brows": BROWS,
    "eyes": EYES,
    "mouth": MOUTH,
    "jaw": JAW,
}
EXPRESSION_REGIONS = ("brows", "eyes", "mouth")


def eye_centres(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The centres of the photo-left and photo-right eyes (means of their six points)."""
    pts = np.asarray(points, dtype=np.float64)
    return pts[list(FIRST_EYE)].mean(0), pts[list(SECOND_EYE)].mean(0)


def eye_distance(points: np.ndarray) -> float:
    """Pixels between the eye centres: the face's natural unit of length."""
    left, right = eye_centres(points)
    return float(np.hypot(*(right - left)))


def mouth_gap(points: np.ndarray) -> float:
    """How far the inner lips are apart, in eye distances (0 for a closed mouth)."""
    pts = np.asarray(points, dtype=np.float64)
    gaps = np.linalg.norm(pts[list(UPPER_INNER_LIP)] - pts[list(LOWER_INNER_LIP)], axis=1)
    return float(gaps.mean()) / max(eye_distance(pts), 1e-9)


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
