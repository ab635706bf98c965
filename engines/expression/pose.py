"""How differently two heads are turned, from their 68 landmarks and a generic face depth.

A similarity laid on the eye corners and the nose bridge removes where a face is, how
large and how tilted, but not a turn to the side (yaw) or up and down (pitch): then the
nose tip, which stands in front of the eyes, slides relative to them, the far half of the
face narrows, and the mouth shifts sideways. Copying the second face's landmarks as they
are would copy that turn as if it were expression (a mouth slid sideways on a frontal
face looks grotesque). So the first face's own landmarks are lifted to 3-D with a
generic depth per landmark (``DEPTH``: rough anthropometric averages, in eye distances,
nose tip at 0, negative away from the camera), turned by the yaw and pitch that best
explain the second face's rigid points (eye corners and nose), and projected back: that
is what the first face would look like in the second's pose, with its own expression.
What is left between it and the second face is the expression.

The depths need not be exact: the turn is fitted to the landmarks through the same
depths, so a depth scale that is off mainly changes the angle reported, not the
predicted landmark positions.
"""

from __future__ import annotations

import numpy as np

from engines.faces.geometry import apply_affine, similarity_fit
from engines.faces.shape import NOSE, STABLE, eye_centres

# Generic depth of each of the 68 landmarks (iBUG order), in eye distances.
DEPTH = np.array([
    # jaw 0-16, ear to ear through the chin
    -1.55, -1.45, -1.30, -1.12, -0.95, -0.80, -0.65, -0.55, -0.50,
    -0.55, -0.65, -0.80, -0.95, -1.12, -1.30, -1.45, -1.55,
    # brows 17-21 (outer to inner), 22-26 (inner to outer)
    -0.75, -0.55, -0.45, -0.38, -0.35, -0.35, -0.38, -0.45, -0.55, -0.75,
    # nose bridge 27-30 (30 = tip), nose base 31-35
    -0.35, -0.24, -0.12, 0.0, -0.40, -0.30, -0.28, -0.30, -0.40,
    # eyes 36-41 (outer, upper lid, inner, lower lid), 42-47 (inner, upper lid, outer, lower)
    -0.72, -0.60, -0.55, -0.50, -0.55, -0.60,
    -0.50, -0.55, -0.60, -0.72, -0.60, -0.55,
    # outer lips 48-59 (corner, upper lip, corner, lower lip)
    -0.58, -0.42, -0.30, -0.26, -0.30, -0.42, -0.58, -0.42, -0.33, -0.30, -0.33, -0.42,
    # inner lips 60-67
    -0.55, -0.36, -0.30, -0.36, -0.55, -0.38, -0.33, -0.38,
])
RIGID = STABLE + tuple(i for i in NOSE if i not in STABLE)  # eye corners and the nose
MAX_ANGLE = 35.0  # degrees searched either way
# Turns the landmarks cannot tell from their own noise (about 0.02 eye distances on the
# nose tip, some 3 degrees), and slight ones a warp carries along unseen (8 degrees slide
# the mouth by about 0.07 eye distances against the eyes), are not compensated: each
# angle is shrunk towards 0 by this much. Compensating them made no visible difference on
# the benchmark's portraits, only a bigger landmark distance to the second face.
NOISE_ANGLE = 8.0


def _rotation(yaw: np.ndarray, pitch: np.ndarray) -> np.ndarray:
    """Rotation matrices (…×3×3): pitch about the across axis, then yaw about the down axis."""
    cy, sy = np.cos(yaw), np.sin(yaw)
    cp, sp = np.cos(pitch), np.sin(pitch)
    zero, one = np.zeros_like(yaw), np.ones_like(yaw)
    r_yaw = np.stack([np.stack([cy, zero, sy], -1), np.stack([zero, one, zero], -1),
                      np.stack([-sy, zero, cy], -1)], -2)
    r_pitch = np.stack([np.stack([one, zero, zero], -1), np.stack([zero, cp, -sp], -1),
                        np.stack([zero, sp, cp], -1)], -2)
    return r_yaw @ r_pitch


def _upright(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """``points`` in the face's own frame: eye line along x, origin between the eyes, in
    eye distances; with the 2×3 affine back to photo pixels and the eye distance."""
    left, right = eye_centres(points)
    unit = max(float(np.linalg.norm(right - left)), 1e-9)
    frame = similarity_fit(np.stack([left, right]), np.array([[-0.5, 0.0], [0.5, 0.0]]))
    back = similarity_fit(np.array([[-0.5, 0.0], [0.5, 0.0]]), np.stack([left, right]))
    return apply_affine(points, frame), back, unit


def _turned(upright: np.ndarray, yaw: np.ndarray, pitch: np.ndarray) -> np.ndarray:
    """The lifted face turned by each (yaw, pitch) and projected (…×68×2)."""
    lifted = np.concatenate([upright, DEPTH[:, None]], axis=1)  # 68×3
    return (lifted @ np.swapaxes(_rotation(yaw, pitch), -1, -2))[..., :2]


def _similarity_residual(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Mean squared residual of the best similarity from each ``source`` (…×N×2) to ``target``."""
    s = source - source.mean(-2, keepdims=True)
    t = target - target.mean(0)
    # As complex numbers a similarity is one multiplication: t ≈ z·s.
    sc = s[..., 0] + 1j * s[..., 1]
    tc = t[:, 0] + 1j * t[:, 1]
    z = (np.conj(sc) * tc).sum(-1) / np.maximum((np.abs(sc) ** 2).sum(-1), 1e-12)
    return (np.abs(tc - z[..., None] * sc) ** 2).mean(-1)


def relative_turn(first: np.ndarray, second: np.ndarray) -> tuple[float, float]:
    """(yaw, pitch) in degrees that turn the first face's head into the second's pose.

    Fitted on the rigid points by a coarse-to-fine grid search (each candidate's best
    similarity is closed form), then shrunk by ``NOISE_ANGLE``.
    """
    upright, _, _ = _upright(np.asarray(first, dtype=np.float64))
    # The second face in the first's upright frame (any similarity will do: it is refitted).
    target = np.asarray(second, dtype=np.float64)[list(RIGID)]
    rigid = list(RIGID)
    centre, span, step = np.zeros(2), MAX_ANGLE, 2.5
    for _ in range(3):
        axis = np.arange(-span, span + 1e-9, step)
        yaw, pitch = np.meshgrid(centre[0] + axis, centre[1] + axis, indexing="ij")
        turned = _turned(upright, np.radians(yaw.ravel()), np.radians(pitch.ravel()))
        cost = _similarity_residual(turned[:, rigid], target)
        best = int(np.argmin(cost))
        centre = np.array([yaw.ravel()[best], pitch.ravel()[best]])
        span, step = 2 * step, step / 4
    shrunk = np.sign(centre) * np.maximum(np.abs(centre) - NOISE_ANGLE, 0.0)
    return float(shrunk[0]), float(shrunk[1])


def turned_face(first: np.ndarray, yaw: float, pitch: float) -> np.ndarray:
    """The first face's landmarks as they would look with the head turned by (yaw, pitch).

    In the first photo's pixels, laid on the first face's own stable points (so a turn of
    0 gives the landmarks back exactly).
    """
    first = np.asarray(first, dtype=np.float64)
    if yaw == 0 and pitch == 0:
        return first.copy()
    upright, back, unit = _upright(first)
    turned = _turned(upright, np.radians(np.array(yaw)), np.radians(np.array(pitch)))
    photo = apply_affine(turned, back)
    idx = list(STABLE)
    return apply_affine(photo, similarity_fit(photo[idx], first[idx]))
