"""The StyleGAN2 expression engine on tiny random networks: never real weights, never network.

A 16-pixel generator with a few channels runs the same code as NVIDIA's 1024-pixel FFHQ
network, so inversion, fusion, the safe pickle reader, the cache and the whole engine
are tested in seconds on two CPU cores.
"""

from __future__ import annotations

import os
import pickle
import pickletools
import sys
import time
import types
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from engines import store  # noqa: E402
from engines.base import Cancelled, CancelToken, EngineError, EngineUnavailable, InvalidInput  # noqa: E402
from engines.expression.request import ExpressionRequest  # noqa: E402
from engines.expression.stylegan import convert, faces_bridge, nvidia_pickle  # noqa: E402
from engines.expression.stylegan.engine import StyleGANExpressionEngine  # noqa: E402
from engines.expression.stylegan.fusion import fuse  # noqa: E402
from engines.expression.stylegan.generator import Generator, GeneratorConfig  # noqa: E402
from engines.expression.stylegan.invert import (  # noqa: E402
    InversionSettings,
    invert,
    synthesize,
)
from engines.expression.stylegan.layers import modulated_conv2d  # noqa: E402
from engines.expression.stylegan.models import StyleGANModels  # noqa: E402
from engines.expression.stylegan.perceptual import (  # noqa: E402
    PerceptualLoss,
    load_vgg16_trunk,
    vgg16_trunk,
)
from engines.expression.stylegan.resample import setup_filter, upsample2d  # noqa: E402
from engines.expression.stylegan.style_cache import StyleCache  # noqa: E402
from engines.expression.stylegan.warp_blend import blend_face  # noqa: E402

TINY = GeneratorConfig.standard(16, channel_base=128, channel_max=16, z_dim=16, w_dim=16,
                                mapping_layers=2)


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Tiny convolutions are fastest on one thread (and two busy cores thrash on two)."""
    monkeypatch.setenv("TRANSFIGURE_CACHE_DIR", str(tmp_path / "cache"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_generator(seed: int = 0) -> Generator:
    torch.manual_seed(seed)
    g = Generator(TINY).eval()
    with torch.no_grad():
        for module in g.modules():  # trained networks use their noise; make it matter here
            if hasattr(module, "noise_strength"):
                module.noise_strength.fill_(0.1)
    g.estimate_w_avg(512)
    return g


def tiny_loss() -> PerceptualLoss:
    """A random two-layer "perceptual" network plus pixel MSE: the engine's code path."""
    torch.manual_seed(1)
    features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(),
                             nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())
    return PerceptualLoss(features, pixel_weight=1.0)


def known_styles(g: Generator, seed: int = 3) -> torch.Tensor:
    """A W+ point the generator can certainly reach: a mapped z, varied per layer."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        ws = g.mapping(torch.randn(1, TINY.z_dim, generator=gen))
    return ws + 0.3 * torch.randn(ws.shape, generator=gen)


def face_image(g: Generator, ws: torch.Tensor) -> np.ndarray:
    return synthesize(g, ws, "cpu")[0].permute(1, 2, 0).numpy()


# ------------------------------------------------------------------------ generator


def test_full_size_layout_matches_nvidias_names() -> None:
    g = Generator(GeneratorConfig())  # ~0.5 s; the meta device would import far more
    shapes = {k: tuple(v.shape) for k, v in g.state_dict().items()}
    assert g.num_ws == 18 and TINY.num_ws == 6
    assert shapes["mapping.fc0.weight"] == (512, 512) and "mapping.fc7.bias" in shapes
    assert shapes["mapping.w_avg"] == (512,)
    assert shapes["synthesis.b4.const"] == (512, 4, 4)
    assert shapes["synthesis.b4.conv1.weight"] == (512, 512, 3, 3)
    assert shapes["synthesis.b8.torgb.affine.weight"] == (512, 512)
    assert shapes["synthesis.b128.conv0.weight"] == (256, 512, 3, 3)
    assert shapes["synthesis.b1024.conv1.noise_const"] == (1024, 1024)
    assert shapes["synthesis.b1024.torgb.weight"] == (3, 32, 1, 1)
    assert shapes["synthesis.b16.conv0.noise_strength"] == ()
    assert GeneratorConfig.from_state_dict(g.state_dict()) == GeneratorConfig()


def test_upsampling_convolution_agrees_with_the_fir_upsampler() -> None:
    """A centred delta kernel turns the up-convolution into plain FIR upsampling."""
    x = torch.randn(1, 2, 5, 5)
    delta = torch.zeros(2, 2, 3, 3)
    delta[0, 0, 1, 1] = delta[1, 1, 1, 1] = 1.0
    f = setup_filter()
    up = modulated_conv2d(x, delta, torch.ones(1, 2), demodulate=False, up=2, padding=1,
                          resample_filter=f)
    assert up.shape == (1, 2, 10, 10)
    torch.testing.assert_close(up, upsample2d(x, f))
    flat = upsample2d(torch.ones(1, 1, 6, 6), f)
    torch.testing.assert_close(flat[..., 2:-2, 2:-2], torch.ones(1, 1, 8, 8))


# ------------------------------------------------------------------------ inversion


def test_inversion_reconstructs_a_generated_face() -> None:
    g = tiny_generator()
    target = face_image(g, known_styles(g))
    seen: list = []
    result = invert(g, tiny_loss(), target, InversionSettings(steps=80, preview_every=20),
                    report=seen.append)
    assert not result.cached and result.styles.shape == (6, 16)
    assert result.loss_end < 0.2 * result.loss_start
    previews = [p.preview for p in seen if p.preview is not None]
    assert len(previews) >= 4 and previews[-1].shape == (16, 16, 3)
    rebuilt = face_image(g, torch.from_numpy(result.styles)[None])
    start = face_image(g, g.w_avg.reshape(1, 1, -1).repeat(1, 6, 1))
    assert np.abs(rebuilt - target).mean() < 0.5 * np.abs(start - target).mean()


def test_inversion_can_start_from_zero_and_be_cancelled() -> None:
    g = tiny_generator()
    target = face_image(g, known_styles(g))
    token = CancelToken()

    def cancel_after_preview(progress) -> None:
        if progress.preview is not None:
            token.cancel()

    with pytest.raises(Cancelled):
        invert(g, tiny_loss(), target, InversionSettings(steps=50, start="zero"),
               report=cancel_after_preview, cancel=token)
    with pytest.raises(InvalidInput):
        InversionSettings(start="random")


def test_cache_makes_a_second_inversion_instant(tmp_path: Path) -> None:
    g = tiny_generator()
    target = face_image(g, known_styles(g))
    cache = StyleCache(tmp_path / "styles")
    settings = InversionSettings(steps=30)
    first = invert(g, tiny_loss(), target, settings, cache=cache, model_key="tiny")
    again = invert(g, tiny_loss(), target, settings, cache=cache, model_key="tiny")
    assert again.cached and again.seconds < 0.05 * max(first.seconds, 0.2)
    np.testing.assert_array_equal(again.styles, first.styles)
    on_disk = invert(g, tiny_loss(), target, settings, cache=StyleCache(tmp_path / "styles"),
                     model_key="tiny")  # a new session: memory empty, files still there
    assert on_disk.cached
    np.testing.assert_array_equal(on_disk.styles, first.styles)
    other = invert(g, tiny_loss(), target, InversionSettings(steps=5), cache=cache,
                   model_key="tiny")
    assert not other.cached  # other settings are another inversion


# ------------------------------------------------------------------------ fusion


def test_fusion_swaps_exactly_the_chosen_layers_and_strength_interpolates() -> None:
    rng = np.random.default_rng(0)
    first = rng.standard_normal((18, 512)).astype(np.float32)
    second = rng.standard_normal((18, 512)).astype(np.float32)
    fused = fuse(first, second, (4, 5))
    np.testing.assert_array_equal(fused[3:5], second[3:5])
    keep = [i for i in range(18) if i not in (3, 4)]
    np.testing.assert_array_equal(fused[keep], first[keep])
    quarter = fuse(first, second, (4, 5), strength=0.25)
    np.testing.assert_allclose(quarter[3:5], first[3:5] + 0.25 * (second[3:5] - first[3:5]),
                               rtol=1e-6)
    np.testing.assert_array_equal(quarter[keep], first[keep])
    np.testing.assert_array_equal(fuse(first, second, (1, 18), strength=0.0), first)
    assert not np.shares_memory(fused, first)
    for bad in ((0,), (19,)):
        with pytest.raises(InvalidInput):
            fuse(first, second, bad)


# ------------------------------------------------------------------- network pickles


def _fake_module(name: str, monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    module = types.ModuleType(name)
    monkeypatch.setitem(sys.modules, name, module)
    return module


def official_layout_pickle(g: Generator, marker: Path) -> bytes:
    with pytest.MonkeyPatch.context() as monkeypatch:
        return _pickle_like_nvidia(g, monkeypatch, marker)


def _pickle_like_nvidia(g: Generator, monkeypatch: pytest.MonkeyPatch, marker: Path) -> bytes:
    """``g`` pickled the way NVIDIA's persistence-wrapped classes pickle themselves.

    Every module becomes ``torch_utils.persistence._reconstruct_persistent_obj(meta)``
    with its class name, its (side-effecting!) module source and its ``__dict__``
    state; keyword arguments are ``dnnlib.util.EasyDict``s, with numpy scalars in them.
    The fake modules exist only while pickling.
    """
    persistence = _fake_module("torch_utils.persistence", monkeypatch)
    _fake_module("torch_utils", monkeypatch).persistence = persistence
    util = _fake_module("dnnlib.util", monkeypatch)
    _fake_module("dnnlib", monkeypatch).util = util

    def _reconstruct_persistent_obj(meta):  # never called: only its name is pickled
        raise AssertionError("NVIDIA's loader would run here")

    _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
    _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"
    persistence._reconstruct_persistent_obj = _reconstruct_persistent_obj
    easy = type("EasyDict", (dict,), {"__module__": "dnnlib.util"})
    util.EasyDict = easy
    source = f"open({str(marker)!r}, 'w').write('the module source was executed')\n"

    class Persistent:
        def __init__(self, module: nn.Module) -> None:
            self.module = module

        def __reduce__(self):
            m = self.module
            state = {
                "training": False,
                "_parameters": OrderedDict((k, v) for k, v in m._parameters.items()),
                "_buffers": OrderedDict((k, v) for k, v in m._buffers.items()),
                "_modules": OrderedDict((k, Persistent(v)) for k, v in m._modules.items()),
                "_init_args": (),
                "_init_kwargs": easy(w_dim=16, lr=np.float32(0.01)),
                "conv_clamp": 256,
            }
            meta = {"type": "class", "version": 6, "module_src": source,
                    "class_name": type(m).__name__, "state": state}
            return (_reconstruct_persistent_obj, (meta,))

    data = {"G": Persistent(g), "D": None, "G_ema": Persistent(g), "augment_pipe": None,
            "training_set_kwargs": easy(resolution=16, use_labels=False)}
    return pickle.dumps(data, protocol=3)


def _globals_in(blob: bytes) -> set[str]:
    return {str(arg) for op, arg, _ in pickletools.genops(blob) if op.name == "GLOBAL"}


def test_official_layout_pickle_converts_without_running_its_code(tmp_path: Path) -> None:
    g = tiny_generator()
    marker = tmp_path / "executed.txt"
    blob = official_layout_pickle(g, marker)
    # The fake torch_utils/dnnlib modules are gone again: nothing could be imported from them.
    assert "torch_utils.persistence _reconstruct_persistent_obj" in _globals_in(blob)
    assert "dnnlib.util EasyDict" in _globals_in(blob)
    source = tmp_path / "network.pkl"
    source.write_bytes(blob)

    target = convert.convert(source, tmp_path / "network.safetensors", source_sha256="abc")
    state, config = convert.load_converted(target)
    assert not marker.exists()
    assert config == GeneratorConfig.from_state_dict(g.state_dict(), conv_clamp=256.0)
    assert convert.converted_metadata(target)["source_sha256"] == "abc"
    assert set(state) == set(g.state_dict())
    loaded = Generator(config)
    loaded.load_state_dict(state, strict=True)
    ws = known_styles(g)
    np.testing.assert_allclose(face_image(loaded, ws), face_image(g, ws), atol=1e-6)
    stamp = target.stat().st_mtime_ns
    assert convert.ensure_converted(source, target, "abc") == target
    assert target.stat().st_mtime_ns == stamp  # converted once, then reused


class _Evil:
    def __init__(self, func, arg) -> None:
        self.func, self.arg = func, arg

    def __reduce__(self):
        return (self.func, (self.arg,))


@pytest.mark.parametrize("kind", ["os.system", "builtins.eval", "inside a network",
                                  "inside a storage"])
def test_malicious_pickles_are_refused_before_anything_runs(kind: str, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    shell = f"touch {marker}"
    python = f"open({str(marker)!r}, 'w').close()"
    if kind == "os.system":
        blob, named = pickle.dumps(_Evil(os.system, shell)), "system"
    elif kind == "builtins.eval":
        blob, named = pickle.dumps(_Evil(eval, python)), "builtins.eval"
    elif kind == "inside a network":
        state = {"G_ema": OrderedDict(w=torch.zeros(2), hook=_Evil(eval, python))}
        blob, named = pickle.dumps(state), "builtins.eval"
    else:
        inner = pickle.dumps(_Evil(os.system, shell), protocol=2)
        blob, named = pickle.dumps(_Evil(torch.storage._load_from_bytes, inner)), ""
    path = tmp_path / "evil.pkl"
    path.write_bytes(blob)
    with pytest.raises(EngineError) as info:
        convert.convert(path, tmp_path / "out.safetensors")
    assert named in str(info.value)
    assert "refused" in str(info.value) or "safely" in str(info.value)
    assert not marker.exists()
    assert not (tmp_path / "out.safetensors").exists()
    # Sanity check of the test itself: a plain pickle.load would have run the payload.
    if kind == "builtins.eval":
        pickle.loads(blob)
        assert marker.exists()


def test_unpickler_allow_list_is_data_only() -> None:
    for module, name in nvidia_pickle.ALLOWED:
        assert module.split(".")[0] in {"collections", "builtins", "torch", "torch_utils",
                                        "dnnlib", "numpy"}
        assert name not in {"eval", "exec", "system", "getattr", "__import__", "open"}


# ------------------------------------------------------------------------ perceptual


def test_vgg16_trunk_loads_torchvision_keys_up_to_the_dissertation_layer() -> None:
    trunk = vgg16_trunk()
    assert len(trunk) == 16 and isinstance(trunk[-1], nn.ReLU)  # conv3_3 + ReLU
    state = {f"features.{k}": torch.full_like(v, 0.5) for k, v in trunk.state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(1)
    loaded = load_vgg16_trunk(state)
    assert float(loaded[14].weight.detach().mean()) == 0.5
    del state["features.14.bias"]
    with pytest.raises(KeyError):
        load_vgg16_trunk(state)


# ------------------------------------------------------------------------ the engine


def test_engine_without_weights_says_how_to_get_them() -> None:
    from engines import registry

    rng = np.random.default_rng(0)
    photo = rng.random((64, 64, 3), dtype=np.float32)
    with pytest.raises(EngineUnavailable) as info:
        StyleGANExpressionEngine().run(ExpressionRequest(photo, photo))
    message = str(info.value)
    assert "transfigure weights download stylegan2_ffhq" in message
    assert "transfigure weights download vgg16" in message
    assert "NON-COMMERCIAL" in message
    availability = registry.get("expression", "stylegan").availability()
    assert not availability.available


def _landmarks(cx: float, cy: float, rx: float, ry: float) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, 68, endpoint=False)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def _fake_faces(monkeypatch: pytest.MonkeyPatch) -> None:
    """A face the size of the photo's middle: landmarks on an ellipse, a scaling alignment."""

    def find_landmarks(image, index, which, notes=None):
        h, w = image.shape[:2]
        return _landmarks(w / 2, h / 2, w / 6, h / 5)

    def align(image, landmarks, size):
        h, w = image.shape[:2]
        scale = size / (0.8 * min(h, w))
        to_aligned = np.array([[scale, 0, size / 2 - scale * w / 2],
                               [0, scale, size / 2 - scale * h / 2]])
        face = cv2.warpAffine(image, to_aligned, (size, size), flags=cv2.INTER_AREA)
        return faces_bridge.AlignedFace(face, to_aligned, cv2.invertAffineTransform(to_aligned),
                                        landmarks)

    monkeypatch.setattr(faces_bridge, "find_landmarks", find_landmarks)
    monkeypatch.setattr(faces_bridge, "align", align)
    monkeypatch.setattr(faces_bridge, "identity_distance", lambda *args: (0.9, 0.6))


def test_engine_end_to_end_on_tiny_networks(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    _fake_faces(monkeypatch)
    g = tiny_generator()
    models = StyleGANModels(g, tiny_loss(), "tiny")
    engine = StyleGANExpressionEngine(models=lambda device, announce: models,
                                      cache=StyleCache(tmp_path / "styles"),
                                      settings=InversionSettings(preview_every=5))
    rng = np.random.default_rng(2)
    first = cv2.GaussianBlur(rng.random((90, 120, 3), dtype=np.float32), (0, 0), 3)
    second = cv2.GaussianBlur(rng.random((80, 80, 3), dtype=np.float32), (0, 0), 3)
    seen: list = []
    request = ExpressionRequest(first, second, steps=12, device="cpu")
    result = engine.run(request, seen.append)

    assert result.image.shape == first.shape and result.image.dtype == np.float32
    outside = result.blend_mask == 0
    np.testing.assert_array_equal(result.image[outside], first[outside])  # bit-exact
    assert result.blend_mask.max() == 1.0 and (result.blend_mask > 0).sum() > 200
    assert not np.array_equal(result.image[~outside], first[~outside])
    x, y, w, h = result.region
    inside = np.zeros_like(outside)
    inside[y:y + h, x:x + w] = True
    assert not (result.blend_mask > 0)[~inside].any()
    messages = " ".join(p.message for p in seen)
    assert "first face" in messages and "second face" in messages
    assert sum(p.preview is not None for p in seen) >= 4
    assert seen[-1].step == seen[-1].total
    assert any("first person" in note for note in result.notes)  # identity 0.9 > 0.6

    started = time.perf_counter()
    weaker = engine.run(ExpressionRequest(first, second, steps=12, strength=0.5, device="cpu"))
    assert time.perf_counter() - started < 1.0  # both inversions come from the cache
    assert not np.array_equal(weaker.image, result.image)
    unchanged = engine.run(ExpressionRequest(first, second, strength=0.0))
    np.testing.assert_array_equal(unchanged.image, first)
    with pytest.raises(InvalidInput):
        engine.run(ExpressionRequest(first, second, layers=(7,), steps=12, device="cpu"))


def test_bridge_alignment_round_trips_on_a_real_face() -> None:
    """engines.faces' affines, as the bridge passes them on, take the face back onto itself."""
    skdata = pytest.importorskip("skimage.data")
    pytest.importorskip("dlib")
    photo = skdata.astronaut().astype(np.float32) / 255.0
    notes: list[str] = []
    landmarks = faces_bridge.find_landmarks(photo, None, "first", notes)
    aligned = faces_bridge.align(photo, landmarks, 128)
    assert aligned.image.shape == (128, 128, 3)
    np.testing.assert_allclose(aligned.to_aligned @ np.append(aligned.to_photo @ [64, 64, 1], 1),
                               [64, 64], atol=1e-6)
    blended = blend_face(photo, aligned.image, aligned.to_photo, landmarks)
    inside = blended.alpha > 0
    assert inside.sum() > 5000
    assert np.abs(blended.image - photo)[inside].mean() < 0.02  # only resampling blur
    np.testing.assert_array_equal(blended.image[~inside], photo[~inside])
    with pytest.raises(InvalidInput):
        faces_bridge.find_landmarks(photo, 5, "second")


def test_installed_weights_are_converted_once_and_loaded(monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    """The default model loader: registry → pickle conversion → safetensors → networks."""
    from engines.expression.stylegan import models
    from engines.store import weights

    folder = tmp_path / "cache"
    folder.mkdir(exist_ok=True)
    g = tiny_generator()
    (folder / "tiny.pkl").write_bytes(official_layout_pickle(g, tmp_path / "executed"))
    trunk_state = {f"features.{k}": v for k, v in vgg16_trunk().state_dict().items()}
    torch.save(trunk_state, folder / "vgg.pth")

    def entry(name: str, filename: str) -> weights.WeightsEntry:
        return weights.WeightsEntry(name, name, "https://example.invalid/x", "0" * 64,
                                    (folder / filename).stat().st_size, filename, "test licence",
                                    ("expression/stylegan",), "torch")

    registry = {"stylegan2_ffhq": entry("stylegan2_ffhq", "tiny.pkl"),
                "vgg16": entry("vgg16", "vgg.pth")}
    monkeypatch.setattr(weights, "_default_registry", lambda: registry)
    store.forget(models.SLOT)
    try:
        messages: list[str] = []
        loaded = models.load_models("cpu", messages.append)
        assert messages and "Converting" in messages[0]
        assert (folder / "tiny.safetensors").is_file() and not (tmp_path / "executed").exists()
        assert loaded.generator.config == GeneratorConfig.from_state_dict(g.state_dict(), 256.0)
        ws = known_styles(g)
        np.testing.assert_allclose(face_image(loaded.generator, ws), face_image(g, ws),
                                   atol=1e-6)
        assert models.load_models("cpu") is loaded  # kept for the next run
        store.forget(models.SLOT)
        again: list[str] = []
        models.load_models("cpu", again.append)
        assert "Converting" not in again[0]  # the conversion is reused
    finally:
        store.forget(models.SLOT)
