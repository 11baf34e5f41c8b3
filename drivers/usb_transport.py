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

    # ------------------------------------------------------------- framing
    def _request(self, op: int, endpoint: int, payload, expect: int = 0) -> tuple[int, bytes]:
        """Send one request and wait for its response, retrying; returns (code, body).

        ``expect`` is the response body size the caller expects (sizes the first USB read).
        """
        if not self._open:
            return fp.DEVICE_NOT_OPEN, b""
        self._seq = (self._seq + 1) & 0xFFFF
        raw = fr.encode_array(op, endpoint, self._seq, payload)
        self.stats["requests"] += 1
        last = fp.TIMEOUT
        for attempt in range(self.retries + 1):
            if attempt:
                self.stats["retries"] += 1
            self._rx.clear()
            try:
                self._write(raw)
                frame = self._await(self._seq, fr.HEADER_BYTES + fr.CODE.size + expect)
            except usb.core.USBError as exc:
                if isinstance(exc, usb.core.USBTimeoutError):
                    last = fp.TIMEOUT
                    continue
                self._open = False  # the device is gone: nothing more will work
                return fp.COMMUNICATION_ERROR, b""
            if frame is None:
                last = fp.TIMEOUT if not self._rx.pending else fp.TRANSFER_ERROR
                continue
            if frame.is_nak:
                return frame.code(), b""
            try:
                return frame.code(), frame.body()
            except fr.FrameError:
                last = fp.TRANSFER_ERROR
        return last, b""

    def _write(self, raw) -> None:
        if self.write_packet:
            for i in range(0, len(raw), self.write_packet):
                self.device.write(EP_OUT, raw[i:i + self.write_packet], self.timeout_ms)
        else:
            self.device.write(EP_OUT, raw, self.timeout_ms)

    def _await(self, seq: int, want: int):
        """Read until the response to ``seq`` (about ``want`` bytes) is complete; None on timeout or damage."""
        deadline = time.monotonic() + self.timeout_ms / 1000.0
        while True:
            left_ms = int((deadline - time.monotonic()) * 1000)
            if left_ms <= 0:
                return None
            try:
                buff = _ZERO * max(want, 64)  # one allocation; pyusb's own buffer would cost two copies
                got = self.device.read(EP_IN, buff, left_ms)
                data = memoryview(buff)[:got]
            except usb.core.USBTimeoutError:
                return None
            frames, pending, damaged = self._rx.feed(data)
            self.stats["damaged"] += damaged
            for frame in frames:
                if frame.is_response and frame.seq == seq:
                    return frame
            if damaged and not pending:
                return None  # the response was damaged: retry now rather than wait
            need = self._rx.needed()
            want = need if need else 1 << 12  # the header tells how much is still to come
