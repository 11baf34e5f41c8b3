"""LSTM cell on the chip: one matrix [x; h; bias] -> the four gates, gate functions on the FPGA.

The paper's speech model runs LSTM cells whose input (40 x 448) and
recurrent (112 x 448) matrices sit on the chip with 4-bit signed inputs
(SPEC §5). Here one cell's concatenated matrix ``[W_x; W_h; bias rows]``
(gate order i, f, g, o along the columns) is cut into pieces that fit a
core (row segments <= 128 inputs, columns <= 128 wide) and each time step is
one MVM call over all pieces: inputs are the step's x and the previous h,
quantised to signed codes; the FPGA adds the partial sums and applies
sigmoid/tanh and the cell update in numpy.
"""

from __future__ import annotations

import math

import numpy as np

from ..validate import array, int_list, integer, optional_integer, positive
from ..board.limits import N_CORES
from ..errors import InputError, LimitError
from ..program.programming import check_passes, program_matrices
from ..program.weights import MatrixPlacement
from .network import (IntendedMatrix, cells_progress, chip_calibrate, chip_mvm, deploy_board, deploy_conductances,
                      deploy_output_bits, resolve_mvm)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _lstm_weights(w_x, w_h, bias):
    """w_x (n_in, 4 * hidden), w_h (hidden, 4 * hidden), bias (4 * hidden,) as float arrays, or an InputError."""
    w_x, w_h, bias = array("w_x", w_x, 2), array("w_h", w_h, 2), array("bias", bias, 1)
    four_h = w_x.shape[1]
    if four_h % 4 or w_h.shape != (four_h // 4, four_h) or bias.shape != (four_h,):
        raise InputError(f"LSTM shapes do not agree: w_x {w_x.shape} (n_in, 4 * hidden) needs w_h "
                         f"({four_h // 4}, {four_h}) and bias ({four_h},) with 4 * hidden columns, "
                         f"got w_h {w_h.shape}, bias {bias.shape}")
    return w_x, w_h, bias


def _sequences(xs, n_in: int) -> np.ndarray:
    """Input sequences (batch, time, n_in) as floats, or an InputError."""
    xs = array("xs", xs, 3)
    if xs.shape[2] != n_in:
        raise InputError(f"xs has shape {xs.shape}, expected (batch, time, {n_in}) for w_x's {n_in} inputs")
    return xs


def quantize_signed(x, bits: int, max_value: float) -> np.ndarray:
    """Signed integer codes in [-(2**(bits-1) - 1), 2**(bits-1) - 1] for x in [-max, max]."""
    top = 2 ** (integer("bits", bits, 2, 16, "signed codes, sign bit included") - 1) - 1
    x = array("x", x, None, nonempty=False)
    return np.clip(np.floor(x / positive("max_value", max_value) * top + 0.5), -top, top).astype(np.int16)


def check_recurrent_options(gmin_s, gmax_s, output_bits, progress=None) -> tuple[float, float, int | None]:
    """``(gmin_s, gmax_s, output_bits)`` of a recurrent model on the chip, checked whatever the MVM mode:
    0 < gmin_s < gmax_s <= 1 mS, output bits None or 1..10, ``progress`` None or callable."""
    gmin_s, gmax_s = positive("gmin_s", gmin_s, 1e-3, "S"), positive("gmax_s", gmax_s, 1e-3, "S")
    if gmin_s >= gmax_s:
        raise LimitError("gmin_s", gmin_s, f"< gmax_s = {gmax_s}", "conductance range (S)")
    if progress is not None and not callable(progress):
        raise InputError(f"progress must be a function or None, got {type(progress).__name__}")
    return gmin_s, gmax_s, optional_integer("output_bits", output_bits, 1, 10, "neuron ADC bits")


class ChipLSTMCell:
    """An LSTM cell whose matrix products run on a board.

    Parameters
    ----------
    board : Board or None (only with ``mvm="exact"``)
    w_x : ndarray (n_in, 4 * hidden)
    w_h : ndarray (hidden, 4 * hidden)
    bias : ndarray (4 * hidden,)
    input_bits : int
        Signed input resolution (sign included); SPEC: 4.
    x_max, h_max : float
        Ranges mapped to full-scale codes (|h| <= 1 always).
    output_bits : int, optional
        Neuron ADC bits; default 8 brought into the board's range (checked here, before anything is sent).
    cores : list of int, optional
        Cores to use (default the first ones needed).
    """

    def __init__(self, board, w_x, w_h, bias, input_bits: int = 4, x_max: float = 1.0, h_max: float = 1.0,
                 mvm="chip", output_bits: int | None = None, cores=None, gmin_s=1e-6, gmax_s=30e-6, mvm_options=None):
        self.w_x, self.w_h, self.bias = _lstm_weights(w_x, w_h, bias)
        self.hidden = self.w_h.shape[0]
        self.input_bits = integer("input_bits", input_bits, 2, 8, "signed inputs, sign bit included")
        self.top = 2 ** (self.input_bits - 1) - 1
        self.x_max, self.h_max = positive("x_max", x_max), positive("h_max", h_max)
        gmin_s, gmax_s, output_bits = check_recurrent_options(gmin_s, gmax_s, output_bits)
        if mvm_options is not None and not isinstance(mvm_options, dict):
            raise InputError(f"mvm_options must be a dict of run_mvm keywords or None, "
                             f"got {type(mvm_options).__name__}")
        self._mvm = resolve_mvm(mvm)
        board = deploy_board(board, self._mvm)
        self.gmin_s, self.gmax_s = deploy_conductances(board, gmin_s, gmax_s)
        cores = None if cores is None else int_list("cores", cores, 0, N_CORES - 1, distinct=True)
        self.board = board
        self.mvm_options = dict(mvm_options or {}, signed_inputs=True)
        self.output_bits = deploy_output_bits(board, [(self.input_bits, "forward", True)], self._mvm, output_bits,
                                              self.mvm_options)
        self.exact = mvm == "exact"
        # per-code matrix: x codes scaled by x_max/top, h codes by h_max/top; bias row driven at +top
        m = np.vstack([self.w_x * (self.x_max / self.top), self.w_h * (self.h_max / self.top)])
        w_max = float(np.max(np.abs(m))) or 1.0
        n_b = max(1, math.ceil(np.max(np.abs(self.bias)) / self.top / w_max - 1e-9)) if np.any(self.bias) else 0
        self.n_bias = n_b
        self.matrix = np.vstack([m, np.tile(self.bias / (self.top * max(n_b, 1)), (n_b, 1))])
        self.pieces = self._cut(cores)
        self.programmed = None
        self.mvm_calibration = None

    def _cut(self, cores):
        k, o = self.matrix.shape
        n_seg = math.ceil(k / 128)
        n_part = math.ceil(o / 128)
        seg, part = math.ceil(k / n_seg), math.ceil(o / n_part)
        need = n_seg * n_part
        cores = list(range(need)) if cores is None else [int(c) for c in cores]
        if len(cores) < need:
            raise InputError(f"LSTM cell needs {need} cores, got {len(cores)}")
        out = []
        for s in range(n_seg):
            for p in range(n_part):
                r0, r1, c0, c1 = s * seg, min(k, (s + 1) * seg), p * part, min(o, (p + 1) * part)
                w = self.matrix[r0:r1, c0:c1]
                out.append({"rows": (r0, r1), "cols": (c0, c1), "weights": w,
                            "w_max": float(np.max(np.abs(w))) or 1.0,
                            "placement": MatrixPlacement(cores[len(out)], 0, 0, r1 - r0, c1 - c0)})
        return out

    @property
    def cores_used(self) -> int:
        return len(self.pieces)

    def program(self, iterations: int = 3, progress=None) -> dict:
        """Write-verify the pieces (``iterations`` passes); ``progress(cells_done, cells_total)``."""
        iterations, _ = check_passes(iterations, 1.0)
        check_recurrent_options(self.gmin_s, self.gmax_s, None, progress)
        if self.exact:
            self.programmed = [IntendedMatrix(p["weights"]) for p in self.pieces]
            return {"cells_programmed": 0}
        items = [(p["weights"], p["placement"], p["w_max"]) for p in self.pieces]
        self.board.power_cores([p["placement"].core for p in self.pieces], True)
        self.programmed = program_matrices(self.board, items, self.gmin_s, self.gmax_s, iterations, 1.0,
                                           progress=cells_progress(progress))
        return {"cells_programmed": int(sum(p.g_target_s.size for p in self.programmed))}

    def _codes(self, x, h):
        return np.hstack([quantize_signed(x, self.input_bits, self.x_max), quantize_signed(h, self.input_bits, self.h_max),
                          np.full((x.shape[0], self.n_bias), self.top, np.int16)])

    def calibrate(self, xs) -> float:
        """Operating point and offsets (tier 2) from training sequences ``xs`` (batch, time, n_in); returns v_read."""
        xs = _sequences(xs, self.w_x.shape[0])
        if self._mvm is not chip_mvm:
            return float("nan")
        hs = lstm_reference(xs, self.w_x, self.w_h, self.bias)
        h_prev = np.concatenate([np.zeros_like(hs[:, :1]), hs[:, :-1]], axis=1)
        codes = self._codes(xs.reshape(-1, xs.shape[-1]), h_prev.reshape(-1, self.hidden))
        opts = {k: v for k, v in self.mvm_options.items() if k != "calibration"}
        self.mvm_calibration = chip_calibrate(self.board, self.programmed,
                                              [codes[:, p["rows"][0] : p["rows"][1]] for p in self.pieces],
                                              self.input_bits, self.output_bits, **opts)
        self.mvm_options["calibration"] = self.mvm_calibration
        return self.mvm_calibration.v_read_v

    def gates(self, x, h) -> np.ndarray:
        """Pre-activations (batch, 4 * hidden) of one step, computed on the chip."""
        if self.programmed is None:
            raise InputError("program() the LSTM cell before running it")
        x, h = array("x", x, 2), array("h", h, 2)
        if x.shape[1] != self.w_x.shape[0] or h.shape != (x.shape[0], self.hidden):
            raise InputError(f"x {x.shape} and h {h.shape}: need (batch, {self.w_x.shape[0]}) and "
                             f"(batch, {self.hidden}) with the same batch")
        codes = self._codes(x, h)
        inputs = [np.ascontiguousarray(codes[:, p["rows"][0] : p["rows"][1]]) for p in self.pieces]
        outs = self._mvm(self.board, self.programmed, inputs, self.input_bits, output_bits=self.output_bits,
                         **self.mvm_options)
        z = np.zeros((x.shape[0], 4 * self.hidden))
        for p, o in zip(self.pieces, outs):
            z[:, p["cols"][0] : p["cols"][1]] += np.asarray(o)
        return z

    def step(self, x, h, c):
        """One time step: returns (h, c)."""
        c = array("c", c, 2)
        if c.shape != np.shape(h):
            raise InputError(f"c has shape {c.shape}, h {np.shape(h)}: the cell state is shaped like h")
        z = self.gates(x, h)
        i, f, g, o = np.split(z, 4, axis=1)
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        return _sigmoid(o) * np.tanh(c), c

    def run(self, xs, progress=None):
        """Run a sequence ``xs`` (batch, time, n_in) from zero state; returns all h (batch, time, hidden)."""
        xs = _sequences(xs, self.w_x.shape[0])
        check_recurrent_options(self.gmin_s, self.gmax_s, None, progress)
        n, t, _ = xs.shape
        h = np.zeros((n, self.hidden))
        c = np.zeros((n, self.hidden))
        hs = np.zeros((n, t, self.hidden))
        for k in range(t):
            h, c = self.step(xs[:, k], h, c)
            hs[:, k] = h
            if progress is not None:
                progress(k + 1)
        return hs


def lstm_reference(xs, w_x, w_h, bias):
    """Float LSTM (gate order i, f, g, o) for checking: all h (batch, time, hidden)."""
    w_x, w_h, bias = _lstm_weights(w_x, w_h, bias)
    xs = _sequences(xs, w_x.shape[0])
    hidden = w_h.shape[0]
    h = np.zeros((xs.shape[0], hidden))
    c = np.zeros_like(h)
    out = []
    for k in range(xs.shape[1]):
        i, f, g, o = np.split(xs[:, k] @ w_x + h @ w_h + bias, 4, axis=1)
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
        out.append(h)
    return np.stack(out, 1)
