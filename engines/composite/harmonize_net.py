"""The harmonization network of ch. 3.4.4, applied as a colour transform of the object.

The network is the ch. 3 generator (three stride-2 convolutions, nine residual blocks
with dilation 2, three stride-2 transposed convolutions, batch norm + ReLU), fed the
composite's RGB and the object's mask. It runs on a crop around the object at the
resolution it was trained at, so it sees the context it learnt from whatever the photo's
size. Its pixels are never pasted: a regularised colour transform of the object is fitted
to what it made of the object and applied at full resolution. That keeps every detail of
the photo, cannot add the network's blur or artefacts, and stays near the identity where
the network is unsure.

torch is imported inside functions only: ``engines.composite`` asks the model store
whether a model file exists when the app lists its engines, which must not cost a torch
import. ``HARMONIZATION`` tells the store what a model file of this network is.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from engines import store
from engines.base import CancelToken, Engine, EngineError, Progress, Report
from engines.composite.harmonize import as_float32
from engines.composite.request import HarmonizeRequest, HarmonizeResult

if TYPE_CHECKING:
    import torch
    from torch import nn


ENV_VAR = "TRANSFIGURE_HARMONIZER"
DEFAULT_MODEL = "harmonizer"  # the shipped model's name
FORMAT = "transfigure-harmonizer"
FORMAT_VERSION = "1"
ARCHITECTURE = "dilated-resnet-generator"
DEFAULT_WIDTH = 16
DEFAULT_BLOCKS = 9
DILATION = 2
MULTIPLE = 8  # three stride-2 stages: working images are padded to a multiple of 8
CONTEXT = 0.75  # crop margin around the object, as a fraction of its larger side
MAX_ASPECT = 2.0  # the working crop's long side is at most this many short sides
REGULARISATION = 3e-3  # pull of the fitted colour transform towards the identity

FIX = (
    f"Train one with 'transfigure train-harmonizer', or point {ENV_VAR} at a harmonizer "
    f"model file (.safetensors)."
)


# ----------------------------------------------------------------------------- network


@lru_cache(maxsize=1)
def _network_classes() -> tuple[type, type]:
    """The torch module classes, defined on first use so importing this module stays cheap."""
    import torch
    from torch import nn

    class ResidualBlock(nn.Module):
        """Two dilated 3×3 convolutions with a skip: a wide view at no extra parameters."""

        def __init__(self, channels: int, dilation: int) -> None:
            super().__init__()
            self.body = nn.Sequential(
                nn.Conv2d(channels, channels, 3, padding=dilation, dilation=dilation,
                          bias=False),
                nn.BatchNorm2d(channels),
                nn.ReLU(inplace=True),
                nn.Conv2d(channels, channels, 3, padding=dilation, dilation=dilation,
                          bias=False),
                nn.BatchNorm2d(channels),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.body(x)

    class Generator(nn.Module):
        """The ch. 3 generator head; predicts a correction added to the composite.

        Predicting the residual makes "leave it alone" the starting point, which is the
        right answer for every background pixel and for harmonious objects.
        """

        def __init__(self, width: int = DEFAULT_WIDTH, blocks: int = DEFAULT_BLOCKS) -> None:
            super().__init__()
            w = width

            def down(i: int, o: int) -> list[nn.Module]:
                return [nn.Conv2d(i, o, 3, 2, 1, bias=False), nn.BatchNorm2d(o),
                        nn.ReLU(inplace=True)]

            def up(i: int, o: int) -> list[nn.Module]:
                return [nn.ConvTranspose2d(i, o, 4, 2, 1, bias=False), nn.BatchNorm2d(o),
                        nn.ReLU(inplace=True)]

            self.width, self.blocks = width, blocks
            self.down = nn.Sequential(*down(4, w), *down(w, 2 * w), *down(2 * w, 4 * w))
            self.middle = nn.Sequential(*(ResidualBlock(4 * w, DILATION) for _ in range(blocks)))
            # The last layer outputs the image: no batch norm, no ReLU.
            self.up = nn.Sequential(*up(4 * w, 2 * w), *up(2 * w, w),
                                    nn.ConvTranspose2d(w, 3, 4, 2, 1))
            with torch.no_grad():  # start near the identity (a tiny correction)
                last = self.up[-1]
                last.weight.mul_(0.1)
                last.bias.zero_()

        def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            """``image`` Bx3xHxW in [0, 1], ``mask`` Bx1xHxW; H, W multiples of 8."""
            x = torch.cat([image * 2 - 1, mask * 2 - 1], dim=1)
            return image + self.up(self.middle(self.down(x)))

    return ResidualBlock, Generator


def build_network(width: int = DEFAULT_WIDTH, blocks: int = DEFAULT_BLOCKS) -> nn.Module:
    """A fresh generator; ``width`` is the first stage's channels (16 is fine on a CPU)."""
    if width < 1 or blocks < 0:
        raise ValueError(f"invalid network size: width {width}, blocks {blocks}")
    return _network_classes()[1](width, blocks)


# ------------------------------------------------------------------- colour transform


def colour_features(rgb: Any) -> Any:
    """[r, g, b, r², g², b², 1] per pixel (numpy or torch, ...x3 → ...x7).

    Squares let one transform bend tones (gamma, curves) as well as shift and mix
    colours; on [0, 1] inputs they stay bounded, so the fit cannot explode.
    """
    if isinstance(rgb, np.ndarray):
        return np.concatenate([rgb, rgb * rgb, np.ones_like(rgb[..., :1])], axis=-1)
    import torch

    return torch.cat([rgb, rgb * rgb, torch.ones_like(rgb[..., :1])], dim=-1)


def identity_transform(like: Any = None) -> Any:
    """The 3×7 matrix that maps colour features back to the unchanged colour."""
    eye = np.zeros((3, 7), np.float32)
    eye[:, :3] = np.eye(3, dtype=np.float32)
    if like is None or isinstance(like, np.ndarray):
        return eye
    import torch

    return torch.as_tensor(eye, dtype=like.dtype, device=like.device)


def fit_colour_transform(
    source: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor,
    regularisation: float = REGULARISATION,
) -> torch.Tensor:
    """Weighted ridge least squares of ``target ≈ M · features(source)``, M pulled to I.

    ``source``/``target`` BxNx3, ``weight`` BxN; returns Bx3x7. Differentiable, so the
    trainer can train through the same fit that inference uses. The pull is scaled by
    the total weight, so it means the same for a small object as for a large one.
    """
    import torch

    phi = colour_features(source)  # BxNx7
    total = weight.sum(dim=1).clamp_min(1e-6)[:, None, None]
    wphi = phi * weight[..., None]
    gram = wphi.transpose(1, 2) @ phi / total  # Bx7x7
    cross = wphi.transpose(1, 2) @ target / total  # Bx7x3
    eye7 = torch.eye(7, dtype=source.dtype, device=source.device)
    ident = identity_transform(source).transpose(0, 1)  # 7x3
    lhs = gram + regularisation * eye7
    rhs = cross + regularisation * ident
    return torch.linalg.solve(lhs, rhs).transpose(1, 2)


def apply_colour_transform(matrix: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """``rgb`` Nx3 float32 through a 3×7 transform, clipped to [0, 1]."""
    out = colour_features(rgb) @ matrix.T.astype(np.float32)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


# -------------------------------------------------------------------------- model file


def _build(path: Path, tensors: Mapping[str, Any], meta: dict[str, str],
           device: str) -> tuple[nn.Module, dict[str, str]]:
    """The network in eval mode on ``device`` and its metadata, from a checked file."""
    try:
        width, blocks = int(meta["width"]), int(meta["blocks"])
        net = build_network(width, blocks)
    except (KeyError, ValueError) as exc:
        raise EngineError(f"{path.name} does not say how large its network is. {FIX}",
                          f"{path}: {exc!r}") from exc
    store.fit(HARMONIZATION, path, net, tensors)
    net.eval().to(device)
    return net, meta


HARMONIZATION = store.ModelKind(
    noun="harmonization", format=FORMAT, architecture=ARCHITECTURE,
    format_version=FORMAT_VERSION, default=DEFAULT_MODEL, folder="", fix=FIX, build=_build,
    file_env=ENV_VAR,
)


def save_model(net: nn.Module, path: str | os.PathLike[str], metadata: Mapping[str, Any]) -> Path:
    """Write weights + metadata atomically (a crash mid-write must not leave a broken file).

    Non-string metadata values are stored as JSON; the format, architecture and network
    size are always written from the network itself.
    """
    return store.save(HARMONIZATION, path, net.state_dict(), {
        **metadata, "width": str(net.width), "blocks": str(net.blocks),
        "dilation": str(DILATION)})


# --------------------------------------------------------------------------- the engine


def working_crop(mask: np.ndarray, context: float = CONTEXT) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1): the object's box grown by ``context`` of its larger side."""
    ys, xs = np.nonzero(mask > 0)
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    margin = int(round(context * max(y1 - y0, x1 - x0))) + 4
    h, w = mask.shape
    return max(0, x0 - margin), max(0, y0 - margin), min(w, x1 + margin), min(h, y1 + margin)


def working_size(height: int, width: int, resolution: int) -> tuple[int, int]:
    """(h, w) with the short side at ``resolution``, the long side capped at MAX_ASPECT×."""
    scale = resolution / min(height, width)
    scale = min(scale, MAX_ASPECT * resolution / max(height, width))
    return max(MULTIPLE, round(height * scale)), max(MULTIPLE, round(width * scale))


def _resize(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    h, w = size
    shrink = h < array.shape[0] or w < array.shape[1]
    return cv2.resize(array, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def predict_transform(
    net: nn.Module,
    image: np.ndarray,
    mask: np.ndarray,
    device: str = "cpu",
    regularisation: float = REGULARISATION,
    flip: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Run the net on an already working-sized crop; returns (3×7 transform, net output).

    The crop is padded by reflection to a multiple of 8 (the padding is no object);
    with ``flip`` its mirror image is run too and the two outputs averaged.
    """
    import torch

    h, w = mask.shape
    ph, pw = -h % MULTIPLE, -w % MULTIPLE
    padded = cv2.copyMakeBorder(image, 0, ph, 0, pw, cv2.BORDER_REFLECT_101)
    padded_mask = cv2.copyMakeBorder(mask, 0, ph, 0, pw, cv2.BORDER_CONSTANT, value=0.0)
    with torch.inference_mode():
        x = torch.from_numpy(np.ascontiguousarray(padded.transpose(2, 0, 1)))[None].to(device)
        m = torch.from_numpy(np.ascontiguousarray(padded_mask))[None, None].to(device)
        if flip:  # the mirror image should get the same colours: averaging cuts noise
            both = net(torch.cat([x, x.flip(3)]), torch.cat([m, m.flip(3)]))
            out = (both[0] + both[1].flip(2)) / 2
        else:
            out = net(x, m)[0]
        out = out[:, :h, :w].float()
        # The fit is tiny and wants float64, which not every GPU (MPS) has: do it on the CPU.
        src = x[0, :, :h, :w].reshape(3, -1).T[None].cpu().double()
        dst = out.reshape(3, -1).T[None].cpu().double()
        weight = m[0, 0, :h, :w].reshape(1, -1).cpu().double()
        matrix = fit_colour_transform(src, dst, weight, regularisation)[0]
    output = out.permute(1, 2, 0).clamp(0, 1).cpu().numpy()
    return matrix.float().cpu().numpy(), output


class NetHarmonizer(Engine[HarmonizeRequest, HarmonizeResult]):
    """Harmonizes with the trained network; needs torch and a model file."""

    name = "net"

    def __init__(self, regularisation: float = REGULARISATION, flip: bool = True) -> None:
        self.regularisation = regularisation
        self.flip = flip

    def compute(
        self, request: HarmonizeRequest, device: str, report: Report, cancel: CancelToken
    ) -> HarmonizeResult:
        image, mask = as_float32(request)
        result = image.copy()
        if request.strength == 0:
            return HarmonizeResult(result)
        report(Progress(0, 3, "Loading the harmonization model"))
        _, (net, meta) = store.load(HARMONIZATION, request.model, device)
        resolution = int(meta.get("resolution", 256))
        cancel.raise_if_set()

        x0, y0, x1, y1 = working_crop(mask)
        size = working_size(y1 - y0, x1 - x0, resolution)
        small = _resize(image[y0:y1, x0:x1], size)
        small_mask = np.clip(_resize(mask[y0:y1, x0:x1], size), 0, 1)
        report(Progress(1, 3, "Running the harmonization network"))
        matrix, output = predict_transform(net, small, small_mask, device, self.regularisation,
                                           self.flip)
        cancel.raise_if_set()

        inside = mask > 0
        pixels = image[inside]
        alpha = (request.strength * mask[inside])[:, None]
        changed = pixels + alpha * (apply_colour_transform(matrix, pixels) - pixels)
        result[inside] = np.clip(changed, 0, 1)
        report(Progress(2, 3, "Applying the colour change", output, (x0, y0, x1 - x0, y1 - y0)))
        report(Progress(3, 3, "Done"))
        return HarmonizeResult(result)
