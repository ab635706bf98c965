"""Blending a result back through a soft mask: exact where untouched, a fade in between."""

from __future__ import annotations

import numpy as np
import pytest

from engines.blend import blend_by_alpha


def test_alpha_zero_keeps_the_base_bit_exact_and_one_takes_the_layer():
    rng = np.random.default_rng(1)
    base = rng.random((20, 30, 3), dtype=np.float32)
    layer = rng.random((20, 30, 3), dtype=np.float32)
    alpha = np.zeros((20, 30), np.float32)
    alpha[5:10, 5:10] = 1.0
    alpha[12:15, 12:20] = 0.25
    out = blend_by_alpha(base, layer, alpha)
    assert np.array_equal(out[alpha == 0], base[alpha == 0])
    assert np.array_equal(out[alpha == 1], layer[alpha == 1])
    part = alpha == 0.25
    assert np.allclose(out[part], 0.75 * base[part] + 0.25 * layer[part], atol=1e-6)
    assert out is not base


def test_mismatched_shapes_are_refused():
    with pytest.raises(ValueError, match="shapes"):
        blend_by_alpha(np.zeros((4, 4, 3)), np.zeros((4, 5, 3)), np.zeros((4, 4)))
