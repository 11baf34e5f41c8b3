"""Discovery of the equipment this machine can reach: USB test boards, FrontPanel SDK boards, VISA
instruments, the twin.

Works on a machine with no board, no libusb and no VISA library: each source
that is missing is reported as such, never raised. The ``neurram info``
command (:mod:`neurram_lab.cli.cmd_info`) prints :func:`discover`.
"""

from __future__ import annotations

from neurram_lab._data import data_path

SIM_INSTRUMENTS = "instruments.yaml"


OPAL_KELLY_VID = 0x151F


def describe(dev) -> dict:
    """JSON-able facts of a pyusb device (serial read from its string descriptor when possible)."""
    import usb.core

    try:
        serial = dev.serial_number
    except (usb.core.USBError, ValueError, NotImplementedError):
        serial = None
    return {"vid": f"0x{dev.idVendor:04x}", "pid": f"0x{dev.idProduct:04x}", "bus": dev.bus,
            "address": dev.address, "serial": serial}


def usb_boards(backend=None) -> dict:
    """Opal Kelly USB devices through pyusb (``{"boards": [...], "note": ...}``)."""
    import usb.core

    try:
        devs = list(usb.core.find(find_all=True, idVendor=OPAL_KELLY_VID, backend=backend) or [])
    except usb.core.NoBackendError:
        return {"boards": [], "note": "no libusb backend installed (pyusb cannot scan USB)"}
    except usb.core.USBError as exc:
        return {"boards": [], "note": f"USB scan failed: {exc}"}
    return {"boards": [describe(d) for d in devs], "note": None}


def frontpanel_boards() -> dict:
    """Boards the vendor FrontPanel SDK sees (when its ``ok`` module is installed)."""
    from ._okfp import import_ok, list_serials

    try:
        ok = import_ok()
    except Exception as exc:  # BoardError with the install hint
        return {"serials": [], "note": str(exc).split(". ")[0]}
    return {"serials": list_serials(ok), "note": None}


def visa_resources() -> dict:
    """Resources of the system VISA library and of the shipped pyvisa-sim instruments."""
    import pyvisa

    out = {"system": [], "system_note": None, "simulated": []}
    try:
        out["system"] = list(pyvisa.ResourceManager().list_resources())
    except (ValueError, OSError, pyvisa.errors.Error) as exc:
        out["system_note"] = f"no VISA library: {exc}"
    sim_file = data_path(SIM_INSTRUMENTS)
    rm = pyvisa.ResourceManager(f"{sim_file}@sim")
    try:
        out["simulated"] = list(rm.list_resources())
    finally:
        rm.close()
    out["simulated_file"] = str(sim_file)
    return out


def twin() -> dict:
    """The physics twin and the HIL board (always available)."""
    from neurram_lab.sim_backend.board import TWIN_VERSION

    from .hil import HIL_VERSION

    return {"sim": {"spec": "sim://?seed=N", "model": TWIN_VERSION}, "hil": {"spec": "hil://?seed=N", "firmware": HIL_VERSION}}


def discover() -> dict:
    """Everything ``neurram info`` prints, as one JSON-able mapping."""
    return {"usb": usb_boards(), "frontpanel": frontpanel_boards(), "visa": visa_resources(), "twin": twin()}
