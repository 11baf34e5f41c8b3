"""The compiled kernels of tier 3 (matrix inputs, grid codes) and tier 2 (forward results, input range)
give the same bits as the numpy lines they stand for (issue 19 speed)."""

import numpy as np
import pytest

from neurram_lab import _jit
from neurram_lab.deploy import digital
from neurram_lab.deploy.model import Grid
from neurram_lab.errors import InputError
from neurram_lab.mvm import mvm as mvm_mod

deploy_k = _jit.kernels("neurram_lab.deploy._deploy_numba")
mvm_k = _jit.kernels("neurram_lab.mvm._mvm_numba")
needs_jit = pytest.mark.skipif(deploy_k is None or mvm_k is None, reason="compiled kernels off")


@needs_jit
@pytest.mark.parametrize("stride,padding,k", [(1, "same", 3), (2, "same", 3), (1, "valid", 3), (2, "same", 1)])
def test_matrix_inputs_equal_im2col_slices(stride, padding, k):
    rng = np.random.default_rng(stride * 10 + k)
    q = rng.integers(0, 8, (3, 7, 6, 5)).astype(np.int16)
    cols, (oh, ow) = digital.im2col(q, (k, k), stride, padding)
    codes = cols.reshape(-1, cols.shape[-1])
    n, width_in = codes.shape
    n_rep = 2
    share = -(-n // n_rep)
    padded = np.vstack([codes, np.zeros((share * n_rep - n, width_in), codes.dtype)])
    # three matrices: two row segments of replica 0 (different bias counts, one width), one of replica 1
    half = width_in // 2
    segs = [(0, half, width_in - half + 1, 0), (half, width_in, half + 1, 0), (0, half, width_in - half + 1, 1)]
    width = width_in + 1
    starts, stops, nb, rep = (np.array(c, np.int64) for c in zip(*segs))
    buf = np.full((3, share, width), -9, np.int16)
    (t, _, lft, _), (oh2, ow2) = digital.conv_geometry(q.shape[1:3], (k, k), stride, padding)
    assert (oh2, ow2) == (oh, ow)
    deploy_k.matrix_inputs(q, k, k, stride, t, lft, oh, ow, starts, stops, nb, 7, rep * share, n, buf)
    for j, (s0, s1, nbias, r) in enumerate(segs):
        want = np.hstack([padded[r * share : r * share + share, s0:s1], np.full((share, nbias), 7, np.int16)])
        assert np.array_equal(buf[j], want)


@needs_jit
def test_grid_codes_compiled_equal_numpy(monkeypatch):
    rng = np.random.default_rng(3)
    x = (rng.normal(0.5, 1.0, (4, 5, 6)) * 2).astype(np.float32)
    x.flat[:3] = [0.0, -0.0, 2.0]
    g = Grid(3, 1.7)
    fast = g.codes(x)
    monkeypatch.setattr(_jit, "ENABLED", False)
    slow = g.codes(x)
    assert fast.dtype == slow.dtype == np.int16 and np.array_equal(fast, slow)
    x[0, 0, 1] = np.nan  # not finite: the numpy path decides, as before
    slow = g.codes(x)
    monkeypatch.setattr(_jit, "ENABLED", True)
    assert np.array_equal(g.codes(x), slow)


@needs_jit
@pytest.mark.parametrize("row_coef", [None, 2.5e-6])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_forward_result_compiled_equal_numpy(monkeypatch, row_coef, dtype):
    rng = np.random.default_rng(5)
    codes = rng.integers(-128, 128, (37, 11)).astype(np.int16)
    ints = rng.integers(0, 8, (37, 9)).astype(np.int16)
    base = 0.5 - rng.normal(0, 0.3, 11)
    col = rng.uniform(1e-7, 3e-6, 11) * 1.37
    fast = mvm_mod.forward_result(codes, base, col, row_coef, ints, dtype)
    monkeypatch.setattr(_jit, "ENABLED", False)
    slow = mvm_mod.forward_result(codes, base, col, row_coef, ints, dtype)
    assert fast.dtype == slow.dtype == dtype
    assert fast.tobytes() == slow.tobytes()
    if dtype is np.float32:  # the float32 result is the float64 one rounded once
        assert fast.tobytes() == mvm_mod.forward_result(codes, base, col, row_coef, ints).astype(np.float32).tobytes()


@needs_jit
def test_int_range_and_result_dtype():
    x = np.array([[3, -4, 7], [0, 2, -1]], np.int16)
    assert mvm_mod.int_range(x) == (-4, 7)
    assert mvm_mod.int_range(x[:, ::2]) == (-1, 7)
    for bad in (None, True, np.int16, "x"):
        with pytest.raises(InputError, match="dtype"):
            mvm_mod.result_dtype(bad)


def test_array_pool_reuses_only_arrays_nobody_holds():
    from neurram_lab.deploy.network import ArrayPool

    pool = ArrayPool()
    a = pool.get("x", (4, 5), np.int16)
    a[...] = 3
    held = a[1]  # a view of it kept: the next get must not hand the same memory out
    b = pool.get("x", (2, 3), np.int16)
    assert not np.shares_memory(a, b) and (held == 3).all()
    del a, held
    c = pool.get("x", (3, 3), np.int16)  # b's array is the kept one now, and b still holds it
    assert not np.shares_memory(b, c)
    at_c = c.__array_interface__["data"][0]
    del b, c
    d = pool.get("x", (2, 4), np.int16)  # nothing holds c's array: reused (it is big enough)
    assert d.__array_interface__["data"][0] == at_c and d.shape == (2, 4) and d.flags.c_contiguous
    e = pool.get("x", (10, 10), np.float32)  # other dtype or too small: a new one
    assert e.dtype == np.float32 and e.shape == (10, 10) and not np.shares_memory(d, e)
    pool.clear()
    assert pool.get("x", (1,), np.int8).shape == (1,)


def test_run_mvm_out_receives_the_results_and_bad_out_is_refused():
    from neurram_lab import open_board
    from neurram_lab.mvm.mvm import run_mvm
    from neurram_lab.program.programming import program_matrices
    from neurram_lab.program.weights import MatrixPlacement

    b = open_board("sim://?seed=3")
    b.power_cores([0, 1], True)
    w = np.random.default_rng(1).uniform(-1, 1, (12, 6))
    pms = program_matrices(b, [(w, MatrixPlacement(core=c, row0=0, col0=0, n_in=12, n_out=6), 1.0) for c in (0, 1)],
                           1e-6, 40e-6, 1, 0.0)
    x = np.random.default_rng(2).integers(0, 8, (2, 9, 12)).astype(np.int16)
    want = run_mvm(b, pms, [x[0], x[1]], input_bits=3, signed=False, dtype=np.float32)
    b2 = open_board("sim://?seed=3")
    b2.power_cores([0, 1], True)
    pms2 = program_matrices(b2, [(w, MatrixPlacement(core=c, row0=0, col0=0, n_in=12, n_out=6), 1.0) for c in (0, 1)],
                            1e-6, 40e-6, 1, 0.0)
    outs = [np.full((9, 6), np.nan, np.float32) for _ in range(2)]
    got = run_mvm(b2, pms2, [x[0], x[1]], input_bits=3, signed=False, dtype=np.float32, out=outs)
    assert got[0] is outs[0] and got[1] is outs[1]
    assert all(np.array_equal(g, w_) for g, w_ in zip(got, want))
    for bad in ([outs[0]], [outs[0], np.empty((9, 6))], [outs[0], np.empty((8, 6), np.float32)],
                [outs[0], np.empty((6, 9), np.float32).T]):
        with pytest.raises(InputError, match="out"):
            run_mvm(b2, pms2, [x[0], x[1]], input_bits=3, signed=False, dtype=np.float32, out=bad)
    with pytest.raises(InputError, match="out is for forward"):
        run_mvm(b2, pms2, [x[0], x[1]], input_bits=3, signed=False, dtype=np.float32, out=outs, activation="tanh")


@needs_jit
@pytest.mark.parametrize("seed", range(6))
def test_matrix_inputs_any_segment_bounds(seed):
    """Segments starting and ending anywhere (mid-channel, mid-window-row), 5 x 5 windows, strides 1-3: the
    kernel's contiguous window-row spans and its element-by-element edges equal im2col's slices."""
    rng = np.random.default_rng(100 + seed)
    c, k, stride = int(rng.integers(1, 6)), int(rng.choice([1, 3, 5])), int(rng.integers(1, 4))
    padding = ["same", "valid"][seed % 2] if k <= 5 else "same"
    q = rng.integers(0, 8, (2, 6, 7, c)).astype(np.int16)
    cols, (oh, ow) = digital.im2col(q, (k, k), stride, padding)
    codes = cols.reshape(-1, cols.shape[-1])
    n, width_in = codes.shape
    cuts = np.sort(rng.choice(np.arange(1, width_in), size=min(2, width_in - 1), replace=False)) if width_in > 2 \
        else np.array([], int)
    bounds = [0, *cuts.tolist(), width_in]
    segs = [(a, b) for a, b in zip(bounds[:-1], bounds[1:])]
    width = max(b - a for a, b in segs) + 2
    starts = np.array([a for a, _ in segs], np.int64)
    stops = np.array([b for _, b in segs], np.int64)
    nb = np.array([width - (b - a) - int(rng.integers(0, 2)) for a, b in segs], np.int64)
    buf = np.full((len(segs), n, width), -9, np.int16)
    (t, _, lft, _), _ = digital.conv_geometry(q.shape[1:3], (k, k), stride, padding)
    deploy_k.matrix_inputs(q, k, k, stride, t, lft, oh, ow, starts, stops, nb, 7, np.zeros(len(segs), np.int64), n,
                           buf)
    for j, (a, b) in enumerate(segs):
        want = np.zeros((n, width), np.int16)
        want[:, : b - a] = codes[:, a:b]
        want[:, b - a : b - a + nb[j]] = 7
        assert np.array_equal(buf[j], want)
