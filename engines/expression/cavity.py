"""The inside of a mouth opened by a slider, when no photo shows one.

With a second photo the opening mouth is taken from it (``engines.expression.mouth``).
A slider has none; a closed mouth's warp would stretch the line between the lips into a
pink sheet. So the new gap is painted as a mouth's inside looks in a portrait: a dark
cavity, darkest towards the back and bottom, lit a little under the upper lip, with the
upper teeth's edge showing as a soft pale band when the mouth opens enough for them to
be seen. Its colours come from the face itself (the lips' colour, darkened; the teeth a
desaturated version of the skin's brightest light), so it sits in the photo's light.
When the first photo's own mouth is open, its own inside is used instead (scaled).
"""

from __future__ import annotations

import cv2
import numpy as np

from engines.expression.mouth import _grow, _MouthRegions, _polygon_mask
from engines.faces.shape import INNER_LIPS, UPPER_INNER_LIP

CAVITY_DARKNESS = 0.22  # of the lips' median colour, deep inside
TEETH_FROM_GAP = 0.12  # inter-ocular units of opening from which upper teeth show
TEETH_SHARE = 0.35  # of the gap the teeth's edge takes below the upper lip
TEETH_MAX = 0.09  # inter-ocular units: incisors show at most this much
TEETH_WIDTH = 0.75  # of the inner mouth's width
TEETH_BRIGHTNESS = 0.95  # of the skin's brightest light (teeth under the lip's shade)
TOOTH_WIDTH = 0.085  # inter-ocular units: an upper incisor's width seen from the front
TOOTH_GAP_SHADE = 0.18  # how much darker the line between two teeth is
EDGE_SOFTNESS = 0.012  # inter-ocular units: the cavity's and teeth's edges blur
SEAM_DARKNESS = 0.45  # of the lips' colour: the shade where closed lips meet


def paint_cavity(warped: np.ndarray, original: np.ndarray, first_points: np.ndarray,
                 new_points: np.ndarray, eye_distance: float) -> np.ndarray:
    """``warped`` (a crop) with a mouth's inside painted between the new inner lips.

    ``original`` and ``first_points`` are the crop and its landmarks before the warp,
    where the lips' and skin's colours are measured.
    """
    h, w = warped.shape[:2]
    own = _MouthRegions(first_points, (h, w), eye_distance)
    lips = original[own.lip_sample] if own.lip_sample.any() else original[own.outline]
    skin = original[own.skin]
    if len(lips) == 0 or len(skin) == 0:
        return warped
    lip_colour = np.median(lips, 0)
    inside = _polygon_mask(new_points[list(INNER_LIPS)], (h, w))
    if inside.sum() < 4:
        return warped
    top = float(new_points[list(UPPER_INNER_LIP), 1].mean())
    bottom = float(np.nonzero(inside)[0].max())
    depth = np.clip((np.arange(h, dtype=np.float32) - top) / max(bottom - top, 1.0), 0, 1)
    # Dark red-brown, a little lighter just under the upper lip (light falls in from above).
    shade = CAVITY_DARKNESS * (1.4 - 0.6 * depth)[:, None, None]
    cavity = np.broadcast_to(lip_colour * shade, (h, w, 3)).astype(np.float32)
    paint = cavity.copy()
    gap = (bottom - top) / max(eye_distance, 1e-6)
    if gap >= TEETH_FROM_GAP:
        paint = _with_teeth(paint, new_points, skin, eye_distance, bottom - top, (h, w))
    alpha = cv2.GaussianBlur(_grow(inside, 0.5).astype(np.float32), (0, 0),
                             max(0.6, EDGE_SOFTNESS * eye_distance))[..., None]
    return (warped + alpha * (paint - warped)).astype(np.float32)


def _with_teeth(paint: np.ndarray, new_points: np.ndarray, skin: np.ndarray,
                eye_distance: float, gap_px: float, shape: tuple[int, int]) -> np.ndarray:
    """``paint`` with the upper teeth's edge showing under the upper lip.

    Seen from the front the dental arch hangs from the upper lip's inner line, longest in
    the middle and shorter towards the corners, where the teeth also turn away into the
    cheeks' shade; faint gaps part the incisors. Its colour is a warm off-white at the
    skin's bright light, so it sits in the photo's exposure.
    """
    h, w = shape
    # The upper lip's middle three points: towards the corners the inner line drops to
    # the corners' height, and teeth hung from it there read as fangs. Beyond them the
    # line is held level; the cavity's outline clips the teeth at the lips.
    upper = new_points[list(UPPER_INNER_LIP)]
    order = np.argsort(upper[:, 0])
    xs = np.arange(w, dtype=np.float32)
    lip_line = np.interp(xs, upper[order, 0], upper[order, 1])
    centre = float(new_points[[60, 64], 0].mean())
    half = TEETH_WIDTH * float(new_points[64, 0] - new_points[60, 0]) / 2
    across = np.clip((xs - centre) / max(half, 1.0), -1.0, 1.0)
    arch = np.sqrt(np.clip(1 - across**2, 0.0, 1.0))  # 1 in the middle, 0 at the ends
    length = min(TEETH_SHARE * gap_px, TEETH_MAX * eye_distance) * (0.55 + 0.45 * arch)
    rows = np.arange(h, dtype=np.float32)[:, None]
    teeth = ((rows >= lip_line[None, :] - 1) & (rows <= lip_line[None, :] + length[None, :])
             & (np.abs(xs - centre) <= half)[None, :]).astype(np.float32)
    teeth = cv2.GaussianBlur(teeth, (0, 0), max(0.7, EDGE_SOFTNESS * eye_distance))
    bright = float(np.percentile(skin.max(-1), 95))
    tooth = np.clip(TEETH_BRIGHTNESS * bright * np.array([1.0, 0.97, 0.9], np.float32), 0, 1)
    shade = 0.55 + 0.45 * arch  # the arch turns away from the light towards the corners
    # Incisor gaps: about 0.085 inter-ocular units apart, either side of the middle.
    spacing = TOOTH_WIDTH * eye_distance
    gaps = np.cos(np.pi * (xs - centre) / max(spacing, 2.0)) ** 2  # 1 on a gap, 0 between
    shade = shade * (1 - TOOTH_GAP_SHADE * gaps ** 24 * (np.abs(xs - centre) < half))
    lit = tooth * shade[None, :, None]
    return paint + teeth[..., None] * (lit - paint)


def shade_inside(crop: np.ndarray, points: np.ndarray, eye_distance: float) -> np.ndarray:
    """``crop`` with the inside of its open mouth painted as the shade between lips.

    For a mouth that closes with no photo to take a closed mouth from: the warp squeezes
    the inside into the line where the lips meet, and squeezed teeth made a jagged white
    line there. Painted first in the lips' own colour, darkened, the inside becomes the
    dark seam of closed lips.
    """
    h, w = crop.shape[:2]
    own = _MouthRegions(points, (h, w), eye_distance)
    lips = crop[own.lip_sample] if own.lip_sample.any() else crop[own.outline & ~own.inside]
    if len(lips) == 0 or not own.inside.any():
        return crop
    seam = (SEAM_DARKNESS * np.median(lips, 0)).astype(np.float32)
    alpha = cv2.GaussianBlur(_grow(own.inside, 0.02 * eye_distance).astype(np.float32),
                             (0, 0), max(0.6, EDGE_SOFTNESS * eye_distance))[..., None]
    return (crop + alpha * (seam - crop)).astype(np.float32)
