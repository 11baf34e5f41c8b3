"""What a calibration was taken under, and the checks that it is applied under the same (before any MVM).

A :class:`~neurram_lab.mvm.mvm.MVMCalibration` is only right for the input and
output bits, signedness, direction and two-phase mode, the matrices' placement
(core, lines, shape), the MVM operating point (``MVM_RAILS``) and the board it
was measured on. :func:`check_applicable` compares all of them and raises
:class:`~neurram_lab.errors.CalibrationError` naming the first that differs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..validate import boolean
from ..errors import CalibrationError

# Rails an MVM result depends on that run_mvm does not set itself (v_read goes in the request,
# v_decr is set from the calibration): the integrator's reference.
MVM_RAILS = ("v_ref",)
RAIL_TOLERANCE_V = 1e-6


@dataclass(frozen=True)
class CalibrationConditions:
    """Where and how a calibration was taken (set by :func:`~neurram_lab.mvm.calibration.calibrate`).

    Attributes
    ----------
    placements : tuple
        Per matrix ``(core, input_lines, output_lines, shape)``, lines as tuples of ints.
    rails_v : tuple
        ``(name, volts)`` of the ``MVM_RAILS`` at calibration.
    board_kind, board_serial, board_spec : str
        The board it was taken on (kind and serial must match when applied).
    """

    placements: tuple
    rails_v: tuple
    board_kind: str
    board_serial: str
    board_spec: str


def matrix_signature(m, direction: str) -> tuple:
    """``(core, input_lines, output_lines, shape)`` of a matrix run in ``direction``."""
    from .mvm import matrix_lines

    il, ol = matrix_lines(m, direction)
    shape = tuple(int(v) for v in np.shape(getattr(m, "weights", ())))
    return int(m.placement.core), tuple(int(v) for v in il), tuple(int(v) for v in ol), shape


def board_identity(board) -> tuple[str, str, str]:
    """``(kind, serial, spec)``; from the board's own description (``board.identity``), which no board
    journals or sends."""
    info = board.identity
    return str(info.kind), str(info.serial), str(info.spec)


def same_board(taken: tuple[str, str], used: tuple[str, str]) -> bool:
    """Whether a calibration taken on the board ``taken`` (kind, serial) is for the board ``used``: the same
    serial and kind, a kind an older calibration names by its old name read as today's
    (:data:`~neurram_lab.runlog.migrate.OLD_BOARD_KINDS`: "fpga" is "okusb")."""
    if taken == used:
        return True
    if taken[1] != used[1]:
        return False
    from ..runlog.migrate import board_kind  # only for a calibration whose kind differs (loads the run log)

    return board_kind(taken[0]) == used[0]


def conditions_of(board, mats, direction: str, rails: dict) -> CalibrationConditions:
    """The conditions of a calibration taken now on ``board`` for ``mats`` with ``rails`` (V)."""
    kind, serial, spec = board_identity(board)
    return CalibrationConditions(placements=tuple(matrix_signature(m, direction) for m in mats),
                                 rails_v=tuple((r, float(rails[r])) for r in MVM_RAILS if r in rails),
                                 board_kind=kind, board_serial=serial, board_spec=spec)


def check_values(cal) -> None:
    """Offsets and operating point finite (a NaN offset would make every output NaN)."""
    for name in ("two_phase", "signed"):
        boolean(f"MVMCalibration {name}", getattr(cal, name))
    for name in ("v_read_v", "v_decr_v"):
        v = getattr(cal, name)
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)) or not np.isfinite(v) \
                or v <= 0:
            raise CalibrationError(f"MVMCalibration {name}={v!r} must be a finite positive number of volts")
    if cal.offsets is None:
        return
    if not isinstance(cal.offsets, (list, tuple)):
        raise CalibrationError(f"MVMCalibration offsets must be a list of arrays (one per matrix), "
                               f"got {type(cal.offsets).__name__}")
    for k, o in enumerate(cal.offsets):
        try:
            a = np.asarray(o, dtype=np.float64)
        except (TypeError, ValueError):
            raise CalibrationError(f"MVMCalibration offsets[{k}] is not numeric: {o!r:.60}") from None
        if a.ndim != 1 or not np.all(np.isfinite(a)):
            raise CalibrationError(f"MVMCalibration offsets[{k}] must be a finite 1-D array (code units), "
                                   f"got shape {a.shape} with {int(np.sum(~np.isfinite(a)))} NaN/inf values")


def _differs(what: str, taken, used) -> CalibrationError:
    return CalibrationError(f"calibration was taken with {what}={taken!r} but is applied with {what}={used!r}; "
                            "take a calibration for these conditions (calibrate(...))")


def check_applicable(cal, board, mats, direction: str, input_bits: int, output_bits: int, signed: bool,
                     two_phase: bool) -> None:
    """CalibrationError unless ``cal`` was taken under exactly these conditions (nothing sent here).

    The configuration (bits, signedness, direction, two-phase) and the offset count are always
    checked; placement and board when the calibration carries its :class:`CalibrationConditions`
    (one built by hand without them is *unverified* for those: ``cal.conditions is None``).
    """
    check_values(cal)
    for what, taken, used in (("input_bits", cal.input_bits, input_bits), ("output_bits", cal.output_bits, output_bits),
                              ("signed", bool(cal.signed), bool(signed)), ("direction", cal.direction, direction),
                              ("two_phase", bool(cal.two_phase), bool(two_phase))):
        if taken != used:
            raise _differs(what, taken, used)
    if cal.offsets is not None:
        if len(cal.offsets) != len(mats):
            raise _differs("number of matrices (len(offsets))", len(cal.offsets), len(mats))
        from .mvm import matrix_lines

        for k, (o, m) in enumerate(zip(cal.offsets, mats)):
            n_out = len(matrix_lines(m, direction)[1])
            if np.size(o) != n_out:
                raise _differs(f"output lines of matrix {k} (offsets[{k}].size)", int(np.size(o)), n_out)
    c = cal.conditions
    if c is None:
        return
    if not isinstance(c, CalibrationConditions):
        raise CalibrationError(f"MVMCalibration conditions must be CalibrationConditions, got {type(c).__name__}")
    kind, serial, spec = board_identity(board)
    if not same_board((c.board_kind, c.board_serial), (kind, serial)):
        raise _differs("board (kind, serial)", (c.board_kind, c.board_serial), (kind, serial))
    used = tuple(matrix_signature(m, direction) for m in mats)
    for k, (t, u) in enumerate(zip(c.placements, used)):
        for name, a, b in zip(("core", "input lines", "output lines", "shape"), t, u):
            if a != b:
                raise _differs(f"matrix {k} {name}", a if name in ("core", "shape") else _lines(a),
                               b if name in ("core", "shape") else _lines(b))


def check_rails(cal, rails: dict) -> None:
    """CalibrationError unless the MVM rails are where they were at calibration (call before any MVM)."""
    c = cal.conditions
    if c is None:
        return
    for name, v in c.rails_v:
        now = float(rails.get(name, np.nan))
        if not abs(now - v) <= RAIL_TOLERANCE_V:
            raise _differs(f"rail {name} (V)", v, now)


def _lines(t: tuple) -> str:
    return f"{t[0]}..{t[-1]} ({len(t)} lines)" if len(t) > 4 else str(list(t))
