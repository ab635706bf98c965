"""The landmark-warp Expression engine, judged by what the landmarks and pixels show.

The pair is made here from ``skimage.data.astronaut()``: the second photo is the first
with its jaw dropped by a mesh warp of the mouth and chin landmarks and a dark mouth
with teeth painted into the new gap, so the expression to copy is known exactly and
both photos show the same person.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from engines.base import Cancelled, CancelToken, InvalidInput, Progress
from engines.expression import rig
from engines.expression.mesh import warp_mesh
from engines.expression.request import ExpressionRequest
from engines.expression.retarget import fit_second, mouth_change, retarget
from engines.expression.warp import MIN_EYE_DISTANCE, WarpExpressionEngine
from engines.faces.detect import detect_faces
from engines.faces.geometry import apply_affine
from engines.faces.identity import face_descriptor, identity_distance
from engines.faces.shape import INNER_LIPS, MOUTH, eye_distance, mouth_gap
from tests.benchmarks.face_measures import expression_distance, region_distances

skdata = pytest.importorskip("skimage.data")

SCALE = 1.5  # 768 px: large enough for a mouth worth opening, small enough to be quick


def open_mouth(image: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``image`` with the jaw dropped (lower lip and chin down) and a dark mouth painted in.

    Returns the new photo and the landmarks that were moved there.
    """
    unit = eye_distance(points)
    target = points.copy()
    centre = points[[48, 54]].mean(0)[0]
    half_width = (points[54, 0] - points[48, 0]) / 2
    for i in [*range(5, 12), *range(55, 60), 65, 66, 67]:
        taper = max(0.0, 1.0 - abs(points[i, 0] - centre) / (1.6 * half_width))
        target[i, 1] += 0.35 * unit * taper
    target[[61, 62, 63], 1] -= 0.04 * unit
    h, w = image.shape[:2]
    middle = points.mean(0)
    ring = middle + (points[[0, 4, 8, 12, 16, 19, 24]] - middle) * 1.6
    corners = np.array([[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1]], np.float64)
    fixed = np.concatenate([ring, corners])
    out = warp_mesh(image, np.concatenate([points, fixed]), np.concatenate([target, fixed]))
    inner = np.zeros((h, w), np.uint8)
    cv2.fillPoly(inner, [np.round(target[list(INNER_LIPS)]).astype(np.int32)], 1)
    teeth_line = target[[61, 62, 63], 1].mean() + 0.12 * unit
    rows = np.arange(h)[:, None] < teeth_line
    out[(inner > 0) & ~rows] = (0.22, 0.05, 0.05)
    out[(inner > 0) & rows] = (0.88, 0.85, 0.78)
    return np.ascontiguousarray(out), target


def astronaut_portrait() -> np.ndarray:
    """The astronaut at 768 px, float [0, 1]: the Expression tests' first portrait."""
    image = skdata.astronaut().astype(np.float32) / 255.0
    return np.clip(cv2.resize(image, None, fx=SCALE, fy=SCALE, interpolation=cv2.INTER_CUBIC),
                   0, 1)


@pytest.fixture(scope="module")
def first() -> np.ndarray:
    return astronaut_portrait()


@pytest.fixture(scope="module")
def first_face(first):
    return detect_faces(first)[0]


@pytest.fixture(scope="module")
def second(first, first_face) -> np.ndarray:
    return open_mouth(first, first_face.landmarks)[0]


@pytest.fixture(scope="module")
def second_face(second):
    faces = detect_faces(second)
    assert len(faces) == 1
    return faces[0]


@pytest.fixture(scope="module")
def run(first, second):
    previews: list[Progress] = []
    result = WarpExpressionEngine().run(ExpressionRequest(first, second), previews.append)
    return result, previews


def test_the_made_pair_differs_in_the_mouth(first_face, second_face):
    assert mouth_gap(second_face.landmarks) > mouth_gap(first_face.landmarks) + 0.15


def test_the_first_face_takes_the_second_faces_mouth(run, first_face, second_face):
    result, _ = run
    again = detect_faces(result.image)
    assert len(again) == 1
    before = region_distances(first_face.landmarks, second_face.landmarks)["mouth"]
    after = region_distances(again[0].landmarks, second_face.landmarks)["mouth"]
    assert after <= 0.5 * before, f"mouth distance {after:.3f} vs {before:.3f} unchanged"
    assert expression_distance(again[0].landmarks, second_face.landmarks) < 0.5 * (
        expression_distance(first_face.landmarks, second_face.landmarks)
    )
    assert mouth_gap(again[0].landmarks) > mouth_gap(first_face.landmarks) + 0.1


def test_pixels_outside_the_blend_mask_are_bit_exact(run, first):
    result, _ = run
    outside = result.blend_mask == 0
    assert result.image.dtype == np.float32 and result.image.shape == first.shape
    assert result.blend_mask.shape == first.shape[:2]
    assert np.array_equal(result.image[outside], first[outside])
    assert not np.array_equal(result.image[~outside], first[~outside])
    x, y, w, h = result.region
    inside_region = np.zeros(outside.shape, bool)
    inside_region[y:y + h, x:x + w] = True
    assert outside[~inside_region].all()


def test_the_person_is_still_the_same_person(run, first, first_face):
    result, _ = run
    again = detect_faces(result.image)[0]
    distance = identity_distance(
        face_descriptor(first, first_face.landmarks),
        face_descriptor(result.image, again.landmarks),
    )
    assert distance < 0.6
    assert not any("different people" in note for note in result.notes)


def test_progress_previews_show_the_face_crop(run):
    result, previews = run
    shown = [p for p in previews if p.preview is not None]
    assert len(shown) >= 3
    for p in shown:
        assert p.preview_box == result.region
        assert p.preview.shape[:2] == (result.region[3], result.region[2])
    assert previews[-1].step == previews[-1].total


def test_strength_zero_leaves_the_photo_unchanged(first, second):
    result = WarpExpressionEngine().run(ExpressionRequest(first, second, strength=0.0))
    assert np.array_equal(result.image, first)
    assert not result.blend_mask.any()


def test_half_strength_opens_the_mouth_part_way(first, second, first_face, second_face):
    result = WarpExpressionEngine().run(ExpressionRequest(first, second, strength=0.5))
    gap = mouth_gap(detect_faces(result.image)[0].landmarks)
    assert mouth_gap(first_face.landmarks) + 0.03 < gap < mouth_gap(second_face.landmarks) - 0.03


def test_cancel_raises_cancelled(first, second):
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        WarpExpressionEngine().run(ExpressionRequest(first, second), cancel=token)

    token = CancelToken()

    def cancel_at_first_report(_: Progress) -> None:
        token.cancel()

    with pytest.raises(Cancelled):
        WarpExpressionEngine().run(ExpressionRequest(first, second), cancel_at_first_report, token)


def test_no_face_in_the_first_photo_is_said_so(second):
    coffee = skdata.coffee().astype(np.float32) / 255.0
    with pytest.raises(InvalidInput, match="No face found in the first photo"):
        WarpExpressionEngine().run(ExpressionRequest(coffee, second))


def test_asking_for_a_face_a_photo_does_not_have_is_explained(first, second):
    small = cv2.resize(second, (512, 512), interpolation=cv2.INTER_AREA)
    pair = np.zeros((768, 768 + 512, 3), np.float32)
    pair[:, :768] = first
    pair[128:640, 768:] = small
    with pytest.raises(InvalidInput, match="The second photo shows 2 faces, so face 2 does not "
                       "exist; choose 0 to 1"):
        WarpExpressionEngine().run(ExpressionRequest(first, pair, face_second=2))


def test_a_tiny_face_is_refused_with_its_size():
    tiny = skdata.astronaut().astype(np.float32) / 255.0
    tiny = cv2.resize(tiny, (256, 256), interpolation=cv2.INTER_AREA)  # ~22 px between eyes
    assert detect_faces(tiny)[0].eye_distance < MIN_EYE_DISTANCE
    with pytest.raises(InvalidInput, match="too small"):
        WarpExpressionEngine().run(ExpressionRequest(tiny, tiny))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"strength": 1.5}, "strength must be between 0"),
        ({"first": np.zeros((64, 64), np.float32)}, "first photo must be a colour"),
        ({"face_first": -1}, "face chosen in the first photo"),
    ],
)
def test_bad_requests_are_refused_before_any_work(first, second, change, message):
    fields = {"first": first, "second": second, **change}
    with pytest.raises(InvalidInput, match=message):
        WarpExpressionEngine().run(ExpressionRequest(**fields))


def test_closing_an_open_mouth_redraws_it_closed(first, second, first_face, second_face):
    result = WarpExpressionEngine().run(ExpressionRequest(second, first))
    gap = mouth_gap(detect_faces(result.image)[0].landmarks)
    assert gap < mouth_gap(second_face.landmarks) - 0.15
    assert mouth_change(second_face.landmarks, first_face.landmarks) == "close"


def test_the_same_face_elsewhere_asks_for_no_change(first_face):
    points = first_face.landmarks
    moved = apply_affine(points, cv2.getRotationMatrix2D((300, 200), 15, 1.7))
    asked = retarget(points, moved)
    # Turned 15° anticlockwise on the photo: a lean, offered only as the tilt option.
    assert asked.misfit < 1e-9 and abs(asked.tilt + 15.0) < 1e-6
    target = rig.apply(points, asked.motion.scaled(tilt=0)).landmarks
    assert np.abs(target - points).max() < 1e-6


def test_the_mesh_warp_carries_a_dot_to_its_new_place():
    image = np.zeros((100, 120, 3), np.float32)
    image[38:43, 48:53] = 1.0  # a dot centred on (50, 40)
    corners = np.array([[0, 0], [119, 0], [0, 99], [119, 99]], np.float64)
    src = np.vstack([corners, [[50, 40]]])
    dst = np.vstack([corners, [[70, 60]]])
    warped = warp_mesh(image, src, dst)
    ys, xs = np.nonzero(warped[..., 0] > 0.5)
    assert abs(xs.mean() - 70) < 1.5 and abs(ys.mean() - 60) < 1.5


def _turned_by(points: np.ndarray, yaw: float) -> np.ndarray:
    """``points`` as the same face seen with the head turned by ``yaw`` degrees."""
    from engines.expression.pose import _turned, _upright

    upright, back, _ = _upright(points)
    return apply_affine(_turned(upright, np.radians(np.array(yaw)), np.zeros(())), back)


def test_a_head_turn_is_measured_and_not_copied_as_expression(first_face):
    from engines.expression.pose import NOISE_ANGLE, relative_turn

    points = first_face.landmarks
    turned = _turned_by(points, 30.0)
    yaw, pitch = relative_turn(points, turned)
    assert abs(abs(yaw) - (30.0 - NOISE_ANGLE)) < 1.5 and abs(pitch) < 1.5
    target = rig.apply(points, retarget(points, turned).motion).landmarks
    copied = fit_second(points, turned)[0]  # what copying the second's landmarks would do
    mouth = list(MOUTH)
    copy_move = np.linalg.norm(copied[mouth] - points[mouth], axis=1).max()
    our_move = np.linalg.norm(target[mouth] - points[mouth], axis=1).max()
    assert copy_move > 0.1 * eye_distance(points)  # a turn this large slides the mouth
    # Only the turn within NOISE_ANGLE is left (a sine, so nearly in proportion).
    assert our_move < (NOISE_ANGLE / 30.0 + 0.08) * copy_move


def test_stable_points_never_move(first_face, second_face):
    from engines.faces.shape import STABLE

    motion = retarget(first_face.landmarks, second_face.landmarks).motion
    target = rig.apply(first_face.landmarks, motion.scaled(tilt=0)).landmarks
    assert np.allclose(target[list(STABLE)], first_face.landmarks[list(STABLE)], atol=1e-9)


def test_the_smooth_warp_carries_a_dot_to_its_new_place():
    from engines.expression.mesh import remap, tps_maps

    image = np.zeros((100, 120, 3), np.float32)
    image[38:43, 48:53] = 1.0  # a dot centred on (50, 40)
    corners = np.array([[0, 0], [119, 0], [0, 99], [119, 99]], np.float64)
    src = np.vstack([corners, [[50, 40]]])
    dst = np.vstack([corners, [[62, 52]]])
    warped = remap(image, *tps_maps(src, dst, 120, 100))
    ys, xs = np.nonzero(warped[..., 0] > 0.5)
    assert abs(xs.mean() - 62) < 1.0 and abs(ys.mean() - 52) < 1.0


def test_the_second_photos_lipstick_does_not_come_along(first, first_face, second):
    from engines.expression.mouth import _MouthRegions

    points = first_face.landmarks
    x0, y0 = np.floor(points[4:13].min(0)).astype(int)
    x1, y1 = np.ceil(points[4:13].max(0)).astype(int)
    y0 = int(points[33, 1])  # from under the nose to below the chin (the flag is red too)

    def lipstick_red(image: np.ndarray) -> np.ndarray:
        around_mouth = image[y0:y1 + 40, x0:x1]
        return (around_mouth[..., 0] - around_mouth[..., 1]) > 0.4  # her own lips are not

    face = detect_faces(second)[0]
    lips = _MouthRegions(face.landmarks, second.shape[:2], eye_distance(face.landmarks)).lips
    painted = second.copy()
    painted[lips] = painted[lips] * 0.3 + np.array([0.75, 0.05, 0.1], np.float32) * 0.7
    assert not lipstick_red(first).any() and lipstick_red(painted).sum() > 300
    result = WarpExpressionEngine().run(ExpressionRequest(first, painted)).image
    assert lipstick_red(result).sum() < 0.1 * lipstick_red(painted).sum()


def test_only_what_a_warp_cannot_make_is_taken_from_the_second_photo(first_face):
    from engines.expression.transplant import features_to_take

    points = first_face.landmarks
    assert features_to_take(points, points) == ()
    opened = points.copy()
    opened[[65, 66, 67], 1] += 0.3 * eye_distance(points)  # the lower inner lip drops
    assert features_to_take(points, opened) == ("mouth",)
    blinking = points.copy()
    blinking[[37, 38], 1] = blinking[[41, 40], 1] - 1.0  # the first eye shut
    assert features_to_take(blinking, points) == ("first eye",)


def test_an_open_mouth_opening_much_wider_or_narrower_gets_a_new_inside(first_face):
    """The warp alone would stretch the teeth into a horse's grin (or squeeze them)."""
    points = first_face.landmarks
    unit = eye_distance(points)

    def with_gap(gap: float) -> np.ndarray:
        moved = points.copy()
        moved[[65, 66, 67], 1] = moved[[61, 62, 63], 1] + gap * unit
        return moved

    smiling = with_gap(0.2)  # teeth showing between parted lips
    assert mouth_change(smiling, with_gap(0.32)) == "open"
    assert mouth_change(smiling, with_gap(0.1)) == "open"  # narrower, still open
    assert mouth_change(smiling, with_gap(0.23)) is None  # a little more: the warp copes
    assert mouth_change(smiling, with_gap(0.0)) == "close"
    assert mouth_change(with_gap(0.0), with_gap(0.2)) == "open"
