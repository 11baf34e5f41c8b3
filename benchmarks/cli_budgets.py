"""Wall-clock budgets of the CLI runs the test suite checks for results (the tests assert no times).

Run from the repository root::

    python benchmarks/cli_budgets.py [--budget-s 60]

Runs ``neurram demo``, ``neurram characterize write-verify`` and ``neurram
characterize relaxation`` with the options of ``tests/cli/test_cli.py`` and
``tests/cli/test_programming_cli.py``, one JSON line each (command, ``wall_s`` as
the run reports it, budget, within); exits 1 when a run is over its budget.
Times swing with the machine's load: a figure over budget on a busy machine is
a reason to run again on a quiet one, not a verdict.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

RUNS = {
    "demo": ["demo", "--seed", "3"],
    "characterize-write-verify": ["characterize", "write-verify", "--cores", "0,2", "--cells-per-core", "4096",
                                  "--iterations", "3", "--seed", "2"],
    "characterize-relaxation": ["characterize", "relaxation", "--cells-per-level", "512", "--until-s", "172800",
                                "--n-times", "8", "--seed", "4"],
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget-s", type=float, default=60.0, help="wall-clock budget of each run (s, default 60)")
    args = ap.parse_args(argv)
    over = 0
    for name, words in RUNS.items():
        with tempfile.TemporaryDirectory() as out:
            p = subprocess.run([sys.executable, "-m", "neurram_lab.cli", *words, "--json", "--quiet", "--out", out],
                               capture_output=True, text=True)
        if p.returncode != 0:
            print(json.dumps({"run": name, "error": p.stderr.strip().splitlines()[-1:]}))
            over += 1
            continue
        wall = float(json.loads(p.stdout.strip().splitlines()[-1])["wall_s"])
        ok = wall < args.budget_s
        over += not ok
        print(json.dumps({"run": name, "wall_s": round(wall, 2), "budget_s": args.budget_s, "within": ok}))
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
