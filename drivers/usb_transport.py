"""FrontPanel endpoint traffic over pyusb bulk transfers, in the frames of :mod:`drivers.usb_framing`.

:func:`find_boards` lists USB devices with Opal Kelly's vendor id (0x151F)
through any pyusb backend; :class:`UsbFrontPanel` opens one and implements
the :class:`~drivers.frontpanel.FrontPanel` moves as request/response frames
on bulk OUT 0x02 / bulk IN 0x86 (``docs/usb_framing.md``).

Every request is retried a bounded number of times when its response times
out, arrives short or fails its CRC; the device answers a retransmission
from its cache, so a retry never runs a request twice. A vanished device ends
in ``CommunicationError`` and the transport closes; nothing is retried then.
"""

from __future__ import annotations

import array
import json
import struct
import time

import numpy as np
import usb.core
import usb.util

from . import frontpanel as fp
from . import usb_framing as fr
from .usb_framing import Op

OPAL_KELLY_VID = 0x151F
EP_OUT = 0x02
EP_IN = 0x86
_ZERO = array.array("B", b"\0")


def find_boards(backend=None) -> list:
    """pyusb ``Device`` objects with Opal Kelly's vendor id (empty if no USB backend is installed)."""
    try:
        return list(usb.core.find(find_all=True, idVendor=OPAL_KELLY_VID, backend=backend) or [])
    except usb.core.NoBackendError:
        return []


def describe(dev) -> dict:
    """JSON-able facts of a pyusb device (serial read from its string descriptor when possible)."""
    try:
        serial = dev.serial_number
    except (usb.core.USBError, ValueError, NotImplementedError):
        serial = None
    return {
        "vid": f"0x{dev.idVendor:04x}",
        "pid": f"0x{dev.idProduct:04x}",
        "bus": dev.bus,
        "address": dev.address,
        "serial": serial,
    }


class UsbFrontPanel(fp.FrontPanel):
    """A test board's FrontPanel endpoints over pyusb.

    Parameters
    ----------
    device : usb.core.Device
    timeout_ms : int
        Time the host waits for a response before retrying it.
    retries : int
        Retransmissions of one request before giving up (Timeout / TransferError).
    max_chunk : int
        Largest pipe payload per frame; longer pipe transfers go as several frames.
    write_packet : int or None
        Hand each frame to USB in pieces of this many bytes (None: whole frames).
    """

    def __init__(self, device, timeout_ms: int = 1000, retries: int = 3, max_chunk: int = 1 << 24, write_packet: int | None = None):
        super().__init__()
        self.device = device
        self.timeout_ms = int(timeout_ms)
        self.retries = int(retries)
        self.max_chunk = int(max_chunk)
        self.write_packet = write_packet
        self._seq = 0
        self._resync = False
        self._rx = fr.FrameReader()
        self.stats = {"requests": 0, "retries": 0, "damaged": 0}
        try:
            device.set_configuration()
            usb.util.claim_interface(device, 0)
        except usb.core.USBError as exc:
            self._open = False
            raise fp.FrontPanelError(fp.COMMUNICATION_ERROR, fp.error_name(fp.COMMUNICATION_ERROR), f"open USB device: {exc}") from exc
        code, body = self._request(Op.HELLO, 0, b"", expect=1 << 12)
        fp.check(code, "HELLO")
        self.hello = json.loads(bytes(body).decode())

    def device_info(self) -> dict:
        facts = describe(self.device)
        facts.update(self.hello)
        return facts

    def _close(self) -> None:
        try:
            usb.util.release_interface(self.device, 0)
        except (usb.core.USBError, ValueError):
            pass
        usb.util.dispose_resources(self.device)

    # ----------------------------------------------------------- the moves
    def _push_wire_ins(self, values: np.ndarray) -> int:
        return self._request(Op.WIRE_INS, 0, values.astype("<u4").tobytes())[0]

    def _pull_wire_outs(self) -> tuple[int, np.ndarray]:
        code, body = self._request(Op.WIRE_OUTS, 0, b"", expect=4 * 32)
        if code < 0:
            return code, None
        if len(body) != 4 * 32:
            return fp.TRANSFER_ERROR, None
        return code, np.frombuffer(body, "<u4").astype(np.uint32)

    def _trigger(self, address: int, bit: int) -> int:
        return self._request(Op.TRIGGER, address, struct.pack("<I", bit))[0]

    def _pipe_in(self, address: int, data: bytes) -> int:
        sent = 0
        view = memoryview(data)
        while sent < len(data) or not data:
            chunk = view[sent:sent + self.max_chunk]
            code = self._request(Op.PIPE_IN, address, chunk)[0]
            if code < 0:
                return code
            if code != len(chunk):
                return fp.TRANSFER_ERROR
            sent += len(chunk)
            if not data:
                break
        return sent

    def _pipe_out(self, address: int, n_bytes: int) -> tuple[int, bytes]:
        parts = []
        got = 0
        while got < n_bytes:
            n = min(self.max_chunk, n_bytes - got)
            code, body = self._request(Op.PIPE_OUT, address, struct.pack("<I", n), expect=n)
            if code < 0:
                return code, b""
            if len(body) != n:
                return fp.TRANSFER_ERROR, b""
            parts.append(body)
            got += n
        return n_bytes, parts[0] if len(parts) == 1 else b"".join(parts)

    # ------------------------------------------------------------ pipelining
    def pipeline(self, *calls) -> list[int]:
        """Send several endpoint calls in one USB write and collect their answers together.

        The device runs frames strictly in sequence order (a frame after a lost
        one is dropped and resent), so the calls take effect in order, as
        if made one by one, at the cost of one round trip instead of one each.
        Later calls are sent even if an earlier one fails: a FIFO error on the
        pipe-in leaves the firmware an incomplete block, which it refuses.
        """
        if not self._open:
            return [fp.DEVICE_NOT_OPEN] * len(calls)
        plan, codes = [], [None] * len(calls)
        for i, call in enumerate(calls):
            kind, *args = call
            if kind == "pipe_in":
                address, data = args
                if fp.endpoints_kind(address) != "pipe_in":
                    codes[i] = fp.INVALID_ENDPOINT
                elif len(data) % fp.PIPE_BLOCK_BYTES:
                    codes[i] = fp.INVALID_BLOCK_SIZE
                else:
                    view = memoryview(data).cast("B")
                    for off in range(0, max(len(view), 1), self.max_chunk):
                        plan.append((i, Op.PIPE_IN, address, view[off:off + self.max_chunk], 0))
            elif kind == "trigger":
                address, bit = args
                if fp.endpoints_kind(address) != "trigger_in" or not 0 <= bit < 32:
                    codes[i] = fp.INVALID_ENDPOINT
                else:
                    plan.append((i, Op.TRIGGER, address, struct.pack("<I", bit), 0))
            elif kind == "wire_outs":
                plan.append((i, Op.WIRE_OUTS, 0, b"", 4 * 32))
            else:
                raise ValueError(f"cannot pipeline {kind!r}")
        if any(c is not None for c in codes):
            return [c if c is not None else fp.FAILED for c in codes]  # nothing sent
        answers = self._exchange([(op, ep_, payload, expect) for _, op, ep_, payload, expect in plan])
        for (i, op, _ep, payload, _x), (code, body) in zip(plan, answers):
            if code >= 0 and op == Op.WIRE_OUTS:
                if len(body) != 4 * 32:
                    code = fp.TRANSFER_ERROR
                else:
                    self._wire_out[:] = np.frombuffer(body, "<u4")
            if code >= 0 and op == Op.PIPE_IN and code != len(payload):
                code = fp.TRANSFER_ERROR
            prev = codes[i]
            if prev is None:
                codes[i] = code
            elif prev >= 0:
                codes[i] = prev + code if code >= 0 else code  # pipe-in: bytes over all its chunks
        return codes

    # ------------------------------------------------------------- framing
    def _request(self, op: int, endpoint: int, payload, expect: int = 0) -> tuple[int, bytes]:
        """Send one request and wait for its response, retrying; returns (code, body).

        ``expect`` is the response body size the caller expects (sizes the first USB read).
        """
        return self._exchange([(op, endpoint, payload, expect)])[0]

    def _exchange(self, requests) -> list[tuple[int, bytes]]:
        """Send requests ``(op, endpoint, payload, expect)`` back to back; return (code, body) of each.

        Unanswered requests (lost, short, damaged) are resent in order with
        their sequence numbers, at most ``retries`` times; the device answers
        a resent request it already ran from its cache.
        """
        if not self._open:
            return [(fp.DEVICE_NOT_OPEN, b"")] * len(requests)
        if self._resync and requests[0][0] != Op.HELLO:
            # a request was abandoned: the device still waits for its number, so restart the numbering
            code, _ = self._exchange([(Op.HELLO, 0, b"", 1 << 12)])[0]
            if code < 0:
                return [(code, b"")] * len(requests)
        items = []
        for op, endpoint, payload, expect in requests:
            self._seq = (self._seq + 1) & 0xFFFF
            items.append((self._seq, fr.encode_array(op, endpoint, self._seq, payload), expect))
        self.stats["requests"] += len(items)
        answers: dict[int, fr.Frame] = {}
        last = fp.TIMEOUT
        for attempt in range(self.retries + 1):
            todo = [it for it in items if it[0] not in answers]
            if not todo:
                break
            if attempt:
                self.stats["retries"] += 1
            self._rx.clear()
            raw = todo[0][1]
            if len(todo) > 1:
                raw = array.array("B")
                for it in todo:
                    raw += it[1]
            try:
                self._write(raw)
                want = sum(fr.HEADER_BYTES + fr.CODE.size + it[2] for it in todo)
                answers.update(self._collect({it[0] for it in todo}, want))
            except usb.core.USBError as exc:
                if isinstance(exc, usb.core.USBTimeoutError):
                    last = fp.TIMEOUT
                    continue
                self._open = False  # the device is gone: nothing more will work
                return [(fp.COMMUNICATION_ERROR, b"")] * len(items)
            if len(answers) < len(items):
                last = fp.TIMEOUT if not self._rx.pending else fp.TRANSFER_ERROR
        self._resync = len(answers) < len(items)
        out = []
        for seq, _raw, _x in items:
            frame = answers.get(seq)
            if frame is None:
                out.append((last, b""))
                continue
            try:
                out.append((frame.code(), b"" if frame.is_nak else frame.body()))
            except fr.FrameError:
                out.append((fp.TRANSFER_ERROR, b""))
        return out

    def _write(self, raw) -> None:
        if self.write_packet:
            for i in range(0, len(raw), self.write_packet):
                self.device.write(EP_OUT, raw[i:i + self.write_packet], self.timeout_ms)
        else:
            self.device.write(EP_OUT, raw, self.timeout_ms)

    def _collect(self, seqs: set, want: int) -> dict:
        """Read responses until every sequence number in ``seqs`` has one (or timeout / damage)."""
        got: dict[int, fr.Frame] = {}
        deadline = time.monotonic() + self.timeout_ms / 1000.0
        while len(got) < len(seqs):
            left_ms = int((deadline - time.monotonic()) * 1000)
            if left_ms <= 0:
                break
            try:
                buff = _ZERO * max(want, 64)  # one allocation; pyusb's own buffer would cost two copies
                n = self.device.read(EP_IN, buff, left_ms)
            except usb.core.USBTimeoutError:
                break
            frames, pending, damaged = self._rx.feed(memoryview(buff)[:n])
            self.stats["damaged"] += damaged
            for frame in frames:
                if frame.is_response and frame.seq in seqs:
                    got[frame.seq] = frame
            if damaged and not pending:
                break  # a response was damaged: resend now rather than wait
            need = self._rx.needed()
            want = need if need else 1 << 12  # the header tells how much is still to come
        return got
