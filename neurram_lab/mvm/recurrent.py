"""Recurrent MVM in weight units: lines of one kind in, lines of the same kind out.

A recurrent MVM drives some lines of a core and senses other lines *of the same
layer* through the floating lines of the crossing layer (SPEC §3, docs/mvm_model.md §1):

- ``recurrent_bl`` (BL -> BL): the input rows' BLs are driven, the output rows'
  BLs float and their neurons sense; every SL floats; only the WLs of input
  and output rows are on, so the network is those rows x all 256 columns;
- ``recurrent_sl`` (SL -> SL): the input columns' SLs are driven, the output
  columns' SLs sense; every BL and every other SL floats; every WL is on, so
  the network is the whole core.

The settled network is linear. Eliminating every floating line that is not an
output (a Kron reduction of the network's conductance Laplacian ``L``) leaves,
for the outputs O and the driven inputs I, ``L_OO v_out + L_OI v_in = 0``:

    v_out = L_OO^-1 Y v_in,   Y = -L_OI (S)

``Y[o, i]`` is the *transfer conductance* from input line i to output line o
and ``L_OO`` the *normalisation matrix* (S): its diagonal is everything hanging
on output o, its off-diagonal terms the coupling between outputs through the
floating lines. Forward MVM is the special case ``L_OO = diag(sum_i G_io)``,
``Y = G^T``. Tier 2 multiplies the measured ``v_out`` by ``L_OO`` (computed ahead
from the measured conductances) to recover ``Y v_in``, and by ``w_per_s`` to get
weight units: the weights of a recurrent matrix are ``w_per_s * Y`` (differential
input pairs subtracted), see :attr:`RecurrentMatrix.weights`.

The model is the ideal network (zero wire and driver resistance), the twin's
``ideal_settling``; the IR drop of a real array bends results as it does forward.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..validate import boolean, integer, positive
from ..board.contract import as_board, check_lines
from ..board.limits import N_CORES, N_ROWS
from ..errors import InputError

RECURRENT_DIRECTIONS = ("recurrent_bl", "recurrent_sl")
N_LINES = N_ROWS  # a core's bit lines and source lines alike (256 x 256 cells)
G_LEAK_S = 1e-12  # leak of a neuron input to v_ref, as the twin's ``g_leak_s``


def _line_array(name: str, lines) -> np.ndarray:
    return check_lines(name, lines, N_LINES)


@dataclass(frozen=True)
class RecurrentPlacement:
    """Which lines of a core a recurrent MVM drives and which it senses.

    Attributes
    ----------
    core : int
    direction : {"recurrent_bl", "recurrent_sl"}
    input_lines : tuple of int
        Driven lines: rows (BLs) for ``recurrent_bl``, columns (SLs) for ``recurrent_sl``.
        With ``differential`` logical input ``l`` drives ``input_lines[2l]`` with
        +x and ``input_lines[2l + 1]`` with -x.
    output_lines : tuple of int
        Sensed lines of the same kind, none of them an input line.
    differential : bool
    """

    core: int
    direction: str
    input_lines: tuple
    output_lines: tuple
    differential: bool = False

    def __post_init__(self):
        if self.direction not in RECURRENT_DIRECTIONS:
            raise InputError(f"recurrent direction {self.direction!r} is not one of {RECURRENT_DIRECTIONS}")
        integer("core", self.core, 0, N_CORES - 1)
        boolean("differential", self.differential)
        inl = _line_array("input_lines", self.input_lines)
        outl = _line_array("output_lines", self.output_lines)
        both = np.intersect1d(inl, outl)
        if both.size:
            kind = "rows" if self.direction == "recurrent_bl" else "columns"
            raise InputError(f"recurrent input and output lines overlap on {kind} {both.tolist()[:8]}: "
                             "a line is either driven or sensed")
        if self.differential and inl.size % 2:
            raise InputError(f"differential recurrent inputs come in line pairs, got {inl.size} input lines")
        object.__setattr__(self, "input_lines", tuple(int(v) for v in inl))
        object.__setattr__(self, "output_lines", tuple(int(v) for v in outl))

    @property
    def n_in(self) -> int:
        """Logical inputs (line pairs when differential)."""
        n = len(self.input_lines)
        return n // 2 if self.differential else n

    @property
    def n_out(self) -> int:
        return len(self.output_lines)

    def wl_rows(self) -> np.ndarray:
        """Rows whose word lines are on (the rows in the network), ascending."""
        if self.direction == "recurrent_bl":
            return np.unique(np.concatenate([self.input_lines, self.output_lines]))
        return np.arange(N_LINES)

    def cells(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(core, row, col) of every cell in the network, row-major over :meth:`wl_rows` x 256 columns."""
        r, c = np.meshgrid(self.wl_rows(), np.arange(N_LINES), indexing="ij")
        return np.full(r.size, self.core), r.ravel(), c.ravel()

    def mix(self) -> np.ndarray:
        """(physical input lines, logical inputs): the voltage of each driven line per unit input."""
        n = len(self.input_lines)
        if not self.differential:
            return np.eye(n)
        m = np.zeros((n, n // 2))
        m[0::2][np.arange(n // 2), np.arange(n // 2)] = 1.0
        m[1::2][np.arange(n // 2), np.arange(n // 2)] = -1.0
        return m


def reduce_network(placement: RecurrentPlacement, g_s) -> tuple[np.ndarray, np.ndarray]:
    """Kron-reduce the ideal network onto the output lines: ``(L_OO, Y)`` in siemens.

    Parameters
    ----------
    placement : RecurrentPlacement
    g_s : ndarray (len(wl_rows), 256)
        Conductances of :meth:`RecurrentPlacement.cells` (S).

    Returns
    -------
    norm_s : ndarray (n_out, n_out)
        ``L_OO``, the normalisation matrix (leak of each output's neuron included).
    y_s : ndarray (n_out, n_physical_inputs)
        Transfer conductances ``-L_OI``.
    """
    g = np.asarray(g_s, np.float64)
    rows = placement.wl_rows()
    if g.shape != (rows.size, N_LINES):
        raise InputError(f"recurrent conductances must have shape {(rows.size, N_LINES)}, got {g.shape}")
    inl = np.asarray(placement.input_lines)
    outl = np.asarray(placement.output_lines)
    if placement.direction == "recurrent_bl":
        # every SL floats: eliminate the columns, leaving a Laplacian on the rows in use
        col = g.sum(axis=0)
        lap = np.diag(g.sum(axis=1)) - (g / np.where(col > 0, col, 1.0)) @ g.T
        pos = np.searchsorted(rows, np.concatenate([inl, outl]))
        a_in, a_out = pos[: inl.size], pos[inl.size :]
        l_oo = lap[np.ix_(a_out, a_out)]
        l_oi = lap[np.ix_(a_out, a_in)]
    else:
        # every BL floats: eliminate the rows, then the floating columns that are not outputs
        row = g.sum(axis=1)
        lap = np.diag(g.sum(axis=0)) - (g.T / np.where(row > 0, row, 1.0)) @ g
        keep = np.concatenate([inl, outl])
        free = np.setdiff1d(np.arange(N_LINES), keep)
        if free.size:
            l_ff = lap[np.ix_(free, free)] + G_LEAK_S * np.eye(free.size)
            lap_k = lap[np.ix_(keep, keep)] - lap[np.ix_(keep, free)] @ np.linalg.solve(l_ff, lap[np.ix_(free, keep)])
        else:
            lap_k = lap[np.ix_(keep, keep)]
        l_oo = lap_k[inl.size :, inl.size :]
        l_oi = lap_k[inl.size :, : inl.size]
    return l_oo + G_LEAK_S * np.eye(outl.size), -l_oi


@dataclass
class RecurrentMatrix:
    """A recurrent matrix on the chip: its lines, the conductances of its network, its weight scale.

    Attributes
    ----------
    placement : RecurrentPlacement
    g_s : ndarray (len(wl_rows), 256)
        Measured conductances of ``placement.cells()`` (S).
    w_per_s : float
        Weight units per siemens of transfer conductance; ``w_max / (gmax - gmin)``
        of the programmed matrices makes the weights comparable with theirs.
    info : dict
    """

    placement: RecurrentPlacement
    g_s: np.ndarray
    w_per_s: float
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        if not (np.isfinite(self.w_per_s) and self.w_per_s > 0):
            raise InputError(f"w_per_s must be a positive number, got {self.w_per_s}")
        self.g_s = np.asarray(self.g_s, np.float64)
        self.norm_s, self.y_s = reduce_network(self.placement, self.g_s)
        self.line_map = np.linalg.solve(self.norm_s, self.y_s)  # output volts per volt of each driven line

    @property
    def weights(self) -> np.ndarray:
        """The effective weights (n_in, n_out): ``w_per_s * Y``, differential pairs subtracted."""
        return self.w_per_s * (self.placement.mix().T @ self.y_s.T)

    def line_inputs(self, x_int: np.ndarray) -> np.ndarray:
        """Integer inputs of the driven lines, (batch, physical inputs), from logical inputs."""
        if not self.placement.differential:
            return x_int
        return np.repeat(x_int, 2, axis=-1) * np.tile(np.array([1, -1], x_int.dtype), x_int.shape[-1])


def measure_recurrent(board, placement: RecurrentPlacement, w_per_s: float) -> RecurrentMatrix:
    """Read the conductances of a recurrent network off the board and reduce it.

    ``recurrent_bl`` reads the rows in use (inputs and outputs) across all 256
    columns; ``recurrent_sl`` reads the whole core (every WL is on).
    """
    board = as_board(board)
    if not isinstance(placement, RecurrentPlacement):
        raise InputError(f"placement must be a RecurrentPlacement, got {type(placement).__name__}")
    w_per_s = positive("w_per_s", w_per_s, detail="weight units per siemens")
    core, row, col = placement.cells()
    g = np.asarray(board.read(core, row, col), np.float64).reshape(placement.wl_rows().size, N_LINES)
    return RecurrentMatrix(placement, g, w_per_s, info={"cells_read": int(row.size)})
