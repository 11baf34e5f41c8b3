"""The RTL check's cost and reach: the default plan timed, and every single-constant change of the driver's
tables run on boards opened under it.

Run from the repository root (needs Icarus Verilog, cocotb and the authors' HDL)::

    python benchmarks/bench_rtl_check.py [--hdl DIR (default $NEURRAM_SHARED/authors/HDL)] [--skip-plan]
        [--plan ci|full] [--mutations all|none|NAME,...] [--board-time]

- the plan: ``drivers.rtl.diff.check``; ``--plan ci`` (default) the size CI uses (the issue's speed goal:
  64 cells formed and read back, every rail, SET/RESET, manual reads, a 16-vector MVM, the neuron test,
  the error paths, no random operations), ``--plan full`` what ``neurram rtl-check`` runs (that, 8 seeded
  operations and the MVM variety); wall seconds (open included), simulated cycles, cycles/s, calls and
  fields compared, mismatches;
- the mutations (``drivers.rtl._mutate.MUTATIONS``): each made before both boards open (the open itself runs
  under it, as a wrong ``neurram_top.py`` would), then a rail move, two cells formed and the operations
  ``drivers.rtl._mutate.ops_for`` gives for that mutation (the ones that use the changed entry: a rail move,
  a SET, an auto-ranged read, an MVM, the LFSR preset and read, a stochastic MVM); caught = at least one
  mismatch, with the first one shown. ~30-60 s each (the open is ~270 000 simulated cycles of DAC writes).

- ``--board-time``: per operation kind (rails, form, read, set), the FPGA busy time ``drivers.board_time``
  predicts for the driver's calls against the FPGA's own work in the RTL (the DAC FSM's working clocks,
  ``hdl/board.v`` ``dac_busy_clk``; pulses and read windows on the pins), and their ratio.

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neurram_lab.drivers.rtl import _mutate, default_hdl_dir, diff  # noqa: E402
from neurram_lab.drivers.rtl._scenario import V_CELL_READ_V, bounded_ops, ci_plan  # noqa: E402


def _rtl_busy_ps(chip) -> int:
    """The FPGA's own work on the pins so far (ps): the DAC FSM's working clocks, program pulses, read windows
    (not ``dac_frame``, CS low to high, which includes the waits for the simulated host's next word)."""
    return chip.busy_ps["dac"] + chip.busy_ps["pulse"] + chip.busy_ps["read"]


def board_time_vs_rtl(hdl) -> dict:
    """Per operation kind: the FPGA busy time ``drivers.board_time`` predicts for the calls the driver made
    on rtl:// (``fpga_busy_s``) against the FPGA work the RTL's pins showed (DAC frames CS low to high,
    program pulses, read windows); ratio model / RTL."""
    core, cells = next((op[1], op[2][:4]) for op in ci_plan(0, 8) if op[0] == "form")
    ops = [("rails", {"v_cell_read": V_CELL_READ_V}), ("form", core, cells), ("read", core, cells),
           ("set", core, cells[:2]), ("read", core, cells[:2])]
    hb, _rh, rb, _rr = diff.open_pair(hdl, "neurram_top", 0)
    by_kind: dict = {}
    try:
        model, chip = rb.board_time, rb.rtl.chip
        for op in ops:
            m0, r0 = model.fpga_s, _rtl_busy_ps(chip)
            diff.run_op(rb, op)
            diff.run_op(hb, op)
            k = by_kind.setdefault(op[0], {"model_s": 0.0, "rtl_s": 0.0})
            k["model_s"] += model.fpga_s - m0
            k["rtl_s"] += (_rtl_busy_ps(chip) - r0) * 1e-12
    finally:
        hb.close()
        rb.close()
    for k in by_kind.values():
        k["ratio"] = round(k["model_s"] / k["rtl_s"], 4) if k["rtl_s"] else None
        k["model_s"], k["rtl_s"] = round(k["model_s"], 9), round(k["rtl_s"], 9)
    return by_kind


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hdl", default=None)
    ap.add_argument("--skip-plan", action="store_true")
    ap.add_argument("--plan", default="ci", choices=("ci", "full"))
    ap.add_argument("--mutations", default="all", help="all, none or NAME,NAME")
    ap.add_argument("--board-time", action="store_true", help="the board-time model's FPGA time against the RTL's")
    a = ap.parse_args(argv)
    hdl = a.hdl or default_hdl_dir()
    out: dict = {}
    if not a.skip_plan:
        t0 = time.perf_counter()
        ops = bounded_ops(0, 64, 0) if a.plan == "ci" else None  # None: rtl-check's default plan
        res = diff.check(hdl, "neurram_top", ops=ops)
        res["wall_with_open_s"] = round(time.perf_counter() - t0, 2)
        out["plan"] = {"plan": a.plan} | {k: res[k] for k in ("ops", "op_kinds", "calls_compared", "fields_compared",
                                                              "mismatches", "mismatch_list",
                                           "simulated_cycles", "wall_s", "wall_with_open_s", "cycles_per_s")}
    if a.board_time:
        out["board_time"] = board_time_vs_rtl(hdl)
        print("board_time", out["board_time"], file=sys.stderr, flush=True)
    names = [] if a.mutations == "none" else list(_mutate.MUTATIONS) if a.mutations == "all" else a.mutations.split(",")
    core, cells = next((op[1], op[2][:2]) for op in ci_plan(0, 4) if op[0] == "form")
    form = [("rails", {"v_cell_read": V_CELL_READ_V}), ("form", core, cells)]
    out["mutations"] = {}
    for name in names:
        t0 = time.perf_counter()
        ops = form + _mutate.ops_for(name, core, cells)  # the operations that use the changed entry
        r = _mutate.check_mutation(name, ops, hdl=hdl)
        out["mutations"][name] = {"what": _mutate.MUTATIONS[name][2], "ops": [op[0] for op in ops],
                                  "caught": r["mismatches"] > 0,
                                  "first_mismatch": (r["mismatch_list"] or [None])[0],
                                  "wall_s": round(time.perf_counter() - t0, 1)}
        print(name, out["mutations"][name], file=sys.stderr, flush=True)
    print(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
