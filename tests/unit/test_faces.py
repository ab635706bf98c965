"""Faces: detection, landmarks, alignment, identity and shape metrics on a real face.

Only ``skimage.data.astronaut()`` (a real portrait shipped with scikit-image) and images
made here are used. dlib's models are loaded once per process (``engines.faces.models``),
so the whole file costs a few seconds, most of it loading the landmark model.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from engines.base import EngineUnavailable
from engines.faces import models
from engines.faces.align import align_face, ffhq_quad
from engines.faces.detect import detect_faces
from engines.faces.geometry import apply_affine, invert_affine, similarity_fit
from engines.faces.identity import SAME_PERSON_THRESHOLD, face_descriptor, identity_distance
from engines.faces.shape import eye_centres, eye_distance, mouth_gap
from tests.benchmarks.face_measures import (
    expression_distance,
    fit_to,
    normalised_shape,
    region_distances,
)

skdata = pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return skdata.astronaut().astype(np.float32) / 255.0


@pytest.fixture(scope="module")
def face(astronaut):
    faces = detect_faces(astronaut)
    assert len(faces) == 1
    return faces[0]


def rotated(image: np.ndarray, degrees: float) -> np.ndarray:
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(image, m, (w, h), borderMode=cv2.BORDER_REFLECT_101)


def test_models_are_found_without_importing_their_package():
    assert models.model_path(models.LANDMARKS_FILE).is_file()
    assert models.model_path(models.CNN_DETECTOR_FILE).is_file()
    assert models.model_path(models.RECOGNITION_FILE).is_file()
    assert models.landmark_predictor() is models.landmark_predictor()  # loaded once


def test_missing_models_package_says_how_to_install_it(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec",
        lambda name, *a: None if name == models.PACKAGE else real(name, *a),
    )
    with pytest.raises(EngineUnavailable, match="pip install face-recognition-models"):
        models.model_path(models.LANDMARKS_FILE)


def test_astronaut_face_has_68_landmarks_where_a_face_has_them(face):
    points = face.landmarks
    assert points.shape == (68, 2) and points.dtype == np.float64
    x, y, w, h = face.box
    assert 60 <= w <= 130 and face.score > 0.25
    grown = 0.2 * w  # the jaw line may reach a little beyond dlib's box
    assert (points[:, 0] >= x - grown).all() and (points[:, 0] <= x + w + grown).all()
    assert (points[:, 1] >= y - grown).all() and (points[:, 1] <= y + h + grown).all()
    left, right = eye_centres(points)
    mouth, nose_tip, chin = points[48:68].mean(0), points[30], points[8]
    assert left[0] < nose_tip[0] < right[0]
    assert max(left[1], right[1]) < nose_tip[1] < mouth[1] < chin[1]
    assert points[17:27, 1].mean() < min(left[1], right[1])  # brows above the eyes
    assert 35 < face.eye_distance < 55


def test_no_face_in_a_coffee_cup_or_a_flat_grey_image():
    assert detect_faces(skdata.coffee()) == []
    assert detect_faces(np.full((240, 320, 3), 0.5, np.float32)) == []


def test_two_faces_are_found_largest_first(astronaut):
    small = cv2.resize(astronaut, (400, 400), interpolation=cv2.INTER_AREA)
    canvas = np.zeros((512, 912, 3), np.float32)
    canvas[:, :512] = astronaut
    canvas[56:456, 512:] = small
    faces = detect_faces(canvas)
    assert len(faces) == 2
    assert faces[0].area > faces[1].area
    assert faces[0].box[0] < 512 <= faces[1].box[0]


def test_a_small_photo_is_enlarged_so_its_small_face_is_still_found(astronaut, face):
    half = cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA)
    faces = detect_faces(half)
    assert len(faces) == 1
    assert abs(faces[0].eye_distance - face.eye_distance / 2) < 3


def test_a_12_megapixel_portrait_is_quick_and_lands_on_the_same_landmarks(astronaut, face):
    big = np.clip(cv2.resize(astronaut, (3464, 3464), interpolation=cv2.INTER_LINEAR), 0, 1)
    started = time.perf_counter()
    faces = detect_faces(big)
    seconds = time.perf_counter() - started
    assert len(faces) == 1
    scale = 3464 / 512
    # Landmarks predicted at full resolution agree with the small photo's, scaled.
    error = np.linalg.norm(faces[0].landmarks / scale - face.landmarks, axis=1)
    assert error.mean() < 1.5
    assert seconds < 2.5, f"{seconds:.2f} s"  # ~0.4 s on an idle 2-core CPU


def test_cnn_detector_finds_the_same_face(astronaut, face):
    # A small crop around the face: dlib's CNN takes seconds per megapixel on a CPU.
    faces = detect_faces(astronaut[40:240, 120:320], "cnn")
    assert len(faces) == 1
    assert np.linalg.norm(faces[0].landmarks + (120, 40) - face.landmarks, axis=1).mean() < 3


def test_alignment_round_trip_puts_landmarks_back(astronaut):
    tilted = rotated(astronaut, 20)
    points = detect_faces(tilted)[0].landmarks
    aligned = align_face(tilted, points, 256)
    assert aligned.image.shape == (256, 256, 3)
    assert np.abs(aligned.to_photo(aligned.to_aligned(points)) - points).max() < 1e-6
    # The aligned face is upright and centred: eyes level, in the upper middle.
    left, right = (aligned.to_aligned(c)[0] for c in eye_centres(points))
    assert abs(left[1] - right[1]) < 1.0
    assert 64 < left[0] < 128 < right[0] < 192 and 80 < left[1] < 140
    # Landmarks found again in the aligned crop map back onto the photo's own.
    again = detect_faces(aligned.image)
    assert len(again) == 1
    back = aligned.to_photo(again[0].landmarks)
    assert np.linalg.norm(back - points, axis=1).mean() < 1.0


def test_alignment_of_a_large_face_matches_a_small_one(astronaut, face):
    big = cv2.resize(astronaut, (2048, 2048), interpolation=cv2.INTER_LINEAR)
    small = align_face(astronaut, face.landmarks, 128).image
    large = align_face(big, face.landmarks * 4 + 1.5, 128).image  # pixel centres move too
    assert np.abs(small - large).mean() < 0.02


def test_ffhq_quad_is_a_square_about_twice_the_eyes_apart(face):
    quad = ffhq_quad(face.landmarks)
    sides = np.linalg.norm(np.diff(np.vstack([quad, quad[:1]]), axis=0), axis=1)
    assert np.allclose(sides, sides[0])
    assert 3.5 < sides[0] / face.eye_distance < 5.0


def test_same_person_is_within_dlibs_threshold(astronaut, face):
    mirrored = np.ascontiguousarray(astronaut[:, ::-1])
    other = detect_faces(mirrored)[0]
    a = face_descriptor(astronaut, face.landmarks)
    b = face_descriptor(mirrored, other.landmarks)
    assert a.shape == (128,)
    assert identity_distance(a, a) == 0.0
    assert identity_distance(a, b) < SAME_PERSON_THRESHOLD


def test_similarity_fit_and_inverse_are_exact():
    rng = np.random.default_rng(0)
    pts = rng.random((10, 2)) * 100
    angle = np.deg2rad(25)
    m = np.array([[np.cos(angle), -np.sin(angle), 4.0], [np.sin(angle), np.cos(angle), -7.0]])
    m[:, :2] *= 1.7
    fitted = similarity_fit(pts, apply_affine(pts, m))
    assert np.allclose(fitted, m)
    assert np.allclose(apply_affine(apply_affine(pts, m), invert_affine(m)), pts)


def test_expression_distance_ignores_pose_and_size_but_sees_an_open_mouth(face):
    pts = face.landmarks
    m = cv2.getRotationMatrix2D((100, 50), 30, 2.5)
    moved = apply_affine(pts, m)
    assert expression_distance(moved, pts) < 1e-9
    assert np.allclose(fit_to(moved, pts), pts)
    assert np.allclose(normalised_shape(moved), normalised_shape(pts))
    opened = pts.copy()
    opened[[65, 66, 67, 55, 56, 57, 58, 59], 1] += 0.3 * eye_distance(pts)
    assert mouth_gap(opened) > mouth_gap(pts) + 0.25
    regions = region_distances(opened, pts)
    assert regions["mouth"] > 0.05 and regions["brows"] < 0.02
    assert expression_distance(opened, pts) > 0.03


CONCURRENT_DETECTIONS = """
import threading
import cv2
import numpy as np
import skimage.data
from engines.faces.detect import detect_faces
from engines.faces.identity import face_descriptor

astronaut = skimage.data.astronaut().astype(np.float32) / 255.0
photos = [astronaut, cv2.resize(astronaut, None, fx=1.7, fy=1.7), astronaut[:400, 50:]]
alone = [detect_faces(photo)[0].landmarks for photo in photos]
found = []

def look(index: int) -> None:
    for _ in range(8):
        face = detect_faces(photos[index])[0]
        face_descriptor(photos[index], face.landmarks)
        found.append(np.abs(face.landmarks - alone[index]).max())

threads = [threading.Thread(target=look, args=(i,)) for i in range(3)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(len(found), max(found))
"""


def test_faces_are_found_on_several_threads_at_once():
    """Each face well looks for faces on its own thread while an engine may be working:
    dlib's detector shared between threads at once crashed the whole app."""
    done = subprocess.run([sys.executable, "-c", CONCURRENT_DETECTIONS], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, f"crashed ({done.returncode}): {done.stderr[-500:]}"
    count, worst = done.stdout.split()
    assert int(count) == 24 and float(worst) == 0.0  # the same landmarks every time
