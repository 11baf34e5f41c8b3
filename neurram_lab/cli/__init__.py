"""The ``neurram`` command line: :func:`main` (:func:`console_main` for the console script), its commands and the sweep front.

Nothing imports this package but the console script: the commands find the
experiments through :mod:`neurram_lab.experiments` (its registry table) and
the benchmarks from the checkout (:mod:`.bench`).
"""

from .cli import console_main, main

__all__ = ["console_main", "main"]
