"""Sliders that change an expression without a second photo (beyond the dissertation).

Each slider runs from -1 to 1 and is a motion of the rig (``engines.expression.rig``)
in the face's own inter-ocular units, so a slider at 0.5 does the same to a small face
as to a large one. The ranges at ±1 are about the span seen between the calmest and the
most expressive portraits of the faces the benchmark uses: corner lift -0.08 to 0.18,
mouth width 0.75 to 1.22, eye aspect ratio 0.19 to 0.42, brow height 0.22 to 0.38
inter-ocular units (``tests/benchmarks/expression.py`` prints them), and a wide "ah" opens
the lips about 0.45 apart.
"""

from __future__ import annotations

import numpy as np

from engines.expression.rig import MIN_EYE, Motion
from engines.faces.descriptors import Descriptors, describe

SMILE_LIFT = 0.16  # corner rise at smile 1 (a frown drops them by FROWN_LIFT at -1)
SMILE_WIDTH = 0.12  # a full smile widens the mouth this much
FROWN_LIFT = 0.08
FROWN_WIDTH = 0.06
MOUTH_OPEN = 0.45  # inner-lip gap added at 1; -1 closes whatever is open
BROW_RAISE = 0.09  # both brows up (down at -1)
EYE_OPEN = 0.09  # eye aspect ratio added at 1; -1 closes the eyes
SHUT_EYE = 0.12  # eye aspect ratio below which an eye counts as shut (a blink)


def slider_motion(points: np.ndarray, smile: float = 0.0, mouth_open: float = 0.0,
                  brow_raise: float = 0.0, eye_open: float = 0.0) -> Motion:
    """The rig motion for these slider settings on the face with ``points`` (68×2)."""
    own = describe(points)
    lift = smile * (SMILE_LIFT if smile > 0 else FROWN_LIFT)
    width = smile * (SMILE_WIDTH if smile > 0 else FROWN_WIDTH)
    jaw = mouth_open * (MOUTH_OPEN if mouth_open > 0 else own.mouth_open)
    if eye_open >= 0:  # a shut eye stays shut: no photo shows what is under its lid
        eyes = tuple(0.0 if shut else eye_open * EYE_OPEN for shut in _shut(own))
    else:  # -1 brings each lid down to touching, whatever the eye's own openness
        eyes = tuple(eye_open * max(ratio - MIN_EYE, 0.0)
                     for ratio in (own.left_eye, own.right_eye))
    rise = brow_raise * BROW_RAISE
    return Motion(jaw=jaw, width=width, lift=(lift, lift), eyes=(eyes[0], eyes[1]),
                  brows=(rise, rise))


def opens_a_shut_eye(points: np.ndarray, eye_open: float) -> bool:
    """Whether ``eye_open`` asks to open an eye that is shut (which ``slider_motion`` keeps
    shut, and the result should say why)."""
    return eye_open > 0 and any(_shut(describe(points)))


def _shut(own: Descriptors) -> tuple[bool, bool]:
    return own.left_eye < SHUT_EYE, own.right_eye < SHUT_EYE
