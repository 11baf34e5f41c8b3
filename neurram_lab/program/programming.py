"""Tier 2: iterative programming, dead-cell scans and weight matrices, resumable from run logs.

Built on :func:`~neurram_lab.program.writeverify.write_verify`, so everything here
runs on every board. Iterative programming (SPEC §2): program every cell,
let the array settle (``settle_s``, 30 min by default), re-read all of it and
re-program the cells that relaxed out of the window; N passes in all.

Run-log tables (declare :data:`PROGRAM_TABLES` when starting the run and pass
the :class:`~neurram_lab.runlog.runlog.RunLog` as ``log``); ``cell`` is the flat
index ``core * 65536 + row * 256 + col``, ``iteration`` counts passes from 1:

- ``wv_plan``: the cells a pass will write-verify, written before it starts;
- ``wv_cells``: one row per cell as soon as it finishes a pass (target, last
  reading, pulses, reversals, outcome) — the checkpoint ``resume_from`` reads;
- ``wv_verify``: the full re-read after each pass has settled.

With :data:`EVENT_TABLE` declared too and ``log_events=True``, every read and
pulse is logged (``wv_events``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..validate import (MAX_ITERATIONS, MAX_SETTLE_S, array, boolean, conductance, file_path, integer, number,
                         same_length)
from ..board.contract import Board, as_board
from ..board.limits import N_COLS, N_CORES, N_ROWS, flat_cell_index
from ..errors import InputError, LimitError, RunLogError
from .weights import MatrixPlacement, ProgrammedMatrix, weights_to_conductance
from .writeverify import OUTCOME_STALLED, OUTCOME_SUCCESS, ProgramResult, WriteVerifyConfig, form_cells, write_verify

PROGRAM_TABLES = {
    "wv_plan": {"iteration": ("i2", ""), "cell": ("i4", "")},
    "wv_cells": {
        "iteration": ("i2", ""), "cell": ("i4", ""), "target_s": ("f4", "S"), "g_final_s": ("f4", "S"),
        "pulses": ("i4", ""), "reversals": ("i4", ""), "outcome": ("i1", ""),
    },
    "wv_verify": {"iteration": ("i2", ""), "cell": ("i4", ""), "g_read_s": ("f4", "S"), "t_s": ("f8", "s")},
}
EVENT_TABLE = {
    "wv_events": {
        "iteration": ("i2", ""), "round": ("i4", ""), "cell": ("i4", ""), "op": ("i1", ""),
        "v_pulse_v": ("f4", "V"), "g_read_s": ("f4", "S"), "t_s": ("f8", "s"),
    },
}

#: Dead-cell reasons of :class:`DeadCellScan`.
ALIVE, UNFORMED, STUCK_ON, STUCK_OFF, UNRESPONSIVE = 0, 1, 2, 3, 4


def relaxation_spread_s(g_s, target_s, lo_s: float | None = None, hi_s: float | None = None, n_bins: int = 10) -> float:
    """Spread of ``g - target`` averaged over target levels (S).

    Targets are binned into ``n_bins`` equal bins over [lo, hi] (default:
    their range); the standard deviation in each bin with at least 10 cells is
    averaged, as the paper averages its per-level spreads.
    """
    g = array("g_s", g_s, 1)
    t = array("target_s", target_s, 1)
    same_length(g_s=g, target_s=t)
    n_bins = integer("n_bins", n_bins, 1, 10_000)
    lo = float(t.min()) if lo_s is None else number("lo_s", lo_s)
    hi = float(t.max()) if hi_s is None else number("hi_s", hi_s)
    if hi <= lo:
        return float(np.std(g - t))
    b = np.clip(((t - lo) / (hi - lo) * n_bins).astype(np.int64), 0, n_bins - 1)
    d = g - t
    cnt = np.bincount(b, minlength=n_bins)
    s1 = np.bincount(b, d, minlength=n_bins)
    s2 = np.bincount(b, d * d, minlength=n_bins)
    use = cnt >= 10
    if not use.any():
        return float(np.std(d))
    var = s2[use] / cnt[use] - (s1[use] / cnt[use]) ** 2
    return float(np.mean(np.sqrt(np.maximum(var, 0.0))))


@dataclass
class IterativeResult:
    """Outcome of iterative programming, one entry per cell.

    Attributes
    ----------
    core, row, col : int arrays
    target_s : float array
        Target conductance (S).
    g_read_s : float32 array
        Reading at the last verify, ``settle_s`` after the last pass (S).
    in_window : bool array
        That reading lies inside ``target ± window``.
    pulses, reversals : int arrays
        Totals over all passes.
    passes : int array
        Write-verify passes each cell took part in.
    outcome : int8 array
        Outcome of each cell's last write-verify (``writeverify.OUTCOME_*``).
    first_pulses, first_outcome : arrays
        Pulses and outcome of the first pass (the paper's per-cell statistics).
    iterations : list of dict
        Per pass: ``iteration``, ``cells_programmed``, ``wv_success_fraction``,
        ``mean_pulses``, ``in_window_fraction`` and ``sigma_s`` (spread
        averaged over levels) at the verify after it, ``t_verify_s``.
    resumed_cells : int
        Cells whose result of an interrupted pass came from ``resume_from``.
    """

    core: np.ndarray
    row: np.ndarray
    col: np.ndarray
    target_s: np.ndarray
    g_read_s: np.ndarray
    in_window: np.ndarray
    pulses: np.ndarray
    reversals: np.ndarray
    passes: np.ndarray
    outcome: np.ndarray
    first_pulses: np.ndarray
    first_outcome: np.ndarray
    iterations: list = field(default_factory=list)
    resumed_cells: int = 0

    @property
    def n_cells(self) -> int:
        return int(self.core.size)

    @property
    def wv_success_fraction(self) -> float:
        """Cells that landed in the window in the first pass (the paper's 99 %)."""
        return float(np.mean(self.first_outcome == OUTCOME_SUCCESS)) if self.n_cells else float("nan")

    @property
    def mean_pulses_per_cell(self) -> float:
        """Mean pulses per cell of the first pass (the paper's 8.52)."""
        return float(self.first_pulses.mean()) if self.n_cells else float("nan")

    @property
    def sigma_s_by_iteration(self) -> list[float]:
        return [it["sigma_s"] for it in self.iterations]


def _pair(value) -> tuple:
    if isinstance(value, (str, bytes)) or np.size(value) != 2:
        raise InputError(f"spread_range_s must be (lo, hi), got {value!r}")
    return tuple(np.ravel(value))


def check_log(log, tables: dict) -> None:
    """``log`` is None or an open RunLog that declared ``tables`` (with their columns); an InputError
    otherwise, before anything is sent (a missing table would otherwise fail after the first pulses)."""
    if log is None:
        return
    from ..runlog.runlog import RunLog

    if not isinstance(log, RunLog):
        raise InputError(f"log must be a RunLog (from start_run) or None, got {type(log).__name__} {log!r:.40}")
    declared = log.declared_tables
    for table, cols in tables.items():
        if table not in declared or set(cols) - set(declared[table]):
            raise InputError(f"log {log.path} does not declare table {table!r} with columns {sorted(cols)}: "
                             "declare PROGRAM_TABLES (and EVENT_TABLE with log_events) when starting the run")


def check_passes(iterations, settle_s) -> tuple[int, float]:
    """``(iterations, settle_s)`` checked: 1..MAX_ITERATIONS write-verify passes, a settle of 0..MAX_SETTLE_S s."""
    return (integer("iterations", iterations, 1, MAX_ITERATIONS, "write-verify passes"),
            number("settle_s", settle_s, 0.0, MAX_SETTLE_S, "seconds"))


def check_program_args(board: Board, config, iterations, settle_s) -> WriteVerifyConfig:
    """Validate what every programming call shares (board, config, passes, settle time); returns the config."""
    as_board(board)
    cfg = WriteVerifyConfig() if config is None else config
    if not isinstance(cfg, WriteVerifyConfig):
        raise InputError(f"config must be a WriteVerifyConfig, got {type(cfg).__name__}")
    cfg.check(board)
    check_passes(iterations, settle_s)
    return cfg


def iterative_program(
    board: Board,
    core,
    row,
    col,
    target_s,
    iterations: int = 1,
    settle_s: float = 1800.0,
    config: WriteVerifyConfig | None = None,
    log=None,
    resume_from=None,
    progress=None,
    log_events: bool = False,
    spread_range_s: tuple[float, float] | None = None,
    block_cells: int | None = None,
) -> IterativeResult:
    """Program cells to ``target_s`` in ``iterations`` write-verify passes.

    Pass 1 programs every cell. Each pass is followed by ``settle_s`` of
    waiting and a read of every cell; the next pass re-programs the cells
    outside ``target ± config.window_s`` (except those that did not respond).

    Parameters
    ----------
    board : Board
    core, row, col : int arrays
        Distinct cells.
    target_s : float or array
        Target conductances (S).
    iterations : int
        Number of passes (>= 1).
    settle_s : float
        Wait after each pass before the verify read (s).
    config : WriteVerifyConfig, optional
    log : RunLog, optional
        A run log that declared :data:`PROGRAM_TABLES` (and :data:`EVENT_TABLE`
        for ``log_events``); per-cell results are checkpointed to it.
    resume_from : path, optional
        Run file of an interrupted call with the same cells and targets: cells
        it records as finished are not pulsed again, and completed passes are
        not repeated.
    progress : callable, optional
        ``progress(iteration, n_done, n_total)`` after every round.
    log_events : bool
        Log every read and pulse to ``wv_events``.
    spread_range_s : (lo, hi), optional
        Level range for the spread statistic (default: the targets' range).
    block_cells : int or None
        Write-verify the cells of a pass in consecutive blocks of this many
        (default None: all at once). Each round of a
        block is one read and up to two pulse calls; smaller blocks finish
        each cell sooner after its first pulse, so less relaxation happens
        while the rest of the block is still being programmed.
    """
    cfg = check_program_args(board, config, iterations, settle_s)
    iterations, settle_s = int(iterations), float(settle_s)
    log_events = boolean("log_events", log_events)
    if progress is not None and not callable(progress):
        raise InputError(f"progress must be callable, got {progress!r}")
    if spread_range_s is not None:
        lo_s, hi_s = (conductance(f"spread_range_s[{i}]", v, board.limits) for i, v in enumerate(_pair(spread_range_s)))
        if lo_s >= hi_s:
            raise InputError(f"spread_range_s must be (lo, hi) with lo < hi, got {spread_range_s!r}")
    if resume_from is not None:
        file_path("resume_from", resume_from)
    if block_cells is not None:
        integer("block_cells", block_cells, 1)
    c, r, k = board.limits.check_cells(core, row, col)
    n = c.size
    tgt = conductance("target_s", target_s, board.limits, scalar=False)
    if tgt.size not in (1, n):
        raise InputError(f"target_s has {tgt.size} values for {n} cells")
    tgt = np.broadcast_to(tgt.ravel(), (n,)).copy()
    flat = flat_cell_index(c, r, k)
    if n and np.bincount(flat).max() > 1:
        raise InputError("iterative_program cells must be distinct")
    if log_events and log is None:
        raise InputError("log_events needs a run log")
    check_log(log, dict(PROGRAM_TABLES, **(EVENT_TABLE if log_events else {})))
    lo, hi = spread_range_s if spread_range_s is not None else (None, None)

    pulses = np.zeros(n, np.int64)
    reversals = np.zeros(n, np.int64)
    passes = np.zeros(n, np.int32)
    outcome = np.zeros(n, np.int8)
    first_pulses = np.zeros(n, np.int64)
    first_outcome = np.zeros(n, np.int8)
    g_read = np.full(n, np.nan, np.float32)
    in_window = np.zeros(n, bool)
    stats: list[dict] = []

    start, todo, resumed = 1, None, 0
    if resume_from is not None:
        prior = _ResumeState.load(resume_from, flat, tgt)
        start, todo = prior.next_pass, prior.todo  # todo: the interrupted pass's unfinished cells
        for it, pos, row_ in prior.finished:
            pulses[pos] += row_["pulses"]
            reversals[pos] += row_["reversals"]
            passes[pos] += 1
            outcome[pos] = row_["outcome"]
            if it == 1:
                first_pulses[pos] = row_["pulses"]
                first_outcome[pos] = row_["outcome"]
        if prior.g_read is not None:
            g_read[:] = prior.g_read
            in_window = np.abs(g_read.astype(np.float64) - tgt) <= cfg.window_s
        for it, g in sorted(prior.verify_reads.items()):
            ok = np.isfinite(g)
            stats.append({
                "iteration": it, "cells_programmed": int(np.sum(passes > 0)) if it == 1 else None,
                "wv_success_fraction": None, "mean_pulses": None,
                "in_window_fraction": float(np.mean(np.abs(g.astype(np.float64) - tgt) <= cfg.window_s)),
                "sigma_s": relaxation_spread_s(g[ok], tgt[ok], lo, hi) if ok.any() else float("nan"),
                "t_verify_s": None, "resumed": True,
            })
        resumed = prior.resumed_cells
        if log is not None:
            prior.copy_into(log)

    for it in range(start, int(iterations) + 1):
        resuming = it == start and todo is not None
        if resuming:
            plan = todo
        else:
            # pass 1 plans every cell: a slice, so nothing below copies the cell arrays for it
            plan = slice(None) if it == 1 else np.flatnonzero(~in_window & (outcome != OUTCOME_STALLED))
            if log is not None:
                log.append("wv_plan", iteration=it, cell=flat[plan])
        n_plan = n if isinstance(plan, slice) else plan.size
        res = _write_verify_blocks(
            board, c[plan], r[plan], k[plan], tgt[plan], cfg, block_cells,
            progress=_pass_progress(progress, it, n_plan),
            on_event=_event_logger(log, it, flat[plan]) if log_events else None,
            on_done=_done_logger(log, it, flat[plan]) if log is not None else None,
        )
        pulses[plan] += res.pulses
        reversals[plan] += res.reversals
        passes[plan] += 1
        outcome[plan] = res.outcome
        if it == 1:
            first_pulses[plan] = res.pulses
            first_outcome[plan] = res.outcome
        board.wait(settle_s)
        g_read = board.read(c, r, k)
        in_window = np.abs(g_read.astype(np.float64) - tgt) <= cfg.window_s
        if log is not None:
            log.append("wv_verify", iteration=it, cell=flat, g_read_s=g_read, t_s=board.now())
        n_planned = n_plan + (resumed if resuming else 0)
        stats.append(_pass_stats(it, res, n_planned, g_read, tgt, in_window, board.now(), lo, hi))
    return IterativeResult(
        c, r, k, tgt, g_read, in_window, pulses, reversals, passes, outcome, first_pulses, first_outcome,
        stats, resumed,
    )


def _write_verify_blocks(board, c, r, k, tgt, cfg, block, progress=None, on_event=None, on_done=None):
    """:func:`write_verify` over consecutive blocks of cells; one ProgramResult for all."""
    n = c.size
    if block is None or n <= block:
        return write_verify(board, c, r, k, tgt, cfg, progress=progress, on_event=on_event, on_done=on_done)
    if int(block) < 1:
        raise LimitError("block_cells", block, ">= 1")
    parts = []
    for a in range(0, n, int(block)):
        b = min(n, a + int(block))
        off = a

        def prog(done, off=off):
            if progress is not None:
                progress(off + done)

        def ev(rnd, op, cells, v, g, t_s, off=off):
            on_event(rnd, op, cells + off, v, g, t_s)

        def dn(cells, res, off=off):
            on_done(cells + off, _Shifted(res, off))

        parts.append(write_verify(board, c[a:b], r[a:b], k[a:b], tgt[a:b], cfg, progress=prog,
                                  on_event=ev if on_event is not None else None,
                                  on_done=dn if on_done is not None else None))
    cat = {name: np.concatenate([getattr(p, name) for p in parts])
           for name in ("core", "row", "col", "target_s", "g_final_s", "pulses", "reversals", "success", "outcome")}
    return ProgramResult(**cat)


class _Shifted:
    """A block's ProgramResult seen through positions of the whole pass."""

    def __init__(self, res, off):
        self._res, self._off = res, off

    def __getattr__(self, name):
        a = getattr(self._res, name)
        return _ShiftedArray(a, self._off) if isinstance(a, np.ndarray) else a


class _ShiftedArray:
    def __init__(self, a, off):
        self._a, self._off = a, off

    def __getitem__(self, i):
        return self._a[np.asarray(i) - self._off]


def _pass_stats(it, res, n_planned, g_read, tgt, in_window, t_s, lo, hi) -> dict:
    ok = np.isfinite(g_read)
    return {
        "iteration": it,
        "cells_programmed": int(n_planned),
        "wv_success_fraction": float(res.success.mean()) if res.success.size else float("nan"),
        "mean_pulses": float(res.pulses.mean()) if res.pulses.size else 0.0,
        "in_window_fraction": float(in_window.mean()) if in_window.size else float("nan"),
        "sigma_s": relaxation_spread_s(g_read[ok], tgt[ok], lo, hi) if ok.any() else float("nan"),
        "t_verify_s": float(t_s),
    }


def _pass_progress(progress, it, total):
    if progress is None:
        return None
    return lambda done: progress(it, done, total)


def _done_logger(log, it, flat_sub):
    def on_done(cells, res):
        log.append(
            "wv_cells", iteration=it, cell=flat_sub[cells], target_s=res.target_s[cells],
            g_final_s=res.g_final_s[cells], pulses=res.pulses[cells], reversals=res.reversals[cells],
            outcome=res.outcome[cells],
        )
    return on_done


def _event_logger(log, it, flat_sub):
    def on_event(rnd, op, cells, v, g, t_s):
        log.append("wv_events", flush=False, iteration=it, round=rnd, cell=flat_sub[cells], op=op,
                   v_pulse_v=v, g_read_s=g, t_s=t_s)
    return on_event


class _ResumeState:
    """What an interrupted run file says is already done."""

    def __init__(self):
        self.next_pass = 1
        self.todo = None
        self.finished: list = []
        self.g_read = None
        self.verify_reads: dict = {}
        self.resumed_cells = 0
        self.tables: dict = {}

    @classmethod
    def load(cls, path, flat: np.ndarray, tgt: np.ndarray) -> "_ResumeState":
        from ..runlog.runlog import read_run

        run = read_run(path)
        missing = [t for t in PROGRAM_TABLES if t not in run.tables]
        if missing:
            raise RunLogError(f"{path} has no write-verify checkpoint tables {missing}; cannot resume from it")
        st = cls()
        st.tables = {t: run.tables[t] for t in PROGRAM_TABLES}
        plan, cells, verify = (st.tables[t] for t in ("wv_plan", "wv_cells", "wv_verify"))
        if plan.empty:
            return st
        order = np.argsort(flat)
        sorted_flat = flat[order]

        def positions(cell_ids):
            cell_ids = np.asarray(cell_ids, np.int64)
            j = np.clip(np.searchsorted(sorted_flat, cell_ids), 0, max(flat.size - 1, 0))
            if flat.size == 0 or not np.array_equal(sorted_flat[j], cell_ids):
                raise InputError(f"{path} holds cells that are not in this call; resume with the same cells")
            return order[j]

        if not cells.empty:
            pos = positions(cells["cell"].to_numpy())
            old_t = cells["target_s"].to_numpy(np.float64)
            if not np.allclose(old_t, tgt[pos], rtol=1e-5, atol=1e-9):
                bad = int(np.argmax(np.abs(old_t - tgt[pos])))
                raise InputError(
                    f"{path} programmed cell {int(cells['cell'].iloc[bad])} to {old_t[bad]:.3e} S, "
                    f"this call asks {tgt[pos][bad]:.3e} S; resume with the same targets")
            its = cells["iteration"].to_numpy()
            for it in np.unique(its):
                sel = its == it
                st.finished.append((int(it), pos[sel], {
                    "pulses": cells["pulses"].to_numpy()[sel],
                    "reversals": cells["reversals"].to_numpy()[sel],
                    "outcome": cells["outcome"].to_numpy()[sel],
                }))
        last = int(plan["iteration"].max())
        v_its = verify["iteration"].to_numpy() if not verify.empty else np.zeros(0, int)
        for it in sorted(set(v_its.tolist())):
            sel = v_its == it
            if sel.sum() != flat.size:
                continue
            g = np.full(flat.size, np.nan, np.float32)
            g[positions(verify["cell"].to_numpy()[sel])] = verify["g_read_s"].to_numpy()[sel]
            st.g_read = g
            st.verify_reads[int(it)] = g
        if last in st.verify_reads:  # the last planned pass finished and was verified
            st.next_pass, st.todo = last + 1, None
            return st
        planned = positions(plan["cell"].to_numpy()[plan["iteration"].to_numpy() == last])
        done = np.zeros(flat.size, bool)
        for it, pos, _ in st.finished:
            if it == last:
                done[pos] = True
        keep = ~done[planned]
        st.resumed_cells = int(done[planned].sum())
        st.next_pass, st.todo = last, planned[keep]
        return st

    def copy_into(self, log) -> None:
        """Repeat the old file's checkpoint rows in the new run file, so it is complete on its own."""
        for name, df in self.tables.items():
            if not df.empty:
                log.append(name, **{col: df[col].to_numpy() for col in df.columns})


# --------------------------------------------------------------- dead cells
@dataclass
class DeadCellScan:
    """Result of :func:`scan_dead_cells`, one entry per scanned cell.

    Attributes
    ----------
    core, row, col : int arrays
    dead : bool array
    reason : int8 array
        ``ALIVE``, ``UNFORMED`` (never formed), ``STUCK_ON`` (high, ignores
        RESET), ``STUCK_OFF`` (low, ignores SET), ``UNRESPONSIVE`` (anything
        else that does not swing).
    g_set_s, g_reset_s : float32 arrays
        Readings after the probe SET and RESET pulses (S).
    """

    core: np.ndarray
    row: np.ndarray
    col: np.ndarray
    dead: np.ndarray
    reason: np.ndarray
    g_set_s: np.ndarray
    g_reset_s: np.ndarray

    def chip_mask(self, n_cores: int = N_CORES, n_rows: int = N_ROWS, n_cols: int = N_COLS) -> np.ndarray:
        """Bool (n_cores, n_rows, n_cols), True at the dead cells found (unscanned cells False)."""
        m = np.zeros((n_cores, n_rows, n_cols), bool)
        m[self.core[self.dead], self.row[self.dead], self.col[self.dead]] = True
        return m


def scan_dead_cells(board: Board, core, row, col, v_set_v: float = 2.5, v_reset_v: float = 3.0,
                    width_s: float = 1e-6, min_swing_s: float = 10e-6, form: bool = True) -> DeadCellScan:
    """Find cells that do not switch: probe SET, RESET, SET, read after each, then park them low.

    A live cell swings by more than ``min_swing_s`` (S) between the RESET
    reading and both SET readings; two swings in the right direction rule out
    a noisy (leaky) cell passing by chance. Pristine cells are formed first
    when ``form``. This pulses every cell hard: run it before programming.
    """
    as_board(board)
    c, r, k = board.limits.check_cells(core, row, col)
    board.limits.check_pulse("set", number("v_set_v", v_set_v), width_s)
    board.limits.check_pulse("reset", number("v_reset_v", v_reset_v), width_s)
    min_swing_s = conductance("min_swing_s", min_swing_s, board.limits, lo_open=True)
    form = boolean("form", form)
    n = c.size
    formed = form_cells(board, c, r, k, g_pristine_max_s=0.5e-6) if form else np.ones(n, bool)
    f = np.flatnonzero(formed)
    cf, rf, kf = c[f], r[f], k[f]
    reads = []
    for kind, v in (("set", v_set_v), ("reset", v_reset_v), ("set", v_set_v)):
        board.pulse(kind, cf, rf, kf, v, width_s)
        reads.append(board.read(cf, rf, kf).astype(np.float64))
    g1, g2, g3 = reads
    board.pulse("reset", cf, rf, kf, v_reset_v, width_s)  # park low: unused cells stay high-resistance
    alive_f = (g1 - g2 > min_swing_s) & (g3 - g2 > min_swing_s)
    reason = np.full(n, UNFORMED, np.int8)
    rf_ = np.full(f.size, UNRESPONSIVE, np.int8)
    rf_[alive_f] = ALIVE
    rf_[~alive_f & (g2 > min_swing_s)] = STUCK_ON
    rf_[~alive_f & (g1 < min_swing_s)] = STUCK_OFF
    reason[f] = rf_
    g_set = np.full(n, np.nan, np.float32)
    g_reset = np.full(n, np.nan, np.float32)
    g_set[f], g_reset[f] = g1, g2
    return DeadCellScan(c, r, k, reason != ALIVE, reason, g_set, g_reset)


# ----------------------------------------------------------- weight matrix
def program_weights(
    board: Board,
    weights,
    placement: MatrixPlacement,
    gmin_s: float = 1e-6,
    gmax_s: float = 40e-6,
    w_max: float | None = None,
    config: WriteVerifyConfig | None = None,
    iterations: int = 1,
    dead=None,
    settle_s: float = 1800.0,
    form: bool = True,
    log=None,
    resume_from=None,
    progress=None,
) -> ProgrammedMatrix:
    """Program a weight matrix as differential conductance pairs (SPEC §2).

    Parameters
    ----------
    board : Board
    weights : array (n_in, n_out)
    placement : MatrixPlacement
        Where it goes; its shape must match ``weights``.
    gmin_s, gmax_s : float
        Conductance range (S); the paper uses 1 uS and 40 uS (30 uS for LSTM, RBM).
    w_max : float, optional
        Weight mapped to gmax (default max |W|); larger weights are clipped.
    config : WriteVerifyConfig, optional
    iterations : int
        Write-verify passes (iterative programming).
    dead : bool array, DeadCellScan or None
        Known-dead cells, never pulsed: shaped like the conductance matrix
        (placement rows x n_out), like one core (256, 256), or the chip
        (48, 256, 256).
    settle_s : float
        Wait after each pass before re-reading (s); ``g_measured_s`` is read
        after the last one.
    form : bool
        Form pristine cells first (cells that fail to form count as dead);
        cells covered by a ``DeadCellScan`` given as ``dead`` were formed by it.
    log, resume_from, progress
        As for :func:`iterative_program`.

    Returns
    -------
    ProgrammedMatrix
        ``g_measured_s`` is a full read of the matrix after programming;
        ``dead`` holds the given dead cells plus those that failed to form or
        did not respond; ``info`` the programming statistics (see :func:`program_matrices`).
    """
    # program_matrices checks every argument, once, in this signature's order (board, weights, placement, ...)
    return program_matrices(board, [(weights, placement, w_max)], gmin_s, gmax_s, iterations, settle_s, config, dead,
                            form, log, resume_from, progress)[0]


def _check_no_overlap(cells, places) -> None:
    """InputError (before any pulse) when two placements share a cell: the second would reprogram the first."""
    owner = np.concatenate([np.full(np.size(c[0]), k) for k, c in enumerate(cells)])
    flat = np.concatenate([(np.asarray(c[0], np.int64) * 256 + np.asarray(c[1])) * 256 + np.asarray(c[2])
                           for c in cells])
    order = np.argsort(flat, kind="stable")
    same = np.flatnonzero(flat[order][1:] == flat[order][:-1])
    if same.size:
        i, j = owner[order][same[0]], owner[order][same[0] + 1]
        cell = int(flat[order][same[0]])
        raise InputError(f"placements of items {i} and {j} overlap ({int(same.size)} shared cells, first core "
                         f"{cell // 65536}, row {cell // 256 % 256}, col {cell % 256}): {places[i]!r:.120} and "
                         f"{places[j]!r:.120}; nothing was programmed")


def program_matrices(board: Board, items, gmin_s: float = 1e-6, gmax_s: float = 40e-6, iterations: int = 1,
                     settle_s: float = 1800.0, config: WriteVerifyConfig | None = None, dead=None, form: bool = True,
                     log=None, resume_from=None, progress=None) -> list[ProgrammedMatrix]:
    """Program several weight matrices at once: every cell of every matrix in one forming pass and one
    :func:`iterative_program` call, so the board sees a few large calls instead of many small ones.

    Parameters
    ----------
    board : Board
    items : list of (weights (n_in, n_out), MatrixPlacement, w_max or None)
    gmin_s, gmax_s, iterations, settle_s, config, form, log, resume_from, progress
        As for :func:`program_weights`.
    dead : bool array, DeadCellScan or None
        Known-dead cells, never pulsed: shaped like one core (256, 256) or the
        chip (48, 256, 256) (like the matrix too, for a single one).

    Returns
    -------
    list of ProgrammedMatrix, one per item
        ``info`` per matrix: ``cells``, ``programmed_cells``, ``dead_given``,
        ``dead_unformed``, ``dead_unresponsive``, ``total_pulses``,
        ``wv_success_fraction`` and ``mean_pulses_per_cell`` (first pass),
        ``success_fraction`` and ``in_window_fraction`` (last pass, of the
        programmed cells), ``settled_in_window_fraction`` (of all its cells,
        dead ones counted outside the window), ``iterations``, ``settle_s``;
        of the whole call: ``sigma_s_by_iteration``, ``per_iteration``, ``resumed_cells``.
    """
    # One check of every argument, in program_weights' signature order, so that the first error names the first
    # wrong argument: board, each item's weights then placement, gmin_s/gmax_s, w_max, config, iterations, dead,
    # settle_s, form, log, resume_from, progress.
    as_board(board)
    checked = []
    for w, place, w_max in items:
        w = array("weights", w, 2)
        if not isinstance(place, MatrixPlacement):
            raise InputError(f"placement must be a MatrixPlacement, got {type(place).__name__}")
        if w.shape != (place.n_in, place.n_out):
            raise InputError(f"weights have shape {w.shape}; placement expects ({place.n_in}, {place.n_out})")
        checked.append((w, place, w_max))
    gmin_s, gmax_s = board.limits.check_conductance_range(gmin_s, gmax_s)
    mapped = [(w, place, *weights_to_conductance(w, gmin_s, gmax_s, w_max, place.differential))
              for w, place, w_max in checked]
    check_program_args(board, config, iterations, 0.0)  # settle_s below, after dead (its place in the signature)
    mats = []
    for w, place, g_t, w_max in mapped:
        cr = place.cells()
        mats.append((np.asarray(w), place, w_max, g_t, _dead_mask(dead, place, g_t.shape, *cr), cr))
    check_passes(iterations, settle_s)
    form = boolean("form", form)
    check_log(log, PROGRAM_TABLES)
    if resume_from is not None:
        file_path("resume_from", resume_from)
    if progress is not None and not callable(progress):
        raise InputError(f"progress must be callable, got {progress!r}")
    core, row, col = (np.concatenate([m[5][i] for m in mats]) for i in range(3))
    board.limits.check_cells(core, row, col)
    _check_no_overlap([m[5] for m in mats], [m[1] for m in mats])
    tgt = np.concatenate([m[3].ravel() for m in mats])
    live = ~np.concatenate([m[4].ravel() for m in mats])
    # a scan formed its cells already (and parked them low, where they could pass for pristine)
    scanned = _scanned(dead, core, row, col) if isinstance(dead, DeadCellScan) else np.zeros(core.size, bool)
    if form and (live & ~scanned).any():
        li = np.flatnonzero(live & ~scanned)
        formed = form_cells(board, core[li], row[li], col[li], g_pristine_max_s=0.5e-6)
        live[li[~formed]] = False
    li = np.flatnonzero(live)
    res = iterative_program(board, core[li], row[li], col[li], tgt[li], iterations, settle_s, config,
                            log=log, resume_from=resume_from, progress=progress, spread_range_s=(gmin_s, gmax_s))
    unresponsive = np.zeros(core.size, bool)
    unresponsive[li[res.outcome == OUTCOME_STALLED]] = True
    live[unresponsive] = False
    in_window = np.zeros(core.size, bool)
    in_window[li] = res.in_window
    g_all = board.read(core, row, col).astype(np.float64)
    out, a = [], 0
    for w, place, w_max, g_t, dead_m, _ in mats:
        z = a + g_t.size
        p, q = np.searchsorted(li, (a, z))  # this matrix's cells among those programmed
        ok = res.outcome[p:q] == OUTCOME_SUCCESS
        dead_final = ~live[a:z].reshape(g_t.shape)
        given, stalled = int(dead_m.sum()), int(unresponsive[a:z].sum())
        info = {
            "cells": int(g_t.size),
            "programmed_cells": int(q - p),
            "dead_given": given,
            "dead_unformed": int(dead_final.sum()) - given - stalled,
            "dead_unresponsive": stalled,
            "iterations": int(iterations),
            "wv_success_fraction": float(np.mean(res.first_outcome[p:q] == OUTCOME_SUCCESS)) if q > p else float("nan"),
            "success_fraction": float(ok.mean()) if ok.size else float("nan"),
            "in_window_fraction": float(res.in_window[p:q].mean()) if q > p else float("nan"),
            "settled_in_window_fraction": float(in_window[a:z].mean()),
            "mean_pulses_per_cell": float(res.first_pulses[p:q].mean()) if q > p else float("nan"),
            "total_pulses": int(res.pulses[p:q].sum()),
            "sigma_s_by_iteration": res.sigma_s_by_iteration,
            "per_iteration": res.iterations,
            "resumed_cells": res.resumed_cells,
            "settle_s": float(settle_s),
        }
        out.append(ProgrammedMatrix(
            weights=w, placement=place, gmin_s=float(gmin_s), gmax_s=float(gmax_s), w_max=float(w_max),
            g_target_s=g_t, g_measured_s=g_all[a:z].reshape(g_t.shape), dead=dead_final, info=info,
        ))
        a = z
    return out


def _scanned(scan: DeadCellScan, core, row, col) -> np.ndarray:
    """True where (core, row, col) was covered by ``scan``."""
    have = np.zeros((N_CORES, N_ROWS, N_COLS), bool)
    have[scan.core, scan.row, scan.col] = True
    return have[core, row, col]


def _dead_mask(dead, placement: MatrixPlacement, shape, core, row, col) -> np.ndarray:
    if dead is None:
        return np.zeros(shape, bool)
    if isinstance(dead, DeadCellScan):
        dead = dead.chip_mask()
    m = np.asarray(dead, bool)
    if m.shape == shape:
        return m.copy()
    if m.shape == (N_ROWS, N_COLS):
        return m[row, col].reshape(shape)
    if m.ndim == 3 and m.shape[1:] == (N_ROWS, N_COLS) and m.shape[0] > placement.core:
        return m[core, row, col].reshape(shape)
    raise InputError(f"dead mask has shape {m.shape}; expected {shape}, ({N_ROWS}, {N_COLS}) or "
                     f"({N_CORES}, {N_ROWS}, {N_COLS})")
