"""``neurram characterize relaxation``: program cells to set levels, read them at log-spaced times.

Forms the cells, programs ``cells_per_level`` cells to each level with one
write-verify pass, then reads every cell at log-spaced times (board time
after the end of programming) up to ``until_s``. The spread is the standard
deviation of ``G - target`` over the cells of a level that landed in the
window (as in the paper's Extended Data Fig. 3); the mean shift is its mean.
Figure: spread against level at several times, spread against time for
several levels, the distributions at the last time, the mean shift.

With a thermal stage (``--stage VISA_RESOURCE --temperature-k K``, a Lake
Shore 335; see :mod:`._stage`) the stage is set to K and waited on until it
settled before the run starts; its readings are logged at every read (table
``stage``) and its identity, set point and readings go into the summary's
``"stage"`` entry. The stage stays at K afterwards.
"""

from __future__ import annotations

import time

import numpy as np

from neurram_lab._cores import parse_cores
from neurram_lab.validate import MAX_SETTLE_S, conductance, int_list, integer, number
from neurram_lab.errors import InputError, LimitError
from neurram_lab.board.limits import flat_cell_index
from neurram_lab.program.writeverify import WriteVerifyConfig, form_cells, write_verify

from . import _stage
from ._common import finish_run, progress_callback, pyplot, start_run

EXPERIMENT = "characterize-relaxation"
COMMAND = ("characterize", "relaxation")
HELP = "program cells to a set of levels and follow their relaxation over (virtual) time"
MERIT = "sigma_mean_us"  # the figure a sweep draws by default: spread over levels and times

DEFAULT_LEVELS_US = (1,) + tuple(range(2, 41, 2))


def add_arguments(parser) -> None:
    parser.add_argument("--levels-us", default=",".join(str(x) for x in DEFAULT_LEVELS_US),
                        help="comma-separated target levels (uS; default 1,2,4,6,...,40)")
    parser.add_argument("--until-s", type=float, default=1800.0, help="last read, after programming (s, default 1800)")
    parser.add_argument("--n-times", type=int, default=14, help="log-spaced read times from 0.1 s (default 14; 1 s, 30 min, 1 day added when in range)")
    parser.add_argument("--cells-per-level", type=int, default=1024, help="cells programmed to each level (default 1024)")
    parser.add_argument("--cores", default="0", help="cores to use: N, N-M, N,M,... (default 0)")
    parser.add_argument("--window-us", type=float, default=1.0, help="accept window half-width (uS, default 1)")
    g = parser.add_argument_group("thermal stage (Lake Shore 335 temperature controller)")
    g.add_argument("--stage", metavar="VISA_RESOURCE", help="the stage's controller, e.g. ASRL/dev/ttyACM0::INSTR")
    g.add_argument("--visa-library", default="", metavar="LIB",
                   help="pyvisa backend for --stage (default: the system VISA; the emulated 335: "
                        "PATH/data/instruments.yaml@sim, resource ASRL1::INSTR)")
    g.add_argument("--temperature-k", type=float, help="stage temperature to hold during the run (K); needs --stage")
    g.add_argument("--stage-tolerance-k", type=float, default=0.5, help="settled when within this of it (K, default 0.5)")
    g.add_argument("--stage-timeout-s", type=float, default=1800.0,
                   help="give up when not settled after this long (s, default 1800)")


def read_times_s(until_s: float, n_times: int) -> list[float]:
    """Log-spaced read times from 0.1 s to ``until_s``; 1 s, 30 min and 1 day are read when in range."""
    t = set(np.geomspace(min(0.1, until_s), until_s, max(int(n_times), 1)).round(6).tolist())
    t.update(x for x in (1.0, 1800.0, 86400.0) if x <= until_s)
    return sorted(t)


def run(board, out_dir, progress=None, levels_s=tuple(x * 1e-6 for x in DEFAULT_LEVELS_US), until_s=1800.0,
        n_times=14, cells_per_level=1024, cores=(0,), window_s=1e-6, stage=None, temperature_k=None,
        stage_tolerance_k=0.5, stage_timeout_s=1800.0) -> dict:
    """Run the experiment; returns the JSON summary (see module doc).

    ``stage`` is an open :class:`drivers.instruments.LakeShore335` (or None);
    ``temperature_k`` the temperature it holds during the run (K).
    """
    t_wall = time.perf_counter()
    levels = conductance("levels_s", levels_s, board.limits, scalar=False)
    if levels.ndim != 1 or levels.size == 0 or levels.min() <= 0:
        raise InputError(f"levels must be a non-empty list of positive conductances, got {levels_s!r}")
    until_s = number("until_s", until_s, 0.0, MAX_SETTLE_S, "seconds", lo_open=True)
    n_times = integer("n_times", n_times, 1, 1000)
    window_s = number("window_s", window_s)
    cores = int_list("cores", cores, 0, board.limits.n_cores - 1, distinct=True)
    per = integer("cells_per_level", cells_per_level)
    n = per * levels.size
    capacity = 65536 * len(cores)
    if per < 1 or n > capacity:
        raise LimitError("cells_per_level", per, (1, capacity // levels.size), f"{levels.size} levels on {len(cores)} cores")
    cfg = WriteVerifyConfig(window_s=float(window_s))
    cfg.check(board)
    i = np.arange(n)
    c = np.asarray(cores)[i // 65536]
    r, k = (i % 65536) // 256, i % 256
    lvl = np.tile(np.arange(levels.size), per)  # interleaved: neighbouring cells get different levels
    tgt = levels[lvl]
    times = read_times_s(until_s, n_times)
    stage = _stage.check_stage(board, stage, temperature_k, stage_tolerance_k, stage_timeout_s)
    params = {"levels_s": levels.tolist(), "until_s": float(until_s), "n_times": int(n_times),
              "cells_per_level": per, "cores": cores, "window_s": float(window_s)}
    if stage is not None:
        params.update(temperature_k=float(temperature_k), stage_tolerance_k=float(stage_tolerance_k),
                      stage_timeout_s=float(stage_timeout_s))
    tables = {
        "program": {"cell": ("i4", ""), "target_s": ("f4", "S"), "g_final_s": ("f4", "S"), "pulses": ("i4", ""),
                    "success": ("?", "")},
        "relax": {"t_after_s": ("f8", "s"), "cell": ("i4", ""), "target_s": ("f4", "S"), "g_s": ("f4", "S")},
    }
    if stage is not None:
        tables["stage"] = _stage.STAGE_TABLE
        settled_k = _stage.hold(stage, temperature_k, stage_tolerance_k, stage_timeout_s)
        stage_rows = []
    with start_run(board, out_dir, EXPERIMENT, params, tables) as log:
        board = log.board

        def stage_reading():
            if stage is not None:
                stage_rows.append(_stage.reading(stage, board.now()))
                log.append("stage", **{k: np.array([v]) for k, v in stage_rows[-1].items()})

        stage_reading()
        formed = form_cells(board, c, r, k, g_pristine_max_s=0.5e-6)
        f = np.flatnonzero(formed)
        tick, close = progress_callback(progress, f.size, "write-verify")
        res = write_verify(board, c[f], r[f], k[f], tgt[f], cfg, progress=tick)
        close()
        flat = flat_cell_index(c, r, k)
        log.append("program", cell=flat[f], target_s=res.target_s, g_final_s=res.g_final_s, pulses=res.pulses,
                   success=res.success)
        ok = np.zeros(n, bool)
        ok[f[res.success]] = True
        t0 = board.now()
        sig = np.zeros((len(times), levels.size))
        shift = np.zeros((len(times), levels.size))
        tick, close = progress_callback(progress, len(times), "reads")
        last_g = None
        for j, t in enumerate(times):
            board.wait(max(0.0, t0 + t - board.now()))
            g = board.read(c, r, k).astype(np.float64)
            log.append("relax", t_after_s=t, cell=flat, target_s=tgt, g_s=g)
            d = g - tgt
            for li in range(levels.size):
                m = ok & (lvl == li)
                sig[j, li] = np.std(d[m]) if m.any() else np.nan
                shift[j, li] = np.mean(d[m]) if m.any() else np.nan
            last_g = g
            stage_reading()
            tick(j + 1)
        close()
        s_last = sig[-1] * 1e6
        i_max = int(np.nanargmax(s_last))
        summary = {
            "levels_us": (levels * 1e6).tolist(),
            "times_s": times,
            "sigma_us": s_last.tolist(),
            "mean_shift_us": (shift[-1] * 1e6).tolist(),
            "sigma_mean_us": float(np.nanmean(s_last)),
            "sigma_max_us": float(s_last[i_max]),
            "level_of_max_us": float(levels[i_max] * 1e6),
            "max_abs_shift_us": float(np.nanmax(np.abs(shift[-1])) * 1e6),
            "sigma_us_by_time": {f"{t:g}": (sig[j] * 1e6).tolist() for j, t in enumerate(times)},
            "cells": int(n),
            "in_window_fraction": res.in_window_fraction,
            "mean_pulses_per_cell": res.mean_pulses_per_cell,
            "run_file": str(log.path),
        }
        if stage is not None:
            summary["stage"] = _stage.summary(stage, temperature_k, stage_tolerance_k, settled_k, stage_rows)
        return finish_run(log, summary, t_wall, lambda fig: _figure(fig, levels, times, sig, shift, last_g, tgt, lvl, ok))


def _figure(path, levels, times, sig, shift, g_last, tgt, lvl, ok) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(2, 2, figsize=(11, 8), layout="constrained")
    lv = levels * 1e6
    show = sorted({0, len(times) - 1} | {times.index(t) for t in (1.0, 1800.0, 86400.0) if t in times})
    for j in show:
        ax[0, 0].plot(lv, sig[j] * 1e6, "o-", ms=3, label=f"{times[j]:.3g} s")
    ax[0, 0].set_xlabel("target level (µS)")
    ax[0, 0].set_ylabel("spread σ (µS)")
    ax[0, 0].set_title("relaxation spread against level")
    ax[0, 0].legend(fontsize=8)
    for li in np.unique(np.linspace(0, levels.size - 1, 5).astype(int)):
        ax[0, 1].semilogx(times, sig[:, li] * 1e6, "o-", ms=3, label=f"{lv[li]:g} µS")
    ax[0, 1].set_xlabel("time after programming (s)")
    ax[0, 1].set_ylabel("spread σ (µS)")
    ax[0, 1].set_title("spread against time")
    ax[0, 1].legend(fontsize=8)
    for li in range(levels.size):
        m = ok & (lvl == li)
        ax[1, 0].hist(g_last[m] * 1e6, bins=60, histtype="step")
    ax[1, 0].set_xlabel(f"G at {times[-1]:g} s (µS)")
    ax[1, 0].set_ylabel("cells")
    ax[1, 0].set_title("distributions at the last read")
    ax[1, 1].plot(lv, shift[-1] * 1e6, "o-")
    ax[1, 1].axhline(0, color="k", lw=0.6)
    ax[1, 1].set_xlabel("target level (µS)")
    ax[1, 1].set_ylabel("mean shift (µS)")
    ax[1, 1].set_title(f"mean shift at {times[-1]:g} s")
    plt.save(fig, path)


def main(args, ctx) -> dict:
    try:
        levels = [float(x) * 1e-6 for x in args.levels_us.split(",") if x.strip()]
    except ValueError as exc:
        raise InputError(f"--levels-us must be comma-separated numbers, got {args.levels_us!r}") from exc
    if (args.stage is None) != (args.temperature_k is None):
        raise InputError("--stage and --temperature-k go together (the stage's controller and the temperature it holds)")
    stage = None
    if args.stage is not None:
        from neurram_lab.drivers.instruments import LakeShore335

        stage = LakeShore335(args.stage, visa_library=args.visa_library)
    try:
        with ctx.open_board() as board:
            s = run(board, ctx.out, progress=ctx.progress, levels_s=levels, until_s=args.until_s,
                    n_times=args.n_times, cells_per_level=args.cells_per_level, cores=parse_cores(args.cores),
                    window_s=args.window_us * 1e-6, stage=stage, temperature_k=args.temperature_k,
                    stage_tolerance_k=args.stage_tolerance_k, stage_timeout_s=args.stage_timeout_s)
    finally:
        if stage is not None:
            stage.close()
    ctx.say(report(s, board.spec))
    return s


def report(s: dict, board_spec: str) -> str:
    """The human-readable summary printed at the end of a run (``neurram replay`` prints it too)."""
    return (
        f"Relaxation of {s['cells']} cells over {s['times_s'][-1]:g} s: spread {s['sigma_mean_us']:.2f} µS on average, "
        f"peak {s['sigma_max_us']:.2f} µS at {s['level_of_max_us']:g} µS, largest mean shift {s['max_abs_shift_us']:.2f} µS."
        + (f"\nStage ({st['idn'].split(',')[1]}): held {st['setpoint_k']:g} K, read {st['temperature_k_min']:.2f}-"
           f"{st['temperature_k_max']:.2f} K over the run." if (st := s.get("stage")) else "")
        + f"\nRun file: {s['run_file']}\nFigure:   {s['figure']}"
    )
