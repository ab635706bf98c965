"""The classic harmonizers, on composites whose true colours the test knows.

Each case is a textured scene with a textured object lit like it (so the real photo is
known), then the object's colours are changed by a random colour transform (exposure
and colour-cast gains, offsets, gamma): what a paste from another photo looks like.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from engines.base import Cancelled, CancelToken, InvalidInput, Progress
from engines.composite.edge_match import EdgeMatchHarmonizer
from engines.composite.harmonize import (
    PoissonHarmonizer,
    ReinhardHarmonizer,
    global_lab_transfer,
    solve_membrane,
)
from engines.composite.request import HarmonizeRequest
from engines.registry import get

ENGINES = (ReinhardHarmonizer, PoissonHarmonizer, EdgeMatchHarmonizer)
H, W = 150, 190


def smooth_noise(rng: np.random.Generator, sigma: float) -> np.ndarray:
    """Zero-mean texture with unit-ish amplitude and grain of about ``sigma`` px."""
    noise = cv2.GaussianBlur(rng.standard_normal((H, W, 3)).astype(np.float32), (0, 0), sigma)
    return noise / (3 * noise.std())


def scene(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(real photo, object mask): grass-like ground and a striped object in the same light."""
    rng = np.random.default_rng(seed)
    light = rng.uniform(0.85, 1.15, 3).astype(np.float32)  # the scene's illuminant
    ground = rng.uniform(0.35, 0.45, 3).astype(np.float32)
    background = ground * light * (1 + 0.35 * smooth_noise(rng, 2.0))
    mask = np.zeros((H, W), np.uint8)
    centre = (int(rng.integers(70, 120)), int(rng.integers(60, 90)))
    axes = (int(rng.integers(30, 45)), int(rng.integers(22, 35)))
    cv2.ellipse(mask, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    stripes = np.sin(2 * np.pi * (xx + 0.5 * yy) / rng.uniform(8, 14))[..., None]
    material = ground + rng.uniform(-0.04, 0.04, 3).astype(np.float32)
    thing = material * light * (1 + 0.25 * stripes + 0.2 * smooth_noise(rng, 1.0))
    real = np.where(mask[..., None] > 0, thing, background)
    return np.clip(real, 0, 1).astype(np.float32), mask.astype(bool)


def perturbed(real: np.ndarray, mask: np.ndarray, seed: int) -> np.ndarray:
    """The object re-coloured: exposure, colour cast, offsets and gamma, all random."""
    rng = np.random.default_rng(1000 + seed)
    # Beyond the differences real objects show against their surroundings (about 22 L):
    # smaller errors are meant to be left alone (see test_..._left_alone).
    exposure = rng.uniform(0.3, 0.4) if rng.random() < 0.5 else rng.uniform(1.9, 2.3)
    cast = rng.uniform(0.85, 1.18, 3)
    offset = rng.uniform(-0.03, 0.03, 3)
    gamma = rng.uniform(0.85, 1.2)
    out = real.copy()
    out[mask] = np.clip(real[mask] * exposure * cast + offset, 0, 1) ** gamma
    return out.astype(np.float32)


def fmse(image: np.ndarray, real: np.ndarray, mask: np.ndarray) -> float:
    """Mean squared error over the object, 0–255 units (as iHarmony4 papers report it)."""
    return float(((image[mask] - real[mask]) ** 2).mean() * 255.0**2)


CASES = range(8)


@pytest.fixture(scope="module")
def scores() -> dict[str, list[tuple[float, float]]]:
    """(fMSE before, fMSE after) per engine and generated composite."""
    found: dict[str, list[tuple[float, float]]] = {}
    for seed in CASES:
        real, mask = scene(seed)
        composite = perturbed(real, mask, seed)
        before = fmse(composite, real, mask)
        assert before > 1000  # a clear mismatch, or the case proves nothing
        for engine in ENGINES:
            out = engine().run(HarmonizeRequest(composite, mask.astype(np.float32))).image
            found.setdefault(engine.__name__, []).append((before, fmse(out, real, mask)))
    return found


@pytest.mark.parametrize("engine", ENGINES)
def test_every_composite_comes_closer_to_its_true_colours(engine, scores):
    for seed, (before, after) in zip(CASES, scores[engine.__name__], strict=True):
        assert after < before, f"case {seed}: fMSE {before:.0f} -> {after:.0f}"


@pytest.mark.parametrize(("engine", "limit"), [
    (ReinhardHarmonizer, 0.5), (PoissonHarmonizer, 0.2), (EdgeMatchHarmonizer, 0.2)])
def test_most_of_the_error_goes_away_on_average(engine, limit, scores):
    before, after = np.mean(scores[engine.__name__], axis=0)
    assert after < limit * before, f"mean fMSE {before:.0f} -> {after:.0f}"


@pytest.mark.parametrize("engine", ENGINES)
def test_pixels_where_the_mask_is_zero_are_bit_exact_with_a_soft_edge(engine):
    real, mask = scene(11)
    composite = perturbed(real, mask, 11)
    alpha = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 2.0)
    alpha[alpha < 0.02] = 0.0  # a feathered paste: soft edge, exact zero beyond it
    out = engine().run(HarmonizeRequest(composite, alpha)).image
    assert out.dtype == np.float32 and out.shape == composite.shape
    assert np.array_equal(out[alpha == 0], composite[alpha == 0])
    assert not np.array_equal(out[alpha == 1], composite[alpha == 1])


@pytest.mark.parametrize("engine", ENGINES)
def test_strength_zero_returns_the_input_exactly_and_half_goes_half_way(engine):
    real, mask = scene(3)
    composite = perturbed(real, mask, 3)
    alpha = mask.astype(np.float32)
    none = engine().run(HarmonizeRequest(composite, alpha, strength=0.0)).image
    assert np.array_equal(none, composite) and none is not composite
    full = engine().run(HarmonizeRequest(composite, alpha, strength=1.0)).image
    half = engine().run(HarmonizeRequest(composite, alpha, strength=0.5)).image
    inside = (full > 0.01) & (full < 0.99)  # away from clipping the blend is linear
    assert np.allclose((half - composite)[inside], 0.5 * (full - composite)[inside], atol=1e-5)


def test_an_object_that_differs_like_real_objects_do_is_left_alone():
    """A dark thing on light ground is a different material, not a bad paste."""
    real, mask = scene(5)
    real[mask] *= 0.75  # about 10 L darker than the ground: well within real photos
    out = ReinhardHarmonizer().run(HarmonizeRequest(real, mask.astype(np.float32))).image
    assert fmse(out, real, mask) < 1.0


@pytest.mark.parametrize("engine", ENGINES)
def test_a_black_backdrop_is_no_reference_for_the_light(engine):
    """A studio shot on black: the backdrop's clipped pixels say nothing about exposure."""
    real, mask = scene(6)
    real[~mask] = 0.0
    out = engine().run(HarmonizeRequest(real, mask.astype(np.float32))).image
    assert fmse(out, real, mask) < 0.01


def test_the_global_baseline_matches_the_background_statistics():
    real, mask = scene(2)
    composite = perturbed(real, mask, 2)
    out = global_lab_transfer(composite, mask.astype(np.float32))
    assert np.array_equal(out[~mask], composite[~mask])
    lab = cv2.cvtColor(out, cv2.COLOR_RGB2Lab)
    assert np.allclose(lab[mask].mean(0), lab[~mask].mean(0), atol=1.5)


def test_the_membrane_solves_laplaces_equation_with_the_boundary_data():
    """Against a dense solve of the same discrete problem on a small grid."""
    rng = np.random.default_rng(4)
    lab = rng.uniform(-30, 30, (24, 30, 3)).astype(np.float32)
    lab[..., 0] += 50  # L in [20, 80]: no clipped pixels
    alpha = np.zeros((24, 30), np.float32)
    alpha[5:19, 6:25] = 1.0
    alpha[8:12, 10:14] = 0.0  # a hole in the object: boundary inside too
    membrane = solve_membrane(lab, alpha)
    omega = alpha >= 0.5
    index = -np.ones(omega.shape, int)
    index[omega] = np.arange(omega.sum())
    a = np.zeros((omega.sum(),) * 2)
    b = np.zeros((omega.sum(), 3))
    for y, x in zip(*np.nonzero(omega), strict=True):
        i = index[y, x]
        for qy, qx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
            if not (0 <= qy < 24 and 0 <= qx < 30):
                continue
            a[i, i] += 1
            if omega[qy, qx]:
                a[i, index[qy, qx]] -= 1
            else:
                b[i] += lab[qy, qx] - lab[y, x]
    exact = np.linalg.solve(a, b)
    assert np.abs(membrane[omega] - exact).max() < 0.05 * np.abs(exact).max()
    assert not membrane[~omega].any()


@pytest.mark.parametrize("engine", ENGINES)
def test_progress_reports_previews_of_the_crop_and_ends_done(engine):
    real, mask = scene(1)
    composite = np.zeros((300, 400, 3), np.float32)  # the scene in a corner of a larger photo
    composite[:H, :W] = perturbed(real, mask, 1)
    big_mask = np.zeros((300, 400), np.float32)
    big_mask[:H, :W] = mask
    seen: list[Progress] = []
    engine().run(HarmonizeRequest(composite, big_mask), seen.append)
    assert seen[-1].step == seen[-1].total and seen[-1].message == "Done"
    previews = [p for p in seen if p.preview is not None]
    assert previews and all(p.preview_box is not None for p in previews)
    x, y, w, h = previews[-1].preview_box
    assert w < 400 and h < 300  # only the region around the object
    assert previews[-1].preview.shape[:2] == (h, w)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_cancelled_run_raises_cancelled(engine):
    real, mask = scene(1)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        engine().run(HarmonizeRequest(real, mask.astype(np.float32)), cancel=token)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda img, m: (img, np.zeros_like(m)), "mask is empty"),
        (lambda img, m: (img, np.ones_like(m)), "covers the whole photo"),
        (lambda img, m: (img, m[:-10]), "The mask is 190×140 but the photo is 190×150"),
        (lambda img, m: (img[..., 0], m), "must be an RGB image"),
        (lambda img, m: (img, m * 255), "between 0 (background) and 1 (object)"),
    ],
)
def test_bad_inputs_are_refused_with_a_clear_sentence(engine, change, message):
    real, mask = scene(0)
    image, alpha = change(real, mask.astype(np.float32))
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        engine().run(HarmonizeRequest(image, alpha))


def test_strength_outside_zero_to_one_is_refused():
    real, mask = scene(0)
    with pytest.raises(InvalidInput, match="between 0 and 1"):
        ReinhardHarmonizer().run(HarmonizeRequest(real, mask.astype(np.float32), strength=1.5))


def test_the_edge_match_leaves_unedited_scenes_alone():
    """Objects whose outline steps are the size real photos show keep their colours:
    at most an invisible change (fMSE 25 is an rms error of 5 levels of 255), and most
    keep every pixel."""
    untouched = 0
    for seed in range(8):
        real, mask = scene(seed)
        toned = real.copy()
        toned[mask] *= 0.9  # a slightly darker material: a real difference, not an edit
        for photo in (real, toned):
            out = EdgeMatchHarmonizer().run(HarmonizeRequest(photo, mask.astype(np.float32)))
            assert fmse(out.image, photo, mask) < 25, seed
            untouched += np.array_equal(out.image, photo)
    assert untouched >= 14


def test_the_edge_match_takes_back_a_shift_seen_across_a_loose_mask():
    """A region re-coloured in place: its mask runs 4 px into the ground all round."""
    real, mask = scene(9)
    loose = cv2.dilate(mask.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    lab = cv2.cvtColor(real, cv2.COLOR_RGB2Lab)
    lab[loose] += np.array([30.0, 20.0, -25.0], np.float32)  # well beyond natural steps
    edited = np.clip(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB), 0, 1).astype(np.float32)
    out = EdgeMatchHarmonizer().run(HarmonizeRequest(edited, loose.astype(np.float32))).image
    assert fmse(out, real, loose) < 0.2 * fmse(edited, real, loose)


def test_the_registry_entries_load_these_engines():
    assert get("harmonize", "reinhard").load() is ReinhardHarmonizer
    assert get("harmonize", "poisson").load() is PoissonHarmonizer
    assert get("harmonize", "edge").load() is EdgeMatchHarmonizer
