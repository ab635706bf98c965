"""Finding faces in a photo: boxes from dlib's detectors, then 68 landmarks each.

Detection runs on a working copy about 1024 px on its long side: dlib's HOG detector
costs time in proportion to the pixels it scans and sees faces from about 80 px, so a
12 MP portrait is shrunk (its face stays far above that size) and a small photo is
enlarged (so a 40 px face can still be found). The landmarks, whose accuracy is what
the warp depends on, are then predicted at full resolution on a crop around each box.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from engines.base import InvalidInput
from engines.faces import models
from engines.faces.shape import eye_distance

DETECTORS = ("hog", "cnn")
# Long side of the working copy, and how much a small photo may be enlarged to reach it:
# the CNN costs ~30× more per pixel than HOG on a CPU (seconds at 640 px), so it is
# never enlarged (it finds faces from about 70 px).
WORK_SIDE = {"hog": 1024, "cnn": 640}
MAX_ENLARGE = {"hog": 2.0, "cnn": 1.0}
# HOG and MMOD scores are margins from 0. Real frontal faces score well above these, while
# HOG's false alarms on faces-like textures (badges, prints) stay below; a weaker
# detection still counts when it is the photo's only one (see ``_keep``).
MIN_SCORE = {"hog": 0.25, "cnn": 0.3}
LANDMARK_MARGIN = 0.5  # of the box size: context kept around a box for the predictor


@dataclass(frozen=True, eq=False)
class Face:
    """One face: its detector box (x, y, width, height), 68 landmarks and the score.

    Everything is in photo pixels; ``landmarks`` is float64 68×2 (x, y), dlib's
    iBUG 300-W order (see ``engines.faces.shape``).
    """

    box: tuple[int, int, int, int]
    landmarks: np.ndarray
    score: float

    @property
    def eye_distance(self) -> float:
        return eye_distance(self.landmarks)

    @property
    def area(self) -> int:
        return self.box[2] * self.box[3]


def to_uint8(image: np.ndarray) -> np.ndarray:
    """An 8-bit contiguous copy of a float [0, 1] image (dlib reads only 8-bit)."""
    if image.dtype == np.uint8:
        return np.ascontiguousarray(image)
    return np.ascontiguousarray(np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8))


def detect_faces(image: np.ndarray, detector: str = "hog") -> list[Face]:
    """All faces in ``image`` (float [0, 1] or uint8, H×W×3 or H×W), largest first."""
    if detector not in DETECTORS:
        raise ValueError(f"unknown face detector {detector!r}; use one of {DETECTORS}")
    boxes = find_boxes(image, detector)
    faces = [Face(box, predict_landmarks(image, box), score) for box, score in boxes]
    return sorted(faces, key=lambda f: f.area, reverse=True)


def find_boxes(image: np.ndarray, detector: str = "hog") -> list[tuple[tuple[int, ...], float]]:
    """Detector boxes (x, y, w, h) in photo pixels with their scores, unsorted."""
    h, w = image.shape[:2]
    scale = min(MAX_ENLARGE[detector], WORK_SIDE[detector] / max(h, w))
    if abs(scale - 1.0) < 0.05:
        scale = 1.0
    work = _working_copy(image, scale)
    with models.exclusive(detector) as model:
        if detector == "hog":
            rects, scores, _ = model.run(work, 0, 0.0)
            found = [(r, float(s)) for r, s in zip(rects, scores, strict=True)]
        else:
            found = [(d.rect, float(d.confidence)) for d in model(work, 0)]
    boxes = []
    for rect, score in _keep(found, MIN_SCORE[detector]):
        x0, y0 = rect.left() / scale, rect.top() / scale
        x1, y1 = (rect.right() + 1) / scale, (rect.bottom() + 1) / scale
        box = (round(x0), round(y0), max(1, round(x1 - x0)), max(1, round(y1 - y0)))
        boxes.append((box, score))
    return boxes


def _keep(found: list, min_score: float) -> list:
    """The confident detections, or the single best one when none is confident."""
    strong = [d for d in found if d[1] >= min_score]
    if strong or not found:
        return strong
    return [max(found, key=lambda d: d[1])]


def _working_copy(image: np.ndarray, scale: float) -> np.ndarray:
    """``image`` resized by ``scale``, as 8-bit (shrunk by area-averaging the floats)."""
    if scale == 1.0:
        return to_uint8(image)
    h, w = image.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if scale < 1.0:
        return to_uint8(cv2.resize(image, size, interpolation=cv2.INTER_AREA))
    return np.ascontiguousarray(cv2.resize(to_uint8(image), size, interpolation=cv2.INTER_LINEAR))


def predict_landmarks(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The 68 landmarks of the face in ``box``, predicted at the photo's full resolution.

    Only a crop around the box is converted for dlib, so a 12 MP photo costs no more
    than a small one.
    """
    dlib = models.import_dlib()
    h, w = image.shape[:2]
    x, y, bw, bh = box
    margin = round(LANDMARK_MARGIN * max(bw, bh))
    cx0, cy0 = max(0, x - margin), max(0, y - margin)
    cx1, cy1 = min(w, x + bw + margin), min(h, y + bh + margin)
    crop = to_uint8(image[cy0:cy1, cx0:cx1])
    rect = dlib.rectangle(x - cx0, y - cy0, x - cx0 + bw - 1, y - cy0 + bh - 1)
    with models.exclusive("landmarks") as predictor:
        shape = predictor(crop, rect)
    points = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
    return points + np.array([cx0, cy0], dtype=np.float64)


def pick_face(faces: list[Face], index: int | None, which: str,
              notes: list[str] | None = None) -> Face:
    """Face ``index`` of the ``which`` ("first", "second") photo's faces, largest first;
    None takes the largest and, when there are several, says so in ``notes``."""
    if not faces:
        raise InvalidInput(
            f"No face found in the {which} photo. The face should be seen from the front, "
            "uncovered and reasonably well lit."
        )
    count = len(faces)
    if index is None:
        if count > 1 and notes is not None:
            notes.append(f"The {which} photo shows {count} faces; the largest was used.")
        return faces[0]
    if not 0 <= index < count:
        valid = "0 (the only face)" if count == 1 else f"0 to {count - 1} (0 = the largest)"
        shows = "1 face" if count == 1 else f"{count} faces"
        raise InvalidInput(f"The {which} photo shows {shows}, so face {index} does not exist; "
                           f"choose {valid}.")
    return faces[index]
