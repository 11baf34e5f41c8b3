"""The differential check (drivers.rtl.diff) on a short plan: every rail once and every error path, on
hil:// and on rtl:// (the authors' neurram_top under Icarus), call for call."""

from __future__ import annotations

from neurram_lab.drivers.rtl import diff
from neurram_lab.drivers.rtl._scenario import ERRORS, ci_plan


def test_rails_and_error_paths_match_call_for_call(hdl_dir):
    ops = [op for op in ci_plan(0, 4) if op[0] == "rails"] + [("error", name) for name in ERRORS]
    res = diff.check(hdl_dir, "neurram_top", ops=ops)
    assert res["mismatch_list"] == []
    assert res["ops"] == len(ops) and res["op_kinds"] == ["error", "rails"]
    assert res["calls_compared"] > 100 and res["simulated_cycles"] > 0
