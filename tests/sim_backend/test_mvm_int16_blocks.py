"""The MVM product fed int16 inputs block by block, and the codes written in place (issue 19/22 speed)."""

from __future__ import annotations

import numpy as np
import pytest

from neurram_lab.sim_backend import _kernels
from neurram_lab.sim_backend.chip import _set_bits
from neurram_lab.sim_backend.neuron import code_floors, sar_thresholds

needs_numba = pytest.mark.skipif(not _kernels.available(), reason="numba is a dependency; absent only on odd platforms")


@needs_numba
@pytest.mark.parametrize("rows, cols, k_in", [(2048, 256, 128), (600, 100, 64), (7, 256, 128), (1500, 70, 16)])
def test_int16_inputs_give_the_codes_of_their_float32_copy(rows, cols, k_in, monkeypatch):
    """Each row block made float32 in its thread gives the codes (and the energy sum) of the whole
    request's float32 copy, on 1 and 2 twin threads; ``out`` receives them in place."""
    rng = np.random.default_rng(cols + k_in)
    k = 5
    floors = code_floors(sar_thresholds(k, 0.004 * rng.standard_normal(k)), k)
    x16 = rng.integers(-7, 8, (rows, k_in)).astype(np.int16)
    m32 = (rng.standard_normal((cols, k_in)) * 0.3).astype(np.float32)
    scale = rng.uniform(0.5, 1.5, rows).astype(np.float32)
    off = rng.normal(0, 0.4, cols).astype(np.float32)
    want, want_sq = _kernels.product_noisy_convert(x16.astype(np.float32), m32, scale, 30.0, off, 99, 0.45, floors,
                                                   2**k - 1)
    for threads in ("1", "2"):
        monkeypatch.setenv("NEURRAM_TWIN_THREADS", threads)
        got, sq = _kernels.product_noisy_convert(x16, m32, scale, 30.0, off, 99, 0.45, floors, 2**k - 1)
        assert np.array_equal(got, want)
        assert sq == want_sq
        into = np.full((2, rows, cols), -99, np.int16)
        got2, sq2 = _kernels.product_noisy_convert(x16, m32, scale, 30.0, off, 99, 0.45, floors, 2**k - 1, into[1])
        assert np.shares_memory(got2, into[1])
        assert np.array_equal(into[1], want) and sq2 == want_sq
        assert (into[0] == -99).all()


@needs_numba
@pytest.mark.parametrize("signed", [True, False])
def test_input_magnitudes_are_the_float_magnitudes_and_the_pulse_count(signed):
    rng = np.random.default_rng(3)
    lo = -(2**15 - 1) if signed else 0
    x = rng.integers(lo, 2**15, (2, 41, 33)).astype(np.int16)
    x[0, 0, :3] = [0, 1, 2**15 - 1]
    mag = np.abs(x) if signed else x
    buf = np.full(x.shape, np.nan, np.float32)
    mag32, bits = _kernels.input_magnitudes(x, signed, buf)
    assert mag32 is buf
    assert np.array_equal(mag32, mag.astype(np.float32))
    assert bits == _set_bits(mag)


def test_scratch_is_one_buffer_per_core_index_reused_across_shapes():
    """A network's layers change shapes every call: the work array is one per core index, grown to the
    largest size and viewed in the shape asked, not a new array per shape."""
    from neurram_lab.sim_backend.chip import ChipCircuit
    from neurram_lab.sim_backend.params import CircuitParams

    chip = ChipCircuit(CircuitParams(), 1)
    a = chip._scratch(0, (100, 76))
    b = chip._scratch(0, (50, 64))
    assert a.shape == (100, 76) and b.shape == (50, 64) and a.dtype == np.float32
    assert np.shares_memory(a, b)
    c = chip._scratch(1, (50, 64))
    assert not np.shares_memory(b, c)
    d = chip._scratch(0, (200, 76))  # larger: grown
    assert d.shape == (200, 76) and len(chip._buffers) == 2
