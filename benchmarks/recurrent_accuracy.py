"""Error of recurrent MVMs (BL -> BL, SL -> SL) on the default (noisy) twin, in output LSB, next to forward.

Programs a 32 x 64 differential normal matrix on rows 0-63 of core 0 and a
32 x 32 identity bridge on rows 64-95, lets them relax 30 min, reads the
networks back (``measure_recurrent``), calibrates on 200 vectors and runs
1000 uniform vectors in [-1, 1] at 4-bit in / 6-bit out:

- ``recurrent_bl``: row pairs 0-63 drive, the BL neurons of rows 64-95 sense;
- ``recurrent_sl``: columns 0-31 drive, columns 32-63 sense;
- ``forward``: the same matrix, for comparison.

The error is against ``x_q @ weights`` of the read-back conductances (the
reduced network for recurrent), in LSB of the calibrated full scale
(``result_lsb``). One JSON line per seed and direction::

    python benchmarks/recurrent_accuracy.py [seed ...]
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.getcwd())

import numpy as np  # noqa: E402

from neurram_lab import MatrixPlacement, RecurrentPlacement, measure_recurrent  # noqa: E402
from neurram_lab.mvm.calibration import calibrate  # noqa: E402
from neurram_lab.mvm.mvm import result_lsb, run_mvm  # noqa: E402
from neurram_lab.program.programming import program_weights  # noqa: E402
from neurram_lab.program.weights import conductance_to_weights  # noqa: E402
from neurram_lab.sim_backend import SimBoard  # noqa: E402


def run(seed: int) -> list[dict]:
    b = SimBoard(seed=seed)
    rng = np.random.default_rng(6)
    pm = program_weights(b, rng.standard_normal((32, 64)), MatrixPlacement(0, 0, 0, 32, 64))
    program_weights(b, np.eye(32), MatrixPlacement(0, 64, 0, 32, 32, differential=False))
    b.wait(1800)
    k = pm.w_max / (pm.gmax_s - pm.gmin_s)
    out = []
    for d, il, ol, diff in (("recurrent_bl", np.arange(64), np.arange(64, 96), True),
                            ("recurrent_sl", np.arange(32), np.arange(32, 64), False),
                            ("forward", None, None, True)):
        if d == "forward":
            pm.g_measured_s = b.read(*pm.placement.cells()).astype(float).reshape(pm.g_target_s.shape)
            m, w = pm, conductance_to_weights(pm.g_measured_s, pm.gmin_s, pm.gmax_s, pm.w_max)
        else:
            m = measure_recurrent(b, RecurrentPlacement(0, d, il, ol, differential=diff), k)
            w = m.weights
        n_in = w.shape[0]
        x = rng.uniform(-1, 1, (1000, n_in))
        cal = calibrate(b, m, x[:200], direction=d)
        y = run_mvm(b, m, x, direction=d, calibration=cal)
        e = (y - (np.rint(x * 7) / 7) @ w) / result_lsb(m, cal)
        out.append({"seed": seed, "direction": d, "shape": list(w.shape), "rmse_lsb": round(float(np.sqrt(np.mean(e**2))), 3),
                    "max_lsb": round(float(np.abs(e).max()), 2), "worst_output": int(np.abs(e).max(axis=0).argmax()),
                    "v_read_v": round(cal.v_read_v, 3), "v_decr_v": round(cal.v_decr_v, 3)})
    b.close()
    return out


if __name__ == "__main__":
    for s in [int(a) for a in sys.argv[1:]] or [1, 2, 3]:
        for row in run(s):
            print(json.dumps(row))
