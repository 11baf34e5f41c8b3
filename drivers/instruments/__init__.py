"""Bench instruments: a DC supply and an SMU over pyvisa (SCPI), a thermal stage over pyserial.

Simulated versions: ``data/instruments.yaml`` for pyvisa-sim (open with
``visa_library=".../instruments.yaml@sim"``) and :class:`StageEmulator` on a pty.
"""

from ._scpi import InstrumentError, ScpiInstrument
from .dc_supply import DcSupply
from .smu import Smu
from .stage_emulator import StageEmulator
from .thermal_stage import ThermalStage

__all__ = ["InstrumentError", "ScpiInstrument", "DcSupply", "Smu", "ThermalStage", "StageEmulator"]
