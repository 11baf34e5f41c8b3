"""``neurram bench program``: form and program every cell of the chip with iterative write-verify.

Opens the board, forms the cells (timed apart), programs targets drawn
uniformly over gmin..gmax with ``--iterations`` passes (each followed by a
settle and a full re-read) and reports the wall-clock time of programming. On the twin the settle is
virtual, so the figure measures the software: the write-verify algorithm,
the Board contract and the physics.
"""

from __future__ import annotations

import os
import time

import numpy as np

from neurram_lab._cores import parse_cores
from neurram_lab.program.programming import check_program_args, iterative_program
from neurram_lab.program.writeverify import form_cells
from neurram_lab.sim_backend._parallel import n_threads

COMMAND = ("bench", "program")
HELP = "program all 48 x 256 x 256 cells with iterative write-verify and time it"


def add_arguments(parser) -> None:
    parser.add_argument("--cores", default="all", help="cores to program (default all)")
    parser.add_argument("--iterations", type=int, default=3, help="write-verify passes (default 3)")
    parser.add_argument("--settle-s", type=float, default=1800.0, help="virtual wait before each re-read (s)")


def bench(board, cores, iterations=3, settle_s=1800.0, gmin_s=1e-6, gmax_s=40e-6, seed=0, progress=None) -> dict:
    """Form and program every cell of ``cores``; returns cells, timings and programming statistics.

    ``wall_s`` times the programming (all write-verify passes, the settles
    and the verify reads), ``cpu_s`` the CPU time this process spent on it
    (all its threads together); ``twin_threads`` is the twin's thread setting
    (``NEURRAM_TWIN_THREADS``, else automatic: one thread while the machine is busy), ``load_avg`` the machine's load before and
    after (other jobs on the cores slow the wall clock); forming, a one-off
    preparation of a new chip, is timed apart in ``form_s``.
    """
    check_program_args(board, None, iterations, settle_s)  # before forming: a bad settle must not cost a chip
    cores = [int(c) for c in cores]
    i = np.arange(65536 * len(cores))
    c = np.asarray(cores, np.int64)[i >> 16]
    r, k = (i >> 8) & 255, i & 255
    tgt = np.random.default_rng(seed).uniform(gmin_s, gmax_s, i.size)
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    formed = form_cells(board, c, r, k)
    t1 = time.perf_counter()
    c1 = time.process_time()
    f = np.flatnonzero(formed)
    res = iterative_program(board, c[f], r[f], k[f], tgt[f], iterations, settle_s, progress=progress,
                            spread_range_s=(gmin_s, gmax_s))
    t2 = time.perf_counter()
    cpu = time.process_time() - c1
    return {
        "cells": int(i.size),
        "cores": len(cores),
        "iterations": int(iterations),
        "wall_s": t2 - t1,
        "cells_per_s": i.size / (t2 - t1),
        "cpu_s": cpu,
        "form_s": t1 - t0,
        "in_window_fraction": res.wv_success_fraction,
        "mean_pulses_per_cell": res.mean_pulses_per_cell,
        "total_pulses": int(res.pulses.sum()),
        "sigma_us_by_iteration": [s * 1e6 for s in res.sigma_s_by_iteration],
        "board_time_s": board.now(),
        # the machine's 1-minute load average before and after: other jobs share the cores
        "load_avg": [round(load0, 2), round(os.getloadavg()[0], 2)],
        "twin_threads": os.environ.get("NEURRAM_TWIN_THREADS", f"auto (up to {n_threads()} now)"),
    }


def main(args, ctx) -> dict:
    cores = parse_cores(args.cores)
    bars = {}

    def tick(it, done, total):
        if it not in bars:
            bars[it] = ctx.progress(total, f"pass {it}", unit="cell")
        bars[it].update(done - bars[it].n)

    with ctx.open_board() as board:
        s = bench(board, cores, args.iterations, args.settle_s, seed=ctx.seed or 0, progress=tick)
        s["board"] = board.spec
    for b in bars.values():
        b.close()
    ctx.say(f"Programmed {s['cells']} cells ({s['cores']} cores, {s['iterations']} passes) in {s['wall_s']:.2f} s "
            f"({s['cells_per_s']:.0f} cells/s); forming them first took {s['form_s']:.2f} s.")
    return s
