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

from engines.blend import feather_inside
from engines.expression.mouth import _grow, _MouthRegions, _polygon_mask, donor_mouth
from engines.expression.retarget import mouth_change
from engines.faces.descriptors import eye_aspect
from engines.faces.shape import (
    FIRST_EYE,
    INNER_LIPS,
    MOUTH,
    OUTER_LIPS,
    SECOND_EYE,
)

# Region taken around each feature, in eye distances beyond its outline.
MOUTH_MARGIN = 0.14
EYE_MARGIN = 0.09
BAND = 0.04  # eye distances: the region's edge, where the light is measured
BAND_BLUR = 0.06  # eye distances: how smooth the light correction is
FEATHER = 0.06  # eye distances: the donor fades in over this much inside the edge
LIP_EDGE = 0.03  # eye distances of the inside of the mouth next to the lips
MIN_REDNESS = 3.0  # Lab a* above the skin's for a pixel to count as lip
MIN_LIP_PIXELS = 30
MIN_CHROMA_SCALE = 0.4  # lipstick onto pale lips: its colour variation is scaled down to this
LOG_EPS = 0.02  # keeps the log of black finite (and its noise small)
LIGHT_BLUR = 0.08  # eye distances: the scale at which light (not shape) is compared
MAX_LIGHT_MISMATCH = float(np.log(1.4))  # broad light may differ this much inside
EDGE_SPREAD = float(np.log(1.3))  # an edge pixel's say around the edge's median ratio
MAX_LIGHT = 3.0  # the two photos' light differs at most threefold either way
# Skin that shows the face's light: each cheek, from the jaw's side to the nose's wing
# under the eye (the eye itself is cut out), and the nose.
CHEEKS = ((1, 2, 3, 31, 39, 40, 41, 36), (15, 14, 13, 35, 42, 47, 46, 45))
NOSE_SKIN = (27, 31, 32, 33, 34, 35)
FEATURES = {
    # name: (points the donor is fitted on, outline of the region, margin)
    "mouth": (MOUTH, OUTER_LIPS, MOUTH_MARGIN),
    "first eye": (FIRST_EYE, FIRST_EYE, EYE_MARGIN),
    "second eye": (SECOND_EYE, SECOND_EYE, EYE_MARGIN),
}
BLOWN = 0.93  # all channels this bright: clipped to white, no gain brings it back
MAX_BLOWN_SHARE = 0.03  # of a region's pixels; more, and the feature is not taken
OPENING_EYE = 0.6  # an eye opening to more than 1/this of its height (a blink undone)


def features_to_take(first: np.ndarray, moved: np.ndarray) -> tuple[str, ...]:
    """Which of the second face's features to lay in: only those a warp cannot make.

    The mouth when it opens or closes, or when an open mouth opens much wider or
    narrower (the warp would stretch or squeeze the teeth); an eye when it opens from
    (nearly) closed (the warp would stretch the lid). Otherwise the first face keeps its
    own look, just moved: its lips, its irises, its make-up (a transplant would bring the
    second photo's, and its sharpness).
    """
    taken = []
    if mouth_change(first, moved) is not None:
        taken.append("mouth")
    for name, eye in (("first eye", FIRST_EYE), ("second eye", SECOND_EYE)):
        if eye_aspect(first, eye) < OPENING_EYE * eye_aspect(moved, eye):
            taken.append(name)
    return tuple(taken)


def transplant_features(
    warped: np.ndarray,
    original: np.ndarray,
    first_points: np.ndarray,
    new_points: np.ndarray,
    second: np.ndarray,
    second_points: np.ndarray,
    eye_distance: float,
    features: tuple[str, ...] = tuple(FEATURES),
) -> tuple[np.ndarray, tuple[str, ...]]:
    """``warped`` (a crop) with the second face's ``features`` blended in at ``new_points``.

    ``original`` is the crop before the warp and ``first_points`` its landmarks (crop
    pixels), used to measure the first face's lip colour; ``second_points`` are in the
    second photo's pixels. Returns the crop and the features actually laid in: one whose
    region is blown out in the second photo (flash on skin) is left to the warp.
    """
    out = warped.copy()
    done = []
    light = _light_ratio(original, first_points, second, second_points, eye_distance)
    for name in features:
        fit_on, outline, margin = FEATURES[name]
        region = _feature_box(new_points[list(fit_on)], margin * eye_distance + 6,
                              warped.shape[:2])
        if region is None:
            continue
        x0, y0, x1, y1 = region
        offset = np.array([x0, y0], np.float64)
        crop_new = new_points - offset
        donor, donor_points = donor_mouth(second, second_points, crop_new, (x1 - x0, y1 - y0),
                                          fit_on)
        # Skin the camera clipped to white (before any gain; teeth may well be white,
        # and a bright photo's skin often has only its red channel clipped).
        blown = (donor.min(-1) >= BLOWN) & ~_polygon_mask(donor_points[list(INNER_LIPS)],
                                                           donor.shape[:2])
        donor = np.clip(donor * light, 0.0, 1.0)
        if fit_on == MOUTH:
            donor = _lips_recoloured(donor, donor_points, original[y0:y1, x0:x1],
                                     first_points - offset, eye_distance)
        shape = (y1 - y0, x1 - x0)
        mask = _grow(_polygon_mask(crop_new[list(outline)], shape), margin * eye_distance)
        if mask.sum() < 9 or blown[mask].mean() > MAX_BLOWN_SHARE:
            continue
        target = out[y0:y1, x0:x1]
        band = mask & _grow(~mask, BAND * eye_distance)  # the region's own edge
        # What is left at the region's edge (the light across the face, a flash's hot
        # spot) is matched there, as a factor (in the log domain: an offset would black
        # out the irises). Each edge pixel's say is capped around the edge's median
        # before they are pooled: a lash line or a beard hair that falls on skin in the
        # other photo is a huge ratio, not light.
        edge_ratio = np.log(target + LOG_EPS) - np.log(donor + LOG_EPS)
        if band.any():
            middle = np.median(edge_ratio[band], axis=0)
            edge_ratio = np.clip(edge_ratio, middle - EDGE_SPREAD, middle + EDGE_SPREAD)
        log_gain = _membrane(edge_ratio, band, mask, BAND_BLUR * eye_distance)
        lit = np.clip(donor * np.exp(log_gain), 0, 1)
        if _light_mismatch(lit, target, mask, donor_points, crop_new, eye_distance):
            continue
        alpha = feather_inside(mask, FEATHER * eye_distance)[..., None]
        out[y0:y1, x0:x1] = target + alpha * (lit - target)
        done.append(name)
    return out, tuple(done)


def _light_ratio(
    original: np.ndarray, first_points: np.ndarray, second: np.ndarray,
    second_points: np.ndarray, eye_distance: float,
) -> np.ndarray:
    """Per-channel factor taking the second photo's face light to the first's.

    Measured as the ratio of median colours on cheeks and nose, skin both photos show
    whatever the expression, and away from beards, moustaches and lipstick, which make the
    skin right at a mouth's edge a poor measure of the light.
    """
    own = _skin_pixels(original, first_points, eye_distance)
    theirs = _skin_pixels(second, second_points, eye_distance)
    if own is None or theirs is None:
        return np.ones(3, np.float32)
    ratio = np.median(own, 0) / np.maximum(np.median(theirs, 0), 1e-3)
    return np.clip(ratio, 1 / MAX_LIGHT, MAX_LIGHT).astype(np.float32)


def _skin_pixels(image: np.ndarray, points: np.ndarray, eye_distance: float) -> np.ndarray | None:
    """The pixels of the cheeks and nose (N×3), measured on a crop around them."""
    idx = [i for group in CHEEKS for i in group] + list(NOSE_SKIN)
    box = _feature_box(points[idx], 2, image.shape[:2])
    if box is None:
        return None
    x0, y0, x1, y1 = box
    local = points - (x0, y0)
    shape = (y1 - y0, x1 - x0)
    skin = np.zeros(shape, bool)
    for polygon in (*CHEEKS, NOSE_SKIN):
        skin |= _polygon_mask(local[list(polygon)], shape)
    for eye in (FIRST_EYE, SECOND_EYE):
        skin &= ~_grow(_polygon_mask(local[list(eye)], shape), 0.1 * eye_distance)
    pixels = image[y0:y1, x0:x1][skin]
    return pixels if len(pixels) >= MIN_LIP_PIXELS else None


def _membrane(
    difference: np.ndarray, band: np.ndarray, region: np.ndarray, blur: float
) -> np.ndarray:
    """A smooth correction: ``difference`` measured on ``band``, spread over ``region``.

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


def _light_mismatch(
    lit: np.ndarray, target: np.ndarray, mask: np.ndarray, donor_points: np.ndarray,
    new_points: np.ndarray, eye_distance: float,
) -> bool:
    """Whether the corrected donor still differs from the warped face in its broad light.

    A shadow or a flash's hot spot inside the region (not at its edge) cannot be
    corrected from the edge; laid in, it would be a dark or bright patch on the chin or
    the cheek. Compared on blurred images (shapes and textures differ, the light should
    not), on the skin: away from either mouth's lips and inside.
    """
    sigma = max(1.0, LIGHT_BLUR * eye_distance)
    a = cv2.GaussianBlur(lit.mean(-1), (0, 0), sigma)
    b = cv2.GaussianBlur(target.mean(-1), (0, 0), sigma)
    shape = mask.shape
    outline = list(OUTER_LIPS)
    compare = mask & ~_grow(_polygon_mask(donor_points[outline], shape)
                            | _polygon_mask(new_points[outline], shape),
                            LIGHT_BLUR * eye_distance)
    if compare.sum() < 9:
        return False
    ratio = np.abs(np.log(a[compare] + LOG_EPS) - np.log(b[compare] + LOG_EPS))
    return float(np.percentile(ratio, 95)) > MAX_LIGHT_MISMATCH


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
    """The donor's lips in the first face's lip colour, teeth left alone.

    In Lab: the donor's lip pixels are shifted so their median lightness is the first
    face's lips', and their colour is moved to the first's with its spread scaled by the
    ratio of the two colours' strengths (a per-channel RGB gain turns red lipstick purple
    on pale lips, a plain shift leaves lipstick's darker folds blue). Which pixels are
    lips is judged by colour, not only by the landmarks: lips are redder than the skin
    around them, teeth are not, and dlib's inner-lip points often sit on the teeth. The
    inner edge of the lips is included, where a thin line of the second photo's lipstick
    would otherwise stay.
    """
    own = _MouthRegions(first_points, original.shape[:2], eye_distance)
    theirs = _MouthRegions(donor_points, donor.shape[:2], eye_distance)
    lab = cv2.cvtColor(np.ascontiguousarray(donor, np.float32), cv2.COLOR_RGB2Lab)
    first_lab = cv2.cvtColor(np.ascontiguousarray(original, np.float32), cv2.COLOR_RGB2Lab)
    own_lips = _lip_pixels(first_lab, own)
    their_lips = _lip_pixels(lab, theirs)
    if own_lips is None or their_lips is None:
        return donor
    own_median, their_median = np.median(own_lips, 0), np.median(their_lips, 0)
    their_skin_a = float(np.median(lab[theirs.skin][:, 1])) if theirs.skin.any() else 0.0
    # Lip-likeness of each donor pixel: 0 at the skin's redness (and below: teeth), 1 at
    # the lips' median redness; only on and just inside the lips.
    redness = np.clip((lab[..., 1] - their_skin_a) / max(their_median[1] - their_skin_a, 1.0),
                      0.0, 1.0)
    near_lips = theirs.outline & ~_shrink(theirs.inside, LIP_EDGE * eye_distance)
    weight = cv2.GaussianBlur(near_lips.astype(np.float32), (0, 0),
                              max(0.5, 0.01 * eye_distance)) * redness
    strength = np.hypot(*own_median[1:]) / max(np.hypot(*their_median[1:]), 1.0)
    recoloured = lab.copy()
    recoloured[..., 0] += own_median[0] - their_median[0]
    recoloured[..., 1:] = own_median[1:] + (lab[..., 1:] - their_median[1:]) * np.clip(
        strength, MIN_CHROMA_SCALE, 1.0)
    lab = lab + weight[..., None] * (recoloured - lab)
    return np.clip(cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_Lab2RGB), 0.0, 1.0)


def _shrink(mask: np.ndarray, radius: float) -> np.ndarray:
    return ~_grow(~mask, radius)


def _lip_pixels(lab: np.ndarray, regions: _MouthRegions) -> np.ndarray | None:
    """Lab values of the lip pixels that are redder than the skin around the mouth.

    A smiling mouth's thin lips hold teeth, beard and shadow among their landmark
    polygon; redness keeps the lips themselves. None when too few are left to measure.
    """
    if not regions.skin.any():
        return None
    skin_a = float(np.median(lab[regions.skin][:, 1]))
    lips = lab[regions.lips]
    lips = lips[lips[:, 1] > skin_a + MIN_REDNESS]
    return lips if len(lips) >= MIN_LIP_PIXELS else None
