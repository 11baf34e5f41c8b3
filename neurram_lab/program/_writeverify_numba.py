"""numba kernel of one write-verify round (the numpy reference is in :mod:`neurram_lab.program.writeverify`).

Imported on first use through :mod:`neurram_lab._jit`. Pure bookkeeping:
comparisons, small integer counters and float32 ramps, so it is bit-for-bit
the reference (the tests run both on the same board and compare).
"""

from __future__ import annotations

import numpy as np
from numba import njit

# outcomes, as in neurram_lab.program.writeverify
_SUCCESS, _TIMEOUT, _STALLED, _ROUNDS = 1, 2, 3, 4


@njit(cache=True, nogil=True, boundscheck=False)
def round_update(rnd, last, g, pos, c, r, k, ta, sv, rev, stall, win, step, s0, s1, r0, r1, max_rev, max_stall,
                 g_final, pulses, reversals, success, outcome, fin,
                 set_c, set_r, set_k, set_v, set_pos, reset_c, reset_r, reset_k, reset_v, reset_pos):  # pragma: no cover
    """Judge the readings ``g`` of the running cells, retire the finished ones, ramp the rest.

    Finished cells get their results written at their positions and their
    positions listed in ``fin``; the others are compacted to the front of
    ``pos .. stall`` (in place, in order) and split into the SET and RESET
    lists with their next amplitude. Returns ``(n_fin, n_keep, n_set, n_reset)``.
    """
    n_fin = 0
    m = 0
    n_set = 0
    n_reset = 0
    for q in range(g.size):
        gq = g[q]
        ok = abs(gq - ta[q]) <= win
        want_set = gq < ta[q]
        flip = rnd > 0 and (sv[q] > 0) != want_set
        rv = rev[q] + np.int16(flip)
        timed_out = rv > max_rev
        stalled = stall[q] >= max_stall and not flip
        if ok or timed_out or stalled or last:
            p = pos[q]
            g_final[p] = gq
            pulses[p] = rnd
            reversals[p] = rv
            success[p] = ok
            if ok:
                outcome[p] = _SUCCESS
            elif timed_out:
                outcome[p] = _TIMEOUT
            elif stalled:
                outcome[p] = _STALLED
            else:
                outcome[p] = _ROUNDS
            fin[n_fin] = p
            n_fin += 1
            continue
        # next amplitude: restart the ramp on a new polarity, else step up (capped at the top)
        vmax = s1 if want_set else r1
        if rnd == 0 or flip:
            v = s0 if want_set else r0
            climbing = False
        else:
            v = min(abs(sv[q]) + step, vmax)
            climbing = v >= vmax
        st = np.int16(stall[q] + 1) if climbing else np.int16(0)
        p, cq, rq, kq = pos[q], c[q], r[q], k[q]
        pos[m], c[m], r[m], k[m], ta[m] = p, cq, rq, kq, ta[q]
        sv[m] = v if want_set else -v
        rev[m] = rv
        stall[m] = st
        # write the cell to both lists and advance one: no branch on the (random) polarity
        set_c[n_set], set_r[n_set], set_k[n_set], set_v[n_set], set_pos[n_set] = cq, rq, kq, v, p
        reset_c[n_reset], reset_r[n_reset], reset_k[n_reset], reset_v[n_reset], reset_pos[n_reset] = cq, rq, kq, v, p
        n_set += np.int64(want_set)
        n_reset += np.int64(not want_set)
        m += 1
    return n_fin, m, n_set, n_reset
