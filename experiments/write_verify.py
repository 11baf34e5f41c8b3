"""``neurram characterize write-verify``: program random targets, iterate, log every pulse and read.

Forms the chosen cells, programs them to targets drawn uniformly over
gmin..gmax with iterative write-verify (each pass followed by a settle and a
full re-read), and logs every read and pulse (``wv_events``), each cell's
outcome per pass (``wv_cells``) and the verify reads (``wv_verify``) to the
run file. Figure (like Extended Data Fig. 3 of the paper): conductance during
write-verify, pulses per cell, error after each pass, spread per pass.

On a board whose gateware runs write-verify (``hil://`` or ``okusb://`` with
``?bitstream=neurram_top_wv``) the rounds run on the engine: no per-pulse
events (``wv_events`` stays empty), the per-cell results (``wv_cells``) and the
journal's one ``write_verify_engine`` call per pass hold the outcome, and the
summary adds ``write_verify_engine``, ``engine_cells`` and
``engine_frontpanel_calls_per_cell``.
"""

from __future__ import annotations

import time

import numpy as np

from neurram_lab._cores import parse_cores
from neurram_lab._progress import bar_factory
from neurram_lab.validate import MAX_ITERATIONS, MAX_SETTLE_S, conductance, int_list, integer, number
from neurram_lab.board.limits import flat_cell_index
from neurram_lab.errors import InputError
from neurram_lab.program.programming import EVENT_TABLE, PROGRAM_TABLES, iterative_program
from neurram_lab.runlog.runlog import read_run
from neurram_lab.program.writeverify import OUTCOME_SUCCESS, WriteVerifyConfig, form_cells, runs_on_engine

from ._common import finish_run, pyplot, run_and_report, start_run

EXPERIMENT = "characterize-write-verify"
COMMAND = ("characterize", "write-verify")
HELP = "write-verify random targets on chosen cores, iterate, log every pulse and read"
MERIT = "sigma_us_by_iteration[-1]"  # the figure a sweep draws by default: spread after settling, after the last pass


def add_arguments(parser) -> None:
    parser.add_argument("--cores", default="0", help="cores: N, N-M, N,M,... or all (default 0)")
    parser.add_argument("--cells-per-core", type=int, default=8192, help="cells per core, row-major from (0,0) (default 8192)")
    parser.add_argument("--iterations", type=int, default=3, help="write-verify passes (default 3)")
    parser.add_argument("--gmin-us", type=float, default=1.0, help="lowest target (uS, default 1)")
    parser.add_argument("--gmax-us", type=float, default=40.0, help="highest target (uS, default 40)")
    parser.add_argument("--window-us", type=float, default=1.0, help="accept window half-width (uS, default 1)")
    parser.add_argument("--max-reversals", type=int, default=30, help="timeout in SET/RESET reversals (default 30)")
    parser.add_argument("--settle-s", type=float, default=1800.0, help="wait before each re-read (s, default 1800)")
    parser.add_argument("--target-seed", type=int, default=0, help="seed of the random targets (default 0)")


def run(board, out_dir, progress=None, cores=(0,), cells_per_core=8192, iterations=3, gmin_s=1e-6, gmax_s=40e-6,
        window_s=1e-6, max_reversals=30, settle_s=1800.0, target_seed=0) -> dict:
    """Run the experiment; returns the JSON summary (see module doc)."""
    t_wall = time.perf_counter()
    progress = bar_factory(progress)  # None: a bar only in a notebook (neurram_lab._progress)
    cores = int_list("cores", cores, 0, board.limits.n_cores - 1, distinct=True)
    per = integer("cells_per_core", cells_per_core, 1, board.limits.n_rows * board.limits.n_cols)
    iterations = integer("iterations", iterations, 1, MAX_ITERATIONS, "write-verify passes")
    gmin_s = conductance("gmin_s", gmin_s, board.limits)
    gmax_s = conductance("gmax_s", gmax_s, board.limits)
    if gmin_s >= gmax_s:
        raise InputError(f"need gmin_s < gmax_s, got {gmin_s} and {gmax_s}")
    settle_s = number("settle_s", settle_s, 0.0, MAX_SETTLE_S, "seconds")
    target_seed = integer("target_seed", target_seed, 0)
    cfg = WriteVerifyConfig(window_s=number("window_s", window_s), max_reversals=integer("max_reversals", max_reversals))
    cfg.check(board)
    idx = np.arange(per)
    c = np.repeat(cores, per)
    r = np.tile(idx // 256, len(cores))
    k = np.tile(idx % 256, len(cores))
    tgt = np.random.default_rng(int(target_seed)).uniform(gmin_s, gmax_s, c.size)
    params = {"cores": cores, "cells_per_core": per, "iterations": int(iterations), "gmin_s": float(gmin_s),
              "gmax_s": float(gmax_s), "window_s": float(window_s), "max_reversals": int(max_reversals),
              "settle_s": float(settle_s), "target_seed": int(target_seed)}
    tables = dict(PROGRAM_TABLES, **EVENT_TABLE)
    with start_run(board, out_dir, EXPERIMENT, params, tables) as log:
        board = log.board
        formed = form_cells(board, c, r, k, g_pristine_max_s=0.5e-6)
        f = np.flatnonzero(formed)
        on_engine = runs_on_engine(board, cfg)  # the board's gateware runs the rounds: per-cell results, no events
        counts0 = board.counters()
        predicted0_s = counts0.get("predicted_board_time_s")
        bars = {}

        def tick(it, done, total):
            if progress is None:
                return
            if it not in bars:
                bars[it] = progress(total, f"pass {it}")
            bar = bars[it]
            bar.update(done - bar.n)

        res = iterative_program(board, c[f], r[f], k[f], tgt[f], iterations, settle_s, cfg, log=log,
                                progress=tick, log_events=not on_engine, spread_range_s=(gmin_s, gmax_s))
        for bar in bars.values():
            bar.close()
        log.flush()
        ok = res.first_outcome == OUTCOME_SUCCESS
        summary = {
            "cores": cores,
            "cells": int(c.size),
            "formed_fraction": float(formed.mean()),
            "in_window_fraction": res.wv_success_fraction,
            "failed_cells": int((~ok).sum() + (~formed).sum()),
            "mean_pulses_per_cell": res.mean_pulses_per_cell,
            "mean_reversals_per_cell": float(np.mean(res.reversals[res.passes == 1])) if np.any(res.passes == 1) else None,
            "sigma_us_by_iteration": [s * 1e6 for s in res.sigma_s_by_iteration],
            "settled_in_window_by_iteration": [it["in_window_fraction"] for it in res.iterations],
            "cells_programmed_by_iteration": [it["cells_programmed"] for it in res.iterations],
            "window_us": window_s * 1e6,
            "gmax_us": gmax_s * 1e6,
            "max_reversals": int(max_reversals),
            "board_time_s": board.now(),
            **_predicted(board, predicted0_s, f.size),
            **(_engine(board, counts0) if on_engine else {}),
            "run_file": str(log.path),
        }
        return finish_run(log, summary, t_wall, lambda fig: _figure(fig, read_run(log.path), res, cfg, gmin_s, gmax_s))


def _predicted(board, before_s, cells) -> dict:
    """Predicted real-board time (boards that count it, e.g. FpgaBoard): in all, and per cell programmed."""
    total = board.counters().get("predicted_board_time_s")
    if total is None or before_s is None:
        return {}
    return {"predicted_board_time_s": float(total),
            "predicted_s_per_cell": (float(total) - float(before_s)) / cells if cells else None}


def _engine(board, before: dict) -> dict:
    """Summary keys of a run on the write-verify engine: cells it wrote, FrontPanel calls of its batches."""
    after = board.counters()
    cells = after.get("wv_engine_cells", 0) - before.get("wv_engine_cells", 0)
    out = {"write_verify_engine": True, "engine_cells": int(cells)}
    fp = [c.get("frontpanel_calls", {}).get("by_board_op", {}).get("write_verify", 0) for c in (before, after)]
    if "frontpanel_calls" in after:
        out["engine_frontpanel_calls_per_cell"] = (fp[1] - fp[0]) / cells if cells else None
    return out


def _figure(path, run, res, cfg, gmin_s, gmax_s) -> None:
    plt = pyplot()
    ev = run.tables["wv_events"]
    fig, ax = plt.subplots(2, 2, figsize=(11, 8), layout="constrained")
    # (a) conductance during write-verify of a few cells (first pass): reads against pulse number
    first = ev[ev["iteration"] == 1]
    reads = first[first["op"] == 0]
    cells = reads["cell"].unique()
    pick = cells[np.linspace(0, cells.size - 1, min(10, cells.size)).astype(int)] if cells.size else []
    tgt_of = dict(zip(flat_cell_index(res.core, res.row, res.col), res.target_s))
    for cell in pick:
        rr = reads[reads["cell"] == cell]
        (line,) = ax[0, 0].plot(np.arange(len(rr)), rr["g_read_s"] * 1e6, ".-", ms=3, lw=0.8)
        ax[0, 0].axhline(tgt_of.get(int(cell), np.nan) * 1e6, color=line.get_color(), lw=0.5, ls="--")
    if len(ev):
        ax[0, 0].set_xlabel("verify read (one pulse between reads)")
        ax[0, 0].set_ylabel("G (µS)")
        ax[0, 0].set_title("conductance during write-verify (dashed: target)")
    else:  # on the engine: no per-pulse events, each cell's last verify reading against its target
        wc = run.tables["wv_cells"]
        wc = wc[wc["iteration"] == 1]
        ax[0, 0].plot(wc["target_s"] * 1e6, wc["g_final_s"] * 1e6, ".", ms=2)
        ax[0, 0].set_xlabel("target (µS)")
        ax[0, 0].set_ylabel("last verify reading (µS)")
        ax[0, 0].set_title("write-verify on the FPGA engine (first pass)")
    # (b) pulses per cell
    bins = np.arange(0, max(int(res.first_pulses.max()) if res.n_cells else 1, 1) + 2) - 0.5
    ax[0, 1].hist(res.first_pulses, bins=bins, color="tab:blue")
    ax[0, 1].set_xlabel("pulses per cell (first pass)")
    ax[0, 1].set_ylabel("cells")
    ax[0, 1].set_title(f"mean {res.mean_pulses_per_cell:.2f} pulses, {res.wv_success_fraction:.2%} in window")
    # (c) error after settling, per pass
    ver = run.tables["wv_verify"]
    order = {int(cc): i for i, cc in enumerate(flat_cell_index(res.core, res.row, res.col))}
    for it in sorted(ver["iteration"].unique()):
        v = ver[ver["iteration"] == it]
        pos = np.array([order[int(cc)] for cc in v["cell"]])
        err = (v["g_read_s"].to_numpy() - res.target_s[pos]) * 1e6
        ax[1, 0].hist(err, bins=np.linspace(-12, 12, 97), histtype="step", label=f"after pass {it}")
    ax[1, 0].set_xlabel("G − target after settling (µS)")
    ax[1, 0].set_ylabel("cells")
    ax[1, 0].legend(fontsize=8)
    # (d) spread per pass
    sig = np.array(res.sigma_s_by_iteration) * 1e6
    ax[1, 1].plot(np.arange(1, sig.size + 1), sig, "o-")
    ax[1, 1].set_xlabel("iteration")
    ax[1, 1].set_ylabel("relaxation spread σ (µS)")
    ax[1, 1].set_xticks(np.arange(1, sig.size + 1))
    ax[1, 1].set_ylim(0, max(sig.max() * 1.2, 1) if sig.size else 1)
    ax[1, 1].set_title("spread after settling, averaged over levels")
    fig.suptitle(f"write-verify on {run.record['board'].get('info', {}).get('spec', '')}: "
                 f"{res.n_cells} cells, targets {gmin_s*1e6:g}–{gmax_s*1e6:g} µS, window ±{cfg.window_s*1e6:g} µS",
                 fontsize=9)
    plt.save(fig, path)


def main(args, ctx) -> dict:
    cores = parse_cores(args.cores)
    return run_and_report(ctx, run, report, cores=cores, cells_per_core=args.cells_per_core,
                          iterations=args.iterations, gmin_s=args.gmin_us * 1e-6, gmax_s=args.gmax_us * 1e-6,
                          window_s=args.window_us * 1e-6, max_reversals=args.max_reversals, settle_s=args.settle_s,
                          target_seed=args.target_seed)


def report(s: dict, board_spec: str) -> str:
    """The human-readable summary printed at the end of a run (``neurram replay`` prints it too)."""
    return (
        f"Write-verify of {s['cells']} cells on cores {s['cores']}: {s['in_window_fraction']:.2%} in the window, "
        f"{s['mean_pulses_per_cell']:.2f} pulses per cell.\n"
        "Spread after settling, per pass: " + ", ".join(f"{x:.2f} µS" for x in s["sigma_us_by_iteration"])
        + f"\nRun file: {s['run_file']}\nFigure:   {s['figure']}"
        + (f"\nPredicted on a real board: {s['predicted_board_time_s']:.1f} s, {s['predicted_s_per_cell']:.3f} s "
           "per cell programmed" if s.get("predicted_s_per_cell") is not None else "")
    )
