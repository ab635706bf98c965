"""Pasting an object from a guide photo: where it lands, no halo, the rest untouched."""

from __future__ import annotations

import numpy as np
import pytest

from engines.base import Cancelled, CancelToken, InvalidInput
from engines.composite.apply import GuidedCompositeEngine
from engines.composite.request import CompositeRequest, Placement
from tests.unit.conftest import noise_texture

OBJECT = (0.95, 0.8, 0.1)  # a yellow disc
GUIDE_BACKGROUND = (1.0, 0.0, 1.0)  # magenta: any of it left in the result is a halo


def guide_with_disc(radius: int = 20, grow: int = 0):
    """A 120×160 guide: a yellow disc at (80, 60) on magenta; its mask ``grow`` px too big."""
    guide = np.empty((120, 160, 3), np.float32)
    guide[:] = GUIDE_BACKGROUND
    yy, xx = np.mgrid[0:120, 0:160]
    dist = np.hypot(xx - 80, yy - 60)
    guide[dist <= radius] = OBJECT
    return guide, dist <= radius + grow


def run(target, guide, mask, place, **kwargs):
    request = CompositeRequest(target, guide, mask.astype(np.float32), (50, 30, 60, 60), place,
                               harmonize="none", **kwargs)
    return GuidedCompositeEngine().run(request)


@pytest.fixture
def target():
    return noise_texture(200, 260, seed=2, tint=(0.3, 0.55, 0.3))


def test_the_object_lands_where_placed_and_nothing_else_changes(target):
    guide, mask = guide_with_disc()
    result = run(target, guide, mask, Placement(100, 70))
    image = result.image
    # The box's top-left (50, 30) goes to (100, 70): the disc's centre (80, 60) to (130, 100).
    assert np.allclose(image[100, 130], OBJECT, atol=1e-5)
    assert np.allclose(image[92:109, 122:139], OBJECT, atol=1e-5)
    x, y, w, h = result.region
    outside = np.ones(target.shape[:2], bool)
    outside[y : y + h, x : x + w] = False
    assert np.array_equal(image[outside], target[outside])
    assert x >= 100 and x + w <= 160 and y >= 70 and y + h <= 130  # within the pasted box


def test_no_halo_of_the_guide_background_remains(target):
    guide, mask = guide_with_disc(grow=2)  # the segmentation took 2 px of magenta along
    image = run(target, guide, mask, Placement(100, 70)).image
    magenta = (image[..., 0] > 0.7) & (image[..., 1] < 0.35) & (image[..., 2] > 0.7)
    assert not magenta.any()
    # A plain paste of the same mask would have left a magenta ring.
    naive = target.copy()
    naive[70:130, 100:160][mask[30:90, 50:110]] = guide[30:90, 50:110][mask[30:90, 50:110]]
    assert ((naive[..., 0] > 0.7) & (naive[..., 1] < 0.35)).sum() > 50


def test_pasting_the_whole_box_replaces_what_was_under_it(target):
    target = target.copy()
    target[75:125, 105:155] = (0.9, 0.1, 0.1)  # a red square under the box
    guide, mask = guide_with_disc()
    only_object = run(target, guide, mask, Placement(100, 70)).image
    whole_box = run(target, guide, mask, Placement(100, 70), paste_box=True).image

    def red(image):
        return ((image[..., 0] > 0.7) & (image[..., 1] < 0.3)).sum()

    assert red(only_object) > 500  # the square's corners still show around the disc
    assert red(whole_box) == 0
    assert np.allclose(whole_box[100, 130], OBJECT, atol=1e-5)


def test_scale_and_flip_move_the_object(target):
    guide, mask = guide_with_disc()
    guide[55:65, 80:100] = (0.1, 0.1, 0.9)  # a blue bar on the disc's right half
    image = run(target, guide, mask, Placement(20, 10, 2.0, 2.0, flip=True)).image
    # Box (60×60) scaled ×2 → 120×120 at (20, 10); flipped, the bar is on the left half.
    centre = (10 + 30 * 2, 20 + 30 * 2)
    assert np.allclose(image[centre[0], centre[1] - 25], (0.1, 0.1, 0.9), atol=0.05)
    assert np.allclose(image[centre[0], centre[1] + 25], OBJECT, atol=0.05)
    assert np.allclose(image[centre[0] - 35, centre[1]], OBJECT, atol=0.05)  # radius 40 now


def test_progress_previews_arrive_and_cancel_stops(target):
    guide, mask = guide_with_disc()
    seen = []
    request = CompositeRequest(target, guide, mask.astype(np.float32), (50, 30, 60, 60),
                               Placement(100, 70), harmonize="none")
    GuidedCompositeEngine().run(request, seen.append)
    assert seen[0].preview is not None and seen[0].preview_box is not None
    assert seen[-1].step == seen[-1].total
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        GuidedCompositeEngine().run(request, cancel=token)


@pytest.mark.parametrize(
    ("box", "place", "mask_kind", "words"),
    [
        ((150, 100, 60, 60), Placement(10, 10), "disc", "not inside"),
        ((0, 0, 30, 30), Placement(10, 10), "disc", "No object"),
        ((50, 30, 60, 60), Placement(10, 10, 8.0, 8.0), "disc", "larger than the photo"),
        ((50, 30, 60, 60), Placement(900, 10), "disc", "outside the photo"),
        ((50, 30, 60, 60), Placement(10, 10, -1.0, 1.0), "disc", "positive"),
        ((50, 30, 60, 60), Placement(10, 10), "empty", "No object"),
    ],
)
def test_bad_requests_say_what_is_wrong(target, box, place, mask_kind, words):
    guide, mask = guide_with_disc()
    if mask_kind == "empty":
        mask = np.zeros_like(mask)
    request = CompositeRequest(target, guide, mask.astype(np.float32), box, place,
                               harmonize="none")
    with pytest.raises(InvalidInput, match=words):
        GuidedCompositeEngine().run(request)


def _in_light(image: np.ndarray, gains: tuple[float, float, float]) -> np.ndarray:
    """``image`` as if shot in other light: linear RGB times ``gains``, re-encoded."""
    from engines.composite.harmonize import linear_light, srgb_from_linear

    back = srgb_from_linear(linear_light(image))
    assert np.allclose(back, image, atol=1e-5)  # the two conversions are inverses
    return srgb_from_linear(linear_light(image) * np.asarray(gains, np.float32))


def _guide_scene() -> tuple[np.ndarray, np.ndarray]:
    """A guide photo from the target's world: grass-like ground and a textured red disc."""
    guide = noise_texture(120, 160, seed=7, tint=(0.3, 0.55, 0.3))
    yy, xx = np.mgrid[0:120, 0:160]
    disc = np.hypot(xx - 80, yy - 60) <= 20
    guide[disc] = noise_texture(120, 160, seed=8, tint=(0.7, 0.25, 0.2))[disc]
    return guide, disc


def test_an_object_shot_at_dusk_is_carried_into_the_photos_daylight(target):
    guide, disc = _guide_scene()
    dusk = _in_light(guide, (0.3, 0.22, 0.15))  # under a third of the light, and warmer
    truth = run(target, guide, disc, Placement(100, 70), match_light=False).image
    plain = run(target, dusk, disc, Placement(100, 70), match_light=False).image
    matched = run(target, dusk, disc, Placement(100, 70)).image
    inside = np.zeros(target.shape[:2], bool)
    inside[70:130, 100:160] = disc[30:90, 50:110]

    def error(image):
        return float(np.square(image[inside] - truth[inside]).mean())

    assert error(matched) < 0.05 * error(plain)


def test_a_guide_in_the_same_light_is_pasted_as_it_is(target):
    guide, disc = _guide_scene()
    as_is = run(target, guide, disc, Placement(100, 70), match_light=False).image
    assert np.array_equal(run(target, guide, disc, Placement(100, 70)).image, as_is)


def test_a_white_object_off_an_orange_desk_stays_white_on_a_wooden_shelf():
    """Issue 16, defect 12: both photos warm wood, the photo with a dark red bottle on
    its shelf; what they show fooled the light estimate and a white mouse came out
    lavender."""
    desk = noise_texture(120, 160, seed=7, tint=(0.7, 0.44, 0.13))
    yy, xx = np.mgrid[0:120, 0:160]
    mouse = np.hypot(xx - 80, yy - 60) <= 20
    desk[mouse] = noise_texture(120, 160, seed=8, tint=(0.9, 0.9, 0.88))[mouse]
    shelf = noise_texture(200, 260, seed=2, tint=(0.7, 0.45, 0.2))
    shelf[20:180, 20:80] = noise_texture(160, 60, seed=3, tint=(0.35, 0.08, 0.06))  # bottle
    image = run(shelf, desk, mouse, Placement(100, 70)).image
    inside = np.zeros(shelf.shape[:2], bool)
    inside[70:130, 100:160] = (np.hypot(xx - 80, yy - 60) <= 16)[30:90, 50:110]  # past the edge
    red, _, blue = image[inside].mean(axis=0)
    assert abs(float(blue - red)) < 0.03, (red, blue)
