"""The Translate engine, its model files and its trainer, on tiny models the tests make.

The learning test trains a toy model on synthetic domains (plain red blobs → striped
blue blobs, both on the same kind of textured background) for a few hundred CPU steps
and checks that the attention map finds the blobs: the background is alike in both
domains, so only the blob needs translating.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from engines import store  # noqa: E402
from engines.base import Cancelled, CancelToken, EngineError, EngineUnavailable  # noqa: E402
from engines.translate import TranslateRequest  # noqa: E402
from engines.translate.engine import (  # noqa: E402
    ATTENTION_FLOOR,
    TranslateEngine,
    composite,
    tile_boxes,
    working_size,
)
from engines.translate.model_file import TRANSLATION, read_info, save_model  # noqa: E402
from engines.translate.networks import (  # noqa: E402
    Widths,
    build_attention,
    build_translator,
)
from engines.translate.train import TrainSettings, train  # noqa: E402


def load_model(path: Path) -> tuple:
    """(G0, G_attn, info) from a file, on the CPU, as the store loads it for the engine."""
    return store.load_file(TRANSLATION, path)

TINY = Widths(generator=4, blocks=1, attention=4, discriminator=4)
SIDE = 36  # synthetic photos; training crops are 32


def synthetic(rng: np.random.Generator, striped: bool) -> tuple[np.ndarray, np.ndarray]:
    """(image, blob mask): an elliptic blob on a wavy green texture."""
    yy, xx = np.mgrid[:SIDE, :SIDE]
    background = np.stack([
        0.25 + 0.1 * np.sin(xx * rng.uniform(0.3, 0.9) + rng.uniform(0, 6)),
        0.5 + 0.15 * np.sin(yy * rng.uniform(0.3, 0.9) + rng.uniform(0, 6)),
        np.full((SIDE, SIDE), 0.3),
    ], axis=-1) + rng.normal(0, 0.05, (SIDE, SIDE, 3))
    cy, cx = rng.uniform(11, SIDE - 11, 2)
    ry, rx = rng.uniform(6, 10, 2)
    mask = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1
    if striped:
        stripes = ((xx + yy) // 4 % 2).astype(np.float64)
        blob = np.array([0.15, 0.3, 0.85]) * (0.6 + 0.4 * stripes[..., None])
    else:
        blob = np.zeros((SIDE, SIDE, 3)) + np.array([0.85, 0.3, 0.2])
    image = np.where(mask[..., None], blob, background)
    return np.clip(image, 0, 1).astype(np.float32), mask


def write_domain(folder: Path, images: list[np.ndarray]) -> list[Path]:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, image in enumerate(images):
        path = folder / f"{i:03d}.png"
        Image.fromarray((image * 255 + 0.5).astype(np.uint8)).save(path)
        paths.append(path)
    return paths


def tiny_model(path: Path, resolution: int = 36, widths: Widths = TINY, seed: int = 0,
               attention_bias: float | None = None) -> Path:
    """An untrained model file; ``attention_bias`` pins A (weights zeroed) when given."""
    torch.manual_seed(seed)
    translator, attention = build_translator(widths), build_attention(widths)
    if attention_bias is not None:
        with torch.no_grad():
            attention.head.weight.zero_()
            attention.head.bias.fill_(attention_bias)
    return save_model(translator, attention, path, widths, {
        "source": "plain", "target": "striped", "resolution": resolution,
        "vgg_warm_start": False, "iterations": {"translator": 0, "attention": 0, "joint": 0},
        "losses": [[1, 0, 0.5]], "date": "2026-01-01T00:00:00+00:00",
    })


def attention_scores(attention, samples) -> tuple[float, float]:
    """(mean IoU of A > 0.5 with the blobs, mean A on blobs − mean A elsewhere)."""
    ious, contrasts = [], []
    for image, mask in samples:
        x = torch.from_numpy(image.transpose(2, 0, 1).copy())[None]
        with torch.no_grad():
            a = attention(x)[0, 0].numpy()
        hit = a > 0.5
        ious.append((hit & mask).sum() / max(1, (hit | mask).sum()))
        contrasts.append(a[mask].mean() - a[~mask].mean())
    return float(np.mean(ious)), float(np.mean(contrasts))


# ------------------------------------------------------------------------- learning


def test_a_tiny_model_learns_where_the_blobs_are(tmp_path):
    rng = np.random.default_rng(0)
    sources = write_domain(tmp_path / "a", [synthetic(rng, False)[0] for _ in range(40)])
    targets = write_domain(tmp_path / "b", [synthetic(rng, True)[0] for _ in range(40)])
    held_out = [synthetic(rng, False) for _ in range(16)]
    settings = TrainSettings(
        steps=(100, 300, 0), size=32, batch=8, widths=Widths(8, 2, 8, 8),
        perceptual_width=8, lr=1e-3, lambda_min=5.0, lambda_every=10, induction_warmup=20,
        attention_sparsity=0.3, attention_tv=2.0, checkpoint_every=10_000, preview_every=50,
        seed=0,
        source="plain", target="striped", device="cpu",
    )
    previews = []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: the same arithmetic, so the same run, every time
    try:
        from engines.translate.train import build_nets

        untrained = build_nets(settings, "cpu").attention.eval()
        out = train(sources, targets, tmp_path / "toy.safetensors", settings, resume=False,
                    report=lambda p: previews.append(p.preview), preview_dir=tmp_path / "log")
    finally:
        torch.set_num_threads(threads)
    _, attention, info = load_model(out)
    iou, contrast = attention_scores(attention, held_out)
    iou0, contrast0 = attention_scores(untrained, held_out)
    assert iou0 < 0.25 and abs(contrast0) < 0.05  # an untrained model does not separate
    # Seeds 0-3 reach IoU 0.57-0.77 and contrast 0.46-0.74; the seed is pinned all the same.
    assert iou > 0.45, (iou, contrast)
    assert contrast > 0.3, (iou, contrast)
    assert info.iterations == {"translator": 100, "attention": 300, "joint": 0}
    grids = [p for p in previews if p is not None]
    assert grids and grids[-1].shape == (32, 4 * 32, 3)  # input | G0 | attention | result
    assert (tmp_path / "log" / "toy.preview.png").is_file()
    assert (tmp_path / "log" / "toy.losses.csv").read_text().startswith("step,stage")


def test_training_resumes_and_a_cancelled_run_leaves_a_model(tmp_path):
    rng = np.random.default_rng(1)
    sources = write_domain(tmp_path / "a", [synthetic(rng, False)[0] for _ in range(4)])
    targets = write_domain(tmp_path / "b", [synthetic(rng, True)[0] for _ in range(4)])
    out = tmp_path / "m.safetensors"
    settings = TrainSettings(steps=(3, 3, 2), size=32, widths=TINY, perceptual_width=4,
                             checkpoint_every=2, preview_every=2, device="cpu",
                             source="plain", target="striped")
    token = CancelToken()

    def cancel_at_four(progress) -> None:
        if progress.step >= 4:
            token.cancel()

    with pytest.raises(Cancelled):
        train(sources, targets, out, settings, report=cancel_at_four, cancel=token)
    assert read_info(out).iterations == {"translator": 3, "attention": 1, "joint": 0}
    train(sources, targets, out, settings, resume=True)
    info = read_info(out)
    assert info.iterations == {"translator": 3, "attention": 3, "joint": 2}
    assert (info.source, info.target, info.resolution) == ("plain", "striped", 36)
    assert len(info.extra["losses"]) >= 3 and info.extra["loss_columns"][0] == "step"


def test_the_model_keeps_weight_averages_of_the_networks_each_stage_trains():
    from engines.translate.train import build_nets

    settings = TrainSettings(size=32, widths=TINY, perceptual_width=4, device="cpu",
                             average=0.9)
    nets = build_nets(settings, "cpu")
    averages = nets.averages
    before = averages.attention.head.bias.clone()
    translator_before = [t.clone() for t in averages.translator.state_dict().values()]
    with torch.no_grad():
        nets.attention.head.bias.fill_(1.0)
        for t in nets.translator.parameters():
            t.add_(1.0)
    averages.update(nets, stage=1, stage_step=100)  # decay min(0.9, 101 / 110) = 0.9
    assert torch.allclose(averages.attention.head.bias, 0.9 * before + 0.1)
    for kept, old in zip(averages.translator.state_dict().values(), translator_before,
                         strict=True):
        assert torch.equal(kept, old)  # the attention stage leaves G0's average alone
    averages.update(nets, stage=2, stage_step=0)  # warm-up: decay 0.1
    assert not torch.equal(averages.translator.net[1].weight, translator_before[0])
    averages.adopt(nets)
    assert torch.equal(nets.attention.head.bias, averages.attention.head.bias)


# ------------------------------------------------------------------------- the engine


def test_composite_is_exactly_the_formula():
    rng = np.random.default_rng(2)
    image, initial = rng.random((2, 20, 30, 3), dtype=np.float32)
    attention = rng.random((20, 30), dtype=np.float32)
    attention[:, :10] = 0
    attention[:, 20:] = 1
    out = composite(image, initial, attention)
    a = attention[..., None]
    assert np.array_equal(out, a * initial + (np.float32(1) - a) * image)
    assert np.array_equal(out[:, :10], image[:, :10])
    assert np.array_equal(out[:, 20:], initial[:, 20:])


def test_engine_result_is_the_composite_of_its_parts_at_full_resolution(tmp_path):
    model = tiny_model(tmp_path / "m.safetensors")
    image = np.random.default_rng(3).random((90, 130, 3), dtype=np.float32)
    result = TranslateEngine().run(TranslateRequest(image, model, device="cpu"))
    assert result.image.shape == image.shape and result.initial.shape == image.shape
    assert result.attention.shape == image.shape[:2]
    assert np.array_equal(result.image, composite(image, result.initial, result.attention))
    expected = (result.attention[..., None].astype(np.float64) * result.initial
                + (1 - result.attention[..., None]) * image)
    assert np.allclose(result.image, expected, atol=1e-6)
    zero = result.attention == 0
    assert np.array_equal(result.image[zero], image[zero])
    assert result.model == "m"


def test_pixels_with_zero_attention_keep_every_original_value(tmp_path):
    model = tiny_model(tmp_path / "off.safetensors", attention_bias=-30.0)
    image = np.random.default_rng(4).random((123, 157, 3), dtype=np.float32)
    result = TranslateEngine().run(TranslateRequest(image, device="cpu", model=model))
    assert float(result.attention.max()) == 0.0  # sigmoid(-30) is under ATTENTION_FLOOR
    assert np.array_equal(result.image, image)
    assert not np.array_equal(result.initial, image)  # G0 did change the photo


def test_faint_attention_snaps_to_zero_and_the_rest_is_kept(tmp_path):
    model = tiny_model(tmp_path / "m.safetensors", seed=5)
    image = np.random.default_rng(5).random((64, 64, 3), dtype=np.float32)
    result = TranslateEngine().run(TranslateRequest(image, device="cpu", model=model))
    attention = result.attention
    assert attention.min() == 0 or attention.min() >= ATTENTION_FLOOR


def test_tiling_covers_large_photos(tmp_path):
    model = tiny_model(tmp_path / "m.safetensors", resolution=16)
    image = np.random.default_rng(6).random((100, 140, 3), dtype=np.float32)
    result = TranslateEngine().run(TranslateRequest(image, tile=True, device="cpu", model=model))
    assert result.image.shape == image.shape
    assert np.isfinite(result.initial).all() and np.isfinite(result.attention).all()
    assert np.array_equal(result.image, composite(image, result.initial, result.attention))
    boxes = tile_boxes(100, 140, 50)
    covered = np.zeros((100, 140), bool)
    for y0, x0, y1, x1 in boxes:
        covered[y0:y1, x0:x1] = True
    assert covered.all() and len(boxes) > 1


def test_working_size_puts_the_short_side_at_the_resolution():
    assert working_size(1000, 1500, 144) == (144, 216)
    h, w = working_size(333, 250, 36)
    assert w == 36 and h % 4 == 0


# ------------------------------------------------------------------------ model files


def test_model_file_round_trip_keeps_weights_and_metadata(tmp_path):
    path = tiny_model(tmp_path / "m.safetensors", resolution=48)
    translator, attention, info = load_model(path)
    torch.manual_seed(0)
    reference = build_translator(TINY)
    for name, tensor in reference.state_dict().items():
        assert torch.equal(translator.state_dict()[name], tensor)
    assert (info.source, info.target, info.resolution) == ("plain", "striped", 48)
    assert info.widths == TINY and info.vgg_warm_start is False
    assert info.iterations == {"translator": 0, "attention": 0, "joint": 0}
    assert info.extra["date"].startswith("2026") and info.extra["losses"] == [[1, 0, 0.5]]
    assert info.title == "plain → striped"
    assert not translator.training and not attention.training


def test_bad_model_files_give_clear_errors(tmp_path):
    from safetensors.torch import save_file

    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00\x01 not a model at all" * 10)
    with pytest.raises(EngineError, match="could not be read"):
        load_model(garbage)

    other = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(2)}, str(other), metadata={"format": "something-else"})
    with pytest.raises(EngineError, match="not a Transfigure translation model"):
        load_model(other)

    good = tiny_model(tmp_path / "good.safetensors")
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(EngineError):
        load_model(truncated)

    from safetensors import safe_open

    with safe_open(str(good), framework="pt") as fh:
        meta = dict(fh.metadata())
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118 (not a dict)
    meta["widths"] = '{"generator": 8, "blocks": 1, "attention": 4, "discriminator": 4}'
    mismatched = tmp_path / "mismatched.safetensors"
    save_file(tensors, str(mismatched), metadata=meta)
    with pytest.raises(EngineError, match="do not fit"):
        load_model(mismatched)

    with pytest.raises(EngineUnavailable, match="does not exist"):
        load_model(tmp_path / "missing.safetensors")
    with pytest.raises(EngineError, match="not a Transfigure translation model"):
        TranslateEngine().run(TranslateRequest(np.zeros((8, 8, 3), np.float32), model=other))


def _rewrite_metadata(path: Path, out: Path, **changes: str | None) -> Path:
    """A copy of a model file with metadata keys changed (None removes one)."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(path), framework="pt") as fh:
        meta = dict(fh.metadata())
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118 (not a dict)
    for key, value in changes.items():
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    save_file(tensors, str(out), metadata=meta)
    return out


def test_first_models_with_transposed_convolutions_still_load(tmp_path):
    from engines.translate.networks import RESIZE, TRANSPOSED

    torch.manual_seed(0)
    translator = build_translator(TINY, TRANSPOSED)
    attention = build_attention(TINY, TRANSPOSED)
    saved = save_model(translator, attention, tmp_path / "new.safetensors", TINY,
                       {"source": "a", "target": "b", "resolution": 32,
                        "vgg_warm_start": False}, upsampling=TRANSPOSED)
    # The first model files had no architecture_version: they are revision 1.
    old = _rewrite_metadata(saved, tmp_path / "old.safetensors", architecture_version=None)
    loaded, loaded_attention, info = load_model(old)
    assert info.architecture_version == "1" and info.upsampling == TRANSPOSED
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(loaded(x), translator.eval()(x))
        assert torch.equal(loaded_attention(x), attention.eval()(x))
    assert read_info(tiny_model(tmp_path / "m.safetensors")).upsampling == RESIZE


def test_a_model_from_a_newer_network_revision_is_refused(tmp_path):
    good = tiny_model(tmp_path / "good.safetensors")
    newer = _rewrite_metadata(good, tmp_path / "newer.safetensors", architecture_version="99")
    with pytest.raises(EngineError, match="newer version of Transfigure"):
        load_model(newer)


def test_models_are_found_by_name_in_the_user_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSFIGURE_TRANSLATE_MODELS", str(tmp_path))
    tiny_model(tmp_path / "apple2orange.safetensors")
    assert store.find(TRANSLATION, "apple2orange") == tmp_path / "apple2orange.safetensors"
    with pytest.raises(EngineUnavailable, match="No translation model named 'pear2plum'"):
        store.find(TRANSLATION, "pear2plum")
    with pytest.raises(EngineUnavailable, match="does not exist"):
        store.find(TRANSLATION, str(tmp_path / "typo.safetensors"))


def test_the_engine_is_registered_without_importing_torch():
    import subprocess
    import sys

    code = ("import sys, engines.translate; "
            "assert 'torch' not in sys.modules, 'torch imported'; "
            "from engines import registry; e = registry.get('translate'); "
            "assert e.name == 'attention-gan', e")
    subprocess.run([sys.executable, "-c", code], check=True)
