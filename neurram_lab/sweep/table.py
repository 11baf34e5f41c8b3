"""The sweep table: one row per point (:func:`new_row`, the only place a row's columns are named), as CSV."""

from __future__ import annotations

import os
import socket

from ._files import write_atomic

TABLE_NAME = "sweep.csv"
# The columns every row has, in table order; the swept parameters stand after ``seed`` and the
# point's summary figures after ``worker`` (one that clashes with these gets a "summary." prefix).
HEAD = ("point", "experiment", "seed")
TAIL = ("status", "error", "run_file", "run_file_bytes", "point_wall_s", "worker")
ROW_KEYS = HEAD + TAIL
LIST_MAX = 32  # summary lists up to this length become indexed columns; longer ones stay in the run file


def new_row(point, status: str = "error", error: str = "", worker: str | None = None) -> dict:
    """The row of ``point`` before its figures: its key, experiment, seed, swept parameters and the sweep's columns.

    ``worker`` defaults to ``HOST:PID`` of the calling process.
    """
    row = {"point": point.key, "experiment": point.experiment, "seed": point.seed, **point.params}
    row.update(status=status, error=error, run_file="", run_file_bytes=None, point_wall_s=None,
               worker=f"{socket.gethostname()}:{os.getpid()}" if worker is None else worker)
    return row


def add_summary(row: dict, summary: dict) -> dict:
    """Add a point's run file (and its size) and every scalar summary figure (:func:`flatten_summary`) to ``row``."""
    run_file = summary.get("run_file")
    if run_file:
        row["run_file"] = str(run_file)
        row["run_file_bytes"] = os.path.getsize(run_file)
    for k, v in flatten_summary(summary).items():
        if k in ("run_file", "run_file_bytes"):
            continue
        row[k if k not in row else f"summary.{k}"] = v
    return row


def flatten_summary(summary: dict, prefix: str = "") -> dict:
    """Scalar summary figures by column name: nested dicts dotted, short lists indexed ``name[i]``.

    Lists longer than 32 entries (and deeper structures) are left to the run file's summary.
    """
    out = {}
    for k, v in summary.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten_summary(v, name + "."))
        elif isinstance(v, (list, tuple)):
            if len(v) <= LIST_MAX and all(_is_scalar(x) for x in v):
                out.update({f"{name}[{i}]": _plain(x) for i, x in enumerate(v)})
        elif _is_scalar(v):
            out[name] = _plain(v)
    return out


def _plain(v):
    return v.item() if hasattr(v, "item") else v


def _is_scalar(v) -> bool:
    return v is None or isinstance(v, (bool, int, float, str)) or (hasattr(v, "item") and getattr(v, "ndim", 1) == 0)


def write_table(plan, rows: dict):
    """Write (atomically) ``OUT/sweep.csv``: the rows of the points finished so far, in plan order.

    Returns the table's path. A table with no point finished yet still has the header.
    """
    import pandas as pd

    ordered = [rows[p.key] for p in plan.points if p.key in rows]
    head = [*HEAD, *plan.grid, *TAIL]
    cols = list(head)
    for r in ordered:
        cols += [c for c in r if c not in cols]
    df = pd.DataFrame(ordered, columns=cols)
    plan.out.mkdir(parents=True, exist_ok=True)
    write_atomic(plan.table_path, df.to_csv(index=False))
    return plan.table_path


def read_table(path) -> "pd.DataFrame":  # noqa: F821
    """A sweep table (``OUT/sweep.csv``) as a pandas DataFrame."""
    import pandas as pd

    return pd.read_csv(path)
