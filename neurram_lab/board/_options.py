"""Board-spec options (``sim://?seed=3``, ``open_board("hil://", read_cycles=10)``) checked at open (private).

A query string gives every option as text, keyword arguments give Python
values; both go through the same checks, so ``?seed=1.7`` and ``seed=1.7`` are
the same refusal (no truncation). Each helper returns the converted value and
raises a typed error naming the option, the value and the range before any
board is built or any file written.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..validate import integer, number, path_like
from ..errors import InputError

SEED_MAX = 2**63 - 1  # numpy's seeds are unbounded; the twin's counters take 63-bit seeds
_INT_TEXT = re.compile(r"[+-]?\d+")


def _from_text(name: str, value, what: str):
    """A query-string text as the int or float it spells (other values unchanged)."""
    if not isinstance(value, str):
        return value
    t = value.strip()
    if _INT_TEXT.fullmatch(t):
        return int(t)
    try:
        return float(t)  # "1.5", "1e3", "nan", "inf": the range checks refuse what is not allowed
    except ValueError:
        raise InputError(f"option {name}={value!r} is not {what}") from None


def option_integer(name: str, value, lo: int | None = None, hi: int | None = None, detail: str = "") -> int:
    """An integer option in ``[lo, hi]``: an int, an integral float or the text of one (``"3"``)."""
    return integer(name, _from_text(name, value, "an integer"), lo, hi, detail)


def option_number(name: str, value, lo: float | None = None, hi: float | None = None, detail: str = "",
                  lo_open: bool = False) -> float:
    """A finite number option in ``[lo, hi]`` (``lo_open``: ``lo`` excluded); ``"nan"``/``"inf"`` refused."""
    return number(name, _from_text(name, value, "a number"), lo, hi, detail, lo_open=lo_open)


def option_seed(value) -> int:
    """The ``seed`` option: an integer in ``[0, 2**63 - 1]`` (a negative one is an InputError: a seed names a
    die, it is no quantity with a range)."""
    seed = option_integer("seed", value)
    if not 0 <= seed <= SEED_MAX:
        raise InputError(f"seed must be an integer in [0, {SEED_MAX}], got {seed}")
    return seed


def writable_file(name: str, value) -> Path:
    """A file path that can be created or overwritten (its folder made if missing), checked without writing.

    Refuses an empty path, a folder, a path under a file, and a place this process
    may not write (InputError naming the option and the path).
    """
    p = path_like(name, value)
    if p.is_dir():
        raise InputError(f"{name}: {str(p)!r} is a folder, not a file")
    if p.exists():
        if not os.access(p, os.W_OK):
            raise InputError(f"{name}: cannot write {str(p)!r}: permission denied")
        return p
    parent = p.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"{name}: cannot write {str(p)!r}: {str(parent)!r} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{name}: cannot write {str(p)!r}: folder {str(parent)!r} is not writable")
    return p
