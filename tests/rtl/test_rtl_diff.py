"""The differential check (drivers.rtl.diff) on a short plan, hil:// against rtl:// (the authors' neurram_top
under Icarus), call for call: the open (every rail set once), a rail move, two cells formed and read back
(auto-ranged: the ADC codes on 0x29/0x2A must be equal to the bit, which they were not while the emulator
sampled the integrator at t_shld * 1.28 us instead of resistance_read.v's (t_shld - 1) * 16 + 2 clocks),
one manual read, and every error path. Then, on the same open boards, single wrong entries of the driver's
tables (drivers.rtl._mutate): each one fails the check, at the field it corrupts."""

from __future__ import annotations

import pytest

from neurram_lab.drivers.rtl import _mutate, diff
from neurram_lab.drivers.rtl._scenario import ERRORS, V_CELL_READ_V, ci_plan

PLAN = ci_plan(0, 4)
CORE, CELLS = next((op[1], op[2][:2]) for op in PLAN if op[0] == "form")


FORM = [("rails", {"v_cell_read": V_CELL_READ_V}), ("form", CORE, CELLS)]
_FORMED: list = []  # the pair's cells are formed (the first test does it; the second alone does it itself)


@pytest.fixture(scope="module")
def pair(hdl_dir):
    p = diff.open_pair(hdl_dir, "neurram_top", 0)
    yield p
    p[0].close()
    p[2].close()


def test_form_read_rails_and_error_paths_match_call_for_call(pair):
    ops = FORM + [("read", CORE, CELLS), ("manual_read", CORE, CELLS[0])] + [("error", name) for name in ERRORS]
    res = diff.check(None, "neurram_top", ops=ops, pair=pair)
    _FORMED.append(True)
    assert res["mismatch_list"] == [] and res["mismatches"] == 0
    assert res["op_kinds"] == ["error", "form", "manual_read", "rails", "read"]
    # fields: 4 317 since the rail ramps send one frame for up to four DACs without per-word ACK polls (issue 20)
    assert res["calls_compared"] > 1000 and res["fields_compared"] > 4000 and res["simulated_cycles"] > 0


def test_board_time_model_within_5_percent_of_the_rtl_for_dac_operations(pair):
    """drivers.board_time's FPGA time against the RTL's own work on the pins: the DAC FSM's working clocks
    (hdl/board.v dac_busy_clk; 141 for a 4-word frame, where 32-clock words gave 130, 8 % low) and the pulse.
    5 %, where the issue asks 10 %, so that the 32-clock word, 0.92 of the RTL, fails."""
    _hb, _rh, rb, _rr = pair
    chip = rb.rtl.chip
    for op in [("rails", {"v_cell_read": 0.25}), ("set", CORE, CELLS[:1]), ("rails", {"v_cell_read": V_CELL_READ_V})]:
        m0, r0 = rb.board_time.fpga_s, chip.busy_ps["dac"] + chip.busy_ps["pulse"]
        diff.run_op(rb, op)
        diff.run_op(pair[0], op)
        model_s, rtl_s = rb.board_time.fpga_s - m0, (chip.busy_ps["dac"] + chip.busy_ps["pulse"] - r0) * 1e-12
        assert rtl_s > 0 and abs(model_s / rtl_s - 1) <= 0.05, (op[0], model_s, rtl_s)


# mutation -> what the first mismatch must name (the dac_channel one last: it leaves the driver's record of
# the DAC codes wrong for the operations after it)
EXPECTED = {"formula": "GetWireOutValue(0x29): result", "endpoint": "GetWireOutValue(0x22): result",
            "dac_channel": ": the driver set code"}


def test_each_wrong_table_entry_fails_the_check(pair):
    if not _FORMED:  # an unformed cell's read ranges for hours
        assert diff.check(None, "neurram_top", ops=FORM, pair=pair)["mismatch_list"] == []
    for name, expect in EXPECTED.items():
        res = _mutate.check_mutation(name, _mutate.ops_for(name, CORE, CELLS), pair=pair)
        assert res["mismatches"] >= 1 and expect in res["mismatch_list"][0], (name, res["mismatch_list"])
