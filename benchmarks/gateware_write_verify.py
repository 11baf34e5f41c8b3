"""``python -m benchmarks.gateware_write_verify``: write-verify by the FPGA engine (neurram_top_wv) on the RTL
simulation, against host-driven write-verify on ``sim://``, and the board time it predicts.

Forms ``--cells`` cells of core 0 (row-major) on the twin, programs them through the engine to targets drawn
uniformly over 5-40 uS, quantised to the engine's 16 levels (each level its own window, target +- 1 uS;
the sweep of ``WriteVerifyConfig``'s defaults), and programs the same cells of a twin with the same seed and
forming on ``sim://`` with tier 2's ``write_verify`` (host loop). Reports

- engine: pulses per cell, in-window fraction, statuses, board time per cell from the engine's own cycle
  counter (r3 of each record: clocks of the 100 MHz system clock, on the RTL of the authors' modules and the
  board model), FrontPanel calls per batch;
- host (sim://): pulses per cell and in-window fraction;
- predicted programming time of the MNIST CNN (46 664 cells) and of the whole chip (48 x 65 536 cells) at
  the measured engine time per cell, beside the host-driven figure (``bench hil-write-verify``'s 0.057 s per
  cell, 0.166 s with the authors' read averaging; the authors measured 0.16-0.23 s).

The simulation is slow (tens of thousands of clocks a second): 16 cells take a few minutes on two cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

COMMAND = ("bench", "gateware-write-verify")
HELP = "write-verify through the FPGA engine on the RTL (neurram_top_wv) against sim://; predicted board time"

CNN_CELLS = 46_664
CHIP_CELLS = 48 * 256 * 256
HOST_S_PER_CELL = {"hil_predicted": 0.057, "hil_predicted_authors_averaging": 0.166, "authors_measured": (0.16, 0.23)}
V_CELL = 0.2
WINDOW_S = 1e-6
FORM = (4.0, 1e-6, 1.6)  # forming pulse before the run (V, s, gate V), the same on both twins


def add_arguments(parser) -> None:
    parser.add_argument("--cells", type=int, default=16, help="cells of core 0, row-major (default 16)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")


def _levels(rng, n):
    from neurram_lab.drivers import _wv_engine as wv

    centres = np.linspace(5e-6, 40e-6, wv.N_LEVELS)
    lv = rng.integers(0, wv.N_LEVELS, n)
    return centres, lv


def run(cells: int = 16, seed: int = 0) -> dict:
    from neurram_lab.drivers import _wv_engine as wv
    from neurram_lab.drivers import neurram_top as nt
    from neurram_lab.drivers.rtl import default_hdl_dir
    from neurram_lab.gateware import sim
    from neurram_lab.program.writeverify import WriteVerifyConfig, write_verify
    from neurram_lab.sim_backend.board import SimBoard

    cfg = WriteVerifyConfig(window_s=WINDOW_S)
    rng = np.random.default_rng(seed)
    centres, lv = _levels(rng, cells)
    idx = np.arange(cells)
    c, r, k = np.zeros(cells, np.int64), idx // 256, idx % 256
    ceil = wv.Ceilings.from_volts(cfg.reset_v_max_v, 4.6, 1e-3)
    words = []
    for i, g in enumerate(centres):
        level = wv.level_from_volts(g - WINDOW_S, g + WINDOW_S, V_CELL, cfg.set_v_start_v, cfg.set_v_max_v,
                                    cfg.reset_v_start_v, cfg.reset_v_max_v, 2.0, 4.5, cfg.v_step_v, cfg.width_s,
                                    cfg.max_rounds, cfg.max_reversals, cfg.max_pulses_at_vmax, ceil)
        words += wv.level_command(i, level)
    words += wv.cell_commands(c, r, k, lv) + wv.mark_command(1)
    spec = {"seed": seed, "pre_pulses": [["form", int(a), int(b), int(d), *FORM] for a, b, d in zip(c, r, k)],
            "dac": [[1, 7, nt.dac_code(0.9, 1)], [1, 6, nt.dac_code(0.9 + V_CELL, 1)]],
            "wire_ins": {str(e): v for e, v in ceil.wire_ins().items()},
            "batches": [{"words": wv.pad16(words), "marks": 1}], "poll_ns": 5_000_000, "timeout_ns": 2e8}
    hdl = default_hdl_dir()
    if hdl is None:
        from neurram_lab.errors import InputError

        raise InputError("the authors' HDL is not here: set NEURRAM_SHARED (its authors/HDL folder)")
    t0 = time.perf_counter()
    out = sim.run(sim.build(hdl), spec, timeout_s=3600)
    wall = time.perf_counter() - t0
    rec = wv.decode_records(out["batches"][0]["words"])
    cell = rec["status"] != wv.ST_MARK
    st = rec["status"][cell]
    t_cell = rec["cell_time_s"][cell]

    twin = SimBoard(seed=seed)
    twin.pulse_cells("form", c, r, k, np.full(cells, FORM[0]), np.full(cells, FORM[1]), np.full(cells, FORM[2]))
    twin.set_rails({"v_cell_read": V_CELL})
    host = write_verify(twin, c, r, k, centres[lv], cfg)

    s_cell = float(t_cell.mean())
    res = {
        "cells": cells, "seed": seed, "machine": f"{platform.node()} ({os.cpu_count()} cpus, shared)",
        "engine": {"pulses_per_cell": float(rec["pulses"][cell].mean()), "in_window": float((st == wv.ST_OK).mean()),
                   "status_counts": {wv.STATUS_NAMES[int(s)]: int((st == s).sum()) for s in np.unique(st)},
                   "board_s_per_cell_mean": s_cell, "board_s_per_cell_max": float(t_cell.max()),
                   "board_s_per_pulse_round": float(t_cell.sum() / (rec["pulses"][cell].sum() + cells)),
                   "frontpanel_calls_batch": out["batches"][0]["calls"], "sim_s": out["batches"][0]["t_ns"] * 1e-9,
                   "wall_s": wall, "sim_clocks_per_wall_s": out["sim_ns"] / 10.0 / out["wall_s"]},
        "host_sim": {"pulses_per_cell": host.mean_pulses_per_cell, "in_window": host.in_window_fraction},
        "predicted": {"cnn_s_engine": s_cell * CNN_CELLS, "chip_s_engine": s_cell * CHIP_CELLS,
                      "cnn_s_host": HOST_S_PER_CELL["hil_predicted"] * CNN_CELLS,
                      "chip_s_host": HOST_S_PER_CELL["hil_predicted"] * CHIP_CELLS,
                      "host_s_per_cell": HOST_S_PER_CELL},
    }
    e, h = res["engine"], res["host_sim"]
    res["pulses_ratio"] = e["pulses_per_cell"] / h["pulses_per_cell"] if h["pulses_per_cell"] else float("nan")
    res["in_window_points"] = 100 * (e["in_window"] - h["in_window"])
    return res


def main(args, ctx=None) -> dict:
    return run(args.cells, args.seed)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=HELP)
    add_arguments(p)
    a = p.parse_args()
    print(json.dumps(main(a), indent=1, default=str))
