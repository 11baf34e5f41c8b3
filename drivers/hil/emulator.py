"""The authors' bitstream (``neurram_top.v``) emulated on the twin: the FPGA, with the twin as the chip.

:class:`EmulatedBitstream` keeps what the FPGA keeps and does what its HDL
does, at the level the host can see through FrontPanel:

- wire-in registers latched on ``UpdateWireIns`` (``latch``); wire-outs read
  from :attr:`status_bits` on ``UpdateWireOuts``;
- the DAC FIFO and daisy chain (``dac_daisy_control.v``): each pushed word
  shifts the chain by one DAC (the first word of a group ends in DAC 3); on
  the update trigger every DAC executes the word it holds. A group without its
  no-ops therefore lands where it would on hardware: on the wrong DAC; a frame
  with a word for each of several DACs (the driver's rail ramps) moves them
  all at that update. Untimed: the RTL's limit of one word in the FIFO at a
  time (``dac_daisy_control.v``:164-178) holds because the host's pushes are
  a USB transaction apart (``FpgaBoard._dac_frame``); it is not modelled here.
  :attr:`node_v` maps each physical node (``neurram_top.NODES``) to its volts;
- the auto-ranging read (``auto_ranging.v`` over ``resistance_read.v``): 18-bit
  ADC codes of the TIA integrator, ranged until the end code sits in the HDL's
  window, from the twin's conductance of the selected cell at the node
  voltages present (VREAD - VREF_TIA across the cell, mux 0x0B = read);
- the program FSM (``neurram_wupdate_control.v``): the selected cell pulsed
  with VSET_BL/VSET_WL (mux SET) or VRESET_SL/VRESET_WL (mux RESET) for
  0x07 + 1 ticks; pulse done until the ack;
- the core-enable shift register (0x13/0x14) and the random-access row/column
  registers (0x03, 0x04 + trigger 0x44 bit 1).

Everything completes within the trigger that starts it (the host's USB round
trip is longer than these FSMs on hardware, except for long pulses), so a poll
finds the status bit already set. Physics belongs to the twin: the pulse and
read calls of the twin's emulated-bitstream interface (``twin.pulse_cells`` /
``twin.read_conductance_s``, :class:`~sim_backend.board.SimBoard`) get one cell at a time.

Hook points for the MVM / neuron / readout emulation (``drivers.hil._mvm_fsm``,
whose ``attach(emu)`` registers into them): :attr:`on_trigger` ``[(ep, bit)] = fn()``,
:attr:`on_pipe_in` ``[ep] = fn(data) -> int``, :attr:`on_pipe_out` ``[ep] = fn(n) -> bytes``,
:attr:`on_reset` (``fn(chip: bool)`` called on the global reset), :attr:`status_bits`
``[0x28]``, :attr:`twin`, :attr:`wire_in`, :meth:`enabled_cores`, :meth:`dac_v`, :meth:`selected`.

What the chip does with the core-enable clock is not in the HDL: this model
latches the data bit into the core whose decoder address is (swap(h), swap(v))
(``spi_control.py:313``), every row when the horizontal decoder enable (0x13
bit 6) is low and every column when the vertical one (bit 7) is low; the
authors' ``enable_single_core`` then enables exactly the one core it names.
"""

from __future__ import annotations

import numpy as np

from .. import neurram_top as nt

N_CORES = 48
_UNSWAP = [nt.unswap_addr(a) for a in range(8)]

# When resistance_read.v samples the integrator (its own reading of the HDL, not the driver's tables; the
# RTL check, drivers.rtl.diff, compares the codes to the bit). Its clock is clk_cnt[2] of the 100 MHz
# oscillator (neurram_top.v:107,116): 80 ns. Its counter starts at 0 in STATE_VIN (vin_on high) and counts
# every clock of STATE_VIN..STATE_ADC_TRIG1; STATE_VIN ends when counter[20:4] >= t_shld - 1
# (resistance_read.v:129), STATE_ADC_TRIG0 lasts one clock and adc_daisy_control.v raises convst on entering
# STATE_CONV, so the first sample is taken (t_shld - 1) * 16 + 2 clocks after vin_on; STATE_INTEG ends at
# counter[20:4] == t_shld + t_delta - 1 (:179), so the second one t_delta * 16 clocks later. The read
# voltage reaches the cell one 10 ns sys_clk after vin_on (neurram_wupdate_control.v registers vread_on
# into wupdate_pulse). A sample is 1130 ns earlier than t_shld * 1.28 us.
_RR_CLK_NS = 80
_RR_SAMPLE_CLOCKS = 2
_VIN_TO_CELL_NS = 10


# neurram_top_voltage_mode.v:285-286,315-342 wires auto_ranging.v's timing straight to resistance_read.v (no
# manual-range mux: 0x12 bit 18 does nothing) and puts no iteration count on 0x2A[26:18] (reads 0). The
# RTL check found both.
_AR_WITHOUT_MANUAL_OR_COUNT = frozenset({"neurram_top_voltage_mode"})


def _read_codes(i_a: float, v0_v: float, t_shld: int, t_delta: int) -> tuple[int, int]:
    """(start, end) ADC codes of one resistance_read.v measurement of the current ``i_a`` (A) out of the
    integrator that starts at ``v0_v`` (V) when the read voltage reaches the cell, at the HDL's sample times
    (integer ns, evaluated in the order the board model ``drivers/rtl/hdl/board.v`` does)."""
    out = []
    for units in (t_shld - 1, t_shld + t_delta - 1):
        dt_ns = float((units * 16 + _RR_SAMPLE_CLOCKS) * _RR_CLK_NS - _VIN_TO_CELL_NS)
        out.append(nt.adc_code(v0_v - i_a * dt_ns * 1.0e-9 / nt.C_INTEG_F))
    return out[0], out[1]


class EmulatedBitstream:
    """One XEM6310 running ``bitstream`` with the twin ``twin`` as its chip.

    Parameters
    ----------
    twin : SimBoard
        The physics, through its emulated-bitstream interface (``pulse_cells``, ``read_conductance_s``,
        ``drive_rails_v``, ``advance_s``; the MVM emulation adds ``rails_held_v``, ``mvm_codes``, ...).
    bitstream : str
        Top level (``neurram_top`` ...); endpoints it lacks are violations.
    strict : bool
        Refuse (``InvalidEndpoint``) calls to endpoints the top level lacks and
        triggers nobody emulates (``UnsupportedFeature``), recording each in
        :attr:`violations`; hardware would ignore them silently.
    """

    def __init__(self, twin, bitstream: str = nt.DEFAULT_BITSTREAM, strict: bool = True):
        self.twin = twin
        self.bitstream = nt.bitstream(bitstream)
        self.strict = bool(strict)
        self.wire_in = [0] * 32
        self.status_bits = {ep: 0 for ep in sorted(self.bitstream.wire_outs)}
        self.on_trigger = {}
        self.on_pipe_in = {}
        self.on_pipe_out = {}
        self.on_reset = []
        self.violations: list[str] = []
        # DACs: output and input registers per DAC/channel; the 4-word chain (index = DAC)
        self.dac_out = [[0] * nt.DAC_CHANNELS for _ in range(nt.N_DACS)]
        self.dac_in = [[0] * nt.DAC_CHANNELS for _ in range(nt.N_DACS)]
        self.chain = [0] * nt.N_DACS
        self.node_v = {name: 0.0 for name in nt.NODES.values()}
        self.dac_log: list[tuple[int, int, int]] = []  # (dac, channel, code) of every executed write, in order
        self._dac_shifting = False
        # chip registers
        self.core_enable = [False] * N_CORES
        self.rows = [dict() for _ in range(N_CORES)]  # vertical registers: address -> data
        self.cols = [dict() for _ in range(N_CORES)]  # horizontal registers
        self._written: set[int] = set()  # cores whose registers hold something
        self._enabled: list[int] = []  # cores whose enable latch is set
        self._program_done = False
        self.counts = {"pulses": 0, "reads": 0, "dac_words": 0, "dac_updates": 0, "autorange_iterations": 0}
        # one-cell arrays handed to the twin (no allocation per call)
        self._c = np.zeros(1, np.int64)
        self._r = np.zeros(1, np.int64)
        self._k = np.zeros(1, np.int64)
        self._v = np.zeros(1, np.float64)
        self._w = np.zeros(1, np.float64)
        self._g = np.zeros(1, np.float64)
        self.last_pulse = None  # (kind, cells, v, width_s, gate) of the last program pulse
        self.last_read = None  # (cells, g_s, t_shld, t_delta, iterations)
        ot = self.on_trigger
        ot[(nt.TI_SYS, nt.T_DAC_PUSH)] = self._dac_push
        ot[(nt.TI_DAC, nt.T_DAC_UPDATE)] = self._dac_update
        ot[(nt.TI_SYS, nt.T_SET)] = self._program
        ot[(nt.TI_SYS, nt.T_RESET)] = self._program
        ot[(nt.TI_SYS, nt.T_PULSE_ACK)] = self._program_ack
        ot[(nt.TI_ADC, nt.T_AUTORANGE)] = self._autorange
        ot[(nt.TI_ADC, nt.T_AUTORANGE_ACK)] = self._autorange_ack
        ot[(nt.TI_ADC, nt.T_READ)] = self._manual_read
        ot[(nt.TI_ADC, nt.T_READ_ACK)] = self._manual_read_ack
        ot[(nt.TI_SPI, nt.T_RANDOM_ACCESS)] = self._random_access
        self._reset(dac_adc=True, chip=True)

    # ----------------------------------------------------------- host side
    def latch(self, values) -> None:
        """``UpdateWireIns``: latch the 32 staged wire-in values (edges of 0x00, 0x03, 0x14 act)."""
        wi = self.wire_in
        r, c, e = values[0], values[3], values[20]
        if r != wi[0] or c != wi[3] or e != wi[20]:
            old_e = wi[20]
            wi[:] = values
            if r:
                self._reset(dac_adc=bool(r & nt.RESET_DAC_ADC), chip=bool(r & nt.RESET_CHIP))
            if c:
                self._clear(bool(c & nt.CLEAR_HORZ), bool(c & nt.CLEAR_VERT))
            if e != old_e:
                self._core_enable_edge(old_e, e)
        else:
            wi[:] = values

    def trigger(self, ep: int, bit: int) -> int:
        """``ActivateTriggerIn``: run what the trigger starts; a FrontPanel return code."""
        fn = self.on_trigger.get((ep, bit))
        if fn is not None:
            fn()
            return 0
        if self.bitstream.has("trigger", ep, bit):
            self.violations.append(f"trigger 0x{ep:02X} bit {bit} exists in {self.bitstream.name} but is not emulated")
            return -15 if self.strict else 0  # UnsupportedFeature
        self.violations.append(f"trigger 0x{ep:02X} bit {bit} does not exist in {self.bitstream.name}")
        return -9 if self.strict else 0  # InvalidEndpoint

    def pipe_in(self, ep: int, data: bytes) -> int:
        fn = self.on_pipe_in.get(ep)
        if fn is None:
            return self._missing_pipe("pipe-in", ep)
        return fn(data)

    def pipe_out(self, ep: int, n_bytes: int) -> bytes | int:
        fn = self.on_pipe_out.get(ep)
        if fn is None:
            return self._missing_pipe("pipe-out", ep)
        return fn(n_bytes)

    def _missing_pipe(self, what: str, ep: int) -> int:
        kind = "pipe_in" if what == "pipe-in" else "pipe_out"
        exists = self.bitstream.has(kind, ep)
        self.violations.append(f"{what} 0x{ep:02X} " + ("is not emulated" if exists else f"does not exist in {self.bitstream.name}"))
        return -15 if exists else -9

    # ---------------------------------------------------------- for hooks
    def enabled_cores(self) -> list[int]:
        """Cores whose enable latch is set (the 0x14 shift register)."""
        return [i for i, on in enumerate(self.core_enable) if on]

    def _enabled_changed(self) -> None:
        self._enabled = [i for i, on in enumerate(self.core_enable) if on]

    def dac_v(self, dac: int, channel: int) -> float:
        """Present output voltage (V) of ``dac`` channel ``channel``."""
        return nt.code_volts(self.dac_out[dac][channel], dac)

    def selected(self) -> list[tuple[int, int, int]]:
        """(core, row, col) of every selected cell: enabled cores, rows and columns holding the select data."""
        out = []
        for core in self._enabled:
            rows = [a for a, d in self.rows[core].items() if d == nt.RA_SELECT]
            if not rows:
                continue
            cols = [a for a, d in self.cols[core].items() if d == nt.RA_SELECT]
            out.extend((core, r, c) for r in sorted(rows) for c in sorted(cols))
        return out

    def _set_status(self, ep: int, bit: int, on: bool) -> None:
        s = self.status_bits
        s[ep] = (s[ep] | bit) if on else (s[ep] & ~bit)

    # --------------------------------------------------------------- reset
    def _reset(self, dac_adc: bool, chip: bool) -> None:
        s = self.status_bits
        if dac_adc:  # FIFO, DAC shifter, resistance_read, auto_ranging back to idle
            self._dac_shifting = False
            st = s[nt.WO_STATUS] & ~(nt.ST_DAC_FIFO_FULL | nt.ST_DAC_ACK | nt.ST_AR_VALID | nt.ST_READ_VALID)
            s[nt.WO_STATUS] = st | nt.ST_DAC_FIFO_EMPTY | nt.ST_DAC_IDLE
            for ep in (nt.WO_ADC_START, nt.WO_ADC_END, nt.WO_AR_START, nt.WO_AR_END, nt.WO_AR_TIMING):
                if ep in s:
                    s[ep] = 0
        if chip:  # weight-update FSM (and the MVM FSMs through on_reset)
            self._program_done = False
            s[nt.WO_STATUS] &= ~nt.ST_PULSE_DONE
        for fn in self.on_reset:
            fn(chip)

    # ----------------------------------------------------------------- DAC
    def _dac_push(self) -> None:
        """Trigger 0x40 bit 1: the EP FSM writes wire-in 0x01 into the FIFO; the DAC side shifts it out."""
        s = self.status_bits
        if s[nt.WO_STATUS] & nt.ST_DAC_FIFO_FULL:
            return  # EP_IDLE / EP_WR_DONE ignore a program while full
        word = self.wire_in[nt.WI_DAC]
        ch = self.chain
        ch[3], ch[2], ch[1], ch[0] = ch[2], ch[1], ch[0], word
        self.counts["dac_words"] += 1
        self._dac_shifting = True  # DAC_SHIFT_DONE until the update trigger
        s[nt.WO_STATUS] = (s[nt.WO_STATUS] | nt.ST_DAC_ACK | nt.ST_DAC_FIFO_EMPTY) & ~nt.ST_DAC_IDLE

    def _dac_update(self) -> None:
        """Trigger 0x41 bit 0: the shifter goes idle, CS rises, every DAC executes the word it holds."""
        if not self._dac_shifting:
            return
        self._dac_shifting = False
        self.counts["dac_updates"] += 1
        for dac in range(nt.N_DACS):
            word = self.chain[dac]
            cmd, chn, code = (word >> 20) & 0xF, (word >> 16) & 0xF, word & 0xFFFF
            if cmd == nt.CMD_NOP or chn >= nt.DAC_CHANNELS:
                continue
            if cmd == nt.CMD_WRITE_UPDATE:
                self.dac_in[dac][chn] = code
                self._dac_output(dac, chn, code)
            elif cmd == nt.CMD_WRITE:
                self.dac_in[dac][chn] = code
            elif cmd == nt.CMD_UPDATE:
                self._dac_output(dac, chn, self.dac_in[dac][chn])
            elif cmd == nt.CMD_WRITE_UPDATE_ALL:
                self.dac_in[dac][chn] = code
                for c in range(nt.DAC_CHANNELS):
                    self._dac_output(dac, c, self.dac_in[dac][c])
            else:
                self.violations.append(f"DAC {dac} got command 0b{cmd:04b} (channel {chn}), which the host never sends")
        self.status_bits[nt.WO_STATUS] |= nt.ST_DAC_IDLE

    def _dac_output(self, dac: int, chn: int, code: int) -> None:
        self.dac_out[dac][chn] = code
        self.dac_log.append((dac, chn, code))
        node = nt.NODES.get((dac, chn))
        if node is not None:
            self.node_v[node] = code * nt.DAC_VREF_V[dac] / 65536.0
            self._twin_rails()

    def rails_view(self) -> dict:
        """The board rails as the nodes give them (V), read through the rail table's formulas backwards:
        ``v_read_bl`` / ``v_read_sl`` the input spread ``VPOS - VNEG`` of each side (a plane drives
        ``v_ref -+ v_read / 2``), ``decr_step_v`` the decrement level ``VRESET_PLUS - VREF`` (one readout
        step: ``v_decr * 2**(2 - b)`` for ``b`` output bits)."""
        n = self.node_v
        return {"v_ref": n["VREF"], "v_read_bl": n["VPOS_BL"] - n["VNEG_BL"], "v_read_sl": n["VPOS_SL"] - n["VNEG_SL"],
                "decr_step_v": n["VRESET_PLUS"] - n["VREF"], "v_cell_read": n["VREAD"] - n["VREF_TIA"]}

    def _twin_rails(self) -> None:
        """Give the twin the rails its physics reads, from the nodes (:meth:`rails_view`): v_ref, v_cell_read
        (reads), v_read from the bit-line side; the MVM emulation hands the twin its own levels at MVM time."""
        n = self.node_v
        self.twin.drive_rails_v({"v_ref": n["VREF"], "v_cell_read": n["VREAD"] - n["VREF_TIA"],
                                 "v_read": n["VPOS_BL"] - n["VNEG_BL"]})

    # ---------------------------------------------------- core enable / regs
    def _core_enable_edge(self, old: int, new: int) -> None:
        if new & nt.CE_RESET:  # core_enable_reset_b low: every latch cleared
            self.core_enable = [False] * N_CORES
            self._enabled = []
            return
        if not (new & nt.CE_CLOCK) or (old & nt.CE_CLOCK):
            return  # only a rising clock edge shifts
        addr = self.wire_in[nt.WI_CORE_ADDRESS]
        data = bool(new & nt.CE_DATA)
        rows = [_UNSWAP[addr & 7]] if addr & nt.CA_DEC_HORZ else range(nt.CORE_ROWS)
        cols = [_UNSWAP[(addr >> 3) & 7]] if addr & nt.CA_DEC_VERT else range(nt.CORE_COLS)
        for h in rows:
            for v in cols:
                if h < nt.CORE_ROWS and v < nt.CORE_COLS:
                    self.core_enable[h * nt.CORE_COLS + v] = data
        self._enabled_changed()

    def _clear(self, horz: bool, vert: bool) -> None:
        for core in self._written:
            if horz:
                self.cols[core].clear()
            if vert:
                self.rows[core].clear()
        if horz and vert:
            self._written = set()

    def _random_access(self) -> None:
        """Trigger 0x44 bit 1: write data[9:8] into register address[7:0] of the core 0x13 addresses."""
        ra = self.wire_in[nt.WI_RANDOM_ACCESS]
        addr = self.wire_in[nt.WI_CORE_ADDRESS]
        h, v = _UNSWAP[addr & 7], _UNSWAP[(addr >> 3) & 7]
        if h >= nt.CORE_ROWS or v >= nt.CORE_COLS:
            self.violations.append(f"random access to core address 0x{addr & 0x3F:02X}, which names no core")
            return
        core = h * nt.CORE_COLS + v
        self._written.add(core)
        regs = self.rows[core] if ra & nt.RA_VERTICAL else self.cols[core]
        data = (ra >> nt.RA_DATA_SHIFT) & 3
        if data:
            regs[ra & 0xFF] = data
        else:
            regs.pop(ra & 0xFF, None)

    # ------------------------------------------------------------- program
    def _program(self) -> None:
        """Trigger 0x40 bit 2 or 3: pulse the selected cells with the voltages the mux 0x0B routes."""
        if self._program_done:
            return  # the FSM is in PROGRAM_DONE waiting for the ack
        ticks = self.wire_in[nt.WI_PULSE_WIDTH] + nt.PULSE_EXTRA_TICKS
        width_s = ticks * nt.TICK_S
        mux = self.wire_in[nt.WI_WRITE_MUX] & 3
        n = self.node_v
        if mux == nt.MUX_SET:
            kind, v, g = "set", n["VSET_BL"], n["VSET_WL"]
        elif mux == nt.MUX_RESET:
            kind, v, g = "reset", n["VRESET_SL"], n["VRESET_WL"]
        else:
            kind = None  # idle or read routing: no write voltage reaches the cell
        cells = self.selected()
        if kind is not None and v > 0.0:
            tw = self.twin
            for core, row, col in cells:
                self._c[0], self._r[0], self._k[0] = core, row, col
                self._v[0], self._w[0], self._g[0] = v, width_s, g
                tw.pulse_cells(kind, self._c, self._r, self._k, self._v, self._w, self._g)
                self.counts["pulses"] += 1
            self.last_pulse = (kind, cells, v, width_s, g)
        else:
            self.twin.advance_s(width_s)
            self.last_pulse = (None, cells, 0.0, width_s, 0.0)
        self._program_done = True
        self.status_bits[nt.WO_STATUS] |= nt.ST_PULSE_DONE

    def _program_ack(self) -> None:
        if self._program_done:
            self._program_done = False
            self.status_bits[nt.WO_STATUS] &= ~nt.ST_PULSE_DONE

    # ---------------------------------------------------------------- read
    def _cell_current_a(self) -> tuple[float, float]:
        """Current (A) into the TIA from the selected cells and the summed conductance (S)."""
        if self.wire_in[nt.WI_WRITE_MUX] & 3 != nt.MUX_READ:
            return 0.0, 0.0  # the read voltage is not routed to the array
        cells = self.selected()
        g_sum = 0.0
        tw = self.twin
        for core, row, col in cells:
            self._c[0], self._r[0], self._k[0] = core, row, col
            g_sum += float(tw.read_conductance_s(self._c, self._r, self._k)[0])
            self.counts["reads"] += 1
        self._read_cells = cells
        v_cell = self.node_v["VREAD"] - self.node_v["VREF_TIA"]
        return g_sum * v_cell, g_sum

    def _autorange(self) -> None:
        """Trigger 0x43 bit 2: auto_ranging.v over resistance_read.v, from wire-ins 0x02 and 0x12.

        With the manual-range bit (0x12 bit 18) resistance_read.v measures at the 0x02 timing every time
        (neurram_top.v:286-287 mux only its t_shld/t_delta), but auto_ranging.v still ranges its own copy and
        iterates until that copy leaves 10 < t_delta < 30000 or the end code sits in the window: the same
        measurement repeated (12 times from t_delta 20 when the code stays high), all counted in 0x2A[26:18].
        0x2B shows the timing measured with (the 0x02 one in manual mode). The RTL check found the count."""
        s = self.status_bits
        if s[nt.WO_STATUS] & nt.ST_AR_VALID:
            return  # STATE_VALID waits for the ack
        timing = self.wire_in[nt.WI_READ_TIMING]
        vref_word = self.wire_in[nt.WI_AUTORANGE_VREF]
        t_shld, t_delta = timing & 0xFFFF, (timing >> 16) & 0xFFFF  # auto_ranging.v's own copy
        m_shld, m_delta = t_shld, t_delta  # what resistance_read.v measures with
        vref = vref_word & nt.ADC_CODE_MAX
        plain = self.bitstream.name in _AR_WITHOUT_MANUAL_OR_COUNT
        manual = bool(vref_word & nt.AUTORANGE_MANUAL) and not plain
        i_a, g_s = self._cell_current_a()
        v0 = self.node_v["VREF_TIA"]  # the integrator starts at the TIA reference and falls with the current
        it = 0
        while True:
            if not manual:
                m_shld, m_delta = t_shld, t_delta
            d1, d2 = _read_codes(i_a, v0, m_shld, m_delta)
            it += 1
            if not (nt.T_DELTA_MIN < t_delta < nt.T_DELTA_MAX):
                break
            if vref > d2:
                if (vref // 3) * 2 < d2:
                    t_shld, t_delta = (t_shld << 1) & 0xFFFF, (t_delta << 1) & 0xFFFF
                elif vref // 9 > d2:
                    t_shld, t_delta = t_shld >> 1, t_delta >> 1
                else:
                    break
            else:
                if (vref // 3) * 4 > d2:
                    t_shld, t_delta = (t_shld << 1) & 0xFFFF, (t_delta << 1) & 0xFFFF
                elif (vref // 9) * 17 < d2:
                    t_shld, t_delta = t_shld >> 1, t_delta >> 1
                else:
                    break
        self.counts["autorange_iterations"] += it
        s[nt.WO_AR_START] = d1
        s[nt.WO_AR_END] = d2 if plain else d2 | ((it & 0xFF) << 18)
        s[nt.WO_AR_TIMING] = (m_shld & 0xFFFF) | ((m_delta & 0xFFFF) << 16)
        s[nt.WO_STATUS] |= nt.ST_AR_VALID
        self.last_read = (getattr(self, "_read_cells", []), g_s, m_shld, m_delta, it)

    def _autorange_ack(self) -> None:
        self.status_bits[nt.WO_STATUS] &= ~nt.ST_AR_VALID

    def _manual_read(self) -> None:
        """Trigger 0x43 bit 0: one resistance_read.v measurement at the 0x02 timing (codes on 0x21/0x22, 0x20 bit 8).

        No cell current: the program FSM, which puts the read voltage on the chip (``wupdate_pulse <=
        vread_on`` in its STATE_READ), enters STATE_READ only on the auto-range trigger (neurram_top.v:587
        wires ``read_trigger`` to ``auto_range_trigger``), so the manual read samples the integrator at rest
        (both codes the TIA reference) and the cell is not read. The RTL check found this."""
        s = self.status_bits
        if s[nt.WO_STATUS] & nt.ST_READ_VALID:
            return  # STATE_HOLD waits for the ack
        timing = self.wire_in[nt.WI_READ_TIMING]
        t_shld, t_delta = timing & 0xFFFF, (timing >> 16) & 0xFFFF
        s[nt.WO_ADC_START], s[nt.WO_ADC_END] = _read_codes(0.0, self.node_v["VREF_TIA"], t_shld, t_delta)
        s[nt.WO_STATUS] |= nt.ST_READ_VALID

    def _manual_read_ack(self) -> None:
        self.status_bits[nt.WO_STATUS] &= ~nt.ST_READ_VALID
