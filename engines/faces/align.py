"""FFHQ-style face alignment: the crop StyleGAN's face models were trained on.

The recipe (Karras et al., FFHQ): from the eye centres and mouth corners, an
"eye-to-eye" and an "eye-to-mouth" vector give the face's horizontal axis (their
combination, so a tilted or slightly turned head is still levelled) and its size (the
larger of twice the eye distance and 1.8 times the eye-to-mouth distance); the crop is the
square on that axis centred a little below the eyes. Here the square is expressed as one
affine (photo → aligned) with its exact inverse, so points and pixels can travel both
ways without drifting.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from engines.faces.geometry import apply_affine, invert_affine
from engines.faces.shape import MOUTH_CORNERS, eye_centres

FFHQ_SIZE = 1024


@dataclass(frozen=True, eq=False)
class AlignedFace:
    """An aligned face crop and the affines between it and the photo.

    ``matrix`` maps photo pixels to aligned pixels, ``inverse`` maps back; both are
    float64 2×3 and pixel centres are at integer coordinates on both sides.
    """

    image: np.ndarray
    matrix: np.ndarray
    inverse: np.ndarray

    @property
    def size(self) -> int:
        return self.image.shape[0]

    def to_aligned(self, points: np.ndarray) -> np.ndarray:
        return apply_affine(points, self.matrix)

    def to_photo(self, points: np.ndarray) -> np.ndarray:
        return apply_affine(points, self.inverse)


def ffhq_quad(landmarks: np.ndarray) -> np.ndarray:
    """The oriented crop square as four corners: top-left, bottom-left, bottom-right, top-right."""
    pts = np.asarray(landmarks, dtype=np.float64)
    eye_left, eye_right = eye_centres(pts)
    eye_avg = (eye_left + eye_right) / 2
    eye_to_eye = eye_right - eye_left
    mouth_avg = pts[list(MOUTH_CORNERS)].mean(0)
    eye_to_mouth = mouth_avg - eye_avg
    # Horizontal axis: eye-to-eye, corrected by the eye-to-mouth vector turned a quarter.
    x = eye_to_eye - np.array([-eye_to_mouth[1], eye_to_mouth[0]])
    x /= np.hypot(*x)
    x *= max(np.hypot(*eye_to_eye) * 2.0, np.hypot(*eye_to_mouth) * 1.8)
    y = np.array([-x[1], x[0]])  # x turned a quarter clockwise on screen: pointing down
    centre = eye_avg + eye_to_mouth * 0.1
    return np.stack([centre - x - y, centre - x + y, centre + x + y, centre + x - y])


def alignment_matrix(landmarks: np.ndarray, size: int = FFHQ_SIZE) -> np.ndarray:
    """The 2×3 affine taking the FFHQ square of a face onto a ``size``×``size`` image."""
    quad = ffhq_quad(landmarks)
    # The square's corners land on the outer edges of the corner pixels.
    lo, hi = -0.5, size - 0.5
    src = np.hstack([quad[[0, 1, 3]], np.ones((3, 1))])
    dst = np.array([[lo, lo], [lo, hi], [hi, lo]])
    return np.linalg.solve(src, dst).T


def align_face(image: np.ndarray, landmarks: np.ndarray, size: int = FFHQ_SIZE) -> AlignedFace:
    """The face as an FFHQ-aligned ``size``×``size`` image (edges beyond the photo mirrored).

    A large face shrunk to a small size is first area-averaged to about twice the
    output's resolution, so the crop is not aliased.
    """
    matrix = alignment_matrix(landmarks, size)
    inverse = invert_affine(matrix)
    source, to_source = _prefiltered(image, matrix, size)
    # cv2 wants the map from the image it samples to the output.
    sample_to_out = matrix @ np.vstack([invert_affine(to_source), [0.0, 0.0, 1.0]])
    aligned = cv2.warpAffine(
        source, sample_to_out, (size, size), flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REFLECT_101,
    )
    return AlignedFace(aligned, matrix, inverse)


def _prefiltered(
    image: np.ndarray, matrix: np.ndarray, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """The part of ``image`` the crop needs, shrunk when the crop would alias.

    Returns it with the affine from photo pixels to its own pixels.
    """
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))  # aligned px per photo px
    if scale >= 0.5:
        return image, np.array([[1.0, 0, 0], [0, 1.0, 0]])
    h, w = image.shape[:2]
    corners = apply_affine(
        np.array([[-0.5, -0.5], [-0.5, size - 0.5], [size - 0.5, size - 0.5], [size - 0.5, -0.5]]),
        invert_affine(matrix),
    )
    pad = 2.0 / scale
    x0 = int(np.clip(np.floor(corners[:, 0].min() - pad), 0, w - 1))
    y0 = int(np.clip(np.floor(corners[:, 1].min() - pad), 0, h - 1))
    x1 = int(np.clip(np.ceil(corners[:, 0].max() + pad), x0 + 1, w))
    y1 = int(np.clip(np.ceil(corners[:, 1].max() + pad), y0 + 1, h))
    shrink = 2.0 * scale
    crop = image[y0:y1, x0:x1]
    cw, ch = max(1, round((x1 - x0) * shrink)), max(1, round((y1 - y0) * shrink))
    small = cv2.resize(crop, (cw, ch), interpolation=cv2.INTER_AREA)
    sx, sy = cw / (x1 - x0), ch / (y1 - y0)
    # Pixel centres: photo x -> (x - x0 + 0.5) * sx - 0.5 in the shrunk crop.
    to_small = np.array([
        [sx, 0.0, (0.5 - x0) * sx - 0.5],
        [0.0, sy, (0.5 - y0) * sy - 0.5],
    ])
    return small, to_small
