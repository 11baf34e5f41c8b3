"""The twin's randomness: fresh noise on every call, exact Gaussian tails, the same draws per seed."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import ndtr, ndtri

from neurram_lab import _jit
from neurram_lab.board.contract import MVMRequest
from neurram_lab.board.registry import open_board
from neurram_lab.sim_backend import _kernels, _normal
from neurram_lab.sim_backend.device import NoiseStream


def _mvm_codes(board, repeats: int) -> list[np.ndarray]:
    for rows in range(0, 128, 2):  # some programmed cells so the outputs sit away from zero
        board.pulse("set", 0, rows, np.arange(0, 256, 3), 2.0, 1e-6, 1.5)
    x = np.random.default_rng(0).integers(-7, 8, (1, 1024, 64)).astype(np.int16)
    req = MVMRequest(cores=(0,), inputs=x, input_lines=np.arange(64), output_lines=np.arange(256),
                     input_bits=4, output_bits=6)
    return [board.mvm(req).astype(np.float64) for _ in range(repeats)]


def test_identical_mvm_calls_get_independent_noise_and_a_seed_reproduces_them():
    a, b, c, d = _mvm_codes(open_board("sim://?seed=11"), 4)
    # the same state and request: only the noise differs between calls
    e1, e2 = (a - b).ravel(), (c - d).ravel()
    assert np.count_nonzero(e1) > 10_000  # the noise moves codes
    r = np.corrcoef(e1, e2)[0, 1]
    assert abs(r) < 0.01  # independent calls (a reused pool gives e1 == e2 where offsets repeat)
    assert np.corrcoef((a - c).ravel(), (b - c).ravel())[0, 1] == pytest.approx(0.5, abs=0.02)
    again = _mvm_codes(open_board("sim://?seed=11"), 4)
    for x, y in zip((a, b, c, d), again):
        assert np.array_equal(x, y)
    other = _mvm_codes(open_board("sim://?seed=12"), 1)[0]
    assert not np.array_equal(other, a)


def test_tail_fractions_beyond_3_4_5_sigma_match_theory_over_1e8_draws():
    start = _normal.stream_start([2026, 22], 0)
    chunk = 10_000_000
    beyond = np.zeros(3, np.int64)
    n = 0
    for i in range(10):
        z = _normal.normals(start, i * chunk // 2, chunk)
        a = np.abs(z)
        beyond += [np.count_nonzero(a > k) for k in (3.0, 4.0, 5.0)]
        n += chunk
    for k, got in zip((3.0, 4.0, 5.0), beyond):
        want = n * 2.0 * ndtr(-k)  # 2.7e5, 6.3e3, 57 draws
        # binomial counts: within 4.5 standard deviations of the theory (a table stopping at
        # 3.5 sigma would have none beyond 4 and 5; one of 4096 points, too few beyond 3)
        assert abs(got - want) < 4.5 * np.sqrt(want), (k, got, want)


def test_exact_tail_quantiles_reach_beyond_6_sigma():
    # the outer bins' draws are the exact quantile of a 64-bit probability
    p = np.array([1e-4, 1e-6, 1e-9, 9.9e-10, 1e-12, 1e-15, 1e-18])
    assert np.allclose(_normal.lower_quantile(p), ndtri(p), rtol=1e-12, atol=0)
    w = np.array([0, 1, 5, 2**20, 2**32 - 1, 2**32 - 2**20], np.uint64).astype(np.uint32)
    z = _normal.tail_value(w, np.full(w.size, 2**31, np.uint32))
    assert z[0] < -6.3 and z[4] > 6.3  # draws go past 6 sigma (the 4096-point table stopped at 3.5)
    assert np.all(np.diff(z[:4]) > 0)


def test_body_draws_follow_the_quantile_function():
    rng = np.random.default_rng(5)
    w = rng.integers(2 << 20, 4094 << 20, 200_000, dtype=np.uint64).astype(np.uint32)
    exact = ndtri((w.astype(np.float64) + 0.5) / 2.0**32)
    assert np.abs(_normal._body(w) - exact).max() < 3e-5  # sigma


@pytest.mark.skipif(not _kernels.available(), reason="numba is a dependency; absent only on odd platforms")
@pytest.mark.parametrize("n", [0, 1, 2, 7, 4097, 300_001])
def test_compiled_draws_equal_the_numpy_draws(n):
    start = _normal.stream_start([7, 8], n)
    got = _normal.normals(start, 5, n, 0.25)
    want = _normal.normals_numpy(start, 5, n) * np.float32(0.25)
    assert got.shape == (n,)
    assert np.allclose(got, want, rtol=1e-6, atol=0)


def test_streams_are_counter_based_and_fresh_per_request(monkeypatch):
    key = np.array([3, 4], np.uint64)
    whole = NoiseStream(key, 5, 1)(1000)
    parts = NoiseStream(key, 5, 1)
    first, second = parts(500), parts(500)
    # each request takes the next words of its stream, computable on its own
    assert np.array_equal(first, _normal.normals(parts.start, 0, 500))
    assert np.array_equal(second, _normal.normals(parts.start, 250, 500))
    assert not np.array_equal(first, second)
    assert not np.array_equal(NoiseStream(key, 5, 2)(1000), whole)  # another block
    assert not np.array_equal(NoiseStream(key, 6, 1)(1000), whole)  # another call
    src = _normal.FreshNormals(key)
    a = src.normal((400, 500)).copy()
    b = src.normal((400, 500)).copy()
    assert abs(np.corrcoef(a.ravel(), b.ravel())[0, 1]) < 0.01
    assert abs(a.mean()) < 0.01 and abs(a.std() - 1.0) < 0.01
    # the numpy path (numba off) draws the same numbers
    monkeypatch.setattr(_jit, "ENABLED", False)
    src2 = _normal.FreshNormals(key)
    assert np.allclose(src2.normal((400, 500)), a, rtol=1e-6, atol=0)


def test_large_requests_draw_the_same_on_any_number_of_threads(monkeypatch):
    start = _normal.stream_start([9, 9], 1)
    n = 3 * _normal.PART + 4097
    monkeypatch.setenv("NEURRAM_TWIN_THREADS", "1")
    one = _normal.normals(start, 11, n, 0.5)
    monkeypatch.setenv("NEURRAM_TWIN_THREADS", "3")
    three = _normal.normals(start, 11, n, 0.5)
    assert np.array_equal(one, three)
    # and a request's first part is the same draws as a shorter request from the same word
    assert np.array_equal(one[: _normal.PART], _normal.normals(start, 11, _normal.PART, 0.5))
