"""The backend interface of a Board: the hooks its frontend calls, and which public call uses which.

A :class:`~neurram_lab.board.contract.Board` is a frontend: each public call is
validated against the safety limits and the board's capabilities, a pulse is
quantised onto the board's steps, the call's observers (a run log's journal, a
replay) see it whole, and only then does the frontend call its *backend*'s
hooks, the ``_``-named methods of :class:`BoardBackend`. :data:`CALLS` says, for
every public call, the hook that carries it and the hooks its checks consult.

- The twin (``sim_backend.SimBoard``) and the driver (``drivers.FpgaBoard``)
  are Board subclasses that implement the hooks themselves: each is its own
  backend (``Board(spec, limits)``, no ``backend=``).
- :class:`~neurram_lab.runlog.journal_board.JournalBoard` is a frontend over
  the backend of the board it wraps (``backend=inner``), with its journal as an
  observer: it forwards no hook.
- :class:`~neurram_lab.runlog.replay.ReplayBoard` is its own backend; its
  hooks are made from :data:`CALLS` and serve the recorded call that its
  observer has pending (``runlog/replay.py``).

Optional calls (:data:`EXTENSIONS`) are public methods a board may offer
beyond the contract and tier 2 looks for by name (``getattr(board, name, None)``):
a write-verify or FORM engine in the gateware, a settable LFSR noise level.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

import numpy as np

from .capabilities import BoardCapabilities
from ..errors import BoardError

__all__ = ["BoardBackend", "Call", "CALLS", "EXTENSIONS", "HOOKS", "OPTIONAL_HOOKS", "REQUIRED_HOOKS",
           "hooks_defined", "missing_hooks"]


@dataclass(frozen=True)
class Call:
    """How the frontend runs one public Board call on its backend.

    Attributes
    ----------
    hook : str or None
        The hook that carries the call (the one a replay serves the recorded
        response from); None where the frontend answers from what its
        consulted hooks say (``rail_range_v``, ``snapshot``, ``capabilities``).
    consults : tuple of str
        Hooks the frontend's checks may ask before ``hook`` (or instead of it).
    observed : bool
        The call's observers (journal, replay) see it; ``capabilities`` is asked
        once and fixed while the board is open, so it is not observed.
    """

    hook: str | None
    consults: tuple[str, ...] = ()
    observed: bool = True


#: Every public Board call that reaches the backend, by method name.
CALLS: dict[str, Call] = {
    "info": Call("_info"),
    "capabilities": Call(None, ("_capabilities",), observed=False),
    "set_rails": Call("_set_rails", ("_capabilities",)),
    "rail_range_v": Call(None, ("_capabilities", "_check_rails", "_get_rails")),
    "get_rails": Call("_get_rails"),
    "power_cores": Call("_power_cores", ("_capabilities",)),
    "powered_cores": Call("_powered_cores"),
    "pulse": Call("_pulse", ("_get_rails", "_capabilities", "_powered_cores")),
    "read": Call("_read", ("_powered_cores",)),
    "mvm": Call("_mvm", ("_capabilities", "_powered_cores")),
    "neuron_test": Call("_neuron_test", ("_capabilities", "_powered_cores")),
    "now": Call("_now"),
    "wait": Call("_wait"),
    "snapshot": Call(None, ("_info", "_get_rails", "_powered_cores", "_capabilities", "_counters", "_now",
                            "_snapshot_extra")),
    "counters": Call("_counters"),
    "close": Call("_close", observed=False),
}

#: Hooks every backend implements.
REQUIRED_HOOKS = ("_info", "_set_rails", "_get_rails", "_power_cores", "_powered_cores", "_pulse", "_read", "_now",
                  "_wait")
#: Hooks with a default (:class:`BoardBackend`'s) that a backend may replace.
OPTIONAL_HOOKS = ("_capabilities", "_check_rails", "_mvm", "_neuron_test", "_counters", "_snapshot_extra", "_close")
#: All hooks, in the order of the tables above.
HOOKS = REQUIRED_HOOKS + OPTIONAL_HOOKS

#: Optional public calls beyond the contract, by name: the answer meaning "not done here, nothing sent"
#: (tier 2 then runs its host loop through the contract's calls).
EXTENSIONS: dict[str, object] = {
    "write_verify_engine_fits": False,
    "write_verify_on_engine": False,
    "form_on_engine": None,
    "scale_stochastic_noise": None,
}


class OptionalHooks:
    """The defaults of :data:`OPTIONAL_HOOKS`, for backends that do not replace them."""

    def _capabilities(self) -> BoardCapabilities:
        """Board-specific capabilities; default the full set the chip's design allows."""
        return BoardCapabilities()

    def _check_rails(self, volts: dict[str, float]) -> None:
        """Refuse (LimitError) rail values the board cannot make with its other rails as they are; sends
        nothing. Default: the safety limits are all there is."""

    def _mvm(self, request) -> np.ndarray:
        raise BoardError(f"board {getattr(self, 'spec', type(self).__name__)!r} does not implement MVM yet")

    def _neuron_test(self, core: int, v_in_v: np.ndarray, output_bits: int) -> np.ndarray:
        raise BoardError(f"board {getattr(self, 'spec', type(self).__name__)!r} does not implement neuron test yet")

    def _counters(self) -> dict:
        return {}

    def _snapshot_extra(self) -> dict:
        return {}

    def _close(self) -> None:
        """Board-specific release; default does nothing."""


class BoardBackend(OptionalHooks, abc.ABC):
    """What a Board frontend calls: implement the required hooks (the optional ones have defaults).

    Arguments reach a hook already validated, on the board's steps and inside the
    safety limits and the chip's ratings (``Board``'s public calls see to it).
    """

    @abc.abstractmethod
    def _info(self):
        """The :class:`~neurram_lab.board.contract.BoardInfo`."""

    @abc.abstractmethod
    def _set_rails(self, volts: dict[str, float]) -> None:
        """Set the rails (V), each checked."""

    @abc.abstractmethod
    def _get_rails(self) -> dict[str, float]:
        """Every rail's present value (V)."""

    @abc.abstractmethod
    def _power_cores(self, cores: np.ndarray, on: bool) -> None:
        """Power distinct cores on or off."""

    @abc.abstractmethod
    def _powered_cores(self) -> np.ndarray:
        """Bool (n_cores,)."""

    @abc.abstractmethod
    def _pulse(self, kind, core, row, col, v_pulse, width_s, v_gate) -> None:
        """Apply the pulses; the values are already on the board's steps (see ``capabilities``)."""

    @abc.abstractmethod
    def _read(self, core, row, col) -> np.ndarray:
        """Conductances (S) of the cells."""

    @abc.abstractmethod
    def _now(self) -> float:
        """Board time (s)."""

    @abc.abstractmethod
    def _wait(self, seconds: float) -> None:
        """Let ``seconds`` pass."""


def missing_hooks(backend) -> list[str]:
    """The required hooks ``backend`` lacks (empty for a complete backend)."""
    return [h for h in REQUIRED_HOOKS if not callable(getattr(backend, h, None))]


def hooks_defined(cls) -> set[str]:
    """The hooks (:data:`HOOKS`) and extension calls (:data:`EXTENSIONS`) that ``cls`` or a base of it below
    the contract's own classes defines: what that board implements itself."""
    from .contract import Board

    stop = {Board, BoardBackend, OptionalHooks, object, abc.ABC}
    names = set(HOOKS) | set(EXTENSIONS)
    return {n for k in cls.__mro__ if k not in stop for n in vars(k) if n in names}
