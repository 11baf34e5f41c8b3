"""Shared plumbing of experiments: run-file paths, starting a logged run, figures."""

from __future__ import annotations

import datetime as _dt
import uuid
from pathlib import Path

from neurram_lab.runlog import RunLog


def run_path(out_dir, experiment: str) -> Path:
    """A fresh ``OUT/<experiment>-<UTC time>-<id>.h5`` path."""
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    return Path(out_dir) / f"{experiment}-{stamp}-{uuid.uuid4().hex[:6]}.h5"


def start_run(board, out_dir, experiment: str, parameters: dict, tables: dict) -> RunLog:
    """Create the run file of an experiment with the board's snapshot in its record."""
    return RunLog(run_path(out_dir, experiment), experiment, parameters, tables, board.snapshot())


def figure_path(run_file: Path, suffix: str = "") -> Path:
    """PNG path next to a run file."""
    return run_file.with_name(run_file.stem + (f"-{suffix}" if suffix else "") + ".png")


def pyplot():
    """matplotlib.pyplot on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
