"""Tier 2: incremental-pulse write-verify, vectorised over any set of cells (SPEC §2).

Read every unfinished cell; a cell inside ``target ± window`` is done. Below
the window it gets a SET pulse, above it a RESET pulse. Consecutive pulses of
one polarity step up by ``v_step_v``; a change of polarity (an overshoot)
counts one reversal and restarts from that polarity's start voltage. A cell
that needs more than ``max_reversals`` reversals has failed, and so has one
that stays outside its window for ``max_pulses_at_vmax`` pulses at the top of
a ramp (it does not respond: stuck or unformed). Each round is one
read call and at most two pulse calls, whatever the number of cells, and it
runs on every board through the Board contract.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import _jit
from ..validate import MAX_ITERATIONS, MAX_STEPS, array, boolean, conductance, integer, number
from ..board.capabilities import engine_fits
from ..board.contract import Board, as_board
from ..errors import CapabilityError, InputError, LimitError


OUTCOME_RUNNING, OUTCOME_SUCCESS, OUTCOME_TIMEOUT, OUTCOME_STALLED, OUTCOME_ROUNDS = 0, 1, 2, 3, 4
_KERNELS = "neurram_lab.program._writeverify_numba"


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
    max_pulses_at_vmax : int
        A cell that still does not reach its window after this many pulses at
        the top of a ramp does not respond (stuck, unformed): it fails.
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
    max_pulses_at_vmax: int = 8
    max_rounds: int = 2000

    def check(self, board: Board) -> None:
        """Validate against the board's limits (and its pulse DAC step) before anything is sent."""
        lim = board.limits
        for name in ("set_v_start_v", "set_v_max_v", "reset_v_start_v", "reset_v_max_v"):
            number(name, getattr(self, name), 0.0, lim.pulse_v_max, "volts", lo_open=True)
        number("width_s", self.width_s, *lim.width_s, "seconds")
        number("window_s", self.window_s, 0.0, lim.g_cell_s[1], "siemens", lo_open=True)
        number("v_step_v", self.v_step_v, 0.0, lim.pulse_v_max, "volts")
        integer("max_reversals", self.max_reversals, 0, MAX_ITERATIONS)
        integer("max_pulses_at_vmax", self.max_pulses_at_vmax, 1, MAX_ITERATIONS)
        integer("max_rounds", self.max_rounds, 1, MAX_STEPS, "read-pulse rounds")
        if self.set_v_max_v < self.set_v_start_v or self.reset_v_max_v < self.reset_v_start_v:
            raise LimitError("v_max_v", min(self.set_v_max_v, self.reset_v_max_v), ">= start voltage", "volts")
        caps = board.capabilities() if hasattr(board, "capabilities") else None
        step = caps.pulse_v_step_v if caps is not None else None
        if step is not None and 0 < self.v_step_v < step:  # the ramp would not move on this board's DAC
            raise CapabilityError("pulse_v_step_v", self.v_step_v, step, "write-verify's v_step_v is below the board's DAC step")


def runs_on_engine(board, config: WriteVerifyConfig | None = None) -> bool:
    """Whether :func:`write_verify` on ``board`` with ``config`` (and no ``trace``/``on_event``) runs on a
    write-verify engine in the board's gateware rather than the host loop.

    The engine is an optional board operation, outside the abstract Board contract: a board offering it has
    ``write_verify_on_engine(res, cfg, progress, on_done) -> bool`` (True: it filled ``res``; False: nothing
    sent, run the host loop) and either ``write_verify_engine_fits(cfg) -> bool`` (the run log's journal
    board, a replay) or ``has_write_verify_engine`` with ``write_verify_engine().fits(cfg)``
    (:class:`~neurram_lab.drivers.fpga_board.FpgaBoard` on ``neurram_top_wv``).
    """
    return engine_fits(board, WriteVerifyConfig() if config is None else config)


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
    outcome : int8 array
        ``OUTCOME_SUCCESS`` (1), ``OUTCOME_TIMEOUT`` (2: too many reversals),
        ``OUTCOME_STALLED`` (3: no response at the top of the ramp),
        ``OUTCOME_ROUNDS`` (4: hit ``max_rounds``); 0 while running.
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
    outcome: np.ndarray | None = None
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
    on_event=None,
    on_done=None,
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
    on_event : callable, optional
        ``on_event(round, op, cells, v_pulse_v, g_read_s, t_s)`` after every
        board call: ``op`` 0 for a read (``g_read_s`` the readings), +1 SET,
        -1 RESET (``v_pulse_v`` the amplitudes); ``cells`` are positions in
        the input arrays; ``t_s`` the board time after the call.
    on_done : callable, optional
        ``on_done(cells, result)`` each round with the positions of the cells
        that finished in it (in the window, or timed out); ``result`` is the
        :class:`ProgramResult` being filled (read its arrays at ``cells``).
        Run logs use it to checkpoint per-cell outcomes for resuming.
    """
    board = as_board(board)
    trace = boolean("trace", trace)
    cfg = WriteVerifyConfig() if config is None else config
    if not isinstance(cfg, WriteVerifyConfig):
        raise InputError(f"config must be a WriteVerifyConfig, got {type(cfg).__name__}")
    for name, fn in (("progress", progress), ("on_event", on_event), ("on_done", on_done)):
        if fn is not None and not callable(fn):
            raise InputError(f"{name} must be callable, got {fn!r}")
    cfg.check(board)
    c, r, k = board.limits.check_cells(core, row, col)
    n = c.size
    tgt = conductance("target_s", target_s, board.limits, scalar=False)
    if tgt.size not in (1, n):
        raise InputError(f"target_s has {tgt.size} values for {n} cells")
    tgt = np.broadcast_to(tgt.ravel(), (n,)).copy() if n else np.zeros(0)
    lim = board.limits
    flat = (c * lim.n_rows + r) * lim.n_cols + k
    if n and np.bincount(flat, minlength=1).max() > 1:
        raise InputError("write_verify cells must be distinct")

    res = ProgramResult(
        c, r, k, tgt,
        g_final_s=np.zeros(n, np.float32),
        pulses=np.zeros(n, np.int64),
        reversals=np.zeros(n, np.int64),
        success=np.zeros(n, bool),
        outcome=np.full(n, OUTCOME_RUNNING, np.int8),
    )
    # a board with write-verify in its gateware (FpgaBoard on neurram_top_wv) runs the same rounds there;
    # per-read/per-pulse listeners need the host loop, which sees every call
    engine = getattr(board, "write_verify_on_engine", None)
    if engine is not None and not trace and on_event is None and engine(res, cfg, progress, on_done):
        if progress is not None:
            progress(n)
        return res
    tr = {"round": [], "cell": [], "op": [], "v_pulse_v": [], "g_read_s": [], "t_s": []} if trace else None

    def event(rnd, op, cells, v, g):
        if tr is None and on_event is None:
            return
        t_s = board.now()
        if tr is not None:
            _trace(tr, rnd, cells, op, v, g, t_s)
        if on_event is not None:
            on_event(rnd, op, cells, v, g, t_s)

    kern = _jit.kernels(_KERNELS)
    if kern is not None:  # the same rounds, each one compiled pass over the running cells
        _rounds_compiled(kern, board, cfg, res, tgt, event, progress, on_done, tr is not None or on_event is not None)
        if tr is not None:
            res.trace = {key: np.concatenate(val) if val else np.zeros(0) for key, val in tr.items()}
        return res

    # state of the cells still running, compacted every round. Every running
    # cell gets one pulse per round, so a cell finishing at round n took n pulses.
    listening = tr is not None or on_event is not None
    pos = np.arange(n)
    ca, ra, ka = c, r, k
    ta = tgt.astype(np.float32)
    sv = np.zeros(n, np.float32)  # last amplitude, signed: + SET, - RESET, 0 none yet
    rev = np.zeros(n, np.int16)
    stall = np.zeros(n, np.int16)  # consecutive pulses at the top of the ramp
    win = np.float32(cfg.window_s)
    step = np.float32(cfg.v_step_v)
    s0, s1 = np.float32(cfg.set_v_start_v), np.float32(cfg.set_v_max_v)
    r0, r1 = np.float32(cfg.reset_v_start_v), np.float32(cfg.reset_v_max_v)
    max_rev, max_stall = cfg.max_reversals, cfg.max_pulses_at_vmax

    for rnd in range(cfg.max_rounds + 1):
        if pos.size == 0:
            break
        g = board.read(ca, ra, ka)
        event(rnd, 0, pos, np.float32(np.nan), g)
        err = g - ta
        ok = np.abs(err, out=err) <= win
        want_set = g < ta
        if rnd == 0:
            flip = np.zeros(pos.size, bool)  # no pulse yet, nothing to reverse
        else:
            flip = (sv > 0) != want_set  # every running cell has been pulsed: sv != 0
            rev += flip
        timed_out = rev > max_rev
        stalled = stall >= max_stall
        stalled &= ~flip
        done = ok | timed_out
        done |= stalled
        if rnd == cfg.max_rounds:
            done[:] = True
        if done.any():
            j = np.flatnonzero(done)
            fin = pos[j]
            res.g_final_s[fin] = g[j]
            res.pulses[fin] = rnd
            res.reversals[fin] = rev.take(j).astype(np.int64)  # cast first: a casting scatter is 3x slower
            okj = ok[j]
            res.success[fin] = okj
            out = np.full(j.size, OUTCOME_ROUNDS, np.int8)
            out[stalled[j]] = OUTCOME_STALLED
            out[timed_out[j]] = OUTCOME_TIMEOUT
            out[okj] = OUTCOME_SUCCESS
            res.outcome[fin] = out
            if on_done is not None:
                on_done(fin, res)
            if j.size == pos.size:
                pos = pos[:0]
                break
            keep = np.flatnonzero(~done)
            pos, ca, ra, ka, ta, sv, rev, stall, want_set, flip = (
                a.take(keep) for a in (pos, ca, ra, ka, ta, sv, rev, stall, want_set, flip))
        # next amplitude: restart the ramp on a new polarity, else step up (capped at the top)
        vmax = np.where(want_set, s1, r1)
        v = np.abs(sv)
        v += step
        np.minimum(v, vmax, out=v)
        if rnd:
            restart = flip
            v = np.where(restart, np.where(want_set, s0, r0), v)
            climbing = v >= vmax
            climbing &= ~restart
        else:  # every cell starts its ramp
            v = np.where(want_set, s0, r0)
            climbing = np.zeros(pos.size, bool)
        stall += 1
        stall *= climbing
        sv = np.where(want_set, v, -v)
        n_set = np.count_nonzero(want_set)
        if n_set == pos.size:
            board.pulse("set", ca, ra, ka, v, cfg.width_s)
            event(rnd, 1, pos, v, np.float32(np.nan))
        elif n_set == 0:
            board.pulse("reset", ca, ra, ka, v, cfg.width_s)
            event(rnd, -1, pos, v, np.float32(np.nan))
        else:
            for kind, sel, op in (("set", want_set, 1), ("reset", ~want_set, -1)):
                i = np.flatnonzero(sel)
                vi = v.take(i)
                board.pulse(kind, ca.take(i), ra.take(i), ka.take(i), vi, cfg.width_s)
                if listening:
                    event(rnd, op, pos.take(i), vi, np.float32(np.nan))
        if progress is not None:
            progress(n - pos.size)
    if progress is not None:
        progress(n)
    if tr is not None:
        res.trace = {key: np.concatenate(val) if val else np.zeros(0) for key, val in tr.items()}
    return res


def _rounds_compiled(kern, board, cfg, res, tgt, event, progress, on_done, listening) -> None:
    """The rounds of :func:`write_verify` with each round's bookkeeping in one compiled pass
    (:mod:`neurram_lab.program._writeverify_numba`): the same board calls with the same arguments."""
    n = res.n_cells
    pos = np.arange(n)
    ca, ra, ka = res.core.copy(), res.row.copy(), res.col.copy()  # compacted in place
    ta = tgt.astype(np.float32)
    sv = np.zeros(n, np.float32)
    rev = np.zeros(n, np.int16)
    stall = np.zeros(n, np.int16)
    fin = np.empty(n, np.int64)
    lists = [np.empty(n, t) for _ in range(2) for t in (np.int64, np.int64, np.int64, np.float32, np.int64)]
    f32 = np.float32
    consts = (f32(cfg.window_s), f32(cfg.v_step_v), f32(cfg.set_v_start_v), f32(cfg.set_v_max_v),
              f32(cfg.reset_v_start_v), f32(cfg.reset_v_max_v), int(cfg.max_reversals), int(cfg.max_pulses_at_vmax))
    m = n
    for rnd in range(cfg.max_rounds + 1):
        if m == 0:
            break
        g = np.ascontiguousarray(board.read(ca[:m], ra[:m], ka[:m]), np.float32)
        if listening:  # pos is compacted in place below: hand out a copy
            event(rnd, 0, pos[:m].copy(), np.float32(np.nan), g)
        n_fin, m, n_set, n_reset = kern.round_update(
            rnd, rnd == cfg.max_rounds, g, pos, ca, ra, ka, ta, sv, rev, stall, *consts,
            res.g_final_s, res.pulses, res.reversals, res.success, res.outcome, fin, *lists)
        if n_fin and on_done is not None:
            on_done(fin[:n_fin].copy(), res)
        for kind, op, (c, r, k, v, p), cnt in (("set", 1, lists[:5], n_set), ("reset", -1, lists[5:], n_reset)):
            if cnt:
                board.pulse(kind, c[:cnt], r[:cnt], k[:cnt], v[:cnt], cfg.width_s)
                if listening:
                    event(rnd, op, p[:cnt].copy(), v[:cnt].copy(), np.float32(np.nan))
        if progress is not None:
            progress(n - m)
    if progress is not None:
        progress(n)


def _trace(tr, rnd, cells, op, v, g, t_s):
    m = cells.size
    tr["round"].append(np.full(m, rnd, np.int32))
    tr["cell"].append(cells.astype(np.int64))
    tr["op"].append(np.full(m, op, np.int8))
    tr["v_pulse_v"].append(np.broadcast_to(np.asarray(v, np.float32), (m,)).copy())
    tr["g_read_s"].append(np.broadcast_to(np.asarray(g, np.float32), (m,)).copy())
    tr["t_s"].append(np.full(m, t_s, np.float64))


def form_cells(board: Board, core, row, col, v_form_v=(3.5, 5.0, 0.1), width_s=1e-6, g_formed_s=5e-6,
               g_pristine_max_s: float | None = None) -> np.ndarray:
    """Form pristine cells with a FORM pulse ramp; returns a bool array, True where formed.

    Parameters
    ----------
    v_form_v : (start, stop, step)
        FORM amplitudes (V); checked against the limits before any pulse.
    width_s : float
        FORM pulse width (s).
    g_formed_s : float
        A cell reading at least this (S) holds a filament.
    g_pristine_max_s : float, optional
        Cells that read above this (S) at the start are taken as formed and
        never pulsed, so re-forming a programmed array leaves cells parked
        near gmin alone (pristine oxide reads ~0.1 uS, a RESET filament more).
    """
    board = as_board(board)
    c, r, k = board.limits.check_cells(core, row, col)
    ramp = array("v_form_v", v_form_v, 1)
    if ramp.size != 3:
        raise InputError(f"v_form_v must be (start, stop, step), got {v_form_v!r}")
    v0, v1, dv = (float(x) for x in ramp)
    if dv <= 0 or v1 < v0:
        raise InputError(f"v_form_v must be (start, stop, step>0) with stop >= start, got {v_form_v}")
    if (v1 - v0) / dv > MAX_ITERATIONS:
        raise LimitError("v_form_v steps", int((v1 - v0) / dv), (0, MAX_ITERATIONS), "FORM pulses per cell")
    board.limits.check_pulse("form", [v0, v1], width_s)
    threshold = conductance("g_formed_s", g_formed_s, board.limits, lo_open=True)
    if g_pristine_max_s is not None:
        conductance("g_pristine_max_s", g_pristine_max_s, board.limits)
    formed = np.zeros(c.size, bool)
    todo = np.arange(c.size)
    if g_pristine_max_s is not None and c.size:
        g = board.read(c, r, k)
        was = g > g_pristine_max_s
        formed[was] = True
        todo = todo[~was]
    engine = getattr(board, "form_on_engine", None)  # the FORM ramp in the board's gateware (drivers/_wv_engine_host)
    if engine is not None and todo.size:
        got = engine(c[todo], r[todo], k[todo], (v0, v1, dv), float(width_s), float(threshold))
        if got is not None:
            formed[todo] = got
            return formed
    for v in np.minimum(np.round(np.arange(v0, v1 + dv / 2, dv), 9), v1):
        if todo.size == 0:
            break
        g = board.read(c[todo], r[todo], k[todo])
        hit = g >= threshold
        formed[todo[hit]] = True
        todo = todo[~hit]
        if todo.size:
            board.pulse("form", c[todo], r[todo], k[todo], float(v), width_s)
    if todo.size:
        g = board.read(c[todo], r[todo], k[todo])
        formed[todo[g >= threshold]] = True
    return formed
