"""Stand-ins for what a lab machine has and this one does not: Opal Kelly's ``ok`` module (installed in
``sys.modules`` as the emulated bitstream's look-alike, so ``okusb://`` runs its real import and open
path) and a USB bus listing an Opal Kelly device (a pyusb backend that only enumerates)."""

from __future__ import annotations

import sys

import usb.backend

from neurram_lab.drivers.hil import make_emulated_board
from neurram_lab.drivers.hil.okmodule import EmulatedOk


def install_ok(monkeypatch, serials=("1740000ABC",), seed: int = 8) -> EmulatedOk:
    """Put an ``ok`` module with emulated boards (one twin of ``seed`` each) where ``import ok`` finds it."""
    boards = {}
    for i, s in enumerate(serials):
        _, emu = make_emulated_board(seed + i)
        boards[s] = emu
    ok = EmulatedOk(boards)
    monkeypatch.setitem(sys.modules, "ok", ok)
    return ok


class _Descriptor:
    def __init__(self, **kw):
        self.__dict__.update(kw)


class UsbListing(usb.backend.IBackend):
    """A pyusb backend whose bus holds devices with the given (vendor, product) ids; it enumerates only."""

    def __init__(self, ids=((0x151F, 0x0020),)):
        self.devs = [_Descriptor(
            bLength=18, bDescriptorType=1, bcdUSB=0x0300, bDeviceClass=0xFF, bDeviceSubClass=0, bDeviceProtocol=0,
            bMaxPacketSize0=9, idVendor=v, idProduct=p, bcdDevice=0x0100, iManufacturer=0, iProduct=0,
            iSerialNumber=0, bNumConfigurations=1, address=7 + i, bus=1, port_number=None, port_numbers=None,
            speed=None) for i, (v, p) in enumerate(ids)]

    def enumerate_devices(self):
        return iter(self.devs)

    def get_device_descriptor(self, dev):
        return dev

    def get_parent(self, dev):
        return None
