"""Parse integer selections such as ``0``, ``0-3``, ``0,5,7``, ``0-3,8`` (core selections also ``all``)."""

from __future__ import annotations

import numpy as np

from .errors import InputError, LimitError
from .board.limits import N_CORES


def parse_ranges(text, what: str = "selection") -> list[int]:
    """Integers of a selection string such as ``3``, ``0-3``, ``2,4,6`` or ``0-3,8`` (or an int / sequence),
    in the order given.

    Raises
    ------
    InputError
        Malformed text (naming ``what`` and the part), or a range that runs backwards.
    """
    if isinstance(text, (int, np.integer)):
        return [int(text)]
    if not isinstance(text, str):
        return [int(x) for x in text]
    items = []
    for part in text.strip().split(","):
        part = part.strip()
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        try:
            a = int(lo)
            b = int(hi) if sep else a
        except ValueError as exc:
            raise InputError(f"bad {what} {text!r}: {part!r} is not N or N-M") from exc
        if b < a:
            raise InputError(f"bad {what} {text!r}: range {part!r} runs backwards")
        items.extend(range(a, b + 1))
    return items


def parse_cores(text, n_cores: int = N_CORES) -> list[int]:
    """Sorted distinct core indices from a selection string (or an int / sequence); ``all`` is every core.

    Raises
    ------
    InputError
        Malformed text or an empty selection.
    LimitError
        A core outside 0..n_cores-1.
    """
    if isinstance(text, str) and text.strip().lower() == "all":
        return list(range(n_cores))
    items = parse_ranges(text, "core selection")
    if not items:
        raise InputError(f"core selection {text!r} selects no core")
    for c in items:
        if not 0 <= c < n_cores:
            raise LimitError("core", c, (0, n_cores - 1))
    return sorted(set(items))
