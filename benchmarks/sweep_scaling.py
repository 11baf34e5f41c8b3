"""How a sweep scales with Dask workers: the same 8 equal points on 1 worker, then on 2.

Run from the repository root on a quiet machine (check ``uptime``), with the
authors' model and MNIST found (``NEURRAM_SHARED=/path/to/shared``)::

    python benchmarks/sweep_scaling.py [--points 8] [--workers 1,2]        # deploy mnist-cnn --limit 500
    python benchmarks/sweep_scaling.py --experiment "characterize write-verify --cores 0-1 --cells-per-core 16384 --iterations 3"

Each case is ``neurram sweep EXPERIMENT --seeds 1-8 --workers W`` into a fresh folder (the twin on
one thread per worker, ``--twin-threads 1``), timed from the command's start to its end, local
cluster start-up included. The points are equal in work: the same command on 8 dies. The default
point is the one issue 12 is about, a full program, 30-min settle, calibrate and infer run of the
authors' MNIST CNN (500 test images, about 12 s); ``--experiment "WORDS OPTIONS"`` sweeps another
command. Prints one JSON object: wall time per worker count, the ratio of each to the first (issue
12's goal: 2 workers at most 0.6x the wall time of 1 on a 2-core machine), the 1-minute load
average before and after each case and the CPUs; a load average above zero before a case means
other work shared the CPUs. ``point_wall_s_mean`` is the mean wall time of one point inside its
worker; the rest of ``wall_s`` is the cluster's start, the scheduling, the table and the figure.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_EXPERIMENT = "deploy mnist-cnn --limit 500"


def sweep_once(out: Path, workers: int, points: int, experiment: list) -> dict:
    argv = [sys.executable, "-m", "neurram_lab.cli", "sweep", *experiment, "--seeds", f"1-{points}",
            "--workers", str(workers), "--twin-threads", "1", "--out", str(out), "--json", "--quiet"]
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"sweep failed ({proc.returncode}): {proc.stderr[-2000:]}")
    s = json.loads(proc.stdout.strip().splitlines()[-1])
    if s["ok"] != points:
        raise SystemExit(f"sweep had failed points: {s['errors']}")
    import pandas as pd

    point_s = pd.read_csv(s["table"])["point_wall_s"]
    return {"workers": workers, "wall_s": round(wall, 2), "sweep_wall_s": round(s["wall_s"], 2),
            "point_wall_s_mean": round(float(point_s.mean()), 2), "point_wall_s_sum": round(float(point_s.sum()), 2),
            "load_before": round(load0, 2), "load_after": round(os.getloadavg()[0], 2)}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--points", type=int, default=8)
    ap.add_argument("--workers", default="1,2", help="worker counts to compare (default 1,2)")
    ap.add_argument("--experiment", default=DEFAULT_EXPERIMENT, metavar="WORDS OPTIONS",
                    help=f"the experiment command of every point (default {DEFAULT_EXPERIMENT!r})")
    a = ap.parse_args(argv)
    experiment = shlex.split(a.experiment)
    cases = []
    with tempfile.TemporaryDirectory(prefix="sweep-scaling-") as tmp:
        for w in [int(x) for x in a.workers.split(",")]:
            cases.append(sweep_once(Path(tmp) / f"w{w}", w, a.points, experiment))
    base = cases[0]["wall_s"]
    for c in cases:
        c["ratio_to_first"] = round(c["wall_s"] / base, 3)
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count()
    result = {"points": a.points, "experiment": " ".join(experiment), "cpus": cpus, "cases": cases}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
