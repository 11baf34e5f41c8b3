"""``neurram sweep EXPERIMENT [options] --grid PARAM=V1,V2 --seeds 1-8``: an experiment over twin parameters and dies.

The experiment command and its options are given as on their own
(``neurram sweep characterize write-verify --cores 0 --iterations 1 ...``);
the sweep's options (``--grid``, ``--seeds``, ``--workers``,
``--scheduler``, ``--merit``, ``--twin-threads`` and the common ``--board``,
``--out``, ``--json``, ``--quiet``, ``--debug``) may stand anywhere after
``sweep``. The sweep itself is :mod:`neurram_lab.sweep`; this module only parses and calls it.
"""

from __future__ import annotations

import argparse

from ..errors import InputError

COMMAND = (None, "sweep")
HELP = "run an experiment command over a grid of twin parameters and dies (seeds) on Dask"
DESCRIPTION = (
    "Run an experiment command (characterize ..., deploy ..., demo) once per point of the product of --grid values "
    "and --seeds (each seed a die), each point a Dask task with its own run file under OUT/points/. The table "
    "OUT/sweep.csv (parameters, seed, status, error, run file and its size, every summary figure) is rewritten as "
    "points finish; OUT/sweep.png plots the figure of merit against each swept parameter. Running the same sweep "
    "again skips the points already finished."
)

# Options of the sweep itself: name -> takes a value (these are taken out of the experiment's options).
_SWEEP_OPTIONS = {"--grid": True, "--seeds": True, "--workers": True, "--scheduler": True, "--merit": True,
                  "--twin-threads": True, "--board": True, "--out": True, "--json": False, "--quiet": False,
                  "--debug": False, "--seed": True}


def add_arguments(parser) -> None:
    add_sweep_options(parser)
    parser.add_argument("experiment", nargs=argparse.REMAINDER, metavar="EXPERIMENT [OPTIONS]",
                        help="the experiment command and its options, e.g. characterize write-verify --cores 0")


def add_sweep_options(parser) -> None:
    g = parser.add_argument_group("sweep options")
    g.add_argument("--grid", action="append", metavar="PARAM=V1,V2,...",
                   help="values of a twin parameter (dotted TwinParams name, e.g. circuit.r_wire_ohm) or of an "
                        "experiment option (output_bits, input_bits, iterations ...); repeat for a product")
    g.add_argument("--seeds", default="0", metavar="N-M", help="die seeds: N, N-M, N,M,... (default 0)")
    g.add_argument("--workers", type=int, default=None, metavar="N",
                   help="worker processes of the local Dask cluster, one thread each (default: the CPUs)")
    g.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                   help="run on an existing Dask cluster (dask scheduler / dask worker) instead")
    g.add_argument("--merit", default=None, metavar="FIGURE", help="summary figure drawn in the sweep figure")
    g.add_argument("--twin-threads", type=int, default=1, metavar="N",
                   help="twin threads per point (default 1)")


def split_tokens(tokens: list[str]) -> tuple[list[str], list[str]]:
    """(sweep option tokens, experiment tokens) of the words after ``sweep``."""
    mine, theirs = [], []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        opt = tok.split("=", 1)[0] if tok.startswith("--") else None
        if opt in _SWEEP_OPTIONS:
            mine.append(tok)
            if _SWEEP_OPTIONS[opt] and "=" not in tok:
                if i + 1 >= len(tokens):
                    raise InputError(f"neurram sweep: {opt} needs a value")
                mine.append(tokens[i + 1])
                i += 1
        else:
            theirs.append(tok)
        i += 1
    return mine, theirs


def main(args, ctx) -> dict:
    from .cli import CliContext, _common, check_out
    from neurram_lab.sweep import OptionParser, check_scheduler, plan_sweep, run_sweep

    mine, theirs = split_tokens(list(args.experiment or []))
    p = OptionParser(prog="neurram sweep", add_help=False, allow_abbrev=False)
    add_sweep_options(p)
    _common(p)
    p.parse_args(mine, namespace=args)  # updates args in place: the CLI reads --json / --debug from it
    check_out(args.out, "sweep", one_run=False)  # the sweep writes a folder of runs
    ctx = CliContext(args)
    if args.seed is not None:
        raise InputError("neurram sweep: the dies are --seeds (e.g. --seeds 1-8), not --seed")
    if not theirs:
        raise InputError("neurram sweep: name the experiment to sweep, e.g. neurram sweep characterize write-verify")
    if args.workers is not None and args.scheduler:
        raise InputError("neurram sweep: give --workers (local cluster) or --scheduler (existing cluster), not both")
    if args.workers is not None and args.workers < 1:
        raise InputError(f"neurram sweep: --workers must be at least 1, got {args.workers}")
    if args.twin_threads < 1:
        raise InputError(f"neurram sweep: --twin-threads must be at least 1, got {args.twin_threads}")
    scheduler = check_scheduler(args.scheduler) if args.scheduler else None
    plan = plan_sweep(theirs, args.grid or [], args.seeds, args.board, args.out, twin_threads=args.twin_threads)
    ctx.say(f"Sweep of {' '.join(plan.words)}: {len(plan.points)} points "
            f"({len(plan.seeds)} dies x {len(plan.points) // len(plan.seeds)} parameter sets) into {plan.out}")
    try:
        s = run_sweep(plan, workers=args.workers, scheduler=scheduler, merit=args.merit,
                      progress=lambda total, desc, unit: ctx.progress(total, desc, unit))
    except KeyboardInterrupt:
        import sys

        print(f"neurram sweep: interrupted; the table of the points finished so far is {plan.table_path} "
              "(the same command resumes)", file=sys.stderr)
        raise
    ctx.say(f"{s['ran']} points run, {s['skipped']} already finished, {s['failed']} failed ({s['wall_s']:.1f} s).")
    if s["merit"] and s["merit_mean"] is not None:
        ctx.say(f"{s['merit']}: mean {s['merit_mean']:.4g}, std {s['merit_std']:.3g}, "
                f"min {s['merit_min']:.4g}, max {s['merit_max']:.4g}")
    for key, err in s["errors"].items():
        ctx.say(f"point {key}: {err}")
    ctx.say(f"Table:  {s['table']}" + (f"\nFigure: {s['figure']}" if s["figure"] else ""))
    return s
