"""The write-verify engine of ``neurram_top_wv`` (gateware/hdl/wv_engine.v) emulated on the twin.

:func:`attach` registers the engine's endpoints (drivers/_wv_engine.py) on an
:class:`~drivers.hil.emulator.EmulatedBitstream` whose bitstream is ``neurram_top_wv``. A start
(trigger 0x46 bit 0) runs the command FIFO to empty within the trigger, as the other emulated FSMs do:
each step drives the emulator's own models of the authors' instances (the DAC chain by four pushes and
an update, the auto-ranged read, the pulse FSM, the random-access registers) the way the engine's states
drive their nets, so the twin sees the same pulses and reads as on the RTL. The engine's decisions are
those of wv_engine.v state by state (S_DECIDE, S_AMP/S_GATE shadows, refusals of S_CHECK, records of
S_RES). The host's wire-ins are restored when the run ends (the engine owns the nets only while busy).

Board time: :func:`cell_clocks` counts the engine's clocks from the waits of its states (STEP_WAIT,
RA_WAIT, DAC_TAIL, the DAC words at board_time's 35 DAC clocks (sys/16) each, the reads' t_shld + t_delta
per ranging iteration, the 24-clock division, the pulse), kept per cell in r3 as on the RTL and in
:attr:`WvFsm.busy_clocks`.
"""

from __future__ import annotations

import numpy as np

from .. import _wv_engine as wv
from .. import neurram_top as nt
from ..board_time import ADC_CONVERSION_S, DAC_WORD_S, SYS_TICK_S, autorange_s

STEP_WAIT, RA_WAIT, DAC_TAIL = 16, 48, 560
NOP_WORD = 0x00F00000
READ_UNIT_CLOCKS = 128  # 1.28 us of sys_clk
DIVIDE_CLOCKS = 24  # S_R4, one quotient bit a clock
# One DAC group of the engine (wv_engine.v S_D0..S_D7, S_D4, S_D5) in sys clocks, from the states and the
# authors' DAC FSM (dac_daisy_control.v), with board_time's word of 35 DAC clocks (1 seeing the FIFO not
# empty, :160/:200; 2 in DAC_RD_EN, :164-177; 32 in DAC_SHIFT, :180-190) at dac_clk = sys / 16:
# - the first word: S_D0, S_D1 and its 3-clock wait, S_D2 (6 clocks); the FIFO's write pointer reaching the
#   read side (3 DAC clocks, xilinx_fifos.v's two-flop synchroniser and the edge after), the DAC FSM seeing
#   it and popping it in DAC_RD_EN (2 DAC clocks), the engine's 2-flop sync of fifo_empty (2 clocks);
# - each of the three later words: pushed while the one before shifts (S_D7 pushes again on the pop), so
#   popped one DAC word (35 DAC clocks) after it;
# - after the last pop: S_D7 seeing it (2-clock sync), DAC_TAIL (the word's 32 bits shift out, :201 needs an
#   empty FIFO in SHIFT_DONE), S_D4 and its 96-clock wait (the update's crossing and idle's sync land inside
#   it), S_D5 (1).
SYS_PER_DAC_CLOCK = 16
DAC_WORD_CLOCKS = round(DAC_WORD_S / SYS_TICK_S)  # 560: board_time's 35 DAC clocks a word
DAC_FIRST_WORD_CLOCKS = 6 + (3 + 2) * SYS_PER_DAC_CLOCK + 2
DAC_GROUP_CLOCKS = DAC_FIRST_WORD_CLOCKS + 3 * DAC_WORD_CLOCKS + 2 + DAC_TAIL + 1 + 96 + 1
# S_R0 wait, S_R1 wait, division, sync and ack, and READ_FIT_CLOCKS, fitted (least squares) to the RTL bench's
# unranged reads with the DAC group above fixed (test_wv_engine_sim, residuals under r3's 128-clock unit).
READ_FIT_CLOCKS = 149
READ_OVERHEAD_CLOCKS = 16 + 64 + DIVIDE_CLOCKS + 28 + READ_FIT_CLOCKS
ITER_OVERHEAD_CLOCKS = 120  # resistance_read's reset and ADC conversions; 8 x 40 before, fitted to the RTL bench (test_wv_engine_sim's differential test)
SELECT_CLOCKS = 2 * STEP_WAIT + 2 * RA_WAIT + 2 * STEP_WAIT
CORE_CLOCKS = 2 * STEP_WAIT + 3 * 3 * STEP_WAIT + STEP_WAIT
PULSE_CLOCKS = STEP_WAIT + 4 + 4 + STEP_WAIT + 8


class WvFsm:
    """The engine's state: FIFOs, level table, ceilings, diagnostics (wire-outs 0x23-0x27)."""

    def __init__(self, emu):
        self.emu = emu
        self.cmd: list[int] = []
        self.res: list[int] = []
        self.levels: dict[int, list[int]] = {}
        self.fault = self.guard_trip = False
        self.refused_n = self.cells = self.pulses = 0
        self.hiwater = self.blocked = 0
        self.busy_clocks = 0
        self.cur_core = None
        self.shadow: dict[int, int] = {}
        self.last_cell = 0
        self._status()

    # ------------------------------------------------------------ endpoints
    def attach(self) -> "WvFsm":
        e = self.emu
        e.on_pipe_in[nt.PI_ENGINE_COMMANDS] = self.pipe_in
        e.on_pipe_out[nt.PO_ENGINE_RESULTS] = self.pipe_out
        e.on_trigger[(nt.TI_ENGINE, nt.T_ENGINE_START)] = self.start
        e.on_trigger[(nt.TI_ENGINE, nt.T_ENGINE_ABORT)] = lambda: None  # runs finish within their start trigger
        e.on_trigger[(nt.TI_ENGINE, nt.T_ENGINE_CLEAR)] = self.clear
        e.on_reset.append(lambda chip: None)
        return self

    def pipe_in(self, data: bytes) -> int:
        words = np.frombuffer(bytes(data), "<u4").tolist()
        room = wv.CMD_FIFO_WORDS - len(self.cmd)
        self.cmd.extend(words[:room])
        self._status()
        return 4 * min(len(words), room)

    def pipe_out(self, n_bytes: int) -> bytes:
        n = int(n_bytes) // 4
        out, self.res = self.res[:n], self.res[n:]
        out += [0] * (n - len(out))  # an empty FIFO reads as zeros
        self._status()
        return wv.words_bytes(out)

    def clear(self) -> None:
        self.fault = self.guard_trip = False
        self.refused_n = self.cells = self.pulses = self.hiwater = self.blocked = self.busy_clocks = 0
        self._status()

    def _status(self) -> None:
        s = self.emu.status_bits
        s[nt.WO_ENGINE_STATUS] = ((not self.cmd) << 1 | (len(self.res) >= 4 * wv.RES_FIFO_RECORDS) << 2
                                  | self.fault << 3 | self.guard_trip << 4 | (self.refused_n & 0xFFFF) << 16)
        s[nt.WO_ENGINE_RECORDS], s[nt.WO_ENGINE_PULSES], s[nt.WO_ENGINE_CELL] = self.cells, self.pulses, self.last_cell
        s[nt.WO_ENGINE_DAC] = self.hiwater | self.blocked << 16

    # ----------------------------------------------------------------- run
    def start(self) -> None:
        if self.fault or self.guard_trip:
            return
        e = self.emu
        wi = e.wire_in
        lim = wi[nt.WI_ENGINE_LIM_SET], wi[nt.WI_ENGINE_LIM_RESET], wi[nt.WI_ENGINE_LIM_WIDTH] & 0xFFFFFF
        self.lim = {"set_bl": lim[0] & 0xFFFF, "set_wl": lim[0] >> 16, "reset_sl": lim[1] & 0xFFFF,
                    "reset_wl": lim[1] >> 16, "width": lim[2]}
        self.cur_core, self.shadow = None, {}
        saved = list(wi)
        try:
            while self.cmd and not self.fault:
                self._command()
        finally:
            wi[:] = saved
            self._status()

    def _pop(self) -> int | None:
        return self.cmd.pop(0) if self.cmd else None

    def _command(self) -> None:
        w = self._pop()
        op = w >> 28
        if op == wv.OP_LEVEL:
            body = [self._pop() for _ in range(8)]
            if None in body:  # the engine waits for the rest; here the host sent a torn command
                return
            self.levels[w & 0xF] = body
        elif op in (wv.OP_CELL, wv.OP_RANGE):
            lvl, core, row, col = w >> 24 & 0xF, w >> 18 & 0x3F, w >> 8 & 0xFF, w & 0xFF
            row1, col1 = row, col
            if op == wv.OP_RANGE:
                w2 = self._pop()
                if w2 is None:
                    return
                row1, col1 = w2 >> 8 & 0xFF, w2 & 0xFF
            self._job(lvl, core, row, col, row1, col1, op == wv.OP_RANGE)
        elif op == wv.OP_MARK:
            self.res += [wv.OP_MARK << 28 | (w & 0xFFFFFFF), self.cells, self.busy_clocks & 0xFFFFFFFF,
                         self.busy_clocks >> 32 & 0xFFFF]

    def _job(self, lvl, core, row, col, row1, col1, is_range) -> None:
        words = self.levels.get(lvl, [0] * 8)
        j = {"lo": words[0] & 0xFFFFFF, "hi": words[1] & 0xFFFFFF, "set_start": words[2] & 0xFFFF,
             "set_max": words[2] >> 16, "rst_start": words[3] & 0xFFFF, "rst_max": words[3] >> 16,
             "g_set": words[4] & 0xFFFF, "g_rst": words[4] >> 16, "step": words[5] & 0xFFFF, "width": words[5] >> 16,
             "max_pulses": words[6] & 0xFFFF, "max_rev": words[6] >> 16 & 0xFF, "max_stall": words[6] >> 24 & 0xFF,
             "t0": words[7]}
        L = self.lim
        bits = (core >= nt.CORE_ROWS * nt.CORE_COLS, lvl not in self.levels, j["lo"] > j["hi"],
                j["set_start"] > j["set_max"], j["rst_start"] > j["rst_max"], j["set_max"] > L["set_bl"],
                j["rst_max"] > L["reset_sl"], j["g_set"] > L["set_wl"], j["g_rst"] > L["reset_wl"], j["width"] == 0,
                j["width"] > L["width"], j["max_pulses"] == 0, is_range and (row1 < row or col1 < col))
        mask = sum(1 << i for i, b in enumerate(bits) if b)
        head = lvl << 24 | core << 18 | row << 8 | col
        if mask:
            self.refused_n += 1
            self.cells += 1
            self.res += [wv.ST_REFUSED << 28 | head, mask, 0, 0]
            return
        r, k = row, col
        while True:  # S_NEXT: the rectangle row by row
            self._cell(j, lvl, core, r, k)
            if r == row1 and k == col1 or not is_range:
                break
            r, k = (r + 1, col) if k == col1 else (r, k + 1)

    def _cell(self, j, lvl, core, row, col) -> None:
        e = self.emu
        self.last_cell = lvl << 28 | core << 22 | row << 8 | col
        clocks = 0
        if self.cur_core != core:
            e.core_enable = [i == core for i in range(len(e.core_enable))]
            e._enabled_changed()
            self.cur_core = core
            clocks += CORE_CLOCKS
        e._clear(True, True)  # S_SEL0: clear_regs
        e.rows[core][row] = nt.RA_SELECT
        e.cols[core][col] = nt.RA_SELECT
        e._written.add(core)
        clocks += SELECT_CLOCKS
        timing = j["t0"]
        pol_set = pulsed = False
        v = rev = npulse = stall = 0
        while True:
            q, timing, c = self._read(timing)
            clocks += c
            in_win = j["lo"] <= q <= j["hi"]
            want_set = q < j["lo"]
            flip = pulsed and pol_set != want_set
            rev_n = rev + flip
            rev = rev_n
            status = None
            if in_win:
                status = wv.ST_OK
            elif rev_n > j["max_rev"]:
                status = wv.ST_GAVE_UP
            elif stall >= j["max_stall"] and not flip:
                status = wv.ST_CEILING
            elif npulse >= j["max_pulses"]:
                status = wv.ST_MAX_PULSES
            if status is not None:
                break
            vmax = j["set_max"] if want_set else j["rst_max"]
            restart = not pulsed or flip
            v_up = v + j["step"]
            v = (j["set_start"] if want_set else j["rst_start"]) if restart else min(v_up, vmax)
            climbing = not restart and v >= vmax
            pol_set, pulsed = want_set, True
            stall = stall + 1 if climbing else 0
            for ch, code in ((0, v), (1, j["g_set"])) if pol_set else ((2, v), (3, j["g_rst"])):
                if self.shadow.get(ch) != code:
                    clocks += self._dac(ch, code)
            clocks += self._pulse(pol_set, j["width"])
            npulse += 1
        self.busy_clocks += clocks
        self.cells += 1
        t = clocks >> 7
        t = 0xFFFF if clocks >> 23 else t & 0xFFFF
        self.res += [status << 28 | lvl << 24 | core << 18 | row << 8 | col, q & 0xFFFFFF, (rev & 0xFFFF) << 16 | npulse,
                     t << 16 | v]

    def _read(self, timing: int) -> tuple[int, int, int]:
        """S_R0..S_R5: one auto-ranged read through the emulator's auto_ranging model; (code, ranged timing, clocks)."""
        e = self.emu
        wi = e.wire_in
        wi[nt.WI_READ_TIMING] = timing
        wi[nt.WI_WRITE_MUX] = (wi[nt.WI_WRITE_MUX] & ~3) | nt.MUX_READ
        e._autorange()
        s = e.status_bits
        d1, d2w, ranged = s[nt.WO_AR_START] & nt.ADC_CODE_MAX, s[nt.WO_AR_END], s[nt.WO_AR_TIMING]
        d2, it = d2w & nt.ADC_CODE_MAX, d2w >> 18 & 0xFF
        e._autorange_ack()
        wi[nt.WI_WRITE_MUX] &= ~3
        t_delta = ranged >> 16 & 0xFFFF
        q = (((d1 - d2) << 6) & 0xFFFFFF) // t_delta if d1 > d2 and t_delta else 0
        if d2 == 0:  # S_R3: the integrator reached the ADC floor: saturated (no division)
            q = wv.READ_SATURATED
        # ranging: every iteration integrates t_shld + t_delta of the timing it used, from the start timing
        # doubling or halving to the ranged one (board_time.autorange_s's path, less its ADC conversions)
        units = (autorange_s(timing & 0xFFFF, timing >> 16 & 0xFFFF, it, ranged & 0xFFFF, t_delta)
                 - max(it, 1) * ADC_CONVERSION_S) / nt.READ_UNIT_S
        clocks = (READ_OVERHEAD_CLOCKS - (DIVIDE_CLOCKS if d2 == 0 else 0) + it * ITER_OVERHEAD_CLOCKS
                  + int(round(units)) * READ_UNIT_CLOCKS)
        return q, ranged, clocks

    def _dac(self, ch: int, code: int) -> int:
        """S_D0..S_D5: the word and three no-ops through the emulator's DAC chain, then the update."""
        e = self.emu
        word = nt.CMD_WRITE_UPDATE << 20 | ch << 16 | code
        for w in (word, NOP_WORD, NOP_WORD, NOP_WORD):
            e.wire_in[nt.WI_DAC] = w
            e._dac_push()
        e._dac_update()
        self.shadow[ch] = code
        self.hiwater = max(self.hiwater, code)
        return DAC_GROUP_CLOCKS

    def _pulse(self, pol_set: bool, width: int) -> int:
        """S_P0..S_P3: one pulse through the emulator's program FSM (width ticks, held width - 1 + 1)."""
        e = self.emu
        wi = e.wire_in
        wi[nt.WI_PULSE_WIDTH] = width - nt.PULSE_EXTRA_TICKS
        wi[nt.WI_WRITE_MUX] = (wi[nt.WI_WRITE_MUX] & ~3) | (nt.MUX_SET if pol_set else nt.MUX_RESET)
        e._program()
        e._program_ack()
        wi[nt.WI_WRITE_MUX] &= ~3
        self.pulses += 1
        return PULSE_CLOCKS + width


def attach(emu) -> WvFsm:
    """Register the engine on ``emu`` (a ``neurram_top_wv`` bitstream); returns it."""
    fsm = WvFsm(emu)
    emu.wv_fsm = fsm
    return fsm.attach()
