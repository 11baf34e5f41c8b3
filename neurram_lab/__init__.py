"""neurram-lab: lab control for the NeuRRAM RRAM compute-in-memory chip.

Tiers, all on one :class:`Board` contract:

- tier 1 (:mod:`neurram_lab.cells`): cell reads and pulses, forming, rails, power;
- tier 2 (:mod:`neurram_lab.writeverify`, :mod:`neurram_lab.programming`): write-verify,
  iterative programming, dead-cell scans, weight matrices;
- tier 2 (:mod:`neurram_lab.mvm`, :mod:`neurram_lab.calibration`, :mod:`neurram_lab.recurrent`): multi-core
  MVM in weight units in every direction, calibration;
- run logs (:mod:`neurram_lab.runlog`): HDF5 run files in SWMR mode.

Open a board with :func:`open_board`: ``sim://`` (the physics twin), and the
other schemes their packages register.
"""

__version__ = "0.1.0"

from .board import (ACTIVATIONS, MVM_DIRECTIONS, AppliedPulse, Board, BoardCapabilities, BoardInfo, MVMRequest,
                    validate_mvm)
from .cells import Chip, Core
from .errors import (
    BoardError,
    CapabilityError,
    FrontPanelError,
    InputError,
    LimitError,
    NeuRRAMError,
    ReplayDivergence,
    ReplayInterrupted,
    RunLogError,
    UnknownBoardError,
)
from .limits import N_COLS, N_CORES, N_ROWS, PULSE_KINDS, SafetyLimits
from .registry import known_schemes, open_board, parse_spec, register_board
from .runlog import FORMAT_VERSION, Column, Run, RunLog, read_run
from .journal import Journal, JournalCall
from .journal_board import JournalBoard
from .weights import MatrixPlacement, ProgrammedMatrix, conductance_to_weights, weights_to_conductance
from .writeverify import ProgramResult, WriteVerifyConfig, form_cells, write_verify
from ._cores import parse_cores
from .programming import (
    PROGRAM_TABLES,
    DeadCellScan,
    IterativeResult,
    iterative_program,
    program_weights,
    relaxation_spread_s,
    scan_dead_cells,
)
from .mvm import MVMCalibration, code_scale, input_segments, run_mvm
from .recurrent import RECURRENT_DIRECTIONS, RecurrentMatrix, RecurrentPlacement, measure_recurrent
from .calibration import calibrate

__all__ = [
    "__version__", "Board", "BoardInfo", "BoardCapabilities", "AppliedPulse", "CapabilityError", "MVMRequest", "validate_mvm", "MVM_DIRECTIONS", "ACTIVATIONS",
    "Chip", "Core", "NeuRRAMError", "LimitError", "InputError", "UnknownBoardError", "BoardError",
    "FrontPanelError", "RunLogError", "ReplayDivergence", "SafetyLimits", "N_CORES", "N_ROWS", "N_COLS",
    "PULSE_KINDS", "open_board", "register_board", "known_schemes", "parse_spec", "RunLog", "Run",
    "read_run", "Column", "FORMAT_VERSION", "WriteVerifyConfig", "ProgramResult", "write_verify",
    "form_cells", "MatrixPlacement", "ProgrammedMatrix", "weights_to_conductance", "conductance_to_weights",
    "parse_cores", "PROGRAM_TABLES", "DeadCellScan", "IterativeResult", "iterative_program", "program_weights",
    "relaxation_spread_s", "scan_dead_cells",
    "run_mvm", "calibrate", "MVMCalibration", "code_scale", "input_segments",
    "RECURRENT_DIRECTIONS", "RecurrentMatrix", "RecurrentPlacement", "measure_recurrent",
    "ReplayInterrupted", "Journal", "JournalCall", "JournalBoard", "ReplayBoard",
]


def __getattr__(name):  # ReplayBoard imported on first use, like the boards of the registry
    if name == "ReplayBoard":
        from .replay import ReplayBoard

        return ReplayBoard
    raise AttributeError(f"module 'neurram_lab' has no attribute {name!r}")
