"""The Board contract: what a test board can do, the safety limits checked first, boards by spec string.

- :mod:`.contract`: :class:`Board` (the frontend every board shares: checks,
  quantisation, observers of each call), :class:`BoardInfo`, :class:`MVMRequest`,
  :func:`validate_mvm`, :func:`input_segments` (how a request's input bits run as segments);
- :mod:`.backend`: the backend interface (:class:`~.backend.BoardBackend`, the hooks a
  board implements) and :data:`~.backend.CALLS`, from each public call to its hooks;
- :mod:`.capabilities`: what each board declares it can do
  (:class:`BoardCapabilities`) and the pulses it actually applied;
- :mod:`.limits`: :class:`SafetyLimits` and the chip's dimensions;
- :mod:`.registry`: :func:`open_board` and the ``scheme://`` registry;
- :mod:`.views`: :class:`Chip` / :class:`Core`, per-core views of a board (tier 1 is
  this contract: cell read / pulse / form, the neuron test, rails, power).

The twin (``sim_backend``) and the drivers depend on this package and on
:mod:`neurram_lab.errors`, never on the tiers above.
"""

from .capabilities import ACTIVATIONS, MVM_DIRECTIONS, AppliedPulse, BoardCapabilities, capabilities_of
from .contract import Board, BoardInfo, MVMRequest, input_segments, validate_mvm
from .limits import CELLS_PER_CORE, N_COLS, N_CORES, N_ROWS, PULSE_KINDS, SafetyLimits
from .registry import known_schemes, open_board, parse_spec, register_board
from .views import Chip, Core

__all__ = [
    "Board", "BoardInfo", "MVMRequest", "validate_mvm", "input_segments",
    "BoardCapabilities", "capabilities_of", "AppliedPulse", "ACTIVATIONS", "MVM_DIRECTIONS",
    "SafetyLimits", "N_CORES", "N_ROWS", "N_COLS", "CELLS_PER_CORE", "PULSE_KINDS",
    "open_board", "register_board", "known_schemes", "parse_spec",
    "Chip", "Core",
]
