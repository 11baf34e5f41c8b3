"""The NeuRRAM physics twin: devices, array, neurons, cores, chip, energy; and SimBoard.

Everything is vectorised over cells and batches. ``open_board("sim://")`` opens
a :class:`SimBoard`.
"""

from .array import settle_map, weighted_mean_map
from .board import DEFAULT_RAILS_V, SimBoard
from .chip import ChipCircuit
from .core import CoreCircuit
from .cells import CellArray
from .defects import CellKind, draw_die
from .device import GaussianSource, RelaxationClock, relaxation_amplitudes, relaxation_sigma, trap_fraction
from .params import (
    CircuitParams,
    DefectParams,
    DeviceParams,
    EnergyParams,
    ReadParams,
    RelaxParams,
    TimingParams,
    TwinParams,
)

__all__ = [
    "SimBoard", "DEFAULT_RAILS_V", "CellArray", "CellKind", "draw_die", "RelaxationClock",
    "relaxation_sigma", "relaxation_amplitudes", "trap_fraction", "GaussianSource", "TwinParams", "DeviceParams", "RelaxParams", "ReadParams",
    "DefectParams", "TimingParams", "EnergyParams",
    "CircuitParams", "ChipCircuit", "CoreCircuit", "settle_map", "weighted_mean_map",
]
