"""A mouth that opens or closes is redrawn from the second photo's mouth.

A mesh warp moves lips but cannot invent what lies between them: opening closed lips
only stretches the lip line across the gap, and closing a smile squeezes the teeth into
a sliver. In both cases the second face's mouth is mapped onto the new lips (an affine
fitted on all 20 mouth points, then a smooth warp laying each of its points on the new
ones, so another person's mouth takes the first mouth's size and shape) and recoloured
to the first photo:

- opening: only the inside of the mouth (teeth, tongue, shadow) is taken, plus a thin
  margin of lip, so the first face keeps its own lips; it fades in over that margin.
  Poisson cloning was used here first and spread the lips' colour difference over the
  teeth (pink, purple or green teeth on the benchmark's two-person sheets);
- closing (same person only; for two people the engine lets the first face's own lips
  meet, ``engines.expression.lips``, since another person's closed mouth looked small
  and pinched): the whole mouth is taken, with a margin of skin, and blended in the
  gradient domain (Poisson, ``cv2.seamlessClone``), where skin meets skin.

Colour is matched region by region, with medians measured on the first photo before the
warp: the inside of the mouth takes the brightness of the first photo's light as seen on
the skin around the mouth (its tint is mostly the two skins' tones, and lipstick would
mislead), the donor's lips take the first face's lip colour.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

from engines.blend import feather_inside
from engines.expression.mesh import remap, tps_maps
from engines.faces.detect import to_uint8
from engines.faces.geometry import apply_affine
from engines.faces.shape import INNER_LIPS, MOUTH, OUTER_LIPS

Change = Literal["open", "close"]

OPEN_MARGIN = 0.06  # eye distances: an opening mouth's clone area reaches into the lips
CLOSE_MARGIN = 0.08  # eye distances: a closing mouth's clone area reaches into the skin
LIP_EDGE = 0.03  # eye distances: lip pixels this close to the inner line are not sampled
SKIN_BAND = 0.2  # eye distances: the ring of skin around the lips used to match light
MAX_SKIN_GAIN = 1.6
MAX_LIP_GAIN = 2.5
CHROMA_FLOOR = 3.0  # Lab units added to both skins' chroma (grey skin is not zero colour)
MIN_CHROMA = 0.25  # the inside keeps at least this share of its colourfulness


def _affine_fit(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The least-squares 2×3 affine taking ``source`` points to ``target`` points."""
    a = np.hstack([source, np.ones((len(source), 1))])
    return np.linalg.lstsq(a, target, rcond=None)[0].T


def _polygon_mask(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(points * 16).astype(np.int32)], 255, cv2.LINE_AA, shift=4)
    return mask > 127


def _disk(radius: float) -> np.ndarray:
    r = max(1, round(radius))
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def _grow(mask: np.ndarray, radius: float) -> np.ndarray:
    return cv2.dilate(mask.astype(np.uint8), _disk(radius)) > 0


class _MouthRegions:
    """The inside of the mouth, the lips and the skin around them, for one set of landmarks."""

    def __init__(self, points: np.ndarray, shape: tuple[int, int], eye_distance: float) -> None:
        self.inside = _polygon_mask(points[list(INNER_LIPS)], shape)
        self.outline = _polygon_mask(points[list(OUTER_LIPS)], shape)
        self.lips = self.outline & ~self.inside
        # For measuring colour: lips without their inner edge (often teeth in a smile).
        self.lip_sample = self.outline & ~_grow(self.inside, LIP_EDGE * eye_distance)
        self.skin = _grow(self.outline, SKIN_BAND * eye_distance) & ~self.outline


def donor_mouth(
    second: np.ndarray, second_points: np.ndarray, new_points: np.ndarray, size: tuple[int, int],
    fit_on: tuple[int, ...] = MOUTH,
) -> tuple[np.ndarray, np.ndarray]:
    """The second photo's mouth laid over the new lips, on a canvas of ``size`` (w, h).

    The affine is fitted on the ``fit_on`` landmarks (the mouth's by default; an eye's
    for an eye). Returns the canvas and the second face's landmarks moved onto it. A much
    larger second face is shrunk by area first, so its teeth do not alias.
    """
    idx = list(fit_on)
    matrix = _affine_fit(second_points[idx], new_points[idx])
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    points = second_points
    if scale < 0.7:
        lo, hi = second_points[idx].min(0), second_points[idx].max(0)
        pad = (hi - lo).max()
        h, w = second.shape[:2]
        x0, y0 = (int(max(0, v)) for v in np.floor(lo - pad))
        x1, y1 = int(min(w, np.ceil(hi[0] + pad))), int(min(h, np.ceil(hi[1] + pad)))
        second = cv2.resize(
            second[y0:y1, x0:x1], None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA
        )
        sy, sx = second.shape[0] / (y1 - y0), second.shape[1] / (x1 - x0)
        points = (second_points - (x0 - 0.5, y0 - 0.5)) * (sx, sy) - 0.5
        matrix = _affine_fit(points[idx], new_points[idx])
    canvas = cv2.warpAffine(
        second, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
    )
    placed = apply_affine(points, matrix)
    # The affine leaves the donor's own shape (another person's lips, a lopsided grin):
    # a smooth warp then lays each of its feature points exactly on the new ones, so the
    # teeth fill the new opening and no strip of the donor's lips shows inside it.
    w, h = size
    corners = np.array([[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1]], np.float64)
    map_x, map_y = tps_maps(np.concatenate([placed[idx], corners]),
                            np.concatenate([new_points[idx], corners]), w, h, step=2)
    canvas = remap(canvas, map_x, map_y)
    placed = placed.copy()
    placed[idx] = new_points[idx]
    return canvas, placed


def _gain(target: np.ndarray, source: np.ndarray, limit: float) -> np.ndarray:
    """Per-channel factor taking ``source`` pixels' median colour to ``target``'s."""
    if len(target) == 0 or len(source) == 0:
        return np.ones(3, np.float32)
    ratio = np.median(target, axis=0) / np.maximum(np.median(source, axis=0), 1e-3)
    return np.clip(ratio, 1 / limit, limit).astype(np.float32)


def redraw_mouth(
    warped: np.ndarray,
    original: np.ndarray,
    first_points: np.ndarray,
    new_points: np.ndarray,
    second: np.ndarray,
    second_points: np.ndarray,
    change: Change,
) -> np.ndarray:
    """``warped`` (the first face's crop after the mesh warp) with its mouth redrawn.

    ``original`` is the same crop before the warp and ``first_points`` its landmarks;
    ``new_points`` are the moved landmarks (both in crop pixels); ``second_points`` the
    second face's landmarks in its own photo.
    """
    eye_distance = float(np.linalg.norm(first_points[42:48].mean(0) - first_points[36:42].mean(0)))
    # Work on the mouth's surroundings only: the masks' dilations dominate the cost.
    idx = list(MOUTH)
    around = np.concatenate([first_points[idx], new_points[idx]])
    margin = (SKIN_BAND + CLOSE_MARGIN) * eye_distance + 4
    h, w = warped.shape[:2]
    x0, y0 = (int(max(0, v)) for v in np.floor(around.min(0) - margin))
    x1, y1 = int(min(w, np.ceil(around[:, 0].max() + margin))), int(
        min(h, np.ceil(around[:, 1].max() + margin)))
    offset = np.array([x0, y0], dtype=np.float64)
    out = warped.copy()
    out[y0:y1, x0:x1] = _redraw(
        warped[y0:y1, x0:x1], original[y0:y1, x0:x1], first_points - offset,
        new_points - offset, second, second_points, change, eye_distance,
    )
    return out


def _redraw(
    warped: np.ndarray,
    original: np.ndarray,
    first_points: np.ndarray,
    new_points: np.ndarray,
    second: np.ndarray,
    second_points: np.ndarray,
    change: Change,
    eye_distance: float,
) -> np.ndarray:
    """``redraw_mouth`` on a crop around the mouth."""
    h, w = warped.shape[:2]
    shape = (h, w)
    donor, donor_points = donor_mouth(second, second_points, new_points, (w, h))
    own = _MouthRegions(first_points, shape, eye_distance)
    theirs = _MouthRegions(donor_points, shape, eye_distance)
    lip_gain = _gain(original[own.lip_sample], donor[theirs.lip_sample], MAX_LIP_GAIN)
    skin_gain = _gain(original[own.skin], donor[theirs.skin], MAX_SKIN_GAIN)
    # Skin differs in tan and make-up as well as light, and between two people mostly in
    # tone: the ratio's tint turned borrowed teeth green on an olive face (seen on the
    # benchmark's sheets). Teeth and tongue take only its brightness.
    skin_gain = np.full(3, float(skin_gain.mean()), np.float32)
    # The lip colour applies to the donor's lips but not near their inner edge, which in a
    # smile is often teeth: there, as inside, the skin's light applies.
    lip_weight = cv2.GaussianBlur(
        theirs.lip_sample.astype(np.float32), (0, 0), max(0.5, LIP_EDGE * eye_distance / 2)
    )[..., None]
    donor = np.clip(donor * (lip_weight * lip_gain + (1 - lip_weight) * skin_gain), 0.0, 1.0)
    donor = _saturation_matched(donor, original[own.skin], donor[theirs.skin], lip_weight)

    new = _MouthRegions(new_points, shape, eye_distance)
    if change == "open":
        cloned = _grow(new.inside, OPEN_MARGIN * eye_distance) & ~_grow(~new.outline, 1)
    else:
        cloned = _grow(new.outline, CLOSE_MARGIN * eye_distance)
    # seamlessClone needs a margin; its centre argument puts the mask's bounding box back
    # where it is, so donor and crop stay registered.
    cloned[[0, -1], :] = False
    cloned[:, [0, -1]] = False
    if change == "open":
        # The inside is laid in with a feathered edge within the lips. Poisson cloning
        # (as for a closing mouth) spread the lips' colour difference over the teeth:
        # pink, purple or green teeth on the benchmark's two-person sheets.
        alpha = feather_inside(cloned, OPEN_MARGIN * eye_distance)[..., None]
        return (warped + alpha * (donor - warped)).astype(np.float32)
    x, y, bw, bh = cv2.boundingRect(cloned.astype(np.uint8))
    if bw < 3 or bh < 3:
        return warped
    centre = (x + bw // 2, y + bh // 2)
    blended = cv2.seamlessClone(
        to_uint8(donor), to_uint8(warped), cloned.astype(np.uint8) * 255, centre,
        cv2.NORMAL_CLONE,
    )
    out = warped.copy()
    out[cloned] = blended[cloned].astype(np.float32) / 255.0
    return out


def _saturation_matched(donor: np.ndarray, own_skin: np.ndarray, their_skin: np.ndarray,
                        lip_weight: np.ndarray) -> np.ndarray:
    """The donor's inside with its colourfulness scaled to the first photo's.

    A colourful photo's red tongue laid into a cold, nearly grey one looked like blood:
    brightness alone does not carry the difference. The ratio of the two skins' chroma
    (Lab a*, b* around the mouth) scales the inside's chroma; the lips, recoloured
    already, are left as they are.
    """
    if len(own_skin) == 0 or len(their_skin) == 0:
        return donor
    own = cv2.cvtColor(np.ascontiguousarray(own_skin[None], np.float32), cv2.COLOR_RGB2Lab)[0]
    theirs = cv2.cvtColor(np.ascontiguousarray(their_skin[None], np.float32),
                          cv2.COLOR_RGB2Lab)[0]
    ratio = (np.hypot(*np.median(own[:, 1:], 0)) + CHROMA_FLOOR) / (
        np.hypot(*np.median(theirs[:, 1:], 0)) + CHROMA_FLOOR)
    ratio = float(np.clip(ratio, MIN_CHROMA, 1.0))
    if ratio >= 0.98:
        return donor
    lab = cv2.cvtColor(np.ascontiguousarray(donor, np.float32), cv2.COLOR_RGB2Lab)
    scaled = lab.copy()
    scaled[..., 1:] *= ratio
    lab = lab + (1 - lip_weight) * (scaled - lab)
    return np.clip(cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_Lab2RGB), 0.0, 1.0)
