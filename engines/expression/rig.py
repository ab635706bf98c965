"""How a face moves when its expression changes: a small anatomical rig on the 68 landmarks.

Copying another face's landmark offsets copies that face too: its mouth's shape and
lopsidedness, its proportions, and a jaw that "opens" by stretching the lower face. The
rig instead moves the first face's own landmarks the way muscles and bones move them,
by a few amounts (``Motion``) in the face's own frame (``engines.faces.descriptors``:
eye line along x, inter-ocular units):

- **jaw**: the mandible turns about the hinge in front of the ears. Seen from the front
  a point moves down in proportion to how far in front of the hinge it lies (its depth,
  ``engines.expression.pose.DEPTH``): the chin and lower lip most, the jaw's angle little,
  the jaw's sides below the ears not at all. Upper lip and nose stay. ``jaw`` is the
  change of the inner-lip gap; the mouth corners go half as far as the lower lip.
- **width**: the mouth stretches or narrows about its middle.
- **lift** (per corner): the corners rise (smile) or drop; the lips between follow less
  towards the middle. Virtual control points on the cheeks and the nasolabial folds rise
  with them, so a smile lifts the cheeks instead of bending the lips alone.
- **eyes** (per eye): the change of eye aspect ratio, made by the lids: mostly the upper
  lid, the lower a little.
- **brows** (per brow): raised or lowered.

Each amount moves only its own points, and the descriptors respond one to one (jaw to
mouth opening, width to width, lift to corner lift, and so on), so a wanted expression
is reached in closed form and the motions can be scaled feature by feature.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

from engines.expression.pose import DEPTH
from engines.faces.descriptors import (
    INNER_GAPS,
    LEFT_BROW,
    LEFT_EYE,
    RIGHT_BROW,
    RIGHT_EYE,
    eye_aspect,
    face_frame,
)
from engines.faces.geometry import apply_affine, invert_affine

Z_HINGE = -1.65  # depth of the jaw's hinge in DEPTH's units (just behind the jaw's side)
JAW_LINE = tuple(range(3, 14))  # points 0-2 and 14-16 lie beside the hinge: they stay
LOWER_LIPS = (55, 56, 57, 58, 59, 65, 66, 67)
CORNER_POINTS = (48, 54, 60, 64)  # outer and inner corners: half the lower lip's motion
MOUTH_POINTS = tuple(range(48, 68))
# Virtual controls (not landmarks), as weights of landmarks: the cheek's apex between
# nose wing, jaw and lower lid; the nasolabial fold between nose wing and mouth corner.
CHEEKS = (
    {31: 0.4, 2: 0.3, 41: 0.3}, {35: 0.4, 14: 0.3, 46: 0.3},
    {31: 0.5, 48: 0.5}, {35: 0.5, 54: 0.5},
)
CHEEK_RISE = (0.45, 0.45, 0.65, 0.65)  # of the corner's lift
CHEEK_SPREAD = (0.15, 0.15, 0.3, 0.3)  # outwards, of half the mouth's widening
UPPER_LID_SHARE = 0.75  # of an eye's opening done by the upper lid (all of a closing)
MIN_EYE = 0.02  # eye aspect ratio a closing eye stops at (lids touching, not crossing)
HEAD_POINTS = 16  # around the head, turning with it when the head tilts
CREASE_LIDS = (37, 38, 43, 44)  # upper-lid points, each with the brow point above it
CREASE_BROWS = (19, 20, 23, 24)
CREASE_HEIGHT = 0.4  # of the way from the lid up to the brow
CREASE_FOLLOWS_LID = 0.0  # a closing lid is slid over the eye after the spline
CREASE_FOLLOWS_BROW = 0.5


@dataclass(frozen=True)
class Motion:
    """How far each part moves, in inter-ocular units (eyes: in eye aspect ratio)."""

    jaw: float = 0.0  # change of the inner lips' gap (negative closes)
    width: float = 0.0  # change of the corner-to-corner width
    lift: tuple[float, float] = (0.0, 0.0)  # each corner's rise (photo-left, photo-right)
    eyes: tuple[float, float] = (0.0, 0.0)  # each eye's change of aspect ratio
    brows: tuple[float, float] = (0.0, 0.0)  # each brow's rise
    tilt: float = 0.0  # degrees the head turns in the picture plane (clockwise positive)

    def scaled(self, mouth: float = 1.0, eyes: float = 1.0, brows: float = 1.0,
               tilt: float = 1.0) -> Motion:
        """The motion with each feature's part scaled by its own strength."""
        return Motion(self.jaw * mouth, self.width * mouth,
                      (self.lift[0] * mouth, self.lift[1] * mouth),
                      (self.eyes[0] * eyes, self.eyes[1] * eyes),
                      (self.brows[0] * brows, self.brows[1] * brows), self.tilt * tilt)

    def __add__(self, other: Motion) -> Motion:
        return Motion(self.jaw + other.jaw, self.width + other.width,
                      _add(self.lift, other.lift), _add(self.eyes, other.eyes),
                      _add(self.brows, other.brows), self.tilt + other.tilt)


def _add(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    return (a[0] + b[0], a[1] + b[1])


class Rigged(NamedTuple):
    """The moved face: its 68 landmarks and the virtual controls before and after."""

    landmarks: np.ndarray  # 68×2, photo pixels
    controls_from: np.ndarray  # K×2, photo pixels: cheeks, folds, lid creases (and the
    # head's outline on a tilt)
    controls_to: np.ndarray
    motion: Motion  # what was applied, after the limits (a jaw cannot close past shut)


def limited(points: np.ndarray, motion: Motion) -> Motion:
    """``motion`` within what the face allows: lips and lids close at most to touching."""
    u = apply_affine(points, face_frame(points))
    gap = float(np.mean([u[b, 1] - u[a, 1] for a, b in INNER_GAPS]))
    jaw = max(motion.jaw, -max(gap, 0.0))
    eyes = tuple(max(change, MIN_EYE - eye_aspect(u, eye)) if change < 0 else change
                 for change, eye in zip(motion.eyes, (LEFT_EYE, RIGHT_EYE), strict=True))
    eyes = tuple(min(change, 0.0) if eye_aspect(u, eye) < MIN_EYE and change < 0 else change
                 for change, eye in zip(eyes, (LEFT_EYE, RIGHT_EYE), strict=True))
    return replace(motion, jaw=jaw, eyes=(eyes[0], eyes[1]))


def apply(points: np.ndarray, motion: Motion) -> Rigged:
    """The face of ``points`` (68×2, photo pixels) moved by ``motion`` (after ``limited``)."""
    points = np.asarray(points, dtype=np.float64)
    motion = limited(points, motion)
    frame = face_frame(points)
    back = invert_affine(frame)
    u = apply_affine(points, frame)
    cheeks = np.array([sum(w * u[i] for i, w in spot.items()) for spot in CHEEKS])
    moved, moved_cheeks = u.copy(), cheeks.copy()
    _widen(u, moved, cheeks, moved_cheeks, motion.width)
    _lift(moved, cheeks, moved_cheeks, motion.lift)
    _drop_jaw(moved, motion.jaw)
    for eye, change in zip((LEFT_EYE, RIGHT_EYE), motion.eyes, strict=True):
        _open_eye(u, moved, eye, change)
    for brow, rise in zip((LEFT_BROW, RIGHT_BROW), motion.brows, strict=True):
        moved[list(brow), 1] -= rise
    creases, moved_creases = _creases(u, moved)
    cheeks = np.concatenate([cheeks, creases])
    moved_cheeks = np.concatenate([moved_cheeks, moved_creases])
    if motion.tilt:
        # The whole head leans, hair included: an outline around it turns with the face.
        pivot = _neck(u)
        head = _head_outline(u)
        cheeks = np.concatenate([cheeks, head])
        moved = _rotate(moved, pivot, motion.tilt)
        moved_cheeks = _rotate(np.concatenate([moved_cheeks, head]), pivot, motion.tilt)
    return Rigged(apply_affine(moved, back), apply_affine(cheeks, back),
                  apply_affine(moved_cheeks, back), motion)


def _widen(u: np.ndarray, moved: np.ndarray, cheeks: np.ndarray, moved_cheeks: np.ndarray,
           change: float) -> None:
    """Scale the mouth about its middle so its corners are ``change`` further apart."""
    mouth = list(MOUTH_POINTS)
    centre = u[[48, 54], 0].mean()
    width = max(float(u[54, 0] - u[48, 0]), 1e-6)
    moved[mouth, 0] += (u[mouth, 0] - centre) * (change / width)
    side = np.sign(cheeks[:, 0] - centre)
    moved_cheeks[:, 0] += side * np.array(CHEEK_SPREAD) * change / 2


def _lift(moved: np.ndarray, cheeks: np.ndarray, moved_cheeks: np.ndarray,
          lift: tuple[float, float]) -> None:
    """Raise each corner by its lift, the lips between by less towards the middle."""
    mouth = list(MOUTH_POINTS)
    centre = moved[[48, 54], 0].mean()
    half = max(float(moved[54, 0] - moved[48, 0]) / 2, 1e-6)
    across = (moved[mouth, 0] - centre) / half  # -1 at the left corner, +1 at the right
    share = np.clip(np.abs(across), 0.0, 1.0) ** 2
    rise = np.where(across < 0, lift[0], lift[1])
    moved[mouth, 1] -= share * rise
    left = cheeks[:, 0] < centre
    moved_cheeks[:, 1] -= np.array(CHEEK_RISE) * np.where(left, lift[0], lift[1])


def _drop_jaw(moved: np.ndarray, change: float) -> None:
    """Turn the jaw about its hinge so the inner lips' gap changes by ``change``."""
    if change == 0:
        return
    lever = DEPTH - Z_HINGE
    turn = change / float(lever[[b for _, b in INNER_GAPS]].mean())
    for group, share in ((JAW_LINE, 1.0), (LOWER_LIPS, 1.0), (CORNER_POINTS, 0.5)):
        idx = list(group)
        moved[idx, 1] += share * turn * lever[idx]


def _open_eye(u: np.ndarray, moved: np.ndarray, eye: tuple[int, ...], change: float) -> None:
    """Open (or close) an eye by ``change`` of aspect ratio, with the lids.

    Each upper-lid point moves towards (or away from) the lower-lid point facing it,
    the upper lid doing all of a closing and most of an opening, so the lids meet where
    they face each other.
    """
    if change == 0:
        return
    outer, upper_a, upper_b, inner, lower_b, lower_a = eye
    width = float(np.linalg.norm(u[inner] - u[outer]))
    for upper, lower in ((upper_a, lower_a), (upper_b, lower_b)):
        along = u[lower] - u[upper]
        length = float(np.linalg.norm(along))
        direction = along / length if length > 1e-9 else np.array([0.0, 1.0])
        new_length = max(length + change * width, 0.0)
        shorter = length - new_length  # negative: the eye opens
        # A blink is the upper lid's; an eye opens wider with both lids.
        share = 1.0 if shorter > 0 else UPPER_LID_SHARE
        moved[upper] += share * shorter * direction
        moved[lower] -= (1 - share) * shorter * direction


def _head_outline(u: np.ndarray) -> np.ndarray:
    """Points around the head with its hair (an ellipse about the face, in the face frame).

    Half as wide again as the jaw, from above the hairline to below the chin.
    """
    centre_x = float(u[[0, 16], 0].mean())
    half_width = 0.75 * float(u[16, 0] - u[0, 0])
    top, bottom = -1.9, float(u[8, 1]) + 0.1
    centre_y, half_height = (top + bottom) / 2, (bottom - top) / 2
    angles = np.linspace(0.0, 2 * np.pi, HEAD_POINTS, endpoint=False)
    return np.stack([centre_x + half_width * np.cos(angles),
                     centre_y + half_height * np.sin(angles)], axis=1)


def _creases(u: np.ndarray, moved: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Controls on each upper lid's crease, before and after (face frame).

    A closing lid unfolds the skin between its crease and its lashes; the brow above
    stays. Without these controls the spline spreads a lid's motion up to the brow, and
    the brow and eye make-up smear downwards. The crease follows its lid a little and
    its brow halfway.
    """
    lids, brows = np.array(CREASE_LIDS), np.array(CREASE_BROWS)
    before = u[lids] + CREASE_HEIGHT * (u[brows] - u[lids])
    after = before + (CREASE_FOLLOWS_LID * (moved[lids] - u[lids])
                      + CREASE_FOLLOWS_BROW * (moved[brows] - u[brows]))
    return before, after


def _neck(u: np.ndarray) -> np.ndarray:
    """Where a head tilts about: the top of the neck, below the chin's middle."""
    return np.array([u[8, 0], u[8, 1] + 0.3])


def _rotate(points: np.ndarray, pivot: np.ndarray, degrees: float) -> np.ndarray:
    angle = np.radians(degrees)
    c, s = np.cos(angle), np.sin(angle)
    rel = points - pivot
    return pivot + rel @ np.array([[c, s], [-s, c]])
