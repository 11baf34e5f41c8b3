"""Model-driven calibration of an MVM layer (SPEC §5): operating point and offsets.

From a calibration batch of real layer inputs (random inputs have the wrong
distribution), the model of the voltage-mode array (the conductance-weighted
mean of the programmed conductances) predicts the integrator voltage of every
output after every input plane. That picks:

- ``v_read``: as large as the rail allows while the largest predicted partial
  sum stays within a fraction of the integrator headroom;
- ``v_decr``: so the predicted outputs fill the ADC range (a high quantile
  lands just inside full scale);

and then the chip itself, at that operating point and with zero input, gives
each output's offset in code units, averaged over a batch, which
:func:`~neurram_lab.mvm.mvm.run_mvm` subtracts.
"""

from __future__ import annotations

import numpy as np

from ._mvm_caps import board_mvm, plan_mvm
from ..validate import array, boolean, integer, number, positive
from ..board.limits import RATED_V_MAX
from ..board.capabilities import capabilities_of
from ..errors import CalibrationError, InputError
from ._cal_conditions import conditions_of
from .mvm import (DEFAULT_OUTPUT_BITS, MVMCalibration, check_direction, matrices_and_inputs, check_recurrent_signs, code_scale,
                  ideal_weighted_mean, input_segments, matrix_lines, n_inputs, quantize_inputs, request_differential)
from .recurrent import RecurrentMatrix
from ..program.weights import ProgrammedMatrix


def predicted_integrals(pm, x_int: np.ndarray, direction: str, input_bits: int,
                        output_bits: int, signed: bool, two_phase: bool, cs_over_ci: float):
    """Model integrator voltages per volt of v_read, per segment: (max |partial sum|, final values);
    ``cs_over_ci`` is the board's ``capabilities().cs_over_ci``.

    Returns a list, one ``(peak, final)`` per segment, ``final`` of shape (batch, n_out_lines).
    """
    sgn = np.sign(x_int) if signed else np.ones_like(x_int)
    mag = np.abs(x_int)
    out = []
    for shift, nbits, _, _ in input_segments(input_bits, output_bits, signed, two_phase):
        seg = (mag >> shift) & (2**nbits - 1)
        peak = 0.0
        final = None
        for b in range(nbits):
            part = cs_over_ci * ideal_weighted_mean(pm, sgn * (seg & (2 ** (b + 1) - 1)), direction)
            peak = max(peak, float(np.abs(part).max()) if part.size else 0.0)
            final = part
        if final is None:
            final = np.zeros((x_int.shape[0], len(matrix_lines(pm, direction)[1])))
        out.append((peak, final))
    return out


def calibrate(board, matrices, x_cal, input_bits: int = 4, output_bits: int | None = None, direction: str = "forward",
              two_phase: bool = False, parallel: bool = True, signed: bool = True, quantile: float = 0.999,
              margin: float = 1.1, headroom_frac: float = 0.85, v_read_max_v: float | None = None,
              offset_vectors: int = 64) -> MVMCalibration:
    """Pick the operating point of a layer from a calibration batch and measure its offsets.

    Parameters
    ----------
    board : Board
    matrices : ProgrammedMatrix, RecurrentMatrix, or a list of them
        (recurrent ones with ``direction`` their placement's direction)
    x_cal : array or list of arrays
        Calibration inputs as for :func:`~neurram_lab.mvm.mvm.run_mvm`.
    input_bits, output_bits, direction, two_phase, parallel, signed
        As for :func:`~neurram_lab.mvm.mvm.run_mvm`; ``output_bits`` None takes 6
        brought into the board's range (e.g. 6 on a board with at most 7 bits,
        5 for a two-phase MVM split on the host of such a board).
    quantile, margin : float
        The ``quantile`` of predicted |output| times ``margin`` becomes full scale.
    headroom_frac : float
        Fraction of the integrator headroom (the board's ``capabilities().headroom_v``) the largest
        partial sum may use.
    v_read_max_v : float, optional
        Upper bound of v_read; default the present ``v_read`` rail.
    offset_vectors : int
        Zero-input vectors averaged for the offsets.

    Returns
    -------
    MVMCalibration
        With the output bits it was taken at (``run_mvm`` uses them by default).

    Raises
    ------
    CapabilityError
        Before any board call, when the board cannot run the configuration.
    CalibrationError
        Before any rail moves or MVM is sent, when the inputs carry no signal (all zero after
        quantising, or no predicted output).
    """
    from ..board.contract import MVMRequest, as_board

    board = as_board(board)
    caps = capabilities_of(board)
    output_bits = plan_mvm(board, input_bits, output_bits, direction, two_phase, "none", signed, DEFAULT_OUTPUT_BITS,
                           caps)
    mats, xs = matrices_and_inputs(matrices, x_cal)
    if not mats or len(xs) != len(mats):
        raise InputError(f"calibrate needs one input batch per matrix, got {len(xs)} for {len(mats)}")
    number("quantile", quantile, 0.0, 1.0, lo_open=True)
    positive("margin", margin, 100.0)
    number("headroom_frac", headroom_frac, 0.0, 1.0, lo_open=True)
    if v_read_max_v is not None:
        positive("v_read_max_v", v_read_max_v, RATED_V_MAX, "volts")
    integer("offset_vectors", offset_vectors, 1, 100_000)
    parallel = boolean("parallel", parallel)
    for m, xi in zip(mats, xs):
        check_direction(m, direction)
        n_need = n_inputs(m, direction)
        xa = array("x_cal", xi, (1, 2))
        if xa.ndim == 2 and xa.shape[0] == 0:
            raise InputError(f"x_cal has an empty batch (shape {xa.shape})")
        if np.atleast_2d(xa).shape[-1] != n_need:
            raise InputError(f"calibration inputs of shape {np.shape(xi)} do not fit a matrix of {n_need} "
                             f"{direction} inputs")
    check_recurrent_signs(mats, signed)
    rails = board.get_rails()
    v_max = float(rails["v_read"] if v_read_max_v is None else v_read_max_v)
    peaks, finals, totals = [], [], []
    for k_, (m, xi) in enumerate(zip(mats, xs)):
        q, _ = quantize_inputs(np.atleast_2d(np.asarray(xi)), input_bits, signed)
        if not q.any():
            raise CalibrationError(f"calibration inputs x_cal[{k_}] carry no signal (all zero after quantising to "
                                   f"input_bits={input_bits}): the operating point would be undetermined")
        segs = predicted_integrals(m, q, direction, input_bits, output_bits, signed, two_phase, caps.cs_over_ci)
        peaks.append(max(p for p, _ in segs))
        finals.append(np.concatenate([np.abs(f).ravel() for _, f in segs]))
        shifts = [s_[0] for s_ in input_segments(input_bits, output_bits, signed, two_phase)]
        totals.append(np.abs(sum(2.0**sh * f for sh, (_, f) in zip(shifts, segs))).ravel())
    peak = max(peaks)
    per_v = float(np.quantile(np.concatenate(finals), quantile)) * margin
    if not (np.isfinite(peak) and np.isfinite(per_v)) or per_v <= 0:
        raise CalibrationError(f"calibration inputs predict no output signal (quantile {quantile} of |output| "
                               f"= {per_v!r} per volt): the Vdecr full scale would be undetermined")  # full scale needed per volt of v_read
    k = output_bits - 1
    full = caps.cs_over_ci * (2.0 - 2.0 ** (1 - k)) if k > 0 else caps.cs_over_ci
    lo_v, hi_v = board.rail_range_v("v_decr") if hasattr(board, "rail_range_v") else board.limits.rails_v["v_decr"]
    v_read = v_max
    if peak > 0:  # the integrator must not clip ...
        v_read = min(v_read, headroom_frac * caps.headroom_v / peak)
    if per_v > 0:  # ... and the Vdecr DAC must reach full scale
        v_read = min(v_read, hi_v * full / per_v)
    target = per_v * v_read
    v_decr = float(np.clip(target / full if target > 0 else hi_v, max(lo_v, 1e-3), hi_v))
    conditions = conditions_of(board, mats, direction, rails)  # rails as read above; only v_decr is set here
    board.set_rails(v_decr=v_decr)
    unit, off = code_scale(input_bits, output_bits, signed, two_phase, v_decr, caps.cs_over_ci)
    offsets = [None] * len(mats)
    groups: dict = {}
    for k_, m in enumerate(mats):
        il, ol = matrix_lines(m, direction)
        groups.setdefault((il.tobytes(), ol.tobytes()), []).append(k_)
    for members in groups.values():
        il, ol = matrix_lines(mats[members[0]], direction)
        req = MVMRequest(cores=tuple(mats[k_].placement.core for k_ in members),
                         inputs=np.zeros((len(members), offset_vectors, il.size), np.int16), input_lines=il,
                         output_lines=ol, direction=direction, input_bits=input_bits, output_bits=output_bits,
                         signed_inputs=signed, differential=request_differential(mats[members[0]]),
                         two_phase=two_phase, parallel=parallel, v_read_v=v_read)
        codes = board_mvm(board, req, caps)
        for j, k_ in enumerate(members):
            offsets[k_] = codes[j].astype(np.float64).mean(axis=0) + off
    return MVMCalibration(v_read_v=float(v_read), v_decr_v=v_decr, offsets=offsets, input_bits=input_bits,
                          output_bits=output_bits, direction=direction, two_phase=two_phase, signed=signed,
                          cs_over_ci=caps.cs_over_ci, conditions=conditions,
                          info={"peak_partial_per_v": peak, "target_full_scale_v": target, "unit_v": unit,
                                "result_full_scale_v": float(np.quantile(np.concatenate(totals), quantile))
                                * margin * v_read})
