"""Lazy access to the project's numba-compiled kernels.

Kernel modules (``*_numba.py``) import numba at their top and define
top-level ``@njit(cache=True)`` functions, so numba's on-disk cache finds
them again in the next process. :func:`kernels` imports such a module on
first use (importing numba takes about 0.6 s) and returns it, or None where
numba is missing or ``ENABLED`` is False; every caller keeps a numpy path
that computes the same thing, and the tests compare the two.
"""

from __future__ import annotations

import importlib

ENABLED = True  # set False to force the numpy paths (tests compare the two)
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
