"""neurram-lab: lab control for the NeuRRAM RRAM compute-in-memory chip.

Tiers, all on one :class:`Board` contract (:mod:`neurram_lab.board`):

- tier 1 is the Board contract itself (cell reads and pulses, forming, the neuron
  test, rails, power), with per-core views :class:`Chip` / :class:`Core`
  (:mod:`neurram_lab.board.views`);
- tier 2 (:mod:`neurram_lab.program`): write-verify, iterative programming,
  dead-cell scans, weight matrices;
- tier 2 (:mod:`neurram_lab.mvm`): multi-core MVM in weight units in every
  direction, calibration, recurrent networks;
- tier 3 (:mod:`neurram_lab.deploy`): networks mapped onto the 48 cores;
- run logs (:mod:`neurram_lab.runlog`): HDF5 run files in SWMR mode, the
  journal of board calls, replay.

Open a board with :func:`open_board`: ``sim://`` (the physics twin), ``hil://``,
``okusb://SERIAL``, ``replay://RUN.h5``.

``import neurram_lab`` is light (numpy and the errors): each name below is
imported from its module on first use, so h5py, pandas, scipy, numba and
matplotlib load only when something that needs them is called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import (
    BoardError,
    CapabilityError,
    DataNotFoundError,
    FrontPanelError,
    FrozenLimitsError,
    CalibrationError,
    InputError,
    LimitError,
    NeuRRAMError,
    ReplayDivergence,
    ReplayInterrupted,
    RunLogDamaged,
    RunLogError,
    UnknownBoardError,
)

__version__ = "0.1.0"

# public name -> the module that defines it (imported on first attribute access)
_LAZY = {
    # the Board contract
    **dict.fromkeys(("Board", "BoardInfo", "MVMRequest", "validate_mvm"), "neurram_lab.board.contract"),
    **dict.fromkeys(("BoardCapabilities", "AppliedPulse", "ACTIVATIONS", "MVM_DIRECTIONS"), "neurram_lab.board.capabilities"),
    **dict.fromkeys(("SafetyLimits", "N_CORES", "N_ROWS", "N_COLS", "PULSE_KINDS"), "neurram_lab.board.limits"),
    **dict.fromkeys(("open_board", "register_board", "known_schemes", "parse_spec"), "neurram_lab.board.registry"),
    # tier 1: per-core views of the contract
    **dict.fromkeys(("Chip", "Core"), "neurram_lab.board.views"),
    # tier 2: programming
    **dict.fromkeys(("WriteVerifyConfig", "ProgramResult", "write_verify", "form_cells"), "neurram_lab.program.writeverify"),
    **dict.fromkeys(("PROGRAM_TABLES", "DeadCellScan", "IterativeResult", "iterative_program", "program_weights",
                     "relaxation_spread_s", "scan_dead_cells"), "neurram_lab.program.programming"),
    **dict.fromkeys(("MatrixPlacement", "ProgrammedMatrix", "weights_to_conductance", "conductance_to_weights"),
                    "neurram_lab.program.weights"),
    # tier 2: MVM
    **dict.fromkeys(("run_mvm", "MVMCalibration"), "neurram_lab.mvm.mvm"),
    "calibrate": "neurram_lab.mvm.calibration",
    **dict.fromkeys(("RECURRENT_DIRECTIONS", "RecurrentMatrix", "RecurrentPlacement", "measure_recurrent"),
                    "neurram_lab.mvm.recurrent"),
    # run log
    **dict.fromkeys(("RunLog", "Run", "read_run", "Column", "FORMAT_VERSION"), "neurram_lab.runlog.runlog"),
    **dict.fromkeys(("Journal", "JournalCall"), "neurram_lab.runlog.journal"),
    "JournalBoard": "neurram_lab.runlog.journal_board",
    "ReplayBoard": "neurram_lab.runlog.replay",
    "verify_run": "neurram_lab.runlog.verify",
}

__all__ = [
    "__version__",
    "NeuRRAMError", "LimitError", "InputError", "CalibrationError", "CapabilityError", "DataNotFoundError", "UnknownBoardError", "BoardError",
    "FrontPanelError", "FrozenLimitsError", "RunLogError", "RunLogDamaged", "ReplayDivergence", "ReplayInterrupted",
    *_LAZY,
]


def __getattr__(name: str):
    mod_name = _LAZY.get(name)
    if mod_name is None:
        raise AttributeError(f"module 'neurram_lab' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(mod_name), name)
    globals()[name] = value  # the next access is a plain attribute
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


if TYPE_CHECKING:  # for type checkers and IDEs: the same names, eagerly
    from .board.capabilities import ACTIVATIONS, MVM_DIRECTIONS, AppliedPulse, BoardCapabilities
    from .board.contract import Board, BoardInfo, MVMRequest, validate_mvm
    from .board.limits import N_COLS, N_CORES, N_ROWS, PULSE_KINDS, SafetyLimits
    from .board.registry import known_schemes, open_board, parse_spec, register_board
    from .board.views import Chip, Core
    from .mvm.calibration import calibrate
    from .mvm.mvm import MVMCalibration, run_mvm
    from .mvm.recurrent import RECURRENT_DIRECTIONS, RecurrentMatrix, RecurrentPlacement, measure_recurrent
    from .program.programming import (PROGRAM_TABLES, DeadCellScan, IterativeResult, iterative_program,
                                      program_weights, relaxation_spread_s, scan_dead_cells)
    from .program.weights import MatrixPlacement, ProgrammedMatrix, conductance_to_weights, weights_to_conductance
    from .program.writeverify import ProgramResult, WriteVerifyConfig, form_cells, write_verify
    from .runlog.journal import Journal, JournalCall
    from .runlog.journal_board import JournalBoard
    from .runlog.replay import ReplayBoard
    from .runlog.runlog import FORMAT_VERSION, Column, Run, RunLog, read_run
    from .runlog.verify import verify_run
