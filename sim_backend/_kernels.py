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


def noisy_convert(integ, row_scale, h_lsb: float, offset_lsb, floors, top: int, start, sigma_lsb: float):
    """:func:`clip_convert` with the noise drawn inside the pass instead of read from an array.

    The noise of rms ``sigma_lsb`` is that of ``sim_backend._normal.normals(start, 0, integ.size,
    sigma_lsb)`` laid over ``integ`` row-major, so the codes are those of ``clip_convert(...,
    z=that.reshape(integ.shape), ...)`` bit for bit; it is drawn a few rows at a time next to their
    conversion (no 2 MB noise array written and read back) and the row blocks run on the twin's
    thread pool (each block's draws depend only on where it starts). Returns None when a row is so
    long that a step would not fit the cache (the caller then draws the noise first).
    """
    from math import gcd

    from . import _normal
    from ._parallel import run_blocks

    rows, cols = integ.shape
    step = _normal.CHUNK // gcd(_normal.CHUNK, cols)  # rows whose draws fill whole chunks
    if step * cols > _normal.PART:
        return None
    block = max(1, _normal.PART // (step * cols)) * step
    integ = np.ascontiguousarray(integ, np.float32)
    row_scale = np.ascontiguousarray(row_scale, np.float32)
    offset = np.ascontiguousarray(offset_lsb, np.float32)
    floors = np.ascontiguousarray(floors, np.float32)
    out = np.empty((rows, cols), np.int16)
    sq_rows = np.empty(rows, np.float64)
    scale = np.float32(sigma_lsb)
    lim = np.float32(3.28) * abs(scale)  # as _normal.normals: every outer-bin body value lies beyond
    start = np.uint64(start)
    fn = kernel("noisy_convert")

    def part(b):
        r0, r1 = b * block, min(b * block + block, rows)
        bits, zb, wb, hits = _normal._scratch()
        z = np.empty(step * cols, np.float32)
        fn(integ[r0:r1], row_scale[r0:r1], np.float32(h_lsb), offset, floors, int(top), out[r0:r1],
           sq_rows[r0:r1], start, np.uint64(r0 * cols // 2), step, _normal.CHUNK, _normal.BIN_TABLE, scale,
           lim, z, bits, zb, wb, hits)

    run_blocks(part, -(-rows // block))
    return out, float(sq_rows.sum())
