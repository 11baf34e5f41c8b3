"""The NeuRRAM physics twin: devices, array, neurons, cores, chip, energy; and SimBoard.

Everything is vectorised over cells and batches. ``open_board("sim://")`` opens
a :class:`SimBoard`; its parameters are a :class:`TwinParams` (SPEC.md values
by default, loadable from a file). The model's parts live in their modules
(``device``, ``defects``, ``cells``, ``array``, ``neuron``, ``core``, ``chip``,
``energy``); this package exports what a user of the twin calls.
"""

from ._parallel import threads as twin_threads
from .board import DEFAULT_RAILS_V, SimBoard
from .defects import CellKind
from .device import relaxation_sigma
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
    "SimBoard", "DEFAULT_RAILS_V", "TwinParams", "DeviceParams", "RelaxParams", "ReadParams",
    "DefectParams", "TimingParams", "EnergyParams", "CircuitParams", "CellKind", "relaxation_sigma",
    "twin_threads",
]
