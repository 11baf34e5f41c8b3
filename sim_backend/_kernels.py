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
