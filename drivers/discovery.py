"""``neurram info``: what equipment this machine can reach — USB test boards, VISA instruments, the twin.

Runs on a machine with no board, no libusb and no VISA library: each source
that is missing is reported as such, never raised.
"""

from __future__ import annotations

from neurram_lab._data import data_path

COMMAND = (None, "info")
HELP = "list USB test boards (Opal Kelly VID), pyvisa resources and the twin"

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
    """Everything :func:`main` prints, as one JSON-able mapping."""
    return {"usb": usb_boards(), "frontpanel": frontpanel_boards(), "visa": visa_resources(), "twin": twin()}


def add_arguments(parser) -> None:
    pass


def main(args, ctx) -> dict:
    found = discover()
    usb_ = found["usb"]
    ctx.say(f"USB test boards (Opal Kelly VID 0x151f): {len(usb_['boards'])}" + (f"  [{usb_['note']}]" if usb_["note"] else ""))
    for b in usb_["boards"]:
        ctx.say(f"  okusb://{b['serial'] or '?'}  bus {b['bus']} address {b['address']}  pid {b['pid']}")
    fp_ = found["frontpanel"]
    ctx.say(f"FrontPanel SDK boards: {len(fp_['serials'])}" + (f"  [{fp_['note']}]" if fp_["note"] else ""))
    visa = found["visa"]
    ctx.say(f"VISA resources: {len(visa['system'])}" + (f"  [{visa['system_note']}]" if visa["system_note"] else ""))
    for r in visa["system"]:
        ctx.say(f"  {r}")
    ctx.say(f"Simulated instruments ({visa['simulated_file']}@sim):")
    for r in visa["simulated"]:
        ctx.say(f"  {r}")
    ctx.say(f"Twin: {found['twin']['sim']['spec']} ({found['twin']['sim']['model']}); HIL board: {found['twin']['hil']['spec']}")
    return found
