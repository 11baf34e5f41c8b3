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
    from . import _kernels_numba as k

    return {name: getattr(k, name) for name in ("clip_convert", "any_kind", "pulse_cells", "read_timing", "read_cells")}


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


def kernel(name: str):
    """The compiled kernel ``name`` (check :func:`available` first)."""
    if not available():
        raise RuntimeError("compiled kernels are not available; check sim_backend._kernels.available() first")
    return _compiled[name]


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
