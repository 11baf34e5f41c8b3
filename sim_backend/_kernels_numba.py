"""The numba-compiled kernels themselves (imported by :mod:`neurram_lab.sim_backend._kernels` on first use).

Top-level functions so that numba's on-disk cache finds them again in the
next process. The cache is keyed on this file's size and time stamp, not on
the module's name: when the module moves (it was ``sim_backend`` before it
installed as ``neurram_lab.sim_backend``), this file must change too, or an
editable checkout loads entries that import the old name. Semantics, and the numpy reference each one matches, are
described in :mod:`sim_backend._kernels` and at the call sites.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, types
from numba.core.extending import intrinsic

f32 = np.float32


@njit(fastmath=True, cache=True, nogil=True)
def row_sq(row):  # pragma: no cover - compiled
    """``sum(row**2)`` in float64; energy bookkeeping, so the summation order is free (fastmath)."""
    acc = 0.0
    for j in range(row.shape[0]):
        x = np.float64(row[j])
        acc += x * x
    return acc


@njit(cache=True, nogil=True, boundscheck=False)
def clip_convert(integ, row_scale, h, offset, z, floors, top, out, sq_rows):  # pragma: no cover - compiled
    """Neuron conversion of integrator values (LSB): see :func:`sim_backend._kernels.clip_convert`."""
    rows, cols = integ.shape
    lim = np.float32(top + 0.5)
    up = np.float32(top + 1.5)
    base = np.int32(top + 1)
    v = np.empty(cols, np.float32)
    r = np.empty(cols, np.int32)
    start = np.empty(cols, np.float32)
    clipped = np.empty(cols, np.float32)
    for i in range(rows):
        sq_rows[i] = _convert_row(integ[i], row_scale[i], h, offset, z[i], floors, lim, up, base, out[i], v, r,
                                  start, clipped)


@njit(cache=True, nogil=True, boundscheck=False, inline="always")
def _convert_row(integ_row, s, h, offset, z_row, floors, lim, up, base, out_row, v, r, start,
                 clipped):  # pragma: no cover - compiled
    """One row of :func:`clip_convert` (integrator values ``integ_row`` times ``s``, noise ``z_row``) into
    ``out_row``; returns its clipped sum of squares. Inlined where it is called."""
    cols = integ_row.shape[0]
    # three simple loops per row rather than one: the first and last vectorise
    for j in range(cols):
        x = min(max(integ_row[j] * s, -h), h)
        clipped[j] = x
        vj = min(max(x + offset[j] + z_row[j], -lim), lim)
        v[j] = vj
        r[j] = np.int32(vj + up)  # round(v) + 2**k: vj + up > 0, so the cast is floor
    for j in range(cols):
        start[j] = floors[r[j]]
    for j in range(cols):
        out_row[j] = r[j] - base - np.int32(v[j] < start[j])
    return row_sq(clipped)


@njit(cache=True, nogil=True, boundscheck=False)
def relax(ix, t, g_then, z, k, fb, ib):  # pragma: no cover - compiled
    """Cell ``ix``'s conductance (S) relaxed to time ``t`` (s) from ``g_then``, and its clock row then
    (as ``CellArray._relaxed``; ``z`` its standard normal draw, ``k`` the cell array's
    :class:`~sim_backend.cells.CellKernelRecord`).

    ``fb``/``ib``: a one-element float32 buffer and its int32 view (the clock row is the age's bits).
    """
    fb[0] = max(f32(t - k.t_prog_s[ix]), k.t_min_s)
    j = min((ib[0] >> 16) - k.clock_base, k.clock_rows - 1)
    j0 = k.age_index[ix]
    j = max(j, j0)  # time only runs forward
    clock, rec = k.clock, k.rec
    df0 = clock[j, 0] - clock[j0, 0]
    df1 = clock[j, 1] - clock[j0, 1]
    var = rec[ix, 0] * df0
    var += rec[ix, 1] * df1
    step = np.sqrt(var) * z
    step += df1 * rec[ix, 2]
    step += g_then
    return max(step, f32(0.0)), j


@njit(cache=True, nogil=True, boundscheck=False)
def any_kind(kind, idx, value):  # pragma: no cover - compiled
    """True if any cell ``idx`` is of kind ``value``."""
    for i in range(idx.size):
        if kind[idx[i]] == value:
            return True
    return False


@njit(cache=True, nogil=True, boundscheck=False)
def pulse_cells(is_set, c, k):  # pragma: no cover - compiled
    """SET (``is_set``) or RESET pulses on distinct non-pristine cells: relax, respond, restart relaxation.

    ``c``: the call's :class:`~sim_backend.cells.PulseCall` (cells, amplitudes, widths, gates, end
    times, noise, output), ``k``: the cell array's :class:`~sim_backend.cells.CellKernelRecord`
    (its state, die and parameters), both read by field name. Pulse ``i`` ends at ``c.t_end[i]``, or
    at ``(i + 1) * c.t_step + c.t0`` when ``c.t_step > 0``. Noise: the standard normal draws
    ``c.z_relax`` and the cycle-to-cycle factors ``c.c2c`` (one per pulse each). Returns
    ``(sum(v^2 * g * width), sum(v^2))`` for the energy.
    """
    idx, v, width_s, gate_v, t_end, t0, t_step = c.idx, c.v, c.width_s, c.gate_v, c.t_end, c.t0, c.t_step
    z_relax, c2c, out = c.z_relax, c.c2c, c.out
    one = f32(1.0)
    fb = np.empty(1, f32)
    ib = fb.view(np.int32)
    g_s, rec, clock, amp = k.g_s, k.rec, k.clock, k.amp
    v_th = k.set_vth if is_set else k.reset_vth
    g_lim = k.g_cap if is_set else k.g_floor
    slope_inv = k.set_slope_inv if is_set else k.reset_slope_inv
    tau0_s = k.set_tau0_s if is_set else k.reset_tau0_s
    gate_th, gate_nom = k.gate_v_th_v, k.gate_v_nominal_v
    e_cell = 0.0
    v2_sum = 0.0
    for i in range(idx.size):
        ix = idx[i]
        te = (i + 1) * t_step + t0 if t_step > 0 else t_end[i]
        z = z_relax[i]
        g, j = relax(ix, te, g_s[ix], z, k, fb, ib)
        x = min((f32(v[i]) - v_th[ix]) * f32(slope_inv), f32(60.0))
        x = np.exp(x)
        x *= -f32(width_s[i] / tau0_s)
        s = one - np.exp(x)
        s *= c2c[i]
        if is_set:
            scale = min(max((np.float64(gate_v[i]) - gate_th) / (gate_nom - gate_th), 0.02), 1.5)
            cap = g_lim[ix] * f32(scale)
            resp = min(g + max(cap - g, f32(0.0)) * s, max(g, cap))
        else:
            s = min(s, one)
            resp = g - s * max(g - g_lim[ix], f32(0.0))
        normal = k.kind[ix] == 0
        new = resp if normal else g
        # restart relaxation: defects not yet relaxed stay excited, the pulse excites more
        left = rec[ix, 3] * (one - clock[j, 1])
        hit = min(s * f32(k.excite_gain), one)
        e = one - (one - left) * (one - hit)
        if not normal:
            e = f32(0.0)
        sc = k.relax_scale[ix]
        w = e * sc * sc
        ja = np.int32(min(max(new * f32(k.amp_step_inv), f32(0.0)), f32(k.amp_n - 1)))
        rec[ix, 0] = amp[ja, 0] * w
        rec[ix, 1] = amp[ja, 1] * w
        rec[ix, 2] = (f32(-k.drift_rel) * e) * (new - f32(k.g_mid_s))
        rec[ix, 3] = e
        g_s[ix] = new
        k.t_prog_s[ix] = te
        k.age_index[ix] = 0
        out[i] = new
        v2 = np.float64(v[i]) * np.float64(v[i])
        e_cell += v2 * np.float64(new) * width_s[i]
        v2_sum += v2
    return e_cell, v2_sum


@njit(cache=True, nogil=True, boundscheck=False)
def read_timing(idx, g_s, over, t_span, t_lo, g_fast_inv, g_out, dur_out, t_out):  # pragma: no cover
    """Each read's duration (1 us when the cell conducts well, up to 10 us near zero) and end time.

    ``g_out`` the cells' stored conductance, ``dur_out`` float32 durations
    plus ``over``, ``t_out`` their running sum (float64) from zero.
    """
    t = 0.0
    for i in range(idx.size):
        g = g_s[idx[i]]
        x = np.exp(max(g, f32(0.0)) * f32(g_fast_inv)) * f32(t_span) + f32(t_lo)
        d = x + f32(over)
        g_out[i] = g
        dur_out[i] = d
        t += np.float64(d)
        t_out[i] = t


@njit(cache=True, nogil=True, boundscheck=False)
def read_cells(c, k):  # pragma: no cover - compiled
    """Noisy readings of distinct cells at times ``c.t_s + c.t_start_s``; stores their relaxed state.

    ``c``: the call's :class:`~sim_backend.cells.ReadCall`, ``k``: the cell array's
    :class:`~sim_backend.cells.CellKernelRecord`, both read by field name. Returns
    ``sum(g_read * dur)`` (S s) for the energy when ``c.dur_s`` is given (size > 0).
    """
    idx, t, t_start, g_then, use_leaky = c.idx, c.t_s, c.t_start_s, c.g_then, c.use_leaky
    z_relax, z_leaky, z_read, dur, out = c.z_relax, c.z_leaky, c.z_read, c.dur_s, c.out
    fb = np.empty(1, f32)
    ib = fb.view(np.int32)
    noise_rel, floor_sq = k.read_noise_rel, k.read_floor_sq_s2
    ig = 0.0
    for i in range(idx.size):
        ix = idx[i]
        g, j = relax(ix, t[i] + t_start, g_then[i], z_relax[i], k, fb, ib)
        k.g_s[ix] = g
        k.age_index[ix] = j
        if use_leaky and k.kind[ix] == 5:
            g = g * (f32(1.0) + f32(0.1) * z_leaky[i])
        sig = f32(noise_rel) * g
        sig = np.sqrt(sig * sig + f32(floor_sq)) * z_read[i]
        r = max(g + sig, f32(0.0))
        out[i] = r
        if dur.size:
            ig += np.float64(r * dur[i])
    return ig


@njit(cache=True, nogil=True, boundscheck=False)
def flat_cells(core, row, col, out, cores_seen):  # pragma: no cover - compiled
    """``out = core * 65536 + row * 256 + col``; marks ``cores_seen``; True if ``out`` strictly increases."""
    inc = True
    prev = -1
    for i in range(out.size):
        f = (core[i] << 16) + (row[i] << 8) + col[i]
        out[i] = f
        cores_seen[core[i]] = True
        if f <= prev:
            inc = False
        prev = f
    return inc


_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_SALT = np.uint64(0xD1B54A32D192ED03)
_LO32 = np.uint64(0xFFFFFFFF)
_FRAC_MASK = np.uint32((1 << 20) - 1)
# tail bins b < 2 or b >= 4094 (see sim_backend._normal): exactly the halves w with
# (w + 2 * 2**20) mod 2**32 < 4 * 2**20, a test that vectorises
_TAIL_SHIFT = np.uint32(2 << 20)
_TAIL_SPAN = np.uint32(4 << 20)
CHUNK = 2048  # draws per chunk (sim_backend._normal.CHUNK): chunk c of a stream starts at word c * CHUNK / 2


@njit(inline="always")
def _mix64(x):  # pragma: no cover - compiled
    # inlined by numba itself: called as a function, LLVM leaves the hash loop scalar (measured 3x slower)
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


@njit(cache=True, nogil=True)
def _tail(w, w2):  # pragma: no cover - compiled
    """Exact draw of a tail-bin half ``w`` refined by ``w2`` (as ``sim_backend._normal.tail_value``)."""
    wf = np.float64(w)
    u2 = (np.float64(w2) + 0.5) * 2.0**-32
    low = wf < 2.0**31
    p = ((wf + u2) if low else ((2.0**32 - 1.0 - wf) + (1.0 - u2))) * 2.0**-32
    q = math.sqrt(-2.0 * math.log(p))
    z = (((((-7.784894002430293e-03 * q - 3.223964580411365e-01) * q - 2.400758277161838e+00) * q
           - 2.549732539343734e+00) * q + 4.374664141464968e+00) * q + 2.938163982698783e+00) / \
        ((((7.784695709041462e-03 * q + 3.224671290700398e-01) * q + 2.445134137142996e+00) * q
          + 3.754408661907416e+00) * q + 1.0)
    e = 0.5 * math.erfc(-z / math.sqrt(2.0)) - p
    u = e * math.sqrt(2.0 * math.pi) * math.exp(0.5 * z * z)
    z = z - u / (1.0 + 0.5 * z * u)
    return z if low else -z


# The draws of sim_backend._normal, one chunk at a time, in simple loops that each vectorise on their
# own (the bin look-up stays scalar: LLVM does not gather here); fused into one loop, the expansion
# no longer vectorises (measured 7x slower for the loop).


@njit(cache=True, nogil=True, boundscheck=False, error_model="numpy")
def normal_bits(base, r, bits):  # pragma: no cover - compiled
    """``bits[:r]``: the 32-bit halves of the chunk's ``m = ceil(r / 2)`` words from ``base`` (the
    stream's word there, before mixing) in draw order: the high halves, then the low halves of the
    first ``r - m``."""
    m = (r + 1) // 2
    both = r - m  # words with both halves used
    hi = bits[:m]
    lo = bits[m:r]
    for j in range(both):
        x = _mix64(base + np.uint64(j) * _GAMMA)
        hi[j] = np.uint32(x >> np.uint64(32))
        lo[j] = np.uint32(x & _LO32)
    if both < m:
        hi[m - 1] = np.uint32(_mix64(base + np.uint64(m - 1) * _GAMMA) >> np.uint64(32))


@njit(cache=True, nogil=True, boundscheck=False, error_model="numpy")
def normal_bins(bits, bin_pairs, r, zw):  # pragma: no cover - compiled
    """Each draw's bin middle and width as one 64-bit word (``bin_pairs``: ``BIN_TABLE`` (4096, 2)
    float32 viewed as 4096 uint64; one scalar load a draw, where two cost 25 % more)."""
    for k in range(r):
        zw[k] = bin_pairs[bits[k] >> np.uint32(20)]


@njit(cache=True, nogil=True, boundscheck=False, error_model="numpy")
def normal_body(bits, zwf, scale, r, out):  # pragma: no cover - compiled
    """The fourth-order expansion in each draw's bin, times ``scale`` (as ``_normal._body``);
    ``zwf``: the bins' (middle, width) pairs as float32, draw ``k``'s at ``2 k``, ``2 k + 1``."""
    for k in range(r):
        f = f32(np.int32(bits[k] & _FRAC_MASK)) * f32(2.0**-20)
        f += f32(2.0**-21 - 0.5)
        z0 = zwf[2 * k]
        t = f * zwf[2 * k + 1]
        z2 = z0 * z0
        c = (f32(0.25) * z2 + f32(7.0 / 24.0)) * z0 * t
        c += f32(1.0 / 3.0) * z2 + f32(1.0 / 6.0)
        c *= t
        c += f32(0.5) * z0
        c *= t
        c += f32(1.0)
        c *= t
        out[k] = (z0 + c) * scale


@njit(cache=True, nogil=True, boundscheck=False, error_model="numpy")
def normal_tail_blocks(bits, r, block_hits):  # pragma: no cover - compiled
    """Per block of 64 draws (the last, partial block included), how many lie in the exactly drawn
    outer bins; returns their total."""
    full = r // 64
    total = 0
    for blk in range(full):
        h = 0
        for k in range(64):  # fixed trip count: vectorises
            h += np.uint32(bits[blk * 64 + k] + _TAIL_SHIFT) < _TAIL_SPAN
        block_hits[blk] = h
        total += h
    if full * 64 < r:
        h = 0
        for k in range(full * 64, r):
            h += np.uint32(bits[k] + _TAIL_SHIFT) < _TAIL_SPAN
        block_hits[full] = h
        total += h
    return total


@njit(cache=True, nogil=True, boundscheck=False, error_model="numpy")
def normal_tails(base, bits, r, scale, block_hits, out):  # pragma: no cover - compiled
    """Replace the draws of the outer bins by exact ones (the probability refined by the second word
    ``mix(word ^ SALT)``'s same half), scanning only the blocks of 64 that hold some (0.1 % of draws)."""
    m = (r + 1) // 2
    for blk in range((r + 63) // 64):
        if block_hits[blk] == 0:
            continue
        for k in range(blk * 64, min(blk * 64 + 64, r)):
            w = bits[k]
            if np.uint32(w + _TAIL_SHIFT) < _TAIL_SPAN:
                j = k if k < m else k - m
                x2 = _mix64(_mix64(base + np.uint64(j) * _GAMMA) ^ _SALT)
                w2 = np.uint32(x2 >> np.uint64(32)) if k < m else np.uint32(x2 & _LO32)
                out[k] = f32(_tail(w, w2)) * scale


@njit(cache=True, nogil=True, boundscheck=False, error_model="numpy")
def normal_chunk(start, word, r, bin_pairs, scale, bits, zw, block_hits, out):  # pragma: no cover - compiled
    """``out[:r]``: the ``r <= CHUNK`` draws of the chunk starting at ``word`` of stream ``start``
    (``bits``, ``zw``, ``block_hits``: work arrays of ``CHUNK`` uint32, ``CHUNK`` uint64 and
    ``CHUNK / 64`` int64)."""
    base = start + word * _GAMMA
    normal_bits(base, r, bits)
    normal_bins(bits, bin_pairs, r, zw)
    normal_body(bits, zw.view(f32), scale, r, out)
    if normal_tail_blocks(bits, r, block_hits):
        normal_tails(base, bits, r, scale, block_hits, out)


@njit(cache=True, nogil=True, boundscheck=False, error_model="numpy")
def fill_normals(start, first, bin_pairs, scale, out):  # pragma: no cover - compiled
    """``out``: the draws of :func:`sim_backend._normal.normals` from word ``first`` on, a chunk at a
    time (chunk ``c`` from word ``first + c * CHUNK / 2``) so the work arrays stay in the cache."""
    n = out.shape[0]
    bits = np.empty(CHUNK, np.uint32)
    zw = np.empty(CHUNK, np.uint64)
    block_hits = np.empty(CHUNK // 64, np.int64)
    for c0 in range(0, n, CHUNK):
        r = min(CHUNK, n - c0)
        normal_chunk(start, first + np.uint64(c0 // 2), r, bin_pairs, scale, bits, zw, block_hits, out[c0:c0 + r])


@njit(cache=True, nogil=True, boundscheck=False)
def _convert_rows(integ, row0, row_scale, h, offset, zbuf, zbase, floors, top, i0, i1, out, sq_rows, v, r, start,
                  clipped):  # pragma: no cover
    """:func:`clip_convert` on rows ``i0 .. i1``, row ``i`` of the request being ``integ[i - row0]``
    and the noise of its element ``n = i * cols + j`` ``zbuf[n - zbase]`` (``v``, ``r``, ``start``,
    ``clipped``: work arrays of ``cols``)."""
    cols = integ.shape[1]
    lim = np.float32(top + 0.5)
    up = np.float32(top + 1.5)
    base = np.int32(top + 1)
    for i in range(i0, i1):
        z = zbuf[i * cols - zbase:(i + 1) * cols - zbase]
        sq_rows[i] = _convert_row(integ[i - row0], row_scale[i], h, offset, z, floors, lim, up, base, out[i], v, r,
                                  start, clipped)


@njit(cache=True, nogil=True, boundscheck=False, error_model="numpy")
def noisy_convert(integ, row0, rows, row_scale, h, offset, start, bin_pairs, scale, floors, top, i0, i1, out,
                  sq_rows):  # pragma: no cover - compiled
    """:func:`clip_convert` of rows ``i0 .. i1`` of a ``rows``-row request, row ``i`` being
    ``integ[i - row0]``, with the noise drawn on the way: element ``n = i * cols + j`` takes draw
    ``n`` of stream ``start`` from word 0, as ``normals(start, 0, rows * cols, scale)`` lays them
    out, so any split into row blocks gives the same codes. A group of rows at a time: the chunks that cover it, then its conversion, in cache."""
    cols = integ.shape[1]
    total = rows * cols
    bits = np.empty(CHUNK, np.uint32)
    zw = np.empty(CHUNK, np.uint64)
    block_hits = np.empty(CHUNK // 64, np.int64)
    z = np.empty(max(cols, CHUNK) + 2 * CHUNK, f32)
    v = np.empty(cols, f32)
    rk = np.empty(cols, np.int32)
    st = np.empty(cols, f32)
    clipped = np.empty(cols, f32)
    i = i0
    while i < i1:
        c0 = (i * cols) // CHUNK
        iend = min(i1, max(i + 1, ((c0 + 1) * CHUNK) // cols))  # the rows starting in chunk c0 (one at least)
        k = 0
        c = c0
        while c * CHUNK < iend * cols:
            r = min(CHUNK, total - c * CHUNK)
            normal_chunk(start, np.uint64(c * (CHUNK // 2)), r, bin_pairs, scale, bits, zw, block_hits, z[k:k + r])
            k += r
            c += 1
        _convert_rows(integ, row0, row_scale, h, offset, z, c0 * CHUNK, floors, top, i, iend, out, sq_rows, v, rk,
                      st, clipped)
        i = iend


@intrinsic
def _popcount32(typingctx, m):  # pragma: no cover - compiled
    """1 bits of an int32: LLVM's ``ctpop``, which vectorises (vpopcnt where the CPU has it; a
    branch-free bit-trick popcount written out here did not keep up, 3x slower)."""
    sig = types.int32(types.int32)

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return sig, codegen


@njit(cache=True, nogil=True, boundscheck=False)
def input_magnitudes_unsigned(x, xs):  # pragma: no cover - compiled
    """As :func:`input_magnitudes_signed` for inputs ``x >= 0``: ``xs = float32(x)`` and the 1 bits of ``x``."""
    bits = 0
    for k in range(x.shape[0]):
        a = np.int32(x[k])
        xs[k] = f32(a)
        bits += _popcount32(a)
    return bits


@njit(cache=True, nogil=True, boundscheck=False)
def input_magnitudes_signed(x, mag32):  # pragma: no cover - compiled
    """One pass over int16 inputs ``x`` (flat): ``mag32 = float32(|x|)``; returns the number of 1 bits of
    ``|x|`` (the input pulses of its bit planes, as ``chip._set_bits``). The product's row blocks convert
    ``x`` themselves, in cache."""
    bits = 0
    for k in range(x.shape[0]):
        m = np.int32(abs(np.int32(x[k])))
        mag32[k] = f32(m)
        bits += _popcount32(m)
    return bits
