"""Sweeps: one experiment command over a grid of twin parameters and dies, each point a Dask task.

A sweep is planned (:mod:`.plan`: every argument checked, each point named by a
hash of the experiment, its options, the board, the twin overrides and the
seed; nothing starts), then each point runs as a task on Dask distributed
(:mod:`.cluster`: a ``LocalCluster`` of single-threaded worker processes, or an
existing cluster by its scheduler address). A point (:mod:`.point`) is a normal
run of the experiment's command (same options, same run file, replayable with
``neurram replay``) with the die seed and a twin-parameter file of the point's
overrides; it writes, in ``OUT/points/<key>/``, the run file, the figure and
``point.json`` (its row of the table), so a sweep run again finds its finished
points and skips them. The table ``OUT/sweep.csv`` (:mod:`.table`, one row per
point) is rewritten atomically as each point finishes; the figure
``OUT/sweep.png`` (:mod:`.figure`) shows the experiment's figure of merit
(declared by the experiment, :func:`neurram_lab.experiments._registry.figure_of_merit`)
against each swept parameter, mean and spread over seeds.

>>> plan = plan_sweep(["characterize", "mvm"], ["output_bits=6,8"], seeds="1-4", out="sweeps/mvm")  # doctest: +SKIP
>>> summary = run_sweep(plan, workers=2)  # doctest: +SKIP
>>> read_table(plan.table_path)  # doctest: +SKIP
"""

from .cluster import CONNECT_TIMEOUT_S, SweepError
from .figure import choose_merit, draw_figure
from .plan import (FIGURE_NAME, POINT_FILE, POINTS_DIR, OptionParser, Point, SweepPlan, check_scheduler,
                   parse_grid, parse_seeds, plan_sweep)
from .point import finished_row, run_point
from .run import run_sweep
from .table import TABLE_NAME, flatten_summary, read_table, write_table

__all__ = [
    "CONNECT_TIMEOUT_S", "FIGURE_NAME", "POINT_FILE", "POINTS_DIR", "TABLE_NAME", "OptionParser", "Point",
    "SweepError", "SweepPlan", "check_scheduler", "choose_merit", "draw_figure", "finished_row", "flatten_summary",
    "parse_grid", "parse_seeds", "plan_sweep", "read_table", "run_point", "run_sweep", "write_table",
]
