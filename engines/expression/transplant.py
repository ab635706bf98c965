"""The second photo's eyes and mouth, laid into the warped first face (same person only).

A warp moves the first face's features but keeps their look: a smile's teeth, creases and
lifted lips stay a smile's, only bent; a closed eye opened by a warp is a stretched lid,
never an iris (so a blink cannot be fixed); a wider mouth squeezes or stretches the
teeth. When both photos show the same person, the second photo holds exactly what is
missing: the same mouth and eyes with the wanted expression. Each feature of the second
face is therefore mapped onto the moved landmarks (an affine fitted on the feature's own
points, so it lands where the warp put the first face's) and blended in the gradient
domain: the donor brings its shapes and shading, a smooth colour offset measured on the
region's edge (the first photo minus the donor) sets the light, so two photos taken under
different light still meet without a seam, and the donor fades in over a feathered edge.

The lips are recoloured to the first face's lips before the blend (the second photo's
lipstick would otherwise come along, as a red line or whole red lips); the region then
ends in the skin around the feature, where both photos are skin.

Two different people are not mixed this way: their mouths and eyes would carry identity
(``warp`` then keeps the first face's look and only redraws a mouth that opens or closes).
"""

from __future__ import annotations

import cv2
import numpy as np

from engines.expression.mouth import _grow, _MouthRegions, _polygon_mask, donor_mouth
from engines.faces.shape import FIRST_EYE, MOUTH, OUTER_LIPS, SECOND_EYE

# Region taken around each feature, in eye distances beyond its outline.
MOUTH_MARGIN = 0.14
EYE_MARGIN = 0.09
BAND = 0.04  # eye distances: the region's edge, where the light is measured
BAND_BLUR = 0.12  # eye distances: how smooth the light correction is
FEATHER = 0.06  # eye distances: the donor fades in over this much inside the edge
FEATURES = (
    # (points the donor is fitted on, outline of the region, margin)
    (MOUTH, OUTER_LIPS, MOUTH_MARGIN),
    (FIRST_EYE, FIRST_EYE, EYE_MARGIN),
    (SECOND_EYE, SECOND_EYE, EYE_MARGIN),
)


def transplant_features(
    warped: np.ndarray,
    original: np.ndarray,
    first_points: np.ndarray,
    new_points: np.ndarray,
    second: np.ndarray,
    second_points: np.ndarray,
    eye_distance: float,
) -> tuple[np.ndarray, np.ndarray]:
    """``warped`` (a crop) with the second face's mouth and eyes blended in at ``new_points``.

    ``original`` is the crop before the warp and ``first_points`` its landmarks (crop
    pixels), used to measure the first face's lip colour; ``second_points`` are in the
    second photo's pixels. Returns the crop and the mask (bool) of what was replaced.
    """
    out = warped.copy()
    replaced = np.zeros(warped.shape[:2], bool)
    for fit_on, outline, margin in FEATURES:
        region = _feature_box(new_points[list(fit_on)], margin * eye_distance + 6,
                              warped.shape[:2])
        if region is None:
            continue
        x0, y0, x1, y1 = region
        offset = np.array([x0, y0], np.float64)
        crop_new = new_points - offset
        donor, donor_points = donor_mouth(second, second_points, crop_new, (x1 - x0, y1 - y0),
                                          fit_on)
        if fit_on == MOUTH:
            donor = _lips_recoloured(donor, donor_points, original[y0:y1, x0:x1],
                                     first_points - offset, eye_distance)
        shape = (y1 - y0, x1 - x0)
        mask = _grow(_polygon_mask(crop_new[list(outline)], shape), margin * eye_distance)
        if mask.sum() < 9:
            continue
        target = out[y0:y1, x0:x1]
        band = mask & _grow(~mask, BAND * eye_distance)  # the region's own edge
        offset_field = _membrane(target - donor, band, mask, BAND_BLUR * eye_distance)
        alpha = _feather(mask, FEATHER * eye_distance)[..., None]
        out[y0:y1, x0:x1] = target + alpha * (np.clip(donor + offset_field, 0, 1) - target)
        replaced[y0:y1, x0:x1] |= mask
    return out, replaced


def _membrane(
    difference: np.ndarray, band: np.ndarray, region: np.ndarray, blur: float
) -> np.ndarray:
    """A smooth colour offset: ``difference`` measured on ``band``, spread over ``region``.

    Normalised convolution (blur of the masked difference over the blur of the mask): a
    low-pass stand-in for the Poisson membrane. Poisson interpolates the edge difference
    exactly, and where hair, beard or a slightly misregistered edge make that difference
    noisy it paints the noise inwards as glowing blotches; the blur keeps only the light.
    """
    weight = band.astype(np.float32)
    sigma = max(1.0, blur)
    num = cv2.GaussianBlur(difference * weight[..., None], (0, 0), sigma)
    den = cv2.GaussianBlur(weight, (0, 0), sigma)[..., None]
    field = num / np.maximum(den, 1e-6)
    # Far from the band (a wide open mouth) the weights fade: fall back to the band's mean.
    mean = difference[band].mean(0) if band.any() else np.zeros(3, np.float32)
    trust = np.clip(den / max(float(den[region].max()) if region.any() else 1.0, 1e-6) * 4,
                    0, 1)
    return (trust * field + (1 - trust) * mean).astype(np.float32)


def _feather(mask: np.ndarray, width: float) -> np.ndarray:
    """Alpha rising from 0 at the mask's edge to 1 ``width`` pixels inside (smoothstep)."""
    distance = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5)
    t = np.clip(distance / max(width, 1.0), 0.0, 1.0)
    return (t * t * (3 - 2 * t)).astype(np.float32)


def _feature_box(
    points: np.ndarray, pad: float, shape: tuple[int, int]
) -> tuple[int, int, int, int] | None:
    """The box (x0, y0, x1, y1) around ``points`` grown by ``pad``, inside ``shape``."""
    h, w = shape
    x0, y0 = (int(max(0, v)) for v in np.floor(points.min(0) - pad))
    x1 = int(min(w, np.ceil(points[:, 0].max() + pad)))
    y1 = int(min(h, np.ceil(points[:, 1].max() + pad)))
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    return x0, y0, x1, y1


def _lips_recoloured(
    donor: np.ndarray, donor_points: np.ndarray, original: np.ndarray,
    first_points: np.ndarray, eye_distance: float,
) -> np.ndarray:
    """The donor's lips in the first face's lip colour.

    In Lab: the donor's lips are shifted so their median lightness and colour are the
    first face's, keeping their own shading and texture (a per-channel RGB gain would turn
    red lipstick purple on pale lips). Applied with a soft edge over the donor's whole
    lips, inner edge included: that is where a thin line of the second photo's lipstick
    would otherwise stay.
    """
    own = _MouthRegions(first_points, original.shape[:2], eye_distance)
    theirs = _MouthRegions(donor_points, donor.shape[:2], eye_distance)
    if not own.lip_sample.any() or not theirs.lip_sample.any():
        return donor
    lab = cv2.cvtColor(np.ascontiguousarray(donor, np.float32), cv2.COLOR_RGB2Lab)
    first_lab = cv2.cvtColor(np.ascontiguousarray(original, np.float32), cv2.COLOR_RGB2Lab)
    shift = np.median(first_lab[own.lip_sample], 0) - np.median(lab[theirs.lip_sample], 0)
    weight = cv2.GaussianBlur(theirs.lips.astype(np.float32), (0, 0),
                              max(0.5, 0.015 * eye_distance))[..., None]
    recoloured = cv2.cvtColor((lab + weight * shift).astype(np.float32), cv2.COLOR_Lab2RGB)
    return np.clip(recoloured, 0.0, 1.0)
