"""``neurram demo``: form and program a pattern into a few cores, watch it relax, log it.

The main job of the README: it opens the board (the twin by default), forms a
64 x 64 patch on each of three cores, programs one picture per core with
write-verify, reads the patch back at log-spaced times up to 30 minutes of
board time, logs everything to an HDF5 run file and draws one figure.
"""

from __future__ import annotations

import time

import numpy as np

from neurram_lab._cores import parse_cores
from neurram_lab.validate import conductance, int_list
from neurram_lab.errors import LimitError
from neurram_lab.program.writeverify import WriteVerifyConfig, form_cells, write_verify

from ._common import finish_run, progress_callback, pyplot, run_and_report, start_run

EXPERIMENT = "demo"
COMMAND = (None, "demo")
HELP = "form, program and read back a pattern on the twin; log and plot it"
MERIT = "in_window_fraction"  # the figure a sweep draws by default: cells in their window after programming

PATCH = 64
READ_TIMES_S = (1.0, 10.0, 100.0, 1800.0)


def add_arguments(parser) -> None:
    parser.add_argument("--cores", default="0,1,2", help="cores: N, N-M, N,M,... (default 0,1,2)")
    parser.add_argument("--gmax-us", type=float, default=40.0, help="largest target conductance (uS, default 40)")


def patterns_s(n_cores: int, gmin_s: float, gmax_s: float) -> np.ndarray:
    """Target pictures (S), one 64 x 64 per core: a level ramp, a ring, a checkerboard of 8 levels."""
    y, x = np.mgrid[0:PATCH, 0:PATCH] / (PATCH - 1)
    ramp = np.minimum(np.floor(x * 8), 7) / 7
    r = np.hypot(x - 0.5, y - 0.5)
    ring = np.clip(1 - np.abs(r - 0.3) / 0.12, 0, 1)
    checker = ((np.minimum(np.floor(x * 8), 7) + np.minimum(np.floor(y * 8), 7)) % 8) / 7
    pics = [ramp, ring, checker]
    return np.stack([gmin_s + (gmax_s - gmin_s) * pics[i % 3] for i in range(n_cores)])


def run(board, out_dir, progress=None, cores=(0, 1, 2), gmax_s=40e-6) -> dict:
    """Run the demo on ``board``; returns the summary (paths included).

    Parameters
    ----------
    board : Board
    out_dir : path
        Where the run file and figure go.
    cores : sequence of int
    gmax_s : float
        Largest target conductance (S); gmin is 1 uS.
    progress : callable(total, desc) -> tqdm-like, optional
    """
    t_wall = time.perf_counter()
    cores = int_list("cores", cores, 0, board.limits.n_cores - 1, distinct=True)
    gmin_s = 1e-6
    gmax_s = conductance("gmax_s", gmax_s, board.limits)
    if gmax_s <= gmin_s:
        raise LimitError("gmax_s", gmax_s, (gmin_s, board.limits.g_cell_s[1]), f"siemens; above gmin {gmin_s}")
    targets = patterns_s(len(cores), gmin_s, gmax_s)
    rows, cols = np.mgrid[0:PATCH, 0:PATCH]
    core_a = np.repeat(cores, PATCH * PATCH)
    row_a = np.tile(rows.ravel(), len(cores))
    col_a = np.tile(cols.ravel(), len(cores))
    tgt = targets.reshape(-1)
    cfg = WriteVerifyConfig()
    cfg.check(board)  # limits and capabilities, before a run file exists
    params = {"cores": cores, "gmax_s": gmax_s}
    tables = {
        "program": {"core": ("i2", ""), "row": ("i2", ""), "col": ("i2", ""), "target_s": ("f4", "S"),
                    "g_final_s": ("f4", "S"), "pulses": ("i4", ""), "reversals": ("i4", ""), "success": ("?", "")},
        "readback": {"t_after_program_s": ("f8", "s"), "core": ("i2", ""), "row": ("i2", ""), "col": ("i2", ""),
                     "g_s": ("f4", "S")},
    }
    with start_run(board, out_dir, EXPERIMENT, params, tables) as log:
        board = log.board
        formed = form_cells(board, core_a, row_a, col_a)
        tick, close = progress_callback(progress, int(formed.sum()), "write-verify")
        res = write_verify(board, core_a[formed], row_a[formed], col_a[formed], tgt[formed], cfg, progress=tick)
        close()
        log.append("program", core=res.core, row=res.row, col=res.col, target_s=res.target_s,
                   g_final_s=res.g_final_s, pulses=res.pulses, reversals=res.reversals, success=res.success)
        t_prog = board.now()
        reads = {}
        for t in READ_TIMES_S:
            board.wait(max(0.0, t_prog + t - board.now()))
            g = board.read(core_a, row_a, col_a)
            reads[t] = g
            log.append("readback", t_after_program_s=t, core=core_a, row=row_a, col=col_a, g_s=g)
        ok = formed.copy()
        ok[formed] = res.success
        sigma_us = {f"{t:g}": float(np.std((reads[t][ok] - tgt[ok]) * 1e6)) for t in READ_TIMES_S}
        summary = {
            "cores": cores,
            "cells": int(core_a.size),
            "formed_fraction": float(formed.mean()),
            "in_window_fraction": res.in_window_fraction,
            "mean_pulses_per_cell": res.mean_pulses_per_cell,
            "sigma_us_after_s": sigma_us,
            "board_time_s": board.now(),
            "energy_j": board.counters().get("energy_j"),
            "run_file": str(log.path),
        }
        return finish_run(log, summary, t_wall, lambda fig: _figure(fig, cores, targets, reads, READ_TIMES_S, sigma_us))


def _figure(path, cores, targets, reads, times, sigma_us) -> None:
    plt = pyplot()
    n = len(cores)
    fig, ax = plt.subplots(n, 3, figsize=(12, 3.4 * n), squeeze=False, layout="constrained")
    last = times[-1]
    for i, c in enumerate(cores):
        sl = slice(i * PATCH * PATCH, (i + 1) * PATCH * PATCH)
        t_img = targets[i] * 1e6
        g_img = reads[last][sl].reshape(PATCH, PATCH) * 1e6
        vmax = max(t_img.max(), 1)
        ax[i, 0].imshow(t_img, vmin=0, vmax=vmax, cmap="viridis")
        ax[i, 0].set_title(f"core {c}: target (µS)")
        im = ax[i, 1].imshow(g_img, vmin=0, vmax=vmax, cmap="viridis")
        ax[i, 1].set_title(f"read {last:g} s later (µS)")
        fig.colorbar(im, ax=ax[i, 1], shrink=0.8, label="G (µS)")
        ax[i, 2].plot(t_img.ravel(), g_img.ravel(), ".", ms=1, alpha=0.3)
        ax[i, 2].plot([0, vmax], [0, vmax], "k--", lw=0.8)
        ax[i, 2].set_xlabel("target (µS)")
        ax[i, 2].set_ylabel("read (µS)")
    for a in ax[:, :2].ravel():
        a.set_xticks([])
        a.set_yticks([])
    txt = ", ".join(f"{t} s: {s:.2f} µS" for t, s in sigma_us.items())
    fig.suptitle(f"NeuRRAM demo — relaxation spread σ after {txt}", fontsize=9)
    plt.save(fig, path)


def main(args, ctx) -> dict:
    cores = parse_cores(args.cores)
    return run_and_report(ctx, run, report, cores=cores, gmax_s=args.gmax_us * 1e-6)


def report(summary: dict, board_spec: str) -> str:
    """The human-readable summary printed at the end of a run (``neurram replay`` prints it too)."""
    return (
        f"Programmed {summary['cells']} cells on cores {summary['cores']} of {board_spec}: "
        f"{summary['in_window_fraction']:.2%} in the ±1 µS window, "
        f"{summary['mean_pulses_per_cell']:.2f} pulses per cell.\n"
        "Relaxation spread after programming: "
        + ", ".join(f"{t} s → {s:.2f} µS" for t, s in summary["sigma_us_after_s"].items())
        + f"\nRun file: {summary['run_file']}\nFigure:   {summary['figure']}"
    )
