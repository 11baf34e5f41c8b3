"""Argument checks shared by every public entry point: the one place each package
checks its arguments (public; it sits below everything but the errors).

One rule: a public function checks its arguments here, at its boundary,
before anything is sent to a board or written to a file, and a bad one is a
typed :class:`~neurram_lab.errors.NeuRRAMError` naming the argument, the value
and the limit:

- a value of the wrong kind (a string for a number, a float for a count, an
  unknown enum value, an array of the wrong shape or an empty one) is an
  :class:`~neurram_lab.errors.InputError`;
- a number outside its range (NaN and infinities included) is a
  :class:`~neurram_lab.errors.LimitError` with ``name``, ``value`` and ``limit``.

Each helper returns the value converted (``int``, ``float``, ``ndarray``), so a
caller writes ``n = integer("iterations", n, lo=1)`` and uses ``n``.
"""

from __future__ import annotations

import math
import numbers
from pathlib import Path

import numpy as np

from .errors import InputError, LimitError

# Bounds on counts that drive loops: nothing a lab asks for comes near them, and a
# bad argument cannot make a loop run unbounded.
MAX_ITERATIONS = 1000
MAX_STEPS = 100_000
MAX_SETTLE_S = 7 * 86400.0  # a wait or settle longer than a week is a unit mistake
# The chip's ceiling on any conductance a cell is asked for (S): no cell of the array conducts more
# (board.limits.RATED_G_CELL_S is built from it), checked whatever limits object a board holds.
RATED_G_CELL_MAX_S = 200e-6


def _is_bool(value) -> bool:
    return isinstance(value, (bool, np.bool_))


def integer(name: str, value, lo: int | None = None, hi: int | None = None, detail: str = "") -> int:
    """``value`` as an int in ``[lo, hi]`` (either end None: open).

    Accepts Python and numpy integers and integral floats (``3.0``); refuses
    booleans, strings, non-integral or non-finite numbers (InputError) and
    values out of range (LimitError).
    """
    if _is_bool(value) or value is None:
        raise InputError(f"{name} must be an integer, got {value!r}")
    if isinstance(value, numbers.Integral):
        v = int(value)
    elif isinstance(value, numbers.Real):
        f = float(value)
        if not math.isfinite(f) or f != int(f):
            raise InputError(f"{name} must be an integer, got {value!r}")
        v = int(f)
    else:
        raise InputError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise LimitError(name, v, (lo, hi) if hi is not None else f">= {lo}" if lo is not None else f"<= {hi}", detail)
    return v


def optional_integer(name: str, value, lo: int | None = None, hi: int | None = None, detail: str = "") -> int | None:
    """None, or :func:`integer`."""
    return None if value is None else integer(name, value, lo, hi, detail)


def number(name: str, value, lo: float | None = None, hi: float | None = None, detail: str = "",
           lo_open: bool = False, hi_open: bool = False) -> float:
    """``value`` as a finite float in ``[lo, hi]`` (``lo_open``/``hi_open``: that end excluded).

    Refuses booleans, strings and other non-numbers (InputError), NaN, the
    infinities and values out of range (LimitError).
    """
    if _is_bool(value) or value is None or isinstance(value, (str, bytes)):
        raise InputError(f"{name} must be a number, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be a number, got {type(value).__name__} {value!r}") from exc
    if (not math.isfinite(v) or (lo is not None and (v < lo or (lo_open and v == lo)))
            or (hi is not None and (v > hi or (hi_open and v == hi)))):
        raise LimitError(name, v, _range_text(lo, hi, lo_open, hi_open), detail)
    return v


def optional_number(name: str, value, lo=None, hi=None, detail: str = "", lo_open=False, hi_open=False) -> float | None:
    """None, or :func:`number`."""
    return None if value is None else number(name, value, lo, hi, detail, lo_open, hi_open)


def positive(name: str, value, hi: float | None = None, detail: str = "") -> float:
    """A finite number > 0 (and <= ``hi``)."""
    return number(name, value, 0.0, hi, detail, lo_open=True)


def _range_text(lo, hi, lo_open=False, hi_open=False):
    if lo is not None and hi is not None and not lo_open and not hi_open:
        return (lo, hi)
    parts = []
    if lo is not None:
        parts.append(f"{'>' if lo_open else '>='} {lo}")
    if hi is not None:
        parts.append(f"{'<' if hi_open else '<='} {hi}")
    return " and ".join(parts) or "finite"


def boolean(name: str, value) -> bool:
    """A bool (numpy bools too); anything else (``"no"``, ``2``) is an InputError."""
    if _is_bool(value):
        return bool(value)
    if isinstance(value, numbers.Integral) and int(value) in (0, 1):
        return bool(value)
    raise InputError(f"{name} must be True or False, got {value!r}")


def choice(name: str, value, options) -> str:
    """One of ``options`` (an InputError listing them otherwise)."""
    options = tuple(options)
    try:
        ok = value in options
    except TypeError:
        ok = False
    if not ok or (_is_bool(value) and not any(_is_bool(o) for o in options)):
        raise InputError(f"{name}={value!r} is not one of {options}")
    return value


def array(name: str, value, ndim: int | tuple | None = None, dtype=np.float64, *, nonempty: bool = True,
          finite: bool = True, lo: float | None = None, hi: float | None = None, detail: str = "") -> np.ndarray:
    """``value`` as an ndarray of ``dtype`` with ``ndim`` dimensions (an int or a tuple of allowed ones).

    Refuses what numpy cannot convert (ragged lists, strings, objects), the
    wrong number of dimensions and, unless told otherwise, empty arrays
    (InputError); NaN, infinities and values outside ``[lo, hi]`` are a
    LimitError naming the worst value.
    """
    if isinstance(value, (str, bytes)) or value is None:
        raise InputError(f"{name} must be an array of numbers, got {value!r}")
    try:
        a = np.asarray(value)
        if a.dtype.kind not in "biuf":
            raise TypeError(f"dtype {a.dtype}")
        if a.dtype.kind == "b" and np.dtype(dtype).kind != "b":
            raise TypeError("booleans")
        a = a.astype(dtype, copy=False)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be an array of numbers, got {_short(value)} ({exc})") from exc
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if a.ndim not in allowed:
            raise InputError(f"{name} must have {' or '.join(map(str, allowed))} dimension(s), got shape {a.shape}")
    if nonempty and a.size == 0:
        raise InputError(f"{name} is empty (shape {a.shape})")
    if a.size and a.dtype.kind == "f":
        if finite and not np.all(np.isfinite(a)):
            raise LimitError(name, float(a[~np.isfinite(a)].flat[0]), _range_text(lo, hi), "finite values only")
    if a.size and (lo is not None or hi is not None):
        amin, amax = a.min(), a.max()
        if lo is not None and amin < lo:
            raise LimitError(name, amin.item(), _range_text(lo, hi), detail)
        if hi is not None and amax > hi:
            raise LimitError(name, amax.item(), _range_text(lo, hi), detail)
    return a


def shape(name: str, a: np.ndarray, expected: tuple, what: str = "") -> np.ndarray:
    """Refuse ``a`` unless its shape is ``expected`` (None in it: any length there)."""
    if a.ndim != len(expected) or any(e is not None and s != e for s, e in zip(a.shape, expected)):
        want = "(" + ", ".join("any" if e is None else str(e) for e in expected) + ")"
        raise InputError(f"{name} has shape {a.shape}, expected {want}" + (f" ({what})" if what else ""))
    return a


def same_length(**arrays) -> int:
    """The common length of 1-D arrays given by name; an InputError naming them when they differ."""
    sizes = {k: int(np.size(v)) for k, v in arrays.items()}
    if len(set(sizes.values())) > 1:
        raise InputError("lengths must agree: " + ", ".join(f"{k} has {n}" for k, n in sizes.items()))
    return next(iter(sizes.values()), 0)


def int_list(name: str, value, lo: int | None = None, hi: int | None = None, nonempty: bool = True,
             distinct: bool = False) -> list[int]:
    """A sequence of integers (a single int is a list of one), each in ``[lo, hi]``."""
    if isinstance(value, (str, bytes)) or value is None:
        raise InputError(f"{name} must be integers, got {value!r}")
    if isinstance(value, numbers.Number):
        seq = [value]
    elif isinstance(value, np.ndarray):
        seq = value.ravel().tolist()
    else:
        try:
            seq = list(value)
        except TypeError as exc:
            raise InputError(f"{name} must be integers, got {_short(value)}") from exc
    out = [integer(f"{name}[{i}]" if len(seq) > 1 else name, v, lo, hi) for i, v in enumerate(seq)]
    if nonempty and not out:
        raise InputError(f"{name} is empty")
    if distinct and len(set(out)) != len(out):
        raise InputError(f"{name} has repeated entries: {out}")
    return out


def conductance(name: str, value, limits, lo_open: bool = False, scalar: bool = True):
    """A conductance (S) within the cells' range ``limits.g_cell_s``; a scalar float or, with
    ``scalar=False``, a float64 array (NaN/inf refused)."""
    lo, hi = limits.g_cell_s
    lo, hi = max(float(lo), 0.0), min(float(hi), RATED_G_CELL_MAX_S)  # the rating, however the limits were made
    if scalar:
        return number(name, value, lo, hi, "siemens; the range a cell can be programmed to (limits g_cell_s)",
                      lo_open=lo_open)
    return array(name, value, None, lo=lo, hi=hi, nonempty=False,
                 detail="siemens; the range a cell can be programmed to (limits g_cell_s)")


def file_path(name: str, path, suffixes: tuple[str, ...] | None = None, nonempty: bool = True) -> Path:
    """An existing regular file (not a folder), not empty, with one of ``suffixes`` when given."""
    p = path_like(name, path)
    if not p.exists():
        raise InputError(f"{name}: cannot read {str(p)!r}: no such file")
    if not p.is_file():
        raise InputError(f"{name}: cannot read {str(p)!r}: not a file")
    if suffixes and p.suffix.lower() not in suffixes:
        raise InputError(f"{name}: {str(p)!r} is not a {'/'.join(suffixes)} file")
    if nonempty and p.stat().st_size == 0:
        raise InputError(f"{name}: {str(p)!r} is empty")
    return p


def dir_path(name: str, path) -> Path:
    """An existing folder."""
    p = path_like(name, path, "folder")
    if not p.is_dir():
        raise InputError(f"{name}: no such folder {str(p)!r}" if not p.exists() else f"{name}: {str(p)!r} is not a folder")
    return p


def path_like(name: str, path, what: str = "file") -> Path:
    """A ``str`` or ``Path`` naming a file or folder (not None, not empty); need not exist."""
    if path is None or _is_bool(path) or not isinstance(path, (str, Path)) or str(path) == "":
        raise InputError(f"{name} must be a {what} path, got {path!r}")
    return Path(path).expanduser()


def text(name: str, value, nonempty: bool = True) -> str:
    """A ``str`` (not empty unless told otherwise)."""
    if not isinstance(value, str):
        raise InputError(f"{name} must be a string, got {_short(value)}")
    if nonempty and not value.strip():
        raise InputError(f"{name} must not be empty, got {value!r}")
    return value


def int_pair(name: str, value, lo: int | None = None, hi: int | None = None) -> tuple[int, int]:
    """Two integers in ``[lo, hi]`` (a single integer ``k`` is ``(k, k)``), e.g. a kernel size."""
    out = int_list(name, value, lo, hi)
    if len(out) == 1:
        out = out * 2
    if len(out) != 2:
        raise InputError(f"{name} must be one integer or two, got {_short(value)}")
    return out[0], out[1]


def rng(name: str, value) -> np.random.Generator:
    """A numpy Generator: one given, or one seeded with a non-negative integer seed."""
    if isinstance(value, np.random.Generator):
        return value
    return np.random.default_rng(integer(name, value, lo=0))


def dtype(name: str, value) -> np.dtype:
    """A numpy dtype (``"f8"``, ``np.int16`` ...); what numpy does not understand is an InputError."""
    try:
        return np.dtype(value)
    except (TypeError, ValueError, SyntaxError) as exc:
        raise InputError(f"{name}: {_short(value)} is not a numpy dtype ({exc})") from exc


def json_able(name: str, value, encode=None) -> str:
    """``value`` as JSON text (``encode``: the caller's encoder, default ``json.dumps``); an InputError
    naming the argument when it holds something JSON cannot carry."""
    import json

    try:
        return (encode or json.dumps)(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InputError(f"{name} must be JSON-able, got {_short(value)} ({exc})") from exc


def npz_arrays(name: str, path) -> dict:
    """The arrays of an existing ``.npz`` file (no pickles) as a dict; a missing, empty, damaged or
    other kind of file is an InputError naming it and what is wrong."""
    import zipfile

    p = file_path(name, path)
    with open(p, "rb") as fh:
        head = fh.read(4)
    if head not in (b"PK\x03\x04", b"PK\x05\x06"):
        kind = "a single .npy array" if head == b"\x93NUM" else f"no zip archive (starts {head!r})"
        raise InputError(f"{name}: {str(p)!r} is not a .npz archive of named arrays: {kind}")
    try:
        with np.load(p, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise InputError(f"{name}: {str(p)!r} is a damaged .npz archive ({type(exc).__name__}: "
                         f"{_short(str(exc), 80)})") from exc


def _short(value, n: int = 60) -> str:
    r = repr(value)
    return r if len(r) <= n else r[: n - 3] + "..."
