"""Landmark shapes as numbers: which points are what, and how far two expressions are.

The 68 points follow dlib's iBUG 300-W numbering. To compare expressions across photos
the shapes are first brought into one frame by a similarity fitted on points an
expression barely moves (eye corners, nose bridge), then distances are divided by the
distance between the eyes, so a 0.1 means "a tenth of the eye distance" at any size.
"""

from __future__ import annotations

import numpy as np

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
