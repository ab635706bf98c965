"""Carry a pasted object from the guide photo's light into the photo's light.

Why: harmonizing a paste against its new surroundings has to guess whether the object
differs from them because of the light or because of what it is made of, so it is held
back (``harmonize.py``) and barely moves a daylight kangaroo pasted into a dusk field.
The Composite operation knows more than a harmonizer: the photo the object came from.
Pixel values are reflectance times light times exposure, so an object keeps its own
colours in its new home when it is multiplied, in linear light, by the ratio of the two
photos' light (von Kries): what a photographer does by matching exposure and white
balance between two shots.

Each photo's light (exposure and colour together) is the geometric mean of two
classic estimates over the photo without the object: grey-world (the mean linear
colour) and grey-edge (the mean gradient per channel, van de Weijer et al. 2007).
Both are fooled by what a photo shows (a red desert looks like red light, a wooden
desk like a warm lamp), so the difference between the two photos is shrunk
(positive-part James–Stein, as in ``harmonize.py``), separately for brightness and for
colour, by how much the estimates of two *different* photos differ: ``NATURAL_*``
below, the rms over random pairs of photos. Cameras set exposure and white balance for
every shot, so photos as saved mostly differ in what they show, not in their light;
only a difference well beyond that (a daylight object pasted into a sunset) is light.

The first calibration took two halves of one photo instead (0.280, 0.139): halves
share their content as well as their light, so it believed content differences. A
white mouse cut from a photo of an orange desk and pasted onto a wooden shelf was
turned lavender (the guide's "light" looked far more orange); with pairs of photos
it keeps its white. The constants come from 388 photos of the Remove training set's
validation split (``tools/inpaint_training_set.py``: scene, street and city photos
that share no file with ``../shared/data``), via ``tests/benchmarks/composite.py``
section "light-calibration" with ``--light-photos``.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from engines.composite.harmonize import (
    CHROMA_AXES,
    LUMA,
    chromaticity,
    linear_light,
    shrink,
    srgb_from_linear,
)

NATURAL_LOG_LIGHT = 0.517  # rms log-brightness difference of two different photos
NATURAL_CHROMA = 0.507  # rms length of their log-chromaticity difference
MEASURE_PIXELS = 256 * 256  # the estimates need no more than this
CLIPPED_LINEAR = 0.98  # a channel this bright has stopped recording the light
DARK_LINEAR = 0.002  # and a pixel this dark has too little of it to measure
FLAT = 1e-4  # mean linear gradient below which a photo has no edges to estimate light from


def light(image: np.ndarray, exclude: np.ndarray | None = None) -> np.ndarray | None:
    """The photo's light as linear RGB (exposure × illuminant), or None if unmeasurable.

    ``exclude`` (bool, the photo's size) marks pixels that are not the scene: the
    object being moved.
    """
    h, w = image.shape[:2]
    scale = min(1.0, math.sqrt(MEASURE_PIXELS / (h * w)))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = cv2.resize(np.ascontiguousarray(image, np.float32), size,
                       interpolation=cv2.INTER_AREA)
    linear = linear_light(small)
    keep = (linear.max(axis=2) < CLIPPED_LINEAR) & (linear @ LUMA > DARK_LINEAR)
    if exclude is not None:
        hidden = cv2.resize(exclude.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
        keep &= hidden == 0
    # Gradients within 4 px of an excluded or clipped pixel measure that pixel too.
    inner = cv2.erode(keep.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    if inner.sum() < 64:
        return None
    blurred = cv2.GaussianBlur(linear, (0, 0), 1.0)
    gradient = np.sqrt(np.square(cv2.Sobel(blurred, cv2.CV_32F, 1, 0))
                       + np.square(cv2.Sobel(blurred, cv2.CV_32F, 0, 1)))
    world = linear[keep].mean(axis=0).astype(np.float64)
    edge = gradient[inner].mean(axis=0).astype(np.float64)
    if world.min() <= 0 or edge @ LUMA < FLAT:  # no light, or nothing but flat colour
        return None
    return np.sqrt(world * edge)


def light_gains(source: np.ndarray | None, destination: np.ndarray | None) -> np.ndarray:
    """Per-channel linear gains taking ``source`` light to ``destination`` light, shrunk."""
    if source is None or destination is None:
        return np.ones(3)
    brightness = math.log(float(destination @ LUMA)) - math.log(float(source @ LUMA))
    colour = chromaticity(destination) - chromaticity(source)
    brightness *= shrink(brightness**2, NATURAL_LOG_LIGHT**2)
    colour = colour * shrink(float(colour @ colour), NATURAL_CHROMA**2)
    return np.exp(brightness + CHROMA_AXES.T @ colour)


def guide_to_photo_gains(guide: np.ndarray, object_mask: np.ndarray, photo: np.ndarray,
                         covered: np.ndarray | None = None) -> np.ndarray:
    """The gains for an object cut from ``guide`` (``object_mask`` > 0.5) into ``photo``;
    ``covered`` marks the part of the photo the paste hides (not its scene any more)."""
    return light_gains(light(guide, np.asarray(object_mask) >= 0.5), light(photo, covered))


def relight(pixels: np.ndarray, gains: np.ndarray, strength: float = 1.0) -> np.ndarray:
    """``pixels`` (sRGB) with their linear light multiplied by ``gains``**strength."""
    if np.allclose(gains, 1.0) or strength == 0:
        return pixels
    factor = np.power(gains, strength).astype(np.float32)
    return np.clip(srgb_from_linear(linear_light(pixels) * factor), 0.0, 1.0)
