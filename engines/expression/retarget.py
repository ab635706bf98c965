"""Where the first face's landmarks go: the second face's expression, the first's pose.

The second face's 68 landmarks are first laid over the first face by a similarity fitted
on points an expression hardly moves (eye corners, nose bridge). When both heads face the
same way that is enough, and the fitted points are the target. When they are turned
differently (the stable points then fit badly), the fitted brows, eyes and mouth also
carry the turn (a mouth slid sideways, eyes of another width), and copying that warps the
face grotesquely. So, the more the heads differ, the more each feature is re-anchored on
the first face instead:

- eyes: laid on the first face's eye corners, so only the lids (open, squint) change;
- brows: each point only raised or lowered (relative to its eye) as in the second: a
  turned head also shortens and tilts a brow, which is not expression;
- mouth and chin: centred across the face where the first's mouth is, placed below the
  nose as in the second (a dropping jaw, lifted corners).

Across and down are the first face's own axes (along and across its eye line).
"""

from __future__ import annotations

import numpy as np

from engines.faces.geometry import apply_affine, similarity_fit
from engines.faces.shape import (
    BROWS,
    CHIN,
    FIRST_EYE,
    MOUTH,
    SECOND_EYE,
    STABLE,
    eye_centres,
    eye_distance,
    mouth_gap,
)

# Landmarks the expression moves, with how far (1 = all the way to the second face's).
# The chin follows a dropping jaw; the jaw's sides stay, as they are the person's build.
MOVE_WEIGHTS: dict[int, float] = {
    **{i: 1.0 for i in BROWS + FIRST_EYE + SECOND_EYE + MOUTH},
    4: 0.25, 5: 0.5, 6: 0.8, 7: 1.0, 8: 1.0, 9: 1.0, 10: 0.8, 11: 0.5, 12: 0.25,
}
MOVING = tuple(i for i, weight in MOVE_WEIGHTS.items() if weight > 0)
NOSE_BASE = (31, 32, 33, 34, 35)
MOUTH_AND_CHIN = MOUTH + tuple(sorted(set(range(4, 13)) | set(CHIN)))
# (eye points, the eye's two corners, the brow above it)
EYE_GROUPS = (
    (FIRST_EYE, (36, 39), tuple(range(17, 22))),
    (SECOND_EYE, (42, 45), tuple(range(22, 27))),
)
OPEN_MOUTH = 0.08  # inner-lip gap (eye distances) from which a mouth counts as open
# Misfit of the stable points (eye distances) below which the fitted points are used as
# they are (landmark noise is about 0.02), and above which fully re-anchored ones.
SAME_POSE, OTHER_POSE = 0.04, 0.10


def fit_second(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, float]:
    """The second face's landmarks in the first face's frame, and the misfit left over.

    The misfit (mean distance on the stable points, in eye distances) grows when the
    heads are turned differently, which no similarity can undo.
    """
    idx = list(STABLE)
    fitted = apply_affine(second, similarity_fit(second[idx], first[idx]))
    misfit = float(np.linalg.norm(fitted[idx] - first[idx], axis=1).mean())
    return fitted, misfit / max(eye_distance(first), 1e-9)


def target_landmarks(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, float]:
    """Where each of the first face's landmarks would go at full strength, and the misfit.

    Only ``MOVING`` points differ from ``first``.
    """
    first = np.asarray(first, dtype=np.float64)
    fitted, misfit = fit_second(first, np.asarray(second, dtype=np.float64))
    t = float(np.clip((misfit - SAME_POSE) / (OTHER_POSE - SAME_POSE), 0.0, 1.0))
    turn = t * t * (3 - 2 * t)
    target = first.copy()
    moving = list(MOVING)
    target[moving] = fitted[moving]
    if turn > 0:
        anchored = _reanchored_features(first, fitted)
        target[moving] += turn * (anchored[moving] - fitted[moving])
    return target, misfit


def _reanchored_features(first: np.ndarray, fitted: np.ndarray) -> np.ndarray:
    """``first`` with eyes, brows, mouth and chin taken from ``fitted``, each re-anchored."""
    left, right = eye_centres(first)
    across = (right - left) / max(np.linalg.norm(right - left), 1e-9)
    target = first.copy()
    for eye, corners, brow in EYE_GROUPS:
        eye_idx, brow_idx = list(eye), list(brow)
        onto = similarity_fit(fitted[list(corners)], first[list(corners)])
        target[eye_idx] = apply_affine(fitted[eye_idx], onto)
        placed = _reanchored(first, fitted, brow_idx, eye_idx, across)
        down = np.array([-across[1], across[0]])
        target[brow_idx] = first[brow_idx] + np.outer((placed - first[brow_idx]) @ down, down)
    mouth = list(MOUTH_AND_CHIN)
    target[mouth] = _reanchored(first, fitted, mouth, list(NOSE_BASE), across)
    return target


def _reanchored(
    first: np.ndarray, fitted: np.ndarray, region: list[int], anchor: list[int],
    across: np.ndarray,
) -> np.ndarray:
    """``fitted[region]`` placed relative to the first face's ``anchor`` points.

    Its offset from the anchor along the face (down) is the second face's, its offset
    across the face the first face's own; its shape is the second face's.
    """
    relative = fitted[region] - fitted[anchor].mean(0)
    own = first[region] - first[anchor].mean(0)
    sideways = float((own.mean(0) - relative.mean(0)) @ across)
    return first[anchor].mean(0) + relative + sideways * across


def moved_landmarks(first: np.ndarray, target: np.ndarray, strength: float) -> np.ndarray:
    """The first face's landmarks moved towards ``target`` by ``strength`` (per-point weights)."""
    weights = np.zeros(len(first))
    for i, weight in MOVE_WEIGHTS.items():
        weights[i] = weight
    return first + (strength * weights)[:, None] * (target - first)


def mouth_change(first: np.ndarray, moved: np.ndarray) -> str | None:
    """"open" when the lips part from (nearly) closed, "close" when they meet, else None.

    Then the mesh warp has no inside of the mouth to stretch, or one to squeeze away.
    """
    before, after = mouth_gap(first), mouth_gap(moved)
    if after >= OPEN_MOUTH and before < after / 2:
        return "open"
    if before >= OPEN_MOUTH and after < before / 2:
        return "close"
    return None
