"""One point of a sweep, as a worker runs it: the experiment's command with the point's die and twin parameters.

:func:`run_point` never raises for the experiment's errors: a failing point is a
row with ``status`` ``error``, and the sweep goes on.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import traceback
from pathlib import Path

from ._files import write_atomic
from .plan import experiment_parser
from .table import add_summary, new_row


class PointContext:
    """What an experiment command's ``main(args, ctx)`` gets in a sweep point.

    Quiet (no text, no progress bars), its run files in ``out``, its board the
    point's board spec opened with the point's die ``seed`` and, where the point
    overrides twin parameters, ``params_file``.
    """

    quiet, json, show_progress = True, False, False

    def __init__(self, board_spec: str, seed: int, out, params_file=None):
        self.board_spec, self.seed, self.out = board_spec, seed, Path(out)
        self.params_file = params_file

    def open_board(self, **options):
        """Open the point's board (the twin with its seed and twin-parameter file)."""
        from ..board.registry import open_board, parse_spec

        if parse_spec(self.board_spec)[0] in ("sim", "hil"):
            options.setdefault("seed", self.seed)
            if self.params_file is not None:
                options.setdefault("params", str(self.params_file))
        return open_board(self.board_spec, **options)

    def progress(self, total, desc, unit="it"):
        """A disabled bar (points are quiet)."""
        from .._progress import progress_bar

        return progress_bar(total, desc, unit, disable=True)

    def say(self, text):
        """Nothing: points are quiet."""


def point_arguments(point, out_dir) -> argparse.Namespace:
    """The experiment's parsed options of ``point`` with the common ones a command gets (board, seed, out, quiet)."""
    import importlib

    mod = importlib.import_module(point.module)
    ns = experiment_parser(mod, point.words).parse_args(point.argv)
    ns.board, ns.seed, ns.out, ns.quiet, ns.json, ns.debug = point.board, point.seed, str(out_dir), True, False, False
    return ns


def twin_file(point, out_dir):
    """Write the point's twin parameters (the board's ``params`` file, if any, with the point's overrides)
    to ``out_dir/twin.json``; returns its path, or None when the point overrides none.

    Raises
    ------
    InputError
        A value the twin refuses (the point's error).
    """
    if not point.twin:
        return None
    from neurram_lab.sim_backend.params import TwinParams

    from ..board.registry import parse_spec

    base = parse_spec(point.board)[2].get("params")
    merged = (TwinParams.from_file(base) if base else TwinParams()).to_dict()
    for name, value in point.twin.items():
        sec, fname = name.split(".", 1)
        merged[sec][fname] = value
    TwinParams.from_dict(merged)  # a bad value is this point's error
    path = Path(out_dir) / "twin.json"
    write_atomic(path, json.dumps(merged, indent=1, sort_keys=True))
    return path


def run_point(point) -> dict:
    """Run one point of a sweep; returns its table row (never raises for the experiment's errors).

    Runs the experiment's command ``main`` with ``--seed`` = the point's die, the
    twin overrides in ``twin.json`` beside its run file, the twin on
    ``point.twin_threads`` threads (and BLAS on one), output quiet, and glibc
    keeping the twin's freed memory mapped for the worker's life
    (``NEURRAM_MALLOC_TUNING=1`` unless the worker's environment sets it). The row
    (also written to ``point.json``) holds the swept parameters, the seed, the
    status (``ok`` / ``error``), the error, the run file, its size and every
    summary figure.
    """
    import importlib

    # A worker exists to run points: the twin keeps freed memory mapped for the next call and point
    # (unless the worker's environment says NEURRAM_MALLOC_TUNING=0).
    os.environ.setdefault("NEURRAM_MALLOC_TUNING", "1")
    t0 = time.perf_counter()
    out_dir = Path(point.out_dir)
    row = new_row(point)
    tb = ""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        from threadpoolctl import threadpool_limits

        from ..sim_backend import twin_threads

        mod = importlib.import_module(point.module)
        ns = point_arguments(point, out_dir)
        ctx = PointContext(point.board, point.seed, out_dir, twin_file(point, out_dir))
        with threadpool_limits(1), twin_threads(point.twin_threads):  # the point's twin threads, as a parameter
            summary = mod.main(ns, ctx) or {}
        row["status"] = "ok"
        add_summary(row, summary)
    except Exception as exc:  # noqa: BLE001 - a point that raises is recorded, the sweep goes on
        row["status"] = "error"
        row["error"] = f"{type(exc).__name__}: {exc}"
        tb = traceback.format_exc()
        if not row["run_file"]:  # an interrupted run file is still worth pointing at
            h5 = sorted(out_dir.glob("*.h5"), key=lambda p: p.stat().st_mtime) if out_dir.is_dir() else []
            if h5:
                row["run_file"], row["run_file_bytes"] = str(h5[-1]), h5[-1].stat().st_size
    row["point_wall_s"] = time.perf_counter() - t0
    try:
        write_atomic(point.point_file, json.dumps({"row": row, "argv": point.argv, "board": point.board,
                                                  "twin": point.twin, "traceback": tb}, default=str))
    except OSError as exc:
        row["status"], row["error"] = "error", f"cannot write {point.point_file}: {exc}"
    return row


def finished_row(point) -> dict | None:
    """The row of a point finished by an earlier run of the sweep, or None."""
    try:
        data = json.loads(point.point_file.read_text())
    except (OSError, ValueError):
        return None
    row = data.get("row") if isinstance(data, dict) else None
    if not isinstance(row, dict) or row.get("status") != "ok" or row.get("point") != point.key:
        return None
    if row.get("run_file") and not Path(row["run_file"]).exists():
        return None
    return row
