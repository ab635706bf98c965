"""The networks the engine runs on: StyleGAN2 FFHQ and VGG-16, from the weights registry.

Nothing is downloaded here. Missing files are reported with the command that installs
them; NVIDIA's pickle is converted to safetensors once, on first use, by the safe
unpickler in ``nvidia_pickle`` and kept in the weights cache.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engines.base import EngineError, EngineUnavailable
from engines.expression.stylegan.generator import Generator
from engines.expression.stylegan.perceptual import DEFAULT_LAYER, PerceptualLoss

STYLEGAN = "stylegan2_ffhq"
VGG = "vgg16"
SLOT = "stylegan"  # where the model store keeps the loaded networks


@dataclass(frozen=True)
class StyleGANModels:
    generator: Generator
    loss: PerceptualLoss
    key: str  # names these exact networks in the inversion cache


def require_weights() -> None:
    """Raise ``EngineUnavailable`` naming every missing file and the command for each."""
    from engines.store import weights

    missing = [weights.entry(n) for n in (STYLEGAN, VGG)
               if not weights.is_installed(weights.entry(n))]
    if not missing:
        return
    commands = " and ".join(f"'transfigure weights download {e.name}'" for e in missing)
    titles = ", ".join(f"{e.title} ({e.size / 1e6:.0f} MB)" for e in missing)
    licence = next((f" The StyleGAN2 network's licence: {e.licence}" for e in missing
                    if e.name == STYLEGAN), "")
    raise EngineUnavailable(
        f"The StyleGAN expression engine needs weights that are not installed: {titles}. "
        f"Download them with {commands}, or import copies with "
        f"'transfigure weights import NAME FILE'.{licence}",
        "; ".join(f"{e.name} expected at {weights.path_for(e)}" for e in missing),
    )


def converted_path(source: Path) -> Path:
    return source.with_name(source.stem + ".safetensors")


def needs_conversion() -> bool:
    from engines.expression.stylegan.convert import FORMAT, converted_metadata
    from engines.store import weights

    entry = weights.entry(STYLEGAN)
    target = converted_path(weights.path_for(entry))
    if not target.is_file():
        return True
    try:
        meta = converted_metadata(target)
    except Exception:
        return True
    return meta.get("format") != FORMAT or meta.get("source_sha256") != entry.sha256


def _load(device: str) -> StyleGANModels:
    from engines.expression.stylegan.convert import ensure_converted, load_converted
    from engines.expression.stylegan.perceptual import load_vgg16_trunk
    from engines.store import weights

    g_entry, v_entry = weights.entry(STYLEGAN), weights.entry(VGG)
    source = weights.path_for(g_entry)
    if not source.is_file():
        raise weights.WeightsMissing(f"The {STYLEGAN} weights are not installed.")
    target = ensure_converted(source, converted_path(source), g_entry.sha256)
    state, config = load_converted(target)
    generator = Generator(config)
    generator.load_state_dict(state, strict=True)
    try:
        trunk = load_vgg16_trunk(weights.load_state_dict(v_entry), DEFAULT_LAYER)
    except KeyError as exc:
        raise EngineError(
            f"The VGG-16 weights file does not fit torchvision's VGG-16; download it again "
            f"with 'transfigure weights download {VGG}'.", str(exc),
        ) from exc
    loss = PerceptualLoss(trunk)
    generator = generator.eval().requires_grad_(False).to(device)
    return StyleGANModels(generator, loss.to(device), f"{g_entry.sha256[:16]}-{v_entry.sha256[:16]}"
                          f"-{DEFAULT_LAYER}")


def load_models(device: str, announce: Callable[[str], None] | None = None) -> StyleGANModels:
    """The cached networks on ``device``; the first call may convert NVIDIA's pickle."""
    from engines import store
    from engines.store.weights import WeightsMissing

    require_weights()
    if announce is not None and not store.holds(SLOT):
        announce("Converting NVIDIA's StyleGAN2 network (only the first time)"
                 if needs_conversion() else "Loading StyleGAN2 and VGG-16")
    try:
        return store.keep_last(SLOT, device, lambda: _load(device))
    except WeightsMissing as exc:  # deleted since the check
        raise EngineUnavailable(exc.message, exc.detail) from exc
