"""The board around the FPGA, host side of the simulation: the pin events decoded, the chip's digital state
mirrored, the twin's physics applied.

Event layouts (``hdl/board.v``; kind in bits 63:60, fields from bit 0 up):

===== ============ ==========================================================================
kind  what         fields
===== ============ ==========================================================================
1     DAC output   code[15:0], command[19:16], channel[23:20], dac[25:24]
2     register     address (addr_local)[7:0], data (select_write_reg)[9:8], addr_vert[12:10],
                   addr_horz[15:13], write-enable horizontal[16], vertical[17]
3     clear        horizontal[0], vertical[1]
4     core enable  addr_vert[2:0], addr_horz[5:3], decoder enable horizontal[6], vertical[7],
      clock edge   data (core_enable_in)[8]
5     core enable reset
6     pulse        width (ps)[39:0], wupdate_mode[40], vupdate_config[42:41] at its start
7     ADC sample   code[17:0]
8     DAC frame    SCK edges while CS was low[7:0], DAC clocks dac_daisy_control's FSM worked[39:8]
9     DAC CS low   (none: the frame's start)
10    sample burst trigger_in pulses[15:0], burst index[31:16], pins at its start[36:32]:
                   ext_1n_sl_sel[32], ext_1n_bl_sel[33], ext_1n[34], forward[35], inference_mode[36];
                   dated at its first pulse
12    LFSR pulse   sw_in_sample high time with lfsr_mode (ps)[39:0], sw_integ pulses then[47:40],
                   inference_mode high in the window[48]; logged when lfsr_mode falls
13    LFSR set     (none: lfsrhorz_set_b fell)
14    LFSR shift   lfsrhorz_clk rising edges[9:0]; logged when lfsr_control.v starts its pipe-out FIFO
===== ============ ==========================================================================

The scan chains (board.v): at each burst's first pulse the bench reads every core row's two chains; at the
neurons' first comparator write after a burst it asks :meth:`ChipSide.convert` for the comparator tables. An
MVM burst (inference_mode high) samples, for every enabled core, its input register: V of the core's column
forward (bit-line inputs), H backward, line ``l`` at bit ``l`` of the register, value lane 1 - lane 0 (+1 / -1
drivers); its charge ``q = sum(pulses * plane)`` over the bursts since the last conversion is one vector, and
the twin converts it as ``hil://`` does (:meth:`drivers.hil._mvm_fsm.MvmFsm._mvm_codes`, the neurons the FPGA's
mask enables: the design's ``y_addr``, so that the twin is asked the same question; the other neurons'
comparators read 0, the emulator's assumption). A neuron-test burst (inference off, ext_1n on) samples the
external line: the bit-line input level with ext_1n_bl_sel, the source-line one with ext_1n_sl_sel. A
neuron's comparator reads its sign until the write at which it flips (``codes_to_flips``). On a top in
:data:`UNCONVERTED_TOPS` (voltage mode) nothing is converted: every comparator reads 0 and each burst is
recorded as an effect ``("unconverted_sample", top, pulses, pins)``; that top ties inference_mode low
(``neurram_top_voltage_mode.v:375``), so the pins do not tell its MVM bursts from the neuron test, and its
neurons sample the line's settled voltage with the word lines on (``neuron_control_voltage_mode.v:265-350``),
which the twin does not model.

How the chip decodes its core address is not in the HDL: :class:`ChipSide` latches the core-enable data
into the core whose decoder address is (addr_horz, addr_vert) through the authors' swap
(``spi_control.py:313``; every row / column when that decoder is disabled), writes a register of the core
(addr_horz, addr_vert) names, and clears every core's horizontal / vertical registers on a clear, as the
emulator (``drivers.hil.emulator``) assumes. Which DAC channel reaches which node, and which mux setting
routes which node to the cell, is the carrier board's: :data:`drivers.neurram_top.NODES` and the host
code's mux values (``MUX_SET`` / ``MUX_RESET`` / ``MUX_READ``).
"""

from __future__ import annotations

import numpy as np

from .. import neurram_top as nt

EV_DAC, EV_REG, EV_CLEAR, EV_CE_CLK, EV_CE_RESET, EV_PULSE, EV_ADC, EV_FRAME, EV_CS_LOW, EV_SAMPLE, EV_OVERFLOW = (
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15)
EV_LFSR_PULSE, EV_LFSR_SET, EV_LFSR_SHIFT = 12, 13, 14
LFSR_WINDOW_BITS = 512  # bits of each chain the bench puts on lfsr_out at a shift trigger (board.v)
N_CORES = nt.CORE_ROWS * nt.CORE_COLS
# Tops whose neurons' samples the twin cannot convert: neurram_top_voltage_mode.v ties inference_mode low (:375)
# and its neuron controller samples the bit/source line's settled voltage with the word lines on
# (neuron_control_voltage_mode.v:265-350), not the charge the input pulses move (docs/board_protocol.md)
UNCONVERTED_TOPS = frozenset({"neurram_top_voltage_mode"})
DAC_CLK_PS = 160_000  # dac_clk = clk_cnt[3] of the 100 MHz system clock (neurram_top.v:108,115)
_UNSWAP = [nt.unswap_addr(a) for a in range(8)]


def decode(word: int) -> tuple:
    """(kind, fields...) of one event word."""
    kind = word >> 60
    if kind == EV_DAC:
        return kind, (word >> 24) & 3, (word >> 20) & 0xF, (word >> 16) & 0xF, word & 0xFFFF
    if kind == EV_REG:
        return (kind, bool(word >> 17 & 1), bool(word >> 16 & 1), (word >> 13) & 7, (word >> 10) & 7,
                (word >> 8) & 3, word & 0xFF)
    if kind == EV_CLEAR:
        return kind, bool(word & 1), bool(word >> 1 & 1)
    if kind == EV_CE_CLK:
        return kind, bool(word >> 8 & 1), bool(word >> 7 & 1), bool(word >> 6 & 1), (word >> 3) & 7, word & 7
    if kind == EV_PULSE:
        return kind, (word >> 41) & 3, bool(word >> 40 & 1), word & ((1 << 40) - 1)
    if kind == EV_ADC:
        return kind, word & 0x3FFFF
    if kind == EV_FRAME:
        return kind, word & 0xFF, (word >> 8) & 0xFFFFFFFF
    if kind == EV_SAMPLE:
        return kind, word & 0xFFFF, (word >> 16) & 0xFFFF, (word >> 32) & 0x1F
    if kind == EV_LFSR_PULSE:
        return kind, word & ((1 << 40) - 1), (word >> 40) & 0xFF, bool(word >> 48 & 1)
    if kind == EV_LFSR_SHIFT:
        return kind, word & 0x3FF
    return (kind,)


_BITS = np.arange(8, dtype=np.uint8)


def _lane_bits(x: int) -> np.ndarray:
    """The 3072 bits of a chain (bit ``reg * 256 + line``) as (12, 256) uint8."""
    b = np.frombuffer(int(x).to_bytes(384, "little"), np.uint8)
    return np.unpackbits(b, bitorder="little").reshape(12, 256)


def _pack(bits: np.ndarray) -> int:
    return int.from_bytes(np.packbits(np.asarray(bits, np.uint8), bitorder="little").tobytes(), "little")


def _pack_flips(flip: np.ndarray) -> int:
    """256 flip steps, 7 bits each, neuron ``l`` at bits ``7 l`` (board.v ``cmp_flip``)."""
    v = 0
    for i, f in enumerate(np.asarray(flip, np.int64).tolist()):
        v |= (f & 0x7F) << (7 * i)
    return v


class _ConvShim:
    """What :meth:`MvmFsm._mvm_codes` / ``_neuron_codes`` use of an emulated bitstream, from the pins."""

    class _Emu:
        def __init__(self, chip):
            self.chip, self.twin = chip, chip.twin

        def dac_v(self, dac, channel):
            return nt.code_volts(self.chip.dac_code.get((dac, channel), 0), dac)

    class _Row:
        def __init__(self, y):
            self.y_addr = y

    def __init__(self, chip, y_addr, forward):
        from ..hil._mvm_fsm import MvmFsm

        self.emu = self._Emu(chip)
        self.rows = [self._Row(np.unpackbits(np.frombuffer(int(y).to_bytes(48, "little"), np.uint8),
                                             bitorder="little")[:256].astype(bool)) for y in y_addr]
        self.last_request = None
        self.lfsr_noise_v = chip.lfsr_noise_v  # the LFSR pulses' charge on each core's integrators (used up here)
        self._fwd = bool(forward)
        self._with_lfsr_noise = lambda cores, fn: MvmFsm._with_lfsr_noise(self, cores, fn)
        self._step_v = lambda: MvmFsm._step_v(self)
        self._twin_call = lambda fn: MvmFsm._twin_call(self, fn)

    def _forward(self):
        return self._fwd


class ChipSide:
    """The board's DACs and the chip's digital state, from the pin events; the twin behind them.

    Parameters
    ----------
    twin : SimBoard
        The physics (its ``_pulse`` / ``_read`` / ``_wait`` hooks, one cell at a time, as ``hil://`` calls them).

    Attributes
    ----------
    dac_code : dict of (dac, channel) -> int
    effects : list of tuple
        What reached the pins, in order: ``("dac", dac, channel, code)`` per output update,
        ``("pulse", kind, cells, width_ns, amplitude_v, gate_v)`` per program pulse,
        ``("frame_bits", n)`` for a DAC frame that is not four words.
    """

    def __init__(self, twin, top: str = "neurram_top"):
        self.twin = twin
        self.top = top  # the simulated top level: in UNCONVERTED_TOPS no sample is converted
        self.dac_code = {}
        self.core_enable = np.zeros(N_CORES, bool)
        self.rows = [dict() for _ in range(N_CORES)]
        self.cols = [dict() for _ in range(N_CORES)]
        self.effects: list[tuple] = []
        self.adc_codes: list[int] = []
        self.lost_events = False
        self.mux = 0  # vupdate_config as the last pulse event saw it
        # FPGA work seen on the pins (ps): DAC frames (CS low to high), program pulses, read windows
        # (wupdate_pulse high with the mux at read: vin_on, one iteration each); for drivers.board_time
        self.busy_ps = {"dac": 0, "pulse": 0, "read": 0, "dac_frame": 0}
        self._cs_low_ps = None
        self._c = np.zeros(1, np.int64)
        self._r = np.zeros(1, np.int64)
        self._k = np.zeros(1, np.int64)
        self.bursts: dict[int, tuple[int, int]] = {}  # burst index -> (pulses, pins) since the last conversion
        self.conversions = 0
        self.lfsr_noise_v: dict[int, np.ndarray] = {}  # core -> LFSR pulses' charge on its integrators (V)
        self._noise_ps: dict[int, int] = {}  # core -> time of its last LFSR pulse (ps)

    # ------------------------------------------------------------ events
    def take(self, events) -> None:
        """Apply pin events ``[(word, time_ps), ...]`` in order."""
        for word, t_ps in events:
            ev = decode(word)
            kind = ev[0]
            if kind == EV_CS_LOW:
                self._cs_low_ps = t_ps
                continue
            if kind == EV_DAC:
                _, dac, ch, _cmd, code = ev
                if ch < nt.DAC_CHANNELS:
                    self.dac_code[(dac, ch)] = code
                    self.effects.append(("dac", dac, ch, code))
            elif kind == EV_FRAME:
                if self._cs_low_ps is not None:  # CS low to high: includes the waits for the host's words
                    self.busy_ps["dac_frame"] += t_ps - self._cs_low_ps
                    self._cs_low_ps = None
                self.busy_ps["dac"] += ev[2] * DAC_CLK_PS  # the FSM's own clocks (hdl/board.v dac_busy_clk)
                if ev[1] != 32 * nt.N_DACS:
                    self.effects.append(("frame_bits", ev[1]))
            elif kind == EV_REG:
                self._register(*ev[1:])
            elif kind == EV_CLEAR:
                for core in range(N_CORES):
                    if ev[1]:
                        self.cols[core].clear()
                    if ev[2]:
                        self.rows[core].clear()
            elif kind == EV_CE_CLK:
                self._core_enable(*ev[1:])
            elif kind == EV_CE_RESET:
                self.core_enable[:] = False
            elif kind == EV_PULSE:
                self._pulse(*ev[1:])
            elif kind == EV_ADC:
                self.adc_codes.append(ev[1])
            elif kind == EV_SAMPLE:
                self.bursts[ev[2]] = (ev[1], ev[3])
                for core in [c for c, t in self._noise_ps.items() if t < t_ps]:  # sampled after the pulse: a CDS
                    self.lfsr_noise_v.pop(core, None)
                    del self._noise_ps[core]
            elif kind == EV_LFSR_SET:
                self._lfsr_preset()
            elif kind == EV_LFSR_SHIFT:
                self._lfsr_shift(ev[1])
            elif kind == EV_LFSR_PULSE:
                self._lfsr_pulse(ev[1], ev[2], ev[3], t_ps)
            elif kind == EV_OVERFLOW:
                self.lost_events = True

    def _register(self, vert, horz, addr_h, addr_v, data, addr) -> None:
        h, v = _UNSWAP[addr_h], _UNSWAP[addr_v]
        if h >= nt.CORE_ROWS or v >= nt.CORE_COLS:
            return
        core = h * nt.CORE_COLS + v
        for on, regs in ((vert, self.rows[core]), (horz, self.cols[core])):
            if on:
                if data:
                    regs[addr] = data
                else:
                    regs.pop(addr, None)

    def _core_enable(self, data, dec_v, dec_h, addr_h, addr_v) -> None:
        rows = [_UNSWAP[addr_h]] if dec_h else range(nt.CORE_ROWS)
        cols = [_UNSWAP[addr_v]] if dec_v else range(nt.CORE_COLS)
        for h in rows:
            for v in cols:
                if h < nt.CORE_ROWS and v < nt.CORE_COLS:
                    self.core_enable[h * nt.CORE_COLS + v] = data

    # ------------------------------------------------------------ LFSR
    def _lfsr_driver(self):
        """The core whose LFSR chains drive lfsr_out: the one enabled core (with several or none, which the
        chip's output mux picks is not published: none, the pins read 0, as ``hil://`` answers)."""
        cores = np.flatnonzero(self.core_enable).tolist()
        return cores[0] if len(cores) == 1 else None

    def lfsr_bits(self) -> tuple[int, int]:
        """The next :data:`LFSR_WINDOW_BITS` bits of the driving core's two chains on lfsr_out, bit ``k``
        after ``k`` clocks, as ints (chain A's, chain B's); the chains themselves move at the shift event."""
        import copy

        core = self._lfsr_driver()
        if core is None:
            return 0, 0
        bits = copy.deepcopy(self.twin.circuit.core(core).lfsr).shift_out(LFSR_WINDOW_BITS)
        return _pack(bits[:, 0]), _pack(bits[:, 1])

    def _lfsr_preset(self) -> None:
        for c in range(N_CORES):
            self.twin.circuit.core(c).lfsr.preset()
        self.effects.append(("lfsr_preset",))

    def _lfsr_shift(self, n: int) -> None:
        core = self._lfsr_driver()
        if core is not None:
            self.twin.circuit.core(core).lfsr.shift_out(n)
        self.effects.append(("lfsr_shift", core, int(n)))

    def _lfsr_pulse(self, sample_ps: int, integrations: int, inference: bool, t_ps: int) -> None:
        """An LFSR pulse on the pins: where the neurons sampled VPLFSR / VNLFSR (sample_ps > 0) and the neuron
        FSM integrated it, each enabled core's neurons get the twin's LFSR charge (the model ``hil://`` uses,
        :meth:`drivers.hil._mvm_fsm.MvmFsm.lfsr_pulse_trigger`, from the DAC pins' levels)."""
        from neurram_lab.sim_backend.neuron import cs_over_ci

        cores = np.flatnonzero(self.core_enable).tolist()
        if sample_ps > 0 and integrations > 0 and not inference:
            circuit = self.twin.circuit
            cg = cs_over_ci(circuit.p)
            v_pos, v_neg, v_ref = self.volts("VPLFSR"), self.volts("VNLFSR"), self.volts("VREF")
            for core in cores:
                cc = circuit.core(core)
                bit = self.twin.lfsr_step(core)
                self.lfsr_noise_v[core] = self.lfsr_noise_v.get(core, 0.0) + cg * cc.gain * (
                    np.where(bit, v_pos, v_neg) - v_ref)
                self._noise_ps[core] = t_ps
        self.effects.append(("lfsr_pulse", tuple(cores), round(sample_ps / 1000.0, 2), int(integrations),
                             bool(inference)))

    # ------------------------------------------------------- conversion
    def convert(self, snaps, y_addr) -> dict:
        """The neurons' comparator tables ``{core: (sign bits, flip steps packed 7 bits a neuron)}`` for what
        the bursts since the last conversion sampled (see the module docstring); records each MVM burst's
        input plane as an effect ``("input_plane", core, direction, pulses, plane bytes)``."""
        from ..hil._mvm_fsm import MvmFsm, codes_to_flips

        self.conversions += 1
        bursts = [(self.bursts.pop(idx, (0, 0)), lanes) for idx, lanes in sorted(snaps, key=lambda t: t[0])]
        self.bursts.clear()
        if not bursts:
            return {}
        if self.top in UNCONVERTED_TOPS:
            # what the chip makes of a voltage-mode sample is analog (the line's settled voltage through the
            # word lines the neuron controller turns on); the pins cannot even tell an MVM burst from the
            # neuron test there (inference_mode is tied low). No conversion: every comparator reads 0, and
            # the effect says so, so that a check which compares these samples fails naming them
            # the input registers are digital all the same: every enabled core's plane at each burst is logged
            # as on neurram_top (the forward pin picks V or H), so a check can compare them with the codes left out
            for (p, pins), lanes in bursts:
                self.effects.append(("unconverted_sample", self.top, int(p), int(pins)))
                forward = bool(pins >> 3 & 1)
                for core in np.flatnonzero(self.core_enable).tolist():
                    r, col = divmod(core, nt.CORE_COLS)
                    reg = 2 * col + 1 if forward else 2 * col
                    plane = _lane_bits(lanes[r][1])[reg].astype(np.int8) - _lane_bits(lanes[r][0])[reg].astype(np.int8)
                    self.effects.append(("input_plane", core, "forward" if forward else "backward", int(p),
                                         plane.tobytes()))
            return {}
        cores = np.flatnonzero(self.core_enable).tolist()
        mvm = [(p, pins, lanes) for (p, pins), lanes in bursts if pins >> 4 & 1]
        tables = {}
        if mvm:
            forward = bool(mvm[-1][1] >> 3 & 1)
            shim = _ConvShim(self, y_addr, forward)
            groups: dict = {}
            for core in cores:
                r, col = divmod(core, nt.CORE_COLS)
                reg = 2 * col + 1 if forward else 2 * col
                planes = []
                for p, _pins, lanes in mvm:
                    plane = _lane_bits(lanes[r][1])[reg].astype(np.int8) - _lane_bits(lanes[r][0])[reg].astype(np.int8)
                    planes.append(plane)
                    self.effects.append(("input_plane", core, "forward" if forward else "backward", int(p),
                                         plane.tobytes()))
                pl = np.stack(planes)
                pulses = [int(p) for p, _pins, _l in mvm]
                q = (pl.astype(np.int64) * np.asarray(pulses, np.int64)[:, None]).sum(axis=0)[None]
                driven = pl.any(axis=0)
                key = (driven.tobytes(), tuple(pulses), shim.rows[r].y_addr.tobytes())
                groups.setdefault(key, []).append((r, core, q, driven, pulses))
            for members in groups.values():
                got = MvmFsm._mvm_codes(shim, members)
                for r, core, *_ in members:
                    tables[core] = got[r]
        else:
            last = bursts[-1][0][1]
            node = (1, 2) if last >> 1 & 1 else (1, 5) if last & 1 else None
            if last >> 2 & 1 and node is not None:
                shim = _ConvShim(self, y_addr, True)
                v = shim.emu.dac_v(*node)
                for core in cores:
                    tables[core] = MvmFsm._neuron_codes(shim, core, v)
        out = {}
        for core, (sign, flip) in tables.items():
            y = shim.rows[core // nt.CORE_COLS].y_addr  # the neurons the FPGA reads; the rest read 0
            sign, flip = np.asarray(sign)[-1], np.asarray(flip)[-1]  # one vector a conversion
            out[core] = (_pack(np.where(y, sign & 1, 0)), _pack_flips(np.where(y, np.clip(flip, 0, 127), 127)))
        return out

    def volts(self, node: str) -> float:
        dac, ch = nt.NODE_CHANNEL[node]
        return nt.code_volts(self.dac_code.get((dac, ch), 0), dac)

    def selected(self) -> list[tuple[int, int, int]]:
        """(core, row, col) of every cell an enabled core's row and column registers select."""
        out = []
        for core in np.flatnonzero(self.core_enable).tolist():
            rows = sorted(a for a, d in self.rows[core].items() if d == nt.RA_SELECT)
            cols = sorted(a for a, d in self.cols[core].items() if d == nt.RA_SELECT)
            out.extend((core, r, c) for r in rows for c in cols)
        return out

    # ----------------------------------------------------------- physics
    def _pulse(self, cfg, _mode, width_ps) -> None:
        self.mux = cfg
        self.busy_ps["read" if cfg == nt.MUX_READ else "pulse"] += width_ps
        if cfg == nt.MUX_READ:
            return  # the read voltage on the cell (resistance_read's vin_on): the ADC model integrates
        width_s = width_ps * 1e-12
        cells = self.selected()
        if cfg == nt.MUX_SET:
            kind, v, g = "set", self.volts("VSET_BL"), self.volts("VSET_WL")
        elif cfg == nt.MUX_RESET:
            kind, v, g = "reset", self.volts("VRESET_SL"), self.volts("VRESET_WL")
        else:
            kind, v, g = None, 0.0, 0.0
        tw = self.twin
        if kind is not None and v > 0.0:
            for core, row, col in cells:
                self._c[0], self._r[0], self._k[0] = core, row, col
                tw.pulse_cells(kind, self._c, self._r, self._k, np.array([v]), np.array([width_s]), np.array([g]))
        else:
            tw.advance_s(width_s)
            kind, v, g = None, 0.0, 0.0
        self.effects.append(("pulse", kind, tuple(cells), round(width_ps / 1000.0, 2), v, g))

    def read_current_a(self, mux: int) -> float:
        """Current (A) the selected cells draw from the integrator with the mux at ``mux`` (0 unless read)."""
        if mux != nt.MUX_READ:
            return 0.0
        g_sum = 0.0
        for core, row, col in self.selected():
            self._c[0], self._r[0], self._k[0] = core, row, col
            g_sum += float(self.twin.read_conductance_s(self._c, self._r, self._k)[0])
        return g_sum * (self.volts("VREAD") - self.volts("VREF_TIA"))
