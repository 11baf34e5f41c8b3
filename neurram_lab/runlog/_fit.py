"""Values checked against the dtype of the table column they go into, before anything is written."""

from __future__ import annotations

import numbers

import numpy as np

from ..errors import InputError, LimitError


def _int_range(dt: np.dtype) -> tuple[int, int]:
    info = np.iinfo(dt)
    return int(info.min), int(info.max)


def column_values(table: str, column: str, value, dt: np.dtype) -> np.ndarray:
    """``value`` as a 1-D array of the column dtype ``dt``, refused unless every value fits it exactly.

    Integer columns take integers, booleans and whole finite floats within the
    dtype's range; boolean columns take booleans and 0/1; float columns take
    numbers (each rounded to the column's precision) but no finite value beyond
    the dtype's largest. Anything else (a string, an object, a complex number)
    is refused.

    Raises
    ------
    InputError
        A value of the wrong kind (string, object ...) for the column.
    LimitError
        A value outside the dtype's range, or NaN, inf or a fraction for an integer column;
        ``name`` is ``"table.column"``, ``limit`` the dtype's range.
    """
    name = f"{table}.{column}"
    try:
        a = np.asarray(value)
    except (TypeError, ValueError) as exc:  # ragged nested lists
        raise InputError(f"{name}: {value!r:.60} is not an array of numbers for a {dt} column ({exc})") from exc
    if a.dtype.kind == "O" and a.size and all(isinstance(x, numbers.Integral) and not isinstance(x, bool)
                                               for x in a.flat):
        a = _big_integers(name, a, dt)  # Python integers beyond int64 / uint64
    if a.dtype.kind not in "biuf" or (dt.kind not in "biuf" and a.dtype.kind != dt.kind):
        raise InputError(f"{name}: a {a.dtype} value ({_first(a)!r}) cannot go into a {dt} column")
    a = a.ravel()
    if a.size and dt.kind in "iu":
        lo, hi = _int_range(dt)
        if a.dtype.kind == "f":
            bad = ~np.isfinite(a)
            if bad.any():
                raise LimitError(name, float(a[bad][0]), (lo, hi), f"column dtype {dt}: finite whole numbers only")
            frac = a != np.trunc(a)
            if frac.any():
                raise LimitError(name, float(a[frac][0]), (lo, hi), f"column dtype {dt}: whole numbers only")
            bits = 8 * dt.itemsize - (dt.kind == "i")
            out = (a < lo) | (a >= 2.0 ** bits)  # 2**bits is hi + 1, exact in float64
        elif a.dtype.kind in "iu":
            amin, amax = int(a.min()), int(a.max())
            if amin < lo or amax > hi:
                raise LimitError(name, amin if amin < lo else amax, (lo, hi), f"column dtype {dt}")
            out = None
        else:  # booleans: 0 and 1 fit every integer dtype
            out = None
        if out is not None and out.any():
            raise LimitError(name, a[out][0].item(), (lo, hi), f"column dtype {dt}")
    elif a.size and dt.kind == "b" and a.dtype.kind != "b":
        bad = (a != 0) & (a != 1)
        if bad.any():
            raise LimitError(name, a[bad][0].item(), (0, 1), f"column dtype {dt}: booleans or 0/1 only")
    with np.errstate(over="ignore", invalid="ignore"):  # a float beyond the column's range: refused below
        stored = a.astype(dt, copy=False)
    if a.size and dt.kind == "f" and a.dtype.kind == "f" and dt.itemsize < a.dtype.itemsize:
        over = np.isinf(stored) & np.isfinite(a)
        if over.any():
            fmax = float(np.finfo(dt).max)
            raise LimitError(name, float(a[over][0]), (-fmax, fmax), f"column dtype {dt}")
    return np.ascontiguousarray(stored)


def _big_integers(name: str, a: np.ndarray, dt: np.dtype) -> np.ndarray:
    """An object array of Python integers: refused when beyond the column's range, else as int64/uint64/float64."""
    lo_v, hi_v = min(int(x) for x in a.flat), max(int(x) for x in a.flat)
    if dt.kind in "iu":
        lo, hi = _int_range(dt)
        limit = (lo, hi)
    else:
        hi = int(np.finfo(dt).max) if dt.kind == "f" else 2**63 - 1
        lo, limit = -hi, (-float(hi), float(hi))
    if lo_v < lo or hi_v > hi:
        raise LimitError(name, lo_v if lo_v < lo else hi_v, limit, f"column dtype {dt}")
    if dt.kind == "f":
        return a.astype(np.float64)
    return a.astype(np.uint64 if hi_v > 2**63 - 1 else np.int64)


def _first(a: np.ndarray):
    return a.flat[0].item() if a.size and a.dtype.kind != "O" else (a.flat[0] if a.size else None)
