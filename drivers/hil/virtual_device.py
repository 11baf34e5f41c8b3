"""A virtual NeuRRAM test board on USB, served to pyusb as a backend.

:class:`VirtualBackend` is a ``usb.backend.IBackend`` (as pyusb's own tests
fake devices): it enumerates :class:`VirtualNeurramDevice` objects, serves
their device/configuration/interface/endpoint and string descriptors, and moves
bytes over one bulk OUT and one bulk IN endpoint. So ``usb.core.find`` and
``Device.read/write`` run their real code paths against it.

The device reassembles request frames (:mod:`drivers.usb_framing`) from the
byte stream, answers a retransmitted request (same sequence number, same
bytes) from its cache without running it twice, and hands everything else to
the :class:`~drivers.hil.firmware.EmulatedFirmware`. Faults
(:mod:`drivers.hil.faults`) act on the way in and out.
"""

from __future__ import annotations

import collections
import errno
import json
import struct
import time
from types import SimpleNamespace

import numpy as np
import usb.backend
import usb.core

from .. import usb_framing as fr
from ..usb_framing import Op
from .faults import FaultPlan
from .firmware import EmulatedFirmware

OPAL_KELLY_VID = 0x151F
VIRTUAL_PID = 0x4E52  # this project's virtual board, not an Opal Kelly product id
EP_OUT = 0x02  # bulk OUT: host -> device frames
EP_IN = 0x86  # bulk IN: device -> host frames
MAX_PACKET = 1024  # USB 3.0 SuperSpeed bulk max packet
LANGID_EN_US = 0x0409
STRINGS = {1: "Opal Kelly (virtual)", 2: "XEM6310 NeuRRAM HIL stub"}
ANSWER_CACHE = 64  # responses kept for resent requests


class Session:
    """One opened handle: its own frame stream, response queue and sequence state.

    A real board has one host; the virtual one lets several handles share the
    chip (tests use a second host to change the board behind the first's back).
    """

    def __init__(self, device: "VirtualNeurramDevice"):
        self.device = device
        self.rx = fr.FrameReader()
        self.tx: collections.deque = collections.deque()  # encoded response frames, oldest first
        self.answered: collections.OrderedDict = collections.OrderedDict()  # seq -> (op, payload, response)
        self.expect: int | None = None  # the sequence number run next
        self.t_last_rx = 0.0

    def reset(self) -> None:
        self.rx.clear()
        self.tx.clear()
        self.answered.clear()
        self.expect = None


def _desc(**fields) -> SimpleNamespace:
    fields.setdefault("extra_descriptors", [])
    return SimpleNamespace(**fields)


class VirtualNeurramDevice:
    """One virtual test board: USB descriptors, a frame stream, the emulated firmware.

    Parameters
    ----------
    firmware : EmulatedFirmware
    serial : str
        USB serial number string.
    faults : FaultPlan, optional
    bus, address : int
        Where it appears on the (virtual) bus.
    """

    def __init__(self, firmware: EmulatedFirmware, serial: str, faults: FaultPlan | None = None, bus: int = 1,
                 address: int = 7, partial_timeout_s: float = 0.02):
        self.firmware = firmware
        self.serial = serial
        self.faults = faults if faults is not None else FaultPlan()
        self.connected = True
        self.sessions: list[Session] = []
        self.executed = 0  # requests run by the firmware (retransmissions not counted)
        self.partial_timeout_s = float(partial_timeout_s)  # a partial frame idle this long is dropped
        self.dropped_partials = 0
        self.device_descriptor = _desc(
            bLength=18, bDescriptorType=1, bcdUSB=0x0300, bDeviceClass=0xFF, bDeviceSubClass=0,
            bDeviceProtocol=0, bMaxPacketSize0=9, idVendor=OPAL_KELLY_VID, idProduct=VIRTUAL_PID,
            bcdDevice=0x0100, iManufacturer=1, iProduct=2, iSerialNumber=3, bNumConfigurations=1,
            address=address, bus=bus, port_number=1, port_numbers=(1,), speed=4,
        )
        self.config_descriptor = _desc(
            bLength=9, bDescriptorType=2, wTotalLength=9 + 9 + 7 + 7, bNumInterfaces=1,
            bConfigurationValue=1, iConfiguration=0, bmAttributes=0x80, bMaxPower=250,
        )
        self.interface_descriptor = _desc(
            bLength=9, bDescriptorType=4, bInterfaceNumber=0, bAlternateSetting=0, bNumEndpoints=2,
            bInterfaceClass=0xFF, bInterfaceSubClass=0, bInterfaceProtocol=0, iInterface=0,
        )
        self.endpoint_descriptors = [
            _desc(bLength=7, bDescriptorType=5, bEndpointAddress=a, bmAttributes=0x02,
                  wMaxPacketSize=MAX_PACKET, bInterval=0, bRefresh=0, bSynchAddress=0)
            for a in (EP_OUT, EP_IN)
        ]
        self.configuration = 0

    # ------------------------------------------------------------- plugging
    def unplug(self) -> None:
        """Disconnect: every later transfer fails with ENODEV; the chip keeps its state."""
        self.connected = False
        for sess in self.sessions:
            sess.reset()
        self.sessions.clear()

    def replug(self) -> None:
        """Connect again (same chip, same firmware state, empty USB buffers)."""
        self.connected = True

    def stick(self, wire_out: int, mask: int, value: int = 0) -> None:
        """Force bits ``mask`` of ``wire_out`` to ``value`` (a stuck status line)."""
        self.firmware.stuck[wire_out] = (mask, value)

    def open(self) -> Session:
        if not self.connected:
            raise self._gone()
        sess = Session(self)
        self.sessions.append(sess)
        return sess

    def _gone(self):
        return usb.core.USBError("No such device (it may have been disconnected)", -4, errno.ENODEV)

    # ------------------------------------------------------------- transfers
    def receive(self, sess: Session, data) -> int:
        """Bytes arriving on the bulk OUT endpoint of session ``sess``."""
        if not self.connected or sess not in self.sessions:
            raise self._gone()
        now = time.monotonic()
        if sess.rx.pending and now - sess.t_last_rx > self.partial_timeout_s:
            sess.rx.clear()  # the rest of that frame never came: drop it, as a device's idle timer does
            self.dropped_partials += 1
        sess.t_last_rx = now
        frames, _pending, _damaged = sess.rx.feed(data)
        for frame in frames:
            self._handle(sess, frame)
            if not self.connected:
                raise self._gone()
        return len(data)

    def transmit(self, sess: Session, n: int):
        """Up to ``n`` bytes for the bulk IN endpoint (at most one frame's worth)."""
        if not self.connected or sess not in self.sessions:
            raise self._gone()
        head = sess.tx.popleft()
        if len(head) > n:
            sess.tx.appendleft(head[n:])
            head = head[:n]
        return head

    def _handle(self, sess: Session, frame: fr.Frame) -> None:
        hits = self.faults.next_frame(frame.op)
        kinds = {f.kind for f in hits}
        if "disconnect" in kinds:
            self.unplug()
            return
        if "corrupt_request" in kinds:
            return  # the damaged request never makes it past the device's CRC check
        if "corrupt_header" in kinds:
            raw = bytearray(fr.encode(frame))
            raw[10] ^= 0x01  # length + 65536: the device now waits for bytes that never come
            sess.rx.feed(bytes(raw[: fr.HEADER_BYTES + len(frame.payload)]))
            return
        ahead = None if sess.expect is None else (frame.seq - sess.expect) & 0xFFFF
        if frame.op == Op.HELLO or ahead is None or ahead == 0:
            if frame.op == Op.HELLO:  # a host (re)starts its numbering
                sess.answered.clear()
            raw = self._execute(frame)
            sess.expect = (frame.seq + 1) & 0xFFFF
            sess.answered[frame.seq] = (frame.op, frame.payload, raw)
            while len(sess.answered) > ANSWER_CACHE:
                sess.answered.popitem(last=False)
        elif ahead >= 0x8000:  # behind: a resend of something already run
            cached = sess.answered.get(frame.seq)
            if cached is None or cached[0] != frame.op or cached[1] != frame.payload:
                return  # too old or not the same request: never run it again
            raw = cached[2]
        else:
            return  # ahead: a frame before it was lost; run nothing out of order, the host resends both
        if "timeout" in kinds:
            return
        if "short_read" in kinds:
            raw = raw[: max(1, len(raw) // 2)]
        if "corrupt" in kinds:
            b = bytearray(raw)
            b[len(b) - 1 if len(b) > fr.HEADER_BYTES else 12] ^= 0x5A
            raw = bytes(b)
        sess.tx.append(memoryview(raw))

    def _execute(self, frame: fr.Frame) -> bytes:
        fw = self.firmware
        self.executed += 1
        p = frame.payload
        try:
            if frame.op == Op.HELLO:
                return fr.response_bytes(frame, 0, json.dumps(fw.hello()).encode())
            if frame.op == Op.WIRE_INS:
                if len(p) != 4 * 32:
                    return fr.response_bytes(frame, -10)  # InvalidBlockSize
                return fr.response_bytes(frame, fw.set_wire_ins(np.frombuffer(p, "<u4").astype(np.uint32)))
            if frame.op == Op.WIRE_OUTS:
                return fr.response_bytes(frame, 0, fw.wire_outs().astype("<u4").tobytes())
            if frame.op == Op.TRIGGER:
                (bit,) = struct.unpack_from("<I", p)
                return fr.response_bytes(frame, fw.trigger(frame.endpoint, bit))
            if frame.op == Op.PIPE_IN:
                return fr.response_bytes(frame, fw.pipe_in(frame.endpoint, p))
            if frame.op == Op.PIPE_OUT:
                (n,) = struct.unpack_from("<I", p)
                code, data = fw.pipe_out(frame.endpoint, n)
                return fr.response_bytes(frame, code, data)
        except struct.error:
            return fr.response_bytes(frame, -20)  # InvalidParameter
        return fr.response_bytes(frame, -15, nak=True)  # UnsupportedFeature


class VirtualBackend(usb.backend.IBackend):
    """pyusb backend serving virtual test boards.

    Parameters
    ----------
    devices : iterable of VirtualNeurramDevice
    honour_timeouts : bool
        Sleep for the read timeout when no data is there, as a real bus does.
    """

    def __init__(self, devices=(), honour_timeouts: bool = True):
        self.devices = list(devices)
        self.honour_timeouts = honour_timeouts

    def enumerate_devices(self):
        return iter([d for d in self.devices if d.connected])

    def get_parent(self, dev):
        return None

    def get_device_descriptor(self, dev):
        return dev.device_descriptor

    def get_configuration_descriptor(self, dev, config):
        if config != 0:
            raise IndexError(config)
        return dev.config_descriptor

    def get_interface_descriptor(self, dev, intf, alt, config):
        if (intf, alt, config) != (0, 0, 0):
            raise IndexError((intf, alt, config))
        return dev.interface_descriptor

    def get_endpoint_descriptor(self, dev, ep, intf, alt, config):
        if (intf, alt, config) != (0, 0, 0) or not 0 <= ep < len(dev.endpoint_descriptors):
            raise IndexError(ep)
        return dev.endpoint_descriptors[ep]

    def open_device(self, dev):
        return dev.open()

    def close_device(self, dev_handle):
        if dev_handle in dev_handle.device.sessions:
            dev_handle.device.sessions.remove(dev_handle)

    def set_configuration(self, dev_handle, config_value):
        if config_value not in (0, 1):
            raise usb.core.USBError("Invalid configuration", -2, errno.EINVAL)
        dev_handle.device.configuration = config_value

    def get_configuration(self, dev_handle):
        return dev_handle.device.configuration

    def set_interface_altsetting(self, dev_handle, intf, altsetting):
        pass

    def claim_interface(self, dev_handle, intf):
        if not dev_handle.device.connected:
            raise dev_handle.device._gone()

    def release_interface(self, dev_handle, intf):
        pass

    def clear_halt(self, dev_handle, ep):
        pass

    def reset_device(self, dev_handle):
        pass

    def is_kernel_driver_active(self, dev_handle, intf):
        return False

    def detach_kernel_driver(self, dev_handle, intf):
        pass

    def attach_kernel_driver(self, dev_handle, intf):
        pass

    def bulk_write(self, dev_handle, ep, intf, data, timeout):
        if ep != EP_OUT:
            raise usb.core.USBError("Invalid endpoint", -2, errno.EINVAL)
        return dev_handle.device.receive(dev_handle, memoryview(data).cast("B"))

    def bulk_read(self, dev_handle, ep, intf, buff, timeout):
        if ep != EP_IN:
            raise usb.core.USBError("Invalid endpoint", -2, errno.EINVAL)
        dev = dev_handle.device
        if not dev.connected or dev_handle not in dev.sessions:
            raise dev._gone()
        if not dev_handle.tx:
            if self.honour_timeouts and timeout:
                time.sleep(timeout / 1000.0)
            raise usb.core.USBTimeoutError("Operation timed out", -7, errno.ETIMEDOUT)
        data = dev.transmit(dev_handle, len(buff) * buff.itemsize)
        memoryview(buff).cast("B")[: len(data)] = data
        return len(data)

    def ctrl_transfer(self, dev_handle, bmRequestType, bRequest, wValue, wIndex, data_or_wLength, timeout):
        if not dev_handle.device.connected:
            raise dev_handle.device._gone()
        if bRequest == 0x06 and (wValue >> 8) == 0x03:  # GET_DESCRIPTOR, string
            index = wValue & 0xFF
            if index == 0:
                raw = struct.pack("<BBH", 4, 3, LANGID_EN_US)
            else:
                text = dev_handle.device.serial if index == 3 else STRINGS.get(index)
                if text is None:
                    raise usb.core.USBError("Pipe error", -9, errno.EPIPE)
                enc = text.encode("utf-16-le")
                raw = bytes([2 + len(enc), 3]) + enc
            n = min(len(raw), len(data_or_wLength))
            memoryview(data_or_wLength).cast("B")[:n] = raw[:n]
            return n
        raise usb.core.USBError("Pipe error (request not supported)", -9, errno.EPIPE)
