"""The compiled conversion kernel against the numpy reference it replaces."""

from __future__ import annotations

import numpy as np
import pytest

from neurram_lab import _jit
from neurram_lab.sim_backend import _kernels
from neurram_lab.sim_backend._normal import FreshNormals
from neurram_lab.sim_backend.neuron import code_floors, convert, sar_thresholds
from neurram_lab.board.contract import MVMRequest
from neurram_lab.board.registry import open_board

needs_numba = pytest.mark.skipif(not _kernels.available(), reason="numba is a dependency; absent only on odd platforms")


def _reference(integ, row_scale, h, off, z, thr, k):
    v = integ * row_scale[:, None]
    np.clip(v, -h, h, out=v)
    sq = float(np.vdot(v.astype(np.float64), v.astype(np.float64)))

    class Drawn:
        def normal(self, shape, scale):
            return z

    return convert(v, off, 1.0, k, thr, 1.0 if z is not None else 0.0, Drawn()), sq


@needs_numba
@pytest.mark.parametrize("k", [1, 3, 5, 7])
@pytest.mark.parametrize("noisy", [True, False])
@pytest.mark.parametrize("dac_err", [0.004, 0.0])
def test_kernel_codes_equal_the_reference(k, noisy, dac_err):
    rng = np.random.default_rng(k)
    thr = sar_thresholds(k, dac_err * rng.standard_normal(k))
    rows, cols = 300, 70
    integ = (rng.standard_normal((rows, cols)) * 2.0 ** k * 0.7).astype(np.float32)
    scale = rng.uniform(0.5, 1.5, rows).astype(np.float32)
    off = rng.normal(0, 0.4, cols).astype(np.float32)
    z = (0.3 * rng.standard_normal((rows, cols))).astype(np.float32) if noisy else None
    h = 0.8 * 2.0**k  # some values clip at the headroom
    want, want_sq = _reference(integ.copy(), scale, h, off, z, thr, k)
    got, sq = _kernels.clip_convert(integ, scale, h, off, z, code_floors(thr, k), 2**k - 1)
    assert got.dtype == np.int16
    assert np.array_equal(got, want)
    assert sq == pytest.approx(want_sq, rel=1e-6)
    assert (np.abs(integ * scale[:, None]) > h).any()  # the clip was exercised


def _codes(kernels_on, monkeypatch):
    monkeypatch.setattr(_jit, "ENABLED", kernels_on)
    calls = []
    for name in ("clip_convert", "noisy_clip_convert", "product_noisy_convert"):  # the noisy paths draw inside
        real = getattr(_kernels, name)
        monkeypatch.setattr(_kernels, name, lambda *a, real=real: calls.append(1) or real(*a))
    board = open_board("sim://?seed=3")
    rng = np.random.default_rng(0)
    x = rng.integers(-7, 8, (1, 600, 64)).astype(np.int16)
    req = MVMRequest(cores=(0,), inputs=x, input_lines=np.arange(64), output_lines=np.arange(0, 256, 2),
                     input_bits=4, output_bits=6)
    for core_rows in range(0, 128, 2):  # some programmed cells so outputs are not all zero
        board.pulse("set", 0, core_rows, np.arange(0, 256, 3), 2.0, 1e-6, 1.5)
    codes = board.mvm(req)
    assert bool(calls) == kernels_on
    return codes, board.counters()["mvm_energy_j"]


@needs_numba
def test_board_mvm_is_the_same_with_and_without_the_kernel(monkeypatch):
    fast, e_fast = _codes(True, monkeypatch)
    slow, e_slow = _codes(False, monkeypatch)
    assert np.array_equal(fast, slow)
    assert np.ptp(fast) > 4
    assert e_fast == pytest.approx(e_slow, rel=1e-6)


def test_scaled_fresh_noise_matches_scaling_by_hand():
    p1 = FreshNormals(np.array([4, 5], np.uint64))
    p2 = FreshNormals(np.array([4, 5], np.uint64))
    a = p1.normal((30, 40), 0.37).copy()
    b = p2.normal((30, 40)) * np.float32(0.37)
    assert np.array_equal(a, b)


@needs_numba
@pytest.mark.parametrize("rows, cols", [(300, 70), (16, 256), (9, 2500), (1, 5)])
def test_noise_drawn_in_the_conversion_pass_is_the_fresh_stream(rows, cols, monkeypatch):
    """The fused kernel's codes are those of FreshNormals' draws then clip_convert, for row blocks of
    any size (element n takes draw n, so chunks that straddle rows and blocks give the same draws)."""
    rng = np.random.default_rng(rows)
    k = 5
    thr = sar_thresholds(k, 0.004 * rng.standard_normal(k))
    integ = (rng.standard_normal((rows, cols)) * 25).astype(np.float32)
    scale = rng.uniform(0.5, 1.5, rows).astype(np.float32)
    off = rng.normal(0, 0.4, cols).astype(np.float32)
    key = np.array([11, 12], np.uint64)
    z = FreshNormals(key).normal((rows, cols), 0.45)
    want, want_sq = _kernels.clip_convert(integ, scale, 30.0, off, z, code_floors(thr, k), 2**k - 1)
    for cells in (1, 3 * cols + 1, 10**6):
        monkeypatch.setattr(_kernels, "ROWS_MIN_CELLS", cells)
        src = FreshNormals(key)
        got, sq = _kernels.noisy_clip_convert(integ, scale, 30.0, off, src.next_stream(), 0.45,
                                              code_floors(thr, k), 2**k - 1)
        assert np.array_equal(got, want)
        assert sq == want_sq
        assert src.requests == 1


@needs_numba
@pytest.mark.parametrize("signed", [True, False])
def test_input_magnitudes_are_the_float_magnitudes_and_the_pulse_count(signed):
    from neurram_lab.sim_backend.chip import _set_bits

    rng = np.random.default_rng(7)
    lo = -(2**15 - 1) if signed else 0
    x = rng.integers(lo, 2**15, (3, 37, 65)).astype(np.int16)
    x[0, 0, :4] = [0, 1, -1 if signed else 2, 2**15 - 1]
    mag = np.abs(x) if signed else x
    buf = np.full(x.shape, np.nan, np.float32)
    mag32, bits = _kernels.input_magnitudes(x, signed, buf)
    assert mag32 is buf
    assert np.array_equal(mag32, mag.astype(np.float32))
    assert bits == _set_bits(mag) == float(sum(bin(int(v)).count("1") for v in mag.ravel()))


def _conversion_request(rows, cols, k_in, seed, k=5):
    """A random MVM conversion request: (SAR code floors, int inputs, float32 matrix, row scales, offsets)."""
    rng = np.random.default_rng(seed)
    floors = code_floors(sar_thresholds(k, 0.004 * rng.standard_normal(k)), k)
    x = rng.integers(-7, 8, (rows, k_in))
    m32 = (rng.standard_normal((cols, k_in)) * 0.3).astype(np.float32)
    scale = rng.uniform(0.5, 1.5, rows).astype(np.float32)
    off = rng.normal(0, 0.4, cols).astype(np.float32)
    return floors, x, m32, scale, off


@needs_numba
@pytest.mark.parametrize("rows, cols, k_in", [(2048, 256, 128), (600, 100, 64), (7, 256, 128), (1500, 70, 16)])
def test_product_made_by_row_blocks_gives_the_same_codes(rows, cols, k_in, monkeypatch):
    """The product made block by block on the twin's threads (BLAS on one thread meanwhile, restored
    after) gives the codes of its blocks' products then the noisy conversion, on 1 and 2 twin threads;
    and the codes of the whole product wherever this machine's BLAS makes a row block's elements as the
    whole product's (OpenBLAS's SkylakeX kernel does; its Haswell kernel on an AMD EPYC does not)."""
    from threadpoolctl import threadpool_limits

    from neurram_lab.sim_backend import _parallel

    k = 5
    floors, x, m32, scale, off = _conversion_request(rows, cols, k_in, cols, k)
    xs = x.astype(np.float32)
    convert = lambda integ: _kernels.noisy_clip_convert(integ, scale, 30.0, off, 99, 0.45, floors, 2**k - 1)
    whole, whole_sq = convert(xs @ m32.T)
    blas = _kernels._numpy_blas()
    before = [c.num_threads for c in blas]
    for cells in (1, 5 * cols, 10**7):
        monkeypatch.setattr(_kernels, "ROWS_MIN_CELLS", cells)
        _, step = _kernels.product_blocks(rows, cols, k_in)
        with threadpool_limits(1, "blas"):
            blocks = np.vstack([xs[a:a + step] @ m32.T for a in range(0, rows, step)])
        want, want_sq = convert(blocks)
        row_consistent = np.array_equal(blocks, xs @ m32.T)
        for threads in ("1", "2"):
            monkeypatch.setenv("NEURRAM_TWIN_THREADS", threads)
            got, sq = _kernels.product_noisy_convert(xs, m32, scale, 30.0, off, 99, 0.45, floors, 2**k - 1)
            assert np.array_equal(got, want) and sq == want_sq
            if row_consistent:
                assert np.array_equal(got, whole) and sq == whole_sq
            else:  # float32 rounding apart: the same conversion of nearly the same products
                assert np.mean(got != whole) < 1e-3 and sq == pytest.approx(whole_sq, rel=1e-6)
    assert [c.num_threads for c in blas] == before
    assert _parallel.n_threads() >= 1


def test_blas_single_thread_restores_the_count_after_overlapping_callers():
    """Two boards on two threads inside at once: the first saves numpy's BLAS thread count, the last
    to leave restores it (the one inside when the other leaves keeps its single thread)."""
    import threading

    blas = _kernels._numpy_blas()
    if not blas:
        pytest.skip("threadpoolctl sees no numpy BLAS here")
    before = blas[0].num_threads
    inside, leave = threading.Event(), threading.Event()

    def other():
        with _kernels._blas_single_thread():
            inside.set()
            leave.wait(10)

    t = threading.Thread(target=other)
    t.start()
    assert inside.wait(10)
    with _kernels._blas_single_thread():
        assert _kernels._BLAS_HELD[0] == 2
    assert _kernels._BLAS_HELD[0] == 1  # the other caller is still inside: nothing restored yet
    leave.set()
    t.join(10)
    assert _kernels._BLAS_HELD[0] == 0
    assert blas[0].num_threads == before


@needs_numba
@pytest.mark.parametrize("rows, cols, k_in", [(2048, 256, 128), (600, 100, 64), (7, 256, 128), (1500, 70, 16)])
def test_int16_inputs_give_the_codes_of_their_float32_copy(rows, cols, k_in, monkeypatch):
    """Each row block made float32 in its thread gives the codes (and the energy sum) of the whole
    request's float32 copy, on 1 and 2 twin threads; ``out`` receives them in place."""
    k = 5
    floors, x, m32, scale, off = _conversion_request(rows, cols, k_in, cols + k_in, k)
    x16 = x.astype(np.int16)
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
@pytest.mark.parametrize("rows, cols, k_in", [(2048, 256, 128), (64, 256, 128)])  # many blocks; one block
def test_product_codes_do_not_depend_on_the_callers_blas_threads(rows, cols, k_in):
    """Some BLAS kernels round a product differently on 1 and 2 threads (OpenBLAS Haswell on an AMD EPYC):
    the twin makes every block on one BLAS thread, so its codes and energy sum are the same either way."""
    from threadpoolctl import threadpool_limits

    floors, x, m32, scale, off = _conversion_request(rows, cols, k_in, cols, 5)
    xs = x.astype(np.float32)
    out = []
    for n in (1, 2):
        with threadpool_limits(n, "blas"):
            out.append(_kernels.product_noisy_convert(xs, m32, scale, 30.0, off, 7, 0.45, floors, 31))
    assert np.array_equal(out[0][0], out[1][0]) and out[0][1] == out[1][1]
