"""The exact FrontPanel calls of one SET pulse, one read, one cell select and one DAC update, pinned;
every endpoint and bit a write-verify uses exists in neurram_top.v; conversions round-trip."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurram_lab.drivers import neurram_top as nt
from neurram_lab.drivers.frontpanel import FrontPanelError, check, error_name
from neurram_lab import open_board
from neurram_lab.program.writeverify import WriteVerifyConfig, form_cells, write_verify

W, U, O, G, T = "SetWireInValue", "UpdateWireIns", "UpdateWireOuts", "GetWireOutValue", "ActivateTriggerIn"


def _ops(rec):
    """Records as (op, ep, value-or-bit) tuples, without values of wire-outs (they carry status)."""
    out = []
    for r in rec:
        op = r["op"]
        if op == W:
            out.append((W, r["ep"], r["value"]))
        elif op == T:
            out.append((T, r["ep"], r["bit"]))
        elif op == G:
            out.append((G, r["ep"]))
        else:
            out.append((op,))
    return out


def _poll(ep=0x20):
    return [(O,), (G, ep)]


@pytest.fixture
def hil():
    b = open_board("hil://?seed=2")
    yield b
    b.close()


def _record(board):
    rec = []
    board.link.observers.append(rec.append)
    return rec


def test_one_set_pulse_on_a_selected_cell(hil):
    hil.pulse("set", [0], [3], [4], 1.5, 1e-6, 2.0)  # selects the cell and writes the DAC
    rec = _record(hil)
    hil.pulse("set", [0], [3], [4], 1.5, 1e-6, 2.0)
    # mux SET; check the last ack cleared "done"; trigger; poll done; ack; mux idle
    assert _ops(rec) == [(W, 0x0B, 0b10), (U,), *_poll(), (T, 0x40, 2), *_poll(), (T, 0x40, 4), (W, 0x0B, 0b00), (U,)]
    assert all(r["board_op"] == "pulse" for r in rec)


def test_one_reset_pulse_writes_the_dac_width_and_mux(hil):
    hil.pulse("set", [0], [3], [4], 1.5, 1e-6, 2.0)
    rec = _record(hil)
    hil.pulse("reset", [0], [3], [4], 2.0, 2e-6, 4.5)
    amp, gate = nt.dac_code(2.0, 3), nt.dac_code(4.5, 3)

    def group(ch, code):
        words = [nt.dac_word(0b0011, ch, code), 0xF00000, 0xF00000, 0xF00000]
        seq = _poll()
        for w in words:
            seq += [(W, 0x01, w), (U,), (T, 0x40, 1), *_poll()]
        return seq + _poll() + [(T, 0x41, 0), *_poll()]

    assert _ops(rec) == group(2, amp) + group(3, gate) + [
        (W, 0x07, 199), (W, 0x0B, 0b01), (U,), *_poll(), (T, 0x40, 3), *_poll(), (T, 0x40, 4), (W, 0x0B, 0), (U,)]


def test_one_read_of_a_selected_cell(hil):
    hil.read([0], [3], [4])
    rec = _record(hil)
    hil.read([0], [3], [4])
    assert _ops(rec) == [(W, 0x0B, 0b11), (U,), *_poll(), (T, 0x43, 2), *_poll(), (G, 0x29), (G, 0x2A), (G, 0x2B),
                         (T, 0x43, 3), (W, 0x0B, 0), (U,)]


def test_select_enables_the_core_once_and_writes_row_then_column(hil):
    rec = _record(hil)
    hil.read([7], [5], [9])  # core 7 = core row 1, column 1: decoder addresses swap(1) = 2
    sel = [r for r in rec if r["board_op"] == "select"]
    en = [(W, 0x14, 0b001), (U,), (W, 0x14, 0), (U,)]
    for addr_h, addr_v, data in ((2, 2, 0b100), (2, 1, 0), (1, 2, 0)):
        en += [(W, 0x13, addr_h | addr_v << 3 | 0xC0)] + ([(W, 0x14, data)] if data else []) + [
            (U,), (W, 0x14, data | 0b010), (U,), (W, 0x14, 0), (U,)]
    pick = [(W, 0x03, 0b11), (U,), (W, 0x03, 0), (W, 0x13, 2 | 2 << 3), (U,),
            (W, 0x04, 1 << 10 | 1 << 8 | 5), (U,), (T, 0x44, 1), (W, 0x04, 1 << 8 | 9), (U,), (T, 0x44, 1)]
    assert _ops(sel) == en + pick
    assert hil.emulator.enabled_cores() == [7] and hil.emulator.selected() == [(7, 5, 9)]
    rec.clear()
    hil.read([7, 7], [5, 6], [9, 9])  # same core: no enable; the unchanged first cell is not selected again
    sel = [r for r in rec if r["board_op"] == "select"]
    assert _ops(sel) == [(W, 0x03, 0b11), (U,), (W, 0x03, 0), (U,), (W, 0x04, 1 << 10 | 1 << 8 | 6), (U,),
                         (T, 0x44, 1), (W, 0x04, 1 << 8 | 9), (U,), (T, 0x44, 1)]


def test_pulses_of_one_call_are_grouped_by_voltage_so_the_dac_is_written_once_per_value(hil):
    c = np.zeros(6, int)
    r = np.arange(6)
    v = np.array([1.2, 1.4, 1.2, 1.4, 1.2, 1.4])
    hil.pulse("set", c[:1], r[:1], c[:1], 1.0, 1e-6, 2.0)
    rec = _record(hil)
    hil.pulse("set", c, r, c, v, 1e-6, 2.0)
    words = [x["value"] for x in rec if x["op"] == W and x["ep"] == 1 and x["value"] != 0xF00000]
    assert words == [nt.dac_word(3, 0, nt.dac_code(1.2, 3)), nt.dac_word(3, 0, nt.dac_code(1.4, 3))]
    pulsed = [p for p in hil.emulator.twin.cells.t_prog_s[r * 256]]
    assert all(t > 0 for t in pulsed)


def test_a_repeated_cell_keeps_the_call_order(hil):
    hil.pulse("set", [0], [0], [0], 1.0, 1e-6, 2.0)
    rec = _record(hil)
    hil.pulse("set", [0, 0, 0], [1, 1, 2], [0, 0, 0], [1.4, 1.2, 1.4], 1e-6, 2.0)
    words = [x["value"] & 0xFFFF for x in rec if x["op"] == W and x["ep"] == 1 and x["value"] != 0xF00000]
    assert words == [nt.dac_code(v, 3) for v in (1.4, 1.2, 1.4)]


def test_write_verify_uses_only_neurram_top_endpoints_in_groups_of_four():
    rec = []
    with open_board("hil://?seed=3") as b:
        b.link.observers.append(rec.append)
        r, k = np.divmod(np.arange(64), 8)
        c = np.full(r.size, 1)
        form_cells(b, c, r, k)
        write_verify(b, c, r, k, np.linspace(5e-6, 30e-6, c.size), WriteVerifyConfig(max_reversals=4))
        assert b.emulator.violations == []
    top = nt.BITSTREAMS["neurram_top"]
    dac_words = []
    for x in rec:
        if x["op"] == W:
            assert top.has("wire_in", x["ep"])
            if x["ep"] == 1:
                dac_words.append(x["value"])
        elif x["op"] == G:
            assert top.has("wire_out", x["ep"])
        elif x["op"] == T:
            assert top.has("trigger", x["ep"], x["bit"])
    assert len(dac_words) % 4 == 0 and dac_words
    for i in range(0, len(dac_words), 4):
        group = dac_words[i:i + 4]
        assert sum(w == nt.NOP_WORD for w in group) == 3, [hex(w) for w in group]
    trig = {(x["ep"], x["bit"]) for x in rec if x["op"] == T}
    assert (0x40, 2) in trig and (0x40, 3) in trig and (0x43, 2) in trig
    assert not any(x["op"] in ("WriteToPipeIn", "ReadFromPipeOut") for x in rec)


@given(st.floats(0.0, 2.047))
@settings(max_examples=200, deadline=None)
def test_adc_codes_round_trip_within_one_lsb(v):
    assert abs(nt.adc_volts(nt.adc_code(v)) - v) <= 2.048 / 2**18


@given(st.integers(0, 65535), st.integers(0, 7))
def test_dac_words_round_trip(code, ch):
    assert nt.split_word(nt.dac_word(0b0011, ch, code)) == (0b0011, ch, code)
    assert nt.dac_code(nt.code_volts(code, 3), 3) == code


def test_core_address_swap_is_a_permutation_as_the_authors_wrote_it():
    assert [nt.swap_addr(a) for a in range(8)] == [1, 2, 3, 0, 5, 6, 7, 4]
    assert all(nt.unswap_addr(nt.swap_addr(a)) == a for a in range(8))


def test_read_conversion_matches_the_authors_formula():
    # 0.5 V fall over 100 units of 1.28 us on 1 nF at 0.2 V across the cell
    g = nt.read_siemens(nt.adc_code(0.9), nt.adc_code(0.4), 100, 1.1)
    assert g == pytest.approx(1e-9 * 0.5 / (100 * 1.28e-6) / 0.2, rel=1e-4)


def test_frontpanel_errors_name_the_code():
    with pytest.raises(FrontPanelError, match="Timeout"):
        check(-2, "UpdateWireOuts")
    assert error_name(-8) == "DeviceNotOpen" and check(5, "x") == 5


def test_the_manual_read_does_not_read_the_cell(hil):
    # neurram_top.v:587: only the auto-range trigger starts the FSM that puts the read voltage on the chip
    # (wupdate_pulse), so a manual read (0x43 bit 0) samples the integrator at rest; rtl:// agrees (tests/rtl)
    hil.pulse("form", [0], [3], [4], 4.6, 2e-6)
    g = float(hil.read([0], [3], [4])[0])
    L, t = hil.link, hil.emulator.status_bits[nt.WO_AR_TIMING]
    hil.stage_wire_in(nt.WI_READ_TIMING, t)
    hil.stage_wire_in(nt.WI_WRITE_MUX, nt.MUX_READ)
    L.update_wire_ins()
    L.trigger(nt.TI_ADC, nt.T_READ)
    hil.poll_wire_out(nt.WO_STATUS, nt.ST_READ_VALID, "read valid")
    d1, d2 = L.get_wire(nt.WO_ADC_START), L.get_wire(nt.WO_ADC_END)
    L.trigger(nt.TI_ADC, nt.T_READ_ACK)
    assert not hil.emulator.status_bits[nt.WO_STATUS] & nt.ST_READ_VALID
    assert g > 1e-6 and d1 == d2 == nt.adc_code(hil.emulator.node_v["VREF_TIA"])
