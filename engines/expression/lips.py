"""Lips that close meet: above the line where they meet the upper lip, below it the lower.

A smooth warp cannot close a mouth: where the inner lips' landmarks meet, the spline
keeps one control at the mean of their sources, so the line where the lips meet samples
the middle of the mouth, and the teeth showed there as a jagged white line. Closed lips
are two surfaces pressed together: just above the line is the upper lip's inner edge,
just below it the lower lip's.

So two more splines are solved: one without the lower inner lip's points (the meeting
line then samples the upper lip) and one without the upper inner lip's (it samples the
lower lip). Around the mouth the map is the first above the meeting line and the second
below it, fading into the full spline's map away from the mouth.
"""

from __future__ import annotations

import cv2
import numpy as np

from engines.blend import feather_inside
from engines.expression.mesh import tps_maps
from engines.faces.shape import LOWER_INNER_LIP, UPPER_INNER_LIP

MEETING = (60, 61, 62, 63, 64)  # the new upper inner lip: where the lips now meet
AROUND = 0.25  # eye distances around the mouth where the two lips' maps are used
FADE = 0.08  # eye distances over which they fade into the full map
RAMP = 1.5  # px of ramp height per px beyond a mouth corner


def meet_lips(map_x: np.ndarray, map_y: np.ndarray, src: np.ndarray, dst: np.ndarray,
              eye_distance: float) -> tuple[np.ndarray, np.ndarray]:
    """The maps with the closing lips meeting cleanly.

    ``src`` and ``dst`` are the full spline's control points (the 68 landmarks first),
    in the maps' pixels; ``map_x``/``map_y`` that spline's maps.
    """
    h, w = map_x.shape
    keep_upper = np.ones(len(src), bool)
    keep_upper[list(LOWER_INNER_LIP)] = False
    keep_lower = np.ones(len(src), bool)
    keep_lower[list(UPPER_INNER_LIP)] = False
    upper_x, upper_y = tps_maps(src[keep_upper], dst[keep_upper], w, h)
    lower_x, lower_y = tps_maps(src[keep_lower], dst[keep_lower], w, h)
    meeting = dst[list(MEETING)]
    order = np.argsort(meeting[:, 0])
    xs = np.arange(w, dtype=np.float64)
    line = np.interp(xs, meeting[order, 0], meeting[order, 1])
    rows = np.arange(h, dtype=np.float64)[:, None]
    # A clean cut between the lips; beyond the mouth's corners, where skin is continuous,
    # the cut widens into a ramp (steeper than any skin the check allows nowhere).
    left, right = float(dst[48, 0]), float(dst[54, 0])
    beyond = np.maximum(0.0, np.maximum(left - xs, xs - right))
    half = 0.5 + RAMP * beyond
    above = np.clip(0.5 + (line[None, :] - rows) / (2 * half[None, :]), 0.0, 1.0)
    above = above.astype(np.float32)
    two_lips_x = above * upper_x + (1 - above) * lower_x
    two_lips_y = above * upper_y + (1 - above) * lower_y
    # Only around the mouth: elsewhere the full spline holds every control.
    mouth = np.zeros((h, w), np.uint8)
    lips = np.round(dst[48:60]).astype(np.int32)
    cv2.fillPoly(mouth, [lips], 1)
    reach = max(1, round(AROUND * eye_distance))
    mouth = cv2.dilate(mouth, cv2.getStructuringElement(cv2.MORPH_ELLIPSE,
                                                        (2 * reach + 1, 2 * reach + 1)))
    weight = 1 - feather_inside(mouth == 0, FADE * eye_distance)  # fading out of the mouth
    return ((weight * two_lips_x + (1 - weight) * map_x).astype(np.float32),
            (weight * two_lips_y + (1 - weight) * map_y).astype(np.float32))
