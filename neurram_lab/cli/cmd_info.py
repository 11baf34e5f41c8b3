"""``neurram info``: what equipment this machine can reach — USB test boards, VISA instruments, the twin.

The finding is :mod:`neurram_lab.drivers.discovery`; this module prints it.
"""

from __future__ import annotations

COMMAND = (None, "info")
HELP = "list USB test boards (Opal Kelly VID), pyvisa resources and the twin"


def add_arguments(parser) -> None:
    pass


def main(args, ctx) -> dict:
    from neurram_lab.drivers.discovery import discover

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
