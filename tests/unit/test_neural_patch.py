"""Neural patch synthesis (ch. 2) with the fixed random VGG-19: no download needed.

What a user relies on: every iteration lowers the energy and shows a preview, the
texture term pulls the hole's neural patches towards the photo's own, pixels outside
the hole stay bit-exact, Cancel stops within a second, and without the VGG-19 file the
engine says how to install it.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from engines.base import Cancelled, CancelToken
from engines.remove.neural_patch.engine import NeuralPatchEngine
from engines.remove.neural_patch.synthesis import Iteration, SynthesisSettings, synthesize
from engines.remove.neural_patch.vgg import random_network
from engines.remove.request import RemoveRequest


def stripes(n: int = 96) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:n, 0:n]
    image = np.dstack([0.5 + 0.4 * np.sin(xx / 2.0), 0.5 + 0.3 * np.sin(yy / 3.0),
                       0.4 + 0.1 * np.cos((xx + yy) / 5.0)]).astype(np.float32)
    hole = np.zeros((n, n), bool)
    hole[n // 4: 3 * n // 4, n // 4: 3 * n // 4] = True
    return image, hole


def flat_guess(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """A content prediction with no texture at all: the mean colour of the rest."""
    return np.where(hole[..., None], image[~hole].mean(axis=0), image).astype(np.float32)


@pytest.fixture(scope="module")
def run_log():
    image, hole = stripes()
    log: list[Iteration] = []
    result = synthesize(image, hole, flat_guess(image, hole), random_network(),
                        SynthesisSettings(iterations=8, alpha=5e-6), on_iteration=log.append)
    return image, hole, result, log


def test_every_scale_ends_at_a_lower_energy_than_it_started(run_log):
    _, _, _, log = run_log
    scales = sorted({step.scale for step in log})
    assert len(scales) == 2  # 96 px: the 24 px scale is below the smallest one kept
    for scale in scales:
        energies = [step.energy for step in log if step.scale == scale]
        assert energies[-1] <= energies[0]
    finest = [step.energy for step in log if step.scale == scales[-1]]
    assert finest[-1] < 0.95 * finest[0]


def test_the_texture_term_pulls_the_holes_patches_towards_the_photos(run_log):
    _, _, _, log = run_log
    finest = [step for step in log if step.scale == max(s.scale for s in log)]
    assert finest[-1].texture < 0.9 * finest[0].texture
    assert finest[-1].content > 0  # it left the flat guess to get there


def test_outside_the_hole_nothing_moves(run_log):
    image, hole, result, _ = run_log
    assert np.array_equal(result[~hole], image[~hole])
    assert not np.allclose(result[hole], flat_guess(image, hole)[hole])


def test_the_engine_previews_every_iteration_and_keeps_the_photo(monkeypatch):
    monkeypatch.setenv("TRANSFIGURE_INPAINT_MODELS", "/nonexistent")  # no generator: fallback
    image, hole = stripes()
    previews = []
    engine = NeuralPatchEngine(random_vgg=True)
    result = engine.run(RemoveRequest(image, hole, iterations=3), previews.append)
    iterations = [p for p in previews if "iteration" in p.message]
    assert len(iterations) == 2 * 3  # two scales at 96 px, three iterations each
    assert all(p.preview is not None for p in iterations)
    assert "Scale 2 of 2, iteration 3 of 3" in iterations[-1].message
    assert np.array_equal(result.image[~hole], image[~hole])
    assert "RANDOM weights" in result.notes  # the development network is always named


def test_cancel_stops_within_a_second():
    image, hole = stripes(160)
    token = CancelToken()
    seen = threading.Event()
    failure: list[BaseException] = []

    def work():
        try:
            NeuralPatchEngine(random_vgg=True).run(
                RemoveRequest(image, hole, iterations=200),
                lambda p: seen.set() if "iteration" in p.message else None, token)
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            failure.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    assert seen.wait(60)
    asked = time.perf_counter()
    token.cancel()
    thread.join(10)
    assert not thread.is_alive() and time.perf_counter() - asked < 1.0
    assert failure and isinstance(failure[0], Cancelled)


def test_without_the_vgg19_file_the_engine_says_how_to_install_it(monkeypatch, tmp_path):
    from engines import registry
    from engines.store import weights

    monkeypatch.delenv("TRANSFIGURE_RANDOM_VGG", raising=False)
    monkeypatch.setattr(weights, "is_installed", lambda entry: False)
    availability = registry.get("remove", "neural-patch").availability()
    assert not availability.available
    assert "VGG-19" in availability.reason and "weights download vgg19" in availability.fix


@pytest.mark.parametrize("field, value, words", [("iterations", 0, "1 to 1000"),
                                                 ("texture_weight", -1.0, "0 or more"),
                                                 ("smoothness_weight", -2.0, "0 or more")])
def test_bad_options_are_refused_with_a_sentence(field, value, words):
    from engines.base import InvalidInput

    image, hole = stripes(40)
    with pytest.raises(InvalidInput, match=words):
        RemoveRequest(image, hole, **{field: value}).validate()


def test_a_large_photo_is_optimised_small_and_refined_at_full_size(monkeypatch):
    """The crop around a 280 px hole is over 512 px: the optimisation runs on it shrunk,
    the patch engine puts full-resolution texture back; the rest stays bit-exact."""
    yy, xx = np.mgrid[0:720, 0:720]
    image = np.dstack([0.5 + 0.4 * np.sin(xx / 2.0), 0.5 + 0.3 * np.sin(yy / 3.0),
                       0.4 + 0.0 * xx]).astype(np.float32)
    hole = np.zeros((720, 720), bool)
    hole[220:500, 220:500] = True
    messages = []
    result = NeuralPatchEngine(random_vgg=True).run(
        RemoveRequest(image, hole, iterations=1), lambda p: messages.append(p.message))
    assert any("iteration" in m for m in messages)
    assert np.array_equal(result.image[~hole], image[~hole])
    filled = result.image[hole]
    # The photo's own stripes came back at full resolution (a shrunk result upsampled
    # would be smooth): neighbouring columns in the hole differ as they do outside.
    inside = np.abs(np.diff(result.image[230:490, 230:490, 0], axis=1)).mean()
    outside = np.abs(np.diff(image[:200, :, 0], axis=1)).mean()
    assert inside > 0.5 * outside and filled.std() > 0.05
