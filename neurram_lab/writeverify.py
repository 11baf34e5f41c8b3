"""Tier 2: incremental-pulse write-verify, vectorised over any set of cells (SPEC §2).

Read every unfinished cell; a cell inside ``target ± window`` is done. Below
the window it gets a SET pulse, above it a RESET pulse. Consecutive pulses of
one polarity step up by ``v_step_v``; a change of polarity (an overshoot)
counts one reversal and restarts from that polarity's start voltage. A cell
that needs more than ``max_reversals`` reversals has failed. Each round is one
read call and at most two pulse calls, whatever the number of cells, and it
runs on every board through the Board contract.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .board import Board
from .errors import InputError, LimitError


@dataclass
class WriteVerifyConfig:
    """Write-verify settings; defaults are the paper's (SPEC §2).

    Attributes
    ----------
    set_v_start_v, reset_v_start_v : float
        First SET (BL) / RESET (SL) pulse amplitude (V).
    v_step_v : float
        Increment between consecutive pulses of one polarity (V).
    set_v_max_v, reset_v_max_v : float
        The ramp stops growing here (V).
    width_s : float
        Pulse width (s).
    window_s : float
        Accept window half-width around the target (S).
    max_reversals : int
        Timeout in SET/RESET polarity reversals.
    max_rounds : int
        Hard cap on read-pulse rounds (safety net).
    """

    set_v_start_v: float = 1.2
    reset_v_start_v: float = 1.5
    v_step_v: float = 0.1
    set_v_max_v: float = 3.0
    reset_v_max_v: float = 3.5
    width_s: float = 1e-6
    window_s: float = 1e-6
    max_reversals: int = 30
    max_rounds: int = 2000

    def check(self, board: Board) -> None:
        """Validate against the board's limits before anything is sent."""
        lim = board.limits
        for name in ("set_v_start_v", "set_v_max_v", "reset_v_start_v", "reset_v_max_v"):
            v = getattr(self, name)
            if not 0 < v <= lim.pulse_v_max:
                raise LimitError(name, v, (0.0, lim.pulse_v_max), "volts")
        if not lim.width_s[0] <= self.width_s <= lim.width_s[1]:
            raise LimitError("width_s", self.width_s, lim.width_s, "seconds")
        if self.window_s <= 0:
            raise LimitError("window_s", self.window_s, "> 0", "siemens")
        if self.v_step_v < 0:
            raise LimitError("v_step_v", self.v_step_v, ">= 0", "volts")
        if int(self.max_reversals) < 0:
            raise LimitError("max_reversals", self.max_reversals, ">= 0")


@dataclass
class ProgramResult:
    """Outcome of write-verify, one entry per cell.

    Attributes
    ----------
    core, row, col : int arrays
    target_s : float array
        Target conductance (S).
    g_final_s : float32 array
        Last verify reading (S).
    pulses : int array
        Pulses applied.
    reversals : int array
        SET/RESET polarity reversals.
    success : bool array
        Landed in the window within the timeout.
    trace : dict of arrays, optional
        Every read and pulse (``round``, ``cell``, ``op``, ``v_pulse_v``, ``g_read_s``, ``t_s``)
        when asked for.
    """

    core: np.ndarray
    row: np.ndarray
    col: np.ndarray
    target_s: np.ndarray
    g_final_s: np.ndarray
    pulses: np.ndarray
    reversals: np.ndarray
    success: np.ndarray
    trace: dict | None = field(default=None, repr=False)

    @property
    def n_cells(self) -> int:
        return int(self.core.size)

    @property
    def in_window_fraction(self) -> float:
        return float(self.success.mean()) if self.success.size else float("nan")

    @property
    def mean_pulses_per_cell(self) -> float:
        return float(self.pulses.mean()) if self.pulses.size else float("nan")


def write_verify(
    board: Board,
    core,
    row,
    col,
    target_s,
    config: WriteVerifyConfig | None = None,
    trace: bool = False,
    progress=None,
) -> ProgramResult:
    """Program cells to ``target_s`` (S) by incremental-pulse write-verify.

    Parameters
    ----------
    board : Board
    core, row, col : int arrays (broadcast)
        Distinct cells.
    target_s : float or array
        Target conductance per cell (S).
    config : WriteVerifyConfig, optional
    trace : bool
        Keep every read and pulse in ``ProgramResult.trace``.
    progress : callable, optional
        ``progress(n_done_cells)`` after every round.
    """
    cfg = config or WriteVerifyConfig()
    cfg.check(board)
    c, r, k = board.limits.check_cells(core, row, col)
    n = c.size
    tgt = np.broadcast_to(np.asarray(target_s, np.float64), (n,)).copy() if n else np.zeros(0)
    if tgt.size != n:
        raise InputError(f"target_s has {np.size(target_s)} values for {n} cells")
    if n and (not np.all(np.isfinite(tgt)) or tgt.min() < 0):
        raise LimitError("target_s", float(np.nanmin(tgt)), ">= 0", "siemens")
    flat = (c * board.limits.n_rows + r) * board.limits.n_cols + k
    if np.unique(flat).size != n:
        raise InputError("write_verify cells must be distinct")

    g_final = np.zeros(n, np.float32)
    pulses = np.zeros(n, np.int64)
    reversals = np.zeros(n, np.int64)
    polarity = np.zeros(n, np.int8)  # +1 SET, -1 RESET, 0 none yet
    v_next = np.zeros(n, np.float64)
    success = np.zeros(n, bool)
    active = np.arange(n)
    tr = {"round": [], "cell": [], "op": [], "v_pulse_v": [], "g_read_s": [], "t_s": []} if trace else None

    for rnd in range(cfg.max_rounds):
        if active.size == 0:
            break
        g = board.read(c[active], r[active], k[active])
        g_final[active] = g
        if tr is not None:
            _trace(tr, rnd, active, 0, np.nan, g, board.now())
        err = g.astype(np.float64) - tgt[active]
        ok = np.abs(err) <= cfg.window_s
        success[active[ok]] = True
        want = np.where(err < 0, 1, -1).astype(np.int8)
        cells = active[~ok]
        want = want[~ok]
        prev = polarity[cells]
        flip = (prev != 0) & (prev != want)
        reversals[cells] += flip
        timed_out = reversals[cells] > cfg.max_reversals
        cells, want, flip, prev = cells[~timed_out], want[~timed_out], flip[~timed_out], prev[~timed_out]
        start = np.where(want > 0, cfg.set_v_start_v, cfg.reset_v_start_v)
        vmax = np.where(want > 0, cfg.set_v_max_v, cfg.reset_v_max_v)
        v = np.where((prev == 0) | flip, start, np.minimum(v_next[cells] + cfg.v_step_v, vmax))
        v_next[cells] = v
        polarity[cells] = want
        for kind, sel in (("set", want > 0), ("reset", want < 0)):
            if sel.any():
                cs = cells[sel]
                board.pulse(kind, c[cs], r[cs], k[cs], v[sel], cfg.width_s)
                pulses[cs] += 1
                if tr is not None:
                    _trace(tr, rnd, cs, 1 if kind == "set" else -1, v[sel], np.full(cs.size, np.nan), board.now())
        active = cells
        if progress is not None:
            progress(n - active.size)
    trace_out = {key: np.concatenate(val) if val else np.zeros(0) for key, val in tr.items()} if tr else None
    return ProgramResult(c, r, k, tgt, g_final, pulses, reversals, success, trace_out)


def _trace(tr, rnd, cells, op, v, g, t_s):
    m = cells.size
    tr["round"].append(np.full(m, rnd, np.int32))
    tr["cell"].append(cells.astype(np.int64))
    tr["op"].append(np.full(m, op, np.int8))
    tr["v_pulse_v"].append(np.broadcast_to(np.asarray(v, np.float32), (m,)).copy())
    tr["g_read_s"].append(np.asarray(g, np.float32))
    tr["t_s"].append(np.full(m, t_s, np.float64))


def form_cells(board: Board, core, row, col, v_form_v=(3.5, 5.0, 0.1), width_s=1e-6, g_formed_s=5e-6):
    """Form pristine cells with a FORM pulse ramp; returns a bool array, True where formed.

    ``v_form_v`` is (start, stop, step) in volts. Each round reads the cells not
    yet formed and pulses those still below ``g_formed_s``.
    """
    c, r, k = board.limits.check_cells(core, row, col)
    v0, v1, dv = v_form_v
    formed = np.zeros(c.size, bool)
    todo = np.arange(c.size)
    v = v0
    while todo.size and v <= v1 + 1e-9:
        g = board.read(c[todo], r[todo], k[todo])
        hit = g >= g_formed_s
        formed[todo[hit]] = True
        todo = todo[~hit]
        if todo.size:
            board.pulse("form", c[todo], r[todo], k[todo], v, width_s)
        v += dv
    if todo.size:
        g = board.read(c[todo], r[todo], k[todo])
        formed[todo[g >= g_formed_s]] = True
    return formed
