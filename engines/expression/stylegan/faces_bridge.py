"""The engine's only contact with face detection, alignment and identity (``engines.faces``).

Keeping the calls here makes the rest of the engine independent of how that package
names things: the engine asks for "the landmarks of face k", "this face aligned to
N × N with both affine maps" and "how alike are these two faces", and this module
translates (``detect.detect_faces``, ``align.align_face``, ``identity.*``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engines.base import EngineError, EngineUnavailable


@dataclass(frozen=True)
class AlignedFace:
    image: np.ndarray  # size × size × 3, float32 in [0, 1]
    to_aligned: np.ndarray  # 2 × 3, photo → aligned
    to_photo: np.ndarray  # 2 × 3, aligned → photo
    landmarks: np.ndarray  # 68 × 2, photo pixels


def _unavailable(exc: Exception) -> EngineUnavailable:
    return EngineUnavailable(
        "Face detection is not available in this installation, so the StyleGAN expression "
        "engine cannot find the faces.", f"engines.faces: {exc}",
    )


def find_landmarks(image: np.ndarray, index: int | None, which: str,
                   notes: list[str] | None = None) -> np.ndarray:
    """68 × 2 landmarks (photo pixels) of face ``index``, largest first; None = the largest.

    ``which`` is "first" or "second"; a note is added when the largest of several faces
    was taken without being asked for.
    """
    try:
        from engines.faces.detect import detect_faces, pick_face
    except ImportError as exc:
        raise _unavailable(exc) from exc
    face = pick_face(detect_faces(image), index, which, notes)
    return np.asarray(face.landmarks, np.float64).reshape(68, 2)


def align(image: np.ndarray, landmarks: np.ndarray, size: int) -> AlignedFace:
    """The face cropped, levelled and scaled as FFHQ's faces are, ``size`` pixels square."""
    try:
        from engines.faces.align import align_face
    except ImportError as exc:
        raise _unavailable(exc) from exc
    aligned = align_face(image, landmarks, size=size)
    return AlignedFace(
        image=np.asarray(aligned.image, np.float32)[..., :3],
        to_aligned=np.asarray(aligned.matrix, np.float64).reshape(2, 3),
        to_photo=np.asarray(aligned.inverse, np.float64).reshape(2, 3),
        landmarks=np.asarray(landmarks, np.float64),
    )


def identity_distance(a: np.ndarray, marks_a: np.ndarray, b: np.ndarray,
                      marks_b: np.ndarray) -> tuple[float, float] | None:
    """(distance, same-person threshold) of two faces, or None if it cannot be measured.

    Only used for a note, so a missing recognition model must not fail the operation.
    """
    try:
        from engines.faces.identity import (
            SAME_PERSON_THRESHOLD,
            face_descriptor,
        )
        from engines.faces.identity import identity_distance as distance
    except ImportError:
        return None
    try:
        value = distance(face_descriptor(a, marks_a), face_descriptor(b, marks_b))
    except (EngineError, RuntimeError, ValueError):
        return None
    return value, SAME_PERSON_THRESHOLD
