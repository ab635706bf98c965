"""Where dlib's face models live, and each one loaded once.

The model files ship in the ``face-recognition-models`` package, but its ``__init__``
imports ``pkg_resources`` (gone from recent setuptools), so the files are located through
the package's import spec without importing it. Loading the 68-point predictor reads
100 MB and takes about a second: every model is loaded at most once per process.

A loaded model is shared, but dlib's detectors and networks keep working buffers inside
themselves, so two threads running one at the same time corrupt each other (two HOG
detections at once crash the whole process). The app does run them at once: each face
well looks for faces on a thread of its own while an engine may be describing faces on
its worker. So every use goes through ``exclusive``, which hands a model to one thread
at a time.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from engines.base import EngineUnavailable

LANDMARKS_FILE = "shape_predictor_68_face_landmarks.dat"
CNN_DETECTOR_FILE = "mmod_human_face_detector.dat"
RECOGNITION_FILE = "dlib_face_recognition_resnet_model_v1.dat"

PACKAGE = "face_recognition_models"
PIP_FIX = "pip install face-recognition-models"

_lock = threading.Lock()
_loaded: dict[str, Any] = {}


def import_dlib() -> Any:
    """dlib itself, or a sentence saying how to install it."""
    try:
        import dlib
    except ImportError as exc:
        raise EngineUnavailable(
            "The face tools need dlib, which is not installed. Install it with: "
            "pip install dlib-bin",
            str(exc),
        ) from exc
    return dlib


def models_folder() -> Path:
    """The ``models`` folder of the installed face-recognition-models package."""
    spec = importlib.util.find_spec(PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise EngineUnavailable(
            f"The face models are not installed. Install them with: {PIP_FIX}",
            f"no importable package named {PACKAGE!r}",
        )
    return Path(locations[0]) / "models"


def model_path(file_name: str) -> Path:
    """The full path of one shipped model file, checked to exist."""
    path = models_folder() / file_name
    if not path.is_file():
        raise EngineUnavailable(
            f"The face model {file_name} is missing from the face-recognition-models "
            f"package. Reinstall it with: pip install --force-reinstall face-recognition-models",
            str(path),
        )
    return path


def _cached(key: str, load: Callable[[], Any]) -> Any:
    """``load()`` once per process; concurrent first callers wait instead of loading twice."""
    with _lock:
        if key not in _loaded:
            _loaded[key] = load()
        return _loaded[key]


def hog_detector() -> Any:
    """dlib's frontal-face HOG detector (built into dlib, no file)."""
    return _cached("hog", lambda: import_dlib().get_frontal_face_detector())


def cnn_detector() -> Any:
    """dlib's MMOD CNN face detector: finds turned and small faces, but slow on a CPU."""
    return _cached(
        "cnn",
        lambda: import_dlib().cnn_face_detection_model_v1(str(model_path(CNN_DETECTOR_FILE))),
    )


def landmark_predictor() -> Any:
    """dlib's 68-point face landmark predictor (iBUG 300-W numbering)."""
    return _cached(
        "landmarks", lambda: import_dlib().shape_predictor(str(model_path(LANDMARKS_FILE)))
    )


def recognition_model() -> Any:
    """dlib's ResNet face descriptor model (128-d, 0.6 apart means two people)."""
    return _cached(
        "recognition",
        lambda: import_dlib().face_recognition_model_v1(str(model_path(RECOGNITION_FILE))),
    )


_GETTERS: dict[str, Callable[[], Any]] = {
    "hog": hog_detector,
    "cnn": cnn_detector,
    "landmarks": landmark_predictor,
    "recognition": recognition_model,
}
_in_use = {key: threading.Lock() for key in _GETTERS}


@contextmanager
def exclusive(key: str) -> Iterator[Any]:
    """The model ``key`` ("hog", "cnn", "landmarks" or "recognition"), for this thread only
    until the ``with`` block ends; other threads wanting it wait."""
    model = _GETTERS[key]()  # loaded outside the lock: a slow first load blocks no user
    with _in_use[key]:
        yield model
