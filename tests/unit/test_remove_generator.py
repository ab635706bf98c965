"""The ch. 3 generator: holes, network, model file, trainer, and the two engines that use it.

Every model here is a toy (a few channels) made by the test; none needs real weights.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from engines import store
from engines.base import Cancelled, CancelToken, EngineError
from engines.remove.generator.engine import GeneratorEngine
from engines.remove.generator.holes import KINDS, random_hole, silhouette_hole
from engines.remove.generator.model_file import INPAINTING, read_info, save_model
from engines.remove.generator.networks import InpainterWidths, build_inpainter
from engines.remove.generator.train import InpainterSettings, train
from engines.remove.guided import GuidedEngine
from engines.remove.patchmatch import PatchMatchEngine
from engines.remove.request import RemoveRequest
from tests.unit.conftest import noise_texture, periodic_texture

TOY = InpainterWidths(generator=4, blocks=2, procedural=3, discriminator=4)


def toy_model(path: Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    network = build_inpainter(TOY).eval()
    return save_model(network, path, TOY, {"resolution": 32, "iterations": {"head": 5}})


def blob_mask(h: int, w: int, box: tuple[int, int, int, int]) -> np.ndarray:
    mask = np.zeros((h, w), bool)
    y0, y1, x0, x1 = box
    mask[y0:y1, x0:x1] = True
    return mask


# ------------------------------------------------------------------------------ holes


@pytest.mark.parametrize("kind", KINDS)
def test_training_holes_cover_the_asked_share_of_the_image(kind):
    rng = np.random.default_rng(1)
    person = np.zeros((60, 24), np.uint8)
    cv2.ellipse(person, (12, 30), (10, 28), 0, 0, 360, 1, -1)
    shares = [random_hole((128, 128), rng, [person], 0.05, 0.5, kind).mean()
              for _ in range(30)]
    assert min(shares) >= 0.04 and max(shares) <= 0.55
    assert np.std(shares) > 0.03  # a range of sizes, not one


def test_a_silhouette_hole_keeps_the_objects_shape():
    tall = np.zeros((80, 20), np.uint8)
    tall[:, 5:15] = 1  # a thin upright object, 8:1
    hole = silhouette_hole(tall, (200, 200), 0.05, np.random.default_rng(0))
    ys, xs = np.nonzero(hole)
    height, width = np.ptp(ys) + 1, np.ptp(xs) + 1
    assert height > 2 * width  # still upright and thin after the random rotation (≤ 30°)
    assert abs(hole.mean() - 0.05) < 0.015


# ---------------------------------------------------------------------------- network


def test_nothing_of_what_the_hole_covered_reaches_the_prediction():
    network = build_inpainter(TOY).eval()
    x = torch.rand(1, 3, 64, 64)
    hole = torch.zeros(1, 1, 64, 64)
    hole[..., 16:48, 16:48] = 1
    other = x.clone()
    other[..., 16:48, 16:48] = torch.rand(1, 3, 32, 32)  # a different distractor
    with torch.no_grad():
        a, b = network(x, hole), network(other, hole)
    assert torch.equal(a, b)
    assert a.shape == x.shape and float(a.min()) >= 0 and float(a.max()) <= 1


# ------------------------------------------------------------------------- model file


def test_a_saved_model_loads_through_the_store_and_predicts_the_same(tmp_path):
    path = toy_model(tmp_path / "toy.safetensors")
    network, info = store.load_file(INPAINTING, path)
    assert info.resolution == 32 and info.widths == TOY
    torch.manual_seed(0)
    reference = build_inpainter(TOY).eval()
    x, hole = torch.rand(1, 3, 32, 32), (torch.rand(1, 1, 32, 32) > 0.7).float()
    with torch.no_grad():
        assert torch.allclose(network(x, hole), reference(x, hole))


def test_a_damaged_model_file_is_refused_with_a_sentence(tmp_path):
    path = toy_model(tmp_path / "toy.safetensors")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(EngineError) as caught:
        store.load_file(INPAINTING, path)
    assert "could not be read" in caught.value.message
    assert "train-inpainter" in caught.value.message  # and how to get a good one


def test_a_translation_model_is_not_taken_for_an_inpainting_one(tmp_path):
    path = tmp_path / "other.safetensors"
    store.save_tensors(path, {"w": torch.zeros(2)}, {"format": "transfigure-translator"})
    with pytest.raises(EngineError, match="not a Transfigure inpainting model"):
        read_info(path)


# ---------------------------------------------------------------------------- engines


@pytest.mark.parametrize("engine", [GeneratorEngine, lambda: GuidedEngine("numpy")])
def test_the_structure_engines_keep_every_pixel_outside_the_hole(tmp_path, engine):
    model = toy_model(tmp_path / "toy.safetensors")
    image = noise_texture(90, 130, 3, (0.3, 0.5, 0.2))
    mask = blob_mask(90, 130, (30, 60, 40, 80)) | blob_mask(90, 130, (5, 15, 110, 125))
    image[mask] = (1.0, 0.0, 1.0)  # the distractor
    previews = []
    result = engine().run(RemoveRequest(image, mask, model=str(model)), previews.append)
    keep = ~mask
    assert np.array_equal(result.image[keep].view(np.uint32), image[keep].view(np.uint32))
    magenta = np.all(np.abs(result.image[mask] - (1.0, 0.0, 1.0)) < 0.1, axis=1)
    assert magenta.mean() < 0.05  # the distractor is gone
    assert previews and "toy" in result.notes  # a preview arrived; the model is named


def test_the_generator_engine_stops_on_cancel_and_returns_nothing(tmp_path):
    model = toy_model(tmp_path / "toy.safetensors")
    image = noise_texture(64, 64, 1, (0.5, 0.5, 0.5))
    cancel = CancelToken()
    cancel.cancel()
    with pytest.raises(Cancelled):
        GeneratorEngine().run(RemoveRequest(image, blob_mask(64, 64, (20, 40, 20, 40)),
                                            model=str(model)), cancel=cancel)


def test_a_missing_model_says_how_to_get_one(tmp_path):
    image = noise_texture(64, 64, 1, (0.5, 0.5, 0.5))
    with pytest.raises(EngineError) as caught:
        GeneratorEngine().run(RemoveRequest(image, blob_mask(64, 64, (20, 40, 20, 40)),
                                            model=str(tmp_path / "none.safetensors")))
    assert "does not exist" in caught.value.message and "train-inpainter" in caught.value.message


def test_the_content_term_makes_the_fill_follow_the_prediction(monkeypatch):
    """A hole inside a red texture, and a prediction that says "blue goes here" (as a
    generator says "the bench goes on"): the guided fill copies the photo's blue texture
    into the hole, where the classic engine, knowing only the surroundings, fills red."""
    h, w = 120, 160
    red = periodic_texture(h, w) * np.float32((1.0, 0.3, 0.2))
    blue = noise_texture(h, w, 5, (0.15, 0.25, 0.85))
    image = np.where((np.arange(w) >= 110)[None, :, None], blue, red).astype(np.float32)
    mask = blob_mask(h, w, (30, 90, 20, 80))
    prediction = image.copy()
    prediction[mask] = blue[mask].mean(axis=0)  # a flat "blue", as blurry as a network's

    def prior(self, request, device, image_, mask_, crops, counter):
        return [prediction[c.slices].copy() for c in crops]

    monkeypatch.setattr(GuidedEngine, "content_prior", prior)

    def blue_share(result: np.ndarray) -> float:
        return float(np.mean(result[mask][:, 2] > result[mask][:, 0]))

    guided = GuidedEngine("numpy").run(RemoveRequest(image, mask)).image
    classic = PatchMatchEngine("numpy").run(RemoveRequest(image, mask)).image
    assert blue_share(guided) > 0.8 and blue_share(classic) < 0.2
    # copied texture, not the prediction's flat colour
    assert guided[mask].std(axis=0).mean() > 0.5 * blue[:, 110:].std(axis=(0, 1)).mean()


# ---------------------------------------------------------------------------- trainer


def _photos(folder: Path, count: int = 6) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        pixels = (noise_texture(72, 80, i, (0.2 + 0.1 * i, 0.4, 0.5)) * 255).astype(np.uint8)
        path = folder / f"p{i}.png"
        cv2.imwrite(str(path), pixels)
        paths.append(path)
    return paths


def _settings(steps=(4, 2, 2, 2)) -> InpainterSettings:
    return InpainterSettings(steps=steps, size=64, batch=2, widths=TOY, preview_every=2,
                             validate_every=2, checkpoint_every=3,
                             reconstruction_steps=0)  # every term, the adversary included


def test_training_writes_a_model_that_records_each_stage_and_its_validation(tmp_path):
    photos = _photos(tmp_path / "photos")
    out = tmp_path / "m.safetensors"
    reports = []
    train(photos[:4], out, _settings(), validation=photos[4:], report=reports.append,
          preview_dir=tmp_path)
    network, info = store.load_file(INPAINTING, out)
    assert info.extra["iterations"] == {"head": 4, "block 1": 2, "block 2": 2, "block 3": 2}
    assert torch.equal(network.mix, torch.ones(3))  # every added block fully mixed in
    assert info.extra["validation_psnr"] and "stand-in" in info.extra["perceptual"]
    grids = [r.preview for r in reports if r.preview is not None]
    assert grids and grids[-1].shape == (64, 256, 3)  # input | prediction | result | truth
    header = (tmp_path / "m.losses.csv").read_text().splitlines()[0]
    assert "val_psnr" in header


def test_a_stopped_run_leaves_a_model_and_resume_goes_on_from_there(tmp_path):
    photos = _photos(tmp_path / "photos")
    out = tmp_path / "m.safetensors"
    cancel = CancelToken()

    def stop_after_three(progress):
        if progress.step >= 2:
            cancel.cancel()

    with pytest.raises(Cancelled):
        train(photos, out, _settings(), report=stop_after_three, cancel=cancel)
    first = read_info(out).steps
    assert 2 <= first < 10
    train(photos, out, _settings(), resume=True)
    info = read_info(out)
    assert info.steps == 10
    assert json.loads(json.dumps(info.extra["losses"]))[-1][0] == 10


def test_too_few_photos_is_refused_before_any_training(tmp_path):
    with pytest.raises(EngineError, match="at least two readable photos"):
        train(_photos(tmp_path / "p", 1), tmp_path / "m.safetensors", _settings())
    assert not (tmp_path / "m.safetensors").exists()


def test_a_block_that_enters_leaves_the_trained_network_unchanged():
    """Ch. 3.3.3: adding a block must start from the network already trained."""
    torch.manual_seed(3)
    network = build_inpainter(TOY).eval()
    for p in network.procedural.parameters():  # a block with weights of its own
        p.data.normal_()
    x, hole = torch.rand(1, 3, 32, 32), (torch.rand(1, 1, 32, 32) > 0.6).float()
    with torch.no_grad():
        before = network(x, hole)
        network.procedural[0].start_as_identity()
        network.mix[0] = 0.5
        after = network(x, hole)
    assert torch.allclose(before, after, atol=1e-6)


def test_reconstruction_steps_train_the_generator_alone(tmp_path):
    """The first steps learn the L1 term only: the discriminator is left as it started."""
    from engines.remove.generator.networks import build_discriminator
    from engines.store import train_state

    settings = InpainterSettings(steps=(3, 0, 0, 0), size=64, batch=2, widths=TOY,
                                 reconstruction_steps=3, checkpoint_every=3)
    out = tmp_path / "m.safetensors"
    train(_photos(tmp_path / "photos"), out, settings)
    torch.manual_seed(settings.seed)
    build_inpainter(TOY)  # the trainer builds G first, then D, from the same seed
    fresh = build_discriminator(TOY).state_dict()
    tensors, _ = train_state.read_state(train_state.state_path(out))
    saved = train_state.part(tensors, "d")
    assert all(torch.equal(saved[k], fresh[k]) for k in fresh)
    losses = read_info(out).extra["losses"]
    assert losses and all(row[2] == 0 and row[3] == 0 for row in losses)  # no D, no adv
