"""numba kernels of tier-2 :func:`~neurram_lab.mvm.mvm.run_mvm` (the numpy references are in :mod:`neurram_lab.mvm.mvm`).

Imported on first use through :mod:`neurram_lab._jit`. No ``fastmath``: each
kernel does the same IEEE operations, in the same order, as the numpy lines it
stands for, so the results are equal to the bit (the tests compare them).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, boundscheck=False)
def int_range(x):  # pragma: no cover - compiled
    """``(x.min(), x.max())`` of a non-empty integer array in one pass."""
    flat = x.ravel()
    lo = flat[0]
    hi = flat[0]
    for i in range(1, flat.size):  # branch-free, so that it vectorises
        v = flat[i]
        lo = min(lo, v)
        hi = max(hi, v)
    return lo, hi


@njit(cache=True, nogil=True, boundscheck=False)
def forward_result(codes, base, col_scale, row_coef, ints, out):  # pragma: no cover - compiled
    """``out = (float64(codes) + base) * col_scale - row_coef * ints.sum(-1)`` (the last term only when
    ``ints.shape[1] > 0``), rounded once to ``out``'s dtype. ``codes`` (batch, n_out), ``base`` and
    ``col_scale`` float64 (n_out,), ``ints`` (batch, n_in) or (batch, 0)."""
    rows, cols = codes.shape
    with_rows = ints.shape[1] > 0
    for i in range(rows):
        t = 0.0
        if with_rows:
            s = np.int64(0)
            for a in range(ints.shape[1]):
                s += np.int64(ints[i, a])
            t = row_coef * np.float64(s)
        for j in range(cols):
            y = (np.float64(codes[i, j]) + base[j]) * col_scale[j]
            if with_rows:
                y = y - t
            out[i, j] = y
