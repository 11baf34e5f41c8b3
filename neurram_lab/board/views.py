"""Per-core views of a board: ``Chip(board).core(3).read_g_siemens(rows, cols)``.

Tier 1 (cell read / pulse / form, the neuron test, rails, power gating) is the
:class:`~neurram_lab.board.contract.Board` contract itself: its calls are
already vectorised over cells and checked against the limits, and the tiers
above call it directly. These views only fix the core index and give each
pulse kind a name, numpy arrays in and out; every size comes from the board's
:attr:`~neurram_lab.board.contract.Board.limits` (``n_cores``, ``n_rows``,
``n_cols``).
"""

from __future__ import annotations

import numpy as np

from ..validate import array, integer
from ..errors import InputError
from .contract import Board


class Core:
    """One of the 48 cores of the chip on ``board``.

    Parameters
    ----------
    board : Board
    index : int
        Core number, 0 .. ``board.limits.n_cores - 1`` (authors' addressing: row = index // 6,
        column = index % 6).
    """

    def __init__(self, board: Board, index: int):
        if not isinstance(board, Board):
            raise InputError(f"Core needs a Board, got {type(board).__name__}")
        index = integer("core", index, 0, board.limits.n_cores - 1)
        self.board, self.index = board, int(index)

    def __repr__(self) -> str:
        return f"Core({self.index} on {self.board.spec})"

    def _cells(self, rows, cols):
        rows, cols = array("rows", rows, dtype=None, nonempty=False), array("cols", cols, dtype=None, nonempty=False)
        try:
            r, c = np.broadcast_arrays(rows, cols)
        except ValueError as exc:
            raise InputError(f"rows and cols do not broadcast: shapes {np.shape(rows)} and {np.shape(cols)}") from exc
        return np.full(r.shape, self.index), r, c

    def read_g_siemens(self, rows, cols) -> np.ndarray:
        """Conductance of cells (rows[i], cols[i]) (S, float32), broadcast shape."""
        core, r, c = self._cells(rows, cols)
        return self.board.read(core, r, c).reshape(r.shape)

    def read_all_g_siemens(self) -> np.ndarray:
        """Conductance of every cell of the core (S, float32), shape ``(limits.n_rows, limits.n_cols)``."""
        lim = self.board.limits
        rows, cols = np.meshgrid(np.arange(lim.n_rows), np.arange(lim.n_cols), indexing="ij")
        return self.read_g_siemens(rows, cols)

    def set_pulse(self, rows, cols, v_set, width_s=1e-6, v_gate=None) -> None:
        """One SET pulse (BL at ``v_set`` volts) on each cell."""
        core, r, c = self._cells(rows, cols)
        self.board.pulse("set", core, r, c, v_set, width_s, v_gate)

    def reset_pulse(self, rows, cols, v_reset, width_s=1e-6, v_gate=None) -> None:
        """One RESET pulse (SL at ``v_reset`` volts) on each cell."""
        core, r, c = self._cells(rows, cols)
        self.board.pulse("reset", core, r, c, v_reset, width_s, v_gate)

    def form(self, rows, cols, v_form=4.5, width_s=1e-6, v_gate=None) -> None:
        """One FORM pulse (BL at ``v_form`` volts) on each cell."""
        core, r, c = self._cells(rows, cols)
        self.board.pulse("form", core, r, c, v_form, width_s, v_gate)

    def power(self, on: bool = True) -> None:
        """Power the core on, or gate it off (weights survive)."""
        self.board.power_cores([self.index], on)

    @property
    def powered(self) -> bool:
        return bool(self.board.powered_cores()[self.index])


class Chip:
    """The whole chip on a board: one :class:`Core` view per core (``board.limits.n_cores``) and the rails."""

    def __init__(self, board: Board):
        if not isinstance(board, Board):
            raise InputError(f"Chip needs a Board, got {type(board).__name__}")
        self.board = board

    @property
    def n_cores(self) -> int:
        """Number of cores (``board.limits.n_cores``)."""
        return self.board.limits.n_cores

    def core(self, index: int) -> Core:
        return Core(self.board, index)

    def cores(self, indices=None) -> list[Core]:
        idx = range(self.n_cores) if indices is None else indices
        return [Core(self.board, int(i)) for i in idx]

    @property
    def rails_v(self) -> dict[str, float]:
        """Present rail voltages (V)."""
        return self.board.get_rails()

    def set_rails(self, **volts: float) -> None:
        """Set rails (V) after checking every one against the limits."""
        self.board.set_rails(volts)
