"""Weights as conductances: the differential encoding and where a matrix sits on a core.

Shared by programming (tier 2, write-verify of a weight matrix), MVM (tier 2)
and deployment (tier 3). A weight matrix W (n_in x n_out) becomes two
conductance matrices on adjacent rows of the same columns (SPEC §2)::

    G+ = gmin + (gmax - gmin) * max(W, 0) / wmax   on row row0 + 2i
    G- = gmin + (gmax - gmin) * max(-W, 0) / wmax  on row row0 + 2i + 1
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..validate import array, boolean, integer, number, positive
from ..board.limits import N_COLS, N_CORES, N_ROWS, RATED_G_CELL_S
from ..errors import InputError, LimitError


@dataclass(frozen=True)
class MatrixPlacement:
    """Where a weight matrix lives on the chip.

    Attributes
    ----------
    core : int
    row0 : int
        First physical row; with ``differential`` it is even and the matrix
        takes rows row0 .. row0 + 2*n_in - 1.
    col0 : int
        First column; the matrix takes columns col0 .. col0 + n_out - 1.
    n_in, n_out : int
        Logical matrix shape.
    differential : bool
        Differential row pairs (True for every model in the paper).
    """

    core: int
    row0: int
    col0: int
    n_in: int
    n_out: int
    differential: bool = True

    def __post_init__(self):
        for name in ("core", "row0", "col0", "n_in", "n_out"):
            object.__setattr__(self, name, integer(name, getattr(self, name)))
        object.__setattr__(self, "differential", boolean("differential", self.differential))
        rows = self.n_rows_used
        if self.n_in < 1 or self.n_out < 1:
            raise InputError(f"matrix shape must be positive, got {self.n_in} x {self.n_out}")
        if self.differential and self.row0 % 2:
            raise InputError(f"differential matrices start on an even row, got row0={self.row0}")
        if self.row0 < 0 or self.row0 + rows > N_ROWS:
            raise LimitError("rows", self.row0 + rows, (0, N_ROWS), f"matrix of {self.n_in} inputs from row {self.row0}")
        if self.col0 < 0 or self.col0 + self.n_out > N_COLS:
            raise LimitError("cols", self.col0 + self.n_out, (0, N_COLS),
                             f"matrix of {self.n_out} outputs from col {self.col0}")
        if not 0 <= self.core < N_CORES:
            raise LimitError("core", self.core, (0, N_CORES - 1))

    @property
    def n_rows_used(self) -> int:
        return 2 * self.n_in if self.differential else self.n_in

    def cells(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(core, row, col) of every cell, row-major over the physical rows used."""
        r, c = np.mgrid[self.row0 : self.row0 + self.n_rows_used, self.col0 : self.col0 + self.n_out]
        return np.full(r.size, self.core), r.ravel(), c.ravel()

    def input_lines(self) -> np.ndarray:
        """MVM input lines: row-pair indices when differential, rows otherwise."""
        first = self.row0 // 2 if self.differential else self.row0
        return first + np.arange(self.n_in)

    def output_lines(self) -> np.ndarray:
        return self.col0 + np.arange(self.n_out)


def _rated_range(gmin_s, gmax_s) -> tuple[float, float]:
    """``(gmin_s, gmax_s)`` (S) within the chip's rated cell range, ``gmin_s < gmax_s`` (no board's limits here)."""
    gmin_s, gmax_s = number("gmin_s", gmin_s, 0.0, RATED_G_CELL_S[1]), number("gmax_s", gmax_s, 0.0, RATED_G_CELL_S[1])
    if not gmin_s < gmax_s:
        raise InputError(f"need 0 <= gmin_s < gmax_s, got {gmin_s}, {gmax_s}")
    return gmin_s, gmax_s


def weights_to_conductance(weights, gmin_s: float = 1e-6, gmax_s: float = 40e-6, w_max: float | None = None,
                           differential: bool = True) -> tuple[np.ndarray, float]:
    """Target conductances (S) of a weight matrix, and the w_max used.

    Returns G with shape (2*n_in, n_out) when ``differential`` (rows
    interleaved G+, G-), else (n_in, n_out) for non-negative weights.
    """
    w = array("weights", weights, 2)
    gmin_s, gmax_s = _rated_range(gmin_s, gmax_s)
    if w_max is None:
        w_max = float(np.max(np.abs(w))) or 1.0
    w_max = positive("w_max", w_max)
    differential = boolean("differential", differential)
    scale = (gmax_s - gmin_s) / w_max
    if differential:
        g = np.empty((2 * w.shape[0], w.shape[1]))
        g[0::2] = gmin_s + scale * np.clip(w, 0, w_max)
        g[1::2] = gmin_s + scale * np.clip(-w, 0, w_max)
    else:
        if w.min() < 0:
            raise InputError("non-differential mapping needs non-negative weights")
        g = gmin_s + scale * np.clip(w, 0, w_max)
    return g, float(w_max)


def conductance_to_weights(g, gmin_s: float, gmax_s: float, w_max: float, differential: bool = True) -> np.ndarray:
    """Inverse of :func:`weights_to_conductance` (for measured conductances)."""
    g = array("g", g, 2)
    gmin_s, gmax_s = _rated_range(gmin_s, gmax_s)
    scale = positive("w_max", w_max) / (gmax_s - gmin_s)
    if boolean("differential", differential):
        if g.shape[0] % 2:
            raise InputError(f"differential conductances interleave G+/G- rows: an even number of rows, got {g.shape}")
        return (g[0::2] - g[1::2]) * scale
    return (g - gmin_s) * scale


@dataclass
class ProgrammedMatrix:
    """A weight matrix programmed onto the chip: what MVM needs to use it.

    Attributes
    ----------
    weights : ndarray (n_in, n_out)
        The intended weights.
    placement : MatrixPlacement
    gmin_s, gmax_s : float
        Conductance range used (S).
    w_max : float
        Weight mapped to gmax.
    g_target_s : ndarray
        Target conductances (physical rows x n_out).
    g_measured_s : ndarray or None
        Last full read of the matrix (S), if any.
    dead : ndarray of bool or None
        Cells known dead and skipped.
    info : dict
        Programming statistics (pulses, success fraction, ...).
    """

    weights: np.ndarray
    placement: MatrixPlacement
    gmin_s: float
    gmax_s: float
    w_max: float
    g_target_s: np.ndarray
    g_measured_s: np.ndarray | None = None
    dead: np.ndarray | None = None
    info: dict = field(default_factory=dict)
