"""One small array vocabulary over numpy (CPU) and torch (GPU).

Classic engines are written once against these operations. On the CPU they run on
numpy and OpenCV, so a command-line fill starts in a fraction of a second instead of
paying torch's multi-second import; on a GPU the same code runs on torch tensors.
Only the operations the two libraries spell differently live here; indexing and
arithmetic are written directly.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

Array = Any  # numpy.ndarray or torch.Tensor


class NumpyOps:
    """CPU backend: numpy for arithmetic, OpenCV for filtering."""

    name = "numpy"

    def __init__(self, seed: int) -> None:
        self._rng = np.random.default_rng(seed)

    def asarray(self, a: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(a)

    def to_numpy(self, a: np.ndarray) -> np.ndarray:
        return a

    def zeros(self, shape: tuple[int, ...], dtype: str = "float32") -> np.ndarray:
        return np.zeros(shape, dtype=dtype)

    def full(self, shape: tuple[int, ...], value: float, dtype: str) -> np.ndarray:
        return np.full(shape, value, dtype=dtype)

    def arange(self, n: int) -> np.ndarray:
        return np.arange(n, dtype=np.int64)

    def nonzero(self, mask: np.ndarray) -> tuple[np.ndarray, ...]:
        return tuple(i.astype(np.int64) for i in np.nonzero(mask))

    def uniform(self, n: int) -> np.ndarray:
        return self._rng.random(n, dtype=np.float32)

    def integers(self, high: int, n: int) -> np.ndarray:
        return self._rng.integers(0, high, n, dtype=np.int64)

    def long(self, a: np.ndarray) -> np.ndarray:
        return a.astype(np.int64)

    def take_rows(self, a: np.ndarray, index: np.ndarray) -> np.ndarray:
        return np.take(a, index, axis=0)

    def concat(self, parts: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(parts)

    def where(self, cond: np.ndarray, a: Array, b: Array) -> np.ndarray:
        return np.where(cond, a, b)

    def clip(self, a: np.ndarray, lo: int, hi: int) -> np.ndarray:
        return np.clip(a, lo, hi)

    def sum_last(self, a: np.ndarray) -> np.ndarray:
        return a.sum(axis=-1)

    def exp(self, a: np.ndarray) -> np.ndarray:
        return np.exp(a)

    def eight_bit(self, image: np.ndarray) -> np.ndarray:
        """An HxWxC image in [0, 1] as its 8-bit values (0…255, rounded to nearest, ties
        to even), in float32: np.rint(np.clip(image, 0, 1) * 255) in two fast passes
        (OpenCV's saturating multiply, then a cast) instead of three slow ones. The result
        stays float because OpenCV filters float32 2.6× faster than uint8. (One channel
        wide, so OpenCV's scalar scales every value, not only the first channel.)"""
        flat = np.ascontiguousarray(image).reshape(image.shape[0], -1)
        return cv2.multiply(flat, 255.0, dtype=cv2.CV_8U).reshape(image.shape).astype(
            np.float32)

    def quantile(self, a: np.ndarray, q: float) -> float:
        return float(np.quantile(a, q)) if a.size else 0.0

    def dilate(self, mask: np.ndarray, radius: int) -> np.ndarray:
        """Square dilation: True wherever a (2r+1)² window touches the mask."""
        kernel = np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)
        return cv2.dilate(mask.astype(np.uint8), kernel, borderType=cv2.BORDER_CONSTANT) > 0

    def correlate(self, image: np.ndarray, kernels: np.ndarray) -> np.ndarray:
        """Per-pixel responses of an HxWxC image to D kernels (D, C, k, k): HxWxD.

        Same-size output centred on each pixel; values within k//2 of the border are
        not meaningful (no caller reads them).
        """
        channels = image.shape[2]
        planes = [np.ascontiguousarray(image[..., c]) for c in range(channels)]
        sums = []
        for d in range(kernels.shape[0]):
            acc = None
            for c in range(channels):
                response = cv2.filter2D(planes[c], cv2.CV_32F, kernels[d, c],
                                        borderType=cv2.BORDER_REFLECT)
                acc = response if acc is None else cv2.add(acc, response, dst=acc)
            sums.append(acc)
        # OpenCV interleaves the planes several times faster than a strided numpy copy.
        merged = cv2.merge(sums)
        return merged[..., None] if merged.ndim == 2 else merged

    def project_patches(
        self, image: np.ndarray, ys: np.ndarray, xs: np.ndarray, kernels: np.ndarray
    ) -> np.ndarray:
        """``correlate``'s responses at just the listed pixels (N, D)."""
        dims = kernels.shape[0]
        k = kernels.shape[-1]
        h, w, channels = image.shape
        flat_kernels = np.ascontiguousarray(kernels.transpose(0, 2, 3, 1).reshape(dims, -1))
        dy, dx = np.mgrid[-(k // 2) : k // 2 + 1, -(k // 2) : k // 2 + 1]
        offsets = (dy * w + dx).ravel()
        pixels = image.reshape(-1, channels)
        out = np.empty((ys.shape[0], dims), np.float32)
        step = 16384
        for start in range(0, ys.shape[0], step):
            centre = ys[start : start + step] * w + xs[start : start + step]
            patches = pixels.take((centre[:, None] + offsets).ravel(), axis=0)
            patches = patches.reshape(centre.shape[0], -1)
            out[start : start + centre.shape[0]] = cv2.gemm(
                patches, flat_kernels, 1.0, None, 0.0, flags=cv2.GEMM_2_T
            )
        return out


class TorchOps:
    """GPU (or forced CPU) backend on torch tensors of one device."""

    name = "torch"

    def __init__(self, seed: int, device: str) -> None:
        import torch

        self.torch = torch
        self.device = torch.device(device)
        self._gen = torch.Generator(device=self.device)
        self._gen.manual_seed(seed)

    def asarray(self, a: np.ndarray) -> Array:
        return self.torch.from_numpy(np.ascontiguousarray(a)).to(self.device)

    def to_numpy(self, a: Array) -> np.ndarray:
        return a.detach().cpu().numpy()

    def zeros(self, shape: tuple[int, ...], dtype: str = "float32") -> Array:
        return self.torch.zeros(shape, dtype=getattr(self.torch, dtype), device=self.device)

    def full(self, shape: tuple[int, ...], value: float, dtype: str) -> Array:
        return self.torch.full(shape, value, dtype=getattr(self.torch, dtype), device=self.device)

    def arange(self, n: int) -> Array:
        return self.torch.arange(n, device=self.device)

    def nonzero(self, mask: Array) -> tuple[Array, ...]:
        return self.torch.nonzero(mask, as_tuple=True)

    def uniform(self, n: int) -> Array:
        return self.torch.rand(n, generator=self._gen, device=self.device)

    def integers(self, high: int, n: int) -> Array:
        return self.torch.randint(0, high, (n,), generator=self._gen, device=self.device)

    def long(self, a: Array) -> Array:
        return a.long()

    def take_rows(self, a: Array, index: Array) -> Array:
        return a.index_select(0, index)

    def concat(self, parts: list[Array]) -> Array:
        return self.torch.cat(parts)

    def where(self, cond: Array, a: Array, b: Array) -> Array:
        return self.torch.where(cond, a, b)

    def clip(self, a: Array, lo: int, hi: int) -> Array:
        return a.clamp(lo, hi)

    def sum_last(self, a: Array) -> Array:
        return a.sum(dim=-1)

    def exp(self, a: Array) -> Array:
        return a.exp()

    def eight_bit(self, image: Array) -> Array:
        """The image's 8-bit values, kept as floats (the GPU filters in float)."""
        return self.torch.round(image.clamp(0, 1) * 255)

    def quantile(self, a: Array, q: float) -> float:
        if a.numel() == 0:
            return 0.0
        flat = a.flatten()
        if flat.numel() > 1_000_000:  # torch.quantile refuses very large inputs
            flat = flat[:: flat.numel() // 1_000_000 + 1]
        return float(self.torch.quantile(flat, q))

    def dilate(self, mask: Array, radius: int) -> Array:
        pooled = self.torch.nn.functional.max_pool2d(
            mask.float()[None, None], 2 * radius + 1, stride=1, padding=radius
        )
        return pooled[0, 0] > 0

    def project_patches(self, image: Array, ys: Array, xs: Array, kernels: np.ndarray) -> Array:
        dims, _, k, _ = kernels.shape
        weight = self.asarray(np.ascontiguousarray(kernels.transpose(0, 2, 3, 1).reshape(dims, -1)))
        offs = self.torch.arange(-(k // 2), k // 2 + 1, device=self.device)
        y = ys[:, None, None] + offs[None, :, None]
        x = xs[:, None, None] + offs[None, None, :]
        return image[y, x].reshape(ys.shape[0], -1) @ weight.T

    def correlate(self, image: Array, kernels: np.ndarray) -> Array:
        weight = self.asarray(kernels.astype(np.float32))
        pad = kernels.shape[-1] // 2
        x = image.permute(2, 0, 1)[None]
        x = self.torch.nn.functional.pad(x, (pad, pad, pad, pad), mode="reflect")
        return self.torch.nn.functional.conv2d(x, weight)[0].permute(1, 2, 0).contiguous()


def make_ops(device: str, seed: int, backend: str = "auto") -> NumpyOps | TorchOps:
    """numpy on the CPU (instant start), torch elsewhere; ``backend`` may force either."""
    if backend == "numpy" or (backend == "auto" and device == "cpu"):
        return NumpyOps(seed)
    return TorchOps(seed, device)
