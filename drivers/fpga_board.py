"""FpgaBoard: the Board contract through the chip authors' bitstream (``neurram_top.v``) on FrontPanel.

The board talks to an ``ok.okCFrontPanel``-compatible device (Opal Kelly's
``ok`` module for ``okusb://``, :class:`drivers.hil.okmodule.EmulatedOk` for
``hil://``) through :class:`drivers.frontpanel.Link`, which checks every
return code, counts every call and tells a
:class:`drivers.board_time.BoardTimeModel` (always, through its direct hooks)
and the observers (a trace writer on request). The host sequences follow the authors' ``python/`` (re-implemented,
see ``docs/board_protocol.md``):

- open: ``OpenBySerial``, optional ``ConfigureFPGA``, global reset (0x00 = 0b11,
  then 0), then the rails ramped from 0 V to the board defaults;
- rails: each DAC channel a rail drives (:data:`drivers.neurram_top.RAIL_TABLE`)
  ramped in steps of at most 0.1 V; each update is one daisy-chain frame of
  four words (DAC 3 first) carrying one step for one channel of each DAC with
  steps left (the others get the no-op), without the authors' per-word ACK
  polls, which ``dac_daisy_control.v`` shows prove nothing (:meth:`FpgaBoard._dac_frame`);
  pulse-time writes keep the authors' one-channel group with its polls;
- core enable through the 0x13/0x14 shift register, done again only when the
  core changes; cell select by clearing the row/column registers (0x03) and two
  random-access writes (0x04 + trigger 0x44 bit 1), skipped when unchanged;
- read: 0x0B = read mux, per cycle trigger 0x43 bit 2, poll 0x20 bit 2, read
  0x29/0x2A/0x2B, ack 0x43 bit 3; 0x0B = 0; siemens on the host;
- SET / RESET / FORM: amplitude and gate as DAC 3 codes written at pulse time
  (only when they change), 0x07 = ticks - 1 (the FSM adds one), mux 0x0B,
  trigger 0x40 bit 2 / 3, poll 0x20 bit 4, ack 0x40 bit 4, mux back to 0.
  FORM is a SET pulse with the form amplitude and gate.

The host sequences of the MVM, neuron test, LFSR and write-verify engine (:mod:`drivers._mvm_host`,
:mod:`drivers._lfsr_host`, :mod:`drivers._wv_engine_host`) drive the board through its documented
sequencer primitives (:attr:`FpgaBoard.link`, :meth:`~FpgaBoard.stage_wire_ins`,
:meth:`~FpgaBoard.poll_wire_out`, :meth:`~FpgaBoard.ramp_dac_nodes`, :attr:`~FpgaBoard.decrement_bits`,
:meth:`~FpgaBoard.enable_core`, :meth:`~FpgaBoard.enable_core_column`, ...), never its privates.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

import numpy as np

from neurram_lab.board.contract import Board, BoardInfo
from neurram_lab.errors import BoardError, CapabilityError, FrontPanelError, InputError
from neurram_lab.board._options import option_integer, option_number, writable_file
from neurram_lab.board.limits import DEFAULT_RAILS_V, N_CORES, SafetyLimits, flat_cell_index

from . import _mvm_host
from . import frontpanel as fp
from . import neurram_top as nt
from .board_time import BoardTimeModel

POLL_TIMEOUT_S = 5.0
POLL_TIMEOUT_MAX_S = 3600.0  # a status bit that takes an hour is a dead board
# Reads per cell: a host loop, not a register. The authors read 10 times and drop the first 5
# (docs/board_protocol.md); one cycle takes up to 30 000 x 1.28 us (auto_ranging.v's t_delta bound),
# so 100 cycles are ~4 s for one cell at worst, 10x what any of their code uses.
MAX_READ_CYCLES = 100
WV_ENGINE_BITSTREAM = "neurram_top_wv"  # the authors' neurram_top with gateware/'s engine patched in


class HostClock:
    """Board time of a real board: host monotonic seconds since open; ``wait`` sleeps."""

    kind = "host"

    def __init__(self):
        self._t0 = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self._t0

    def wait(self, seconds: float) -> None:
        time.sleep(seconds)


# bitstreams whose neurons sample in a way this driver's MVM and neuron-test sequences do not handle, or whose
# neuron side cannot be checked against the published RTL: MVM and neuron test refused before anything is sent
UNMODELLED_NEURON_BITSTREAMS = {
    "neurram_top_voltage_mode": "its neurons sample the settled line voltage after each pulse "
    "(neuron_control_voltage_mode.v:265-350), t_sample counts 10 ns there (:1016) and t_cds/t_reset/keep-WL "
    "(0x09[31:22], 0x10[27:20]) are its own; the driver's sequences are neurram_top's charge-mode ones "
    "(docs/board_protocol.md, voltage mode)",
    "neurram_top_sar": "its readout instances (neurram_top_sar.v:552-577) connect a `state` port (:576) that the "
    "published neurram_spi_control.v (ports :10-40) lacks, so that top does not elaborate and its MVM and "
    "neuron-test sequences cannot be checked against the RTL (docs/board_protocol.md, SAR top level)",
}

class FpgaBoard(Board):
    """NeuRRAM test board (XEM6310 + the authors' ``neurram_top`` bitstream).

    Parameters
    ----------
    dev : okCFrontPanel-like
        An unopened device object (``ok.okCFrontPanel()``).
    spec : str
    limits : SafetyLimits, optional
    kind : str
        ``"okusb"`` for a real board (``okusb://``), ``"hil"`` for the emulated one (``hil://``), ``"rtl"`` for
        the authors' RTL in a simulator (``rtl://``).
    serial : str
        Board serial ("" = the first board).
    bitfile : str, optional
        Bitstream file to configure after opening.
    bitstream : str
        Top level the FPGA runs (:data:`drivers.neurram_top.BITSTREAMS`).
    clock : object, optional
        ``now()`` / ``wait(s)`` and ``kind`` (``"host"`` or ``"virtual"``); default :class:`HostClock`.
    observers : list of callable
        Extra observers of every FrontPanel call (e.g. a trace writer).
    read_cycles, ignore_cycles : int
        Auto-ranged reads per cell and how many of the first to drop (authors: 10 / 5).
    poll_timeout_s : float
        Deadline of every status poll (s).
    info_extra, snapshot_extra : dict / callable, optional
        Facts the factory adds to ``info().extra`` and to snapshots.
    check_clear : bool
        Before each read and pulse trigger, check that the last ack cleared the valid / done bit (two
        calls more than the authors' sequence; catches a stuck status bit instead of returning stale codes).
    on_close : callable, optional
        Called with no argument when the board is closed, after the device is released (even when the
        release failed): what the factory opened beside the device (``rtl://``: the simulator).
    """

    def __init__(self, dev, spec: str, limits: SafetyLimits | None = None, kind: str = "okusb", serial: str = "",
                 bitfile=None, bitstream: str = nt.DEFAULT_BITSTREAM, clock=None, observers=(),
                 read_cycles: int = 1, ignore_cycles: int = 0, poll_timeout_s: float = POLL_TIMEOUT_S,
                 info_extra: dict | None = None, snapshot_extra=None, check_clear: bool = True, on_close=None):
        super().__init__(spec, limits)
        self.kind = kind
        self.bitstream = nt.bitstream(bitstream)
        opts = read_options(read_cycles, ignore_cycles, poll_timeout_s)
        self.read_cycles, self.ignore_cycles = opts["read_cycles"], opts["ignore_cycles"]
        self.poll_timeout_s = opts["poll_timeout_s"]
        self._check_clear = bool(check_clear)
        self.clock = clock or HostClock()
        self.bitfile = str(bitfile) if bitfile else None
        self._info_extra = dict(info_extra or {})
        self._snapshot_extra_fn = snapshot_extra
        self._on_close = on_close
        self.board_time = BoardTimeModel()
        self._link = fp.Link(dev, list(observers), timer=self.board_time)  # the model through its direct hooks
        self._wi = [0] * 32  # staged wire-in values (the SDK keeps them between updates)
        self._codes: dict[tuple[int, int], int] = {}  # DAC codes this host set (0 after power-up)
        self._rails = {r: v for r, v in DEFAULT_RAILS_V.items() if r in nt.BOARD_RAILS}  # v_wl_read: no DAC
        self._decr_bits = nt.DECR_BITS_AT_OPEN  # output bits the decrement levels (v_decr's nodes) are set for
        self._core = None  # core enabled through the shift register
        self._cell = None  # (row, col) selected in that core
        self._column = None  # core column enabled as a whole (enable_core_column), while _core is None
        self.lfsr_injection = None  # drivers._lfsr_host.NoiseInjection the lab set; None: its default
        self._dirty = False  # a cell operation failed half-way
        self._counts = {"pulses": 0, "reads": 0, "mvms": 0, "neuron_tests": 0, "dac_groups": 0}
        self.serial = serial
        try:
            self._open(serial)
        except BaseException:
            self._release()
            raise

    # ------------------------------------------------------------ open/close
    def _open(self, serial: str) -> None:
        L = self._link
        L.op("open")
        L.open_by_serial(serial)
        self.serial = str(L.dev.GetSerialNumber() or serial)
        if self.bitfile:
            L.configure_fpga(self.bitfile)
        if hasattr(L.dev, "IsFrontPanelEnabled") and not L.frontpanel_enabled():
            raise BoardError(f"the FPGA of board {self.serial!r} runs no FrontPanel-enabled bitstream: "
                             "configure neurram_top.bit (okusb://SERIAL?bitfile=PATH)")
        L.set_wire(nt.WI_RESET, nt.RESET_DAC_ADC | nt.RESET_CHIP)
        L.update_wire_ins()
        L.set_wire(nt.WI_RESET, 0)
        L.update_wire_ins()
        self.stage_wire_in(nt.WI_READ_TIMING, nt.READ_T_SHLD | (nt.READ_T_DELTA << 16))
        self.stage_wire_in(nt.WI_AUTORANGE_VREF, nt.adc_code(nt.READ_REF_V))
        L.update_wire_ins()
        L.op("rails")
        targets = nt.node_targets(self._rails, output_bits=self._decr_bits)
        self._check_codes(targets)
        self.ramp_dac_nodes(targets)

    def _release(self) -> None:
        try:
            self._link.op("close")
            self._link.close()
        except Exception:  # closing a board that vanished
            pass
        for obs in self._link.observers:
            close = getattr(obs, "close", None)
            if close is not None and obs is not self.board_time:
                close()

    def _close(self) -> None:
        try:
            self._release()
        finally:
            if self._on_close is not None:
                self._on_close()

    # --------------------------------------------------------- primitives
    def stage_wire_in(self, ep: int, value: int) -> bool:
        """SetWireInValue ``ep`` = ``value`` unless the staged value already is it; True when a call was made
        (then an UpdateWireIns must follow)."""
        if self._wi[ep] == value:
            return False
        self._link.set_wire(ep, value)
        self._wi[ep] = value
        return True

    def poll_wire_out(self, ep: int, mask: int, what: str, clear: bool = False) -> int:
        """UpdateWireOuts + GetWireOutValue until ``ep & mask`` is set (clear, with ``clear``); returns the
        word; FrontPanelError(Timeout) after :attr:`poll_timeout_s` (``what`` names the wait)."""
        L = self._link
        deadline = None
        while True:
            L.update_wire_outs()
            v = L.get_wire(ep)
            if bool(v & mask) != clear:
                return v
            if deadline is None:
                deadline = time.monotonic() + self.poll_timeout_s
            elif time.monotonic() > deadline:
                raise FrontPanelError(fp.TIMEOUT, fp.error_name(fp.TIMEOUT),
                                      f"waiting {self.poll_timeout_s:g} s for {what} (wire-out 0x{ep:02X} & 0x{mask:X}"
                                      f"{' to clear' if clear else ''}, got 0x{v:X})")

    def _dac_group(self, dac: int, channel: int, code: int) -> None:
        """One channel update: four words through the daisy chain (DAC 3 first), then the update trigger."""
        L = self._link
        self.poll_wire_out(nt.WO_STATUS, nt.ST_DAC_FIFO_FULL, "DAC FIFO not full", clear=True)
        for word in nt.dac_group(dac, channel, code):
            L.set_wire(nt.WI_DAC, word)
            L.update_wire_ins()
            L.trigger(nt.TI_SYS, nt.T_DAC_PUSH)
            self.poll_wire_out(nt.WO_STATUS, nt.ST_DAC_ACK, "DAC word taken")
        self._wi[nt.WI_DAC] = word
        self.poll_wire_out(nt.WO_STATUS, nt.ST_DAC_FIFO_EMPTY, "DAC FIFO empty")
        L.trigger(nt.TI_DAC, nt.T_DAC_UPDATE)
        self.poll_wire_out(nt.WO_STATUS, nt.ST_DAC_IDLE, "DAC idle")
        self._codes[(dac, channel)] = code
        self._counts["dac_groups"] += 1

    @property
    def dac_codes(self) -> dict[tuple[int, int], int]:
        """The DAC codes this host last set, ``{(dac, channel): code}``: a copy, read-only.

        A code is the DAC's 16-bit input word, in LSBs of its full scale (volts:
        :func:`drivers.neurram_top.code_volts`, as :meth:`dac_volts` gives them). A channel not written since
        the open, or since :meth:`forget_dac_codes`, is absent (after power-up it holds 0).
        """
        return dict(self._codes)

    def dac_volts(self, dac: int, channel: int) -> float:
        """Voltage (V) this host last set on ``dac`` channel ``channel`` (0 before any write)."""
        return nt.code_volts(self._codes.get((dac, channel), 0), dac)

    def _dac_write(self, dac: int, channel: int, volts: float) -> None:
        """Set a channel in one step (pulse-time writes); skipped when the code is unchanged."""
        code = nt.dac_code(volts, dac, f"DAC {dac} channel {channel}")
        if self._codes.get((dac, channel)) != code:
            self._dac_group(dac, channel, code)

    def _dac_ramp(self, dac: int, channel: int, volts: float) -> None:
        """Move a channel to ``volts`` in steps of at most 0.1 V."""
        nt.dac_code(volts, dac, f"DAC {dac} channel {channel}")
        for v in nt.ramp(self.dac_volts(dac, channel), volts):
            self._dac_write(dac, channel, v)

    def _dac_frame(self, steps: dict[int, tuple[int, int]]) -> None:
        """One daisy-chain frame: ``steps[dac] = (channel, code)`` for up to one channel of each DAC, moved
        together at one update (:func:`drivers.neurram_top.dac_frame`; the other DACs get the no-op).

        What the authors' RTL needs (``dac_daisy_control.v``), and so what this sequence keeps:

        - no ACK poll after a push: ``fifo_wr_done`` (0x20 bit 1) is EP_WR_DONE's output, held at 1 until
          the next push (:109-115) and still 1 when a push is dropped (:113), so after the first word since
          reset it reads 1 whatever happened; the EP FSM takes a word in 3 clocks of 100 MHz (:86-107);
        - one word in the FIFO at a time: DAC_RD_EN holds rd_en until valid (:164-178), so a second word
          queued there would be popped and lost. Each push is its own USB transaction (>= 200 us,
          :mod:`drivers.board_time`), far more than the ~6 DAC clocks (1 us) from a push to its RD_EN; the
          FIFO never holds more than one word, so it is never full (checked once a ramp, :meth:`ramp_dac_nodes`);
        - a push takes wire-in 0x01 as it stands (``neurram_top.v:249``), so a word equal to the one sent
          before (a no-op after a no-op) is pushed again without SetWireInValue / UpdateWireIns;
        - the update counts only in DAC_SHIFT_DONE with the FIFO empty (:200-202), so the FIFO-empty poll
          stays before it, as in the authors' ``dac_control.py``; ``dac_state_idle`` is 1 only in DAC_IDLE
          (:152-156), which SHIFT_DONE reaches only through the update, so the idle poll after it proves that
          this frame was executed.

        17 calls for four new words (the authors' group: 27 for one channel), 13 with two no-ops in a row.
        """
        L = self._link
        wi = self._wi
        for word in nt.dac_frame(steps):
            if wi[nt.WI_DAC] != word:  # every set of 0x01 is followed by an update: wi holds the latched word
                L.set_wire(nt.WI_DAC, word)
                wi[nt.WI_DAC] = word
                L.update_wire_ins()
            L.trigger(nt.TI_SYS, nt.T_DAC_PUSH)
        self.poll_wire_out(nt.WO_STATUS, nt.ST_DAC_FIFO_EMPTY, "DAC FIFO empty")
        L.trigger(nt.TI_DAC, nt.T_DAC_UPDATE)
        self.poll_wire_out(nt.WO_STATUS, nt.ST_DAC_IDLE, "DAC idle")
        for dac, (ch, code) in steps.items():
            self._codes[(dac, ch)] = code
        self._counts["dac_groups"] += 1

    def _check_codes(self, targets: dict) -> None:
        for (dac, ch), v in targets.items():
            nt.dac_code(v, dac, f"node {nt.NODES[(dac, ch)]}")

    def ramp_dac_nodes(self, targets: dict) -> None:
        """Ramp every ``{(dac, channel): volts}`` together, in steps of at most 0.1 V (:data:`nt.RAMP_STEP_V`).

        Each DAC's steps form a queue (its channels interleaved, step by step); frame ``k`` carries the
        ``k``-th step of every DAC's queue (:meth:`_dac_frame`), so channels of different DACs move at the
        same update and no channel moves more than one step an update. The DAC FIFO is checked not full
        once, before the first frame (no frame leaves a word in it)."""
        plans = [(dc, nt.ramp(self.dac_volts(*dc), v)) for dc, v in targets.items()
                 if self._codes.get(dc, 0) != nt.dac_code(v, dc[0])]
        queues: dict[int, list[tuple[int, int]]] = {}
        for i in range(max((len(p) for _, p in plans), default=0)):
            for (dac, ch), steps in plans:
                if i < len(steps):
                    queues.setdefault(dac, []).append((ch, nt.dac_code(steps[i], dac, f"DAC {dac} channel {ch}")))
        if not queues:
            return
        self.poll_wire_out(nt.WO_STATUS, nt.ST_DAC_FIFO_FULL, "DAC FIFO not full", clear=True)
        for k in range(max(len(q) for q in queues.values())):
            self._dac_frame({dac: q[k] for dac, q in queues.items() if k < len(q)})

    def enable_core(self, core: int) -> None:
        """Enable ``core`` alone through the 0x13/0x14 shift register (spi_control.enable_single_core,
        counted under ``select``); nothing is sent when it is enabled already."""
        if core == self._core:
            return
        L = self._link
        L.op("select")
        h, v = nt.core_address(core)
        sh, sv = nt.swap_addr(h), nt.swap_addr(v)
        dec = nt.CA_DEC_HORZ | nt.CA_DEC_VERT
        self.stage_wire_in(nt.WI_CORE_ENABLE, nt.CE_RESET)
        L.update_wire_ins()
        self.stage_wire_in(nt.WI_CORE_ENABLE, 0)
        L.update_wire_ins()
        for addr_h, addr_v, data in ((sh, sv, nt.CE_DATA), (sh, v, 0), (h, sv, 0)):
            self.stage_wire_in(nt.WI_CORE_ADDRESS, addr_h | (addr_v << 3) | dec)
            self.stage_wire_in(nt.WI_CORE_ENABLE, data)
            L.update_wire_ins()
            self.stage_wire_in(nt.WI_CORE_ENABLE, data | nt.CE_CLOCK)
            L.update_wire_ins()
            self.stage_wire_in(nt.WI_CORE_ENABLE, 0)
            L.update_wire_ins()
        self._core, self._cell = core, None

    def select_cell(self, core: int, row: int, col: int) -> None:
        """Select one cell: enable its core (when it changed), clear the registers, write its row and column
        (counted under ``select``); nothing is sent when that cell is selected already."""
        if core != self._core:
            self.enable_core(core)
        if self._cell == (row, col):
            return
        L = self._link
        L.op("select")
        self.stage_wire_in(nt.WI_CLEAR, nt.CLEAR_HORZ | nt.CLEAR_VERT)
        L.update_wire_ins()
        self.stage_wire_in(nt.WI_CLEAR, 0)
        h, v = nt.core_address(core)
        self.stage_wire_in(nt.WI_CORE_ADDRESS, nt.swap_addr(h) | (nt.swap_addr(v) << 3))
        L.update_wire_ins()
        self.stage_wire_in(nt.WI_RANDOM_ACCESS, nt.RA_VERTICAL | (nt.RA_SELECT << nt.RA_DATA_SHIFT) | row)
        L.update_wire_ins()
        L.trigger(nt.TI_SPI, nt.T_RANDOM_ACCESS)
        self.stage_wire_in(nt.WI_RANDOM_ACCESS, (nt.RA_SELECT << nt.RA_DATA_SHIFT) | col)
        L.update_wire_ins()
        L.trigger(nt.TI_SPI, nt.T_RANDOM_ACCESS)
        self._cell = (row, col)

    # ------------------------------------------------- sequencer primitives
    # The public interface of the drivers' host sequences (MVM and neuron test :mod:`drivers._mvm_host`,
    # LFSR :mod:`drivers._lfsr_host`, write-verify engine :mod:`drivers._wv_engine_host`) and of tools that
    # script FrontPanel calls. They sit below the Board contract: no limits, no journal, no observers but the
    # call layer's; every FrontPanel call goes through :attr:`link` (counted under its ``op``) and keeps the
    # board's mirrors (staged wire-ins, DAC codes, enabled core and cell) true.
    @property
    def link(self) -> fp.Link:
        """The checked, counted FrontPanel call layer (:class:`drivers.frontpanel.Link`); a sequence names
        its Board operation first (``board.link.op("mvm")``)."""
        return self._link

    def stage_wire_ins(self, values: dict) -> bool:
        """Stage every ``{ep: value}`` (:meth:`stage_wire_in`), then one UpdateWireIns when any changed;
        True when it was sent."""
        changed = False
        for ep, v in values.items():
            changed |= bool(self.stage_wire_in(ep, int(v)))
        if changed:
            self._link.update_wire_ins()
        return changed

    @property
    def decrement_bits(self) -> int:
        """Output bits the readout's decrement levels (v_decr's DAC nodes) are set for; a sequence that
        moves those nodes for other bits sets it."""
        return self._decr_bits

    @decrement_bits.setter
    def decrement_bits(self, bits: int) -> None:
        self._decr_bits = int(bits)

    @property
    def rails_v(self) -> dict:
        """The rails (V) as this host set them (a copy; no call, not observed)."""
        return dict(self._rails)

    def enable_core_column(self, col: int) -> None:
        """Enable every core of core column ``col`` (``spi_control.enable_single_col``: the row decoder
        off, so one clock reaches every core row of the column); nothing is sent when that column is
        enabled already and no single core since."""
        if self._column == col and self._core is None:
            return
        stage = self.stage_wire_ins
        stage({nt.WI_CORE_ENABLE: nt.CE_RESET})
        stage({nt.WI_CORE_ENABLE: 0})
        for half in (0b000, 0b100):
            for addr_v, data in ((nt.swap_addr(col), nt.CE_DATA), (col, 0)):
                stage({nt.WI_CORE_ADDRESS: half | (addr_v << 3) | nt.CA_DEC_VERT, nt.WI_CORE_ENABLE: data})
                stage({nt.WI_CORE_ENABLE: data | nt.CE_CLOCK})
                stage({nt.WI_CORE_ENABLE: 0})
        self._core, self._cell = None, None  # the single-core mirror no longer holds
        self._column = col

    def forget_cell(self) -> None:
        """The FPGA cleared the cell registers (an MVM's cycles, a readout): the next cell operation
        selects its cell again."""
        self._cell = None

    def forget_selection(self) -> None:
        """The FPGA changed the core enable and the cell registers (the write-verify engine): the next
        cell operation enables and selects again."""
        self._core = self._cell = None

    def forget_dac_codes(self, channels) -> None:
        """The FPGA wrote the DAC channels ``[(dac, channel), ...]`` itself: the next host write of each is
        sent whatever its code."""
        for dc in channels:
            self._codes.pop(tuple(dc), None)

    @contextmanager
    def cell_operation(self):
        """Within the block the board is mid-operation: should it raise, the next cell operation first
        brings the FPGA back to idle (acks, mux idle, select again)."""
        self._dirty = True
        yield self
        self._dirty = False

    def add_counts(self, **counts: int) -> None:
        """Add to this board's counters (:meth:`counters`), e.g. ``pulses=``, ``reads=`` of work done by
        the FPGA alone; a new name starts at 0."""
        c = self._counts
        for name, n in counts.items():
            c[name] = c.get(name, 0) + int(n)

    def check_cores_powered(self, cores) -> None:
        """The contract's check that ``cores`` are powered (every core is, on this board)."""
        self._check_powered(cores)

    # -------------------------------------------------------------- contract
    def _capabilities(self):
        return _mvm_host.capabilities(power_gating=False, clock=self.clock.kind, pulse_v_step_v=nt.DAC_VREF_V[3] / 65536.0,
                            pulse_width_tick_s=nt.TICK_S, rails=nt.BOARD_RAILS,
                            pulse_v_max_v=nt.DAC_CODE_MAX * nt.DAC_VREF_V[3] / 65536.0)  # DAC 3's top code

    def _info(self) -> BoardInfo:
        extra = {"bitstream": self.bitstream.name, "bitfile": self.bitfile, "read_cycles": self.read_cycles,
                 "ignore_cycles": self.ignore_cycles,
                 # what this top's LFSR block gives (drivers._lfsr_host.read_bits refuses where it cannot work)
                 "lfsr_readout": self.bitstream.lfsr_readout_unavailable or "available"}
        extra.update(self._info_extra)
        return BoardInfo(kind=self.kind, spec=self.spec, serial=self.serial or "unknown",
                         firmware=self.bitstream.name, extra=extra)

    def _check_rails(self, volts):
        """Every DAC node the rails drive stays in its DAC's range with the other rails as they are."""
        new = dict(self._rails)
        new.update({k: float(v) for k, v in volts.items()})
        self._check_codes(nt.node_targets(new, volts, self._decr_bits))

    def _set_rails(self, volts):
        for name in volts:
            if name not in nt.BOARD_RAILS:
                raise CapabilityError("rails", name, nt.BOARD_RAILS, "no DAC drives this rail on the test board")
        new = dict(self._rails)
        new.update({k: float(v) for k, v in volts.items()})
        targets = nt.node_targets(new, volts, self._decr_bits)
        self._check_codes(targets)  # every node in its DAC's range before any call
        self._link.op("rails")
        try:
            self.ramp_dac_nodes(targets)
        finally:
            self._rails_from_codes(new, volts)

    def _rails_from_codes(self, new: dict, asked) -> None:
        """Update the rail mirror: gates as asked, DAC rails only once all their channels landed."""
        for name in asked:
            if name in nt.RAIL_TABLE:
                t = nt.node_targets(new, [name], self._decr_bits)
                if all(self._codes.get(dc, 0) == nt.dac_code(v, dc[0]) for dc, v in t.items()):
                    self._rails[name] = new[name]
            else:
                self._rails[name] = new[name]
        for name, deps in nt.RAIL_DEPENDS.items():
            if name in asked and self._rails[name] == new[name]:
                for dep in deps:
                    self._rails[dep] = new[dep]

    def _get_rails(self):
        return self._rails

    def _power_cores(self, cores, on):
        pass  # every core is powered on this board (power_gating False: power off is refused above)

    def _powered_cores(self):
        return np.ones(N_CORES, bool)

    # ---------------------------------------------------------------- cells
    def _pulse(self, kind, core, row, col, v_pulse, width_s, v_gate):
        return self._guarded(self._pulse_cells, kind, core, row, col, v_pulse, width_s, v_gate)

    def _read(self, core, row, col):
        return self._guarded(self._read_cells, core, row, col)

    def _guarded(self, fn, *args):
        """Run a cell operation; after a failure, the next one first brings the FPGA back to idle."""
        if self._dirty:
            self._recover()
        self._dirty = True
        out = fn(*args)
        self._dirty = False
        return out

    def _recover(self) -> None:
        """After a failed operation: ack whatever may wait for an ack, mux idle, select again from scratch."""
        L = self._link
        L.op("select")
        L.trigger(nt.TI_SYS, nt.T_PULSE_ACK)
        L.trigger(nt.TI_ADC, nt.T_AUTORANGE_ACK)
        self._wi[nt.WI_WRITE_MUX] = -1
        self.stage_wire_in(nt.WI_WRITE_MUX, nt.MUX_IDLE)
        L.update_wire_ins()
        self._core = self._cell = None
        self._dirty = False

    def _pulse_cells(self, kind, core, row, col, v_pulse, width_s, v_gate):
        n = core.size
        order = _pulse_order(core, row, col, v_pulse, v_gate, width_s)
        nodes = nt.PULSE_NODES[kind]
        amp, gate = nodes["amplitude"], nodes["gate"]
        # every code checked before any call
        amp_codes = [nt.dac_code(float(x), amp.dac, f"{kind} amplitude ({amp.node})") for x in v_pulse.tolist()]
        gate_codes = [nt.dac_code(float(x), gate.dac, f"{kind} gate ({gate.node})") for x in v_gate.tolist()]
        ticks = [nt.width_ticks(float(w)) for w in width_s.tolist()]
        mux, trig = nt.MUX_OF_KIND[kind], nt.TRIGGER_OF_KIND[kind]
        L = self._link
        cl, rl, kl = core.tolist(), row.tolist(), col.tolist()
        codes = self._codes
        for i in order:
            c, r, k = cl[i], rl[i], kl[i]
            if c != self._core or self._cell != (r, k):
                self.select_cell(c, r, k)
            L.op("pulse")
            if codes.get((amp.dac, amp.channel)) != amp_codes[i]:
                self._dac_group(amp.dac, amp.channel, amp_codes[i])
            if codes.get((gate.dac, gate.channel)) != gate_codes[i]:
                self._dac_group(gate.dac, gate.channel, gate_codes[i])
            self.stage_wire_in(nt.WI_PULSE_WIDTH, ticks[i] - nt.PULSE_EXTRA_TICKS)
            self.stage_wire_in(nt.WI_WRITE_MUX, mux)
            L.update_wire_ins()
            if self._check_clear:  # a done bit still set would make the next poll pass without a pulse
                self.poll_wire_out(nt.WO_STATUS, nt.ST_PULSE_DONE, "pulse done cleared by the last ack", clear=True)
            L.trigger(nt.TI_SYS, trig)
            self.poll_wire_out(nt.WO_STATUS, nt.ST_PULSE_DONE, f"{kind} pulse done")
            L.trigger(nt.TI_SYS, nt.T_PULSE_ACK)
            self.stage_wire_in(nt.WI_WRITE_MUX, nt.MUX_IDLE)
            L.update_wire_ins()
            self._counts["pulses"] += 1
        return n

    def _read_cells(self, core, row, col):
        if self.has_write_verify_engine and core.size:  # read-only engine jobs; saturated cells on the host loop
            g, sat = self.write_verify_engine().run_read(self, core, row, col)
            if sat.any():
                g[sat] = self._read_host(core[sat], row[sat], col[sat])
            return g
        return self._read_host(core, row, col)

    def _read_host(self, core, row, col):
        n = core.size
        out = np.empty(n, np.float32)
        L = self._link
        cl, rl, kl = core.tolist(), row.tolist(), col.tolist()
        v_cell = self.dac_volts(1, 6) - self.dac_volts(1, 7)
        if v_cell <= 0:
            raise BoardError(f"read voltage VREAD - VREF_TIA = {v_cell:g} V: set the v_cell_read rail first")
        cycles, ignore = self.read_cycles, self.ignore_cycles
        t0 = nt.READ_T_SHLD | (nt.READ_T_DELTA << 16)
        for i in _read_order(core, row, col):
            c, r, k = cl[i], rl[i], kl[i]
            if c != self._core or self._cell != (r, k):
                self.select_cell(c, r, k)
            L.op("read")
            self.stage_wire_in(nt.WI_READ_TIMING, t0)
            self.stage_wire_in(nt.WI_WRITE_MUX, nt.MUX_READ)
            L.update_wire_ins()
            total = 0.0
            for cyc in range(cycles):
                if cyc and self.stage_wire_in(nt.WI_READ_TIMING, timing):
                    L.update_wire_ins()
                if self._check_clear:  # a valid bit still set would hand back the last read's codes
                    self.poll_wire_out(nt.WO_STATUS, nt.ST_AR_VALID, "auto-range valid cleared by the last ack", clear=True)
                L.trigger(nt.TI_ADC, nt.T_AUTORANGE)
                self.poll_wire_out(nt.WO_STATUS, nt.ST_AR_VALID, "auto-ranged read valid")
                d1 = L.get_wire(nt.WO_AR_START) & nt.ADC_CODE_MAX
                d2 = L.get_wire(nt.WO_AR_END) & nt.ADC_CODE_MAX
                timing = L.get_wire(nt.WO_AR_TIMING)
                L.trigger(nt.TI_ADC, nt.T_AUTORANGE_ACK)
                if cyc >= ignore:
                    total += nt.read_siemens(d1, d2, timing >> 16, v_cell + nt.READ_REF_V)
            self.stage_wire_in(nt.WI_WRITE_MUX, nt.MUX_IDLE)
            L.update_wire_ins()
            out[i] = total / (cycles - ignore)
            self._counts["reads"] += 1
        return out

    # ------------------------------------------------ write-verify engine
    @property
    def has_write_verify_engine(self) -> bool:
        """True when the bitstream is one with the write-verify engine (``neurram_top_wv``, gateware/);
        whether the FPGA really runs it is checked at the first run (wire-out 0x23 after a clear)."""
        return self.bitstream.name == WV_ENGINE_BITSTREAM

    def write_verify_engine(self):
        """The engine's host side (:mod:`drivers._wv_engine_host`); CapabilityError on a bitstream without it."""
        if not self.has_write_verify_engine:
            raise CapabilityError("write_verify_engine", self.bitstream.name, WV_ENGINE_BITSTREAM,
                                  f"bitstream {self.bitstream.name!r} has no write-verify engine "
                                  f"(open the board with ?bitstream={WV_ENGINE_BITSTREAM})")
        from . import _wv_engine_host

        return _wv_engine_host

    def write_verify_on_engine(self, res, cfg, progress=None, on_done=None) -> bool:
        """Tier 2's hook (:func:`neurram_lab.program.writeverify.write_verify`): run the validated cells of
        ``res`` on the engine and fill it; False (nothing sent) where the host loop must run instead: a
        bitstream without the engine, or settings its fields cannot hold."""
        if not self.has_write_verify_engine:
            return False
        eng = self.write_verify_engine()
        if not eng.fits(cfg):
            return False
        self._check_open()
        if self._dirty:
            self._recover()
        eng.run_write_verify(self, res, cfg, progress, on_done)
        return True

    def form_on_engine(self, core, row, col, v_form_v, width_s, g_formed_s):
        """Tier 2's forming hook (:func:`neurram_lab.program.writeverify.form_cells`, checked cells and
        ramp): the FORM ramp on the engine, a bool array (True: formed); None (nothing sent) on a bitstream
        without the engine."""
        if not self.has_write_verify_engine:
            return None
        self._check_open()
        if self._dirty:
            self._recover()
        return self.write_verify_engine().run_form(self, core, row, col, v_form_v, width_s, g_formed_s)

    # ------------------------------------------------------- MVM, neurons
    def _refuse_unmodelled_neurons(self, what: str) -> None:
        """CapabilityError, nothing sent, for an MVM or neuron test on a bitstream whose neurons this driver does
        not model (:data:`UNMODELLED_NEURON_BITSTREAMS`)."""
        name = self.bitstream.name
        if name in UNMODELLED_NEURON_BITSTREAMS:
            raise CapabilityError(what, name, tuple(sorted(set(nt.BITSTREAMS) - set(UNMODELLED_NEURON_BITSTREAMS))),
                                  UNMODELLED_NEURON_BITSTREAMS[name])

    def _mvm(self, request):
        self._refuse_unmodelled_neurons("mvm")
        self._link.op("mvm")
        codes = _mvm_host.run_mvm(self, request)
        self._counts["mvms"] += int(np.shape(request.inputs)[1]) if np.ndim(request.inputs) == 3 else 1
        return codes

    def scale_stochastic_noise(self, factor: float, min_pulses: int = 1):
        """Scale the rms of the LFSR noise the ``stochastic`` activation injects (drivers._lfsr_host.scale_noise)."""
        from . import _lfsr_host

        return _lfsr_host.scale_noise(self, factor, min_pulses)

    def _neuron_test(self, core, v_in_v, output_bits):
        self._refuse_unmodelled_neurons("neuron_test")
        self._link.op("neuron_test")
        codes = _mvm_host.neuron_test(self, core, v_in_v, output_bits)
        self._counts["neuron_tests"] += int(v_in_v.shape[0])
        return codes

    # ---------------------------------------------------------------- clock
    def _now(self):
        return self.clock.now()

    def _wait(self, seconds):
        self.clock.wait(seconds)

    def _counters(self):
        out = dict(self._counts)
        out["frontpanel_calls"] = self._link.totals()
        out["predicted_board_time_s"] = float(self.board_time.predicted_s)
        return out

    def _snapshot_extra(self):
        snap = {"fpga": {"bitstream": self.bitstream.name, "bitfile": self.bitfile, "serial": self.serial,
                         "dac_codes": {f"{d}.{c}": code for (d, c), code in sorted(self._codes.items())}}}
        if self._snapshot_extra_fn is not None:
            snap.update(self._snapshot_extra_fn())
        return snap


def _pulse_order(core, row, col, v, g, w) -> list[int]:
    """Order of a pulse call's cells: grouped by (amplitude, gate, width) so the DAC is rewritten only when a
    value changes, then by cell; the call's own order when a cell repeats in it."""
    n = core.size
    if n < 2:
        return list(range(n))
    flat = flat_cell_index(core, row, col)
    if np.unique(flat).size != n:
        return list(range(n))
    return np.lexsort((flat, w, g, v)).tolist()


def _read_order(core, row, col) -> list[int]:
    """Order of a read call's cells: by core (one core enable each), the call's order within a core."""
    n = core.size
    if n < 2 or bool(np.all(core[1:] >= core[:-1])):
        return range(n)
    return np.argsort(core, kind="stable").tolist()


def read_options(read_cycles=1, ignore_cycles=0, poll_timeout_s=POLL_TIMEOUT_S) -> dict:
    """The open-time options of an FPGA board, checked (query-string texts or Python values).

    ``read_cycles`` in ``[1, MAX_READ_CYCLES]``, ``ignore_cycles`` in ``[0, read_cycles - 1]`` (integers,
    no truncation), ``poll_timeout_s`` in ``(0, POLL_TIMEOUT_MAX_S]`` s (NaN and infinities refused, so a
    poll always has a deadline).
    """
    rc = option_integer("read_cycles", read_cycles, 1, MAX_READ_CYCLES,
                        "auto-ranged reads per cell; the authors use 10, the first 5 ignored")
    ic = option_integer("ignore_cycles", ignore_cycles, 0, MAX_READ_CYCLES - 1, "first reads of a cell dropped")
    if ic >= rc:
        raise InputError(f"ignore_cycles={ic} must be less than read_cycles={rc} (at least one read is kept)")
    timeout = option_number("poll_timeout_s", poll_timeout_s, 0.0, POLL_TIMEOUT_MAX_S,
                            "seconds; deadline of every status poll", lo_open=True)
    return {"read_cycles": rc, "ignore_cycles": ic, "poll_timeout_s": timeout}


def open_okusb(target: str = "", spec: str = "okusb://", limits=None, bitfile=None, bitstream=nt.DEFAULT_BITSTREAM,
               trace=None, read_cycles=1, ignore_cycles=0, poll_timeout_s=POLL_TIMEOUT_S, ok=None, **extra) -> FpgaBoard:
    """Factory for ``okusb://SERIAL[?bitstream=neurram_top&bitfile=F&limits=F&trace=F.jsonl&read_cycles=&ignore_cycles=]``.

    Opens a real test board through Opal Kelly's ``ok`` module (``ok=`` takes a
    module-like object instead, e.g. for tests).
    """
    if extra:
        raise InputError(f"unknown okusb:// options {sorted(extra)}; known: bitstream, bitfile, limits, trace, "
                         "read_cycles, ignore_cycles, poll_timeout_s")
    opts = read_options(read_cycles, ignore_cycles, poll_timeout_s)
    nt.bitstream(bitstream)
    if trace is not None:
        trace = writable_file("trace", trace)
    if isinstance(limits, (str, bytes)) or hasattr(limits, "__fspath__"):
        limits = SafetyLimits.from_file(limits)
    if ok is None:
        from ._okfp import import_ok

        ok = import_ok()
    observers = []
    if trace is not None:
        from .trace import TraceWriter

        observers.append(TraceWriter(trace))
    return FpgaBoard(ok.okCFrontPanel(), spec, limits, kind="okusb", serial=target.strip("/"), bitfile=bitfile,
                     bitstream=bitstream, observers=observers, **opts)
