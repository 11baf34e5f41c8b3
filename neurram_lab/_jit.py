"""Lazy access to the project's numba-compiled kernels.

Kernel modules (``*_numba.py``) import numba at their top and define
top-level ``@njit(cache=True)`` functions, so numba's on-disk cache finds
them again in the next process. :func:`kernels` imports such a module on
first use (importing numba takes about 0.6 s) and returns it, or None where
numba is missing or ``ENABLED`` is False (``NEURRAM_NO_JIT=1`` in the
environment sets it False at start); every caller keeps a numpy path that
computes the same thing, and the tests compare the two.
"""

from __future__ import annotations

import importlib
import os

ENABLED = os.environ.get("NEURRAM_NO_JIT", "") in ("", "0")  # False: the numpy paths everywhere
_modules: dict = {}


def kernels(module: str):
    """The imported kernel module ``module`` (dotted name), or None when compiled kernels are off."""
    if not ENABLED:
        return None
    if module not in _modules:
        try:
            _modules[module] = importlib.import_module(module)
        except ImportError:  # numba is a dependency; this guards platforms without a wheel
            _modules[module] = None
    return _modules[module]
