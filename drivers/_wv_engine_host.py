"""Tier-2 write-verify run on the ``neurram_top_wv`` engine from an :class:`~drivers.fpga_board.FpgaBoard`.

:func:`probe` tells whether the FPGA really runs the engine (after a clear, wire-out 0x23 shows the command
FIFO empty, not busy, no fault, no guard trip: bits the gateware drives, ``diag_status`` of wv_engine.v; an
unassigned wire-out of the authors' top reads 0). :func:`run_write_verify` turns one
:func:`neurram_lab.program.writeverify.write_verify` call into batches of LEVEL + CELL jobs (a LEVEL only
where the window changes), one pipe write, one start, one status poll and one pipe read per batch, and
fills the :class:`~neurram_lab.program.writeverify.ProgramResult` from the records. Every job is checked
before any word is sent: the board's limits (and ratings) for every pulse a ramp can reach, the windows
against the read code's step, the ceilings loaded from the limits (:meth:`Ceilings.from_volts`).
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from neurram_lab.board.limits import check_ratings_pulse
from neurram_lab.errors import BoardError, FrontPanelError, InputError

from . import _wv_engine as wv
from . import frontpanel as fp
from . import neurram_top as nt

MAX_BATCH_WORDS = wv.CMD_FIFO_WORDS - 16  # room for padding; the host never overfills the command FIFO
MAX_BATCH_CELLS = wv.RES_FIFO_RECORDS - 24  # the result FIFO holds every record of a batch
_STATUS_IDLE_MASK = wv.ST_BUSY | wv.ST_CMD_EMPTY | wv.ST_FAULT | wv.ST_GUARD
# engine status -> tier-2 outcome (OUTCOME_SUCCESS 1, TIMEOUT 2, STALLED 3, ROUNDS 4)
_OUTCOME = np.zeros(16, np.int8)
_OUTCOME[[wv.ST_OK, wv.ST_GAVE_UP, wv.ST_CEILING, wv.ST_MAX_PULSES]] = (1, 2, 3, 4)


def probe(board, op: str = "write_verify") -> tuple[bool, int]:
    """Clear the engine's diagnostics and read its status: (engine there, wire-out 0x23). Three calls,
    counted under the board operation ``op``."""
    L = board.link
    L.op(op)
    L.trigger(nt.TI_ENGINE, nt.T_ENGINE_CLEAR)
    L.update_wire_outs()
    st = L.get_wire(nt.WO_ENGINE_STATUS)
    return (st & _STATUS_IDLE_MASK) == wv.ST_CMD_EMPTY, st


def _cell_read_v(board) -> float:
    """The cell read voltage VREAD - VREF_TIA (V) the rails hold now; BoardError when it is not positive."""
    v_cell = board.dac_volts(1, 6) - board.dac_volts(1, 7)
    if v_cell <= 0:
        raise BoardError(f"read voltage VREAD - VREF_TIA = {v_cell:g} V: set the v_cell_read rail first")
    return v_cell


def _require_engine(board, op: str = "write_verify") -> None:
    """Probe the engine (calls counted under ``op``); BoardError when the FPGA answers without one."""
    there, st = probe(board, op)
    if not there:
        raise BoardError(f"bitstream {board.bitstream.name!r} was declared, but wire-out 0x23 reads 0x{st:08X} "
                         "after a clear (want the command FIFO empty, idle, no fault): the FPGA runs no "
                         "write-verify engine (configure neurram_top_wv.bit)")


def fits(cfg) -> bool:
    """Whether the engine's fields hold ``cfg`` (else tier 2 keeps its host loop)."""
    from . import neurram_top as nt

    return (cfg.max_rounds <= 0xFFFF and cfg.max_reversals <= 0xFF and cfg.max_pulses_at_vmax <= 0xFF
            and nt.width_ticks(cfg.width_s) <= 0xFFFF)


def ceilings(board) -> wv.Ceilings:
    """The engine's ceilings from the board's safety limits (and its DAC's top code)."""
    lim = board.limits
    return wv.Ceilings.from_volts(lim.pulse_v_max, lim.gate_v_max, lim.width_s[1])


def plan(board, cfg, target_s) -> tuple[wv.Level, np.ndarray, np.ndarray, float]:
    """The level every job shares and each cell's window codes (lo, hi); all checks before any call.

    Returns (level, lo codes, hi codes, v_cell_v)."""
    v_cell = _cell_read_v(board)
    rails = board.rails_v
    g_set, g_rst = float(rails["v_wl_set"]), float(rails["v_wl_reset"])
    lim = board.limits
    for kind, v0, v1, g in (("set", cfg.set_v_start_v, cfg.set_v_max_v, g_set),
                            ("reset", cfg.reset_v_start_v, cfg.reset_v_max_v, g_rst)):
        v, w, gg = lim.check_pulse(kind, [v0, v1], cfg.width_s, g, n=2)  # every amplitude a ramp reaches
        check_ratings_pulse(np.asarray(v, float), np.asarray(w, float), np.asarray(gg, float))
    tgt = np.asarray(target_s, float)
    a = wv.amp_a_per_code()
    lo = np.clip(np.ceil(np.maximum(tgt - cfg.window_s, 0.0) * v_cell / a), 0, 0xFFFFFF).astype(np.int64)
    hi = np.clip(np.floor((tgt + cfg.window_s) * v_cell / a), 0, 0xFFFFFF).astype(np.int64)
    bad = np.flatnonzero(lo > hi)
    if bad.size:
        raise InputError(f"window_s={cfg.window_s!r} S around target {float(tgt[bad[0]])!r} S holds no read code of "
                         f"the engine at v_cell_read={v_cell:g} V (one code is {float(wv.code_to_siemens(1, v_cell)):.3g} S)")
    ceil = ceilings(board)
    mid = float(tgt[0]) if tgt.size else cfg.window_s
    level = wv.level_from_volts(max(mid - cfg.window_s, 0.0), mid + cfg.window_s, v_cell, cfg.set_v_start_v,
                                cfg.set_v_max_v, cfg.reset_v_start_v, cfg.reset_v_max_v, g_set, g_rst, cfg.v_step_v,
                                cfg.width_s, int(cfg.max_rounds), int(cfg.max_reversals),
                                int(cfg.max_pulses_at_vmax), ceil)
    return level, lo, hi, v_cell


def _batch_words(level: wv.Level, core, row, col, lo, hi, change) -> np.ndarray:
    """Command words of one batch: a LEVEL (slot 0) before each cell where ``change``, then its CELL."""
    n = core.size
    body = np.asarray(level.words(), np.int64)
    per = np.where(change, 10, 1)
    end = np.cumsum(per)
    out = np.zeros(int(end[-1]) if n else 0, np.int64)
    cell_at = end - 1
    out[cell_at] = np.asarray(wv.cell_commands(core, row, col, 0), np.int64)
    j = np.flatnonzero(change)
    base = cell_at[j] - 9
    out[base] = wv.OP_LEVEL << 28
    out[base + 1] = lo[j]
    out[base + 2] = hi[j]
    for i in range(2, 8):
        out[base + 1 + i] = body[i]
    return out


def _batches(change_words: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) cell ranges whose words fit the command FIFO and records the result FIFO."""
    cum = np.concatenate([[0], np.cumsum(change_words)])
    out, a, n = [], 0, change_words.size
    while a < n:
        b = int(np.searchsorted(cum, cum[a] + MAX_BATCH_WORDS, side="right")) - 1
        b = min(max(b, a + 1), a + MAX_BATCH_CELLS, n)
        out.append((a, b))
        a = b
    return out


def _run_batch(board, words: np.ndarray, n_cells: int, done_before: int, op: str = "write_verify") -> dict:
    """Send one batch, start, poll until its records are written, read them: 6 calls when it is quick."""
    L = board.link
    L.op(op)
    L.pipe_in(nt.PI_ENGINE_COMMANDS, wv.words_bytes(wv.pad16(words.tolist())))
    L.trigger(nt.TI_ENGINE, nt.T_ENGINE_START)
    want = done_before + n_cells
    last, deadline = -1, None
    while True:
        L.update_wire_outs()
        st = L.get_wire(nt.WO_ENGINE_STATUS)
        got = L.get_wire(nt.WO_ENGINE_RECORDS)
        if st & (wv.ST_FAULT | wv.ST_GUARD):
            raise BoardError(f"write-verify engine halted (wire-out 0x23 = 0x{st:08X}: fault bit 3, guard bit 4; "
                             f"0x27 DAC high-water/blocked); {got - done_before} of {n_cells} records written")
        if got >= want and not st & wv.ST_BUSY:
            break
        if got != last:
            last, deadline = got, time.monotonic() + board.poll_timeout_s
        elif time.monotonic() > deadline:
            L.trigger(nt.TI_ENGINE, nt.T_ENGINE_ABORT)
            raise FrontPanelError(fp.TIMEOUT, fp.error_name(fp.TIMEOUT),
                                  f"write-verify engine wrote no record for {board.poll_timeout_s:g} s "
                                  f"({got - done_before} of {n_cells}; status 0x{st:08X})")
    raw = np.frombuffer(bytes(L.pipe_out(nt.PO_ENGINE_RESULTS, 16 * n_cells)), "<u4")
    return wv.decode_records(raw)


def run_write_verify(board, res, cfg, progress=None, on_done=None) -> None:
    """Program ``res``'s cells (validated, distinct) to ``res.target_s`` on the engine; fills ``res``."""
    n = res.n_cells
    level, lo, hi, v_cell = plan(board, cfg, res.target_s)  # every refusal before any call
    board.check_cores_powered(res.core)
    if n == 0:
        return
    order = np.argsort(res.core, kind="stable")  # one core enable per core
    c, r, k, lo, hi = res.core[order], res.row[order], res.col[order], lo[order], hi[order]
    change = np.ones(n, bool)
    change[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
    with board.cell_operation():
        try:
            _require_engine(board)
            L = board.link
            for ep, val in ceilings(board).wire_ins().items():
                board.stage_wire_in(ep, val)
            L.update_wire_ins()
            done = 0
            busy_s = 0.0
            for a, b in _batches(np.where(change, 10, 1)):
                ch = change[a:b].copy()
                ch[0] = True  # each batch loads its first window again (2048 - 16 words leave room for it)
                words = _batch_words(level, c[a:b], r[a:b], k[a:b], lo[a:b], hi[a:b], ch)
                rec = _run_batch(board, words, b - a, done)
                done += b - a
                if not (np.array_equal(rec["core"], c[a:b]) and np.array_equal(rec["row"], r[a:b])
                        and np.array_equal(rec["col"], k[a:b])):
                    raise BoardError("write-verify engine records do not match the jobs sent (cell order)")
                bad = np.flatnonzero(_OUTCOME[rec["status"]] == 0)
                if bad.size:
                    s = int(rec["status"][bad[0]])
                    why = [nm for i, nm in enumerate(wv.REFUSAL_NAMES) if int(rec["raw1"][bad[0]]) >> i & 1]
                    raise BoardError(f"write-verify engine returned status {wv.STATUS_NAMES.get(s, s)!r} for core "
                                     f"{int(rec['core'][bad[0]])} row {int(rec['row'][bad[0]])} col "
                                     f"{int(rec['col'][bad[0]])}" + (f" (refused: {', '.join(why)})" if why else ""))
                pos = order[a:b]
                res.g_final_s[pos] = wv.code_to_siemens(rec["code"], v_cell).astype(np.float32)
                res.pulses[pos] = rec["pulses"]
                res.reversals[pos] = rec["reversals"]
                res.outcome[pos] = _OUTCOME[rec["status"]]
                res.success[pos] = rec["status"] == wv.ST_OK
                busy_s += float(rec["cell_time_s"].sum())
                _engine_time(board, float(rec["cell_time_s"].sum()))
                board.add_counts(pulses=int(rec["pulses"].sum()), reads=int(rec["pulses"].sum()) + (b - a),
                                 wv_engine_cells=b - a)
                if on_done is not None:
                    on_done(pos.copy(), res)
                if progress is not None:
                    progress(done)
        finally:
            # the engine wrote DAC 3 channels 0-3, the core enable and the cell registers: the host's mirrors
            # of them are stale, so the next host operation writes them again
            board.forget_dac_codes([(wv.AMP_DAC, ch) for ch in range(4)])
            board.forget_selection()


def _engine_time(board, seconds: float) -> None:
    """The engine's busy time (its records' cell times) into the board-time model: the status poll waited."""
    m = board.board_time
    if m is None or seconds <= 0:
        return
    m.wait_for_fpga_s(seconds)


def read_level() -> wv.Level:
    """A read-only level: window 0..0xFFFFFF (met at the first read, so no pulse), all sweep codes 0, one
    tick, one pulse at most: nothing the loaded ceilings can refuse."""
    return wv.Level(0, wv.READ_SATURATED, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0)


def _run_level_jobs(board, op: str, ceil: wv.Ceilings, level: wv.Level, c, r, k) -> dict:
    """Probe, load ``ceil``, run one CELL job a cell (all on ``level``, slot 0) in batches that fit the FIFOs;
    the records, concatenated, checked against the jobs (same cells, in order; no refused or faulted record).
    Calls are counted under the board operation ``op``; the engine's busy time goes to the board-time model."""
    _require_engine(board, op)
    L = board.link
    for ep, val in ceil.wire_ins().items():
        board.stage_wire_in(ep, val)
    L.update_wire_ins()
    head = [wv.OP_LEVEL << 28] + level.words()
    step = min(MAX_BATCH_CELLS, MAX_BATCH_WORDS - len(head))
    recs, done = [], 0
    for a in range(0, c.size, step):
        b = min(a + step, c.size)
        words = np.asarray(head + wv.cell_commands(c[a:b], r[a:b], k[a:b], 0), np.int64)
        rec = _run_batch(board, words, b - a, done, op)
        done += b - a
        if not (np.array_equal(rec["core"], c[a:b]) and np.array_equal(rec["row"], r[a:b])
                and np.array_equal(rec["col"], k[a:b])) or np.any(_OUTCOME[rec["status"]] == 0):
            raise BoardError(f"write-verify engine records of the {op} jobs do not match the jobs sent "
                             f"(statuses {sorted(set(rec['status'].tolist()))})")
        recs.append(rec)
    out = {key: np.concatenate([x[key] for x in recs]) for key in recs[0]}
    _engine_time(board, float(out["cell_time_s"].sum()))
    return out


def run_read(board, core, row, col) -> tuple[np.ndarray, np.ndarray]:
    """Read cells on the engine (read-only jobs, one unranged read each, ``board.read_cycles`` jobs a cell,
    the first ``board.ignore_cycles`` dropped). Returns (conductance S float32, saturated bool); a
    saturated cell's value is not a reading (the caller reads it on the host loop)."""
    n = core.size
    v_cell = _cell_read_v(board)
    cycles, ignore = board.read_cycles, board.ignore_cycles
    order = np.argsort(core, kind="stable")
    c, r, k = (np.repeat(a[order], cycles) for a in (core, row, col))
    with board.cell_operation():
        try:
            rec = _run_level_jobs(board, "read", ceilings(board), read_level(), c, r, k)
            if np.any(rec["status"] != wv.ST_OK) or np.any(rec["pulses"]):
                raise BoardError("write-verify engine pulsed or missed the window of a read-only job")
        finally:
            board.forget_selection()
    codes = rec["code"].reshape(n, cycles)[:, ignore:]
    sat = np.zeros(n, bool)
    sat[order] = (codes == wv.READ_SATURATED).any(axis=1)
    g = np.empty(n, np.float32)
    g[order] = wv.code_to_siemens(codes, v_cell).mean(axis=1).astype(np.float32)
    board.add_counts(reads=n)
    return g, sat


def form_ceilings(board) -> wv.Ceilings:
    """The ceilings loaded for a FORM run: SET amplitude up to the limits' ``form_v_max`` (FORM's own ceiling,
    above ``pulse_v_max``), RESET codes 0 (a FORM run pulses no RESET: the guard stops any RESET word)."""
    lim = board.limits
    c = wv.Ceilings.from_volts(lim.form_v_max, lim.gate_v_max, lim.width_s[1])
    return dataclasses.replace(c, reset_sl=0, reset_wl=0)


def form_level(board, v_form_v, width_s: float, g_formed_s: float, v_cell: float) -> tuple[wv.Level, int]:
    """The FORM level: a SET-only sweep (window from ``g_formed_s`` to the top code, so a cell never gets a
    RESET) from the ramp's start by its step to its stop, one pulse at the stop (max_at_ceiling 1), the
    form gate; checked against the limits and the engine's ceilings before any word. Returns (level,
    pulses of the host ramp)."""
    v0, v1, dv = (float(x) for x in v_form_v)
    n = int(np.arange(v0, v1 + dv / 2, dv).size)
    top_v = nt.code_volts(nt.DAC_CODE_MAX, wv.AMP_DAC)  # the host ramp's pulses are quantised to the DAC too
    v0, v1 = min(v0, top_v), min(v1, top_v)
    g_form = float(board.rails_v["v_wl_form"])
    v, w, g = board.limits.check_pulse("form", [v0, v1], width_s, g_form, n=2)
    check_ratings_pulse(np.asarray(v, float), np.asarray(w, float), np.asarray(g, float))
    top_s = float(wv.code_to_siemens(wv.READ_SATURATED, v_cell))
    lv = wv.level_from_volts(g_formed_s, top_s, v_cell, v0, v1, 0.0, 0.0, g_form, 0.0, dv, width_s, n + 1, 0, 1,
                             form_ceilings(board))
    return dataclasses.replace(lv, hi=wv.READ_SATURATED), n


def run_form(board, core, row, col, v_form_v, width_s: float, g_formed_s: float) -> np.ndarray:
    """Form cells on the engine: one FORM job a cell (the host ramp :func:`form_cells` runs, read before
    each pulse, read at the end); returns a bool array, True where the last read reached ``g_formed_s``."""
    n = core.size
    v_cell = _cell_read_v(board)
    level, _ = form_level(board, v_form_v, width_s, g_formed_s, v_cell)
    board.check_cores_powered(core)
    formed = np.zeros(n, bool)
    if n == 0:
        return formed
    order = np.argsort(core, kind="stable")
    with board.cell_operation():
        try:
            rec = _run_level_jobs(board, "form", form_ceilings(board), level, core[order], row[order], col[order])
        finally:
            board.forget_dac_codes([(wv.AMP_DAC, ch) for ch in range(4)])
            board.forget_selection()
    formed[order] = rec["status"] == wv.ST_OK
    board.add_counts(pulses=int(rec["pulses"].sum()), reads=int(rec["pulses"].sum()) + n)
    return formed
