"""Predicted wall time of a real XEM6310 board running ``neurram_top.bit`` for the FrontPanel calls seen.

:class:`BoardTimeModel` is an observer of the FrontPanel call layer (one
record per call, see :mod:`drivers.trace`); the layer itself
(:class:`drivers.frontpanel.Link`) tells it of each call through direct hooks
(``set_wire``, ``trigger``, ...) and shares its call counts, which predicts the
same times without building a record per call. It keeps a predicted clock: each
call adds its USB cost, and a status poll (``UpdateWireOuts``) first waits
until the FPGA work the host started has finished, as the host's busy-poll
loop does on hardware. In emulation the status bit is usually set already, so
one poll is seen per wait; on hardware the loop repeats until the FPGA is
done, which is the wait this model adds.

USB cost per call (FrontPanel over USB 3.0)
-------------------------------------------
Source: Opal Kelly, *FrontPanel SDK: Performance*,
https://docs.opalkelly.com/fpsdk/performance/ ("Measured Performance (CPS =
Calls Per Second)"): ``UpdateWireIns`` 5,000+ calls/s over USB 3.0 (1,000+
over USB 2.0), ``UpdateWireOuts`` 4,000+ calls/s (800+); "activating a
TriggerIn ... can operate at over 1,000-times per second"; wire and trigger
updates are blocking calls, so these rates are latencies. Hence:

=====================  ==========  =============================================
call                   cost        why
=====================  ==========  =============================================
``UpdateWireIns``      200 us      1 / 5,000 per s (USB 3.0)
``UpdateWireOuts``     250 us      1 / 4,000 per s (USB 3.0)
``ActivateTriggerIn``  200 us      one control transfer like ``UpdateWireIns``
                                   (assumption: the page states only "over
                                   1,000 per s", i.e. at most 1 ms)
``WriteToPipeIn``,     250 us +    latency as a wire-out update (assumption) plus
``ReadFromPipeOut``    bytes/rate  ``PIPE_BYTES_PER_S`` = 300 MB/s (assumption; the
                                   transfers here are a few kB, latency dominates)
``SetWireInValue``,    0           host-side buffer only: all wire-ins travel in
``GetWireOutValue``                one ``UpdateWireIns``, all wire-outs in one
                                   ``UpdateWireOuts`` (same page)
``OpenBySerial``       0.1 s       one-off (assumption)
``ConfigureFPGA``      0.5 s       one-off: a Spartan-6 bitstream over USB 3.0
                                   (assumption)
=====================  ==========  =============================================

plus ``HOST_S_PER_CALL`` = 5 us of Python and API work per call (assumption).
The page's figures were measured on a 2000s PC (Athlon 64 X2, Windows XP);
a present PC is likely no slower, but "your mileage may vary" (same page).

Cross-check against the chip authors' measurement
-------------------------------------------------
The authors' host-side write-verify (``python/wupdate_control.py``
``program_increment``, called by ``program_array``) costs per cell, counting
the FrontPanel calls of ``spi_control``, ``adc_control`` and ``dac_control``
with every busy-poll ending at its first pass:

- select (``write_reg``): 12 calls, 6 of them USB transactions;
- one ``read_average_resistance`` with 8 auto-ranged cycles (the default):
  84 calls, 34 USB transactions (mux on/off, and per cycle: set 0x02/0x12,
  update, trigger 0x43[2], one poll, three gets, ack 0x43[3]);
- one SET or RESET pulse with its two DAC updates (``prep=True``): 76 calls,
  44 USB transactions (each DAC update: four words of FIFO check, set,
  update, push 0x40[1], ack poll; then FIFO-empty poll, 0x41[0], idle poll).

So a cell with P pulses (each followed by a read; one read first and one
confirming read last) takes 180 + 160 P calls, of which 74 + 78 P are USB
transactions. Their notebooks measured 0.16-0.23 s per cell (BOARD_PROTOCOL.md).
With the latencies above (~220 us a USB transaction with the host overhead),
that is P = 8-11 pulses per cell; equivalently, for P = 5 / 10 / 15 it implies
345-496 / 187-269 / 129-185 us per USB transaction. The notebooks do not print
pulse counts, so the figure brackets the per-call latency rather than fixing
it; the Opal Kelly figures lie inside the bracket. :func:`authors_cell_calls`
gives these counts.

FPGA time (``neurram_top.v`` and its modules)
---------------------------------------------
- SET/RESET pulse (trigger 0x40 bit 2/3): the width in 0x07 in 10 ns ticks
  (``neurram_wupdate_control.v``: the PROGRAM state lasts until the counter
  equals the width); WL-only pulse (0x40 bit 5) the width in 0x0C.
- Auto-ranged read (0x43 bit 2): each iteration of ``auto_ranging.v`` runs one
  ``resistance_read.v`` of (t_shld + t_delta) x 1.28 us plus one ADC conversion
  outside the counted window (~32 clocks of 12.5 MHz); t_shld/t_delta double
  or halve between iterations. The iteration count (0x2A[26:18]) and the final
  timing (0x2B) the host reads back give the sequence, from the initial timing
  latched in 0x02. A plain read (0x43 bit 0) is one iteration.
- DAC word (0x40 bit 1): 35 DAC clocks of 6.25 MHz (``dac_daisy_control.v``:
  1 to see the FIFO not empty, 2 in RD_EN, 32 shifting) = 5.6 us; the update
  (0x41 bit 0) one more DAC clock. Words queue behind each other in time (the
  FIFO itself must hold one word at a time: RD_EN pops a second one and drops
  it, :164-178; the host's pushes are a USB transaction apart).

Rail ramps (``FpgaBoard.ramp_dac_nodes``): one check that the DAC FIFO is not
full (2 calls, 1 USB transaction), then one daisy-chain frame an update, each
carrying the next 0.1 V step of one channel on every DAC with steps left:
four pushes, SetWireInValue + UpdateWireIns only before a word that differs
from the one on wire-in 0x01 (a no-op after a no-op is pushed as it stands),
the FIFO-empty poll, the update and the idle poll, no per-word ACK poll
(:func:`rail_frame_calls`: 9 + 2 w calls, 7 + w USB transactions for w words
written, 13-17 calls, ~1.9-2.3 ms). The frames of a ramp are as many as the
most steps one DAC has: the open's 103 channel steps, 76 of them on DAC 1,
are 76 frames, 1 044 calls, ~0.16 s (the authors' one-channel group per step:
27 calls and ~3.6 ms each, 2 781 calls and ~0.37 s).
- Neuron phases (0x45 bits 0-4): t_opamp (0x09[11:4]) + 4 clocks of 80 ns.
- Bit-serial MVM (0x45 bit 7, one vector; bit 8, the batch count in
  0x0E[17:10]), from the HDL (weierwan/Neurram_48core HDL/) and held within
  10 % of the RTL's busy clocks by ``tests/rtl``: ``matmul_unsigned_helper.v``
  (:196-291) runs 2 (bits + 1) cycles (bits = 0x0E[4:2]); each is an SPI write
  of one plane (``neurram_spi_control.v`` :179-265: 16 pipe words, then two
  25 MHz clocks a bit, 256 x the 0x0D[5:2] multiplier bits), about 14 FSM
  states of the 80 ns neuron clock, and num_pulses samples (SAMPLING,
  SAMPLING1 for t_sample = 0x10[11:4], SAMPLING2, INTEG1 for t_opamp), num_pulses
  starting at 0x0E[9:5] and doubling after every second cycle; a CDS first
  when 0x0E bit 0 is set (t_opamp + 4 clocks).
- Multi-level readout (0x45 bit 5, and after each batched vector),
  ``neuron_multi_level_output.v`` :357-599, per step: compare and write,
  partial reset (3 t_opamp + 31 clocks of 80 ns) and one SPI shift of
  256 x the 0x0F[6:3] multiplier bits. The step count (the last neuron's flip
  + 1) depends on the data; the model counts its bound of 100 steps, an upper
  bound (the RTL's per-step time is checked, not the count).
- SPI shift (0x44 bit 0): (256 x shift multiplier 0x0D[5:2] + extra 0x0D[18:15])
  clocks of 25 MHz per pipe step (approximation); random-access write (0x44
  bit 1): 4 clocks.
"""

from __future__ import annotations

import math

from neurram_lab.errors import InputError

from . import neurram_top as nt

# ---------------------------------------------------------------- USB costs (see module doc)
USB_S_PER_CALL: dict[str, float] = {
    "UpdateWireIns": 1 / 5000,
    "UpdateWireOuts": 1 / 4000,
    "ActivateTriggerIn": 1 / 5000,
    "WriteToPipeIn": 1 / 4000,
    "ReadFromPipeOut": 1 / 4000,
    "SetWireInValue": 0.0,
    "GetWireOutValue": 0.0,
    "OpenBySerial": 0.1,
    "ConfigureFPGA": 0.5,
    "Close": 0.0,
}
PIPE_BYTES_PER_S = 300e6
HOST_S_PER_CALL = 5e-6
SETUP_OPS = ("OpenBySerial", "ConfigureFPGA", "Close")
USB_TRANSACTION_OPS = ("UpdateWireIns", "UpdateWireOuts", "ActivateTriggerIn", "WriteToPipeIn", "ReadFromPipeOut")

# ---------------------------------------------------------------- FPGA timing (neurram_top.v)
SYS_TICK_S = 10e-9  # 100 MHz
ADC_CLK_S = 80e-9  # 12.5 MHz: resistance_read / auto_ranging / neurons
READ_UNIT_S = 16 * ADC_CLK_S  # 1.28 us
ADC_CONVERSION_S = 32 * ADC_CLK_S  # adc_daisy_control: ~10 conversion + 19 shift clocks + handshakes
DAC_CLK_S = 160e-9  # 6.25 MHz
# dac_daisy_control.v's FSM per word: one clock in IDLE or SHIFT_DONE seeing the FIFO not empty (:160, :200),
# two in DAC_RD_EN (:164-177: rd_en, then the FIFO's valid one clock later), 32 in DAC_SHIFT (:180-190);
# the update ends SHIFT_DONE in one clock (:201). Measured on the RTL: 141 working DAC clocks for a 4-word
# frame and its update (benchmarks/bench_rtl_check.py --board-time, hdl/board.v dac_busy_clk)
DAC_WORD_S = 35 * DAC_CLK_S
DAC_UPDATE_S = 1 * DAC_CLK_S
SPI_CLK_S = 40e-9  # 25 MHz: spi_ctrl_clk = clk_cnt[1] (neurram_top.v:106,118)
NEURON_EXTRA_CLOCKS = 4
READOUT_STEPS_MAX = 100
SPI_PLANE_WORDS = 16  # pipe words of one input plane (neurram_spi_control.v STATE_PIPE_IN)
MVM_CYCLE_FSM_CLOCKS = 14  # matmul_unsigned_helper states around one cycle (80 ns clocks)
MVM_SAMPLE_EXTRA_CLOCKS = 4  # SAMPLING, SAMPLING1's last, SAMPLING2, INTEG1's last
MVM_CDS_EXTRA_CLOCKS = 4
READOUT_STEP_EXTRA_CLOCKS = 31  # compare (13), partial reset (6), readout FSM (12) beyond 3 t_opamp
PULSE_OVERHEAD_S = 3 * SYS_TICK_S  # IDLE -> PROGRAM -> PROGRAM_DONE state changes



def spi_write_s(multiplier: int, extra: int = 0) -> float:
    """FPGA time (s) of one pipe-fed SPI write of a plane: its 16 words, then two 25 MHz clocks a bit for
    256 x ``multiplier`` + ``extra`` bits (neurram_spi_control.v :179-265)."""
    return (SPI_PLANE_WORDS + 2 * (256 * max(int(multiplier), 1) + int(extra))) * SPI_CLK_S


def mvm_cycles_s(bits_field: int, pulse_multiplier: int, spi_multiplier: int, t_opamp: int, t_sample: int,
                 cds: bool = True) -> float:
    """FPGA time (s) of one vector's bit-serial cycles (0x0E[4:2] = ``bits_field``, 0x0E[9:5] =
    ``pulse_multiplier``, 0x0D[5:2] = ``spi_multiplier``; ``t_opamp``, ``t_sample`` in 80 ns clocks)."""
    total = (t_opamp + MVM_CDS_EXTRA_CLOCKS) * ADC_CLK_S if cds else 0.0
    pulses = int(pulse_multiplier)
    for c in range(2 * (int(bits_field) + 1)):
        total += spi_write_s(spi_multiplier) + MVM_CYCLE_FSM_CLOCKS * ADC_CLK_S
        total += pulses * (t_sample + t_opamp + MVM_SAMPLE_EXTRA_CLOCKS) * ADC_CLK_S
        if c % 2 == 1:
            pulses = (pulses << 1) & 0xFF
    return total


def readout_step_s(readout_multiplier: int, t_opamp: int) -> float:
    """FPGA time (s) of one multi-level readout step: compare and write, partial reset, the SPI shift out of
    256 x ``readout_multiplier`` (0x0F[6:3]) bits (neuron_multi_level_output.v :357-599)."""
    shift_bits = 256 * max(int(readout_multiplier), 1)
    return (3 * t_opamp + READOUT_STEP_EXTRA_CLOCKS) * ADC_CLK_S + 2 * shift_bits * SPI_CLK_S


def read_s(t_shld: int, t_delta: int) -> float:
    """FPGA time of one ``resistance_read`` at the given timing (units of 1.28 us), in s."""
    return (max(int(t_shld), 0) + max(int(t_delta), 0)) * READ_UNIT_S + ADC_CONVERSION_S


def autorange_s(t_shld0: int, t_delta0: int, iterations: int, t_shld_final: int, t_delta_final: int) -> float:
    """FPGA time of an auto-ranged read, in s.

    The timing starts at (t_shld0, t_delta0) and doubles or halves each
    iteration (``auto_ranging.v``) to the final values; iterations beyond the
    steps needed to get there are counted at the final timing.
    """
    n = max(int(iterations), 1)
    if n == 1:
        return read_s(t_shld0, t_delta0)
    if t_delta0 <= 0 or t_delta_final <= 0:
        return read_s(t_shld0, t_delta0) + (n - 1) * read_s(t_shld_final, t_delta_final)
    k = int(round(math.log2(t_delta_final / t_delta0)))
    steps = min(abs(k), n - 1)
    sign = 1 if k > 0 else -1
    total = 0.0
    for i in range(steps):  # the path from the initial timing towards the final one
        f = 2.0 ** (sign * i)
        total += read_s(t_shld0 * f, t_delta0 * f)
    total += (n - steps) * read_s(t_shld_final, t_delta_final)
    return total


def authors_cell_calls(pulses: int, read_cycles: int = 8) -> dict:
    """FrontPanel calls of one cell of the authors' write-verify with ``pulses`` pulses (see module doc).

    Returns ``{"calls": ..., "usb_transactions": ...}``, every busy-poll ending at its first pass.
    """
    p = int(pulses)
    if p < 0:
        raise InputError(f"pulses must be >= 0, got {pulses!r}")
    sel_calls, sel_usb = 12, 6
    read_calls, read_usb = 4 + 10 * read_cycles, 2 + 4 * read_cycles
    pulse_calls, pulse_usb = 76, 44
    return {"calls": sel_calls + 2 * read_calls + p * (pulse_calls + read_calls),
            "usb_transactions": sel_usb + 2 * read_usb + p * (pulse_usb + read_usb)}


def rail_frame_calls(words_written: int) -> dict:
    """FrontPanel calls of one rail-ramp frame (see module doc) with ``words_written`` of its four words put on
    wire-in 0x01 (the others pushed again as they stand), every busy-poll ending at its first pass.

    Returns ``{"calls": ..., "usb_transactions": ...}``.
    """
    w = int(words_written)
    if not 0 <= w <= 4:
        raise InputError(f"words_written must be 0-4 (a frame has four words), got {words_written!r}")
    return {"calls": 4 + 2 * w + 2 + 1 + 2, "usb_transactions": 4 + w + 1 + 1 + 1}


class BoardTimeModel:
    """Observer predicting the wall time a real board would take for the calls it sees.

    Parameters
    ----------
    usb_s_per_call : dict, optional
        Overrides of :data:`USB_S_PER_CALL` (seconds per call, by op).
    host_s_per_call : float
        Host-side seconds added to every call.
    pipe_bytes_per_s : float
        Pipe throughput after the per-call latency.

    Attributes
    ----------
    predicted_s : float
        Predicted board wall time so far (USB + host + FPGA waits + set-up).
    usb_s, host_s, fpga_wait_s, setup_s : float
        Its parts: per-call USB costs (set-up calls apart), host overhead,
        waits for the FPGA beyond the USB time, and open/configure.
    calls : int
    calls_by_op : dict[str, int]
    calls_by_board_op : dict[str, int]
    predicted_s_by_board_op : dict[str, float]
    pulses, adc_reads, cell_reads, dac_words, dac_updates, mvm_runs : int
    """

    def __init__(self, usb_s_per_call: dict | None = None, host_s_per_call: float = HOST_S_PER_CALL,
                 pipe_bytes_per_s: float = PIPE_BYTES_PER_S):
        self.usb_cost = dict(USB_S_PER_CALL)
        if usb_s_per_call:
            unknown = set(usb_s_per_call) - set(USB_S_PER_CALL)
            if unknown:
                raise InputError(f"usb_s_per_call has unknown ops {sorted(unknown)}; known: {sorted(USB_S_PER_CALL)}")
            self.usb_cost.update({k: float(v) for k, v in usb_s_per_call.items()})
        self.host_s_per_call = float(host_s_per_call)
        self.pipe_bytes_per_s = float(pipe_bytes_per_s)
        if self.pipe_bytes_per_s <= 0:
            raise InputError(f"pipe_bytes_per_s must be > 0, got {pipe_bytes_per_s!r}")
        self.predicted_s = 0.0
        self.usb_s = self.fpga_wait_s = self.setup_s = 0.0
        self._counts: dict[str, dict[str, int]] = {}  # board_op -> op -> calls
        self._bop_s: dict[str, float] = {}  # board_op -> predicted seconds (closed segments)
        self._bop = None
        self._bop_start_s = 0.0
        self._cur: dict[str, int] = {}
        self._spec = {op: (cost, _KINDS.get(op, _PLAIN)) for op, cost in self.usb_cost.items()}  # op -> (USB cost, kind)
        self.pulses = self.adc_reads = self.cell_reads = self.dac_words = self.dac_updates = self.mvm_runs = 0
        self.fpga_s = 0.0  # FPGA busy time started (whether or not the host waited for it)
        self._host_wi: dict[int, int] = {}  # staged wire-ins the model reads (_WATCHED)
        self._wi: dict[int, int] = {}  # latched wire-ins
        self._busy_until = 0.0
        self._dac_busy_until = 0.0
        self._ar = None  # pending auto-ranged read: [start_s, t_shld0, t_delta0, iterations, final timing]
        self._read_since_select = False
        self.board_op = "-"  # the Board operation of the next calls (the call layer sets it)
        self._count = True  # False once the call layer's own counts stand in (share_counts)
        self._mux_read = False  # the latched write mux routes the read
        self._staged = False  # a watched wire-in was staged since the last latch
        host, cost = self.host_s_per_call, self.usb_cost
        self._c_set, self._c_win, self._c_wout = cost["SetWireInValue"], cost["UpdateWireIns"], cost["UpdateWireOuts"]
        self._c_get, self._c_trig = cost["GetWireOutValue"], cost["ActivateTriggerIn"]
        self._k_set, self._k_win, self._k_wout = self._c_set + host, self._c_win + host, self._c_wout + host
        self._k_get, self._k_trig = self._c_get + host, self._c_trig + host

    # ------------------------------------------------------------ observer
    def __call__(self, record: dict) -> None:
        """Take one FrontPanel call record (the observer interface): the direct hook of its op."""
        op = record["op"]
        self.board_op = record.get("board_op") or "-"
        hook = _RECORD_HOOKS.get(op)
        if hook is not None:
            hook(self, record)
        else:
            self.call(op, int(record.get("bytes", 0)))

    # Direct hooks: what the call layer (drivers.frontpanel.Link) calls for each FrontPanel call when
    # it holds the model as its timer, without building a record; ``board_op`` is set by the layer.
    # Each does what one record does: count it under its Board operation, let a finished auto-ranged
    # read's full time be waited for (unless the call reads its result), add USB + host cost (a poll
    # first waits for the FPGA), then start the FPGA work the call starts.
    def set_wire(self, ep: int, value: int, mask: int = 0xFFFFFFFF) -> None:
        """``SetWireInValue``."""
        if self.board_op != self._bop:
            self._switch(self.board_op)
        if self._count:
            c = self._cur
            c["SetWireInValue"] = c.get("SetWireInValue", 0) + 1
        self.usb_s += self._c_set
        self.predicted_s += self._k_set
        if ep in _WATCHED:
            hw = self._host_wi
            hw[ep] = value if mask == 0xFFFFFFFF else (hw.get(ep, 0) & ~mask) | (value & mask)
            self._staged = True

    def update_wire_ins(self) -> None:
        """``UpdateWireIns``: the staged wire-ins latch."""
        if self.board_op != self._bop:
            self._switch(self.board_op)
        if self._count:
            c = self._cur
            c["UpdateWireIns"] = c.get("UpdateWireIns", 0) + 1
        ar = self._ar
        if ar is not None and (ar[3] or ar[4]):
            self._finish_autorange()
        self.usb_s += self._c_win
        self.predicted_s += self._k_win
        if self._staged:
            self._staged = False
            self._wi.update(self._host_wi)
            self._mux_read = self._wi.get(nt.WI_WRITE_MUX, 0) == nt.MUX_READ
        if not self._mux_read:  # a read ends when the mux leaves "read"
            self._read_since_select = False

    def update_wire_outs(self) -> None:
        """``UpdateWireOuts``: a status poll, which first waits for the FPGA."""
        if self.board_op != self._bop:
            self._switch(self.board_op)
        if self._count:
            c = self._cur
            c["UpdateWireOuts"] = c.get("UpdateWireOuts", 0) + 1
        ar = self._ar
        if ar is not None and (ar[3] or ar[4]):
            self._finish_autorange()
        t = self._busy_until if self._busy_until > self._dac_busy_until else self._dac_busy_until
        if t > self.predicted_s:
            self.fpga_wait_s += t - self.predicted_s
            self.predicted_s = t
        self.usb_s += self._c_wout
        self.predicted_s += self._k_wout

    def get_wire(self, ep: int, value: int) -> None:
        """``GetWireOutValue`` (an auto-ranged read's iterations and final timing are noted)."""
        if self.board_op != self._bop:
            self._switch(self.board_op)
        if self._count:
            c = self._cur
            c["GetWireOutValue"] = c.get("GetWireOutValue", 0) + 1
        self.usb_s += self._c_get
        self.predicted_s += self._k_get
        ar = self._ar
        if ar is not None:
            if ep == nt.WO_AR_END:
                ar[3] = max((value >> 18) & 0x1FF, 1)
            elif ep == nt.WO_AR_TIMING:
                ar[4] = (value & 0xFFFF, (value >> 16) & 0xFFFF)

    def trigger(self, ep: int, bit: int) -> None:
        """``ActivateTriggerIn``: the FPGA work it starts."""
        if self.board_op != self._bop:
            self._switch(self.board_op)
        if self._count:
            c = self._cur
            c["ActivateTriggerIn"] = c.get("ActivateTriggerIn", 0) + 1
        ar = self._ar
        if ar is not None and (ar[3] or ar[4]):
            self._finish_autorange()
        self.usb_s += self._c_trig
        self.predicted_s += self._k_trig
        self._trigger(ep, bit)

    def call(self, op: str, n_bytes: int = 0) -> None:
        """Any other call (pipes with their ``n_bytes``, open, configure, close, ...)."""
        if self.board_op != self._bop:
            self._switch(self.board_op)
        if self._count:
            c = self._cur
            c[op] = c.get(op, 0) + 1
        ar = self._ar
        if ar is not None and (ar[3] or ar[4]) and op not in _RESULT_OPS:
            self._finish_autorange()
        spec = self._spec.get(op)
        if spec is None:  # an op without a cost: the host overhead only
            self.predicted_s += self.host_s_per_call
            return
        cost, kind = spec
        if kind == _POLL:
            self._wait_until(max(self._busy_until, self._dac_busy_until))
        elif kind == _PIPE:
            cost += int(n_bytes) / self.pipe_bytes_per_s
        if kind == _SETUP:
            self.setup_s += cost
        else:
            self.usb_s += cost
        self.predicted_s += cost + self.host_s_per_call

    def share_counts(self, calls: dict) -> None:
        """Take the call layer's counts ``{board_op: {op: calls}}`` (kept up to date by it, zero counts
        allowed) instead of counting each call again."""
        self._counts = calls
        self._count = False

    def _switch(self, bop: str) -> None:
        if self._bop is not None:
            self._bop_s[self._bop] = self._bop_s.get(self._bop, 0.0) + self.predicted_s - self._bop_start_s
        self._bop, self._bop_start_s = bop, self.predicted_s
        if self._count:
            self._cur = self._counts.setdefault(bop, {})

    # ------------------------------------------------------------ counts
    @property
    def calls(self) -> int:
        return sum(sum(d.values()) for d in self._counts.values())

    @property
    def calls_by_op(self) -> dict:
        out: dict[str, int] = {}
        for d in self._counts.values():
            for op, n in d.items():
                if n:
                    out[op] = out.get(op, 0) + n
        return out

    @property
    def calls_by_board_op(self) -> dict:
        return {b: n for b, n in ((b, sum(d.values())) for b, d in self._counts.items()) if n}

    @property
    def calls_by_board_op_and_op(self) -> dict:
        return {b: {op: n for op, n in d.items() if n} for b, d in self._counts.items() if any(d.values())}

    @property
    def predicted_s_by_board_op(self) -> dict:
        out = dict(self._bop_s)
        if self._bop is not None:
            out[self._bop] = out.get(self._bop, 0.0) + self.predicted_s - self._bop_start_s
        return out

    @property
    def host_s(self) -> float:
        return self.calls * self.host_s_per_call

    # ------------------------------------------------------------ FPGA state
    def wait_for_fpga_s(self, seconds: float) -> None:
        """FPGA work the calls do not show (the write-verify engine's cell times): ``seconds`` (s) busy,
        and the host waited for it."""
        self.fpga_s += seconds
        self._wait_until(self.predicted_s + seconds)

    def _wait_until(self, t: float) -> None:
        if t > self.predicted_s:
            self.fpga_wait_s += t - self.predicted_s
            self.predicted_s = t

    def _start(self, duration_s: float) -> None:
        self.fpga_s += duration_s
        self._busy_until = max(self._busy_until, self.predicted_s + duration_s)

    def _finish_autorange(self) -> None:
        """Once the host has read the iterations and final timing: the read's full FPGA time."""
        if self._ar is None:
            return
        start, ts0, td0, n, final = self._ar
        self._ar = None
        n = n or 1
        ts1, td1 = final if final is not None else (ts0, td0)
        full = autorange_s(ts0, td0, n, ts1, td1)
        first = read_s(ts0, td0)
        self.fpga_s += full - first
        # the status poll after the trigger waited for the first iteration; on hardware it
        # would have waited for them all, then paid its own USB cost
        self._wait_until(start + full + self.usb_cost["UpdateWireOuts"] + self.host_s_per_call)

    def _trigger(self, ep: int, bit: int) -> None:
        wi = self._wi
        if ep == nt.TI_SYS:
            if bit == nt.T_SET or bit == nt.T_RESET:
                self.pulses += 1
                self._read_since_select = False
                self._start(wi.get(nt.WI_PULSE_WIDTH, 0) * SYS_TICK_S + PULSE_OVERHEAD_S)
            elif bit == nt.T_WL_PULSE:
                self._start(wi.get(nt.WI_WL_PULSE_WIDTH, 0) * SYS_TICK_S + PULSE_OVERHEAD_S)
            elif bit == nt.T_DAC_PUSH:
                self.dac_words += 1
                self._dac_busy_until = max(self._dac_busy_until, self.predicted_s) + DAC_WORD_S
                self.fpga_s += DAC_WORD_S
        elif ep == nt.TI_DAC and bit == nt.T_DAC_UPDATE:
            self.dac_updates += 1
            self._dac_busy_until = max(self._dac_busy_until, self.predicted_s) + DAC_UPDATE_S
            self.fpga_s += DAC_UPDATE_S
        elif ep == nt.TI_ADC:
            if bit == nt.T_READ_ACK or bit == nt.T_AUTORANGE_ACK:
                return
            timing = wi.get(nt.WI_READ_TIMING, 0)
            ts, td = timing & 0xFFFF, (timing >> 16) & 0xFFFF
            self.adc_reads += 1
            if not self._read_since_select:
                self.cell_reads += 1
                self._read_since_select = True
            self._start(read_s(ts, td))
            if bit == nt.T_AUTORANGE:
                self._finish_autorange()
                self._ar = [self.predicted_s, ts, td, None, None]
        elif ep == nt.TI_SPI:
            if bit == nt.T_RANDOM_ACCESS:
                self._read_since_select = False
                self._start(4 * SPI_CLK_S)
            elif bit == nt.T_SPI_SHIFT:
                spi = wi.get(nt.WI_SPI, 0)
                mult = max(nt.SPI_SHIFT_MULTIPLIER.get(spi), 1)
                extra = nt.SPI_EXTRA_SHIFT_CYCLES.get(spi)
                self._start((256 * mult + extra) * SPI_CLK_S)
        elif ep == nt.TI_NEURON:
            t_opamp = nt.NEURON_T_OPAMP.get(wi.get(nt.WI_NEURON, 0))
            if bit in nt.NEURON_PHASE_TRIGGERS:
                self._start((t_opamp + NEURON_EXTRA_CLOCKS) * ADC_CLK_S)
            elif bit == nt.T_READOUT:
                self._start(self._readout_s(t_opamp))
            elif bit == nt.T_MATMUL or bit == nt.T_BATCH_MATMUL:
                self.mvm_runs += 1
                self._start(self._mvm_s(t_opamp, batched=bit == nt.T_BATCH_MATMUL))

    def _mvm_s(self, t_opamp: int, batched: bool) -> float:
        """One MVM trigger's FPGA time (s) from the wire-ins it runs with (0x0D, 0x0E, 0x0F, 0x10)."""
        wi = self._wi
        mm = wi.get(nt.WI_MATMUL, 0)
        batch = max(nt.MATMUL_BATCH.get(mm), 1) if batched else 1
        t_sample = nt.DEBUG_T_SAMPLE.get(wi.get(nt.WI_DEBUG, 0))
        per_vector = mvm_cycles_s(nt.MATMUL_NUM_BITS.get(mm), nt.MATMUL_PULSE_MULTIPLIER.get(mm),
                                  nt.SPI_SHIFT_MULTIPLIER.get(wi.get(nt.WI_SPI, 0)), t_opamp, t_sample,
                                  bool(mm & nt.MATMUL_CDS))
        if batched:
            per_vector += self._readout_s(t_opamp)
        return batch * per_vector

    def _readout_s(self, t_opamp: int) -> float:
        """The multi-level readout at its bound of 100 steps (s)."""
        return READOUT_STEPS_MAX * readout_step_s(nt.READOUT_SHIFT_MULTIPLIER.get(self._wi.get(nt.WI_READOUT, 0)),
                                                  t_opamp)

    # ------------------------------------------------------------ results
    def summary(self) -> dict:
        """Predicted time and call counts (JSON-ready)."""
        self._finish_autorange()
        per = lambda n: (self.predicted_s / n) if n else None  # noqa: E731
        return {
            "predicted_s": self.predicted_s,
            "usb_s": self.usb_s,
            "host_s": self.host_s,
            "fpga_wait_s": self.fpga_wait_s,
            "fpga_busy_s": self.fpga_s,
            "setup_s": self.setup_s,
            "calls": self.calls,
            "usb_transactions": sum(self.calls_by_op.get(o, 0) for o in USB_TRANSACTION_OPS),
            "calls_by_op": dict(sorted(self.calls_by_op.items())),
            "calls_by_board_op": dict(sorted(self.calls_by_board_op.items())),
            "predicted_s_by_board_op": dict(sorted(self.predicted_s_by_board_op.items())),
            "pulses": self.pulses,
            "adc_reads": self.adc_reads,
            "cell_reads": self.cell_reads,
            "dac_words": self.dac_words,
            "dac_updates": self.dac_updates,
            "mvm_runs": self.mvm_runs,
            "predicted_s_per_pulse_or_read": per(self.pulses + self.cell_reads),
            "usb_s_per_call": dict(self.usb_cost),
            "host_s_per_call": self.host_s_per_call,
            "pipe_bytes_per_s": self.pipe_bytes_per_s,
        }

    @classmethod
    def of_records(cls, records, **options) -> "BoardTimeModel":
        """A model fed every record of ``records`` (e.g. :func:`drivers.trace.iter_trace`)."""
        m = cls(**options)
        for r in records:
            m(r)
        m._finish_autorange()
        return m

    def __repr__(self):
        return f"BoardTimeModel(predicted_s={self.predicted_s:.6g}, calls={self.calls})"


_PLAIN, _POLL, _PIPE, _SETUP = 0, 1, 2, 3
_KINDS = {"UpdateWireOuts": _POLL, "WriteToPipeIn": _PIPE, "ReadFromPipeOut": _PIPE,
          **{op: _SETUP for op in SETUP_OPS}}
_RECORD_HOOKS = {
    "SetWireInValue": lambda m, r: m.set_wire(int(r["ep"]), int(r["value"]), int(r.get("mask", 0xFFFFFFFF))),
    "UpdateWireIns": lambda m, r: m.update_wire_ins(),
    "UpdateWireOuts": lambda m, r: m.update_wire_outs(),
    "GetWireOutValue": lambda m, r: m.get_wire(int(r["ep"]), int(r.get("value", 0))),
    "ActivateTriggerIn": lambda m, r: m.trigger(int(r["ep"]), int(r["bit"])),
}
_RESULT_OPS = frozenset(("GetWireOutValue", "SetWireInValue"))
# wire-ins whose latched values the model reads
_WATCHED = frozenset((nt.WI_READ_TIMING, nt.WI_PULSE_WIDTH, nt.WI_NEURON, nt.WI_WL_PULSE_WIDTH, nt.WI_SPI,
                      nt.WI_MATMUL, nt.WI_WRITE_MUX))
