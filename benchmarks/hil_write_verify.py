"""``neurram bench hil-write-verify``: write-verify through ``hil://`` (the emulated authors' bitstream), timed.

Forms ``cores x cells-per-core`` cells (timed apart) and programs them to
targets drawn uniformly over 1-40 uS with iterative write-verify
(``--iterations`` passes, each followed by a virtual settle and a verify
re-read), the same work ``neurram characterize write-verify`` does, on
``hil://``: FpgaBoard -> FrontPanel calls -> emulated ``neurram_top``
bitstream -> twin. Reports

- ``wall_s`` (programming only) against the goal of 60 s for 4 096 cells on
  2 cores, and ``cells_per_s``;
- ``frontpanel_calls_per_cell`` (and by op), from the board's counters;
- ``predicted_board_s`` and ``predicted_s_per_cell``: what a real XEM6310
  would take for the same calls (:mod:`drivers.board_time`; settle waits
  excluded), beside the authors' measured 0.16-0.23 s per cell and the
  model's figure for the authors' own host sequence at the same pulses per
  cell (:func:`drivers.board_time.authors_cell_calls`);
- the same work on ``sim://`` (same seed): pulses per cell and in-window
  fraction, which hil:// should match (within 15 % and 2 points).
"""

from __future__ import annotations

import os
import platform
import time

import numpy as np

from neurram_lab._cores import parse_cores
from neurram_lab.program.programming import iterative_program
from neurram_lab.program.writeverify import form_cells

COMMAND = ("bench", "hil-write-verify")
HELP = "write-verify 4 096 cells through hil:// (the emulated authors' bitstream): wall time, calls, predicted board time"

GOAL_S = 60.0
AUTHORS_S_PER_CELL = (0.16, 0.23)  # BOARD_PROTOCOL.md: 1290 cells in 209 s, 7132 in 1610 s, 1657 in 358 s


def add_arguments(parser) -> None:
    parser.add_argument("--cores", default="0-15", help="cores (default 0-15)")
    parser.add_argument("--cells-per-core", type=int, default=256, help="cells per core, row-major (default 256)")
    parser.add_argument("--iterations", type=int, default=1, help="write-verify passes (default 1)")
    parser.add_argument("--settle-s", type=float, default=1800.0, help="virtual wait before each re-read (s)")
    parser.add_argument("--trace", default=None, metavar="FILE.jsonl", help="also write the FrontPanel trace (slower)")
    parser.add_argument("--read-cycles", type=int, default=1,
                        help="auto-ranged cycles per verify read (default 1; the authors average 8, dropping 3)")
    parser.add_argument("--ignore-cycles", type=int, default=0, help="leading cycles dropped from the average (default 0)")
    parser.add_argument("--no-sim", action="store_true", help="skip the sim:// comparison run")


def _cells(cores, per: int):
    idx = np.arange(per)
    c = np.repeat(np.asarray(cores, np.int64), per)
    r = np.tile(idx // 256, len(cores))
    k = np.tile(idx % 256, len(cores))
    return c, r, k


def _program(board, cores, per, iterations, settle_s, seed):
    """Form (timed apart) and program; returns (form_s, wall_s, cpu_s, result, counters before, after)."""
    c, r, k = _cells(cores, per)
    tgt = np.random.default_rng(seed).uniform(1e-6, 40e-6, c.size)
    t0 = time.perf_counter()
    formed = form_cells(board, c, r, k, g_pristine_max_s=0.5e-6)
    f = np.flatnonzero(formed)
    k0 = board.counters()
    t1 = time.perf_counter()
    cpu0 = time.process_time()
    res = iterative_program(board, c[f], r[f], k[f], tgt[f], iterations, settle_s, spread_range_s=(1e-6, 40e-6))
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, time.process_time() - cpu0, res, k0, board.counters(), int(f.size)


def _calls(counters) -> dict:
    fc = counters.get("frontpanel_calls") or {}
    if isinstance(fc, dict):
        return {"total": int(fc.get("total", 0)), "by_op": dict(fc.get("by_op", {}))}
    return {"total": int(fc), "by_op": {}}


def run(seed: int = 0, cores=tuple(range(16)), cells_per_core: int = 256, iterations: int = 1,
        settle_s: float = 1800.0, trace=None, compare_sim: bool = True, read_cycles: int = 1,
        ignore_cycles: int = 0) -> dict:
    """Measure; returns the summary (see module doc)."""
    from neurram_lab.drivers.board_time import authors_cell_calls
    from neurram_lab import open_board
    from neurram_lab.validate import MAX_ITERATIONS, MAX_SETTLE_S, integer, number

    integer("iterations", iterations, 1, MAX_ITERATIONS, "write-verify passes")
    number("settle_s", settle_s, 0.0, MAX_SETTLE_S, "seconds")
    cores = [int(x) for x in cores]
    spec = f"hil://?seed={int(seed)}&read_cycles={int(read_cycles)}&ignore_cycles={int(ignore_cycles)}"
    spec += f"&trace={trace}" if trace else ""
    load0 = os.getloadavg()[0]
    with open_board(spec) as b:
        form_s, wall_s, cpu_s, res, k0, k1, n = _program(b, cores, cells_per_core, iterations, settle_s, seed)
    load1 = os.getloadavg()[0]
    c0, c1 = _calls(k0), _calls(k1)
    calls = c1["total"] - c0["total"]
    by_op = {op: c1["by_op"].get(op, 0) - c0["by_op"].get(op, 0) for op in c1["by_op"]}
    pred = k1.get("predicted_board_time_s")
    pred_prog = (pred - k0["predicted_board_time_s"]) if pred is not None else None
    pulses = float(res.mean_pulses_per_cell)
    # the authors' own sequence at the same pulses per cell, under the same model (one verify read per pulse)
    p_lo, p_hi = int(np.floor(pulses)), int(np.ceil(pulses))
    authors_calls = float(np.interp(pulses, [p_lo, p_hi + 1e-9],
                                    [authors_cell_calls(p_lo)["calls"], authors_cell_calls(p_hi)["calls"]]))
    out = {
        "board": "hil://",
        "cells": int(len(cores) * cells_per_core),
        "cells_programmed": n,
        "cores": len(cores),
        "cells_per_core": int(cells_per_core),
        "iterations": int(iterations),
        "read_cycles": int(read_cycles),
        "ignore_cycles": int(ignore_cycles),
        "wall_s": wall_s,
        "goal_s": GOAL_S,
        "cells_per_s": n / wall_s if wall_s > 0 else None,
        "cpu_s": cpu_s,
        "form_s": form_s,
        "mean_pulses_per_cell": pulses,
        "in_window_fraction": float(res.wv_success_fraction),
        "frontpanel_calls": calls,
        "frontpanel_calls_per_cell": calls / n if n else None,
        "frontpanel_calls_per_cell_by_op": {op: v / n for op, v in sorted(by_op.items()) if v} if n else {},
        "predicted_board_s": pred_prog,
        "predicted_s_per_cell": pred_prog / n if (pred_prog is not None and n) else None,
        "predicted_board_s_with_forming": pred,
        "authors_measured_s_per_cell": list(AUTHORS_S_PER_CELL),
        "authors_sequence_calls_per_cell": authors_calls,
        "trace": trace,
        "load_avg": [round(load0, 2), round(load1, 2)],
        "machine": f"{platform.machine()} {platform.processor() or ''} python {platform.python_version()} "
                   f"{os.cpu_count()} CPUs".strip(),
    }
    if compare_sim:
        with open_board(f"sim://?seed={int(seed)}") as s:
            _, sim_wall, _, sres, _, _, sn = _program(s, cores, cells_per_core, iterations, settle_s, seed)
        out.update(sim_wall_s=sim_wall, sim_mean_pulses_per_cell=float(sres.mean_pulses_per_cell),
                   sim_in_window_fraction=float(sres.wv_success_fraction), sim_cells_programmed=int(sn))
    return out


def main(args, ctx) -> dict:
    s = run(seed=args.seed or 0, cores=parse_cores(args.cores), cells_per_core=args.cells_per_core,
            iterations=args.iterations, settle_s=args.settle_s, trace=args.trace, compare_sim=not args.no_sim,
            read_cycles=args.read_cycles, ignore_cycles=args.ignore_cycles)
    lines = [f"write-verify of {s['cells_programmed']} cells on hil://: {s['wall_s']:.1f} s wall "
             f"(goal <= {GOAL_S:.0f} s), {s['cells_per_s']:.0f} cells/s, {s['mean_pulses_per_cell']:.2f} pulses/cell, "
             f"{s['in_window_fraction']:.2%} in window",
             f"FrontPanel calls: {s['frontpanel_calls_per_cell']:.0f} per cell "
             f"(the authors' host code: {s['authors_sequence_calls_per_cell']:.0f} at the same pulses per cell)"]
    if s["predicted_s_per_cell"] is not None:
        lines.append(f"predicted on a real XEM6310: {s['predicted_board_s']:.0f} s, {s['predicted_s_per_cell']:.3f} s "
                     f"per cell (authors measured {AUTHORS_S_PER_CELL[0]}-{AUTHORS_S_PER_CELL[1]} s per cell)")
    if "sim_mean_pulses_per_cell" in s:
        lines.append(f"sim:// same seed: {s['sim_mean_pulses_per_cell']:.2f} pulses/cell, "
                     f"{s['sim_in_window_fraction']:.2%} in window, {s['sim_wall_s']:.2f} s")
    ctx.say("\n".join(lines))
    return s
