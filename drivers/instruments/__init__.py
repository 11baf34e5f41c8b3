"""Bench instruments over pyvisa, each speaking one real product's documented command set.

- :class:`KeysightE36312A` (``dc_supply``): the DC supply feeding the board;
- :class:`Keithley2400` (``smu``): single-cell I-V sweeps and forming;
- :class:`LakeShore335` (``thermal_stage``): the heated chip stage's controller.

``data/instruments.yaml`` emulates exactly those command sets for pyvisa-sim
(open with ``visa_library=".../instruments.yaml@sim"``; ``neurram info`` lists them).
"""

from ._scpi import InstrumentError, ScpiInstrument
from .dc_supply import KeysightE36312A
from .smu import Keithley2400
from .thermal_stage import LakeShore335

__all__ = ["InstrumentError", "ScpiInstrument", "KeysightE36312A", "Keithley2400", "LakeShore335"]
