"""Programming the matrices of a mapping onto a board.

Uses ``neurram_lab.programming.program_weights`` (tier 2) when that module
exists; until then a small equivalent built on forming plus
:func:`~neurram_lab.writeverify.write_verify` with iterative re-programming.
All matrices are programmed in one vectorised pass (one write-verify over
every cell of every matrix), so the board sees few, large calls.
"""

from __future__ import annotations

import numpy as np

from ..weights import ProgrammedMatrix, weights_to_conductance
from ..writeverify import WriteVerifyConfig, form_cells, write_verify


def program_matrices(board, items, gmin_s: float, gmax_s: float, iterations: int = 3, settle_s: float = 1.0,
                     config: WriteVerifyConfig | None = None, progress=None) -> list:
    """Program several weight matrices at once.

    Parameters
    ----------
    board : Board
    items : list of (weights (n_in, n_out), MatrixPlacement, w_max)
    gmin_s, gmax_s : float
        Conductance range (S).
    iterations : int
        Program passes: after each, wait ``settle_s``, read every cell and
        re-program those outside the window (SPEC §2, iterative programming).
    progress : callable(n_done, n_total), optional

    Returns
    -------
    list of ProgrammedMatrix, with ``g_measured_s`` from the last read and
    ``info`` holding pulses and the in-window fraction.
    """
    cfg = config or WriteVerifyConfig()
    targets, cores, rows, cols, spans = [], [], [], [], []
    n = 0
    for w, place, w_max in items:
        g, _ = weights_to_conductance(w, gmin_s, gmax_s, w_max)
        c, r, k = place.cells()
        targets.append(g.ravel())
        cores.append(c)
        rows.append(r)
        cols.append(k)
        spans.append((n, n + g.size))
        n += g.size
    tgt = np.concatenate(targets)
    c, r, k = np.concatenate(cores), np.concatenate(rows), np.concatenate(cols)
    formed = form_cells(board, c, r, k)
    pulses = np.zeros(n, np.int64)
    ok = np.zeros(n, bool)
    todo = np.flatnonzero(formed)
    for it in range(max(1, int(iterations))):
        if todo.size == 0:
            break
        res = write_verify(board, c[todo], r[todo], k[todo], tgt[todo], cfg,
                           progress=(lambda d, it=it: progress(d, todo.size)) if progress else None)
        pulses[todo] += res.pulses
        board.wait(settle_s)
        g = board.read(c[formed], r[formed], k[formed])
        inside = np.zeros(n, bool)
        inside[formed] = np.abs(g - tgt[formed]) <= cfg.window_s
        ok = inside
        todo = np.flatnonzero(formed & ~inside)
    g_all = np.zeros(n, np.float32)
    g_all[formed] = board.read(c[formed], r[formed], k[formed])
    out = []
    for (w, place, w_max), (a, z) in zip(items, spans):
        shape = (place.n_rows_used, place.n_out)
        out.append(ProgrammedMatrix(
            weights=np.asarray(w), placement=place, gmin_s=gmin_s, gmax_s=gmax_s, w_max=float(w_max),
            g_target_s=tgt[a:z].reshape(shape), g_measured_s=g_all[a:z].reshape(shape),
            dead=(~formed[a:z]).reshape(shape),
            info={"pulses": int(pulses[a:z].sum()), "in_window_fraction": float(ok[a:z].mean()),
                  "unformed": int((~formed[a:z]).sum())}))
    return out
