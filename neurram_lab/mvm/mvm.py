"""Tier 2 MVM: multiply programmed weight matrices by vectors on the chip, in weight units.

:func:`run_mvm` quantises float inputs, builds the :class:`~neurram_lab.board.contract.MVMRequest`
for the matrix's placement and direction, runs it (one request for matrices
that share their lines, on several cores in parallel), turns the raw neuron
codes back into voltages, removes calibrated offsets and multiplies the
normalisation factor back: the voltage-mode array outputs the
conductance-weighted mean ``sum_i V_i G_ij / sum_i G_ij``, so the result is
scaled by ``sum_i G_ij`` (measured conductances when the matrix has them)
and by the weight-to-conductance factor. Recurrent MVMs (BL -> BL, SL -> SL) take a
:class:`~neurram_lab.mvm.recurrent.RecurrentMatrix`, whose normalisation is a matrix
(the outputs couple through the floating lines): see :mod:`neurram_lab.mvm.recurrent`.

Code semantics (the firmware's, on every board): codes are two's complement,
``value = (code + offset) * unit`` volts on the integrator, with
``(unit, offset)`` from :func:`code_scale`; the integrator holds
``(Csample/Cinteg) * v_read * sum_b 2**b * (settled line voltage of plane b) / v_read``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._mvm_caps import board_mvm, plan_mvm
from .. import _jit
from ..validate import array, boolean
from ..board.contract import MVMRequest, as_board, input_segments
from ..board.capabilities import capabilities_of
from ..errors import InputError, LimitError
from ._cal_conditions import CalibrationConditions, check_applicable, check_rails, check_values
from .recurrent import RECURRENT_DIRECTIONS, RecurrentMatrix
from ..program.weights import ProgrammedMatrix


def lsb_volts(v_decr_v: float, out_bits: int, cs_over_ci: float) -> float:
    """Integrator volts per code step of a conversion at ``out_bits`` (sign included); ``cs_over_ci``
    is the board's ``capabilities().cs_over_ci``."""
    k = out_bits - 1
    return cs_over_ci * v_decr_v / 2.0 ** max(k - 1, 0) if k > 0 else cs_over_ci * v_decr_v


def code_scale(input_bits: int, output_bits: int, signed: bool, two_phase: bool, v_decr_v: float,
               cs_over_ci: float) -> tuple[float, float]:
    """``(unit_v, offset)`` such that integrator volts = ``(code + offset) * unit_v``."""
    segs = input_segments(input_bits, output_bits, signed, two_phase)
    if len(segs) == 1:
        return lsb_volts(v_decr_v, output_bits, cs_over_ci), 0.5
    (_, _, k_hi, m_hi), (_, _, k_lo, m_lo) = segs
    return lsb_volts(v_decr_v, k_hi, cs_over_ci), 0.5 * m_hi + 0.5 * m_lo


def output_lsb_volts(input_bits: int, output_bits: int, signed: bool, two_phase: bool, v_decr_v: float,
                     cs_over_ci: float) -> float:
    """Integrator volts of one LSB of the *result* at ``output_bits`` (for error figures).

    Single phase: the conversion LSB. Two-phase: the MSB segment's full scale
    times ``2**L`` spread over ``output_bits``.
    """
    segs = input_segments(input_bits, output_bits, signed, two_phase)
    if len(segs) == 1:
        return lsb_volts(v_decr_v, output_bits, cs_over_ci)
    return lsb_volts(v_decr_v, output_bits, cs_over_ci) * segs[0][3]


@dataclass
class MVMCalibration:
    """Operating point and offsets of one layer, from :func:`neurram_lab.mvm.calibration.calibrate`.

    Attributes
    ----------
    v_read_v, v_decr_v : float
        Input amplitude and Vdecr full scale (V).
    offsets : list of ndarray
        Per matrix, the mean ``code + offset`` at zero input of each physical
        output line (code units), subtracted from every result.
    input_bits, output_bits, direction, two_phase, signed
        The configuration it was taken for.
    info : dict
    cs_over_ci : float or None
        The board's ``capabilities().cs_over_ci`` it was taken with (set by ``calibrate``).
    conditions : CalibrationConditions or None
        Placement, MVM rails and board it was taken on (set by ``calibrate``). ``run_mvm`` refuses
        the calibration (:class:`~neurram_lab.errors.CalibrationError`, before any MVM) under any
        other bits, signedness, direction, two-phase mode, placement, ``v_ref`` or board. One built
        without them (by hand, or by older code) is *unverified*: ``verified`` is False and only its
        configuration and offset count are checked.

    NaN/inf offsets or a non-positive/non-finite operating point are refused when it is built.
    """

    v_read_v: float
    v_decr_v: float
    offsets: list
    input_bits: int
    output_bits: int
    direction: str
    two_phase: bool
    signed: bool = True
    info: dict | None = None
    cs_over_ci: float | None = None
    conditions: CalibrationConditions | None = None

    def __post_init__(self):
        check_values(self)

    @property
    def verified(self) -> bool:
        """Whether it carries the placement, rails and board it was taken on (checked when applied)."""
        return self.conditions is not None


def matrices_and_inputs(matrices, x) -> tuple[list, list]:
    """``(matrices, inputs)`` as two lists (one matrix and one array, or lists of them); InputError otherwise."""
    kinds = (ProgrammedMatrix, RecurrentMatrix)
    if isinstance(matrices, kinds):
        return [matrices], [x]
    if not isinstance(matrices, (list, tuple)) or not all(isinstance(m, kinds) for m in matrices):
        raise InputError(f"matrices must be a ProgrammedMatrix, a RecurrentMatrix or a list of them, got {matrices!r:.80}")
    if not isinstance(x, (list, tuple)):
        raise InputError(f"a list of matrices needs a list of input arrays, one per matrix, got {type(x).__name__}")
    return list(matrices), list(x)


def int_range(a: np.ndarray) -> tuple[int, int]:
    """``(a.min(), a.max())`` of a non-empty integer array (one compiled pass where numba is on)."""
    kern = _jit.kernels(_KERNELS)
    if kern is not None and a.dtype.kind in "iu" and a.dtype.itemsize <= 8:
        lo, hi = kern.int_range(a if a.flags.c_contiguous else np.ascontiguousarray(a))
        return int(lo), int(hi)
    return int(a.min()), int(a.max())


def quantize_inputs(x, input_bits: int, signed: bool = True) -> tuple[np.ndarray, float]:
    """Integer inputs and the scale they carry: floats in [-1, 1] ([0, 1] unsigned) are rounded
    to ``2**(n-1) - 1`` (``2**n - 1``) levels; integers pass through with scale 1."""
    if isinstance(x, np.ndarray) and x.dtype.kind in "iu":  # integer codes: no float64 validation copy
        a = x
        if a.ndim not in (1, 2):
            raise InputError(f"x must have 1 or 2 dimension(s), got shape {a.shape}")
        if a.size == 0:
            raise InputError(f"x is empty (shape {a.shape})")
    else:
        a = array("x", x, (1, 2))
        a = np.asarray(x)
    if a.ndim == 2 and a.shape[0] == 0:
        raise InputError(f"x has an empty batch (shape {a.shape})")
    if a.dtype.kind in "iu":
        lo_i, hi_i = (-(2 ** (input_bits - 1) - 1), 2 ** (input_bits - 1) - 1) if signed else (0, 2**input_bits - 1)
        a_lo, a_hi = int_range(a)
        if a_lo < lo_i or a_hi > hi_i:
            bad = int(a_lo if a_lo < lo_i else a_hi)
            raise LimitError("mvm input", bad, (lo_i, hi_i),
                             f"integer inputs at input_bits={input_bits}, {'signed' if signed else 'unsigned'}")
        return a.astype(np.int16, copy=False), 1.0  # inputs of at most 8 bits: int16 keeps the copies small
    if a.dtype.kind != "f" or not np.all(np.isfinite(a)):
        raise InputError(f"mvm inputs must be finite floats or integers, got dtype {a.dtype}")
    qmax = 2 ** (input_bits - 1) - 1 if signed else 2**input_bits - 1
    lo = -1.0 if signed else 0.0
    if a.size and (a.min() < lo - 1e-9 or a.max() > 1.0 + 1e-9):
        bad = float(a.min() if a.min() < lo else a.max())
        raise LimitError("mvm input", bad, (lo, 1.0), "float inputs are fractions of full scale")
    if qmax < 1:
        raise LimitError("input_bits", input_bits, (2, 8), "signed inputs need a magnitude bit")
    return np.rint(np.clip(a, lo, 1.0) * qmax).astype(np.int64), float(qmax)


def check_direction(m, direction: str) -> None:
    """A :class:`ProgrammedMatrix` runs forward or backward, a :class:`RecurrentMatrix` in its own direction."""
    if isinstance(m, RecurrentMatrix):
        if direction != m.placement.direction:
            raise InputError(f"a recurrent matrix placed for {m.placement.direction!r} cannot run {direction!r}")
    elif isinstance(m, ProgrammedMatrix):
        if direction not in ("forward", "backward"):
            hint = "; place it with RecurrentPlacement" if direction in RECURRENT_DIRECTIONS else ""
            raise InputError(f"a programmed matrix runs forward or backward, not {direction!r}{hint}")
    else:
        raise InputError(f"MVM matrices are ProgrammedMatrix or RecurrentMatrix, got {type(m).__name__}")


def n_inputs(m, direction: str) -> int:
    """Logical inputs of a matrix in a direction."""
    if isinstance(m, RecurrentMatrix):
        return m.placement.n_in
    return m.placement.n_in if direction == "forward" else m.placement.n_out


def matrix_lines(pm, direction: str) -> tuple[np.ndarray, np.ndarray]:
    """Board input and output lines of a programmed (or recurrent) matrix for a direction."""
    if isinstance(pm, RecurrentMatrix):
        return np.asarray(pm.placement.input_lines), np.asarray(pm.placement.output_lines)
    pl = pm.placement
    rows = pl.row0 + np.arange(pl.n_rows_used)
    if direction == "forward":
        return pl.input_lines(), pl.output_lines()
    if direction == "backward":
        return pl.output_lines(), rows
    raise InputError(f"run_mvm maps weight matrices forward or backward; use Board.mvm for {direction!r}")


def conductance_of(pm: ProgrammedMatrix) -> np.ndarray:
    """The conductances (S) to normalise with: measured if present, else the targets."""
    g = pm.g_measured_s if pm.g_measured_s is not None else pm.g_target_s
    return np.asarray(g, np.float64)


def ideal_weighted_mean(pm, x_int: np.ndarray, direction: str) -> np.ndarray:
    """Settled line voltages per volt of v_read the ideal array gives, summed over bit weights.

    Forward: ``(batch, n_out)``; backward: ``(batch, physical rows)``; recurrent:
    ``(batch, n_out)`` from the reduced network.
    """
    if isinstance(pm, RecurrentMatrix):
        return pm.line_inputs(x_int) @ pm.line_map.T
    g = conductance_of(pm)
    if direction == "forward":
        v_rows = np.repeat(x_int, 2, axis=-1) * np.tile([1.0, -1.0], x_int.shape[-1]) if pm.placement.differential else x_int
        return (v_rows @ g) / g.sum(axis=0)
    return (x_int @ g.T) / g.sum(axis=1)


def to_weight_units(pm, y_wm: np.ndarray, x_int: np.ndarray, direction: str) -> np.ndarray:
    """Weighted means (integer-input units) back to ``x @ W`` (forward), ``x @ W.T`` (backward)
    or ``x @ rm.weights`` (recurrent: the normalisation matrix ``L_OO`` applied)."""
    if isinstance(pm, RecurrentMatrix):
        return (y_wm @ pm.norm_s.T) * pm.w_per_s
    g = conductance_of(pm)
    k = pm.w_max / (pm.gmax_s - pm.gmin_s)
    diff = pm.placement.differential
    if direction == "forward":
        y = y_wm * g.sum(axis=0)
        if not diff:
            y = y - pm.gmin_s * x_int.sum(axis=-1, keepdims=True)
        return y * k
    y = y_wm * g.sum(axis=1)
    if diff:
        return (y[..., 0::2] - y[..., 1::2]) * k
    return (y - pm.gmin_s * x_int.sum(axis=-1, keepdims=True)) * k


def line_inputs(m, x_int: np.ndarray) -> np.ndarray:
    """Integer inputs as the board request carries them (recurrent differential pairs expanded)."""
    return m.line_inputs(x_int) if isinstance(m, RecurrentMatrix) else x_int


def request_differential(m) -> bool:
    """The request's ``differential`` flag: recurrent pairs are expanded to physical lines here."""
    return False if isinstance(m, RecurrentMatrix) else bool(m.placement.differential)


def check_recurrent_signs(mats, signed: bool) -> None:
    """Differential recurrent inputs drive -x on the second line of a pair: they need signed inputs."""
    for m in mats:
        if isinstance(m, RecurrentMatrix) and m.placement.differential and not signed:
            raise InputError("differential recurrent inputs drive -x on every second line: use signed inputs")


RESULT_DTYPES = (np.float64, np.float32)
_KERNELS = "neurram_lab.mvm._mvm_numba"


def result_dtype(dtype):
    """``dtype`` as numpy.float64 or numpy.float32 (what :func:`run_mvm` returns), InputError otherwise."""
    try:
        d = None if dtype is None or isinstance(dtype, bool) else np.dtype(dtype)
    except TypeError:
        d = None
    if d is None or d.type not in RESULT_DTYPES:
        raise InputError(f"dtype must be numpy.float64 or numpy.float32, got {dtype!r}")
    return d.type


def forward_result(codes, base, col_scale, row_coef, ints, dtype=np.float64, out=None) -> np.ndarray:
    """Forward results in weight units from raw codes: ``(codes + base) * col_scale``, minus
    ``row_coef * ints.sum(-1)`` per vector when ``row_coef`` is not None (single-ended placements),
    computed in float64 and rounded once to ``dtype``. ``base`` a float or (n_out,), ``col_scale``
    (n_out,). ``out``: an array of ``codes``' shape and ``dtype`` to write them into (returned), else a
    new one. The compiled kernel and the numpy lines give the same bits."""
    kern = _jit.kernels(_KERNELS)
    if kern is not None and codes.ndim == 2 and ints.ndim == 2:
        cols = codes.shape[1]
        b = np.broadcast_to(np.asarray(base, np.float64), (cols,))
        if out is None:
            out = np.empty(codes.shape, dtype)
        kern.forward_result(codes, np.ascontiguousarray(b), np.ascontiguousarray(col_scale, np.float64),
                            0.0 if row_coef is None else float(row_coef), ints if row_coef is not None else
                            ints[:, :0], out)
        return out
    y = codes.astype(np.float64)
    y += base
    y *= col_scale
    if row_coef is not None:
        y -= row_coef * ints.sum(axis=-1, keepdims=True)
    if out is None:
        return y.astype(dtype, copy=False)
    out[...] = y
    return out


DEFAULT_OUTPUT_BITS = 6


def result_arrays(out, mats, direction: str, activation: str, dtype, batch) -> list | None:
    """``out`` of :func:`run_mvm` checked against the results it is to hold: None, or one writeable
    C-contiguous array per matrix of shape ``(batch, n_out)`` (``(n_out,)`` where ``batch[k]`` is None: a
    single vector) and ``dtype``, for forward MVMs of :class:`ProgrammedMatrix` without ``tanh``/``sigmoid``."""
    if out is None:
        return None
    if direction != "forward" or activation in ("tanh", "sigmoid") or not all(isinstance(m, ProgrammedMatrix)
                                                                              for m in mats):
        raise InputError(f"out is for forward MVMs of programmed matrices without tanh/sigmoid, got direction "
                         f"{direction!r}, activation {activation!r}")
    if not isinstance(out, (list, tuple)) or len(out) != len(mats):
        raise InputError(f"out must be a list of {len(mats)} array(s), one per matrix, got {type(out).__name__}"
                         + (f" of {len(out)}" if isinstance(out, (list, tuple)) else ""))
    for k, (o, m, b) in enumerate(zip(out, mats, batch)):
        shape = (m.placement.n_out,) if b is None else (b, m.placement.n_out)
        if not (isinstance(o, np.ndarray) and o.dtype == dtype and o.shape == shape and o.flags.c_contiguous
                and o.flags.writeable):
            got = f"{o.dtype} {o.shape}" if isinstance(o, np.ndarray) else type(o).__name__
            raise InputError(f"out[{k}] must be a writeable C-contiguous {np.dtype(dtype)} array of shape {shape}, "
                             f"got {got}")
    return list(out)


def _stacked(arrays: list) -> np.ndarray:
    """``np.stack(arrays)``, without the copy where it is one array (a view) or C-contiguous arrays of one
    shape lying back to back, in order, in one C-contiguous array that owns its memory (then that part of
    it: e.g. consecutive ``base[j], base[j + 1], ...`` of a 3-D buffer, or such slices of a reshaped part of a
    flat one)."""
    first = arrays[0]
    if len(arrays) == 1:
        return first[None]
    base = first.base
    if (isinstance(base, np.ndarray) and base.flags.c_contiguous and base.dtype == first.dtype
            and all(a.base is base and a.shape == first.shape and a.flags.c_contiguous for a in arrays)):
        at = [(a.__array_interface__["data"][0] - base.__array_interface__["data"][0]) for a in arrays]
        j0, rem = divmod(at[0], first.itemsize)
        if rem == 0 and at == [at[0] + i * first.nbytes for i in range(len(arrays))]:
            return base.reshape(-1)[j0 : j0 + len(arrays) * first.size].reshape((len(arrays),) + first.shape)
    return np.stack(arrays)


def run_mvm(board, matrices, x, input_bits: int = 4, output_bits: int | None = None, direction: str = "forward",
            two_phase: bool = False, parallel: bool = True, activation: str = "none",
            calibration: MVMCalibration | None = None, signed: bool = True, return_codes: bool = False,
            dtype=np.float64, out=None):
    """Multiply programmed matrices by input vectors on the chip.

    Parameters
    ----------
    board : Board
    matrices : ProgrammedMatrix, RecurrentMatrix, or a list of them
        A list runs each matrix on its own core; matrices that use the same
        lines go in one request (in parallel when ``parallel``), the rest in turn.
    x : array (batch, n) or (n,), or a list of them (one per matrix)
        Floats in [-1, 1] ([0, 1] when unsigned), quantised to ``input_bits``;
        or integers, used as they are. ``n`` is the matrix's input count
        (forward), output count (backward) or logical input count (recurrent).
    input_bits : int
        1..8 (sign included when ``signed``).
    output_bits : int, optional
        1..10, within the board's ``capabilities().output_bits``; default the
        calibration's, else 6 brought into the board's range.
    direction : {"forward", "backward", "recurrent_bl", "recurrent_sl"}
        Forward computes ``x @ W``; backward ``x @ W.T`` (SL -> BL,
        differential outputs subtracted after normalisation); recurrent
        (a :class:`~neurram_lab.mvm.recurrent.RecurrentMatrix` placed for that
        direction) ``x @ rm.weights``, the output voltages multiplied by the
        normalisation matrix ``rm.norm_s``.
    two_phase, parallel, activation
        As in :class:`~neurram_lab.board.contract.MVMRequest`. On a board without a
        two-phase mode the host runs the two phases as two requests
        (:mod:`neurram_lab.mvm._mvm_caps`); more matrices on lines in common than
        the board's ``max_parallel_cores`` go in several requests.
    calibration : MVMCalibration, optional
        Operating point and offsets from :func:`neurram_lab.mvm.calibration.calibrate`;
        without it the present ``v_read``/``v_decr`` rails are used and no offsets removed.
    signed : bool
    return_codes : bool
        Also return the raw codes (list per matrix).
    dtype : numpy.float64 or numpy.float32
        Of the results: float32 is the float64 result rounded once (what a caller converting the
        float64 result to float32 would get, without the float64 array).
    out : list of ndarray, optional
        Forward MVMs of :class:`ProgrammedMatrix` without ``tanh``/``sigmoid``: one writeable,
        C-contiguous array per matrix, of its result's shape and ``dtype``, that the results are
        written into and returned as (for a caller that reuses its arrays from call to call: a
        fresh array of some 100 MB page-faults in as it is written). Checked before any board call.

    Returns
    -------
    ndarray (batch, n_out) in weight units, or a list of them for a list of
    matrices (and the codes when ``return_codes``). Float inputs give
    ``x @ W``; integer inputs ``x_int @ W``; ``relu`` clips at 0. With
    ``tanh``/``sigmoid`` the neuron's output is returned as the activation's
    value (in (-1, 1) / (0, 1)) of the pre-activation in ADC full-scale units.

    Raises
    ------
    CapabilityError
        Before any board call, when the board cannot run the direction,
        activation, input bits or the output bits asked for.
    """
    board = as_board(board)
    parallel, return_codes = boolean("parallel", parallel), boolean("return_codes", return_codes)
    dtype = result_dtype(dtype)
    caps = capabilities_of(board)
    if calibration is not None and not isinstance(calibration, MVMCalibration):
        raise InputError(f"calibration must be an MVMCalibration, got {type(calibration).__name__}")
    if output_bits is None and calibration is not None:
        output_bits = calibration.output_bits
    output_bits = plan_mvm(board, input_bits, output_bits, direction, two_phase, activation, signed,
                           DEFAULT_OUTPUT_BITS, caps)
    single = isinstance(matrices, (ProgrammedMatrix, RecurrentMatrix))
    mats, xs = matrices_and_inputs(matrices, x)
    if not mats or len(xs) != len(mats):
        raise InputError(f"run_mvm needs one input array per matrix, got {len(xs)} for {len(mats)}")
    for m in mats:
        check_direction(m, direction)
    cores = [m.placement.core for m in mats]
    if len(set(cores)) != len(cores):
        raise InputError(f"matrices in one run_mvm call must sit on distinct cores, got cores {cores}")
    ints, scales, squeeze = [], [], []
    for m, xi in zip(mats, xs):
        if not (isinstance(xi, np.ndarray) and xi.dtype.kind in "iu"):  # integer arrays: nothing to convert
            array("x", xi, (1, 2), dtype=None)  # ragged, non-numeric, NaN or infinite inputs refused
        xa = np.asarray(xi)
        squeeze.append(xa.ndim == 1)
        xa = np.atleast_2d(xa)
        n_need = n_inputs(m, direction)
        if xa.ndim != 2 or xa.shape[1] != n_need:
            raise InputError(f"inputs of shape {np.shape(xi)} do not fit a matrix of {n_need} {direction} inputs")
        q, s = quantize_inputs(xa, input_bits, signed)
        ints.append(q)
        scales.append(s)
    check_recurrent_signs(mats, signed)
    batch = {q.shape[0] for q in ints}
    if len(batch) != 1:
        raise InputError(f"every matrix needs the same batch size, got {sorted(batch)}")
    outs = result_arrays(out, mats, direction, activation, dtype, [(q.shape[0] if not sq else None) for q, sq in
                                                                    zip(ints, squeeze)])
    if calibration is not None:  # everything checked before a rail moves or an MVM is sent
        check_applicable(calibration, board, mats, direction, input_bits, output_bits, signed, two_phase)
        board.set_rails(v_decr=calibration.v_decr_v)
        v_read = calibration.v_read_v
    else:
        v_read = board.get_rails()["v_read"]
    rails = board.get_rails()
    if calibration is not None:
        check_rails(calibration, rails)
    v_decr = rails["v_decr"]
    groups: dict = {}
    for k, m in enumerate(mats):
        il, ol = matrix_lines(m, direction)
        groups.setdefault((il.tobytes(), ol.tobytes()), []).append(k)
    codes_of: list = [None] * len(mats)
    for key, members in groups.items():
        il, ol = matrix_lines(mats[members[0]], direction)
        req = MVMRequest(
            cores=tuple(cores[k] for k in members),
            inputs=_stacked([line_inputs(mats[k], ints[k]) for k in members]),
            input_lines=il, output_lines=ol, direction=direction, input_bits=input_bits,
            output_bits=output_bits, signed_inputs=signed,
            differential=request_differential(mats[members[0]]), two_phase=two_phase,
            activation=activation, parallel=parallel, v_read_v=v_read,
        )
        out = board_mvm(board, req, caps)
        for j, k in enumerate(members):
            codes_of[k] = out[j]
    cs_over_ci = caps.cs_over_ci
    unit, off = code_scale(input_bits, output_bits, signed, two_phase, v_decr, cs_over_ci)
    results = []
    for k, m in enumerate(mats):
        if activation in ("tanh", "sigmoid"):  # the neuron's own non-linear output, not weight units
            span = 2.0 ** (output_bits - 1) * (2 if activation == "sigmoid" else 1)
            y = (codes_of[k].astype(np.float64) + 0.5) / span
            if direction == "backward" and m.placement.differential:
                y = y[..., 0::2] - y[..., 1::2]
            y = y.astype(dtype, copy=False)
            results.append(y[0] if squeeze[k] else y)
            continue
        base = off - calibration.offsets[k] if calibration is not None and calibration.offsets is not None else off
        if direction == "forward" and isinstance(m, ProgrammedMatrix):  # to_weight_units folded into one column scale
            kw = m.w_max / (m.gmax_s - m.gmin_s) / scales[k]
            col_scale = conductance_of(m).sum(axis=0) * (unit / (cs_over_ci * v_read) * kw)
            y = forward_result(codes_of[k], base, col_scale, None if m.placement.differential else m.gmin_s * kw,
                               ints[k], dtype, None if outs is None else outs[k].reshape(codes_of[k].shape))
        else:
            y_wm = (codes_of[k].astype(np.float64) + base) * (unit / (cs_over_ci * v_read))
            y = (to_weight_units(m, y_wm, ints[k], direction) / scales[k]).astype(dtype, copy=False)
        results.append((y[0] if squeeze[k] else y) if outs is None else outs[k])
    if single:
        return (results[0], codes_of[0]) if return_codes else results[0]
    return (results, codes_of) if return_codes else results


def result_lsb(pm, calibration: MVMCalibration, float_inputs: bool = True) -> np.ndarray:
    """One LSB of the result in weight units, per output: the calibrated full scale of the
    result over ``2**(output_bits - 1)`` (for error figures in output LSB). For a recurrent
    matrix the diagonal of its normalisation matrix scales it.

    The full scale is the one the calibration aimed the outputs at, for the whole
    result (both segments of a two-phase MVM together), so LSBs compare across modes.
    """
    c = calibration
    if c.cs_over_ci is None:
        raise InputError("result_lsb needs a calibration from calibrate() (it carries the board's cs_over_ci)")
    fs_v = c.info["result_full_scale_v"] if c.info and "result_full_scale_v" in c.info else (
        output_lsb_volts(c.input_bits, c.output_bits, c.signed, c.two_phase, c.v_decr_v, c.cs_over_ci)
        * 2 ** (c.output_bits - 1))
    lsb_wm = fs_v / 2 ** (c.output_bits - 1) / (c.cs_over_ci * c.v_read_v)
    n = c.input_bits
    scale = (2 ** (n - 1) - 1 if c.signed else 2**n - 1) if float_inputs else 1
    if isinstance(pm, RecurrentMatrix):  # the diagonal of the normalisation matrix
        return lsb_wm * np.diag(pm.norm_s) * pm.w_per_s / scale
    g = conductance_of(pm)
    k = pm.w_max / (pm.gmax_s - pm.gmin_s)
    norm = g.sum(axis=0) if c.direction == "forward" else g.sum(axis=1)
    if c.direction == "backward" and pm.placement.differential:
        norm = 0.5 * (norm[0::2] + norm[1::2])
    return lsb_wm * norm * k / scale
