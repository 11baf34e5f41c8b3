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
    ``levels``. ``q`` int16 (n, h, w, c): a dense layer's input is (n, 1, 1, features) with a 1 x 1 window.

    A window row's elements are one contiguous span of ``q`` (NHWC) wherever its columns fall inside the
    image, so they are copied as slices (numba's slice copies vectorise; element loops with signed indices
    ran 2x slower, 0.26 against 0.13-0.18 s for 2 x 1 M x 75)."""
    n, h, w, c = q.shape
    n_mat, share, width = buf.shape
    per_image = oh * ow
    max_runs = kh * kw + 1
    # runs of consecutive elements at one window row dy: (dy, dx of the first, dx of the last, channel of the
    # first, length, position); the source is one contiguous span when every dx of it falls inside the image
    r_dy = np.empty((n_mat, max_runs), np.int64); r_dx0 = np.empty((n_mat, max_runs), np.int64)
    r_dx1 = np.empty((n_mat, max_runs), np.int64)
    r_ch = np.empty((n_mat, max_runs), np.int64); r_len = np.empty((n_mat, max_runs), np.int64)
    r_at = np.empty((n_mat, max_runs), np.int64); n_runs = np.zeros(n_mat, np.int64)
    for j in range(n_mat):
        p = starts[j]; u = 0
        while p < stops[j]:
            dy = p // (kw * c)
            run = min((dy + 1) * kw * c - p, stops[j] - p)  # to the end of this window row
            r_dy[j, u] = dy; r_dx0[j, u] = (p // c) % kw; r_dx1[j, u] = ((p + run - 1) // c) % kw
            r_ch[j, u] = p % c; r_len[j, u] = run; r_at[j, u] = p - starts[j]
            u += 1; p += run
        n_runs[j] = u
    qf = q.reshape(-1)
    bf = buf.reshape(-1)
    for j in range(n_mat):
        k = stops[j] - starts[j]
        nb = n_bias[j]
        for r in range(share):
            o = (j * share + r) * width
            v = first[j] + r
            if v >= n_valid:
                for t in range(k):
                    bf[o + t] = 0
            else:
                img = v // per_image
                rem = v - img * per_image
                oy = rem // ow
                y0 = oy * stride - pad_top
                x0 = (rem - oy * ow) * stride - pad_left
                for u in range(n_runs[j]):
                    y = y0 + r_dy[j, u]
                    at = o + r_at[j, u]
                    ln = r_len[j, u]
                    xa = x0 + r_dx0[j, u]
                    xb = x0 + r_dx1[j, u]
                    if 0 <= y < h and 0 <= xa and xb < w:  # one contiguous span of q
                        s = ((img * h + y) * w + xa) * c + r_ch[j, u]
                        bf[at : at + ln] = qf[s : s + ln]
                    elif not (0 <= y < h):
                        bf[at : at + ln] = 0
                    else:  # element by element: zero where the column falls outside
                        ch = r_ch[j, u]
                        xx = xa
                        for t in range(ln):
                            if 0 <= xx < w:
                                bf[at + t] = qf[((img * h + y) * w + xx) * c + ch]
                            else:
                                bf[at + t] = 0
                            ch += 1
                            if ch == c:
                                ch = 0
                                xx += 1
            bf[o + k : o + k + nb] = levels
            bf[o + k + nb : o + width] = 0

