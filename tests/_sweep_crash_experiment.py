"""A stand-in experiment for the sweep tests: each point kills its worker process ``--deaths`` times, then succeeds.

Registered only inside the tests (``neurram_lab.experiments._registry.EXTRA_MODULES``); Dask workers import it by
name (spawned workers inherit the test process's ``sys.path``).
"""

from __future__ import annotations

import os
from pathlib import Path

EXPERIMENT = "sweep-crash-test"
COMMAND = ("characterize", "crash-test")
HELP = "test stand-in: kill the worker process --deaths times, then succeed"
MERIT = "deaths"  # its declared figure of merit (the sweep draws it, not the first numeric figure)


def add_arguments(parser) -> None:
    parser.add_argument("--deaths", type=int, default=1, help="times the point kills its worker before succeeding")


def run(board, out_dir, progress=None, deaths=1) -> dict:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    attempt = len(list(out.glob("attempt-*")))
    (out / f"attempt-{attempt}").write_text(str(os.getpid()))
    if attempt < deaths:
        os._exit(3)  # the worker process dies mid-point
    return {"attempts": attempt + 1, "deaths": deaths}


def main(args, ctx) -> dict:
    return run(None, ctx.out, deaths=args.deaths)
