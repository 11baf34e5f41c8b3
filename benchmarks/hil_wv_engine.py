"""``python -m benchmarks.hil_wv_engine``: tier-2 write-verify on ``hil://?bitstream=neurram_top_wv`` (the engine,
drivers/_wv_engine_host.py) against the host loop on ``hil://`` (the authors' bitstream), same twin seed.

Forms ``--cells`` cells of core 0 (row-major) on each board with ``form_cells``, then programs them with
``write_verify`` to targets drawn uniformly over 1-40 uS (``WriteVerifyConfig`` defaults: +-1 uS window).
Reports per board: pulses per cell, in-window fraction, FrontPanel calls per cell of write-verify, the
predicted board time per cell (the driver's board-time model; on the engine board its status poll waits for
the engine's own cycle count, r3 of each record, whose clock model matches the RTL within 3 %:
tests/gateware/test_wv_engine_sim.py), and the CNN's (46 664 cells) and whole chip's (48 x 65 536 cells)
programming time at that rate (one pass, forming apart).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

CNN_CELLS = 46_664
CHIP_CELLS = 48 * 256 * 256


def _one(spec: str, n: int, seed: int) -> dict:
    from neurram_lab import open_board
    from neurram_lab.program.writeverify import form_cells, write_verify

    b = open_board(spec)
    idx = np.arange(n)
    c, r, k = np.zeros(n, int), idx // 256, idx % 256
    f = form_cells(b, c, r, k, g_pristine_max_s=0.5e-6)
    tgt = np.random.default_rng(seed).uniform(1e-6, 40e-6, n)
    calls0, t0 = b.link.totals()["total"], b.counters()["predicted_board_time_s"]
    w = time.perf_counter()
    res = write_verify(b, c[f], r[f], k[f], tgt[f])
    wall = time.perf_counter() - w
    m = int(f.sum())
    per_s = (b.counters()["predicted_board_time_s"] - t0) / m
    out = {"board": spec, "cells": m, "pulses_per_cell": res.mean_pulses_per_cell,
           "in_window_fraction": res.in_window_fraction,
           "frontpanel_calls_per_cell": (b.link.totals()["total"] - calls0) / m,
           "predicted_s_per_cell": per_s, "cnn_predicted_s": per_s * CNN_CELLS,
           "chip_predicted_h": per_s * CHIP_CELLS / 3600, "wall_s": wall}
    b.close()
    return out


def run(cells: int = 1024, seed: int = 1, target_seed: int = 0) -> dict:
    eng = _one(f"hil://?seed={seed}&bitstream=neurram_top_wv", cells, target_seed)
    host = _one(f"hil://?seed={seed}", cells, target_seed)
    return {"engine": eng, "host": host, "speedup": host["predicted_s_per_cell"] / eng["predicted_s_per_cell"]}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=1024)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    print(json.dumps(run(a.cells, a.seed), indent=1))


if __name__ == "__main__":
    main()
