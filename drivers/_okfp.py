"""FrontPanel endpoints through Opal Kelly's own SDK (the ``ok`` Python module).

The ``ok`` module ships with the FrontPanel SDK installer from Opal Kelly
(https://pins.opalkelly.com) and is not on PyPI; it is imported only when an
``okusb://`` board is opened, so nothing else needs it.
"""

from __future__ import annotations

import importlib

import numpy as np

from neurram_lab.errors import BoardError

from . import endpoints as ep
from . import frontpanel as fp

INSTALL_HINT = (
    "the Opal Kelly FrontPanel SDK Python module 'ok' is not importable. It is not on PyPI: "
    "install the FrontPanel SDK from Opal Kelly (pins.opalkelly.com), then put its Python "
    "folder (the one holding ok.py and _ok.*) on PYTHONPATH, e.g. "
    "export PYTHONPATH=/opt/FrontPanel/API/Python3:$PYTHONPATH"
)


def import_ok():
    """Import the vendor ``ok`` module, or raise :class:`BoardError` saying how to install it."""
    try:
        return importlib.import_module("ok")
    except ImportError as exc:
        raise BoardError(INSTALL_HINT) from exc


def list_serials(ok=None) -> list[str]:
    """Serial numbers of the boards FrontPanel sees (empty when the SDK is missing)."""
    try:
        ok = ok or import_ok()
    except BoardError:
        return []
    dev = ok.okCFrontPanel()
    return [dev.GetDeviceListSerial(i) for i in range(dev.GetDeviceCount())]


class OkFrontPanel(fp.FrontPanel):
    """A test board opened by serial number through ``ok.okCFrontPanel``.

    Parameters
    ----------
    serial : str
        Board serial number ("" opens the first board).
    bitfile : str, optional
        FPGA configuration file to load after opening.
    ok : module, optional
        The ``ok`` module (imported lazily when not given).
    """

    def __init__(self, serial: str = "", bitfile: str | None = None, ok=None):
        super().__init__()
        self._ok = ok or import_ok()
        self._dev = self._ok.okCFrontPanel()
        fp.check(self._dev.OpenBySerial(serial), f"OpenBySerial({serial!r})")
        if not self._dev.IsOpen():
            raise fp.FrontPanelError(fp.DEVICE_NOT_OPEN, fp.error_name(fp.DEVICE_NOT_OPEN), f"OpenBySerial({serial!r})")
        if bitfile:
            fp.check(self._dev.ConfigureFPGA(str(bitfile)), f"ConfigureFPGA({bitfile!r})")
        self.serial = self._dev.GetSerialNumber()

    def device_info(self) -> dict:
        return {"serial": self.serial, "transport": "FrontPanel SDK"}

    def _close(self) -> None:
        self._dev.Close()

    def _push_wire_ins(self, values: np.ndarray) -> int:
        for addr in range(ep.N_WIRE_INS):
            code = self._dev.SetWireInValue(addr, int(values[addr]), 0xFFFFFFFF)
            if code < 0:
                return code
        return self._dev.UpdateWireIns()

    def _pull_wire_outs(self) -> tuple[int, np.ndarray]:
        code = self._dev.UpdateWireOuts()
        if code < 0:
            return code, None
        lo = ep.WIRE_OUT_RANGE[0]
        return code, np.array([self._dev.GetWireOutValue(lo + i) for i in range(ep.N_WIRE_INS)], np.uint32)

    def _trigger(self, address: int, bit: int) -> int:
        return self._dev.ActivateTriggerIn(address, bit)

    def _pipe_in(self, address: int, data: bytes) -> int:
        return self._dev.WriteToPipeIn(address, bytearray(data))

    def _pipe_out(self, address: int, n_bytes: int) -> tuple[int, bytes]:
        buf = bytearray(n_bytes)
        code = self._dev.ReadFromPipeOut(address, buf)
        return code, bytes(buf) if code >= 0 else b""
