"""Where the first face's landmarks go: the second face's expression, the first's pose.

The second face's 68 landmarks are laid over the first face by a similarity fitted on
the points an expression hardly moves (``STABLE``: eye corners, nose bridge). Those
points then stay exactly where they are in the first photo: they define the face's frame,
and moving them by the fit's leftover (landmark noise, a head turn) would shift the frame
that every other point is placed in.

The expression is what the second face shows beyond its pose. The first face's own
landmarks are turned into the second's pose (``engines.expression.pose``: yaw and pitch
fitted on the rigid points through a generic face depth); the difference between the
second face and that turned first face is the change of expression, and it is added to
the first face where it is. When both heads face the same way the turned face is the
first face itself, and the moved points are simply the second face's (fitted); when they
are turned differently, the second face's turn (a mouth slid sideways, a far eye
narrowed) is not copied onto the first face, only its expression.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from engines.expression.pose import relative_turn, turned_face
from engines.faces.geometry import apply_affine, similarity_fit
from engines.faces.shape import (
    BROWS,
    EYES,
    MOUTH,
    STABLE,
    eye_distance,
    mouth_gap,
)

# Landmarks the expression moves, with how far (1 = the whole change). The eye corners
# are stable points and stay. The chin follows a dropping jaw; the jaw's sides stay, as
# they are the person's build.
MOVE_WEIGHTS: dict[int, float] = {
    **{i: 1.0 for i in BROWS + EYES + MOUTH if i not in STABLE},
    4: 0.25, 5: 0.5, 6: 0.8, 7: 1.0, 8: 1.0, 9: 1.0, 10: 0.8, 11: 0.5, 12: 0.25,
}
MOVING = tuple(i for i, weight in MOVE_WEIGHTS.items() if weight > 0)
OPEN_MOUTH = 0.08  # inner-lip gap (eye distances) from which a mouth counts as open
GAP_CHANGE = 0.06  # eye distances: an open mouth whose opening changes this much


class Retarget(NamedTuple):
    """Where the landmarks would go at full strength, and how the two heads differ."""

    target: np.ndarray  # 68×2, photo pixels of the first photo; only MOVING points differ
    misfit: float  # mean distance left on the stable points after the similarity (eye dist.)
    yaw: float  # degrees the second head is turned from the first, beyond landmark noise
    pitch: float


def fit_second(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, float]:
    """The second face's landmarks in the first face's frame, and the misfit left over.

    The misfit (mean distance on the stable points, in eye distances) grows when the
    heads are turned differently, which no similarity can undo.
    """
    idx = list(STABLE)
    fitted = apply_affine(second, similarity_fit(second[idx], first[idx]))
    misfit = float(np.linalg.norm(fitted[idx] - first[idx], axis=1).mean())
    return fitted, misfit / max(eye_distance(first), 1e-9)


def target_landmarks(first: np.ndarray, second: np.ndarray) -> Retarget:
    """Where each of the first face's landmarks would go at full strength.

    The change of expression is measured in the second face's pose (the second face
    against the first turned into that pose) and applied to the first where it is.
    """
    first = np.asarray(first, dtype=np.float64)
    fitted, misfit = fit_second(first, np.asarray(second, dtype=np.float64))
    yaw, pitch = relative_turn(first, fitted)
    in_their_pose = turned_face(first, yaw, pitch)
    target = first.copy()
    moving = list(MOVING)
    target[moving] += fitted[moving] - in_their_pose[moving]
    return Retarget(target, misfit, yaw, pitch)


def moved_landmarks(first: np.ndarray, target: np.ndarray, strength: float) -> np.ndarray:
    """The first face's landmarks moved towards ``target`` by ``strength`` (per-point weights)."""
    weights = np.zeros(len(first))
    for i, weight in MOVE_WEIGHTS.items():
        weights[i] = weight
    return first + (strength * weights)[:, None] * (target - first)


def mouth_change(first: np.ndarray, moved: np.ndarray) -> str | None:
    """What the mesh warp cannot do to the mouth alone, or None when it can.

    "close" when the lips meet (from open): the first face's lips never showed where they
    now meet. "open" when the lips part from (nearly) closed, and also when an open mouth
    opens much wider or narrower (by ``GAP_CHANGE``) and stays open: the warp would
    stretch the teeth into a horse's grin or squeeze them into a sliver, so the inside of
    the mouth has to come from the second photo.
    """
    before, after = mouth_gap(first), mouth_gap(moved)
    if after >= OPEN_MOUTH and before < after / 2:
        return "open"
    if before >= OPEN_MOUTH and after < before / 2:
        return "close"
    if max(before, after) >= OPEN_MOUTH and abs(after - before) >= GAP_CHANGE:
        return "open" if after >= OPEN_MOUTH else "close"
    return None
