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
    # each matrix's elements as runs of consecutive channels at one window offset, worked out once
    max_runs = kh * kw + 1
    r_dy = np.empty((n_mat, max_runs), np.int64)
    r_dx = np.empty((n_mat, max_runs), np.int64)
    r_ch = np.empty((n_mat, max_runs), np.int64)
    r_len = np.empty((n_mat, max_runs), np.int64)
    r_at = np.empty((n_mat, max_runs), np.int64)
    n_runs = np.zeros(n_mat, np.int64)
    for j in range(n_mat):
        p = starts[j]
        u = 0
        while p < stops[j]:
            ch = p % c
            run = min(c - ch, stops[j] - p)
            r_dy[j, u] = p // (kw * c)
            r_dx[j, u] = (p // c) % kw
            r_ch[j, u] = ch
            r_len[j, u] = run
            r_at[j, u] = p - starts[j]
            u += 1
            p += run
        n_runs[j] = u
    for j in range(n_mat):
        k = stops[j] - starts[j]
        nb = n_bias[j]
        for r in range(share):
            v = first[j] + r
            if v >= n_valid:
                for t in range(k):
                    buf[j, r, t] = 0
            else:
                img = v // per_image
                rem = v - img * per_image
                oy = rem // ow
                y0 = oy * stride - pad_top
                x0 = (rem - oy * ow) * stride - pad_left
                for u in range(n_runs[j]):
                    y = y0 + r_dy[j, u]
                    xx = x0 + r_dx[j, u]
                    at = r_at[j, u]
                    ln = r_len[j, u]
                    if 0 <= y < h and 0 <= xx < w:
                        ch = r_ch[j, u]
                        for t in range(ln):
                            buf[j, r, at + t] = q[img, y, xx, ch + t]
                    else:
                        for t in range(ln):
                            buf[j, r, at + t] = 0
            for t in range(k, k + nb):
                buf[j, r, t] = levels
            for t in range(k + nb, width):
                buf[j, r, t] = 0
