"""The hardware-in-the-loop stub: a virtual USB test board whose emulated firmware drives the twin.

``open_board("hil://?seed=N")`` builds a twin chip (:class:`~sim_backend.SimBoard`,
seed N), the emulated firmware on it, a virtual USB device serving that
firmware, a pyusb backend enumerating the device, and then opens the real
:class:`~drivers.fpga_board.FpgaBoard` through ``usb.core.find`` and the real
pyusb transport — so everything above the USB bus is the production path.
"""

from __future__ import annotations

from neurram_lab.errors import InputError
from neurram_lab.limits import SafetyLimits

from .faults import FAULT_KINDS, Fault, FaultPlan
from .firmware import FIRMWARE_VERSION, EmulatedFirmware
from .virtual_device import OPAL_KELLY_VID, VIRTUAL_PID, VirtualBackend, VirtualNeurramDevice

__all__ = [
    "open_hil", "make_virtual_device", "connect", "EmulatedFirmware", "VirtualNeurramDevice", "VirtualBackend",
    "Fault", "FaultPlan", "FAULT_KINDS", "FIRMWARE_VERSION",
]


def make_virtual_device(seed: int = 0, params=None, faults=None) -> VirtualNeurramDevice:
    """A virtual test board with a fresh twin chip of ``seed``."""
    from sim_backend.board import SimBoard

    twin = SimBoard(seed=seed, params=params)
    return VirtualNeurramDevice(EmulatedFirmware(twin), serial=f"HIL-{int(seed)}", faults=faults)


def connect(device: VirtualNeurramDevice, spec: str = "hil://", limits=None, timeout_ms: int = 1000,
            retries: int = 3, max_chunk: int = 1 << 24, write_packet: int | None = None,
            poll_timeout_s: float = 5.0):
    """Open an FpgaBoard on ``device`` through pyusb (``usb.core.find`` with a :class:`VirtualBackend`)."""
    import usb.core

    from ..fpga_board import FpgaBoard
    from ..usb_transport import UsbFrontPanel

    backend = VirtualBackend([device])
    dev = usb.core.find(idVendor=OPAL_KELLY_VID, backend=backend)
    if dev is None:
        from neurram_lab.errors import BoardError

        raise BoardError("virtual test board not found on its USB backend (unplugged?)")
    front = UsbFrontPanel(dev, timeout_ms=timeout_ms, retries=retries, max_chunk=max_chunk, write_packet=write_packet)
    return FpgaBoard(front, spec, limits, kind="hil", poll_timeout_s=poll_timeout_s)


def open_hil(target: str = "", spec: str = "hil://", seed=0, params=None, limits=None, device=None,
             timeout_ms=1000, retries=3, max_chunk=1 << 24, write_packet=None, poll_timeout_s=5.0, **extra):
    """Factory for ``hil://[?seed=N&params=F&limits=F&timeout_ms=&retries=&max_chunk=&write_packet=]``.

    ``device=`` (keyword only) reuses an existing :class:`VirtualNeurramDevice`,
    e.g. to reconnect to the same chip after an injected disconnect.
    """
    if target not in ("", "/", "twin"):
        raise InputError(f"hil:// takes no target, got {target!r} in {spec!r}")
    if extra:
        raise InputError(
            f"unknown hil:// options {sorted(extra)}; known: seed, params, limits, timeout_ms, retries, "
            "max_chunk, write_packet, poll_timeout_s"
        )
    try:
        seed = int(seed)
        ints = {k: int(v) for k, v in (("timeout_ms", timeout_ms), ("retries", retries), ("max_chunk", max_chunk))}
        write_packet = int(write_packet) if write_packet not in (None, "") else None
        poll_timeout_s = float(poll_timeout_s)
    except (TypeError, ValueError) as exc:
        raise InputError(f"malformed hil:// option in {spec!r}: {exc}") from exc
    if seed < 0:
        raise InputError(f"seed must be non-negative, got {seed}")
    if isinstance(limits, (str, bytes)) or hasattr(limits, "__fspath__"):
        limits = SafetyLimits.from_file(limits)
    if device is None:
        device = make_virtual_device(seed, params)
    return connect(device, spec, limits, write_packet=write_packet, poll_timeout_s=poll_timeout_s, **ints)
