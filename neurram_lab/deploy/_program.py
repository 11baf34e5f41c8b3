"""Programming the matrices of a mapping onto a board, all at once.

Tier 2's :func:`~neurram_lab.program.programming.program_weights` programs one matrix
per call; a deployed network has many, so this concatenates every cell of
every matrix into one forming pass and one
:func:`~neurram_lab.program.programming.iterative_program` call (write-verify passes,
each followed by a settle and a full re-read), and the board sees a few large
calls instead of many small ones. The result is one
:class:`~neurram_lab.program.weights.ProgrammedMatrix` per matrix, as
``program_weights`` gives.
"""

from __future__ import annotations

import numpy as np

from ..program.programming import iterative_program
from ..program.weights import ProgrammedMatrix, weights_to_conductance
from ..program.writeverify import OUTCOME_STALLED, WriteVerifyConfig, form_cells


def program_matrices(board, items, gmin_s: float, gmax_s: float, iterations: int = 3, settle_s: float = 1.0,
                     config: WriteVerifyConfig | None = None, dead=None, progress=None) -> list:
    """Program several weight matrices at once.

    Parameters
    ----------
    board : Board
    items : list of (weights (n_in, n_out), MatrixPlacement, w_max)
    gmin_s, gmax_s : float
        Conductance range (S).
    iterations : int
        Write-verify passes (iterative programming, SPEC §2).
    settle_s : float
        Wait after each pass before the verify read (s).
    dead : bool array (48, 256, 256), optional
        Known dead cells: never pulsed.
    progress : callable(n_done, n_total), optional

    Returns
    -------
    list of ProgrammedMatrix; ``g_measured_s`` is a read after the last pass,
    ``dead`` the cells that failed to form or did not respond.
    """
    targets, cells, spans = [], [], []
    n = 0
    for w, place, w_max in items:
        g, _ = weights_to_conductance(w, gmin_s, gmax_s, w_max)
        targets.append(g.ravel())
        cells.append(place.cells())
        spans.append((n, n + g.size))
        n += g.size
    tgt = np.concatenate(targets)
    c, r, k = (np.concatenate([cl[i] for cl in cells]) for i in range(3))
    live = np.ones(n, bool) if dead is None else ~np.asarray(dead, bool)[c, r, k]
    li = np.flatnonzero(live)
    live[li[~form_cells(board, c[li], r[li], k[li], g_pristine_max_s=0.5e-6)]] = False
    li = np.flatnonzero(live)
    res = iterative_program(board, c[li], r[li], k[li], tgt[li], iterations, settle_s, config,
                            progress=(lambda it, d, tot: progress(d, tot)) if progress else None,
                            spread_range_s=(gmin_s, gmax_s))
    live[li[res.outcome == OUTCOME_STALLED]] = False
    in_window = np.zeros(n, bool)
    in_window[li] = res.in_window
    pulses = np.zeros(n, np.int64)
    pulses[li] = res.pulses
    g_all = board.read(c, r, k)
    out = []
    for (w, place, w_max), (a, z) in zip(items, spans):
        shape = (place.n_rows_used, place.n_out)
        out.append(ProgrammedMatrix(
            weights=np.asarray(w), placement=place, gmin_s=gmin_s, gmax_s=gmax_s, w_max=float(w_max),
            g_target_s=tgt[a:z].reshape(shape), g_measured_s=g_all[a:z].astype(np.float64).reshape(shape),
            dead=(~live[a:z]).reshape(shape),
            info={"pulses": int(pulses[a:z].sum()), "settled_in_window_fraction": float(in_window[a:z].mean()),
                  "unformed": int((~live[a:z]).sum())}))
    return out
