"""An ``ok``-module look-alike whose board is the RTL simulation of the authors' design (``rtl://``).

:class:`RtlOk` offers what :class:`~drivers.fpga_board.FpgaBoard` calls on Opal Kelly's ``ok`` module
(``okCFrontPanel`` and its methods, the same return codes); each call that reaches the FPGA becomes a
request to the simulator child process (:class:`~drivers.rtl.sim.RtlSim`), and the pin events it brings
go to the board side (:class:`~drivers.rtl._board_side.ChipSide`), which applies the twin's physics.
``SetWireInValue`` stages on the host, as the SDK does; ``GetWireOutValue`` reads the last
``UpdateWireOuts`` snapshot. FrontPanel itself refuses only what it can see: an endpoint address outside
its range, a pipe length that is not a multiple of 16 bytes, a closed device.
"""

from __future__ import annotations

import os

from ..frontpanel import DEVICE_NOT_OPEN, FILE_ERROR, INVALID_BLOCK_SIZE, INVALID_ENDPOINT, NO_ERROR
from ._board_side import ChipSide


class RtlOk:
    """Module-like object with one simulated board.

    Parameters
    ----------
    sim_factory : callable
        ``sim_factory(on_events, current_fn, conversion_fn, lfsr_fn) -> RtlSim``, called at ``OpenBySerial``.
    twin : SimBoard
        The chip's physics.
    serial : str
    """

    NoError, DeviceNotOpen, FileError, InvalidEndpoint, InvalidBlockSize = (
        NO_ERROR, DEVICE_NOT_OPEN, FILE_ERROR, INVALID_ENDPOINT, INVALID_BLOCK_SIZE)

    def __init__(self, sim_factory, twin, serial: str = "RTL-0"):
        self.sim_factory = sim_factory
        self.twin = twin
        self.serial = serial
        self.chip = ChipSide(twin)
        self.sim = None
        module = self

        class okCFrontPanel(_Handle):  # noqa: N801 - the vendor's name
            _module = module

        self.okCFrontPanel = okCFrontPanel

    _current = None  # (i_a, v0_v) of the measurement in progress
    _mux = 0  # vupdate_config on the pins when the last trigger was sent

    def _events(self, events) -> None:
        self.chip.take(events)
        if any(w >> 60 == 1 for w, _ in events):  # a DAC output moved
            self._twin_rails()

    def _twin_rails(self) -> None:
        """The rails the twin's physics reads, from the node voltages (as ``hil://`` gives them)."""
        v = self.chip.volts
        self.twin.drive_rails_v({"v_ref": v("VREF"), "v_cell_read": v("VREAD") - v("VREF_TIA"),
                                 "v_read": v("VPOS_BL") - v("VNEG_BL")})

    def _read_current(self):
        """(i_a, v0_v) for the integrator: one twin read per triggered measurement (its auto-ranging
        iterations integrate the same current, as on ``hil://``)."""
        if self._current is None:
            self._current = (self.chip.read_current_a(self._mux), self.chip.volts("VREF_TIA"))
        return self._current

    def close(self) -> None:
        """Stop the simulator."""
        if self.sim is not None:
            self.sim.close()
            self.sim = None


class _Handle:
    _module: RtlOk

    def __init__(self):
        self.open = False
        self._staged = [0] * 32
        self._wo = [0] * 32

    @property
    def sim(self):
        return self._module.sim

    def GetDeviceCount(self):
        return 1

    def GetDeviceListSerial(self, i):
        return self._module.serial

    def OpenBySerial(self, serial=""):
        m = self._module
        if serial and serial != m.serial:
            return DEVICE_NOT_OPEN
        if m.sim is None:
            m.sim = m.sim_factory(m._events, m._read_current, m.chip.convert, m.chip.lfsr_bits)
        self.open = True
        return NO_ERROR

    def IsOpen(self):
        return self.open

    def GetSerialNumber(self):
        return self._module.serial

    def GetDeviceID(self):
        return "NeuRRAM-RTL"

    def ConfigureFPGA(self, path):
        if not self.open:
            return DEVICE_NOT_OPEN
        return NO_ERROR if os.path.isfile(str(path)) else FILE_ERROR

    def IsFrontPanelEnabled(self):
        return self.open

    def Close(self):
        self.open = False

    def SetWireInValue(self, ep, value, mask=0xFFFFFFFF):
        if not self.open:
            return DEVICE_NOT_OPEN
        if not 0 <= ep < 32:
            return INVALID_ENDPOINT
        s = self._staged
        s[ep] = ((s[ep] & ~mask) | (value & mask)) & 0xFFFFFFFF
        return NO_ERROR

    def UpdateWireIns(self):
        if not self.open:
            return DEVICE_NOT_OPEN
        self.sim.request("wi", list(self._staged))
        return NO_ERROR

    def UpdateWireOuts(self):
        if not self.open:
            return DEVICE_NOT_OPEN
        self._wo = self.sim.request("wo")
        return NO_ERROR

    def GetWireOutValue(self, ep):
        if not 0x20 <= ep < 0x40:
            return 0
        return self._wo[ep - 0x20]

    def ActivateTriggerIn(self, ep, bit):
        if not self.open:
            return DEVICE_NOT_OPEN
        if not 0x40 <= ep < 0x60 or not 0 <= bit < 32:
            return INVALID_ENDPOINT
        m = self._module
        m._current = None  # a new measurement, if this trigger starts one, reads the cell afresh
        m._mux = self.sim.request("pins", ["vupdate_config"])[0]
        self.sim.request("trig", ep, bit)
        return NO_ERROR

    def _pipe_refusal(self, ep, first_ep, n_bytes):
        """The FrontPanel code a pipe call gets before any transfer (closed device, endpoint outside
        ``first_ep``..``first_ep + 0x1F``, a length not a multiple of 16 bytes), or None."""
        if not self.open:
            return DEVICE_NOT_OPEN
        if not first_ep <= ep < first_ep + 0x20:
            return INVALID_ENDPOINT
        if n_bytes % 16:
            return INVALID_BLOCK_SIZE
        return None

    def WriteToPipeIn(self, ep, data):
        refused = self._pipe_refusal(ep, 0x80, len(data))
        if refused is not None:
            return refused
        b = bytes(data)
        words = [int.from_bytes(b[i:i + 4], "little") for i in range(0, len(b), 4)]
        self.sim.request("pi", ep, words)
        return len(b)

    def ReadFromPipeOut(self, ep, buf):
        refused = self._pipe_refusal(ep, 0xA0, len(buf))
        if refused is not None:
            return refused
        words = self.sim.request("po", ep, len(buf) // 4)
        buf[:] = b"".join(int(w).to_bytes(4, "little") for w in words)
        return len(buf)
