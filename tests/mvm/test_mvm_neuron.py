"""The neuron: binary-search conversion, activations, LFSR noise."""

from __future__ import annotations

import numpy as np
import pytest

from neurram_lab.sim_backend._normal import FreshNormals
from neurram_lab.sim_backend.neuron import LFSRPair, activate, convert, sar_thresholds


def _sar_reference(v, offset, lsb, k, level_err):
    """The binary search done literally: sign, then k comparisons with the shared DAC levels."""
    out = np.empty(v.shape, np.int64)
    w = 2.0 ** np.arange(k - 1, -1, -1) * (1 + level_err[:k]) * lsb
    for idx, x in np.ndenumerate(v + offset):
        res, code = abs(float(x)), 0
        for b in range(k):
            bit = res >= w[b]
            res -= w[b] if bit else 0.0
            code = 2 * code + bit
        out[idx] = code if x >= 0 else -code - 1  # magnitude bits inverted when the sign is 0
    return out


@pytest.mark.parametrize("k", [1, 3, 5, 9])
def test_conversion_matches_a_literal_binary_search(k):
    rng = np.random.default_rng(k)
    err = 0.004 * rng.standard_normal(10)
    lsb = 2e-3
    v = rng.uniform(-1.2, 1.2, (64, 16)) * lsb * 2**k
    off = rng.normal(0, 3e-3, 16)
    got = convert(v.astype(np.float32), off, lsb, k, sar_thresholds(k, err[:k]), 0.0, None)
    want = _sar_reference(v.astype(np.float32).astype(np.float64), off.astype(np.float32), lsb, k, err)
    assert got.dtype == np.int16
    assert np.array_equal(got, want)
    assert got.min() >= -(2**k) and got.max() <= 2**k - 1


def test_ideal_dac_thresholds_are_the_integers():
    t = sar_thresholds(4, np.zeros(4))
    assert np.array_equal(t[1:-1], np.arange(1, 16))


def test_activations():
    c = np.arange(-32, 32, dtype=np.int16)
    assert activate(c, "relu", 5).min() == 0
    assert np.array_equal(activate(c, "relu", 5)[32:], c[32:])
    tanh = activate(c, "tanh", 5)
    sig = activate(c, "sigmoid", 5)
    assert np.all(np.diff(tanh) >= 0) and tanh.min() >= -32 and tanh.max() <= 31
    assert np.all(np.diff(sig) >= 0) and sig.min() >= 0 and sig.max() <= 63
    assert np.array_equal(activate(c, "none", 5), c)


def test_lfsr_pair_is_deterministic_and_balanced():
    seed = np.arange(64, dtype=np.uint8)
    a, b = LFSRPair(seed), LFSRPair(seed)
    u = a.uniform(200)
    assert np.array_equal(u, b.uniform(200))
    assert u.shape == (200, 256)
    assert abs(u.mean()) < 0.02 and 0.08 < u.var() < 0.09  # uniform on [-0.5, 0.5): var 1/12
    assert not np.array_equal(u[:100], u[100:])


def test_conversion_noise_is_normal_and_reproducible():
    p1 = FreshNormals(np.array([1, 2], np.uint64))
    p2 = FreshNormals(np.array([1, 2], np.uint64))
    z = np.concatenate([p1.normal((100, 50)).ravel().copy() for _ in range(40)])
    z2 = np.concatenate([p2.normal((100, 50)).ravel().copy() for _ in range(40)])
    assert np.array_equal(z, z2)
    assert abs(z.mean()) < 0.05 and abs(z.std() - 1) < 0.05
