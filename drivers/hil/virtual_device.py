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
        self._rx = fr.FrameReader()
        self._tx: collections.deque = collections.deque()  # encoded response frames, oldest first
        self._last: tuple[int, int, bytes, bytes] | None = None  # (seq, op, payload, response bytes)
        self.executed = 0  # requests run by the firmware (retransmissions not counted)
        self.partial_timeout_s = float(partial_timeout_s)  # a partial frame idle this long is dropped
        self.dropped_partials = 0
        self._t_last_rx = 0.0
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
        self._rx.clear()
        self._tx.clear()
        self._last = None

    def replug(self) -> None:
        """Connect again (same chip, same firmware state, empty USB buffers)."""
        self.connected = True

    def stick(self, wire_out: int, mask: int, value: int = 0) -> None:
        """Force bits ``mask`` of ``wire_out`` to ``value`` (a stuck status line)."""
        self.firmware.stuck[wire_out] = (mask, value)

    def _gone(self):
        return usb.core.USBError("No such device (it may have been disconnected)", -4, errno.ENODEV)

    # ------------------------------------------------------------- transfers
    def receive(self, data) -> int:
        """Bytes arriving on the bulk OUT endpoint."""
        if not self.connected:
            raise self._gone()
        now = time.monotonic()
        if self._rx.pending and now - self._t_last_rx > self.partial_timeout_s:
            self._rx.clear()  # the rest of that frame never came: drop it, as a device's idle timer does
            self.dropped_partials += 1
        self._t_last_rx = now
        frames, _pending, _damaged = self._rx.feed(data)
        for frame in frames:
            self._handle(frame)
            if not self.connected:
                raise self._gone()
        return len(data)

    def transmit(self, n: int):
        """Up to ``n`` bytes for the bulk IN endpoint (at most one frame's worth)."""
        if not self.connected:
            raise self._gone()
        head = self._tx.popleft()
        if len(head) > n:
            self._tx.appendleft(head[n:])
            head = head[:n]
        return head

    @property
    def has_data(self) -> bool:
        return bool(self._tx)

    def _handle(self, frame: fr.Frame) -> None:
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
            self._rx.feed(bytes(raw[: fr.HEADER_BYTES + len(frame.payload)]))
            return
        if self._last is not None and self._last[:3] == (frame.seq, frame.op, frame.payload):
            raw = self._last[3]  # a retransmission: answer again, run nothing
        else:
            raw = self._execute(frame)
            self._last = (frame.seq, frame.op, frame.payload, raw)
        if "timeout" in kinds:
            return
        if "short_read" in kinds:
            raw = raw[: max(1, len(raw) // 2)]
        if "corrupt" in kinds:
            b = bytearray(raw)
            b[len(b) - 1 if len(b) > fr.HEADER_BYTES else 12] ^= 0x5A
            raw = bytes(b)
        self._tx.append(memoryview(raw))

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
        if not dev.connected:
            raise dev._gone()
        return dev

    def close_device(self, dev_handle):
        pass

    def set_configuration(self, dev_handle, config_value):
        if config_value not in (0, 1):
            raise usb.core.USBError("Invalid configuration", -2, errno.EINVAL)
        dev_handle.configuration = config_value

    def get_configuration(self, dev_handle):
        return dev_handle.configuration

    def set_interface_altsetting(self, dev_handle, intf, altsetting):
        pass

    def claim_interface(self, dev_handle, intf):
        if not dev_handle.connected:
            raise dev_handle._gone()

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
        return dev_handle.receive(memoryview(data).cast("B"))

    def bulk_read(self, dev_handle, ep, intf, buff, timeout):
        if ep != EP_IN:
            raise usb.core.USBError("Invalid endpoint", -2, errno.EINVAL)
        if not dev_handle.connected:
            raise dev_handle._gone()
        if not dev_handle.has_data:
            if self.honour_timeouts and timeout:
                time.sleep(timeout / 1000.0)
            raise usb.core.USBTimeoutError("Operation timed out", -7, errno.ETIMEDOUT)
        data = dev_handle.transmit(len(buff) * buff.itemsize)
        memoryview(buff).cast("B")[: len(data)] = data
        return len(data)

    def ctrl_transfer(self, dev_handle, bmRequestType, bRequest, wValue, wIndex, data_or_wLength, timeout):
        if not dev_handle.connected:
            raise dev_handle._gone()
        if bRequest == 0x06 and (wValue >> 8) == 0x03:  # GET_DESCRIPTOR, string
            index = wValue & 0xFF
            if index == 0:
                raw = struct.pack("<BBH", 4, 3, LANGID_EN_US)
            else:
                text = dev_handle.serial if index == 3 else STRINGS.get(index)
                if text is None:
                    raise usb.core.USBError("Pipe error", -9, errno.EPIPE)
                enc = text.encode("utf-16-le")
                raw = bytes([2 + len(enc), 3]) + enc
            n = min(len(raw), len(data_or_wLength))
            memoryview(data_or_wLength).cast("B")[:n] = raw[:n]
            return n
        raise usb.core.USBError("Pipe error (request not supported)", -9, errno.EPIPE)
