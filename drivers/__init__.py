"""Everything that talks to real equipment: the NeuRRAM test board through the chip authors'
bitstream (``neurram_top.v``) over Opal Kelly FrontPanel, bench instruments over
pyvisa (named products' command sets), and the hardware-in-the-loop board (the same driver on an
emulation of that bitstream, with the twin as chip).

Layout: ``neurram_top`` (endpoint map, rail table, DAC and ADC conversions),
``frontpanel`` (the checked, counted, observed FrontPanel call layer),
``fpga_board`` (FpgaBoard, ``okusb://``), ``_okfp`` (the vendor ``ok`` module),
``_mvm_host`` (MVM and neuron-test host sequences), ``trace`` / ``board_time``
(call observers), ``hil/`` (emulated bitstream, ``ok``-module look-alike,
faults), ``instruments/`` (DC supply, SMU, thermal stage), ``discovery``
(the USB boards, VISA instruments and twin this machine reaches; ``neurram info`` prints it). The protocol is described in ``docs/board_protocol.md``.
"""

from .fpga_board import FpgaBoard, open_okusb
from .frontpanel import ERROR_NAMES, Link, check, error_name

__all__ = ["FpgaBoard", "open_okusb", "Link", "check", "error_name", "ERROR_NAMES"]
