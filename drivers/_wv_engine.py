"""Host side of the write-verify engine of ``neurram_top_wv`` (gateware/): its endpoints, the command words a
batch of jobs becomes, the result records it returns, and the conversions between physical units and the
engine's codes. Every job is checked here, with a typed error, before any word is sent.

Endpoints (gateware/hdl/wv_top_engine.vh; named in :mod:`drivers.neurram_top`): wire-ins 0x18 (SET ceilings:
VSET_BL code [15:0], VSET_WL code [31:16]), 0x19 (RESET ceilings: VRESET_SL [15:0], VRESET_WL [31:16]), 0x1A
(pulse-width ceiling, ticks); trigger-in 0x46 (bit 0 start, 1 abort, 2 clear); wire-outs 0x23 status, 0x24 records written, 0x25
pulses, 0x26 current cell, 0x27 DAC high-water / blocked code; pipe-in 0x82 commands, pipe-out 0xA4
results (4 words a record).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurram_lab.errors import InputError, LimitError

from . import neurram_top as nt

# endpoints: drivers.neurram_top's *_ENGINE_* names (TI_ENGINE, T_ENGINE_START, WO_ENGINE_STATUS, ...)
# bits of wire-out 0x23 (nt.WO_ENGINE_STATUS)
ST_BUSY, ST_CMD_EMPTY, ST_RES_FULL, ST_FAULT, ST_GUARD = 1 << 0, 1 << 1, 1 << 2, 1 << 3, 1 << 4

OP_NOP, OP_LEVEL, OP_CELL, OP_RANGE, OP_MARK = 0, 1, 2, 3, 15
N_LEVELS = 16
CMD_FIFO_WORDS = 2048  # FIFO32x2048FWFT
RES_FIFO_RECORDS = 4096 // 4  # FIFO32x4096
READ_CODE_SHIFT = 6  # read code = ((start - end) << 6) / t_delta
READ_SATURATED = 0xFFFFFF  # read code of a saturated read: end code 0, the integrator at the ADC floor
# The engine's reads: one measurement at t_shld 5, t_delta 10 (x 1.28 us): auto_ranging.v ranges only while
# 10 < t_delta < 30000, so from t_delta 10 it measures once (its own last halving from the default 10/20 start
# gives this timing). 19.2 us a read instead of ranging up to 30 000 units; 2.56 mV of integrator swing per
# 1 uS at 0.2 V (328 ADC codes), so a +-1 uS window spans ~650 codes; saturation (the ADC floor) above
# ~230 uS at 0.2 V reads READ_SATURATED.
FAST_T_SHLD, FAST_T_DELTA = 5, 10
STATUS_NAMES = {1: "in_window", 2: "gave_up", 3: "ceiling", 4: "max_pulses", 5: "refused", 6: "fault", 15: "mark"}
ST_OK, ST_GAVE_UP, ST_CEILING, ST_MAX_PULSES, ST_REFUSED, ST_FAULT_REC, ST_MARK = 1, 2, 3, 4, 5, 6, 15
REFUSAL_NAMES = ("core", "level", "window", "set_order", "reset_order", "set_ceiling", "reset_ceiling", "set_gate",
                 "reset_gate", "width", "width_ceiling", "pulses", "range")
AMP_DAC = 3  # VSET_BL, VSET_WL, VRESET_SL, VRESET_WL are DAC 3 channels 0..3


def amp_a_per_code(c_integ_f: float = nt.C_INTEG_F) -> float:
    """Cell current (A) of one read code."""
    return nt.ADC_VREF_V / 2 ** nt.ADC_BITS * c_integ_f / (2 ** READ_CODE_SHIFT * nt.READ_UNIT_S)


def siemens_to_code(g_s, v_cell_v: float) -> np.ndarray:
    """Read code (int64) of conductance ``g_s`` (S) read at ``v_cell_v`` (V, VREAD - VREF_TIA)."""
    return np.floor(np.asarray(g_s, float) * float(v_cell_v) / amp_a_per_code()).astype(np.int64)


def code_to_siemens(code, v_cell_v: float) -> np.ndarray:
    """Conductance (S) of read code ``code`` at ``v_cell_v`` (V)."""
    return np.asarray(code, float) * amp_a_per_code() / float(v_cell_v)


def volts_code(v, what: str) -> int:
    """DAC 3 code of ``v`` volts (LimitError outside the DAC)."""
    return nt.dac_code(float(v), AMP_DAC, what)


@dataclass(frozen=True)
class Ceilings:
    """Hardware ceilings loaded into the engine (DAC 3 codes, pulse ticks); from the board's limits."""

    set_bl: int
    set_wl: int
    reset_sl: int
    reset_wl: int
    width_ticks: int

    def wire_ins(self) -> dict[int, int]:
        return {nt.WI_ENGINE_LIM_SET: self.set_bl | self.set_wl << 16,
                nt.WI_ENGINE_LIM_RESET: self.reset_sl | self.reset_wl << 16,
                nt.WI_ENGINE_LIM_WIDTH: self.width_ticks & 0xFFFFFF}

    @classmethod
    def from_volts(cls, pulse_v_max_v: float, gate_v_max_v: float, width_max_s: float) -> "Ceilings":
        vp = volts_code(min(pulse_v_max_v, nt.code_volts(nt.DAC_CODE_MAX, AMP_DAC)), "pulse ceiling")
        vg = volts_code(min(gate_v_max_v, nt.code_volts(nt.DAC_CODE_MAX, AMP_DAC)), "gate ceiling")
        return cls(vp, vg, vp, vg, min(int(width_max_s / nt.TICK_S), 0xFFFFFF))


@dataclass(frozen=True)
class Level:
    """One level's window and sweep, in engine codes (see :func:`level_from_volts`)."""

    lo: int
    hi: int
    set_start: int
    set_max: int
    reset_start: int
    reset_max: int
    set_gate: int
    reset_gate: int
    step: int
    width_ticks: int
    max_pulses: int
    max_reversals: int
    max_at_ceiling: int
    t_shld: int = FAST_T_SHLD
    t_delta: int = FAST_T_DELTA

    def words(self) -> list[int]:
        return [self.lo & 0xFFFFFF, self.hi & 0xFFFFFF, self.set_start | self.set_max << 16,
                self.reset_start | self.reset_max << 16, self.set_gate | self.reset_gate << 16,
                self.step | self.width_ticks << 16,
                self.max_pulses | (self.max_reversals & 0xFF) << 16 | (self.max_at_ceiling & 0xFF) << 24,
                self.t_shld | self.t_delta << 16]


def level_from_volts(lo_s, hi_s, v_cell_v, set_v_start_v, set_v_max_v, reset_v_start_v, reset_v_max_v, v_gate_set_v,
                     v_gate_reset_v, v_step_v, width_s, max_pulses, max_reversals, max_at_ceiling,
                     ceilings: Ceilings | None = None) -> Level:
    """A :class:`Level` from physical settings, each checked (typed errors naming the argument) before any
    word exists: window low <= high, start <= ceiling, every voltage within the loaded ``ceilings``,
    width at least one tick, max pulses 1..65535, reversals and ceiling pulses 0..255."""
    if not lo_s <= hi_s:
        raise InputError(f"window low {lo_s!r} S is above window high {hi_s!r} S")
    if not v_cell_v > 0:
        raise InputError(f"v_cell_v must be > 0 V (set the v_cell_read rail), got {v_cell_v!r}")
    codes = {}
    for name, v in (("set_v_start_v", set_v_start_v), ("set_v_max_v", set_v_max_v), ("reset_v_start_v", reset_v_start_v),
                    ("reset_v_max_v", reset_v_max_v), ("v_gate_set_v", v_gate_set_v), ("v_gate_reset_v", v_gate_reset_v),
                    ("v_step_v", v_step_v)):
        codes[name] = volts_code(v, name)
    if codes["set_v_start_v"] > codes["set_v_max_v"] or codes["reset_v_start_v"] > codes["reset_v_max_v"]:
        raise LimitError("v_max_v", min(set_v_max_v, reset_v_max_v), ">= start voltage", "volts")
    asked = {"set_v_max_v": set_v_max_v, "reset_v_max_v": reset_v_max_v, "v_gate_set_v": v_gate_set_v,
             "v_gate_reset_v": v_gate_reset_v}
    if ceilings is not None:
        for name, lim in (("set_v_max_v", ceilings.set_bl), ("reset_v_max_v", ceilings.reset_sl),
                          ("v_gate_set_v", ceilings.set_wl), ("v_gate_reset_v", ceilings.reset_wl)):
            if codes[name] > lim:
                raise LimitError(name, float(asked[name]), (0.0, nt.code_volts(lim, AMP_DAC)),
                                 "volts (the engine's loaded ceiling)")
    ticks = nt.width_ticks(width_s)
    if ticks > 0xFFFF or (ceilings is not None and ticks > ceilings.width_ticks):
        raise LimitError("width_s", float(width_s), (nt.TICK_S, min(0xFFFF, ceilings.width_ticks if ceilings else 0xFFFF)
                                                   * nt.TICK_S), "seconds")
    for name, val, hi in (("max_pulses", max_pulses, 0xFFFF), ("max_reversals", max_reversals, 0xFF),
                          ("max_at_ceiling", max_at_ceiling, 0xFF)):
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or not (1 if name == "max_pulses" else 0) <= val <= hi:
            raise InputError(f"{name} must be an integer in {1 if name == 'max_pulses' else 0}..{hi}, got {val!r}")
    lo = int(np.clip(np.ceil(lo_s * v_cell_v / amp_a_per_code()), 0, 0xFFFFFF))  # inside the window in S
    hi = int(np.clip(siemens_to_code(hi_s, v_cell_v), 0, 0xFFFFFF))
    if lo > hi:
        raise InputError(f"window {lo_s!r}..{hi_s!r} S holds no read code at v_cell_v={v_cell_v!r} V "
                         f"(one code is {code_to_siemens(1, v_cell_v):.3g} S)")
    return Level(lo, hi, codes["set_v_start_v"], codes["set_v_max_v"], codes["reset_v_start_v"], codes["reset_v_max_v"],
                 codes["v_gate_set_v"], codes["v_gate_reset_v"], codes["v_step_v"], ticks, int(max_pulses),
                 int(max_reversals), int(max_at_ceiling))


def _check_cells(core, row, col, level) -> tuple[np.ndarray, ...]:
    arrs = [np.asarray(a) for a in (core, row, col, level)]
    for name, a, n in zip(("core", "row", "col", "level"), arrs, (nt.CORE_ROWS * nt.CORE_COLS, 256, 256, N_LEVELS)):
        if a.dtype.kind not in "iu":
            raise InputError(f"{name} must be integers, got dtype {a.dtype}")
        if a.size and (a.min() < 0 or a.max() >= n):
            bad = a[(a < 0) | (a >= n)].ravel()[0]
            raise InputError(f"{name} {int(bad)} is outside 0..{n - 1}")
    return tuple(np.broadcast_arrays(*arrs))


def level_command(index: int, level: Level) -> list[int]:
    """LEVEL command: header and 8 words."""
    if not 0 <= index < N_LEVELS:
        raise InputError(f"level {index!r} is outside 0..{N_LEVELS - 1}")
    return [OP_LEVEL << 28 | index] + level.words()


def cell_commands(core, row, col, level=0) -> list[int]:
    """One CELL word per cell (arrays broadcast), checked: every cell on the chip, level 0..15."""
    c, r, k, lv = _check_cells(core, row, col, level)
    w = (OP_CELL << 28) | (lv.astype(np.int64) << 24) | (c.astype(np.int64) << 18) | (r.astype(np.int64) << 8) | k
    return [int(x) for x in w.ravel()]


def range_command(core, row0, col0, row1, col1, level=0) -> list[int]:
    """RANGE: every cell of rows row0..row1 x cols col0..col1 of ``core``, run by the engine alone."""
    _check_cells([core, core], [row0, row1], [col0, col1], [level, level])
    if row1 < row0 or col1 < col0:
        raise InputError(f"range rows {row0}..{row1}, cols {col0}..{col1}: the last row/col is before the first")
    return [OP_RANGE << 28 | level << 24 | core << 18 | row0 << 8 | col0, row1 << 8 | col1]


def mark_command(tag: int = 0) -> list[int]:
    return [OP_MARK << 28 | (int(tag) & 0xFFFFFFF)]


def pad16(words: list[int]) -> list[int]:
    """Pad with NOPs to whole 16-byte blocks (the pipe's unit)."""
    return list(words) + [OP_NOP] * (-len(words) % 4)


def words_bytes(words) -> bytes:
    return b"".join(int(w & 0xFFFFFFFF).to_bytes(4, "little") for w in words)


def decode_records(words) -> dict[str, np.ndarray]:
    """Result records (4 words each) as arrays: status, level, core, row, col, code, pulses, reversals,
    last_code, cell_time_s."""
    w = np.asarray(words, np.int64).reshape(-1, 4)
    r0, r1, r2, r3 = w.T
    return {"status": r0 >> 28 & 0xF, "level": r0 >> 24 & 0xF, "core": r0 >> 18 & 0x3F, "row": r0 >> 8 & 0xFF,
            "col": r0 & 0xFF, "code": r1 & 0xFFFFFF, "pulses": r2 & 0xFFFF, "reversals": r2 >> 16 & 0xFFFF,
            "last_code": r3 & 0xFFFF, "cell_time_s": (r3 >> 16 & 0xFFFF) * 128 * nt.TICK_S, "raw1": r1}
