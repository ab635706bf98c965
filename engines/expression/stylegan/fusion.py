"""Style fusion (ch. 6.3.4): the first face's styles with some layers from the second.

The chapter writes s' = α s₁ + β s₂ with α, β diagonal 18 × 18 and restricts them to
0/1 with α + β = I, i.e. each layer is taken whole from one face; layers 4 and 5
(1-based) from the expression face "work surprisingly well". ``strength`` relaxes the
0/1 choice on the chosen layers only: 0 keeps the first face's styles, 1 is the
chapter's swap, values between move those layers part of the way.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engines.base import InvalidInput


def check_layers(layers: Sequence[int], num_ws: int) -> tuple[int, ...]:
    """The 1-based layer numbers, validated against a generator with ``num_ws`` styles."""
    chosen = tuple(int(x) for x in layers)
    bad = [x for x in chosen if not 1 <= x <= num_ws]
    if bad:
        raise InvalidInput(
            f"Style layers are numbered 1 to {num_ws}; {', '.join(map(str, bad))} "
            "is out of range."
        )
    return chosen


def fuse(first: np.ndarray, second: np.ndarray, layers: Sequence[int],
         strength: float = 1.0) -> np.ndarray:
    """``first`` (num_ws × w_dim) with the 1-based ``layers`` moved towards ``second``'s.

    A new array; neither input is modified. Layers not chosen are bit-identical to
    ``first``'s.
    """
    first = np.asarray(first, dtype=np.float32)
    second = np.asarray(second, dtype=np.float32)
    if first.shape != second.shape or first.ndim != 2:
        raise ValueError(f"styles differ in shape: {first.shape} and {second.shape}")
    if not 0.0 <= strength <= 1.0:
        raise InvalidInput(f"The strength must be between 0 and 1, not {strength}.")
    fused = first.copy()
    rows = [x - 1 for x in sorted(set(check_layers(layers, first.shape[0])))]
    if strength == 1.0:
        fused[rows] = second[rows]
    elif strength > 0.0:
        fused[rows] = first[rows] + np.float32(strength) * (second[rows] - first[rows])
    return fused
