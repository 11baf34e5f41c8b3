"""Safety of the real-board path: every rail and pulse voltage the driver sets lands, in the emulated
bitstream, on the physical node it names at the voltage asked; a wrong channel table or a missing
no-op is caught; limits and capabilities are checked before any FrontPanel call."""

from __future__ import annotations

import numpy as np
import pytest

from neurram_lab.drivers import neurram_top as nt
from neurram_lab import open_board
from neurram_lab.board.contract import MVMRequest
from neurram_lab.errors import CapabilityError, LimitError

STEP_2048 = 2.048 / 65536
STEP_5 = 5.0 / 65536

# What each board rail must put on which node: written out here, independently of the driver's table.
# A plane of an input bit drives its line to v_ref -+ v_read / 2 (two bipolar planes a bit: a digit
# integrates v_read, the twin's amplitude per unit digit); one readout step is v_decr * 2**(2 - b) for the
# b output bits the neurons are set for (2 until the first MVM: v_decr itself).
EXPECTED_NODES = {
    "VREF": lambda r, b: r["v_ref"],
    "BIAS10_BL": lambda r, b: r["v_ref"],
    "BIAS10_SL": lambda r, b: r["v_ref"],
    "VNEG_BL": lambda r, b: r["v_ref"] - r["v_read"] / 2,
    "VPOS_BL": lambda r, b: r["v_ref"] + r["v_read"] / 2,
    "VNEG_SL": lambda r, b: r["v_ref"] - r["v_read"] / 2,
    "VPOS_SL": lambda r, b: r["v_ref"] + r["v_read"] / 2,
    "VRESET_PLUS": lambda r, b: r["v_ref"] + r["v_decr"] / 2 ** (b - 2),
    "VRESET_MINUS": lambda r, b: r["v_ref"] - r["v_decr"] / 2 ** (b - 2),
    "VREAD": lambda r, b: 0.9 + r["v_cell_read"],
    "VREF_TIA": lambda r, b: 0.9,
}
UNTOUCHED = ("VCOMP1", "VCOMP2", "VPLFSR", "VNLFSR", "IGATE_BIAS", "VWL_ONLY_A", "VWL_ONLY_B")


def node_errors(board, rails=None, output_bits=2) -> list[str]:
    """Nodes of the emulated board that are not where the rails say (empty when all are)."""
    emu = board.emulator
    rails = rails or board.get_rails()
    bad = []
    for node, f in EXPECTED_NODES.items():
        want = f(rails, output_bits)
        if abs(emu.node_v[node] - want) > STEP_2048:
            bad.append(f"{node}={emu.node_v[node]:.5f} V, expected {want:.5f} V")
    for node in UNTOUCHED:
        if emu.node_v[node] != 0.0:
            bad.append(f"{node}={emu.node_v[node]:.5f} V, expected untouched (0 V)")
    return bad


@pytest.fixture
def hil():
    b = open_board("hil://?seed=5")
    yield b
    b.close()


def calls(board) -> list:
    rec = []
    board.link.observers.append(rec.append)
    return rec


def test_open_puts_every_rail_on_its_node(hil):
    assert node_errors(hil) == []
    assert hil.emulator.violations == []
    view, rails = hil.emulator.rails_view(), hil.get_rails()  # the emulator reads the rails back off the nodes
    assert view["v_read_bl"] == pytest.approx(rails["v_read"], abs=2 * STEP_2048)
    assert view["v_read_sl"] == pytest.approx(rails["v_read"], abs=2 * STEP_2048)
    assert view["decr_step_v"] == pytest.approx(rails["v_decr"], abs=2 * STEP_2048)
    assert hil.emulator.twin._rails["v_read"] == view["v_read_bl"]


def _mvm_request(**kw):
    args = dict(cores=(0,), inputs=np.ones((1, 2, 4), np.int16), input_lines=np.arange(4), output_lines=np.arange(4),
                input_bits=3, output_bits=2)
    args.update(kw)
    return MVMRequest(**args)


def _dac_jumps(emu, since: dict) -> list:
    """(node, jump V) of every executed DAC write after the codes ``since``."""
    last, out = dict(since), []
    for dac, ch, code in emu.dac_log:
        out.append((nt.NODES.get((dac, ch)), abs(code - last[(dac, ch)]) * nt.DAC_VREF_V[dac] / 65536))
        last[(dac, ch)] = code
    return out


def test_an_mvm_at_the_rails_levels_moves_no_rail(hil):
    emu = hil.emulator
    emu.dac_log.clear()
    hil.mvm(_mvm_request())  # 2 output bits: the decrement levels set_rails put there
    hil.mvm(_mvm_request(direction="backward", differential=False))
    assert emu.dac_log == []
    assert node_errors(hil) == []


def test_an_mvm_ramps_the_levels_it_needs_and_set_rails_keeps_its_output_bits(hil):
    emu = hil.emulator
    before = {dc: emu.dac_out[dc[0]][dc[1]] for dc in nt.NODES}
    emu.dac_log.clear()
    hil.mvm(_mvm_request(output_bits=7, v_read_v=0.2))  # decrement levels 0.48 V lower, input spread 0.3 V less
    jumps = _dac_jumps(emu, before)
    assert {n for n, _ in jumps} == {"VRESET_PLUS", "VRESET_MINUS", "VPOS_BL", "VNEG_BL"}
    assert max(j for _, j in jumps) <= 0.1 + STEP_2048 and len(jumps) >= 2 * 5
    rails = hil.get_rails()
    assert emu.rails_view()["decr_step_v"] == pytest.approx(rails["v_decr"] / 32, abs=STEP_2048)
    assert emu.rails_view()["v_read_bl"] == pytest.approx(0.2, abs=2 * STEP_2048)  # left where the request put it
    emu.dac_log.clear()
    hil.mvm(_mvm_request(output_bits=7, v_read_v=0.2))
    assert emu.dac_log == []  # the same levels again: nothing sent
    hil.set_rails(v_decr=0.33, v_read=0.4)  # at the 7 output bits of the last MVM; the input levels back
    assert node_errors(hil, output_bits=7) == []
    hil.mvm(_mvm_request(output_bits=7))
    assert node_errors(hil, output_bits=7) == []


def test_a_neuron_test_ramps_its_input_and_puts_the_rail_back(hil):
    emu = hil.emulator
    before = {dc: emu.dac_out[dc[0]][dc[1]] for dc in nt.NODES}
    emu.dac_log.clear()
    hil.neuron_test(3, np.array([[0.6], [1.3]]), output_bits=6)
    assert max(j for _, j in _dac_jumps(emu, before)) <= 0.1 + STEP_2048
    assert node_errors(hil, output_bits=6) == []


@pytest.mark.parametrize("rails", [dict(v_ref=0.8), dict(v_read=0.27), dict(v_decr=0.33), dict(v_cell_read=0.11),
                                   dict(v_ref=1.0, v_read=0.4, v_decr=0.2, v_cell_read=0.3)])
def test_each_rail_lands_on_the_node_it_names(hil, rails):
    hil.set_rails(**rails)
    got = hil.get_rails()
    for k, v in rails.items():
        assert got[k] == v
    assert node_errors(hil) == []
    assert hil.emulator.violations == []


def test_rails_ramp_in_steps_of_at_most_a_tenth_of_a_volt(hil):
    emu = hil.emulator
    before = {dc: emu.dac_out[dc[0]][dc[1]] for dc in nt.NODES}
    emu.dac_log.clear()
    hil.set_rails(v_ref=1.3, v_cell_read=0.45)
    last = dict(before)
    for dac, ch, code in emu.dac_log:
        jump = abs(code - last[(dac, ch)]) * nt.DAC_VREF_V[dac] / 65536
        assert jump <= 0.1 + STEP_2048, (dac, ch, jump)
        last[(dac, ch)] = code
    assert len(emu.dac_log) >= 4 * 4  # 0.4 V on four v_ref-driven channels at least


@pytest.mark.parametrize("kind,v,gate,amp_node,gate_node", [
    ("set", 1.7, 2.3, "VSET_BL", "VSET_WL"),
    ("form", 4.2, 1.5, "VSET_BL", "VSET_WL"),
    ("reset", 2.1, 4.1, "VRESET_SL", "VRESET_WL"),
])
def test_pulse_voltages_land_on_the_pulse_nodes(hil, kind, v, gate, amp_node, gate_node):
    emu = hil.emulator
    applied = hil.pulse(kind, [2], [10], [20], v, 2e-6, gate)
    assert abs(emu.node_v[amp_node] - v) <= STEP_5 and abs(emu.node_v[gate_node] - gate) <= STEP_5
    assert emu.node_v[amp_node] == applied.v_pulse_v[0] and emu.node_v[gate_node] == applied.v_gate_v[0]
    pk, cells, pv, pw, pg = emu.last_pulse
    assert pk == ("reset" if kind == "reset" else "set") and cells == [(2, 10, 20)]
    assert (pv, pg) == (applied.v_pulse_v[0], applied.v_gate_v[0]) and pw == pytest.approx(2e-6, abs=1e-15)
    others = {"VSET_BL", "VSET_WL", "VRESET_SL", "VRESET_WL"} - {amp_node, gate_node}
    assert all(emu.node_v[n] == 0.0 for n in others)


def test_a_wrong_channel_in_the_rail_table_is_caught(hil, monkeypatch):
    wrong = nt.RailWrite(0, 0, 2.048, "VCOMP1", "0.9 + v_cell_read", lambda r: 0.9 + r["v_cell_read"])
    monkeypatch.setitem(nt.RAIL_TABLE, "v_cell_read", (wrong, nt.RAIL_TABLE["v_cell_read"][1]))
    hil.set_rails(v_cell_read=0.3)
    errors = node_errors(hil)
    assert any(e.startswith("VREAD=") for e in errors) and any(e.startswith("VCOMP1=") for e in errors)


def test_a_wrong_pulse_node_is_caught(hil, monkeypatch):
    swapped = dict(nt.PULSE_NODES["set"], gate=nt.PULSE_NODES["reset"]["amplitude"])  # gate on VRESET_SL
    monkeypatch.setitem(nt.PULSE_NODES, "set", swapped)
    hil.pulse("set", [0], [0], [0], 1.5, 1e-6, 2.5)
    assert hil.emulator.node_v["VSET_WL"] != pytest.approx(2.5, abs=STEP_5)
    assert hil.emulator.node_v["VRESET_SL"] == pytest.approx(2.5, abs=STEP_5)


def test_a_group_without_its_no_ops_lands_on_the_wrong_dac(hil, monkeypatch):
    frame = nt.dac_frame
    monkeypatch.setattr(nt, "dac_frame", lambda steps: tuple(w for w in frame(steps) if w != nt.NOP_WORD))
    hil.set_rails(v_cell_read=0.25)  # DAC 1 channels 6/7: a lone word stays in DAC 0
    errors = node_errors(hil)
    assert any(e.startswith("VREAD=") for e in errors)
    assert hil.emulator.dac_out[0][6] != 0  # DAC 0 channel 6 (no node) got the word meant for DAC 1


def test_derived_nodes_out_of_dac_range_are_refused_before_any_call(hil):
    rec = calls(hil)
    with pytest.raises(LimitError, match="VNEG_BL"):
        hil.set_rails(v_ref=0.2, v_read=0.5)  # v_ref - v_read < 0 V
    with pytest.raises(LimitError):
        hil.set_rails(v_ref=1.8, v_read=0.5)  # v_ref + v_read > 2.048 V
    assert rec == [] and node_errors(hil) == []
    assert hil.get_rails()["v_ref"] == 0.9


def test_limits_and_capabilities_are_checked_before_any_call(hil):
    rec = calls(hil)
    with pytest.raises(LimitError):
        hil.set_rails(v_read=0.9)  # beyond the v_read limit
    with pytest.raises(CapabilityError, match="v_wl_read"):
        hil.set_rails(v_wl_read=3.0)  # no DAC drives it on this board
    with pytest.raises(LimitError):
        hil.pulse("set", [0], [0], [0], 4.5, 1e-6)  # above pulse_v_max
    with pytest.raises(LimitError):
        hil.pulse("reset", [0], [0], [0], 2.0, 5e-3)  # wider than the width limit
    with pytest.raises(CapabilityError):
        hil.power_cores([3], on=False)
    req = MVMRequest(cores=(0,), inputs=np.zeros((1, 1, 4), np.int16), input_lines=np.arange(4),
                     output_lines=np.arange(4), output_bits=8)
    with pytest.raises(CapabilityError, match="output_bits"):
        hil.mvm(req)
    with pytest.raises(CapabilityError):
        hil.mvm(MVMRequest(cores=(0,), inputs=np.zeros((1, 1, 4), np.int16), input_lines=np.arange(4),
                           output_lines=np.arange(4), direction="recurrent_bl", output_bits=6))
    assert rec == []


def test_dac_top_code_caps_form_amplitude_and_reports_it(hil):
    applied = hil.pulse("form", [1], [0], [0], 5.0, 1e-6)
    top = 65535 * 5.0 / 65536
    assert applied.v_pulse_v[0] == top == hil.emulator.node_v["VSET_BL"]


def test_a_journaled_board_caps_the_form_amplitude_too(hil, tmp_path):
    # every experiment drives the board through the run file's JournalBoard (deploy forms at 5.0 V)
    from neurram_lab.experiments._common import start_run

    with start_run(hil, tmp_path, "form", {}, {}) as log:
        applied = log.board.pulse("form", [1], [0], [0], 5.0, 1e-6)
    assert applied.v_pulse_v[0] == 65535 * 5.0 / 65536 == hil.emulator.node_v["VSET_BL"]


# The rails each board opened with before the default table became one (issue 23), written out here.
_TWIN_OPEN_RAILS_V = {"v_ref": 0.9, "v_read": 0.5, "v_cell_read": 0.2, "v_decr": 0.5, "v_wl_set": 2.0,
                      "v_wl_reset": 4.5, "v_wl_form": 1.6, "v_wl_read": 4.5}
_FPGA_OPEN_RAILS_V = {r: v for r, v in _TWIN_OPEN_RAILS_V.items() if r != "v_wl_read"}  # no DAC on v_wl_read


@pytest.mark.parametrize("spec, want", [("sim://?seed=7", _TWIN_OPEN_RAILS_V),
                                        ("restricted://?seed=7", _TWIN_OPEN_RAILS_V),
                                        ("hil://?seed=7", _FPGA_OPEN_RAILS_V)])
def test_each_board_opens_with_the_rails_it_opened_with_before(spec, want):
    board = open_board(spec)
    try:
        got = board.get_rails()
    finally:
        board.close()
    assert list(got) == list(want) and got == want
