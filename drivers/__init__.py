"""Everything that talks to real equipment: the Opal Kelly FrontPanel/USB driver of the
NeuRRAM test board, bench instruments over pyvisa/pyserial, and the hardware-in-the-loop
stub (a virtual USB device with an emulated firmware on the twin).

Layout: ``endpoints`` (the firmware's endpoint map), ``frontpanel`` (the endpoint
interface, return codes), ``_okfp`` (vendor SDK transport), ``usb_framing`` +
``usb_transport`` (pyusb transport), ``sequencer`` (one block per Board call),
``fpga_board`` (FpgaBoard), ``hil/`` (virtual device, emulated firmware, faults),
``instruments/`` (DC supply, SMU, thermal stage), ``discovery`` (``neurram info``).
"""

from .fpga_board import FpgaBoard, open_okusb
from .frontpanel import ERROR_NAMES, FrontPanel, check, error_name
from .usb_transport import OPAL_KELLY_VID, UsbFrontPanel, find_boards

__all__ = [
    "FpgaBoard", "open_okusb", "FrontPanel", "check", "error_name", "ERROR_NAMES", "UsbFrontPanel",
    "find_boards", "OPAL_KELLY_VID",
]
