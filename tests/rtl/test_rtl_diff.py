"""The differential check (drivers.rtl.diff) on a short plan, hil:// against rtl:// (the authors' neurram_top
under Icarus), call for call: the open (every rail set once), a rail move, two cells formed and read back
(auto-ranged: the ADC codes on 0x29/0x2A must be equal to the bit, which they were not while the emulator
sampled the integrator at t_shld * 1.28 us instead of resistance_read.v's (t_shld - 1) * 16 + 2 clocks),
one manual read, and every error path. Then, on the same open boards, single wrong entries of the driver's
tables (drivers.rtl._mutate): each one fails the check, at the field it corrupts.

The tests share one open pair (an open costs ~18 s), so each must leave the two boards equal. Two do not, and
run on a pair of their own (``own_pair``): the multi-row MVM test (there rtl:// runs the twin for every
enabled core whose row's neuron mask, y_addr, is still set from an earlier run, hil:// only for the rows read
out: 2 more twin MVMs on rtl://, its clock 0.78 us ahead and those cells aged, which no call or pin shows; a
read after it differed by a code or two at 0x29 in whatever test came next on that worker, the -n 2 flake
of the mutation test), and the mutation test (its DAC-channel change leaves the driver's record of the DAC
codes unlike the RTL's pins: every later check fails "before this check")."""

from __future__ import annotations

import pytest

from neurram_lab.drivers.rtl import _mutate, diff
from neurram_lab.drivers.rtl._scenario import ERRORS, V_CELL_READ_V, ci_plan

PLAN = ci_plan(0, 4)
CORE, CELLS = next((op[1], op[2][:2]) for op in PLAN if op[0] == "form")


FORM = [("rails", {"v_cell_read": V_CELL_READ_V}), ("form", CORE, CELLS)]
_FORMED: list = []  # the pair's cells are formed (the first test does it; the second alone does it itself)


def _open(hdl_dir):
    p = diff.open_pair(hdl_dir, "neurram_top", 0)
    yield p
    p[0].close()
    p[2].close()


@pytest.fixture(scope="module")
def pair(hdl_dir):
    """The module's open pair; every test on it leaves the two boards equal (see the module docstring)."""
    yield from _open(hdl_dir)


@pytest.fixture
def own_pair(hdl_dir):
    """A pair for one test that leaves the boards unequal (its cells unformed)."""
    yield from _open(hdl_dir)


def test_form_read_rails_and_error_paths_match_call_for_call(pair):
    ops = FORM + [("read", CORE, CELLS), ("manual_read", CORE, CELLS[0])] + [("error", name) for name in ERRORS]
    res = diff.check(None, "neurram_top", ops=ops, pair=pair)
    _FORMED.append(True)
    assert res["mismatch_list"] == [] and res["mismatches"] == 0
    assert res["op_kinds"] == ["error", "form", "manual_read", "rails", "read"]
    # the open (every rail set once) is compared by the pair's first check, this one's or an earlier test's:
    # counted over all the pair recorded since it opened (this test first: the same figures as res)
    whole = diff.compare(pair[1].calls, pair[3].calls)
    assert whole.mismatches == []
    # fields: 4 317 since the rail ramps send one frame for up to four DACs without per-word ACK polls (issue 20)
    assert whole.calls_compared > 1000 and whole.fields_compared > 4000 and res["simulated_cycles"] > 0


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


MVM_OPS = [("mvm", CORE, CELLS, 1, 1, 3, "forward", 0, False, None),
           ("mvm", CORE, CELLS, 1, 2, 4, "backward", 1, True, None),
           ("neuron_test", CORE, (0.95,), 4)]


def test_mvm_and_neuron_test_match_plane_for_plane_and_byte_for_byte(pair):
    """An MVM forward and backward and a neuron test through the chip's scan chains in board.v: every input
    plane the neurons sampled (core, direction, pulses, 256 lines), every 0x28 status after each wait and
    every 0xA2 readout byte equal on hil:// and rtl://, the codes too."""
    if not _FORMED:
        assert diff.check(None, "neurram_top", ops=FORM, pair=pair)["mismatch_list"] == []
        _FORMED.append(True)
    n0 = len(pair[3].calls)
    res = diff.check(None, "neurram_top", ops=MVM_OPS, pair=pair)
    assert res["mismatch_list"] == [] and res["mismatches"] == 0
    effects = [e for c in pair[3].calls[n0:] for e in c[3]]
    planes = [e for e in effects if e[0] == "input_plane"]
    assert [(e[2], e[3]) for e in planes] == [("forward", 1)] * 2 + [("backward", 1)] * 2  # 2 cycles, 1 pulse
    reads = [c[2][1] for c in pair[3].calls[n0:] if c[0] == "ReadFromPipeOut"]
    assert len(reads) == 3 and all(len(r) == 256 for r in reads)
    assert pair[2].rtl.chip.conversions >= 3


ROWS_OPS = [("form", 6, CELLS), ("form", 12, CELLS),
            ("mvm_rows", (0, 6), CELLS, 1, 1, 2, "forward", 2, False, None),       # rows 0, 1: one run
            ("mvm_rows", (0, 12, 30), CELLS, 1, 2, 3, "backward", 3, True, None)]  # rows 0, 2, 5: one run


def test_multi_row_mvm_runs_match_on_every_enabled_core(own_pair):
    """Runs of several core rows (the driver enables the whole core column): the input planes of all eight
    enabled cores, the rows' readout bytes in the 0xA2 arbiter's order and the codes equal on hil:// and
    rtl://; before, hil:// showed only the planes of the rows it read (16 against 64 here) and, after a
    one-row run, read a three-row run out rotated. On a pair of its own: after these runs the twins differ
    (rtl:// also converts the enabled cores of rows not read; the module docstring)."""
    pair = own_pair
    assert diff.check(None, "neurram_top", ops=FORM, pair=pair)["mismatch_list"] == []
    n0 = len(pair[3].calls)
    res = diff.check(None, "neurram_top", ops=[("mvm", 12, CELLS, 1, 1, 2, "forward", 4, False, None)] + ROWS_OPS,
                     pair=pair)
    assert res["mismatch_list"] == [] and res["mismatches"] == 0
    cores = {e[1] for c in pair[3].calls[n0:] for e in c[3] if e[0] == "input_plane"}
    assert cores == {0, 6, 12, 18, 24, 30, 36, 42}  # the column, not only the rows read


def test_board_time_mvm_within_10_percent_of_the_rtl(pair):
    """drivers.board_time's MVM model (the bit-serial cycles from the wire-ins the batch ran with, and the
    multi-level readout's time a step) against the design's own busy clocks (hdl/board.v mvm_cycle_clk,
    readout_clk; neuron_writes = readout steps), within 10 %. The step count depends on the data: the
    model counts its 100-step bound, so the readout is compared a step."""
    from neurram_lab.drivers import board_time as bt

    _hb, _rh, rb, _rr = pair
    if not _FORMED:
        diff.check(None, "neurram_top", ops=FORM, pair=pair)
        _FORMED.append(True)
    names = ["mvm_cycle_clk", "readout_clk", "neuron_writes", "wi09", "wi0D", "wi0E", "wi0F", "wi10"]
    c0 = rb.rtl.sim.request("pins", names)
    m0 = rb.board_time.fpga_s
    op = ("mvm", CORE, CELLS, 2, 4, 3, "forward", 2, True, None)
    diff.run_op(rb, op)
    model_s = rb.board_time.fpga_s - m0
    diff.run_op(pair[0], op)
    c1 = rb.rtl.sim.request("pins", names)
    wi = dict(zip(names, c1))
    t_opamp, t_sample = wi["wi09"] >> 4 & 0xFF, wi["wi10"] >> 4 & 0xFF
    mm, n_vec = wi["wi0E"], 2
    rtl_cycles = (c1[0] - c0[0]) * 10e-9
    steps = c1[2] - c0[2]
    rtl_readout = (c1[1] - c0[1]) * 10e-9
    assert steps >= n_vec
    # the model's own bit-serial figure for the wire-ins it saw, without the readout
    model_cycles = n_vec * rb.board_time._mvm_s(t_opamp, batched=False)
    assert abs(model_cycles / rtl_cycles - 1) <= 0.10, (model_cycles, rtl_cycles)
    # and the formula at the RTL's own wire-in values (the test reads them from the pins)
    want_cycles = n_vec * bt.mvm_cycles_s(mm >> 2 & 7, mm >> 5 & 0x1F, wi["wi0D"] >> 2 & 0xF, t_opamp, t_sample,
                                          bool(mm & 1))
    assert abs(want_cycles / rtl_cycles - 1) <= 0.10, (want_cycles, rtl_cycles)
    want_readout = steps * bt.readout_step_s(wi["wi0F"] >> 3 & 0xF, t_opamp)
    assert abs(want_readout / rtl_readout - 1) <= 0.10, (want_readout, rtl_readout)
    # the whole batch as predicted: its cycles plus the readout at the 100-step bound, an upper bound
    assert model_s >= rtl_cycles + rtl_readout


def test_lfsr_path_matches_effect_for_effect(pair):
    """The LFSR path on hil:// and rtl:// (board.v's chip LFSR pins over the twin's chains): the preset on
    the set pin, a 256-clock state read (pipe 0xA1 words), a stochastic MVM (0x45 bit 7, LFSR pulses on 0x44
    bit 5 with the neurons sampling (0x10[3:0] + 1) * 40 ns and integrating once, the 0x45 bit 5 readout):
    every call, word and pin effect equal, and the noise reaches the codes."""
    from neurram_lab.drivers.rtl._scenario import LFSR_MVM_CI, lfsr_ops

    if not _FORMED:
        assert diff.check(None, "neurram_top", ops=FORM, pair=pair)["mismatch_list"] == []
        _FORMED.append(True)
    n0 = len(pair[3].calls)
    res = diff.check(None, "neurram_top", ops=lfsr_ops(CORE, CELLS, LFSR_MVM_CI), pair=pair)
    assert res["mismatch_list"] == [] and res["mismatches"] == 0
    effects = [e for c in pair[3].calls[n0:] for e in c[3]]
    kinds = [e[0] for e in effects if e[0].startswith("lfsr")]
    assert kinds[:2] == ["lfsr_preset", "lfsr_shift"] and kinds.count("lfsr_pulse") == 2 * LFSR_MVM_CI[0][0] * 1
    pulse = next(e for e in effects if e[0] == "lfsr_pulse")
    assert pulse[1] == (CORE,) and pulse[2] == (LFSR_MVM_CI[0][8] + 1) * 40.0 and pulse[3] == 1


# mutation -> what the first mismatch must name (the dac_channel one last: it leaves the driver's record of
# the DAC codes wrong for the operations after it)
EXPECTED = {"formula": "GetWireOutValue(0x29): result", "endpoint": "GetWireOutValue(0x22): result",
            "mvm_status_bit": "GetWireOutValue(0x28): result",
            "lfsr_set_wire": "lfsr_preset",
            "dac_channel": ": the driver set code"}


def test_each_wrong_table_entry_fails_the_check(own_pair):
    """Each wrong entry fails the check where the right one passes: the same operations, unchanged, first.
    On a pair of its own (the module docstring)."""
    pair = own_pair
    # formed first: an unformed cell's read ranges for hours
    assert diff.check(None, "neurram_top", ops=FORM, pair=pair)["mismatch_list"] == []
    for name, expect in EXPECTED.items():
        ops = _mutate.ops_for(name, CORE, CELLS)
        assert diff.check(None, "neurram_top", ops=ops, pair=pair)["mismatch_list"] == [], name
        res = _mutate.check_mutation(name, ops, pair=pair)
        assert res["mismatches"] >= 1 and expect in res["mismatch_list"][0], (name, res["mismatch_list"])
