"""Putting the regenerated face back (ch. 6.3.1 step 4): warp by the alignment, blend softly.

The generated face lives in the aligned frame; the inverse of the alignment's affine map
takes it back onto the first photo. It is blended through the convex hull of the first
face's 68 landmarks, shrunk a little and blurred, so the new expression fades into the
original skin instead of ending in a seam. Only a box around the face is ever touched
(a 12-megapixel photo is not warped whole), and every pixel whose alpha is 0 is copied,
so it stays bit-exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from engines.blend import blend_by_alpha

ALPHA_FLOOR = 1.0 / 512.0  # below half an 8-bit step a blend cannot show: treat as untouched


@dataclass(frozen=True)
class Blended:
    image: np.ndarray
    region: tuple[int, int, int, int]  # x, y, width, height
    alpha: np.ndarray  # photo-sized float32


def face_scale(landmarks: np.ndarray) -> float:
    """A face size in pixels: the square root of the landmark hull's area."""
    hull = cv2.convexHull(np.asarray(landmarks, np.float32))
    return float(np.sqrt(max(cv2.contourArea(hull), 1.0)))


def hull_alpha(landmarks: np.ndarray, shape: tuple[int, int], feather: float | None = None,
               shrink: float | None = None) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The blurred convex-hull mask in a box around the face: (alpha crop, (x0, y0, x1, y1)).

    ``feather`` is the Gaussian sigma (default 5 % of the face size) and ``shrink`` how far
    the hull is eroded first (default half the feather), so that the fade happens mostly
    inside the hull where the generated face is reliable.
    """
    h, w = shape
    points = np.asarray(landmarks, np.float64)
    scale = face_scale(points)
    sigma = max(1.0, 0.05 * scale if feather is None else feather)
    erode = 0.5 * sigma if shrink is None else shrink
    reach = int(np.ceil(3 * sigma)) + 2
    x0 = max(0, int(np.floor(points[:, 0].min())) - reach)
    y0 = max(0, int(np.floor(points[:, 1].min())) - reach)
    x1 = min(w, int(np.ceil(points[:, 0].max())) + reach + 1)
    y1 = min(h, int(np.ceil(points[:, 1].max())) + reach + 1)
    if x1 <= x0 or y1 <= y0:
        return np.zeros((0, 0), np.float32), (0, 0, 0, 0)
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    shift = 4  # sub-pixel vertices
    hull = cv2.convexHull(np.round((points - (x0, y0)) * (1 << shift)).astype(np.int32))
    cv2.fillConvexPoly(mask, hull, 255, lineType=cv2.LINE_AA, shift=shift)
    alpha = mask.astype(np.float32) / 255.0
    if erode >= 1.0:
        k = int(round(2 * erode)) | 1
        alpha = cv2.erode(alpha, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    alpha = cv2.GaussianBlur(alpha, (0, 0), sigmaX=sigma, sigmaY=sigma,
                             borderType=cv2.BORDER_CONSTANT)
    alpha[alpha < ALPHA_FLOOR] = 0.0
    alpha[alpha > 1.0 - ALPHA_FLOOR] = 1.0
    return alpha, (x0, y0, x1, y1)


def warp_into_box(face: np.ndarray, to_photo: np.ndarray,
                  box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The aligned ``face`` mapped by ``to_photo`` (2×3) into the photo box, and its coverage."""
    x0, y0, x1, y1 = box
    matrix = np.asarray(to_photo, np.float64).copy()
    matrix[:, 2] -= (x0, y0)
    size = (x1 - x0, y1 - y0)
    warped = cv2.warpAffine(np.ascontiguousarray(face, np.float32), matrix, size,
                            flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    ones = np.ones(face.shape[:2], np.float32)
    coverage = cv2.warpAffine(ones, matrix, size, flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    return np.clip(warped, 0.0, 1.0), coverage


def blend_face(photo: np.ndarray, face: np.ndarray, to_photo: np.ndarray,
               landmarks: np.ndarray, feather: float | None = None) -> Blended:
    """``photo`` with the aligned ``face`` warped back and blended inside the landmark hull."""
    h, w = photo.shape[:2]
    alpha_box, box = hull_alpha(landmarks, (h, w), feather)
    full = np.zeros((h, w), np.float32)
    if alpha_box.size == 0:
        return Blended(photo.copy(), (0, 0, 0, 0), full)
    warped, coverage = warp_into_box(face, to_photo, box)
    alpha_box = alpha_box * np.clip(coverage, 0.0, 1.0)
    alpha_box[alpha_box < ALPHA_FLOOR] = 0.0
    x0, y0, x1, y1 = box
    out = photo.copy()
    base = photo[y0:y1, x0:x1]
    out[y0:y1, x0:x1] = blend_by_alpha(base, warped.astype(base.dtype), alpha_box)
    full[y0:y1, x0:x1] = alpha_box
    ys, xs = np.nonzero(alpha_box)
    if len(xs) == 0:
        return Blended(out, (0, 0, 0, 0), full)
    region = (x0 + int(xs.min()), y0 + int(ys.min()),
              int(xs.max() - xs.min()) + 1, int(ys.max() - ys.min()) + 1)
    return Blended(out, region, full)
