"""Running a planned sweep: finished points skipped, the rest on Dask, the table and the figure written."""

from __future__ import annotations

import time

from . import cluster
from .figure import choose_merit, draw_figure
from .point import finished_row
from .table import write_table


def run_sweep(plan, workers: int | None = None, scheduler: str | None = None, merit: str | None = None,
              progress=None) -> dict:
    """Run the points of ``plan`` not finished yet on Dask; returns the sweep's summary.

    Parameters
    ----------
    workers : int, optional
        Worker processes of a ``LocalCluster`` (one thread each); default: the CPUs, at most the points to run.
    scheduler : str, optional
        ``tcp://HOST:PORT`` of a running Dask scheduler instead of a local cluster.
    merit : str, optional
        The summary figure drawn; default the experiment's declared figure of merit.
    progress : callable, optional
        ``progress(total, desc, unit)`` -> tqdm-like bar counting points.

    Raises
    ------
    SweepError
        The scheduler cannot be reached or the local cluster cannot start.
    KeyboardInterrupt
        After writing the table of the points finished so far.
    """
    import numpy as np

    t0 = time.perf_counter()
    rows: dict = {}
    todo = []
    for p in plan.points:
        r = finished_row(p)
        if r is None:
            todo.append(p)
        else:
            rows[p.key] = r
    skipped = len(rows)
    bar = progress(len(plan.points), "sweep", "point") if progress else None
    if bar is not None:
        bar.update(skipped)
    write_table(plan, rows)

    def on_row():
        write_table(plan, rows)
        if bar is not None:
            bar.update(1)

    where = "none needed"
    try:
        if todo:
            where = cluster.run_on_dask(plan, todo, rows, workers, scheduler, on_row)
    finally:
        if bar is not None:
            bar.close()
        write_table(plan, rows)
    ordered = [rows[p.key] for p in plan.points if p.key in rows]
    merit_name = choose_merit(plan, ordered, merit)
    fig = draw_figure(plan, ordered, merit_name) if merit_name else None
    vals = [r.get(merit_name) for r in ordered if r.get("status") == "ok"]
    vals = [float(v) for v in vals if isinstance(v, (int, float)) and not isinstance(v, bool)]
    failed = [r for r in ordered if r.get("status") != "ok"]
    return {
        "command": " ".join(plan.words),
        "experiment": plan.experiment,
        "grid": plan.grid,
        "seeds": plan.seeds,
        "points": len(plan.points),
        "ran": len(todo),
        "skipped": skipped,
        "ok": len(ordered) - len(failed),
        "failed": len(failed),
        "errors": {r["point"]: r.get("error") for r in failed},
        "table": str(plan.table_path),
        "figure": str(fig) if fig else None,
        "merit": merit_name,
        "merit_mean": float(np.mean(vals)) if vals else None,
        "merit_std": float(np.std(vals)) if vals else None,
        "merit_min": min(vals) if vals else None,
        "merit_max": max(vals) if vals else None,
        "run_files_bytes": int(sum(r.get("run_file_bytes") or 0 for r in ordered)),
        "cluster": where,
        "wall_s": time.perf_counter() - t0,
    }
