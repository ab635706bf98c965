"""Who a face is, as dlib's 128-d descriptor, and how far apart two faces are.

dlib's ResNet maps a face to a point where photos of one person lie within 0.6 of each
other (99.38 % on LFW at that threshold). The Expression engines use it to check that
a changed face still looks like its owner, and to warn when the two photos seem to show
two different people.
"""

from __future__ import annotations

import numpy as np

from engines.faces import models
from engines.faces.detect import to_uint8

SAME_PERSON_THRESHOLD = 0.6  # dlib's own: closer than this is the same person
CHIP_SIZE = 150  # the network's input size, with dlib's default padding
CHIP_PADDING = 0.25
CROP_MARGIN = 0.6  # of the landmarks' extent: context kept for the chip's padding


def face_descriptor(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The 128-d descriptor (float64) of the face with these 68 landmarks.

    Only a crop around the face is converted for dlib; dlib then levels and scales it
    to its 150 px chip with the landmarks, as the network was trained.
    """
    dlib = models.import_dlib()
    pts = np.asarray(landmarks, dtype=np.float64)
    h, w = image.shape[:2]
    lo, hi = pts.min(0), pts.max(0)
    margin = CROP_MARGIN * float((hi - lo).max())
    x0, y0 = (max(0, int(v)) for v in np.floor(lo - margin))
    x1, y1 = int(min(w, np.ceil(hi[0] + margin))), int(min(h, np.ceil(hi[1] + margin)))
    crop = to_uint8(image[y0:y1, x0:x1])
    local = pts - (x0, y0)
    lx0, ly0 = np.floor(local.min(0)).astype(int)
    lx1, ly1 = np.ceil(local.max(0)).astype(int)
    shape = dlib.full_object_detection(
        dlib.rectangle(int(lx0), int(ly0), int(lx1), int(ly1)),
        [dlib.point(int(round(x)), int(round(y))) for x, y in local],
    )
    chip = dlib.get_face_chip(crop, shape, size=CHIP_SIZE, padding=CHIP_PADDING)
    with models.exclusive("recognition") as model:
        return np.asarray(model.compute_face_descriptor(chip), np.float64)


def identity_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance between two descriptors: below 0.6, the same person."""
    return float(np.linalg.norm(np.asarray(a, np.float64) - np.asarray(b, np.float64)))
