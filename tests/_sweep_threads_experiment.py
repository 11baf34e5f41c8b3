"""A stand-in experiment for tests/sim_backend/test_twin_threads_parameter.py: reports the twin's thread count and the
environment variable as its point sees them, and how many threads ran a real twin call's blocks."""

from __future__ import annotations

import os
import threading

EXPERIMENT = "sweep-threads-test"
COMMAND = ("characterize", "threads-test")
HELP = "test stand-in: report the twin's threads"
MERIT = "twin_threads_seen"


def add_arguments(parser) -> None:
    pass


def main(args, ctx) -> dict:
    import numpy as np

    from neurram_lab.sim_backend import _parallel

    seen = set()
    _parallel.run_blocks(lambda b: seen.add(threading.get_ident()), 64)
    with ctx.open_board() as board:
        board.read(np.zeros(70000, int), np.arange(70000) // 256 % 256, np.arange(70000) % 256)  # several blocks
    return {"twin_threads_seen": _parallel.n_threads(), "threads_that_ran": len(seen),
            "env": os.environ.get("NEURRAM_TWIN_THREADS", "")}
