"""Face analysis remembered per photo, so a slider step does not find the face again.

Finding the faces and their landmarks in a 1 MP photo takes a few hundred milliseconds
and the identity descriptor some more, while moving a slider re-runs the engine many
times on the same photo. The results are kept for the last few photos, keyed by a digest
of their pixels (not by the array object: the window hands the engine a fresh copy each
time, and a photo edited in place must not get a stale answer). Hashing 1 MP of float32
pixels costs about 5 ms.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from engines.faces.detect import Face, detect_faces
from engines.faces.identity import face_descriptor

KEPT = 8  # answers remembered (a few photos, each with faces and descriptors)

_answers: OrderedDict[tuple, Any] = OrderedDict()
_lock = threading.Lock()


def pixels_key(image: np.ndarray) -> tuple:
    """A key that changes whenever any pixel, the shape or the type does."""
    array = np.ascontiguousarray(image)
    digest = hashlib.blake2b(memoryview(array).cast("B"), digest_size=16).hexdigest()
    return (digest, array.shape, array.dtype.str)


def _remembered(key: tuple, compute: Callable[[], Any]) -> Any:
    with _lock:
        if key in _answers:
            _answers.move_to_end(key)
            return _answers[key]
    value = compute()
    with _lock:
        _answers[key] = value
        while len(_answers) > KEPT:
            _answers.popitem(last=False)
    return value


def faces_in(image: np.ndarray, detector: str = "hog", key: tuple | None = None) -> list[Face]:
    """``detect_faces`` of ``image``, remembered for the same pixels and detector.

    ``key``: the image's ``pixels_key`` when the caller has it (hashing costs time).
    """
    key = key or pixels_key(image)
    return list(_remembered(("faces", detector, *key), lambda: detect_faces(image, detector)))


def descriptor_of(image: np.ndarray, face: Face, key: tuple | None = None) -> np.ndarray:
    """``face_descriptor`` of one face of ``image``, remembered for the same pixels."""
    landmarks = np.asarray(face.landmarks, np.float64)
    key = ("descriptor", landmarks.tobytes(), *(key or pixels_key(image)))
    return _remembered(key, lambda: face_descriptor(image, landmarks)).copy()


def forget() -> None:
    """Drop every remembered answer (tests; a changed detector model)."""
    with _lock:
        _answers.clear()
