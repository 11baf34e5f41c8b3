"""FrontPanel call traces, their summary and the predicted real-board time (drivers.trace, board_time)."""

from __future__ import annotations

import json

import pytest

from neurram_lab.drivers import _authors_host as authors
from neurram_lab.drivers.board_time import (ADC_CONVERSION_S, HOST_S_PER_CALL, READ_UNIT_S, USB_S_PER_CALL, BoardTimeModel, authors_cell_calls,
                                autorange_s, read_s)
from neurram_lab.drivers.trace import TraceWriter, iter_trace, read_trace
from neurram_lab.drivers.trace_summary import summarize_trace
from neurram_lab.errors import InputError

US = 1e-6
W_IN, W_OUT, TRIG = USB_S_PER_CALL["UpdateWireIns"], USB_S_PER_CALL["UpdateWireOuts"], USB_S_PER_CALL["ActivateTriggerIn"]


def _set(ep, v, bop="pulse"):
    return {"op": "SetWireInValue", "ep": ep, "value": v, "mask": 0xFFFFFFFF, "board_op": bop}


def _upd(bop="pulse"):
    return {"op": "UpdateWireIns", "board_op": bop}


def _trig(ep, bit, bop="pulse"):
    return {"op": "ActivateTriggerIn", "ep": ep, "bit": bit, "board_op": bop}


def _poll(ep, v, bop="pulse"):
    return [{"op": "UpdateWireOuts", "board_op": bop}, {"op": "GetWireOutValue", "ep": ep, "value": v, "board_op": bop}]


def _set_pulse(width_ticks):
    return ([_set(0x07, width_ticks), _upd(), _set(0x0B, 0b10), _upd(), _trig(0x40, 2)] + _poll(0x20, 0b10000)
            + [_trig(0x40, 4), _set(0x0B, 0), _upd()])


# ---------------------------------------------------------------- writer / reader
def test_trace_writer_round_trip(tmp_path):
    recs = authors.cell_records(2)
    path = tmp_path / "sub" / "t.jsonl"
    with TraceWriter(path, flush_every=7) as w:
        for r in recs:
            w(r)
        assert w.records == len(recs)
    assert w.closed
    assert read_trace(path) == recs
    lines = path.read_text().splitlines()
    assert len(lines) == len(recs) and json.loads(lines[0]) == recs[0]
    df = read_trace(path, as_frame=True)
    assert len(df) == len(recs) and set(df["op"]) == {r["op"] for r in recs}


def test_trace_writer_leaves_whole_lines_before_close(tmp_path):
    path = tmp_path / "t.jsonl"
    w = TraceWriter(path, flush_every=10)
    for i in range(25):
        w({"op": "UpdateWireIns", "board_op": "rails", "i": i})
    # two blocks of ten written, five still buffered: the file holds whole lines only
    assert [r["i"] for r in read_trace(path)] == list(range(20))
    w.close()
    assert [r["i"] for r in read_trace(path)] == list(range(25))
    w.close()  # idempotent


def test_read_trace_skips_a_cut_last_line_and_refuses_bad_lines(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"op": "UpdateWireIns"}\n{"op": "UpdateWireOuts"}\n{"op": "Activ')
    assert [r["op"] for r in iter_trace(path)] == ["UpdateWireIns", "UpdateWireOuts"]
    path.write_text('{"op": "UpdateWireIns"}\nnot json\n{"op": "UpdateWireOuts"}\n')
    with pytest.raises(InputError, match="line 2"):
        read_trace(path)
    path.write_text('{"ep": 1}\n')
    with pytest.raises(InputError, match="no 'op'"):
        read_trace(path)
    with pytest.raises(InputError, match="does not exist"):
        read_trace(tmp_path / "missing.jsonl")


# ---------------------------------------------------------------- predicted time by hand
def test_predicted_time_of_a_set_pulse_by_hand():
    m = BoardTimeModel.of_records(_set_pulse(100), host_s_per_call=0.0)
    # calls: set, UPDATE, set, UPDATE, TRIGGER (pulse starts), POLL waits for the pulse, get, TRIGGER ack, set, UPDATE
    pulse_s = 100 * 10e-9 + 3 * 10e-9
    hand = 3 * W_IN + 2 * TRIG + pulse_s + W_OUT
    assert m.predicted_s == pytest.approx(hand, rel=1e-12)
    assert m.fpga_wait_s == pytest.approx(pulse_s)
    assert m.pulses == 1 and m.calls == 10
    assert m.calls_by_op == {"SetWireInValue": 3, "UpdateWireIns": 3, "ActivateTriggerIn": 2, "UpdateWireOuts": 1,
                             "GetWireOutValue": 1}
    # a 1 ms pulse: the poll waits the whole width
    long = BoardTimeModel.of_records(_set_pulse(100_000), host_s_per_call=0.0)
    assert long.predicted_s == pytest.approx(3 * W_IN + 2 * TRIG + 1e-3 + 30e-9 + W_OUT, rel=1e-12)
    # the host overhead is per call
    m5 = BoardTimeModel.of_records(_set_pulse(100), host_s_per_call=5 * US)
    assert m5.predicted_s == pytest.approx(hand + 10 * 5 * US, rel=1e-9)


def test_predicted_time_of_an_auto_ranged_read_by_hand():
    recs = [_set(0x0B, 0b11, "read"), _set(0x02, 20 << 16 | 10, "read"), _upd("read"), _trig(0x43, 2, "read")]
    recs += _poll(0x20, 0b100, "read")
    recs += [{"op": "GetWireOutValue", "ep": 0x29, "value": 1000, "board_op": "read"},
             {"op": "GetWireOutValue", "ep": 0x2A, "value": 3 << 18 | 900, "board_op": "read"},
             {"op": "GetWireOutValue", "ep": 0x2B, "value": 80 << 16 | 40, "board_op": "read"},
             _trig(0x43, 3, "read")]
    m = BoardTimeModel.of_records(recs, host_s_per_call=0.0)
    # three iterations at (10, 20), (20, 40), (40, 80) units of 1.28 us, each plus one ADC conversion
    fpga = (30 + 60 + 120) * READ_UNIT_S + 3 * ADC_CONVERSION_S
    assert fpga == pytest.approx(276.48 * US)
    assert autorange_s(10, 20, 3, 40, 80) == pytest.approx(fpga)
    # update, trigger, then the poll ends once every iteration is done, then the ack
    assert m.predicted_s == pytest.approx(W_IN + TRIG + fpga + W_OUT + TRIG, rel=1e-12)
    assert (m.adc_reads, m.cell_reads) == (1, 1)
    # one iteration only: the read at the initial timing
    assert autorange_s(10, 20, 1, 10, 20) == pytest.approx(read_s(10, 20))


def test_dac_words_queue_and_a_poll_waits_for_them():
    recs = []
    for _ in range(4):
        recs += [_set(0x01, 0xF00000, "rails"), _upd("rails"), _trig(0x40, 1, "rails")]
    recs += _poll(0x20, 0b1000, "rails")
    m = BoardTimeModel.of_records(recs, host_s_per_call=0.0, usb_s_per_call={"UpdateWireIns": 0.0,
                                                                                 "ActivateTriggerIn": 0.0})
    # with free USB calls the four 35-clock words at 6.25 MHz (1 + 2 + 32 clocks of dac_daisy_control.v's FSM)
    # run back to back: the poll waits 4 x 5.6 us
    assert m.predicted_s == pytest.approx(4 * 5.6 * US + W_OUT, rel=1e-9)
    assert m.dac_words == 4


def test_model_options_are_checked():
    with pytest.raises(InputError, match="unknown ops"):
        BoardTimeModel(usb_s_per_call={"UpdateWires": 1.0})
    with pytest.raises(InputError, match="pipe_bytes_per_s"):
        BoardTimeModel(pipe_bytes_per_s=0)


# ---------------------------------------------------------------- the authors' write-verify cross-check
@pytest.mark.parametrize("pulses", [0, 1, 7])
def test_authors_cell_counts_match_their_sequence(pulses):
    recs = authors.cell_records(pulses)
    s = BoardTimeModel.of_records(recs).summary()
    hand = authors_cell_calls(pulses)
    assert s["calls"] == len(recs) == hand["calls"] == 180 + 160 * pulses
    assert s["usb_transactions"] == hand["usb_transactions"] == 74 + 78 * pulses
    assert s["pulses"] == pulses and s["cell_reads"] == pulses + 2


def test_authors_measured_time_per_cell_is_bracketed():
    # 0.16-0.23 s per cell (their notebooks) falls between 8 and 11 pulses per cell under the model
    t = {p: BoardTimeModel.of_records(authors.cell_records(p)).predicted_s for p in (7, 8, 11, 12)}
    assert t[7] < 0.16 <= t[8] and t[11] <= 0.23 < t[12]


# ---------------------------------------------------------------- summary
def test_summary_of_the_authors_cell():
    s = summarize_trace(authors.cell_records(3))
    assert s["unknown_endpoints"] == []
    assert s["dac_groups"]["groups"] == 6 and s["dac_groups"]["malformed"] == 0
    assert s["pulses"]["set"] == 2 and s["pulses"]["reset"] == 1 and s["pulses"]["wrong_mux"] == 0
    assert s["calls_per_pulse"] == 76 and s["calls_per_read"] == 84
    assert s["endpoints"]["trigger"]["0x40"] == [1, 2, 3, 4]
    assert s["calls_by_board_op"] == {"pulse": 3 * 76, "read": 5 * 84, "select": 12}
    assert s["predicted_board_time_s"] == s["board_time"]["predicted_s"] > 0


def test_summary_flags_invented_endpoints_bad_dac_groups_and_wrong_mux():
    recs = authors.cell_records(1)
    recs += [_trig(0x45, 12, "mvm"), {"op": "GetWireOutValue", "ep": 0x23, "value": 0, "board_op": "mvm"},
             {"op": "WriteToPipeIn", "ep": 0x80, "bytes": 64, "board_op": "mvm"}]
    # a DAC update with one word (no no-ops): lands on DAC 3 on hardware
    recs += [_set(0x01, 0x3 << 20 | 1 << 16 | 1234, "rails"), _upd("rails"), _trig(0x40, 1, "rails"),
             _trig(0x41, 0, "rails")]
    # a SET trigger while the mux says RESET
    recs += [_set(0x0B, 0b01), _upd(), _trig(0x40, 2)]
    # bits neurram_top.v does not read: 0x06 bit 0 (only [6:5] are wired), 0x05 bit 3 (commented out)
    recs += [_set(0x06, 0b01100001, "mvm"), _set(0x05, 0b1001, "mvm")]
    s = summarize_trace(recs)
    assert s["unknown_endpoints"] == ["wire-in 0x05 bits 0x8", "wire-in 0x06 bits 0x1", "wire-out 0x23",
                                      "trigger 0x45 bit 12"]
    assert s["endpoints"]["pipe_in"] == {"0x80": 64}
    g = s["dac_groups"]
    assert (g["groups"], g["malformed"]) == (3, 1) and g["malformed_examples"][0]["no_ops"] == 0
    assert s["pulses"]["wrong_mux"] == 1 and s["pulses"]["wrong_mux_examples"][0]["mux"] == 0b01


def test_summary_reads_a_trace_file(tmp_path):
    path = tmp_path / "t.jsonl"
    with TraceWriter(path) as w:
        for r in authors.cell_records(2):
            w(r)
    a, b = summarize_trace(path), summarize_trace(authors.cell_records(2))
    assert a == b


# ---------------------------------------------------------------- a real trace from hil://
def test_hil_trace_summary_matches_the_board_counters(tmp_path):
    import numpy as np

    from neurram_lab import open_board

    path = tmp_path / "hil.jsonl"
    c, r, k = np.zeros(3, int), np.array([0, 0, 1]), np.array([0, 5, 7])
    with open_board(f"hil://?seed=0&trace={path}") as b:
        b.read(c, r, k)
        b.pulse("set", c[:2], r[:2], k[:2], 1.5, 1e-6)
        b.read(c, r, k)
        counters = b.counters()
    s = summarize_trace(path)
    assert s["unknown_endpoints"] == []
    assert s["dac_groups"]["groups"] > 0 and s["dac_groups"]["malformed"] == 0
    assert s["pulses"] == {"set": 2, "reset": 0, "wrong_mux": 0, "wrong_mux_examples": []}
    assert s["cell_reads"] == 6
    fc = counters["frontpanel_calls"]
    by_op = dict(s["calls_by_op"])
    by_op["Close"] = by_op.get("Close", 0) - 1  # the trace goes on to the close
    assert {op: n for op, n in by_op.items() if n} == fc["by_op"]
    # the board's own model saw the same calls up to the close (no USB time, the host overhead only)
    assert s["predicted_board_time_s"] == pytest.approx(counters["predicted_board_time_s"] + HOST_S_PER_CALL, rel=1e-9)


def test_cli_trace_and_show_print_the_summary(tmp_path, capsys):
    from neurram_lab.cli import main

    path = tmp_path / "t.jsonl"
    with TraceWriter(path) as w:
        for r in authors.cell_records(2):
            w(r)
    assert main(["trace", str(path), "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    s = json.loads(out[-1])
    assert s["calls"] == 500 and s["unknown_endpoints"] == [] and s["dac_groups"]["malformed"] == 0
    assert any(line.startswith("check") and "neurram_top.v" in line for line in out)
    assert main(["show", str(path), "--json", "--quiet"]) == 0
    shown = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert shown["calls"] == s["calls"] and shown["predicted_board_time_s"] == s["predicted_board_time_s"]


def test_write_verify_reports_the_predicted_board_time_on_hil_only(tmp_path):
    from neurram_lab.experiments import write_verify
    from neurram_lab import open_board

    kw = dict(cores=(0,), cells_per_core=8, iterations=1, settle_s=60.0)
    with open_board("hil://?seed=1") as b:
        hil = write_verify.run(b, tmp_path, **kw)
    with open_board("sim://?seed=1") as b:
        sim = write_verify.run(b, tmp_path, **kw)
    assert "predicted_board_time_s" not in sim and "predicted_s_per_cell" not in sim
    assert hil["predicted_board_time_s"] > 0
    # programming only: less than the whole run (which includes opening, rails and forming)
    assert 0 < hil["predicted_s_per_cell"] * 8 < hil["predicted_board_time_s"]


def test_bench_hil_write_verify_reports_calls_and_predicted_time():
    from benchmarks import hil_write_verify

    s = hil_write_verify.run(seed=0, cores=[0, 1], cells_per_core=8)
    assert s["cells"] == 16 and 0 < s["cells_programmed"] <= 16
    n = s["cells_programmed"]
    assert s["frontpanel_calls_per_cell"] == pytest.approx(s["frontpanel_calls"] / n)
    assert sum(s["frontpanel_calls_per_cell_by_op"].values()) == pytest.approx(s["frontpanel_calls_per_cell"])
    assert s["predicted_s_per_cell"] == pytest.approx(s["predicted_board_s"] / n)
    assert s["predicted_board_s"] < s["predicted_board_s_with_forming"]
    assert s["sim_cells_programmed"] == n and s["sim_mean_pulses_per_cell"] > 0
    assert s["authors_sequence_calls_per_cell"] > 180  # the authors' select + two reads alone


def test_trace_writer_takes_numpy_scalars(tmp_path):
    import numpy as np

    path = tmp_path / "t.jsonl"
    with TraceWriter(path) as w:
        w({"op": "SetWireInValue", "ep": np.int64(1), "value": np.uint32(7), "mask": np.uint32(0xFFFFFFFF)})
    assert read_trace(path) == [{"op": "SetWireInValue", "ep": 1, "value": 7, "mask": 0xFFFFFFFF}]


def test_wire_in_bits_come_from_the_endpoint_map_with_the_values_the_summary_always_used():
    from neurram_lab.drivers import neurram_top as nt
    from neurram_lab.drivers.trace_summary import WIRE_IN_BITS

    top = {0x00: 0x3, 0x01: 0xFFFFFFFF, 0x02: 0xFFFFFFFF, 0x03: 0x3, 0x04: 0x7FF, 0x05: 0x37, 0x06: 0x60,
           0x07: 0xFFFFFFFF, 0x08: 0xFFF, 0x09: 0x3FFFFF, 0x0A: 0x1, 0x0B: 0x3, 0x0C: 0xFFFFFFFF, 0x0D: 0x7FFFF,
           0x0E: 0x3FFFF, 0x0F: 0xFF, 0x10: 0x1FFFFF, 0x11: 0xFFFFFFFF, 0x12: 0x7FFFF, 0x13: 0xFF, 0x14: 0x7,
           0x15: 0x3FFFFFF}  # the summary's own table before it moved into drivers.neurram_top
    assert WIRE_IN_BITS == {
        "neurram_top": top,
        # without 0x11: its okWireIn is commented out in neurram_top_sar.v (:211)
        "neurram_top_sar": {**{ep: b for ep, b in top.items() if ep != 0x11}, 0x10: 0xFFF, 0x16: 0x17FFFF,
                            0x17: 0xFFFFFFFF},
        "neurram_top_voltage_mode": {**top, 0x08: 0xFC9, 0x09: 0xFFFFFFF3, 0x0F: 0x1FFFF, 0x10: 0xFFFFFFF,
                                     0x12: 0x3FFFF},
    }
    assert {n: dict(b.wire_in_bits) for n, b in nt.BITSTREAMS.items() if b.wire_in_bits} == WIRE_IN_BITS
    assert not nt.BITSTREAMS["neurram_top_wv"].wire_in_bits  # not tabulated: no bit check, as before
    s = summarize_trace([_set(0x05, 0x8), _upd()])
    assert s["unknown_endpoints"] == ["wire-in 0x05 bits 0x8"]
