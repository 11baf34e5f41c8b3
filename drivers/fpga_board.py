"""FpgaBoard: the Board contract on the NeuRRAM test board's FrontPanel endpoints.

Whatever carries the endpoints (Opal Kelly's SDK for ``okusb://``, pyusb
frames to the virtual device for ``hil://``), the board does the same things:

- every FrontPanel call's return code is checked (:func:`drivers.frontpanel.check`);
- every status poll has a deadline and ends in ``FrontPanelError(Timeout)``;
- bias rails ramp through the board DACs in steps of at most
  ``RAIL_RAMP_STEP_V`` (0.1 V), each step latched and confirmed idle;
- a vectorised Board call becomes one sequencer block (:mod:`drivers.sequencer`):
  pipe-in 0x80, trigger 0x45 bit 12, poll wire-out 0x28 for done/error,
  results from pipe-out 0xA0 / 0xA2.

The host keeps mirrors of the rails and powered cores it set (read back from
the board on open), so the contract's per-call checks cost no USB traffic.
"""

from __future__ import annotations

import math
import struct
import time

import numpy as np

from neurram_lab.board import Board, BoardInfo
from neurram_lab.errors import BoardError, FrontPanelError, InputError
from neurram_lab.limits import SafetyLimits

from . import endpoints as ep
from . import frontpanel as fp
from . import sequencer as sq
from .sequencer import SeqError, SeqOp

POLL_TIMEOUT_S = 5.0


class FpgaBoard(Board):
    """NeuRRAM test board (Opal Kelly XEM6310 + NeuRRAM firmware) behind a FrontPanel transport.

    Parameters
    ----------
    frontpanel : FrontPanel
        An open endpoint transport.
    spec : str
        The spec string the board was opened with.
    limits : SafetyLimits, optional
    kind : str
        ``"fpga"`` for a real board, ``"hil"`` for the virtual one.
    poll_timeout_s : float
        Deadline of every status poll (s).
    ramp_step_v : float
        Largest rail change per DAC step (V).
    """

    def __init__(self, frontpanel: fp.FrontPanel, spec: str, limits: SafetyLimits | None = None, kind: str = "fpga",
                 poll_timeout_s: float = POLL_TIMEOUT_S, ramp_step_v: float = ep.RAIL_RAMP_STEP_V):
        super().__init__(spec, limits)
        self.fp = frontpanel
        self.kind = kind
        self.poll_timeout_s = float(poll_timeout_s)
        self.ramp_step_v = float(ramp_step_v)
        self._dirty = False
        self.rail_steps = 0  # DAC steps sent, for tests and logs
        try:
            self._reset_sequencer()
            facts = sq.decode_json_result(self._run(sq.encode(SeqOp.INFO), ep.PO_SPI, sq.JSON_BYTES))
        except BaseException:
            self.fp.close()
            raise
        self._facts = facts
        self._rails = {k: float(v) for k, v in facts["rails_v"].items()}
        self._powered = self._powered_from_wires()

    # ------------------------------------------------------- endpoint helpers
    def _poll(self, address: int, mask: int, want: int, what: str, extra_s: float = 0.0) -> int:
        """Read wire-outs until ``address & mask == want``; returns the word, or raises Timeout."""
        deadline = time.monotonic() + self.poll_timeout_s + extra_s
        while True:
            fp.check(self.fp.update_wire_outs(), f"UpdateWireOuts (polling {what})")
            word = self._wire(address)
            if word & mask == want:
                return word
            if time.monotonic() > deadline:
                raise FrontPanelError(
                    fp.TIMEOUT, fp.error_name(fp.TIMEOUT),
                    f"waiting {self.poll_timeout_s + extra_s:g} s for {what} (wire-out 0x{address:02X} & 0x{mask:X} == 0x{want:X}, got 0x{word:X})",
                )

    def _reset_sequencer(self) -> None:
        fp.check(self.fp.activate_trigger_in(ep.TI_NEURON, ep.TI_NEURON_SEQ_CLEAR), "ActivateTriggerIn(0x45, seq clear)")
        self._dirty = False

    def _run(self, block, result_ep: int | None = None, n_result: int = 0, extra_s: float = 0.0):
        """Run one sequencer block; returns ``n_result`` result bytes (a memoryview) from ``result_ep``."""
        self._check_open()
        if self._dirty:
            self._reset_sequencer()
        self._dirty = True  # until the block has run and its results are read
        # pipe-in, run trigger and the first status read go out together where the transport can
        n, trig, wo = self.fp.pipeline(
            ("pipe_in", ep.PI_SPI, block), ("trigger", ep.TI_NEURON, ep.TI_NEURON_SEQ_RUN), ("wire_outs",)
        )
        n = fp.check(n, "WriteToPipeIn(0x80)")
        if n != len(block):
            raise FrontPanelError(fp.TRANSFER_ERROR, fp.error_name(fp.TRANSFER_ERROR), f"WriteToPipeIn(0x80) took {n} of {len(block)} bytes")
        fp.check(trig, "ActivateTriggerIn(0x45, seq run)")
        fp.check(wo, "UpdateWireOuts (polling sequencer done)")
        status = self._wire(ep.WO_NEURON_STATUS)
        if not status & ep.NS_SEQ_DONE:
            status = self._poll(ep.WO_NEURON_STATUS, ep.NS_SEQ_DONE, ep.NS_SEQ_DONE, "sequencer done", extra_s)
        if status & ep.NS_SEQ_ERROR:
            code = fp.check(self.fp.get_wire_out(ep.WO_SEQ_ERROR), "GetWireOutValue(0x23)")
            name = SeqError(code).name if code in SeqError._value2member_map_ else f"code {code}"
            self._dirty = False  # the firmware dropped the block itself
            raise BoardError(f"test-board sequencer rejected a {_op_name(block)} block: {name}")
        data = memoryview(b"")
        if n_result:
            buf = bytearray(n_result + (-n_result) % fp.PIPE_BLOCK_BYTES)
            got = fp.check(self.fp.read_from_pipe_out(result_ep, buf), f"ReadFromPipeOut(0x{result_ep:02X})")
            if got != len(buf):
                raise FrontPanelError(fp.TRANSFER_ERROR, fp.error_name(fp.TRANSFER_ERROR), f"ReadFromPipeOut(0x{result_ep:02X}) gave {got} of {len(buf)} bytes")
            data = memoryview(buf)[:n_result]
        self._dirty = False
        return data

    def _wire(self, address: int) -> int:
        return fp.check(self.fp.get_wire_out(address), f"GetWireOutValue(0x{address:02X})")

    def _wire_f64(self, lo: int, hi: int) -> float:
        return struct.unpack("<d", struct.pack("<II", self._wire(lo), self._wire(hi)))[0]

    def _powered_from_wires(self) -> np.ndarray:
        mask = self._wire(ep.WO_POWER_LO) | (self._wire(ep.WO_POWER_HI) << 32)
        return sq.mask_to_cores(mask, self.limits.n_cores)

    # -------------------------------------------------------------- contract
    def _close(self) -> None:
        self.fp.close()

    def _info(self) -> BoardInfo:
        dev = self.fp.device_info()
        extra = {"transport": dev, "firmware_info": {k: v for k, v in self._facts.items() if k not in ("rails_v", "snapshot")}}
        twin = self._facts.get("twin") or {}
        if "seed" in twin:
            extra["seed"] = twin["seed"]
        return BoardInfo(
            kind=self.kind,
            spec=self.spec,
            serial=str(dev.get("serial") or self._facts.get("serial") or "unknown"),
            firmware=str(self._facts.get("firmware", "unknown")),
            extra=extra,
        )

    def _set_rails(self, volts):
        for name, target in volts.items():
            self._ramp(name, float(target))

    def _ramp(self, name: str, target: float) -> None:
        if name not in ep.RAIL_DACS:
            raise InputError(f"rail {name!r} has no board DAC; known: {sorted(ep.RAIL_DACS)}")
        dac, channel, full_scale = ep.RAIL_DACS[name]
        now = self._rails.get(name, 0.0)
        n = max(1, math.ceil(abs(target - now) / self.ramp_step_v - 1e-9))
        steps = [now + (target - now) * i / n for i in range(1, n)] + [target]
        self._poll(ep.WO_DAC_ADC_STATUS, ep.DAC_FIFO_FULL, 0, f"DAC FIFO not full ({name})")
        for v in steps:
            lo, hi = struct.unpack("<II", struct.pack("<d", v))
            fp.check(self.fp.set_wire_in(ep.WI_DAC_DATA, ep.dac_word(dac, channel, ep.dac_code(v, full_scale))), "SetWireInValue(0x01)")
            fp.check(self.fp.set_wire_in(ep.WI_RAIL_EXACT_LO, lo), "SetWireInValue(0x16)")
            fp.check(self.fp.set_wire_in(ep.WI_RAIL_EXACT_HI, hi), "SetWireInValue(0x17)")
            fp.check(self.fp.update_wire_ins(), "UpdateWireIns (DAC word)")
            fp.check(self.fp.activate_trigger_in(ep.TI_SYS, ep.TI_SYS_DAC_PROGRAM), "ActivateTriggerIn(0x40, DAC program)")
            self._poll(ep.WO_DAC_ADC_STATUS, ep.DAC_FIFO_ACK, ep.DAC_FIFO_ACK, f"DAC word accepted ({name})")
            fp.check(self.fp.activate_trigger_in(ep.TI_DAC, ep.TI_DAC_UPDATE), "ActivateTriggerIn(0x41, DAC update)")
            self._poll(ep.WO_DAC_ADC_STATUS, ep.DAC_IDLE, ep.DAC_IDLE, f"DAC idle ({name})")
            self._rails[name] = v
            self.rail_steps += 1

    def _get_rails(self):
        return self._rails

    def _power_cores(self, cores, on):
        self._run(sq.encode_power(cores, on))
        self._powered = self._powered_from_wires()

    def _powered_cores(self):
        return self._powered

    def _pulse(self, kind, core, row, col, v_pulse, width_s, v_gate):
        self._run(sq.encode_pulse(kind, core, row, col, v_pulse, width_s, v_gate))

    def _read(self, core, row, col):
        data = self._run(sq.encode_read(core, row, col), ep.PO_SPI, 4 * len(core))
        return np.frombuffer(data, "<f4").astype(np.float32)

    def _mvm(self, request):
        n_cores, batch, _ = np.shape(request.inputs)
        n_out = len(request.output_lines)
        data = self._run(sq.encode_mvm(request), ep.PO_MULTI_LEVEL, 2 * n_cores * batch * n_out)
        return np.frombuffer(data, "<i2").astype(np.int16).reshape(n_cores, batch, n_out)

    def _neuron_test(self, core, v_in_v, output_bits):
        batch, width = v_in_v.shape
        data = self._run(sq.encode_neuron_test(core, v_in_v, output_bits), ep.PO_MULTI_LEVEL, 2 * batch * width)
        return np.frombuffer(data, "<i2").astype(np.int16).reshape(batch, width)

    def _now(self):
        fp.check(self.fp.update_wire_outs(), "UpdateWireOuts (clock)")
        return self._wire_f64(ep.WO_CLOCK_LO, ep.WO_CLOCK_HI)

    def _wait(self, seconds):
        self._run(sq.encode_wait(seconds), extra_s=seconds)

    def _counters(self):
        return sq.decode_json_result(self._run(sq.encode(SeqOp.COUNTERS), ep.PO_SPI, sq.JSON_BYTES))

    def _snapshot_extra(self):
        snap = {"fpga": {"transport": self.fp.device_info(), "firmware": self._facts.get("firmware")}}
        snap.update(self._facts.get("snapshot") or {})
        return snap


def _op_name(block: bytes) -> str:
    try:
        return SeqOp(sq.HEADER.unpack_from(block)[1]).name
    except (ValueError, struct.error):
        return "malformed"


def open_okusb(target: str = "", spec: str = "okusb://", limits=None, bitfile=None, transport: str = "ok",
               poll_timeout_s=POLL_TIMEOUT_S, **extra) -> FpgaBoard:
    """Factory for ``okusb://SERIAL[?bitfile=F&limits=F&transport=ok|usb]``: a real test board.

    ``transport=ok`` (default) uses Opal Kelly's FrontPanel SDK; ``transport=usb``
    speaks this project's framing over pyusb (boards whose host interface runs it).
    """
    if extra:
        raise InputError(f"unknown okusb:// options {sorted(extra)}; known: bitfile, limits, transport, poll_timeout_s")
    if isinstance(limits, (str, bytes)) or hasattr(limits, "__fspath__"):
        limits = SafetyLimits.from_file(limits)
    serial = target.strip("/")
    if transport == "ok":
        from ._okfp import OkFrontPanel

        front = OkFrontPanel(serial, bitfile=bitfile)
    elif transport == "usb":
        from .usb_transport import UsbFrontPanel, describe, find_boards

        devs = [d for d in find_boards() if not serial or describe(d)["serial"] == serial]
        if not devs:
            raise BoardError(f"no Opal Kelly USB board with serial {serial!r} found (is it plugged in and readable?)")
        front = UsbFrontPanel(devs[0])
    else:
        raise InputError(f"transport {transport!r} is not one of ('ok', 'usb')")
    return FpgaBoard(front, spec, limits, kind="fpga", poll_timeout_s=float(poll_timeout_s))
