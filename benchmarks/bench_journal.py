"""What journaling every Board call costs: ``neurram demo`` and a large write-verify, with and without the journal.

Run from the repository root::

    python benchmarks/bench_journal.py [--repeats 3] [--cells 65536]

Each case runs alternately with the journal on and off (``neurram_lab.experiments._common.JOURNAL_CALLS``)
on a fresh twin, and reports the median wall and CPU (process) time of each and the overheads
in per cent. On a shared machine those swing by tens of per cent from run to run, so each case
also runs once with the journal's own CPU time measured inside the run (``JournalTimings.journal_s``
through ``neurram_lab.runlog.journal_board.timed_journal``: time in each journaled call minus time in
the inner board, flushes included): ``journal_vs_run_pct``
is that over the CPU time of the rest of the run (what the journal slows the run by),
``journal_vs_board_pct`` over the board calls' time alone; the steadiest figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neurram_lab.experiments import _common, demo  # noqa: E402
from neurram_lab import open_board, read_run, write_verify  # noqa: E402


def run_demo(out: Path) -> tuple[float, float, Path]:
    with open_board("sim://?seed=0") as board:
        t, c = time.perf_counter(), time.process_time()
        s = demo.run(board, out)
        return time.perf_counter() - t, time.process_time() - c, Path(s["run_file"])


def run_write_verify(out: Path, n_cells: int) -> tuple[float, Path]:
    with open_board("sim://?seed=1") as board:
        n_cores = max(1, n_cells // 65536)
        per = n_cells // n_cores
        idx = np.arange(per)
        core = np.repeat(np.arange(n_cores), per)
        row, col = np.tile(idx // 256, n_cores), np.tile(idx % 256, n_cores)
        rng = np.random.default_rng(0)
        target = rng.uniform(2e-6, 40e-6, core.size)
        t, c = time.perf_counter(), time.process_time()
        with _common.start_run(board, out, "bench-write-verify", {"cells": n_cells}, {}) as log:
            b = log.board
            b.pulse("form", core, row, col, 4.6, 1e-6)
            res = write_verify(b, core, row, col, target)
            log.close("success", {"in_window_fraction": res.in_window_fraction})
        return time.perf_counter() - t, time.process_time() - c, log.path


def journal_share(fn, out: Path) -> tuple[float, float]:
    """Journal CPU time over board CPU time and over the rest of the run (per cent), inside one journaled run."""
    from neurram_lab.runlog.journal_board import timed_journal

    _common.JOURNAL_CALLS = True
    with timed_journal() as t:
        _, run_cpu_s, _ = fn(out)
    return 100 * t.journal_s / t.board_s, 100 * t.journal_s / (run_cpu_s - t.journal_s)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cells", type=int, default=65536)
    args = ap.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, fn in (("demo", run_demo), ("write_verify", lambda o: run_write_verify(o, args.cells))):
            times = {True: [], False: []}
            cpu = {True: [], False: []}
            for r in range(args.repeats):
                for on in (False, True):
                    _common.JOURNAL_CALLS = on
                    dt, dc, path = fn(Path(tmp) / f"{name}-{r}-{on}")
                    times[on].append(dt)
                    cpu[on].append(dc)
                    if on:
                        run = read_run(path, tables=False, journal=True)
                        calls = len(run.journal)
                        size = path.stat().st_size
            off, on = float(np.median(times[False])), float(np.median(times[True]))
            c_off, c_on = float(np.median(cpu[False])), float(np.median(cpu[True]))
            share, share_run = journal_share(fn, Path(tmp) / f"{name}-share")
            results[name] = {"repeats": args.repeats, "wall_off_s": round(off, 3), "wall_on_s": round(on, 3),
                             "overhead_pct": round(100 * (on / off - 1), 1), "cpu_off_s": round(c_off, 3),
                             "cpu_on_s": round(c_on, 3), "cpu_overhead_pct": round(100 * (c_on / c_off - 1), 1),
                             "journal_vs_board_pct": round(share, 1), "journal_vs_run_pct": round(share_run, 1),
                             "calls": calls,
                             "file_mb": round(size / 2**20, 2), "all_off_s": [round(t, 3) for t in times[False]],
                             "all_on_s": [round(t, 3) for t in times[True]]}
            print(name, results[name], flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
