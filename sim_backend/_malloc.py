"""Keep large freed blocks in the process heap (glibc only).

The twin works on arrays of millions of cells and frees its temporaries
every call. glibc hands blocks above its mmap threshold straight back to
the kernel, so the next call page-faults the same memory in again, which
costs more than the arithmetic on it (measured 3-10x on small VMs). Raising
the threshold and switching off heap trimming keeps those pages mapped.
Process-wide and idempotent; does nothing where glibc's ``mallopt`` is absent.

Opt-in, since it changes the whole process: memory freed afterwards (by
closed boards too) is never returned to the OS. ``SimBoard(malloc_tuning=True)``
or ``NEURRAM_MALLOC_TUNING=1`` in the environment applies it when the board
is created; by default nothing is changed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_done = False


def tuning_requested(option: bool | None = None) -> bool:
    """Whether a board applies :func:`keep_freed_memory`: ``option`` if given, else ``NEURRAM_MALLOC_TUNING``."""
    if option is not None:
        return bool(option)
    return os.environ.get("NEURRAM_MALLOC_TUNING", "").strip().lower() not in ("", "0", "false", "no")


def keep_freed_memory(mmap_threshold_bytes: int = 1 << 30) -> bool:
    """Ask glibc to serve large allocations from the heap and not trim it; True if applied."""
    global _done
    if _done:
        return True
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    ok = bool(mallopt(_M_MMAP_THRESHOLD, int(mmap_threshold_bytes))) and bool(mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))
    _done = ok
    return ok
