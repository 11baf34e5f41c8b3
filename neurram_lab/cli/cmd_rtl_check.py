"""``neurram rtl-check --hdl DIR [--top T] [--ops N] [--seed S] [--json]``: the driver and ``hil://`` checked
against the authors' Verilog (``drivers.rtl.diff``) before a chip is plugged in.

Prints calls compared, fields compared, mismatches (each shown), simulated cycles, wall time and cycles/s.
With ``--json`` those lines go to stderr and stdout carries the one JSON object alone.
Exit status 0 with no mismatch, 1 with any, 2 on bad input (missing folder, no ``neurram_top.v``, a file that
is not Verilog, a design that does not elaborate, an unknown ``--top``, ``--ops`` below 1), one line each.
"""

from __future__ import annotations

import sys

from ..errors import InputError

COMMAND = (None, "rtl-check")
HELP = "run the differential check hil:// vs the authors' RTL (Icarus Verilog + cocotb); exit 0 only with no mismatch"
TOPS = ("neurram_top", "neurram_top_sar", "neurram_top_voltage_mode")


def add_arguments(parser) -> None:
    parser.add_argument("--hdl", required=True, metavar="DIR", help="folder of the authors' Verilog (neurram_top.v ...)")
    parser.add_argument("--top", default="neurram_top", help=f"top level: {', '.join(TOPS)}")
    parser.add_argument("--ops", default="8", help="seeded random Board operations after the CI plan (>= 1)")


def _ops(text) -> int:
    try:
        n = int(text)
    except (TypeError, ValueError):
        raise InputError(f"--ops {text!r} is not an integer") from None
    if n < 1:
        raise InputError(f"--ops {n}: need at least 1")
    return n


def main(args, ctx) -> dict:
    from neurram_lab.drivers.rtl import _build

    try:
        n_ops = _ops(args.ops)
        _build.build(args.hdl, args.top)  # every bad-input refusal, before anything runs
    except InputError as exc:
        print(f"neurram: error: {exc}", file=sys.stderr)
        return {"error": str(exc), "exit": 2}
    from neurram_lab.drivers.rtl import diff

    seed = int(args.seed or 0)
    ops = diff.scenario_ops(n_ops, seed, top=args.top)  # the plan, cells whose reads would range for hours left out
    bar = ctx.progress(len(ops), "rtl-check", "op")
    lines = not ctx.show_progress and not ctx.quiet  # no bar (not a terminal): a line on stderr now and then
    if lines:
        print(f"rtl-check: {args.top}: opening both boards, then {len(ops)} operations", file=sys.stderr, flush=True)
    step = max(1, len(ops) // 10)

    def progress(i, n):
        if i:
            bar.update(1)
        if lines and i and (i % step == 0 or i == n):
            print(f"rtl-check: {i}/{n} operations", file=sys.stderr, flush=True)

    try:
        res = diff.check(args.hdl, args.top, seed=seed, ops=ops, progress=progress)
    finally:
        bar.close()
    say = _say(ctx)
    say(f"{res['top']}: {res['calls_compared']} calls compared, {res['fields_compared']} fields, "
        f"{res['mismatches']} mismatches; {res['simulated_cycles']} cycles simulated in {res['wall_s']} s "
        f"({res['cycles_per_s']} cycles/s)")
    for m in res["mismatch_list"]:
        say(f"  MISMATCH {m}")
    res["exit"] = 0 if res["mismatches"] == 0 else 1
    return res


def _say(ctx):
    """Human-readable lines: on stdout, or on stderr with ``--json`` so that stdout holds only the JSON
    object; nothing with ``--quiet``."""
    if ctx.quiet:
        return lambda text: None
    if ctx.json:
        return lambda text: print(text, file=sys.stderr, flush=True)
    return ctx.say


def exit_status(summary) -> int:
    return int(summary.get("exit", 1)) if isinstance(summary, dict) else 1
