"""Opal Kelly's own SDK (the ``ok`` Python module): import it, list the boards it sees.

The ``ok`` module ships with the FrontPanel SDK installer from Opal Kelly
(https://pins.opalkelly.com) and is not on PyPI; it is imported only when an
``okusb://`` board is opened, so nothing else needs it.
"""

from __future__ import annotations

import importlib

from neurram_lab.errors import BoardError


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
