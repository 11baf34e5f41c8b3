"""The differential check (drivers.rtl.diff) on a short plan, hil:// against rtl:// (the authors' neurram_top
under Icarus), call for call: the open (every rail set once), a rail move, two cells formed and read back
(auto-ranged: the ADC codes on 0x29/0x2A must be equal to the bit, which they were not while the emulator
sampled the integrator at t_shld * 1.28 us instead of resistance_read.v's (t_shld - 1) * 16 + 2 clocks),
one manual read, and every error path."""

from __future__ import annotations

from neurram_lab.drivers.rtl import diff
from neurram_lab.drivers.rtl._scenario import ERRORS, V_CELL_READ_V, ci_plan


def test_form_read_rails_and_error_paths_match_call_for_call(hdl_dir):
    plan = ci_plan(0, 4)
    form = next(op for op in plan if op[0] == "form")
    core, cells = form[1], form[2][:2]
    ops = [("rails", {"v_cell_read": V_CELL_READ_V}), ("form", core, cells), ("read", core, cells),
           ("manual_read", core, cells[0])] + [("error", name) for name in ERRORS]
    res = diff.check(hdl_dir, "neurram_top", ops=ops)
    assert res["mismatch_list"] == [] and res["mismatches"] == 0
    assert res["op_kinds"] == ["error", "form", "manual_read", "rails", "read"]
    assert res["calls_compared"] > 1000 and res["fields_compared"] > 5000 and res["simulated_cycles"] > 0
