"""The harmonization network engine and its trainer, on tiny images the tests make.

No trained model is needed: a tiny network learns a colour cast in a few dozen CPU
steps, which is enough to show that training, the model file and the colour-transform
inference fit together.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("safetensors")

import torch  # noqa: E402

from engines import store  # noqa: E402
from engines.base import Cancelled, CancelToken, EngineError, EngineUnavailable  # noqa: E402
from engines.composite import harmonize_net as hn  # noqa: E402
from engines.composite import train as tr  # noqa: E402
from engines.composite.request import HarmonizeRequest  # noqa: E402

SIZE = 32
CAST = np.array([1.35, 0.8, 0.7], np.float32)  # what the pasted objects got wrong


def smooth_photo(rng: np.random.Generator, size: int = SIZE) -> np.ndarray:
    """A smooth colourful image: a random gradient plus gentle noise."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    base = rng.uniform(0.25, 0.65, 3).astype(np.float32)
    slope = rng.uniform(-0.2, 0.2, (2, 3)).astype(np.float32)
    image = base + yy[..., None] * slope[0] + xx[..., None] * slope[1]
    image = image + rng.normal(0, 0.02, image.shape).astype(np.float32)
    return np.clip(image, 0, 1).astype(np.float32)


def ellipse_mask(rng: np.random.Generator, size: int = SIZE) -> np.ndarray:
    mask = np.zeros((size, size), np.float32)
    centre = tuple(int(v) for v in rng.integers(size // 3, 2 * size // 3, 2))
    axes = tuple(int(v) for v in rng.integers(size // 6, size // 3, 2))
    cv2.ellipse(mask, centre, axes, 0, 0, 360, 1.0, -1)
    return cv2.GaussianBlur(mask, (0, 0), 0.8)


def cast_composite(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(composite, mask, real): the object region got a fixed colour cast."""
    real, mask = smooth_photo(rng), ellipse_mask(rng)
    cast = np.clip(real * CAST, 0, 1)
    return (real + mask[..., None] * (cast - real)).astype(np.float32), mask, real


def batch(rng: np.random.Generator, n: int):
    comp, mask, real = (np.stack(p) for p in zip(*(cast_composite(rng) for _ in range(n)),
                                                  strict=True))
    return (torch.from_numpy(comp).permute(0, 3, 1, 2).contiguous(),
            torch.from_numpy(mask)[:, None].contiguous(),
            torch.from_numpy(real).permute(0, 3, 1, 2).contiguous())


def fg_mse(image: np.ndarray, real: np.ndarray, mask: np.ndarray) -> float:
    inside = mask > 0.5
    return float(((image[inside] - real[inside]) ** 2).mean())


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny networks run ten times faster on one thread than on cores other work holds."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> tuple[Path, list[tuple[float, float]]]:
    """A width-4, 2-block net trained for 60 steps on colour-cast composites."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    net = hn.build_network(width=4, blocks=2)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(60):
        comp, mask, real = batch(rng, 8)
        result, _ = tr.compute_losses(net, comp, mask, real)
        optimizer.zero_grad()
        result.total.backward()
        optimizer.step()
        losses.append((result.fitted, result.composite))
    path = tmp_path_factory.mktemp("model") / "tiny.safetensors"
    hn.save_model(net.eval(), path, {"resolution": SIZE, "iterations": 60, "note": "test"})
    return path, losses


def test_tiny_net_learns_to_undo_a_colour_cast(tiny_model) -> None:
    path, losses = tiny_model
    fitted, composite = np.array(losses).T
    assert np.mean(fitted[-10:]) < 0.5 * np.mean(fitted[:3])
    assert np.mean(fitted[-10:]) < 0.5 * np.mean(composite[-10:])
    engine = hn.NetHarmonizer()
    rng = np.random.default_rng(123)  # held-out cases
    before, after = [], []
    for _ in range(6):
        comp, mask, real = cast_composite(rng)
        out = engine.run(HarmonizeRequest(comp, mask, model=str(path))).image
        before.append(fg_mse(comp, real, mask))
        after.append(fg_mse(out, real, mask))
    assert np.mean(after) < 0.5 * np.mean(before)


def test_outside_the_mask_is_unchanged_bit_for_bit(tiny_model) -> None:
    rng = np.random.default_rng(5)
    image = rng.random((45, 61, 3), dtype=np.float32)  # odd size: padding and resizing
    mask = np.zeros((45, 61), np.float32)
    mask[10:30, 20:50] = 1.0
    mask[9, 20:50] = 0.3  # a soft edge
    out = hn.NetHarmonizer().run(HarmonizeRequest(image, mask, model=str(tiny_model[0]))).image
    assert out.dtype == np.float32 and out.shape == image.shape
    assert np.array_equal(out[mask == 0], image[mask == 0])
    assert not np.array_equal(out[mask == 1], image[mask == 1])


def test_strength_zero_is_the_identity(tiny_model) -> None:
    comp, mask, _ = cast_composite(np.random.default_rng(9))
    engine, model = hn.NetHarmonizer(), str(tiny_model[0])
    assert np.array_equal(
        engine.run(HarmonizeRequest(comp, mask, strength=0.0, model=model)).image, comp)
    half = engine.run(HarmonizeRequest(comp, mask, strength=0.5, model=model)).image
    full = engine.run(HarmonizeRequest(comp, mask, strength=1.0, model=model)).image
    np.testing.assert_allclose(half, (comp + full) / 2, atol=1e-5)


def test_model_file_round_trip_keeps_weights_and_metadata(tmp_path) -> None:
    net = hn.build_network(width=4, blocks=2)
    path = hn.save_model(net, tmp_path / "m.safetensors",
                         {"resolution": 64, "losses": [[1, 0.5]], "data": "synthetic"})
    loaded, meta = store.load_file(hn.HARMONIZATION, path)
    for key, value in net.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)
    assert meta["width"] == "4" and meta["blocks"] == "2" and meta["resolution"] == "64"
    assert json.loads(meta["losses"]) == [[1, 0.5]] and meta["data"] == "synthetic"
    assert not loaded.training


def test_missing_corrupt_and_foreign_files_give_clear_errors(tmp_path) -> None:
    with pytest.raises(EngineUnavailable, match="does not exist"):
        store.load_file(hn.HARMONIZATION, tmp_path / "nothing.safetensors")
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"\x00\x01 not a model at all" * 10)
    with pytest.raises(EngineError, match="could not be read"):
        store.load_file(hn.HARMONIZATION, corrupt)

    from safetensors.torch import save_file

    net = hn.build_network(width=4, blocks=2)
    state = {k: v.contiguous() for k, v in net.state_dict().items()}
    meta = {"format": hn.FORMAT, "format_version": hn.FORMAT_VERSION, "width": "4",
            "blocks": "2"}
    save_file(state, str(tmp_path / "other.safetensors"), {**meta, "architecture": "unet"})
    with pytest.raises(EngineError, match="different harmonization network"):
        store.load_file(hn.HARMONIZATION, tmp_path / "other.safetensors")
    save_file(state, str(tmp_path / "wide.safetensors"),
              {**meta, "architecture": hn.ARCHITECTURE, "width": "8"})
    with pytest.raises(EngineError, match="do not fit"):
        store.load_file(hn.HARMONIZATION, tmp_path / "wide.safetensors")
    save_file(state, str(tmp_path / "plain.safetensors"))
    with pytest.raises(EngineError, match="not a Transfigure harmonization model"):
        store.load_file(hn.HARMONIZATION, tmp_path / "plain.safetensors")


def test_engine_unavailable_without_a_model(tmp_path, monkeypatch) -> None:
    missing = tmp_path / "none.safetensors"
    monkeypatch.setenv(hn.ENV_VAR, str(missing))
    availability = store.availability(hn.HARMONIZATION)
    assert not availability.available and hn.ENV_VAR in availability.fix
    comp, mask, _ = cast_composite(np.random.default_rng(1))
    with pytest.raises(EngineUnavailable):
        hn.NetHarmonizer().run(HarmonizeRequest(comp, mask))
    hn.save_model(hn.build_network(width=4, blocks=1), missing, {"resolution": SIZE})
    assert store.availability(hn.HARMONIZATION).available


def _write_photos(folder: Path, n: int) -> list[Path]:
    rng = np.random.default_rng(2)
    paths = []
    for i in range(n):
        path = folder / f"photo{i}.png"
        cv2.imwrite(str(path), (smooth_photo(rng, 48) * 255).astype(np.uint8))
        paths.append(path)
    mask = folder / "object_mask.png"
    cv2.imwrite(str(mask), (ellipse_mask(rng, 40) > 0.5).astype(np.uint8) * 255)
    return paths + [mask]


def test_train_writes_a_model_resumes_and_cancels(tmp_path) -> None:
    *photos, mask = _write_photos(tmp_path, 4)
    out = tmp_path / "models" / "h.safetensors"
    previews = []

    def report(progress) -> None:
        if progress.preview is not None:
            previews.append(progress.preview)

    kwargs = dict(size=SIZE, batch=2, width=4, report=report, seed=3, checkpoint_every=3,
                  preview_every=2)
    tr.train(photos, [mask], out, steps=4, resume=False, pairs=[(photos[0], mask)], **kwargs)
    meta = store.read_metadata(hn.HARMONIZATION, out)
    assert meta["iterations"] == "4" and meta["resolution"] == str(SIZE)
    assert len(json.loads(meta["losses"])) == 2 and "date" in meta and "data" in meta
    assert previews and previews[0].shape == (SIZE, 3 * SIZE, 3)
    tr.train(photos, [mask], out, steps=6, resume=True, **kwargs)
    assert store.read_metadata(hn.HARMONIZATION, out)["iterations"] == "6"
    assert len(json.loads(store.read_metadata(hn.HARMONIZATION, out)["losses"])) == 3
    store.load_file(hn.HARMONIZATION, out)

    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        tr.train(photos, [mask], out, steps=10, resume=True, cancel=token, **kwargs)
    assert store.read_metadata(hn.HARMONIZATION, out)["iterations"] == "6"


def test_synthetic_composites_change_only_the_object() -> None:
    rng = np.random.default_rng(4)
    photos = [(smooth_photo(rng, 60) * 255).astype(np.uint8) for _ in range(3)]
    shape = (ellipse_mask(rng, 40) > 0.5).astype(np.uint8) * 255
    for _ in range(10):
        comp, alpha, real = tr.make_sample(photos, [shape], SIZE, rng)
        assert comp.shape == real.shape == (SIZE, SIZE, 3) and alpha.shape == (SIZE, SIZE)
        assert np.array_equal(comp[alpha == 0], real[alpha == 0])


def test_importing_the_engine_does_not_import_torch() -> None:
    code = ("import sys, engines.composite, engines.composite.harmonize_net as h; "
            "from engines import store; store.availability(h.HARMONIZATION); "
            "print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "False"
