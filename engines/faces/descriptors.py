"""What an expression looks like, as a few scale-free numbers a person would name.

Comparing whole landmark sets after a face alignment mixes expression with identity (a
wide mouth, close-set eyes) and pose; people instead see "the mouth is open this much",
"the corners are up", "the eyes are half shut". Each descriptor here is one of those, in
the face's own frame: the line through the two eyes' corner midpoints is the x axis, its
middle the origin, and one inter-ocular distance the unit, so the numbers mean the same
on any photo size, tilt and face width. The eye corners define the frame because an
expression hardly moves them (an eye centre moves when the lid closes).

Used by the Expression engine to retarget (the first face is moved until its
descriptors are the wanted ones) and by the benchmark to judge results.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from engines.faces.geometry import apply_affine, similarity_fit
from engines.faces.shape import (
    BROWS,
    FIRST_EYE,
    LOWER_INNER_LIP,
    MOUTH_CORNERS,
    SECOND_EYE,
    UPPER_INNER_LIP,
)

LEFT_BROW, RIGHT_BROW = BROWS[:5], BROWS[5:]
LEFT_EYE, RIGHT_EYE = FIRST_EYE, SECOND_EYE
LIP_MIDDLE = (62, 66)  # the inner lips' middle points, upper and lower
CORNERS = MOUTH_CORNERS
INNER_GAPS = tuple(zip(UPPER_INNER_LIP, LOWER_INNER_LIP, strict=True))


@dataclass(frozen=True)
class Descriptors:
    """One face's expression, in inter-ocular units (eye aspect ratio: a ratio)."""

    mouth_open: float  # gap between the inner lips
    mouth_width: float  # corner to corner
    left_lift: float  # photo-left corner above the lips' middle (negative: turned down)
    right_lift: float
    left_eye: float  # eye aspect ratio of the photo-left eye (about 0.3 open, 0 shut)
    right_eye: float
    left_brow: float  # brow above its eye's corner line
    right_brow: float

    @property
    def corner_lift(self) -> float:
        return (self.left_lift + self.right_lift) / 2

    @property
    def eye_open(self) -> float:
        return (self.left_eye + self.right_eye) / 2

    @property
    def brow_height(self) -> float:
        return (self.left_brow + self.right_brow) / 2

    def as_dict(self) -> dict[str, float]:
        return {f.name: float(getattr(self, f.name)) for f in fields(self)}


# What the benchmark and the retargeting call each feature (the pairs are combined).
NAMED = {
    "mouth opening": lambda d: d.mouth_open,
    "mouth width": lambda d: d.mouth_width,
    "corner lift": lambda d: d.corner_lift,
    "eye openness": lambda d: d.eye_open,
    "brow height": lambda d: d.brow_height,
}


def face_frame(points: np.ndarray) -> np.ndarray:
    """The 2×3 affine taking photo pixels into the face's own frame (see module doc)."""
    pts = np.asarray(points, dtype=np.float64)
    left = pts[[36, 39]].mean(0)
    right = pts[[42, 45]].mean(0)
    return similarity_fit(np.stack([left, right]), np.array([[-0.5, 0.0], [0.5, 0.0]]))


def in_face_frame(points: np.ndarray) -> np.ndarray:
    """``points`` (68×2, photo pixels) in the face's own frame."""
    return apply_affine(points, face_frame(points))


def eye_aspect(upright: np.ndarray, eye: tuple[int, ...]) -> float:
    """Lid-to-lid height over corner-to-corner width (Soukupová and Čech's EAR)."""
    p = upright[list(eye)]
    height = (np.linalg.norm(p[1] - p[5]) + np.linalg.norm(p[2] - p[4])) / 2
    return float(height / max(np.linalg.norm(p[3] - p[0]), 1e-9))


def describe(points: np.ndarray) -> Descriptors:
    """The descriptors of one face's 68 landmarks (photo pixels)."""
    u = in_face_frame(points)
    gap = float(np.mean([np.linalg.norm(u[a] - u[b]) for a, b in INNER_GAPS]))
    middle_y = float(u[list(LIP_MIDDLE), 1].mean())
    left_line = float(u[[36, 39], 1].mean())
    right_line = float(u[[42, 45], 1].mean())
    return Descriptors(
        mouth_open=gap,
        mouth_width=float(np.linalg.norm(u[CORNERS[1]] - u[CORNERS[0]])),
        left_lift=middle_y - float(u[CORNERS[0], 1]),
        right_lift=middle_y - float(u[CORNERS[1], 1]),
        left_eye=eye_aspect(u, LEFT_EYE),
        right_eye=eye_aspect(u, RIGHT_EYE),
        left_brow=left_line - float(u[list(LEFT_BROW), 1].mean()),
        right_brow=right_line - float(u[list(RIGHT_BROW), 1].mean()),
    )
