"""Compiled (numba) kernels for the twin's hottest element-wise work.

Each kernel fuses what the numpy reference does in many passes into one
pass per element. They compute exactly what the reference does, in the
same float32 operation order, so results are bit-identical to it; the tests
compare them. They run on the calling thread: on a 2-core machine a second
thread pool fights BLAS's own threads for the cores (measured slower).

numba is imported on first use (it takes about 0.6 s), and compiled code is
cached next to this file. :func:`available` is False where numba cannot be
imported or ``ENABLED`` is False; callers then use the numpy reference.
"""

from __future__ import annotations

import numpy as np

ENABLED = True  # set False to force the numpy reference (tests compare the two)
_compiled: dict = {}


def _build():
    from numba import njit

    @njit(fastmath=True, cache=True, nogil=True)
    def row_sq(row):  # pragma: no cover - compiled
        acc = 0.0  # energy bookkeeping: summation order is free (fastmath)
        for j in range(row.shape[0]):
            x = np.float64(row[j])
            acc += x * x
        return acc

    @njit(cache=True, nogil=True, boundscheck=False)
    def clip_convert(integ, row_scale, h, offset, z, floors, top, out, sq_rows):  # pragma: no cover - compiled
        rows, cols = integ.shape
        lim = np.float32(top + 0.5)
        up = np.float32(top + 1.5)
        base = np.int32(top + 1)
        v = np.empty(cols, np.float32)
        r = np.empty(cols, np.int32)
        start = np.empty(cols, np.float32)
        clipped = np.empty(cols, np.float32)
        for i in range(rows):
            s = row_scale[i]
            # three simple loops per row rather than one: the first and last vectorise
            for j in range(cols):
                x = min(max(integ[i, j] * s, -h), h)
                clipped[j] = x
                vj = min(max(x + offset[j] + z[i, j], -lim), lim)
                v[j] = vj
                r[j] = np.int32(vj + up)  # round(v) + 2**k: vj + up > 0, so the cast is floor
            for j in range(cols):
                start[j] = floors[r[j]]
            for j in range(cols):
                out[i, j] = r[j] - base - np.int32(v[j] < start[j])
            sq_rows[i] = row_sq(clipped)

    return {"clip_convert": clip_convert}


def available() -> bool:
    """True when the compiled kernels can be used (numba importable and ``ENABLED``)."""
    if not ENABLED:
        return False
    if "ok" not in _compiled:
        try:
            _compiled.update(_build())
            _compiled["ok"] = True
        except ImportError:  # numba is a dependency; this guards platforms without a wheel
            _compiled["ok"] = False
    return _compiled["ok"]


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
    if not available():
        raise RuntimeError("compiled kernels are not available; check sim_backend._kernels.available() first")
    rows, cols = integ.shape
    out = np.empty((rows, cols), np.int16)
    sq_rows = np.empty(rows, np.float64)
    zz = z if z is not None else np.broadcast_to(np.float32(0.0), (rows, cols))
    _compiled["clip_convert"](np.ascontiguousarray(integ, np.float32), np.ascontiguousarray(row_scale, np.float32),
                              np.float32(h_lsb), np.ascontiguousarray(offset_lsb, np.float32), zz,
                              np.ascontiguousarray(floors, np.float32), int(top), out, sq_rows)
    return out, float(sq_rows.sum())
