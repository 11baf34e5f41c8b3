"""Programming a weight matrix for MVM experiments.

Uses tier 2's ``neurram_lab.programming.program_weights`` when the package has
it; otherwise this fallback forms and write-verifies the matrix's cells, then
reads them back into ``g_measured_s`` (same signature).
"""

from __future__ import annotations

import numpy as np

from neurram_lab.weights import ProgrammedMatrix, weights_to_conductance
from neurram_lab.writeverify import WriteVerifyConfig, form_cells, write_verify


def program_weights(board, weights, placement, gmin_s=1e-6, gmax_s=40e-6, w_max=None, config=None,
                    iterations=1, dead=None) -> ProgrammedMatrix:
    """Program ``weights`` at ``placement`` with write-verify; returns the ProgrammedMatrix."""
    g_t, w_max = weights_to_conductance(weights, gmin_s, gmax_s, w_max, placement.differential)
    core, row, col = placement.cells()
    target = g_t.ravel()
    formed = form_cells(board, core, row, col)
    cfg = config or WriteVerifyConfig()
    todo = formed.copy()
    info = {"pulses": 0}
    for _ in range(max(1, int(iterations))):
        res = write_verify(board, core[todo], row[todo], col[todo], target[todo], cfg)
        info["pulses"] += int(np.sum(res.pulses))
        info["in_window_fraction"] = float(res.in_window_fraction)
    g_meas = board.read(core, row, col).astype(np.float64).reshape(g_t.shape)
    return ProgrammedMatrix(weights=np.asarray(weights, float), placement=placement, gmin_s=gmin_s, gmax_s=gmax_s,
                            w_max=w_max, g_target_s=g_t, g_measured_s=g_meas, dead=~formed.reshape(g_t.shape),
                            info=info)


try:  # tier 2 programming (neurram_lab.programming), when present
    from neurram_lab.programming import program_weights as _tier2_program_weights
except ImportError:  # pragma: no cover - depends on the merge state
    _tier2_program_weights = None

if _tier2_program_weights is not None:  # pragma: no cover - depends on the merge state
    program_weights = _tier2_program_weights  # noqa: F811
