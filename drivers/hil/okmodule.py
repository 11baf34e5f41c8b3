"""An ``ok``-module look-alike whose boards are emulated bitstreams (:mod:`drivers.hil.emulator`).

The driver opens real boards through Opal Kelly's ``ok`` module
(``ok.okCFrontPanel``); :class:`EmulatedOk` offers the same names and return
codes, so :class:`~drivers.fpga_board.FpgaBoard` runs the same code on both.
Methods of :class:`EmulatedOk.okCFrontPanel` follow the FrontPanel API:
``SetWireInValue`` stages a value (host side), ``UpdateWireIns`` latches all
32 into the FPGA, ``UpdateWireOuts`` snapshots the wire-outs that
``GetWireOutValue`` then reads, ``ActivateTriggerIn``, ``WriteToPipeIn`` and
``ReadFromPipeOut`` (byte counts, or a negative code). Injected faults
(:mod:`drivers.hil.faults`) act here, between the host and the FPGA.
"""

from __future__ import annotations

import os

from .faults import FaultPlan

# FrontPanel ErrorCode values under the SDK's names (okCFrontPanel.ErrorCode); one table, the driver's
from ..frontpanel import DEVICE_NOT_OPEN as DeviceNotOpen  # noqa: E402,N812
from ..frontpanel import FAILED as Failed  # noqa: E402,N812
from ..frontpanel import FILE_ERROR as FileError  # noqa: E402,N812
from ..frontpanel import INVALID_BLOCK_SIZE as InvalidBlockSize  # noqa: E402,N812
from ..frontpanel import INVALID_ENDPOINT as InvalidEndpoint  # noqa: E402,N812
from ..frontpanel import NO_ERROR as NoError  # noqa: E402,N812
from ..frontpanel import TIMEOUT as Timeout  # noqa: E402,N812
from ..frontpanel import UNSUPPORTED_FEATURE as UnsupportedFeature  # noqa: E402,N812


class EmulatedOk:
    """Module-like object: ``okCFrontPanel`` over emulated boards keyed by serial.

    Parameters
    ----------
    boards : dict of str -> EmulatedBitstream
    faults : dict of str -> FaultPlan, optional
        Faults of each board (by serial).
    """

    NoError, Failed, Timeout, FileError, DeviceNotOpen = NoError, Failed, Timeout, FileError, DeviceNotOpen
    InvalidEndpoint, InvalidBlockSize, UnsupportedFeature = InvalidEndpoint, InvalidBlockSize, UnsupportedFeature

    def __init__(self, boards: dict, faults: dict | None = None):
        self.boards = dict(boards)
        self.faults = {s: faults.get(s) for s in self.boards} if faults else {}
        module = self

        class okCFrontPanel(_Handle):  # noqa: N801 - the vendor's name
            _module = module

        self.okCFrontPanel = okCFrontPanel


class _Handle:
    """One ``okCFrontPanel`` instance: a host-side handle on one emulated board."""

    _module: EmulatedOk

    def __init__(self):
        self.emu = None
        self.serial = ""
        self._staged = [0] * 32
        self._wo = [0] * 32
        self._plan: FaultPlan | None = None
        self._dead = False

    # ------------------------------------------------------------ devices
    def GetDeviceCount(self):
        return len(self._module.boards)

    def GetDeviceListSerial(self, i):
        return sorted(self._module.boards)[i]

    def OpenBySerial(self, serial=""):
        boards = self._module.boards
        serial = serial or (sorted(boards)[0] if boards else "")
        if serial not in boards:
            return DeviceNotOpen
        self.emu, self.serial = boards[serial], serial
        self._plan = self._module.faults.get(serial)
        self._dead = False
        return NoError

    def IsOpen(self):
        return self.emu is not None and not self._dead

    def GetSerialNumber(self):
        return self.serial

    def GetDeviceID(self):
        return "NeuRRAM-HIL"

    def ConfigureFPGA(self, path):
        if self._gone():
            return DeviceNotOpen
        if not os.path.isfile(str(path)):
            return FileError
        self.emu.configured_from = str(path)
        return NoError

    def IsFrontPanelEnabled(self):
        return self.emu is not None and not self._dead

    def Close(self):
        self.emu = None

    # -------------------------------------------------------------- wires
    def _gone(self) -> bool:
        """True when the handle cannot reach its board (closed, or a disconnect fault fired)."""
        if self.emu is None or self._dead:
            return True
        plan = self._plan
        if plan is not None and plan.tick("any"):
            self._dead = True
            return True
        return False

    def SetWireInValue(self, ep, value, mask=0xFFFFFFFF):
        if self.emu is None or self._dead:
            return DeviceNotOpen
        if self._plan is not None and self._gone():
            return DeviceNotOpen
        if not 0 <= ep < 32:
            return InvalidEndpoint
        emu = self.emu
        if ep not in emu.bitstream.wire_ins:
            emu.violations.append(f"wire-in 0x{ep:02X} does not exist in {emu.bitstream.name}")
            if emu.strict:
                return InvalidEndpoint
        s = self._staged
        s[ep] = ((s[ep] & ~mask) | (value & mask)) & 0xFFFFFFFF
        return NoError

    def UpdateWireIns(self):
        if self.emu is None or self._dead:
            return DeviceNotOpen
        if self._plan is not None and self._gone():
            return DeviceNotOpen
        self.emu.latch(self._staged)
        return NoError

    def UpdateWireOuts(self):
        if self.emu is None or self._dead:
            return DeviceNotOpen
        wo = self._wo
        for ep, v in self.emu.status_bits.items():
            wo[ep - 0x20] = v
        if self._plan is not None:
            if self._gone():
                return DeviceNotOpen
            self._plan.status_faults(wo)
        return NoError

    def GetWireOutValue(self, ep):
        # the SDK returns the value of the last UpdateWireOuts snapshot; it has no error code
        if not 0x20 <= ep < 0x40:
            return 0
        emu = self.emu
        if emu is not None and ep not in emu.bitstream.wire_outs:
            emu.violations.append(f"wire-out 0x{ep:02X} does not exist in {emu.bitstream.name}")
        return self._wo[ep - 0x20]

    # ---------------------------------------------------- triggers, pipes
    def ActivateTriggerIn(self, ep, bit):
        if self.emu is None or self._dead:
            return DeviceNotOpen
        if self._plan is not None and self._gone():
            return DeviceNotOpen
        if not 0x40 <= ep < 0x60 or not 0 <= bit < 32:
            return InvalidEndpoint
        return self.emu.trigger(ep, bit)

    def WriteToPipeIn(self, ep, data):
        if self._gone():
            return DeviceNotOpen
        if not 0x80 <= ep < 0xA0:
            return InvalidEndpoint
        if len(data) % 16:
            return InvalidBlockSize
        return self.emu.pipe_in(ep, bytes(data))

    def ReadFromPipeOut(self, ep, buf):
        if self._gone():
            return DeviceNotOpen
        if not 0xA0 <= ep < 0xC0:
            return InvalidEndpoint
        if len(buf) % 16:
            return InvalidBlockSize
        data = self.emu.pipe_out(ep, len(buf))
        if isinstance(data, int):
            return data
        n = len(data)
        if self._plan is not None:
            n = self._plan.pipe_out_bytes(n)
        buf[:n] = data[:n]
        return n
