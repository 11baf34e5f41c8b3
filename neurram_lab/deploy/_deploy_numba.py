"""numba kernels of the FPGA side of :class:`~neurram_lab.deploy.network.ChipNetwork` (the numpy references
are :meth:`~neurram_lab.deploy.model.Grid.codes` and ``ChipNetwork``'s im2col-then-slice path).

Imported on first use through :mod:`neurram_lab._jit`. Integer bookkeeping and the quantiser's float64
steps in the numpy order (no ``fastmath``), so the codes are equal to the numpy ones (the tests compare).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, boundscheck=False)
def grid_codes(x, vmax, step, out):  # pragma: no cover - compiled
    """``floor(clip(float64(x), 0, vmax) / step + 0.5)`` as int16 into ``out`` (both flat); False (``out``
    partly written) when an ``x`` is not finite, which the caller leaves to numpy."""
    for i in range(x.size):
        v = np.float64(x[i])
        if not math.isfinite(v):
            return False
        if v < 0.0:
            v = 0.0
        elif v > vmax:
            v = vmax
        v = v / step
        v += 0.5
        out[i] = np.int16(math.floor(v))
    return True


@njit(cache=True, nogil=True, boundscheck=False)
def matrix_inputs(q, kh, kw, stride, pad_top, pad_left, oh, ow, starts, stops, n_bias, levels, first, n_valid,
                  buf):  # pragma: no cover - compiled
    """Fill ``buf[j]`` (share, width) with matrix ``j``'s inputs: the conv patches (element order kh, kw, c;
    zero padding) of vectors ``first[j] .. first[j] + share`` (vector = image, out row, out col; those at
    ``n_valid`` or beyond all zero), elements ``starts[j] .. stops[j]``, then ``n_bias[j]`` columns of
    ``levels``. ``q`` int16 (n, h, w, c): a dense layer's input is (n, 1, 1, features) with a 1 x 1 window."""
    n, h, w, c = q.shape
    n_mat, share, width = buf.shape
    per_image = oh * ow
    for j in range(n_mat):
        s0 = starts[j]
        s1 = stops[j]
        k = s1 - s0
        for r in range(share):
            row = buf[j, r]
            v = first[j] + r
            if v >= n_valid:
                for t in range(k):
                    row[t] = 0
            else:
                img = v // per_image
                rem = v - img * per_image
                oy = rem // ow
                ox = rem - oy * ow
                p = s0
                while p < s1:
                    ky = p // (kw * c)
                    kx = (p // c) % kw
                    ch = p % c
                    run = min(c - ch, s1 - p)
                    y = oy * stride + ky - pad_top
                    xx = ox * stride + kx - pad_left
                    at = p - s0
                    if 0 <= y < h and 0 <= xx < w:
                        for t in range(run):
                            row[at + t] = q[img, y, xx, ch + t]
                    else:
                        for t in range(run):
                            row[at + t] = 0
                    p += run
            for t in range(k, k + n_bias[j]):
                row[t] = levels
            for t in range(k + n_bias[j], width):
                row[t] = 0
