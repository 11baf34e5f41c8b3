"""Compiled (numba) kernels for the twin's hottest element-wise work.

Each kernel (in :mod:`sim_backend._kernels_numba`) fuses what the numpy
reference does in many passes into one pass per element, with the same
float32 operations in the same order and the same noise draws; the tests
compare them. They run on the calling thread (a block's worker), with the
GIL released: on a 2-core machine a second thread pool of their own fights
BLAS's threads for the cores (measured slower).

numba is imported on first use through :mod:`neurram_lab._jit`;
:func:`available` is False where it is missing or switched off, and callers
then use the numpy reference.
"""

from __future__ import annotations

import contextlib
import threading

import numpy as np

from neurram_lab import _jit

_MODULE = "neurram_lab.sim_backend._kernels_numba"


def available() -> bool:
    """True when the compiled kernels can be used."""
    return _jit.kernels(_MODULE) is not None


def kernel(name: str):
    """The compiled kernel ``name`` (check :func:`available` first)."""
    mod = _jit.kernels(_MODULE)
    if mod is None:
        raise RuntimeError("compiled kernels are not available; check sim_backend._kernels.available() first")
    return getattr(mod, name)


def clip_convert(integ, row_scale, h_lsb: float, offset_lsb, z, floors, top: int):
    """Row scaling, headroom clip, offset, noise and nearest-threshold conversion in one pass.

    Parameters
    ----------
    integ : ndarray float32 (rows, cols)
        Integrator values before ``row_scale`` (LSB); not modified.
    row_scale : ndarray float32 (rows,)
        Factor applied to each row first (the per-vector input amplitude).
    h_lsb : float
        Integrator headroom (LSB).
    offset_lsb : ndarray float32 (cols,)
        Per-neuron input-referred offsets (LSB).
    z : ndarray float32 (rows, cols) or None
        Noise already scaled to LSB.
    floors : ndarray float32 (2**(k+1) + 1,)
        Where each code starts, indexed by ``code + 2**k``; every threshold
        within 0.45 LSB of its integer.
    top : int
        ``2**k - 1``.

    Returns
    -------
    codes : ndarray int16 (rows, cols)
    sq : float
        ``sum(clip(integ * row_scale)**2)`` (LSB^2).
    """
    rows, cols = integ.shape
    out = np.empty((rows, cols), np.int16)
    sq_rows = np.empty(rows, np.float64)
    zz = z if z is not None else np.broadcast_to(np.float32(0.0), (rows, cols))
    kernel("clip_convert")(np.ascontiguousarray(integ, np.float32), np.ascontiguousarray(row_scale, np.float32),
                              np.float32(h_lsb), np.ascontiguousarray(offset_lsb, np.float32), zz,
                              np.ascontiguousarray(floors, np.float32), int(top), out, sq_rows)
    return out, float(sq_rows.sum())


ROWS_MIN_CELLS = 65536  # cells per row block of the noisy conversions (fewer blocks: less dispatch)
PRODUCT_MIN_MACS = 2**21  # multiply-adds per row block of product_noisy_convert (see there)


def _noisy_args(row_scale, h_lsb, offset_lsb, stream_start, sigma_lsb, floors, top):
    from ._normal import BIN_PAIRS

    return (np.ascontiguousarray(row_scale, np.float32), np.float32(h_lsb), np.ascontiguousarray(offset_lsb, np.float32),
            np.uint64(stream_start), BIN_PAIRS, np.float32(sigma_lsb), np.ascontiguousarray(floors, np.float32), int(top))


def noisy_clip_convert(integ, row_scale, h_lsb: float, offset_lsb, stream_start, sigma_lsb: float, floors, top: int):
    """:func:`clip_convert` with noise ``normals(stream_start, 0, integ.size, sigma_lsb)`` (C order),
    drawn in the same pass, rows in blocks over the twin's threads (:mod:`sim_backend._parallel`).

    The same codes as drawing that noise first and calling :func:`clip_convert`, whatever the blocks
    or threads: each element's draw depends only on its index. Returns ``(codes, sq)`` as
    :func:`clip_convert` does.
    """
    from ._parallel import run_blocks

    integ = np.ascontiguousarray(integ, np.float32)
    rows, cols = integ.shape
    out = np.empty((rows, cols), np.int16)
    sq_rows = np.empty(rows, np.float64)
    args = _noisy_args(row_scale, h_lsb, offset_lsb, stream_start, sigma_lsb, floors, top)
    fn = kernel("noisy_convert")
    step = max(1, -(-ROWS_MIN_CELLS // max(cols, 1)))

    def block(b):
        fn(integ, 0, rows, *args, b * step, min(rows, b * step + step), out, sq_rows)

    run_blocks(block, -(-rows // step))
    return out, float(sq_rows.sum())


_BLAS = []  # numpy's BLAS thread controls (threadpoolctl), looked up once
_LOCAL = threading.local()


def _numpy_blas():
    if not _BLAS:
        try:
            from threadpoolctl import ThreadpoolController

            libs = [c for c in ThreadpoolController().select(user_api="blas").lib_controllers
                    if "numpy" in str(c.filepath)]
        except Exception:  # threadpoolctl missing or unable to tell: leave BLAS alone
            libs = []
        _BLAS.append(libs[:1])
    return _BLAS[0]


_BLAS_LOCK = threading.Lock()
_BLAS_HELD = [0, []]  # callers inside _blas_single_thread, the thread counts to restore when the last leaves


@contextlib.contextmanager
def _blas_single_thread():
    """numpy's BLAS on one thread inside (restored after): the twin's own threads then run the row
    blocks' products, each in its thread, instead of BLAS's threads spinning beside them. Nested or
    concurrent callers (boards on several threads) share it: the first saves the counts, the last
    restores them."""
    libs = _numpy_blas()
    with _BLAS_LOCK:
        if _BLAS_HELD[0] == 0:
            _BLAS_HELD[1] = [c.num_threads for c in libs]
            for c in libs:
                c.set_num_threads(1)
        _BLAS_HELD[0] += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _BLAS_HELD[0] -= 1
            if _BLAS_HELD[0] == 0:
                for c, n in zip(libs, _BLAS_HELD[1]):
                    c.set_num_threads(n)


def product_blocks(rows: int, cols: int, n_in: int) -> tuple[int, int]:
    """``(n_blocks, rows_per_block)`` of :func:`product_noisy_convert` for a ``(rows, n_in) @ (n_in, cols)``
    product: blocks of about equal size, each of at least ``PRODUCT_MIN_MACS / 2`` multiply-adds (below
    about 1e6 OpenBLAS takes its small-matrix kernels). They depend on the shapes only."""
    n_blocks = -(-rows // max(1, -(-ROWS_MIN_CELLS // max(cols, 1)), -(-PRODUCT_MIN_MACS // max(cols * n_in, 1))))
    return n_blocks, -(-rows // n_blocks)


def product_noisy_convert(xs, m32, row_scale, h_lsb: float, offset_lsb, stream_start, sigma_lsb: float, floors,
                          top: int, out=None):
    """``noisy_clip_convert(float32(xs) @ m32.T, ...)`` with the product made block by block in the
    blocks' threads (numpy's BLAS on one thread meanwhile), each block converted while it is in the cache.

    ``xs``: the inputs, float32 or int16 (rows, n_in); int16 rows are made float32 a block at a time in
    the block's thread (no float32 copy of the whole request). ``out``: an int16 (rows, cols) array to
    write the codes into (C-contiguous), else a new one.

    The blocks (:func:`product_blocks`) depend only on the shapes and each is made on one BLAS thread (a
    single block too), so the codes depend neither on the twin's threads nor on BLAS's. They equal those of the product made whole only
    where BLAS computes an element the same in a row block as in the whole: OpenBLAS 0.3.31's SkylakeX
    kernel does for blocks of 2**20 multiply-adds or more; its Haswell kernel on an AMD EPYC without
    AVX-512 does not, and there even the whole product differs between 1 and 2 BLAS threads (measured
    2026-12-08; the tests check what the BLAS they run on gives).
    """
    from ._parallel import run_blocks

    rows, n_in = xs.shape
    cols = m32.shape[0]
    if out is None:
        out = np.empty((rows, cols), np.int16)
    sq_rows = np.empty(rows, np.float64)
    args = _noisy_args(row_scale, h_lsb, offset_lsb, stream_start, sigma_lsb, floors, top)
    fn = kernel("noisy_convert")
    n_blocks, step = product_blocks(rows, cols, n_in)
    mT = m32.T
    convert_in = xs.dtype != np.float32

    def block(b):
        a, e = b * step, min(rows, b * step + step)
        buf = getattr(_LOCAL, "buf", None)
        if buf is None or buf.shape != (step, cols):
            buf = _LOCAL.buf = np.empty((step, cols), np.float32)
        x_blk = xs[a:e]
        if convert_in:  # this block's inputs as float32, into a buffer of the thread's that stays in the cache
            xbuf = getattr(_LOCAL, "xbuf", None)
            if xbuf is None or xbuf.shape != (step, n_in):
                xbuf = _LOCAL.xbuf = np.empty((step, n_in), np.float32)
            x_blk = xbuf[: e - a]
            np.copyto(x_blk, xs[a:e], casting="unsafe")
        integ = np.matmul(x_blk, mT, out=buf[: e - a])
        fn(integ, a, rows, *args, a, e, out, sq_rows)

    # on the twin's threads, or inline where the machine is busy: BLAS's own threads then stall behind the other
    # jobs (measured 12.6 vs 21.7 ms a 2048 x 256 MVM at load 7); one block too, since some BLAS kernels round a
    # product differently on 1 and 2 threads (Haswell on an AMD EPYC), and the codes must not depend on it
    with _blas_single_thread():
        run_blocks(block, n_blocks)
    return out, float(sq_rows.sum())


def input_magnitudes(x, signed: bool, out=None):
    """``(float32(|x|), set bits of |x|)`` of int16 inputs ``x`` (any shape, values fit 15 bits) in one
    pass (the supply current's input and the input pulses). ``out``: a float32 array of ``x``'s shape
    to fill (a fresh 1 MB array page-faults in on every call), else a new one."""
    x = np.ascontiguousarray(x, np.int16)
    mag32 = out if out is not None else np.empty(x.shape, np.float32)
    if not signed:
        return mag32, float(kernel("input_magnitudes_unsigned")(x.ravel(), mag32.ravel()))
    return mag32, float(kernel("input_magnitudes_signed")(x.ravel(), mag32.ravel()))
