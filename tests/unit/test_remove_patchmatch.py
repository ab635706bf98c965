"""The classic Remove engine, checked the way a photographer would judge a fill."""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np
import pytest

from engines.arrays import NumpyOps
from engines.base import Cancelled, CancelToken, InvalidInput, Progress
from engines.remove.patchfield import PatchField, Projection, fit_projection
from engines.remove.patchmatch import PatchMatchEngine
from engines.remove.planning import plan_crops
from engines.remove.request import RemoveRequest
from tests.unit.conftest import noise_texture, periodic_texture


def psnr_in(result: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> float:
    mse = float(((result[mask] - truth[mask]) ** 2).mean())
    return 10 * np.log10(1.0 / max(mse, 1e-12))


def telea(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    u8 = np.clip(image * 255 + 0.5, 0, 255).astype(np.uint8)
    return cv2.inpaint(u8, mask.astype(np.uint8), 5, cv2.INPAINT_TELEA).astype(np.float32) / 255


def blob_mask(h: int, w: int, centre: tuple[int, int], axes: tuple[int, int]) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    cv2.ellipse(m, centre, axes, 30, 0, 360, 1, -1)
    return m.astype(bool)


def test_hole_in_periodic_texture_is_refilled_with_the_texture(texture):
    mask = blob_mask(*texture.shape[:2], (96, 80), (30, 22))
    damaged = texture.copy()
    damaged[mask] = (1.0, 0.0, 1.0)  # the distractor
    result = PatchMatchEngine().run(RemoveRequest(damaged, mask)).image
    ours, baseline = psnr_in(result, texture, mask), psnr_in(telea(damaged, mask), texture, mask)
    assert ours >= 30.0, f"fill PSNR {ours:.1f} dB"
    assert baseline < 25.0 < ours  # a smooth diffusion fill cannot get the texture back


def test_pixels_outside_the_mask_are_bit_exact_with_several_odd_holes():
    rng = np.random.default_rng(3)
    image = rng.random((140, 170, 3), dtype=np.float32)
    mask = blob_mask(140, 170, (40, 40), (18, 9)) | blob_mask(140, 170, (120, 100), (12, 25))
    mask[100:104, 10:60] = True  # a thin stroke
    result = PatchMatchEngine().run(RemoveRequest(image, mask, seed=1)).image
    assert result.dtype == np.float32 and result.shape == image.shape
    assert np.array_equal(result[~mask], image[~mask])
    assert not np.array_equal(result[mask], image[mask])


def test_the_distractor_disappears_from_every_hole():
    image = noise_texture(150, 200, seed=5, tint=(0.35, 0.55, 0.25))
    mask = blob_mask(150, 200, (50, 60), (20, 14)) | blob_mask(150, 200, (150, 90), (16, 24))
    image[mask] = (1.0, 0.0, 1.0)
    result = PatchMatchEngine().run(RemoveRequest(image, mask)).image
    magenta = (result[..., 0] > 0.7) & (result[..., 1] < 0.3) & (result[..., 2] > 0.7)
    assert not magenta[mask].any()
    grass = image[~mask].mean(axis=0)
    assert np.abs(result[mask].mean(axis=0) - grass).max() < 0.05


def test_dont_copy_from_region_is_respected():
    h, w = 120, 200
    image = noise_texture(h, w, seed=1, tint=(0.3, 0.6, 0.3))  # green left
    image[:, w // 2 :] = noise_texture(h, w - w // 2, seed=2, tint=(0.3, 0.3, 0.7))  # blue right
    mask = np.zeros((h, w), bool)
    mask[45:75, 35:65] = True
    engine = PatchMatchEngine()
    plain = engine.run(RemoveRequest(image, mask)).image
    avoid = np.zeros((h, w), bool)
    avoid[:, : w // 2] = True
    avoid &= ~mask
    avoided = engine.run(RemoveRequest(image, mask, avoid=avoid)).image
    assert plain[mask][:, 1].mean() > plain[mask][:, 2].mean()  # green from around the hole
    assert avoided[mask][:, 2].mean() > avoided[mask][:, 1].mean() + 0.2  # only blue allowed


def test_same_seed_gives_the_same_fill(texture):
    mask = blob_mask(*texture.shape[:2], (60, 70), (25, 15))
    noisy = texture + np.random.default_rng(0).normal(0, 0.05, texture.shape).astype(np.float32)
    first = PatchMatchEngine().run(RemoveRequest(noisy, mask, seed=7)).image
    second = PatchMatchEngine().run(RemoveRequest(noisy, mask, seed=7)).image
    assert np.array_equal(first, second)


@pytest.mark.parametrize(
    ("make_mask", "words"),
    [
        (lambda shape: np.zeros(shape, bool), "empty"),
        (lambda shape: np.ones(shape, bool), "whole photo"),
    ],
)
def test_empty_and_full_masks_are_refused_with_a_reason(texture, make_mask, words):
    with pytest.raises(InvalidInput, match=words):
        PatchMatchEngine().run(RemoveRequest(texture, make_mask(texture.shape[:2])))


def test_mask_of_another_size_is_refused_with_both_sizes(texture):
    with pytest.raises(InvalidInput, match=r"10×10.*192×160"):
        PatchMatchEngine().run(RemoveRequest(texture, np.ones((10, 10), bool)))


def test_nothing_left_to_copy_from_is_explained():
    image = periodic_texture(40, 40)
    mask = np.ones((40, 40), bool)
    mask[0, 0] = False  # one known pixel is no patch
    with pytest.raises(InvalidInput, match="copy from"):
        PatchMatchEngine().run(RemoveRequest(image, mask))


def test_previews_arrive_before_the_result_and_describe_progress(texture):
    mask = blob_mask(*texture.shape[:2], (96, 80), (30, 22))
    seen: list[Progress] = []
    result = PatchMatchEngine().run(RemoveRequest(texture, mask), seen.append)
    previews = [p for p in seen if p.preview is not None and p.step < p.total]
    assert len(previews) >= 3
    assert [p.step for p in seen] == sorted(p.step for p in seen)
    assert len({p.total for p in seen}) == 1 and seen[-1].step == seen[-1].total
    x, y, w, h = previews[0].preview_box
    assert x >= 0 and y >= 0 and x + w <= 192 and y + h <= 160
    assert previews[0].preview.ndim == 3 and previews[0].preview.shape[2] == 3
    assert np.array_equal(seen[-1].preview, result.image)


def test_cancel_stops_within_a_second_and_changes_nothing():
    image = noise_texture(1200, 1600, seed=4, tint=(0.5, 0.5, 0.5))
    original = image.copy()
    mask = blob_mask(1200, 1600, (800, 600), (260, 200))
    token = CancelToken()
    cancelled_at: list[float] = []

    def cancel_soon(progress: Progress) -> None:
        if progress.step == 3 and not cancelled_at:
            threading.Thread(target=lambda: (token.cancel(), cancelled_at.append(
                time.perf_counter()))).start()

    with pytest.raises(Cancelled):
        PatchMatchEngine().run(RemoveRequest(image, mask), cancel_soon, token)
    assert cancelled_at and time.perf_counter() - cancelled_at[0] < 1.0
    assert np.array_equal(image, original)


def test_large_photo_work_is_limited_to_a_crop_around_the_hole():
    mask = np.zeros((3000, 4000), bool)
    mask[1000:1100, 2500:2650] = True
    crops = plan_crops(mask)
    assert len(crops) == 1
    crop = crops[0]
    assert crop.y0 <= 1000 and crop.y1 >= 1100 and crop.x0 <= 2500 and crop.x1 >= 2650
    assert crop.area < 0.02 * mask.size


def test_nearby_holes_share_a_crop_and_far_ones_do_not():
    mask = np.zeros((1000, 1000), bool)
    mask[100:120, 100:120] = True
    mask[100:120, 150:170] = True  # close to the first
    mask[800:820, 800:820] = True  # far away
    crops = plan_crops(mask)
    assert len(crops) == 2
    for y, x in ((110, 110), (110, 160), (810, 810)):
        assert sum(c.y0 <= y < c.y1 and c.x0 <= x < c.x1 for c in crops) == 1


def test_torch_backend_fills_like_the_numpy_one(texture):
    pytest.importorskip("torch")
    mask = blob_mask(*texture.shape[:2], (96, 80), (30, 22))
    result = PatchMatchEngine(backend="torch").run(RemoveRequest(texture, mask))
    assert np.array_equal(result.image[~mask], texture[~mask])
    assert psnr_in(result.image, texture, mask) >= 30.0


def test_holes_touching_the_edges_and_corners_are_filled(texture):
    h, w = texture.shape[:2]
    mask = np.zeros((h, w), bool)
    mask[:12, :20] = True  # top-left corner
    mask[h - 9 :, 60:100] = True  # bottom edge
    mask[50:80, w - 5 :] = True  # right edge
    damaged = texture.copy()
    damaged[mask] = (1.0, 0.0, 1.0)
    result = PatchMatchEngine().run(RemoveRequest(damaged, mask)).image
    assert np.array_equal(result[~mask], texture[~mask])
    magenta = (result[..., 0] > 0.9) & (result[..., 1] < 0.1) & (result[..., 2] > 0.9)
    assert not magenta[mask].any()
    # Texture continues into each edge hole rather than a flat smear.
    for region in (np.s_[:12, :20], np.s_[h - 9 :, 60:100], np.s_[50:80, w - 5 :]):
        assert result[region].std() > 0.6 * texture[region].std()
    assert psnr_in(result, texture, mask) >= 15.0


def test_patch_features_do_not_depend_on_how_their_sums_are_split():
    """The same photo must fill the same in a one-thread batch worker and on all cores.

    Filtering and GEMM add a patch's products in different orders (and OpenCV splits
    them by thread count); in float arithmetic the two disagree in the last bits, which
    is enough to flip which of two candidate patches wins. The features are exact, so
    both routes, on one thread or several, give the very same numbers.
    """
    image = noise_texture(160, 200, 3, (0.4, 0.5, 0.3))
    hole = np.zeros(image.shape[:2], bool)
    hole[60:100, 70:130] = True
    projection = Projection(fit_projection(image, hole, 7))
    ops = NumpyOps(0)
    ys, xs = (a + 3 for a in np.nonzero(np.ones((154, 194), bool)))
    threads = cv2.getNumThreads()
    try:
        cv2.setNumThreads(1)
        one_thread = projection.correlate(ops, image)[ys, xs]
    finally:
        cv2.setNumThreads(threads)
    by_filtering = projection.correlate(ops, image)[ys, xs]
    by_gemm = projection.project(ops, image, ys, xs)
    assert np.array_equal(by_filtering, by_gemm)
    assert np.array_equal(one_thread, by_filtering)
    assert np.abs(by_filtering).max() > 0.1  # features that carry the patches


def test_features_computed_only_where_needed_equal_the_whole_window_ones():
    """A refined level filters only around the hole and its coarse matches; the fill
    must not change for it, so those features are the whole window's, bit for bit."""
    image = noise_texture(300, 420, 11, (0.5, 0.4, 0.3))
    hole = np.zeros(image.shape[:2], bool)
    hole[40:60, 30:390] = True  # a stroke across the photo
    hole[200:260, 300:330] = True
    ops = NumpyOps(0)
    whole = PatchField(ops, image.copy(), hole, None, 7)
    near = np.zeros_like(hole)
    near[20:90, :] = True  # sources only near the first stroke
    pieces = PatchField(ops, image.copy(), hole, None, 7, kernels=whole.kernels, near=near)
    read = pieces.valid.copy()
    read[pieces.ty, pieces.tx] = True  # what the search reads: sources and targets
    ys, xs = np.nonzero(read)
    assert not pieces.valid[150:, :].any()  # far sources were left out...
    assert np.array_equal(pieces._feats[pieces._win_lin(ys, xs)],
                          whole._feats[whole._win_lin(ys, xs)])
    assert np.array_equal(pieces._target_feats, whole._target_feats)
    assert np.count_nonzero(pieces._feats.any(axis=1)) < 0.7 * pieces._feats.shape[0]


def test_the_final_vote_copies_each_pixel_from_its_best_patch():
    """The last vote copies instead of averaging, so the fill keeps the photo's grain;
    checked against a plain reading of that rule, patch by patch."""
    image = noise_texture(90, 110, 4, (0.3, 0.6, 0.4))
    hole = blob_mask(90, 110, (55, 45), (14, 10))
    ops = NumpyOps(2)
    field = PatchField(ops, image.copy(), hole, None, 7)
    field.init_random()
    before = field.image.copy()
    sigma2 = max(float(np.quantile(field.dist, 0.25)), 1e-6)
    weight = np.exp(-field.dist / (2.0 * sigma2)) + 1e-4
    field.vote(hard=True)
    r = field.r
    for y, x in zip(*np.nonzero(hole), strict=True):
        best, value = 0.0, None
        for dy in range(-r, r + 1):  # the first of equal weights wins
            for dx in range(-r, r + 1):
                t = field.index[y - dy, x - dx] if 0 <= y - dy < 90 and 0 <= x - dx < 110 else -1
                if t >= 0 and weight[t] > best:
                    best = weight[t]
                    value = before[field.sy[t] + dy, field.sx[t] + dx]
        assert value is not None and np.array_equal(field.image[y, x], value)
