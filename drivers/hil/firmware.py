"""The test-board firmware, emulated: endpoint registers and the batch sequencer on the twin.

:class:`EmulatedFirmware` is what sits behind the FrontPanel endpoints of the
virtual USB device. It keeps the wire-in registers, answers wire-outs from its
state, latches DAC words into the twin's bias rails, and runs sequencer blocks
(:mod:`drivers.sequencer`) on a :class:`~sim_backend.SimBoard` through the
board's ``_`` hooks — the level the real firmware sits at, below validation.
A block runs only when complete, so the twin sees exactly the batches a
``sim://`` board would see.
"""

from __future__ import annotations

import struct

import numpy as np

from sim_backend.board import SimBoard

from .. import endpoints as ep
from .. import frontpanel as fp
from .. import sequencer as sq
from ..sequencer import SeqError, SeqOp

FIRMWARE_VERSION = "neurram-seq-1 (emulated)"
_RAIL_OF_DAC = {(d, c): name for name, (d, c, _fs) in ep.RAIL_DACS.items()}


class EmulatedFirmware:
    """Endpoint-level model of the NeuRRAM firmware driving a twin chip.

    Parameters
    ----------
    twin : SimBoard
        The chip (and its clock) the firmware drives.
    max_fifo_bytes : int
        Size of the sequencer FIFO behind pipe-in 0x80; more gives FIFOOverflow.
    """

    def __init__(self, twin: SimBoard, max_fifo_bytes: int = 1 << 30):
        self.twin = twin
        self.max_fifo_bytes = int(max_fifo_bytes)
        self.wire_in = np.zeros(ep.N_WIRE_INS, np.uint32)
        self.stuck: dict[int, tuple[int, int]] = {}  # wire-out -> (mask, forced value)
        self._fifo: list = []  # chunks of the block arriving on pipe-in 0x80
        self._fifo_bytes = 0
        self._out: dict[int, memoryview] = {ep.PO_SPI: memoryview(b""), ep.PO_MULTI_LEVEL: memoryview(b"")}
        self._seq_done = True
        self._seq_error = SeqError.NONE
        self._dac_staged: tuple[str, float] | None = None
        self._dac_ack = False
        self.blocks_run = 0
        self.blocks_failed = 0

    # ------------------------------------------------------------- endpoints
    def hello(self) -> dict:
        info = self.twin._info()
        return {"firmware": FIRMWARE_VERSION, "chip": info.serial}

    def set_wire_ins(self, values: np.ndarray) -> int:
        old_reset = int(self.wire_in[ep.WI_RESET])
        self.wire_in[:] = values
        if int(values[ep.WI_RESET]) & ep.RESET_NEURRAM and not old_reset & ep.RESET_NEURRAM:
            self._clear_sequencer()
        return fp.NO_ERROR

    def wire_outs(self) -> np.ndarray:
        out = np.zeros(ep.N_WIRE_INS, np.uint32)

        def put(addr, value):
            out[addr - ep.WIRE_OUT_RANGE[0]] = value & 0xFFFFFFFF

        dac = ep.DAC_FIFO_EMPTY | (ep.DAC_FIFO_ACK if self._dac_ack else 0)
        dac |= 0 if self._dac_staged is not None else ep.DAC_IDLE
        put(ep.WO_DAC_ADC_STATUS, dac)
        put(ep.WO_SEQ_ERROR, int(self._seq_error))
        lo, hi = struct.unpack("<II", struct.pack("<d", self.twin._t_s))
        put(ep.WO_CLOCK_LO, lo)
        put(ep.WO_CLOCK_HI, hi)
        mask = int(np.sum(self.twin._powered.astype(np.uint64) << np.arange(48, dtype=np.uint64)))
        put(ep.WO_POWER_LO, mask & 0xFFFFFFFF)
        put(ep.WO_POWER_HI, mask >> 32)
        ns = (
            ep.NS_NEURON_IDLE | ep.NS_ENERGY_TEST_IDLE | ep.NS_SPI_IDLE | ep.NS_MULTI_LEVEL_IDLE
            | ep.NS_MATMUL_IDLE | ep.NS_PIPE_IN_IDLE | ep.NS_PIPE_OUT_IDLE | ep.NS_MATMUL_D2A_IDLE
        )
        if not len(self._out[ep.PO_SPI]):
            ns |= ep.NS_PIPE_OUT_EMPTY
        if self._seq_done:
            ns |= ep.NS_SEQ_DONE
        if self._seq_error:
            ns |= ep.NS_SEQ_ERROR
        put(ep.WO_NEURON_STATUS, ns)
        for addr, (mask, value) in self.stuck.items():
            i = addr - ep.WIRE_OUT_RANGE[0]
            out[i] = (int(out[i]) & ~mask | value & mask) & 0xFFFFFFFF
        return out

    def trigger(self, address: int, bit: int) -> int:
        if address == ep.TI_SYS and bit == ep.TI_SYS_DAC_PROGRAM:
            return self._dac_program()
        if address == ep.TI_DAC and bit == ep.TI_DAC_UPDATE:
            return self._dac_update()
        if address == ep.TI_NEURON and bit == ep.TI_NEURON_SEQ_RUN:
            self._run_block()
            return fp.NO_ERROR
        if address == ep.TI_NEURON and bit == ep.TI_NEURON_SEQ_CLEAR:
            self._clear_sequencer()
            return fp.NO_ERROR
        return fp.NO_ERROR  # triggers of the authors' analog sequencers: accepted, no effect here

    def pipe_in(self, address: int, data: bytes) -> int:
        if address != ep.PI_SPI:
            return len(data)  # the output-mask pipe is accepted and ignored
        if self._fifo_bytes + len(data) > self.max_fifo_bytes:
            return fp.FIFO_OVERFLOW
        if self._seq_done:  # a new block starts: the previous results are stale
            self._seq_done = False
            self._seq_error = SeqError.NONE
        self._fifo.append(data)
        self._fifo_bytes += len(data)
        return len(data)

    def pipe_out(self, address: int, n_bytes: int):
        buf = self._out.get(address)
        if buf is None:
            return fp.NO_ERROR, b"\0" * n_bytes
        if len(buf) < n_bytes:
            return fp.FIFO_UNDERFLOW, b""
        self._out[address] = buf[n_bytes:]
        return n_bytes, buf[:n_bytes]

    # ------------------------------------------------------------------- DAC
    def _dac_program(self) -> int:
        word = int(self.wire_in[ep.WI_DAC_DATA])
        dac, cmd, channel, code = ep.split_dac_word(word)
        if cmd == ep.DAC_CMD_NOP:
            return fp.NO_ERROR
        rail = _RAIL_OF_DAC.get((dac, channel))
        if rail is None or cmd != ep.DAC_CMD_WRITE_UPDATE:
            return fp.INVALID_PARAMETER
        exact = struct.unpack(
            "<d", struct.pack("<II", int(self.wire_in[ep.WI_RAIL_EXACT_LO]), int(self.wire_in[ep.WI_RAIL_EXACT_HI]))
        )[0]
        full_scale = ep.RAIL_DACS[rail][2]
        if ep.dac_code(exact, full_scale) != code:
            exact = code / (1 << ep.DAC_CODE_BITS) * full_scale  # no exact value staged: use the code
        self._dac_staged = (rail, exact)
        self._dac_ack = True
        return fp.NO_ERROR

    def _dac_update(self) -> int:
        if self._dac_staged is not None:
            rail, volts = self._dac_staged
            self.twin._rails[rail] = volts
            self._dac_staged = None
        self._dac_ack = False
        return fp.NO_ERROR

    # ------------------------------------------------------------- sequencer
    def _clear_sequencer(self) -> None:
        self._fifo, self._fifo_bytes = [], 0
        self._out = {k: memoryview(b"") for k in self._out}
        self._seq_done = True
        self._seq_error = SeqError.NONE

    def _fail(self, err: SeqError) -> None:
        self.blocks_failed += 1
        self._fifo, self._fifo_bytes = [], 0
        self._seq_error = err
        self._seq_done = True

    def _run_block(self) -> None:
        fifo = self._fifo[0] if len(self._fifo) == 1 else b"".join(self._fifo)  # the whole block, however it came
        length = sq.declared_length(fifo)
        if length is None or len(fifo) < length:
            return self._fail(SeqError.INCOMPLETE)
        padded = length + (-length) % fp.PIPE_BLOCK_BYTES
        if len(fifo) > padded:
            return self._fail(SeqError.OVERFLOW)
        try:
            block = sq.decode(fifo)
            result_ep, result = self._execute(block)
        except ValueError as exc:
            err = exc.args[0] if exc.args and isinstance(exc.args[0], SeqError) else SeqError.FAILED
            return self._fail(err)
        except Exception:  # the chip model failed: report it, never a silent result
            return self._fail(SeqError.FAILED)
        self._fifo, self._fifo_bytes = [], 0
        self._out = {k: memoryview(b"") for k in self._out}
        if len(result):
            self._out[result_ep] = memoryview(fp.pad_block(result)).cast("B")
        self._seq_error = SeqError.NONE
        self._seq_done = True
        self.blocks_run += 1

    def _check_powered(self, cores: np.ndarray) -> None:
        if cores.size and not self.twin._powered[cores].all():
            raise ValueError(SeqError.CORE_GATED)

    def _execute(self, block: sq.Block) -> tuple[int, bytes]:
        t = self.twin
        if block.op == SeqOp.PULSE:
            kind, c, r, k, v, w, g = sq.decode_pulse(block)
            self._check_powered(c)
            if c.size:
                t._pulse(kind, c, r, k, v, w, g)
            return ep.PO_SPI, b""
        if block.op == SeqOp.READ:
            c, r, k = sq.decode_read(block)
            self._check_powered(c)
            g = np.asarray(t._read(c, r, k), np.float32) if c.size else np.zeros(0, np.float32)
            return ep.PO_SPI, memoryview(np.ascontiguousarray(g, "<f4")).cast("B")
        if block.op == SeqOp.WAIT:
            (seconds,) = struct.unpack("<d", bytes(block.body[:8]))
            t._wait(seconds)
            return ep.PO_SPI, b""
        if block.op == SeqOp.POWER:
            (mask,) = struct.unpack("<Q", bytes(block.body[:8]))
            cores = np.flatnonzero(sq.mask_to_cores(mask))
            t._power_cores(cores, bool(block.flags))
            return ep.PO_SPI, b""
        if block.op == SeqOp.MVM:
            req = sq.decode_mvm(block)
            self._check_powered(np.asarray(req.cores, np.int64))
            codes = np.ascontiguousarray(t._mvm(req), "<i2")
            return ep.PO_MULTI_LEVEL, memoryview(codes).cast("B")
        if block.op == SeqOp.NEURON_TEST:
            core, v, bits = sq.decode_neuron_test(block)
            self._check_powered(np.array([core]))
            codes = np.ascontiguousarray(t._neuron_test(core, v, bits), "<i2")
            return ep.PO_MULTI_LEVEL, memoryview(codes).cast("B")
        if block.op == SeqOp.INFO:
            info = t._info()
            facts = {
                "firmware": FIRMWARE_VERSION,
                "serial": info.serial,
                "twin": info.extra,
                "twin_firmware": info.firmware,
                "rails_v": dict(t._get_rails()),
                "snapshot": t._snapshot_extra(),
            }
            return ep.PO_SPI, sq.encode_json_result(facts)
        if block.op == SeqOp.COUNTERS:
            return ep.PO_SPI, sq.encode_json_result(dict(t._counters()))
        raise ValueError(SeqError.BAD_OP)
