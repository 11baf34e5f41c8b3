"""The bitstream's MVM side, emulated: SPI chains, bit-serial MVM, neuron phases, multi-level readout.

Plugged into :class:`drivers.hil.emulator.EmulatedBitstream` by :func:`attach`.
Each part follows its HDL module (weierwan/Neurram_48core, HDL/):

- ``arbiter_pipein2fifo.v``: pipe 0x80 words go to a 2048-word FIFO and from
  there, ``0x15[17:8]`` words per turn, to the FIFO (2048 words) of each core
  row selected in ``0x15[7:0]``, rows in ascending order; words beyond what
  the FIFOs hold are lost (0x28 bit 10: full). Pipe 0x81 (the output mask)
  likewise, 12 words a row.
- ``neurram_spi_control.v``: one SPI shift (trigger 0x44 bit 0, or a cycle of
  the MVM FSM) loads 16 words (a 256-line plane, two bits a line: bit ``2i``
  the -1 driver, ``2i + 1`` the +1 driver) and shifts the core row's chain of
  12 registers (H0 V0 H1 V1 ... H5 V5, H = horizontal, V = vertical) by
  ``0x0D[5:2]`` registers, forward from the H0 end (0x0D bit 14) or backward
  from the V5 end; ``0x0D[9:6]`` planes per shift, ``0x0D[18:15]`` extra
  registers. A plane lands so that its bit pair ``i`` drives line ``i`` when
  the host reversed it for a forward shift, as the authors' host does. The
  rows of one SPI clock pin (row 0; rows 1-3; rows 4-7, ``neurram_top.v:529-534``)
  shift together, zeros entering the rows 0x15 does not select.
- ``matmul_unsigned_helper.v`` / ``matmul_dac2adc.v``: per vector, ``2 (n + 1)``
  cycles (``n = 0x0E[4:2]``), each an SPI shift and one sample of the core's
  input register, ``0x0E[9:5]`` pulses doubled after every second cycle
  (8-bit count); registers cleared after each cycle when ``0x0E[1]``; then the
  readout; ``max(1, 0x0E[17:10])`` vectors on trigger 0x45 bit 8. Every
  enabled core samples its input register (the plane log shows them all);
  the readout reads the cores of the selected rows.
- ``neuron_multi_level_output.v``: single-core readout (``0x0F`` bit 7) of the
  register ``0x0F[6:3]`` positions from the H0 end: sign from the first
  compare, then up to 100 compare-and-decrement steps; a neuron's byte is
  ``sign << 7 | step``, where step is the step at which it flipped. A neuron
  that does not flip within 100 steps keeps the step count it had (0 after a
  mask load): the HDL never clears it. Masked-off neurons read 0 steps; their
  sign bit is not modelled (0). Bytes go to the row's FIFO (512 words), then
  the 0xA2 FIFO (4096 words), 64 words per row in ascending row order, each
  pass from the lowest selected row (``arbiter_fifo2pipeout.v``, as for pipe
  0xA0); writes to a full FIFO are lost.

- ``lfsr_control.v`` (state read only): trigger 0x44 bit 4 clocks the chip's
  LFSR chains ``0x10[20:12]`` times (``lfsr_clk``), shifting each clock's two
  ``lfsr_out`` bits in at bit 255 of two 256-bit registers (cleared when idle),
  then writes 16 words to a 32-word FIFO (lost when full): words 0-7
  ``reg0[32 p +: 32]``, 8-15 ``reg1``; pipe 0xA1 reads them (zeros when empty).
  A count of 0 never ends on hardware (``clk_counter == shift_cycle - 1``):
  refused here as a violation. ``0x0A`` bit 0 drives the chip's active-low
  LFSR set pin, presetting every core's chains while it is high. The bits
  come from the enabled core's twin :class:`~sim_backend.neuron.LFSRPair`
  (one core enabled; the chip's output mux for several is not published: a
  violation).
- ``lfsr_control.v`` (the LFSR pulse, ``:172-330, 378-413``): trigger 0x44
  bit 5 samples, in every neuron of every enabled core, VPLFSR (DAC 0
  channel 5) where the neuron's LFSR bit is 1 and VNLFSR (channel 6) where
  it is 0, and integrates it once. Twin model (the chip's netlist is not
  published): each pulse steps the core's :class:`~sim_backend.neuron.LFSRPair`
  once and adds ``(Cs/Ci) * gain * (V_bit - VREF)`` to neuron ``j``'s
  integrator, ``V_bit`` chosen by ``A[j] XOR B[j]``; ``n`` pulses give a
  spread of ``(Cs/Ci) gain (VPLFSR - VNLFSR) / 2 * sqrt(n)`` rms and a mean of
  ``n (Cs/Ci) gain ((VPLFSR + VNLFSR) / 2 - VREF)``; the pulse width
  (``0x10[3:0]``) is taken as long enough to settle. The noise enters the
  next readout of the core after the integrator's clip, as the twin's own
  ``stochastic`` activation adds it (``sim_backend/chip.py``); a bit-serial
  MVM or a CDS clears it. Violations: a pulse while ``0x09[21:14]`` is not 0
  (the neuron FSM then goes on sampling its inputs, ``neuron_control.v:1319``)
  or with run-all (``0x09`` bit 0: it compares after), or with 0x05 bit 2
  set during inference (``inference_mode`` is then off, ``neurram_top.v:376``).

Physics is the twin's: the cycles' planes give each driven line its charge
``q = sum(pulses * plane)``; the twin's ``_mvm`` runs the request that
integrates ``a * q`` (``a``: half the VPOS - VNEG spread of the driven side),
converting at 8 bits with the decrement step present on the DACs
(VRESET_PLUS - VREF as one LSB), so its codes are step counts. Vectorised over
a batch: one twin call per run and core row group. The neuron phases (0x45
bits 0-4) sample the external line's voltage (0x08 bit 3 with the bit-line
side, bit 4, or source-line side, bit 5) into every enabled core; the next
readout converts it with the twin's ``_neuron_test``.
"""

from __future__ import annotations

import numpy as np

from neurram_lab.board import MVMRequest
from neurram_lab.board.limits import N_ROWS as N_LINES  # lines of a core, rows and columns alike

from .. import neurram_top as nt

CORE_GRID_ROWS, CORE_GRID_COLS = 8, 6  # the chip's 48 cores as an 8 x 6 grid (core = row * 6 + col)
N_REGS = 2 * CORE_GRID_COLS
PLANE_WORDS = 16
SPI_FIFO_WORDS = 2048
MASK_FIFO_WORDS = 64
SPI_ROW_OUT_WORDS = SPI_OUT_FIFO_WORDS = 256  # FIFO32x256: neurram_spi_control.v:70, arbiter_fifo2pipeout.v:2
MASK_WORDS = 12  # 384 bits per core row
NMLO_FIFO_BYTES = 512 * 4
READOUT_FIFO_BYTES = 4096 * 4
MAX_STEPS = 100
# the chip's SPI clock pins: row 0 on spi_clock_0, rows 1-3 share spi_clock_1_3, rows 4-7 spi_clock_4_7, each the
# OR of its rows' controllers' clocks (neurram_top.v:529-534): a shift of one row clocks its group's every chain
# tops whose lfsr_control instance leaves its shift_cycle input (lfsr_control.v:18) unconnected
# (neurram_top_voltage_mode.v:615-636, neurram_top_sar.v:630-649; neurram_top.v:616/624 drives it from
# 0x10[20:12]): the shift's end test ``clk_counter == shift_cycle-1`` (lfsr_control.v:371) is never true (z / x
# in simulation; tied to 0 by synthesis, 0 - 1 is 32 bits of ones against a 9-bit counter), so after a shift
# trigger the FSM shifts for ever: nothing reaches the 0xA1 FIFO and the block ignores further shift and pulse
# triggers (it leaves STATE_IDLE only, :357-365) until neurram_rst
LFSR_SHIFT_UNENDING_TOPS = frozenset(n for n, b in nt.BITSTREAMS.items() if b.lfsr_readout_unavailable)
SPI_CLOCK_GROUPS = ((0,), (1, 2, 3), (4, 5, 6, 7))
SPI_CLOCK_GROUP_OF_ROW = {r: g for g, rows in enumerate(SPI_CLOCK_GROUPS) for r in rows}
TWIN_BITS = 8  # codes -128..127 cover the 100 steps
# 0x28's bits: drivers.neurram_top's NS_* (rtl-check compares this word with the RTL's after every wait)


def words_of(data: bytes) -> np.ndarray:
    """32-bit pipe words (little-endian) of pipe-in bytes; a trailing partial word is dropped."""
    n = len(data) // 4
    return np.frombuffer(bytes(data[: 4 * n]), "<u4").astype(np.uint32)


def plane_of_words(words: np.ndarray) -> np.ndarray:
    """The SPI pipe register of 16 words: (256,) int8, +1 / -1 / 0 per bit pair, bit position order."""
    w = np.asarray(words, np.uint32)
    bits = ((w[:, None] >> np.arange(32, dtype=np.uint32)[None, :]) & 1).astype(np.int8).reshape(-1)
    minus, plus = bits[0::2], bits[1::2]
    return np.where((plus == 1) & (minus == 0), 1, np.where((minus == 1) & (plus == 0), -1, 0)).astype(np.int8)


def planes_of_words(words: np.ndarray) -> np.ndarray:
    """:func:`plane_of_words` of every 16 words at once: (n_planes, 256) int8."""
    w = np.ascontiguousarray(np.asarray(words, "<u4")).reshape(-1, PLANE_WORDS)
    bits = np.unpackbits(w.view(np.uint8), axis=1, bitorder="little").view(np.int8)
    return bits[:, 1::2] - bits[:, 0::2]


def readout_byte(sign: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """``sign << 7 | steps`` as uint8."""
    return ((np.asarray(sign, np.uint8) & 1) << 7 | (np.asarray(steps, np.uint8) & 0x7F)).astype(np.uint8)


def codes_to_flips(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sign, step of the flip) of twin codes in LSB steps: code >= 0 flips at code + 1, else at -code."""
    c = np.asarray(codes, np.int64)
    sign = (c < 0).astype(np.uint8)
    return sign, np.where(c < 0, -c, c + 1)


class _Row:
    """One core row: SPI FIFO, register chain, mask, readout state and FIFO."""

    def __init__(self):
        self.spi_fifo = np.zeros(0, np.uint32)
        self.chain = np.zeros((N_REGS, N_LINES), np.int8)
        self.mask_fifo = np.zeros(0, np.uint32)
        self.y_addr = np.zeros(N_LINES, bool)
        self.num_step = np.zeros(N_LINES, np.uint8)
        self.out = bytearray()  # the row's readout FIFO
        self.waiting_mask = False


class MvmFsm:
    """The MVM / neuron / readout state machines of one emulated bitstream.

    Parameters
    ----------
    emu : EmulatedBitstream
    """

    def __init__(self, emu):
        self.emu = emu
        self.rows = [_Row() for _ in range(CORE_GRID_ROWS)]
        self.spi_arb = np.zeros(0, np.uint32)
        self.spi_out = [np.zeros(0, np.uint32) for _ in range(CORE_GRID_ROWS)]  # per grid row: its FIFO32x256 read back
        self.spi_out_fifo = np.zeros(0, np.uint32)  # arbiter_spi2pipeout's FIFO32x256 (pipe 0xA0)
        self.mask_arb = np.zeros(0, np.uint32)
        self.out_fifo = bytearray()  # 0xA2
        # arbiter_fifo2pipeout's addr_counter and write_counter, one per arbiter (0xA2 readout, 0xA0 SPI read-back)
        self._arb = {"out": [None, 0], "spi": [None, 0]}
        self.pending: dict[int, list] = {}  # core -> integrated vectors awaiting a readout
        self.neuron_v: dict[int, float] = {}  # core -> sampled external-line voltage (V)
        self.stalled = False
        self.counts = {"mvm_runs": 0, "mvm_vectors": 0, "readouts": 0, "neuron_samples": 0, "lost_words": 0,
                       "lost_readout_bytes": 0}
        self.last_request: MVMRequest | None = None
        self.lfsr_fifo = np.zeros(0, np.uint32)  # lfsr_control.v's FIFO32x32 (pipe 0xA1)
        self.lfsr_noise_v: dict[int, np.ndarray] = {}  # core -> LFSR charge on each integrator (V)
        self.counts["lfsr_pulses"] = 0
        self.lfsr_stuck = False  # lfsr_control shifting for ever (LFSR_SHIFT_UNENDING_TOPS)

    # ------------------------------------------------------------ wiring
    def attach(self) -> "MvmFsm":
        e = self.emu
        e.on_pipe_in[nt.PI_SPI] = self.pipe_in_spi
        e.on_pipe_in[nt.PI_OUTPUT_MASK] = self.pipe_in_mask
        e.on_pipe_out[nt.PO_READOUT] = self.pipe_out_readout
        e.on_pipe_out[nt.PO_SPI] = self.pipe_out_spi
        e.on_trigger[(nt.TI_SPI, nt.T_SPI_SHIFT)] = self.spi_shift_trigger
        for bit, fn in ((nt.T_CDS, self.neuron_cds), (nt.T_SAMPLE, self.neuron_sample),
                        (nt.T_COMPARE, self.neuron_phase), (nt.T_INTEGRATE, self.neuron_sample),
                        (nt.T_PARTIAL_RESET, self.neuron_phase), (nt.T_READOUT, self.readout_trigger),
                        (nt.T_LOAD_MASK, self.mask_trigger), (nt.T_MATMUL, self.matmul_trigger),
                        (nt.T_BATCH_MATMUL, self.batch_trigger)):
            e.on_trigger[(nt.TI_NEURON, bit)] = fn
        e.on_trigger[(nt.TI_SPI, nt.T_LFSR_SHIFT)] = self.lfsr_shift_trigger
        e.on_trigger[(nt.TI_SPI, nt.T_LFSR_PULSE)] = self.lfsr_pulse_trigger
        e.on_pipe_out[nt.PO_LFSR] = self.pipe_out_lfsr
        latch = e.latch

        def latch_lfsr_set(values):  # 0x0A bit 0 is a level on the chip's set pin: act while it is high
            was = self._wi(nt.WI_LFSR) & 1
            latch(values)
            if self._wi(nt.WI_LFSR) & 1:
                if not was:  # the pin's falling edge (lfsrhorz_set_b = ~0x0A[0], neurram_top.v:404)
                    self._log_lfsr(("lfsr_preset",))
                self._lfsr_preset()

        e.latch = latch_lfsr_set
        e.on_reset.append(self.reset)
        self.reset(True)
        return self

    def reset(self, chip: bool) -> None:
        """``0x00`` bit 1 (neurram_rst): FIFOs, chains and FSMs back to idle."""
        if not chip:
            return
        self.__init__(self.emu)
        self._status()

    # -------------------------------------------------------- registers
    def _wi(self, ep: int) -> int:
        return int(self.emu.wire_in[ep])

    def _selected_rows(self) -> list[int]:
        m = self._wi(nt.WI_SPI_MASK) & 0xFF
        return [r for r in range(CORE_GRID_ROWS) if m >> r & 1]

    def _status(self) -> None:
        rows = self.rows
        s = nt.NS_NEURON_IDLE | nt.NS_ENERGY_IDLE
        if getattr(getattr(self.emu, "bitstream", None), "name", None) == "neurram_top_voltage_mode":
            s |= nt.NS_TOP_IDLE  # out_energy_idle there (neurram_top_voltage_mode.v:727)
        if self.spi_out_fifo.size >= SPI_OUT_FIFO_WORDS or not any(w.size for w in self.spi_out):
            s |= nt.NS_SPI_OUT_ARB_IDLE
        if self.spi_out_fifo.size == 0:
            s |= nt.NS_SPI_OUT_EMPTY
        if not self.stalled:
            s |= nt.NS_SPI_IDLE | nt.NS_MATMUL_IDLE | nt.NS_BATCH_IDLE
        if not any(r.waiting_mask for r in rows):
            s |= nt.NS_READOUT_IDLE
        if self.spi_arb.size == 0:
            s |= nt.NS_SPI_ARB_IDLE
        if self.spi_arb.size >= SPI_FIFO_WORDS:
            s |= nt.NS_SPI_IN_FULL
        if self.mask_arb.size == 0:
            s |= nt.NS_MASK_ARB_IDLE
        if self.mask_arb.size >= MASK_FIFO_WORDS:
            s |= nt.NS_MASK_IN_FULL
        if not any(len(r.out) for r in rows):
            s |= nt.NS_OUT_ARB_IDLE
        if not self.out_fifo:
            s |= nt.NS_READOUT_EMPTY
        self.emu.status_bits[nt.WO_NEURON_STATUS] = s

    # ------------------------------------------------------ pipe-in 0x80
    def pipe_in_spi(self, data: bytes) -> int:
        w = words_of(data)
        self.spi_arb = np.concatenate([self.spi_arb, w])
        self._distribute_spi()
        if self.spi_arb.size > SPI_FIFO_WORDS:
            self.counts["lost_words"] += int(self.spi_arb.size - SPI_FIFO_WORDS)
            self.spi_arb = self.spi_arb[:SPI_FIFO_WORDS]
        self._status()
        return len(data)

    def _distribute_spi(self) -> None:
        """arbiter_pipein2fifo: ``0x15[17:8]`` words to each selected row in turn, while the rows have room.

        Chunk ``j`` of the arbiter's words goes to row ``rows[j % len(rows)]``; the arbiter stops at the
        first chunk its row has no room for, moving what fits of it."""
        turn = (self._wi(nt.WI_SPI_MASK) >> 8) & 0x3FF
        rows = self._selected_rows()
        arb = self.spi_arb
        if turn == 0 or not rows or arb.size == 0:
            return
        n, n_rows = arb.size, len(rows)
        n_chunks = -(-n // turn)
        take = np.full(n_chunks, turn, np.int64)
        take[-1] = n - turn * (n_chunks - 1)
        stop, fit = n_chunks, 0  # first chunk that does not fit, and how much of it does
        for i, r in enumerate(rows):
            room = SPI_FIFO_WORDS - self.rows[r].spi_fifo.size
            mine = take[i::n_rows]
            before = np.concatenate([[0], np.cumsum(mine)[:-1]])
            bad = np.flatnonzero(before + mine > room)
            if bad.size and i + n_rows * int(bad[0]) < stop:
                stop, fit = i + n_rows * int(bad[0]), room - int(before[bad[0]])
        chunk = np.arange(n) // turn
        for i, r in enumerate(rows):
            sel = (chunk % n_rows == i) & (chunk < stop)
            if stop < n_chunks and stop % n_rows == i:
                sel[stop * turn:stop * turn + fit] = True
            row = self.rows[r]
            row.spi_fifo = np.concatenate([row.spi_fifo, arb[sel]])
        self.spi_arb = arb[stop * turn + fit:].copy() if stop < n_chunks else np.zeros(0, np.uint32)

    # ------------------------------------------------------ pipe-in 0x81
    def pipe_in_mask(self, data: bytes) -> int:
        self.mask_arb = np.concatenate([self.mask_arb, words_of(data)])
        rows = self._selected_rows()
        pos = 0
        arb = self.mask_arb
        while rows and arb.size - pos >= 1:
            moved = False
            for r in rows:
                take = min(MASK_WORDS, arb.size - pos)
                if take <= 0:
                    break
                self.rows[r].mask_fifo = np.concatenate([self.rows[r].mask_fifo, arb[pos:pos + take]])
                pos += take
                moved = True
            if not moved:
                break
        self.mask_arb = arb[pos:].copy()
        if self.mask_arb.size > MASK_FIFO_WORDS:
            self.counts["lost_words"] += int(self.mask_arb.size - MASK_FIFO_WORDS)
            self.mask_arb = self.mask_arb[:MASK_FIFO_WORDS]
        for r in rows:  # a mask load waiting on its words finishes when they arrive
            if self.rows[r].waiting_mask:
                self._load_mask(self.rows[r])
        self._status()
        return len(data)

    def mask_trigger(self) -> None:
        """Trigger 0x45 bit 6: each selected row reads 12 words of mask and clears its step counts."""
        for r in self._selected_rows():
            self.rows[r].waiting_mask = True
            self._load_mask(self.rows[r])
        self._status()

    def _load_mask(self, row: _Row) -> None:
        row.num_step[:] = 0
        if row.mask_fifo.size < MASK_WORDS:
            return  # STATE_PIPE_IN waits for the words
        w, row.mask_fifo = row.mask_fifo[:MASK_WORDS], row.mask_fifo[MASK_WORDS:]
        bits = np.unpackbits(w.astype("<u4").view(np.uint8), bitorder="little").astype(bool)
        row.y_addr = bits[:N_LINES].copy()
        row.waiting_mask = False

    # ------------------------------------------------------------- SPI
    def spi_shift_trigger(self) -> None:
        """Trigger 0x44 bit 0: one SPI operation on every selected row (pipe-fed write, or shift only)."""
        cfg = self._wi(nt.WI_SPI)
        if cfg & 1:  # read back to pipe 0xA0
            if cfg >> 15 & 0xF or not cfg >> 10 & 0xF:
                self.emu.violations.append("SPI read-back with extra shift cycles or 0 pipe-out steps is not emulated")
            elif not self._spi_read(self._selected_rows(), cfg):
                self.stalled = True
            self._status()
            return
        if not self._spi_write(self._selected_rows()):
            self.stalled = True
        self._status()

    def _spi_read(self, rows, cfg: int) -> bool:
        """An SPI operation with read-back (0x0D bit 0; ``neurram_spi_control.v:179-289``): the pipe-in steps
        (bit 1) each push a plane and shift ``0x0D[5:2]`` registers, then ``0x0D[13:10]`` times the 256 bits
        last shifted out go to the row's read FIFO as 16 words (bit ``2i`` lane 0 = the -1 driver, ``2i + 1``
        lane 1, of the ``i``-th bit out of word ``w``'s 16), each after a further shift but the first. The
        bits leave forward from V5 line 255 down, backward from H0 line 0 up. False on a stall."""
        write = bool(cfg >> 1 & 1)
        mult = max(cfg >> 2 & 0xF, 1)
        steps = max(cfg >> 6 & 0xF, 1) if write else 0
        outs = cfg >> 10 & 0xF
        fwd = bool(cfg >> 14 & 1)
        if write and any(self.rows[r].spi_fifo.size < steps * PLANE_WORDS for r in rows):
            return False
        zero = np.zeros(N_LINES, np.int8)
        for r in rows:
            row = self.rows[r]
            planes = []
            if write:
                words, row.spi_fifo = row.spi_fifo[:steps * PLANE_WORDS], row.spi_fifo[steps * PLANE_WORDS:]
                planes = list(planes_of_words(words))
            last = zero
            got = []

            def shift(pipe_reg):
                nonlocal last
                out = row.chain[-1] if fwd else row.chain[0]
                last = (out[::-1] if fwd else out).copy()  # in the order the bits left the chain
                self._shift(row, pipe_reg, fwd)

            for plane in planes:
                shift(plane)  # _shift lands it as _spi_ops does
                for _ in range(mult - 1):
                    shift(zero)
            if not write:
                for _ in range(mult):
                    shift(zero)
            for k in range(outs):
                if k:
                    for _ in range(mult):
                        shift(zero)
                bits = np.zeros((N_LINES, 2), np.uint8)
                bits[:, 0], bits[:, 1] = last == -1, last == 1
                got.append(np.packbits(bits.reshape(PLANE_WORDS, 32), axis=1, bitorder="little").view("<u4")
                           .reshape(-1).astype(np.uint32))
            self.spi_out[r] = np.concatenate([self.spi_out[r]] + got)[:SPI_ROW_OUT_WORDS]
        n_shifts = (steps if write else 1) * mult + max(outs - 1, 0) * mult
        sel = set(rows)
        for m in sorted({m for r in rows for m in SPI_CLOCK_GROUPS[SPI_CLOCK_GROUP_OF_ROW[r]]} - sel):
            for _ in range(n_shifts):  # a group mate shifts with the row, zeros in (see _spi_ops)
                self._shift(self.rows[m], zero, fwd)
        self._move_spi_out()
        return True

    def _arbiter(self, name: str, turn: int, held, room: int):
        """One move of an ``arbiter_fifo2pipeout.v``: (row, units to move now) or None while it waits.

        Its FSM: ``addr_counter`` walks the rows in ascending order, transferring ``turn`` units from each row
        ``0x15[7:0]`` selects (TRANSFER, ``:136-150``: it waits there on a row that has none, whatever the
        mask does meanwhile); after a row, CHECK_ADDR (``:121-135``) at once looks for the next selected row,
        and past row 7 the FSM goes idle and starts again at row 0 (``:107-118``; reset: idle). So once a
        run's last vector is out the arbiter is idle, and the next run starts at its own lowest row.
        ``held(r)``: units row ``r`` has; ``room``: what the pipe-out FIFO takes."""
        state = self._arb[name]  # [row it transfers from (None: idle), units of that turn done]
        if not turn:
            return None
        if state[0] is None:  # idle until some row's FIFO holds words, then CHECK_ADDR from row 0
            rows = self._selected_rows()
            if not rows or not any(held(r) for r in range(CORE_GRID_ROWS)):
                return None
            state[0], state[1] = rows[0], 0
        addr, done = state
        take = min(turn - done, held(addr), room)
        return (addr, take) if take > 0 else None

    def _arbiter_moved(self, name: str, turn: int, n: int) -> None:
        state = self._arb[name]
        state[1] += n
        if state[1] >= turn:  # CHECK_ADDR: the next selected row, else idle
            nxt = [r for r in self._selected_rows() if r > state[0]]
            state[0], state[1] = (nxt[0] if nxt else None), 0

    def _move_spi_out(self) -> None:
        """arbiter_fifo2pipeout (``arbiter_fifo2pipeout.v``, :meth:`_arbiter`): ``0x15[25:18]`` words from each
        selected row in ascending order while the 0xA0 FIFO has room; it waits on a row that has not got them."""
        turn = (self._wi(nt.WI_SPI_MASK) >> 18) & 0xFF
        while True:
            got = self._arbiter("spi", turn, lambda r: self.spi_out[r].size, SPI_OUT_FIFO_WORDS - self.spi_out_fifo.size)
            if got is None:
                return
            r, take = got
            self.spi_out_fifo = np.concatenate([self.spi_out_fifo, self.spi_out[r][:take]])
            self.spi_out[r] = self.spi_out[r][take:]
            self._arbiter_moved("spi", turn, take)

    def pipe_out_spi(self, n: int) -> bytes:
        """ReadFromPipeOut(0xA0): the read-back FIFO's words (zeros past its end)."""
        take = min(int(n) // 4, self.spi_out_fifo.size)
        got = self.spi_out_fifo[:take].astype("<u4").tobytes()
        self.spi_out_fifo = self.spi_out_fifo[take:]
        self._move_spi_out()
        self._status()
        return got + bytes(int(n) - len(got))

    def _spi_write(self, rows) -> bool:
        """One SPI operation per row as 0x0D configures it; False when a row's FIFO lacks a plane (stall)."""
        return self._spi_ops(rows, 1)[0] == 1

    def _spi_ops(self, rows, n_ops: int, sample: dict | None = None, clear: bool = False, also=None):
        """Up to ``n_ops`` SPI operations (as 0x0D configures them) on every row of ``rows``, at once.

        Each operation pops ``0x0D[9:6]`` planes from the row's FIFO and shifts
        the chain by one register per plane, ``0x0D[5:2] - 1`` more per plane
        and ``0x0D[18:15]`` more at the end, zeros entering after each plane
        (see :meth:`_shift`). The runs stop at the first operation some row's
        FIFO lacks planes for (a stall: that operation takes nothing). After
        each operation, row ``r`` samples chain register ``sample[r]``; with
        ``clear``, every row's chain is then zeroed (0x0E bit 1).

        Each register after operation ``c`` holds the push made ``age`` pushes
        before its end (age = index from the H0 end shifting forward, from the
        V5 end backward), so the whole run is one gather from the popped planes.

        The chip's SPI clock pins are shared (:data:`SPI_CLOCK_GROUPS`): a row
        not in ``rows`` whose group holds one of them shifts with it, zeros in
        (its idle ``neurram_spi_control`` drives ``shift_out`` from a pipe
        register its last shift emptied, ``neurram_spi_control.v:112``,
        ``:238-239``); a row of no such group keeps its chain. ``also`` (row ->
        register indices) samples further registers after each operation, of
        any row.

        Returns
        -------
        done : int
            Operations completed.
        sampled : dict
            Row -> (done, 256) int8, the sampled register after each operation;
            with ``also``, (row, register) -> the same for each register asked.
        """
        cfg = self._wi(nt.WI_SPI)
        write = bool(cfg >> 1 & 1)
        mult = max(cfg >> 2 & 0xF, 1)
        steps = max(cfg >> 6 & 0xF, 1) if write else 1
        fwd = bool(cfg >> 14 & 1)
        extra = cfg >> 15 & 0xF
        n_push = steps * mult + extra  # shifts per operation
        k = int(n_ops)
        if write and rows:
            k = min(k, min(self.rows[r].spi_fifo.size // (steps * PLANE_WORDS) for r in rows))
        if k <= 0:
            empty = {r: np.zeros((0, N_LINES), np.int8) for r in (sample or {})}
            return 0, empty | {(r, g): np.zeros((0, N_LINES), np.int8) for r, regs in (also or {}).items() for g in regs}
        sampled: dict = {}
        n_planes = k * steps if write else 0
        zero = np.zeros((1, N_LINES), np.int8)

        def source(c, age):
            """Index into [zero, planes..., old chain by age...] of what ``age`` holds after operation ``c``."""
            n = (c + 1) * n_push - 1 - age  # the push, counted from the run's first
            op, pos = np.divmod(np.maximum(n, 0), n_push)
            plane = (pos < steps * mult) & (pos % mult == 0) if write else np.zeros(np.shape(pos), bool)
            idx = np.where(plane, 1 + op * steps + pos // mult, 0)
            idx = np.where(n < 0, 1 + n_planes + (age - (c + 1) * n_push), idx)
            if clear:  # older pushes were cleared after the previous operation
                idx = np.where((age >= n_push) & (c > 0), 0, idx)
            return idx

        ages = np.arange(N_REGS)
        last = np.full(N_REGS, k - 1)
        also = also or {}
        selected = set(rows)
        clocked = sorted({m for r in rows for m in SPI_CLOCK_GROUPS[SPI_CLOCK_GROUP_OF_ROW[r]]})
        for r in clocked:
            row = self.rows[r]
            if write and r in selected:
                words, row.spi_fifo = row.spi_fifo[:n_planes * PLANE_WORDS], row.spi_fifo[n_planes * PLANE_WORDS:]
                planes = planes_of_words(words)
                if fwd:
                    planes = planes[:, ::-1]
            elif write:  # a group mate: its idle controller shifts zeros in where the planes go
                planes = np.zeros((n_planes, N_LINES), np.int8)
            else:
                planes = np.zeros((0, N_LINES), np.int8)
            by_age = row.chain if fwd else row.chain[::-1]
            table = np.concatenate([zero, planes, by_age])
            reg = None if sample is None or r not in selected else sample.get(r)
            for rg in ([] if reg is None else [reg]) + list(also.get(r, ())):
                age = rg if fwd else N_REGS - 1 - rg
                got = table[source(np.arange(k), np.full(k, age))]
                if rg == reg and r not in sampled:
                    sampled[r] = got
                if rg in also.get(r, ()):
                    sampled[(r, rg)] = got
            if not clear:
                new = table[source(last, ages)]
                row.chain = np.ascontiguousarray(new if fwd else new[::-1])
        for r, regs in also.items():  # rows no clock reached: their registers as they are (zeroed by a clear)
            if r in clocked:
                continue
            for rg in regs:
                got = np.repeat(self.rows[r].chain[rg][None], k, axis=0)
                if clear:
                    got[1:] = 0
                sampled[(r, rg)] = got
        if clear:
            for row in self.rows:
                row.chain = np.zeros((N_REGS, N_LINES), np.int8)
        return k, sampled

    @staticmethod
    def _shift(row: _Row, pipe_reg: np.ndarray, fwd: bool) -> None:
        """Shift the chain by one register (the reference :meth:`_spi_ops` computes in one go). Forward: in at
        H0 (the pipe register's bit 0 ends up deepest, on line 255); backward: in at V5 (bit 0 on line 0)."""
        if fwd:
            row.chain[1:] = row.chain[:-1]
            row.chain[0] = pipe_reg[::-1]
        else:
            row.chain[:-1] = row.chain[1:]
            row.chain[-1] = pipe_reg

    # ------------------------------------------------------------ matmul
    def _forward(self) -> bool:
        return bool(self._wi(nt.WI_MODE) >> 5 & 1)

    def _readout_target(self, r: int):
        """(core, output register index, input register index) the 0x0F readout reads in row ``r``."""
        mult = self._wi(nt.WI_READOUT) >> 3 & 0xF
        pos = mult - 1
        if not 0 <= pos < N_REGS:
            return None
        col = pos // 2
        return r * CORE_GRID_COLS + col, pos, pos ^ 1

    def _matmul(self, rows, n_vec: int) -> int:
        """matmul_unsigned_helper for up to ``n_vec`` vectors: ``2 (n + 1)`` cycles each, an SPI operation
        and a sample of the input register, ``0x0E[9:5]`` pulses doubled (8-bit) after every second cycle.
        Appends each row's (charges (vectors, 256), driven lines, pulses per cycle) to ``pending``; returns
        the vectors completed (fewer on a stall, whose partial vector's planes are consumed)."""
        mm = self._wi(nt.WI_MATMUL)
        n_cyc = 2 * ((mm >> 2 & 7) + 1)
        p0 = mm >> 5 & 0x1F
        clear = bool(mm >> 1 & 1)
        enabled = set(self.emu.enabled_cores())
        inference = bool(self._wi(nt.WI_MODE) & 1)
        targets = {r: self._readout_target(r) for r in rows}
        sample = {r: t[2] for r, t in targets.items() if t is not None}
        forward = self._forward()
        # every enabled core's lines carry its input register (V of its column forward, H backward) at each
        # cycle's sample, whichever rows 0x15 selects: the input pulses are one pin for the whole chip
        # (trigger_in = neuron_control's ns_pulse_trig, neurram_top.v:53, :700), the core-enable chain picks
        # the cores, and a row's chain shifts with its clock group (_spi_ops); the board model reads the
        # same registers (drivers/rtl/_board_side.ChipSide.convert)
        seen = {targets[r][0] for r in rows if targets[r] is not None}
        others = [c for c in sorted(enabled) if c not in seen] if inference else []
        also: dict = {}
        for c in others:
            r, col = divmod(c, CORE_GRID_COLS)
            also.setdefault(r, []).append(2 * col + 1 if forward else 2 * col)
        k, sampled = self._spi_ops(rows, n_vec * n_cyc, sample, clear, also)
        if clear and k:  # matmul_reg_reset pulses clear_horz_b / clear_vert_b (neurram_top.v:353-354)
            self.emu._clear(True, True)
        done = k // n_cyc
        if done == 0:
            return 0
        pulses = [(p0 << (c // 2)) & 0xFF for c in range(n_cyc)]
        weights = np.asarray(pulses, np.int64)
        for r in rows:
            tgt = targets[r]
            if tgt is None:
                continue
            planes = sampled[r][:done * n_cyc].reshape(done, n_cyc, N_LINES)
            core = tgt[0]
            ok = core in enabled and inference
            if ok:
                log = getattr(self.emu, "plane_log", None)  # a list where a check asks for it (drivers.rtl.diff)
                if log is not None:
                    log.append((core, self._forward(), pulses, planes))
                q = np.einsum("vcl,c->vl", planes.astype(np.int64), weights)
                driven = planes.any(axis=(0, 1))
            else:
                q, driven = np.zeros((done, N_LINES), np.int64), np.zeros(N_LINES, bool)
            self.pending.setdefault(core, []).append((q, driven, pulses))
            self.neuron_v.pop(core, None)
            self.lfsr_noise_v.pop(core, None)  # the cycles start with a CDS: the integrator is reset
        log = getattr(self.emu, "plane_log", None)
        for c in others:  # enabled cores no selected row reads: their lines' planes (nothing is read out)
            r, col = divmod(c, CORE_GRID_COLS)
            planes = sampled[(r, 2 * col + 1 if forward else 2 * col)][:done * n_cyc].reshape(done, n_cyc, N_LINES)
            if log is not None:
                log.append((c, forward, pulses, planes))
            self.pending.pop(c, None)  # its neurons integrated these cycles: what was pending there is gone
            self.neuron_v.pop(c, None)
            self.lfsr_noise_v.pop(c, None)
        return done

    def matmul_trigger(self) -> None:
        """Trigger 0x45 bit 7: one vector's bit-serial cycles, no readout."""
        self.stalled = self._matmul(self._selected_rows(), 1) < 1
        self._status()

    def batch_trigger(self) -> None:
        """Trigger 0x45 bit 8: ``max(1, 0x0E[17:10])`` vectors, each cycles then readout."""
        rows = self._selected_rows()
        n_vec = max(1, self._wi(nt.WI_MATMUL) >> 10 & 0xFF)
        done = self._matmul(rows, n_vec)
        self.stalled = done < n_vec
        if done:
            self._readout(rows)
            self.counts["mvm_runs"] += 1
            self.counts["mvm_vectors"] += done
        self._status()

    # ------------------------------------------------------- neuron test
    def neuron_cds(self) -> None:
        for core in self.emu.enabled_cores():
            self.neuron_v.pop(core, None)
            self.lfsr_noise_v.pop(core, None)
        self._status()

    def neuron_sample(self) -> None:
        """Triggers 0x45 bits 1/3: the neurons of every enabled core sample the external line."""
        ext = self._wi(nt.WI_EXT)
        if not ext & (1 << 3):
            self._status()
            return
        node = (1, 2) if ext & (1 << 4) else (1, 5) if ext & (1 << 5) else None
        if node is None:
            self._status()
            return
        v = self.emu.dac_v(*node)
        for core in self.emu.enabled_cores():
            self.neuron_v[core] = v
            self.pending.pop(core, None)
        self.counts["neuron_samples"] += 1
        self._status()

    def neuron_phase(self) -> None:
        self._status()

    def readout_trigger(self) -> None:
        """Trigger 0x45 bit 5: the multi-level readout of every selected row."""
        self._readout(self._selected_rows())
        self._status()

    # ----------------------------------------------------------- readout
    def _step_v(self) -> float:
        e = self.emu
        return 0.5 * (e.dac_v(0, 4) - e.dac_v(2, 2))

    def _readout(self, rows) -> None:
        """neuron_multi_level_output: convert what each row's target core holds, bytes to the FIFOs."""
        self.counts["readouts"] += 1
        if rows:  # every readout step pulses the clears (nmlo_reg_reset, neuron_multi_level_output.v:280)
            self.emu._clear(True, True)
        per_row = {}  # r -> (sign, steps) arrays (n_vec, 256)
        groups: dict = {}
        for r in rows:
            tgt = self._readout_target(r)
            if tgt is None or not (self._wi(nt.WI_READOUT) >> 7 & 1):
                continue
            core = tgt[0]
            if core in self.neuron_v:
                per_row[r] = self._neuron_codes(core, self.neuron_v.pop(core))
                continue
            vecs = self.pending.pop(core, [])
            if not vecs:
                per_row[r] = (np.zeros((1, N_LINES), np.uint8), np.full((1, N_LINES), 255, np.int64))
                continue
            q = np.concatenate([v[0] for v in vecs])
            driven = np.logical_or.reduce([v[1] for v in vecs])
            pulses = vecs[0][2]
            key = (driven.tobytes(), tuple(pulses), self.rows[r].y_addr.tobytes())
            groups.setdefault(key, []).append((r, core, q, driven, pulses))
        for members in groups.values():
            per_row.update(self._mvm_codes(members))
        for r in rows:
            if r not in per_row:
                continue
            sign, flip = per_row[r]
            row = self.rows[r]
            # each neuron's count: its flip in the last vector (up to this one) where it flipped within
            # the readout, else the count it had before the run
            n = sign.shape[0]
            found = row.y_addr & (flip <= MAX_STEPS)
            last = np.maximum.accumulate(np.where(found, np.arange(n)[:, None], -1), axis=0)
            steps = np.where(last >= 0, np.take_along_axis(flip, np.maximum(last, 0), axis=0),
                             row.num_step).astype(np.uint8)
            row.num_step = steps[-1].copy()
            self._push_readout(r, readout_byte(np.where(row.y_addr, sign, 0), steps))
        self._move_out()

    def _twin_call(self, fn):
        """Run ``fn()`` with the twin's v_decr set so an 8-bit code's LSB is the DAC decrement step."""
        v_decr = self._step_v() * 2.0 ** (TWIN_BITS - 2)
        with self.emu.twin.rails_held_v({"v_decr": v_decr, "v_ref": self.emu.dac_v(0, 2)}):
            return fn()

    def _mvm_codes(self, members) -> dict:
        """One twin MVM for rows that drive the same lines and read the same outputs."""
        r0, _, q0, driven, pulses = members[0]
        y = np.flatnonzero(self.rows[r0].y_addr)
        out = {}
        if y.size == 0 or self._step_v() <= 0:
            for r, *_ in members:
                out[r] = (np.zeros((q0.shape[0], N_LINES), np.uint8), np.full((q0.shape[0], N_LINES), 255, np.int64))
            return out
        forward = self._forward()
        e = self.emu
        a = 0.5 * ((e.dac_v(1, 2) - e.dac_v(1, 0)) if forward else (e.dac_v(1, 5) - e.dac_v(1, 3)))
        lines = np.flatnonzero(driven)
        if lines.size == 0:
            lines = np.array([0])
        q = np.stack([m[2][:, lines] for m in members])  # (cores, batch, lines)
        base = int(np.gcd.reduce(np.asarray(pulses, np.int64))) if pulses else 1
        base = max(base, 1)
        d = 2 * base if not np.any(q % (2 * base)) else base
        x = q // d
        m_bits = max(int(np.abs(x).max()).bit_length(), len(pulses) // 2, 1)
        diff = False
        if forward and lines.size % 2 == 0 and np.array_equal(lines[0::2] + 1, lines[1::2]) and not np.any(lines[0::2] % 2):
            diff = bool(np.array_equal(x[:, :, 0::2], -x[:, :, 1::2]))
        in_lines, xin = (lines[0::2] // 2, x[:, :, 0::2]) if diff else (lines, x)
        req = MVMRequest(cores=tuple(m[1] for m in members), inputs=xin.astype(np.int16), input_lines=in_lines,
                         output_lines=y, direction="forward" if forward else "backward", input_bits=m_bits + 1,
                         output_bits=TWIN_BITS, signed_inputs=True, differential=diff, two_phase=False,
                         activation="none", parallel=len(members) > 1, v_read_v=float(a * d))
        self.last_request = req
        noisy = [m[1] for m in members if m[1] in self.lfsr_noise_v]
        if noisy:
            codes = self._with_lfsr_noise(noisy, lambda: self._twin_call(lambda: self.emu.twin.mvm_codes(req)))
        else:
            codes = self._twin_call(lambda: self.emu.twin.mvm_codes(req))
        for i, (r, *_rest) in enumerate(members):
            sign, flip = codes_to_flips(codes[i])
            s = np.zeros((codes.shape[1], N_LINES), np.uint8)
            f = np.full((codes.shape[1], N_LINES), 255, np.int64)
            s[:, y], f[:, y] = sign, flip
            out[r] = (s, f)
        return out

    def _neuron_codes(self, core: int, v: float):
        v_in = np.full((1, N_LINES), v, np.float64)
        codes = self._twin_call(lambda: self.emu.twin.neuron_test_codes(core, v_in, TWIN_BITS))
        return codes_to_flips(codes)

    # ------------------------------------------------------------- LFSR
    def _log_lfsr(self, effect: tuple) -> None:
        """Record an LFSR effect where a check asks for them (``emu.lfsr_log``, :mod:`drivers.rtl.diff`)."""
        log = getattr(self.emu, "lfsr_log", None)
        if log is not None:
            log.append(effect)

    def _lfsr_preset(self) -> None:
        circuit = self.emu.twin.circuit
        for c in range(CORE_GRID_ROWS * CORE_GRID_COLS):
            circuit.core(c).lfsr.preset()

    def lfsr_shift_trigger(self) -> None:
        """Trigger 0x44 bit 4: clock the LFSR ``0x10[20:12]`` times, then 16 words into the 0xA1 FIFO."""
        if self.lfsr_stuck:
            return  # still in STATE_SHIFT: the trigger is not seen
        if getattr(getattr(self.emu, "bitstream", None), "name", None) in LFSR_SHIFT_UNENDING_TOPS:
            self.lfsr_stuck = True
            self.emu.violations.append(
                f"LFSR shift on {self.emu.bitstream.name}: its lfsr_control has no shift_cycle (0x10[20:12] is not "
                "wired), so the shift never ends, 0xA1 stays empty and the LFSR block is dead until neurram_rst")
            return
        n = (self._wi(nt.WI_DEBUG) >> 12) & 0x1FF
        if n == 0:
            self.emu.violations.append("LFSR shift with 0x10[20:12] = 0: lfsr_control.v never leaves STATE_SHIFT")
            return
        cores = self.emu.enabled_cores()
        self._log_lfsr(("lfsr_shift", cores[0] if len(cores) == 1 else None, int(n)))
        if len(cores) == 1:
            bits = self.emu.twin.circuit.core(cores[0]).lfsr.shift_out(n)
            if self._wi(nt.WI_LFSR) & 1:  # held set while it shifts
                self._lfsr_preset()
        else:
            if cores:
                self.emu.violations.append(f"LFSR shift with {len(cores)} cores enabled: which drives lfsr_out "
                                           "is not published")
            bits = np.zeros((n, 2), np.uint8)
        kept = bits[-N_LINES:]  # a 256-bit register keeps the last 256 bits shifted in, the first at the bottom
        regs = np.zeros((2, N_LINES), np.uint8)
        regs[:, N_LINES - kept.shape[0]:] = kept.T
        words = np.packbits(regs, axis=1, bitorder="little").reshape(-1).view("<u4").astype(np.uint32)
        room = 32 - self.lfsr_fifo.size
        self.lfsr_fifo = np.concatenate([self.lfsr_fifo, words[:room]])

    def lfsr_pulse_trigger(self) -> None:
        """Trigger 0x44 bit 5: one LFSR pulse into every enabled core's neurons (see the module notes)."""
        if self.lfsr_stuck:
            self._status()
            return  # lfsr_control still shifting: the pulse trigger is not seen (lfsr_control.v:357-365)
        neuron = self._wi(nt.WI_NEURON)
        if neuron >> 14 & 0xFF:
            self.emu.violations.append(f"LFSR pulse with 0x09[21:14] = {neuron >> 14 & 0xFF}: the neuron FSM goes on "
                                       "sampling its inputs after the LFSR integration (neuron_control.v:1319-1330)")
        if neuron & 1:
            self.emu.violations.append("LFSR pulse with 0x09 bit 0 (run all): the neuron FSM compares after the "
                                       "LFSR integration (neuron_control.v:1325)")
        mode = self._wi(nt.WI_MODE)
        if mode & 1 and mode & 0b100:
            self.emu.violations.append("0x05 bits 0 and 2 together: inference_mode is off while 0x05 bit 2 is set "
                                       "(neurram_top.v:376); the LFSR FSM raises lfsr_mode itself")
        e = self.emu
        v_pos, v_neg, v_ref = e.dac_v(0, 5), e.dac_v(0, 6), e.dac_v(0, 2)
        circuit = e.twin.circuit
        from neurram_lab.sim_backend.neuron import cs_over_ci

        cg = cs_over_ci(circuit.p)
        # the neurons sample for 0x10[3:0] + 1 clocks of the 25 MHz SPI clock (lfsr_control.v:232-246, 390-392;
        # neurram_top.v:118, 392), then the neuron FSM integrates once (TRIG_INTEG1/2, :262-291, 397-404)
        self._log_lfsr(("lfsr_pulse", tuple(e.enabled_cores()), ((self._wi(nt.WI_DEBUG) & 0xF) + 1) * 40.0, 1, False))
        for core in e.enabled_cores():
            cc = circuit.core(core)
            bit = e.twin.lfsr_step(core)  # A xor B per neuron, one step a pulse
            dv = cg * cc.gain * (np.where(bit, v_pos, v_neg) - v_ref)
            self.lfsr_noise_v[core] = self.lfsr_noise_v.get(core, 0.0) + dv
        self.counts["lfsr_pulses"] += 1
        self._status()

    def _with_lfsr_noise(self, cores, fn):
        """Run ``fn()`` with each core's LFSR charge added to its neurons' offsets (what the readout sees
        beyond the integrated input, after the clip); the charge is used up by the readout."""
        circuit = self.emu.twin.circuit
        saved = {}
        try:
            for c in cores:
                cc = circuit.core(c)
                saved[c] = cc.offset32
                cc.offset32 = (cc.offset32 + self.lfsr_noise_v.pop(c)).astype(np.float32)
            return fn()
        finally:
            for c, off in saved.items():
                circuit.core(c).offset32 = off

    def pipe_out_lfsr(self, n: int) -> bytes:
        """ReadFromPipeOut(0xA1): the FIFO's words, little-endian (zeros past its end)."""
        take = min(int(n) // 4, self.lfsr_fifo.size)
        got = self.lfsr_fifo[:take].astype("<u4").tobytes()
        self.lfsr_fifo = self.lfsr_fifo[take:]
        return got + bytes(int(n) - len(got))

    # ------------------------------------------------------ pipe-out 0xA2
    def _push_readout(self, r: int, data: np.ndarray) -> None:
        """The row's readout words into its FIFO; what does not fit is lost (no full check in the HDL)."""
        row = self.rows[r]
        held = len(self.out_fifo) + sum(len(x.out) for x in self.rows)
        if held + data.size <= READOUT_FIFO_BYTES:  # the 0xA2 FIFO cannot fill: nothing lost, moves in one go
            row.out += data.tobytes()
            self._move_out()
            return
        for vec in data:
            if len(row.out) + N_LINES > NMLO_FIFO_BYTES and len(self.out_fifo) >= READOUT_FIFO_BYTES:
                self.counts["lost_readout_bytes"] += N_LINES
                continue
            row.out += vec.tobytes()
            self._move_out()

    def _move_out(self) -> None:
        """arbiter_fifo2pipeout (:meth:`_arbiter`): 64 words from each selected row in ascending order while
        the 0xA2 FIFO has room; it waits on a row that has not got them."""
        while True:
            got = self._arbiter("out", N_LINES // 4, lambda r: len(self.rows[r].out) // 4,
                                (READOUT_FIFO_BYTES - len(self.out_fifo)) // 4)
            if got is None:
                return
            r, take = got
            row = self.rows[r]
            self.out_fifo += row.out[:4 * take]
            del row.out[:4 * take]
            self._arbiter_moved("out", N_LINES // 4, take)

    def pipe_out_readout(self, n: int) -> bytes:
        """ReadFromPipeOut(0xA2): FIFO bytes (an empty FIFO gives zeros, as an unthrottled pipe does)."""
        got = bytearray()
        while len(got) < n:
            if not self.out_fifo:
                self._move_out()
                if not self.out_fifo:
                    break
            take = min(n - len(got), len(self.out_fifo))
            got += self.out_fifo[:take]
            del self.out_fifo[:take]
            self._move_out()
        self._status()
        return bytes(got) + bytes(n - len(got))


def attach(emu) -> MvmFsm:
    """Register the MVM / neuron / readout state machines on an emulated bitstream; returns them."""
    fsm = MvmFsm(emu)
    emu.mvm_fsm = fsm
    return fsm.attach()
