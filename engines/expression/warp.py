"""The classic Expression engine: a landmark warp, no downloads.

What the first face should do comes from the second face
(``engines.expression.retarget``: the second face's expression as scale-free
descriptors, reached on the first face by the anatomical rig of
``engines.expression.rig``) and from the sliders (``engines.expression.sliders``), each
feature (mouth, eyes, brows, tilt) scaled by its own strength. The photo follows through
a thin-plate spline (``engines.expression.mesh``) on the landmarks and the rig's cheek
controls, held by a ring of fixed points around the face, so the warp fades out before
the ring and the blend mask, which ends at the ring, leaves every pixel beyond it
untouched. A closing eye is closed by its lid sliding over it
(``engines.expression.lids``; the eye itself is not squashed), and closing lips meet
(``engines.expression.lips``: above the meeting line the upper lip, below it the lower).
Then what a warp cannot make is laid in: when both photos show the same person facing
about the same way, the second photo's mouth and eyes
(``engines.expression.transplant``); for two people, a mouth that opens is redrawn from
the second photo scaled to the first mouth (``engines.expression.mouth``; one that
closes keeps its own lips) and an eye opening from shut takes the second photo's eye;
with sliders alone, an opening mouth gets its own inside, scaled, or a painted one
(``engines.expression.cavity``). Each result reports the warp's smallest Jacobian
determinant and largest local stretch on the face's skin. All the work is done on a crop
around the face, so the photo's size hardly matters; the faces found are remembered per
photo, so a slider step skips the detector.
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

from engines.base import CancelToken, Engine, InvalidInput, Progress, Report
from engines.blend import blend_by_alpha, feather_inside
from engines.crop import Crop
from engines.expression import rig
from engines.expression.cavity import paint_cavity, shade_inside
from engines.expression.lids import slide_lids, static_lids
from engines.expression.lips import meet_lips
from engines.expression.mesh import MIN_STRETCH, remap, tps_maps, warp_quality
from engines.expression.mouth import redraw_mouth
from engines.expression.request import ExpressionRequest, ExpressionResult, WarpCheck
from engines.expression.retarget import OPEN_MOUTH, mouth_change, retarget
from engines.expression.sliders import opens_a_shut_eye, slider_motion
from engines.expression.transplant import features_to_take, transplant_features
from engines.faces.analysis import descriptor_of, faces_in, pixels_key
from engines.faces.detect import Face, pick_face
from engines.faces.identity import SAME_PERSON_THRESHOLD, face_descriptor, identity_distance
from engines.faces.shape import FIRST_EYE, OUTER_LIPS, SECOND_EYE, mouth_gap

MIN_EYE_DISTANCE = 28.0  # px: below this the 68 landmarks are too coarse to warp by
RING_MARGIN = 0.45  # eye distances from the moved landmarks' hull to the fixed ring
RING_POINTS = 40
RING_PER_SHIFT = 2.5  # ring margin per largest point shift (both in eye distances)
FEATHER = 0.3  # eye distances, inside the ring, over which the new face fades in
CROP_PAD = 4  # px of unchanged context kept around the ring in the working crop
POSE_WARNING = 15.0  # degrees of yaw or pitch between the heads: turned differently
TRANSPLANT_TURN = 4.0  # degrees beyond NOISE_ANGLE up to which the second's features may be used
STEPS = 6
FEATURE_SLACK = 0.1  # eye distances around mouth and eyes where a warp may fold
STILL = 0.25  # px: a landmark moved less than this has not moved
STRETCH_WARNING = 2.5  # local stretch on the skin beyond which the result says so
MAX_STRETCH = 3.0  # local stretch on the skin beyond which a change is scaled down
BACK_OFF = (1.0, 0.85, 0.7, 0.55, 0.4)  # shares of a change tried until the warp holds
KEEP_IDENTITY = 0.55  # dlib distance to the first face above which a change is reduced
IDENTITY_STEP = 0.85  # each reduction keeps at most this share of the change
IDENTITY_AIM = 0.95  # of KEEP_IDENTITY, aimed at when the change is reduced
MIN_IDENTITY_SHARE = 0.6  # ... but never below this share (the user asked for a change)


class _Attempt(NamedTuple):
    """One rendering of the change, before it is judged."""

    image: np.ndarray
    blend_mask: np.ndarray
    box: Crop
    check: WarpCheck
    moved: np.ndarray  # the landmarks where the face was moved to (photo pixels)
    share: float  # of the asked change, after any back-off for the skin
    notes: tuple[str, ...]


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
        first = np.ascontiguousarray(request.first, dtype=np.float32)
        second = (None if request.second is None
                  else np.ascontiguousarray(request.second, dtype=np.float32))
        h, w = first.shape[:2]
        from_second = second is not None and request.strength > 0
        if not from_second and not request.moves_by_sliders:
            cancel.raise_if_set()
            why = ("At strength 0 the photo stays as it was." if second is not None else
                   "Without a second portrait or a slider moved, the photo stays as it was.")
            return _unchanged(first, why)
        notes: list[str] = []

        report(Progress(0, STEPS, "Finding the face in the first photo"))
        first_key = pixels_key(first)
        face1 = _pick_face(faces_in(first, self.detector, first_key), request.face_first,
                           "first", notes)
        cancel.raise_if_set()
        motion = rig.Motion()
        face2 = None
        turn = 0.0
        if from_second:
            report(Progress(1, STEPS, "Finding the face in the second photo"))
            second_key = pixels_key(second)
            face2 = _pick_face(faces_in(second, self.detector, second_key),
                               request.face_second, "second", notes)
            cancel.raise_if_set()
            asked = retarget(face1.landmarks, face2.landmarks)
            turn = max(abs(asked.yaw), abs(asked.pitch))
            if turn > POSE_WARNING:
                notes.append("The two heads are turned differently, so the new expression may "
                             "look strained; photos taken from the same angle work best.")
            s = float(request.strength)
            motion = asked.motion.scaled(mouth=s * request.mouth, eyes=s * request.eyes,
                                         brows=s * request.brows, tilt=s * request.tilt)
        if request.moves_by_sliders:
            motion = motion + slider_motion(face1.landmarks, **request.sliders)
            if opens_a_shut_eye(face1.landmarks, request.eye_open):
                notes.append("A shut eye cannot be opened by the slider: no photo shows what "
                             "is under its lid. Drop a second portrait with open eyes.")
        first_identity = descriptor_of(first, face1, first_key) if from_second else None
        pair_distance = (identity_distance(first_identity, descriptor_of(second, face2, second_key))
                         if from_second else None)
        share, why, retried = 1.0, "", False
        while True:
            cancel.raise_if_set()
            attempt = self._render(first, face1, motion, share, second, face2, turn,
                                   pair_distance, report, cancel)
            if attempt is None:
                return _unchanged(first, "The face already shows that expression; nothing "
                                  "moved.")
            share = attempt.share
            if share < 1 and not why:
                why = "more would stretch the skin further than a face does"
            if first_identity is None or share <= MIN_IDENTITY_SHARE or retried:
                break
            # Another face's expression can carry its likeness along (a wide grin on a
            # calm face): when dlib would no longer see the same person on the moved
            # landmarks, the change is reduced, down to MIN_IDENTITY_SHARE.
            distance = identity_distance(face_descriptor(attempt.image, attempt.moved),
                                         first_identity)
            if distance <= KEEP_IDENTITY:
                break
            # The distance grows about in proportion to the change: aim just inside.
            share = max(MIN_IDENTITY_SHARE,
                        min(share * IDENTITY_STEP, share * IDENTITY_AIM * KEEP_IDENTITY / distance))
            retried = True  # once: a second try costs a whole rendering
            why = "more would make the face look like someone else"
        if share < 1:
            notes.append(f"The change was reduced to {share:.0%} of what was asked: {why}.")
        notes.extend(attempt.notes)
        check = attempt.check
        if check.folded:
            notes.append("The change is too large for this face: the warp folds over itself "
                         "somewhere; try a lower strength.")
        elif check.max_stretch > STRETCH_WARNING:
            notes.append(f"The skin is stretched up to {check.max_stretch:.1f}× somewhere; "
                         "a lower strength looks more natural.")
        box = attempt.box
        report(Progress(STEPS, STEPS, "Done", attempt.image[box.slices], box.box))
        return ExpressionResult(attempt.image, box.box, attempt.blend_mask, notes=tuple(notes),
                                warp=check)

    def _render(self, first: np.ndarray, face1: Face, motion: rig.Motion, share: float,
                second: np.ndarray | None, face2: Face | None, turn: float,
                pair_distance: float | None, report: Report,
                cancel: CancelToken) -> _Attempt | None:
        """The photo with ``share`` of ``motion`` (less if the skin cannot follow).

        None when nothing moves at all.
        """
        h, w = first.shape[:2]
        eye_distance = face1.eye_distance
        for back_off in BACK_OFF:
            # A change larger than the face allows (a downturned mouth into a wide grin)
            # would stretch the skin beyond what skin does: it is scaled down until the
            # spline no longer (nearly) folds nor stretches any small length of skin more
            # than MAX_STRETCH times, and the result says so.
            tried = share * back_off
            moved_face = rig.apply(face1.landmarks, motion.scaled(tried, tried, tried, tried))
            moved = moved_face.landmarks
            src_points = np.concatenate([face1.landmarks, moved_face.controls_from])
            # Closing lids are drawn after the spline (engines.expression.lids).
            dst_points = np.concatenate([static_lids(face1.landmarks, moved),
                                         moved_face.controls_to])
            shift = np.linalg.norm(dst_points - src_points, axis=1)
            if max(shift.max(), np.abs(moved - face1.landmarks).max()) < STILL:
                return None
            # Around the inner face and whatever moves (a brow alone still gets a ring).
            ring = _ring(np.concatenate([face1.landmarks[17:], src_points[shift >= STILL]]),
                         dst_points[shift >= STILL], eye_distance,
                         max(RING_MARGIN, RING_PER_SHIFT * float(shift.max()) / eye_distance))
            box = _crop_box(ring, w, h)
            src = _mesh_points(src_points, ring, box)
            dst = _mesh_points(dst_points, ring, box)
            size = (box.x1 - box.x0, box.y1 - box.y0)
            map_x, map_y = tps_maps(src, dst, *size)
            closing = mouth_change(face1.landmarks, moved) == "close"
            if closing:
                map_x, map_y = meet_lips(map_x, map_y, src, dst, eye_distance)
            skin = _skin(face1.landmarks, moved, ring, box, eye_distance)
            smallest, stretch = warp_quality(map_x, map_y, skin)
            if smallest >= MIN_STRETCH and stretch <= MAX_STRETCH:
                break
            cancel.raise_if_set()
        preview_box = box.box
        crop = first[box.slices]
        report(Progress(2, STEPS, "Warping the face", crop, preview_box))
        spline_x = map_x
        map_x, map_y = slide_lids(map_x, map_y, face1.landmarks - box.origin,
                                  moved - box.origin)
        source = crop
        if closing:
            source = shade_inside(crop, face1.landmarks - box.origin, eye_distance)
        # Measured again only if a lid was slid (the maps are then new arrays).
        check = (WarpCheck(smallest, stretch) if map_x is spline_x
                 else WarpCheck(*warp_quality(map_x, map_y, skin)))
        warped = remap(source, map_x, map_y)
        cancel.raise_if_set()
        report(Progress(3, STEPS, "Warped", warped, preview_box))
        notes: list[str] = []
        warped = self._lay_in(warped, crop, first, face1, moved, second, face2, turn, box,
                              pair_distance, notes, report, preview_box)
        cancel.raise_if_set()
        alpha = _feathered_mask(ring - box.origin, crop.shape[:2], FEATHER * eye_distance)
        blended = blend_by_alpha(crop, warped, alpha)
        result = first.copy()
        result[box.slices] = blended
        blend_mask = np.zeros((h, w), np.float32)
        blend_mask[box.slices] = alpha
        report(Progress(5, STEPS, "Blended", blended, preview_box))
        return _Attempt(result, blend_mask, box, check, moved, tried, tuple(notes))

    def _lay_in(self, warped: np.ndarray, crop: np.ndarray, first: np.ndarray, face1: Face,
                moved: np.ndarray, second: np.ndarray | None, face2: Face | None,
                turn: float, box: Crop, pair_distance: float | None,
                notes: list[str], report: Report,
                preview_box: tuple[int, int, int, int]) -> np.ndarray:
        """What a warp cannot make, from the second photo or painted: see the module doc."""
        own_points = face1.landmarks - box.origin
        new_points = moved - box.origin
        eye_distance = face1.eye_distance
        change = mouth_change(face1.landmarks, moved)
        taken: tuple[str, ...] = ()
        if second is not None and face2 is not None and pair_distance is not None:
            distance = pair_distance
            same_person = distance <= SAME_PERSON_THRESHOLD
            # A feature seen from another angle would bring that angle's look along.
            facing_alike = turn <= TRANSPLANT_TURN
            wanted = features_to_take(face1.landmarks, moved) if facing_alike else ()
            if not same_person:  # another person's mouth would carry their identity
                wanted = tuple(name for name in wanted if name != "mouth")
                notes.append(
                    f"These look like two different people (face distance {distance:.2f}, "
                    f"over {SAME_PERSON_THRESHOLD}): the expression is retargeted to the "
                    "first face's own proportions.")
            if wanted:
                warped, taken = transplant_features(warped, crop, own_points, new_points,
                                                    second, face2.landmarks, eye_distance,
                                                    wanted)
                if taken:
                    report(Progress(4, STEPS, f"Took the {' and '.join(taken)} from the "
                                    "second photo", warped, preview_box))
            # Another person's closed mouth came out small and pinched on the sheets; the
            # first face's own lips, meeting (engines.expression.lips), look like its own.
            borrow = change == "open" or (change == "close" and same_person)
            if change is not None and "mouth" not in taken and borrow:
                warped = redraw_mouth(warped, crop, own_points, new_points, second,
                                      face2.landmarks, change)
                redrawn = "inside of the mouth" if change == "open" else "closing mouth"
                report(Progress(4, STEPS, f"Redrew the {redrawn} from the second photo",
                                warped, preview_box))
            return warped
        if change == "open":
            if mouth_gap(face1.landmarks) >= OPEN_MOUTH:  # its own inside, scaled
                warped = redraw_mouth(warped, crop, own_points, new_points, crop, own_points,
                                      change)
            else:
                warped = paint_cavity(warped, crop, own_points, new_points, eye_distance)
            report(Progress(4, STEPS, "Opened the mouth", warped, preview_box))
        return warped


def _unchanged(first: np.ndarray, why: str) -> ExpressionResult:
    h, w = first.shape[:2]
    return ExpressionResult(first.copy(), (0, 0, 0, 0), np.zeros((h, w), np.float32),
                            notes=(why,), warp=WarpCheck(1.0, 1.0))


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


def _ring(before: np.ndarray, after: np.ndarray, eye_distance: float,
          margin: float = RING_MARGIN) -> np.ndarray:
    """Fixed points around everything that moves, evenly spaced (photo pixels, N×2).

    They sit ``margin`` eye distances outside the convex hull of the moving points
    (before and after), so the warp has room to fade out: wider for a larger motion (a
    tilting head), so the skin and the background between do not shear.
    """
    pts = np.concatenate([before, after]).astype(np.float32)
    hull = cv2.convexHull(pts).reshape(-1, 2).astype(np.float64)
    centre = hull.mean(0)
    out = hull - centre
    radius = np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)
    grown = centre + out * (1 + margin * eye_distance / radius)
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
    return feather_inside(inside, feather)
