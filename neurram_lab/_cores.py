"""Parse core selections such as ``0``, ``0-3``, ``0,5,7``, ``0-3,8`` or ``all``."""

from __future__ import annotations

from .errors import InputError, LimitError
from .board.limits import N_CORES


def parse_cores(text, n_cores: int = N_CORES) -> list[int]:
    """Sorted distinct core indices from a selection string (or an int / sequence).

    Raises
    ------
    InputError
        Malformed text or an empty selection.
    LimitError
        A core outside 0..n_cores-1.
    """
    if isinstance(text, int):
        items = [text]
    elif not isinstance(text, str):
        items = [int(x) for x in text]
    else:
        s = text.strip().lower()
        if s == "all":
            return list(range(n_cores))
        items = []
        for part in s.split(","):
            part = part.strip()
            if not part:
                continue
            lo, sep, hi = part.partition("-")
            try:
                a = int(lo)
                b = int(hi) if sep else a
            except ValueError as exc:
                raise InputError(f"bad core selection {text!r}: {part!r} is not N or N-M") from exc
            if b < a:
                raise InputError(f"bad core selection {text!r}: range {part!r} runs backwards")
            items.extend(range(a, b + 1))
    if not items:
        raise InputError(f"core selection {text!r} selects no core")
    for c in items:
        if not 0 <= c < n_cores:
            raise LimitError("core", c, (0, n_cores - 1))
    return sorted(set(items))
