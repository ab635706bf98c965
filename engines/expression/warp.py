"""The classic Expression engine: a landmark warp, no downloads.

The first face's brows, eyes, mouth and chin move towards the second face's expression
(``engines.expression.retarget``: the change of expression measured against the first
face turned into the second's pose, added to the first face where it is; stable points
stay) by the request's strength. The photo follows through a thin-plate spline
(``engines.expression.mesh``) that also holds a ring of fixed points around the face, so
the warp fades out before the ring and the blend mask, which ends at the ring, leaves
every pixel beyond it untouched. When both photos show the same person facing about the
same way, the second photo's mouth and eyes are then laid in
(``engines.expression.transplant``): teeth, creases and open eyes a warp cannot make.
Otherwise a mouth that opens or closes is redrawn from the second photo
(``engines.expression.mouth``). All the work is done on a crop around the face, so the
photo's size hardly matters.
"""

from __future__ import annotations

import cv2
import numpy as np

from engines.base import CancelToken, Engine, InvalidInput, Progress, Report
from engines.blend import blend_by_alpha
from engines.crop import Crop
from engines.expression.mesh import folds, remap, tps_maps, warp_maps
from engines.expression.mouth import redraw_mouth
from engines.expression.request import ExpressionRequest, ExpressionResult
from engines.expression.retarget import (
    MOVING,
    mouth_change,
    moved_landmarks,
    target_landmarks,
)
from engines.expression.transplant import features_to_take, transplant_features
from engines.faces.detect import Face, detect_faces, pick_face
from engines.faces.identity import SAME_PERSON_THRESHOLD, face_descriptor, identity_distance
from engines.faces.shape import FIRST_EYE, OUTER_LIPS, SECOND_EYE

MIN_EYE_DISTANCE = 28.0  # px: below this the 68 landmarks are too coarse to warp by
RING_MARGIN = 0.45  # eye distances from the moved landmarks' hull to the fixed ring
RING_POINTS = 40
FEATHER = 0.3  # eye distances, inside the ring, over which the new face fades in
CROP_PAD = 4  # px of unchanged context kept around the ring in the working crop
POSE_WARNING = 15.0  # degrees of yaw or pitch between the heads: turned differently
TRANSPLANT_TURN = 4.0  # degrees beyond NOISE_ANGLE up to which the second's features may be used
STEPS = 6
FEATURE_SLACK = 0.1  # eye distances around mouth and eyes where a warp may fold


class WarpExpressionEngine(Engine[ExpressionRequest, ExpressionResult]):
    """Gives the first photo's face the second's expression by warping its landmarks."""

    name = "warp"
    cpu_only = True  # dlib and OpenCV

    def __init__(self, detector: str = "hog") -> None:
        """``detector``: "hog" (fast) or "cnn" (dlib's MMOD: turned faces, but slow)."""
        self.detector = detector

    def compute(
        self, request: ExpressionRequest, device: str, report: Report, cancel: CancelToken
    ) -> ExpressionResult:
        first, second = (np.ascontiguousarray(photo, dtype=np.float32)
                         for photo in (request.first, request.second))
        h, w = first.shape[:2]
        if request.strength == 0:
            cancel.raise_if_set()
            return ExpressionResult(
                first.copy(), (0, 0, 0, 0), np.zeros((h, w), np.float32),
                notes=("At strength 0 the photo stays as it was.",),
            )
        notes: list[str] = []

        report(Progress(0, STEPS, "Finding the face in the first photo"))
        face1 = _pick_face(detect_faces(first, self.detector), request.face_first, "first", notes)
        cancel.raise_if_set()
        report(Progress(1, STEPS, "Finding the face in the second photo"))
        face2 = _pick_face(
            detect_faces(second, self.detector), request.face_second, "second", notes
        )
        cancel.raise_if_set()

        retarget = target_landmarks(face1.landmarks, face2.landmarks)
        if max(abs(retarget.yaw), abs(retarget.pitch)) > POSE_WARNING:
            notes.append("The two heads are turned differently, so the new expression may "
                         "look strained; photos taken from the same angle work best.")
        moved = moved_landmarks(face1.landmarks, retarget.target, float(request.strength))
        eye_distance = face1.eye_distance
        ring = _ring(face1.landmarks, moved, eye_distance)
        box = _crop_box(ring, w, h)
        preview_box = box.box
        crop = first[box.slices]
        report(Progress(2, STEPS, "Warping the face", crop, preview_box))

        src = _mesh_points(face1.landmarks, ring, box)
        dst = _mesh_points(moved, ring, box)
        map_x, map_y = tps_maps(src, dst, box.x1 - box.x0, box.y1 - box.y0)
        if folds(map_x, map_y, _skin(face1.landmarks, moved, ring, box, eye_distance)):
            # Pulled too hard for a spline: the mesh's triangles cannot overshoot.
            map_x, map_y = warp_maps(src, dst, box.x1 - box.x0, box.y1 - box.y0)
        warped = remap(crop, map_x, map_y)
        cancel.raise_if_set()
        report(Progress(3, STEPS, "Warped", warped, preview_box))

        distance = identity_distance(
            face_descriptor(first, face1.landmarks), face_descriptor(second, face2.landmarks)
        )
        same_person = distance <= SAME_PERSON_THRESHOLD
        # A feature seen from another angle would bring that angle's look along.
        facing_alike = max(abs(retarget.yaw), abs(retarget.pitch)) <= TRANSPLANT_TURN
        change = mouth_change(face1.landmarks, moved)
        wanted = features_to_take(face1.landmarks, moved) if same_person and facing_alike else ()
        taken: tuple[str, ...] = ()
        if wanted:
            warped, taken = transplant_features(warped, crop, face1.landmarks - box.origin,
                                                moved - box.origin, second, face2.landmarks,
                                                eye_distance, wanted)
            cancel.raise_if_set()
            if taken:
                report(Progress(4, STEPS, f"Took the {' and '.join(taken)} from the second "
                                "photo", warped, preview_box))
        if change is not None and "mouth" not in taken:
            warped = redraw_mouth(warped, crop, face1.landmarks - box.origin,
                                  moved - box.origin, second, face2.landmarks, change)
            cancel.raise_if_set()
            redrawn = "inside of the mouth" if change == "open" else "closing mouth"
            report(Progress(4, STEPS, f"Redrew the {redrawn} from the second photo", warped,
                            preview_box))

        alpha = _feathered_mask(ring - box.origin, crop.shape[:2], FEATHER * eye_distance)
        blended = blend_by_alpha(crop, warped, alpha)
        result = first.copy()
        result[box.slices] = blended
        blend_mask = np.zeros((h, w), np.float32)
        blend_mask[box.slices] = alpha
        cancel.raise_if_set()
        report(Progress(5, STEPS, "Blended", blended, preview_box))
        if not same_person:
            notes.append(
                f"These look like two different people (face distance {distance:.2f}, over "
                f"{SAME_PERSON_THRESHOLD}): the first face also takes on some of the second "
                "face's shape."
            )
        report(Progress(STEPS, STEPS, "Done", blended, preview_box))
        return ExpressionResult(result, preview_box, blend_mask, notes=tuple(notes))


def _pick_face(faces: list[Face], index: int | None, which: str, notes: list[str]) -> Face:
    """The requested face (default: the largest), or why it cannot be used."""
    face = pick_face(faces, index, which, notes)
    if face.eye_distance < MIN_EYE_DISTANCE:
        raise InvalidInput(
            f"The face in the {which} photo is too small to change its expression: "
            f"{face.eye_distance:.0f} px between the eyes, and at least "
            f"{MIN_EYE_DISTANCE:.0f} px are needed. Use a larger photo or one taken closer.",
        )
    return face


def _ring(first: np.ndarray, moved: np.ndarray, eye_distance: float) -> np.ndarray:
    """Fixed points around everything that moves, evenly spaced (photo pixels, N×2).

    They sit ``RING_MARGIN`` eye distances outside the convex hull of the moving
    landmarks (before and after), so the warp has room to fade out.
    """
    moving = list(MOVING)
    pts = np.concatenate([first[moving], moved[moving]]).astype(np.float32)
    hull = cv2.convexHull(pts).reshape(-1, 2).astype(np.float64)
    centre = hull.mean(0)
    out = hull - centre
    radius = np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)
    grown = centre + out * (1 + RING_MARGIN * eye_distance / radius)
    return _resample_closed(grown, RING_POINTS)


def _resample_closed(polygon: np.ndarray, count: int) -> np.ndarray:
    """``count`` points evenly spaced along a closed polygon's outline."""
    closed = np.vstack([polygon, polygon[:1]])
    seg = np.linalg.norm(np.diff(closed, axis=0), axis=1)
    along = np.concatenate([[0.0], np.cumsum(seg)])
    at = np.linspace(0.0, along[-1], count, endpoint=False)
    return np.stack(
        [np.interp(at, along, closed[:, 0]), np.interp(at, along, closed[:, 1])], axis=1
    )


def _crop_box(ring: np.ndarray, width: int, height: int) -> Crop:
    lo = np.floor(ring.min(0)).astype(int) - CROP_PAD
    hi = np.ceil(ring.max(0)).astype(int) + CROP_PAD + 1
    return Crop(
        max(0, int(lo[0])), max(0, int(lo[1])), min(width, int(hi[0])), min(height, int(hi[1]))
    )


def _mesh_points(landmarks: np.ndarray, ring: np.ndarray, box: Crop) -> np.ndarray:
    """Landmarks, ring and the crop's corners, in crop pixels (ring and corners fixed)."""
    w, h = box.x1 - box.x0, box.y1 - box.y0
    local_ring = np.clip(ring - box.origin, 0, [w - 1, h - 1])
    corners = np.array([[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1]], dtype=np.float64)
    return np.concatenate([landmarks - box.origin, local_ring, corners])


def _skin(first: np.ndarray, moved: np.ndarray, ring: np.ndarray, box: Crop,
          eye_distance: float) -> np.ndarray:
    """Inside the ring, but not the mouth or the eyes (which may fold as they close)."""
    shape = (box.y1 - box.y0, box.x1 - box.x0)
    inside = np.zeros(shape, np.uint8)
    cv2.fillPoly(inside, [np.round(ring - box.origin).astype(np.int32)], 1)
    features = np.zeros(shape, np.uint8)
    for points in (first, moved):
        for part in (OUTER_LIPS, FIRST_EYE, SECOND_EYE):
            cv2.fillPoly(features, [np.round(points[list(part)] - box.origin).astype(np.int32)],
                         1)
    radius = max(1, round(FEATURE_SLACK * eye_distance))
    grown = cv2.dilate(features, cv2.getStructuringElement(cv2.MORPH_ELLIPSE,
                                                           (2 * radius + 1, 2 * radius + 1)))
    return (inside > 0) & (grown == 0)


def _feathered_mask(ring: np.ndarray, shape: tuple[int, int], feather: float) -> np.ndarray:
    """Alpha (float32) that is 0 on and outside the ring and rises smoothly to 1 inside."""
    inside = np.zeros(shape, np.uint8)
    cv2.fillPoly(inside, [np.round(ring).astype(np.int32)], 1)
    distance = cv2.distanceTransform(inside, cv2.DIST_L2, 5)
    t = np.clip(distance / max(feather, 1.0), 0.0, 1.0)
    return (t * t * (3 - 2 * t)).astype(np.float32)
