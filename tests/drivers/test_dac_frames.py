"""The rail ramps' daisy-chain frames (FpgaBoard._dac_frame, issue 20): one step for one channel of each DAC
at one update, without the authors' per-word ACK polls. Checked against what the emulated board's DACs
decode (EmulatedBitstream.dac_out after each update trigger), not against the driver's own tables; and the
FrontPanel calls a cell of an engine run costs, the open's ramps included."""

from __future__ import annotations

import numpy as np
import pytest

from neurram_lab.drivers import neurram_top as nt
from neurram_lab.errors import InputError
from neurram_lab.drivers.hil import connect, make_emulated_board
from neurram_lab.drivers.trace_summary import summarize_trace

LSB_MAX_V = max(nt.DAC_VREF_V) / 65536


def _watched_board(seed: int = 5, bitstream: str = "neurram_top"):
    """An emulated board opened with an observer that snapshots every DAC output after each update trigger."""
    ok, emu = make_emulated_board(seed, bitstream=bitstream)
    snaps = [[list(row) for row in emu.dac_out]]  # power-up: every output at code 0

    def watch(rec):
        if rec["op"] == "ActivateTriggerIn" and rec["ep"] == nt.TI_DAC and rec["bit"] == nt.T_DAC_UPDATE:
            snaps.append([list(row) for row in emu.dac_out])

    return connect(ok, observers=[watch]), emu, snaps


def _moves(snaps):
    """Per update: {(dac, channel): volts moved}, from the emulated DACs' decoded outputs."""
    out = []
    for a, b in zip(snaps, snaps[1:]):
        out.append({(d, c): abs(nt.code_volts(b[d][c], d) - nt.code_volts(a[d][c], d))
                    for d in range(nt.N_DACS) for c in range(nt.DAC_CHANNELS) if a[d][c] != b[d][c]})
    return out


def test_every_rail_steps_at_most_a_tenth_of_a_volt_an_update_while_dacs_move_together():
    b, emu, snaps = _watched_board()
    with b:
        b.set_rails(v_ref=1.3, v_cell_read=0.45, v_read=0.3)  # up
        b.set_rails(v_ref=0.5, v_cell_read=0.1, v_read=0.2)  # and down
        moves = _moves(snaps)
        assert len(moves) > 100 and all(moves)  # every update moved something
        for i, m in enumerate(moves):
            assert max(m.values()) <= nt.RAMP_STEP_V + LSB_MAX_V, (i, m)
            dacs = [d for d, _ in m]
            assert len(dacs) == len(set(dacs)), (i, m)  # one channel a DAC an update: one word each in the chain
        assert sum(len({d for d, _ in m}) > 1 for m in moves) > 10  # the frames do carry several DACs
        # the nodes landed where the rails say (0.9 + v_cell_read on VREAD, v_ref -+ v_read / 2 on the inputs)
        assert emu.node_v["VREAD"] == pytest.approx(1.0, abs=LSB_MAX_V)
        assert emu.node_v["VREF"] == pytest.approx(0.5, abs=LSB_MAX_V)
        assert emu.node_v["VPOS_BL"] == pytest.approx(0.6, abs=LSB_MAX_V)
        assert emu.node_v["VNEG_SL"] == pytest.approx(0.4, abs=LSB_MAX_V)
        assert emu.violations == []


def test_a_one_channel_frame_is_pinned_call_for_call():
    b, _emu, _ = _watched_board()
    with b:
        rec = []
        b.link.observers.append(rec.append)
        b.set_rails(v_cell_read=0.25)  # 0.05 V on VREAD (DAC 1 channel 6): one frame
        ops = [(r["op"], r.get("ep"), r.get("bit"), r.get("value")) for r in rec]
    word = nt.dac_word(nt.CMD_WRITE_UPDATE, 6, nt.dac_code(1.15, 1))
    st = nt.WO_STATUS
    assert ops == [
        ("UpdateWireOuts", None, None, None), ("GetWireOutValue", st, None, ops[1][3]),  # FIFO not full, once a ramp
        ("ActivateTriggerIn", nt.TI_SYS, nt.T_DAC_PUSH, None),  # DAC 3: no-op, already on 0x01
        ("ActivateTriggerIn", nt.TI_SYS, nt.T_DAC_PUSH, None),  # DAC 2: no-op again
        ("SetWireInValue", nt.WI_DAC, None, word), ("UpdateWireIns", None, None, None),
        ("ActivateTriggerIn", nt.TI_SYS, nt.T_DAC_PUSH, None),  # DAC 1: the step
        ("SetWireInValue", nt.WI_DAC, None, nt.NOP_WORD), ("UpdateWireIns", None, None, None),
        ("ActivateTriggerIn", nt.TI_SYS, nt.T_DAC_PUSH, None),  # DAC 0: no-op
        ("UpdateWireOuts", None, None, None), ("GetWireOutValue", st, None, ops[11][3]),  # FIFO empty
        ("ActivateTriggerIn", nt.TI_DAC, nt.T_DAC_UPDATE, None),
        ("UpdateWireOuts", None, None, None), ("GetWireOutValue", st, None, ops[14][3]),  # DAC idle
    ]
    assert not ops[1][3] & nt.ST_DAC_FIFO_FULL and ops[11][3] & nt.ST_DAC_FIFO_EMPTY and ops[14][3] & nt.ST_DAC_IDLE


def test_an_engine_run_costs_under_two_frontpanel_calls_a_cell_with_the_open(tmp_path):
    """128 cells formed and programmed on the engine; the open (9 calls and the rail ramps) is a fixed cost,
    so a 1 024-cell run (the issue's command) stays under 2 calls a cell when fixed + 1 024 x the rest does."""
    from neurram_lab import open_board
    from neurram_lab.program.writeverify import form_cells, write_verify

    n = 128
    path = tmp_path / "t.jsonl"
    b = open_board(f"hil://?seed=1&bitstream=neurram_top_wv&trace={path}")
    with b:
        idx = np.arange(n)
        c, r, k = np.zeros(n, int), idx // 256, idx % 256
        f = form_cells(b, c, r, k, g_pristine_max_s=0.5e-6)
        tgt = np.random.default_rng(0).uniform(1e-6, 40e-6, n)
        res = write_verify(b, c[f], r[f], k[f], tgt[f])
        assert res.in_window_fraction > 0.95
    s = summarize_trace(path, bitstream="neurram_top_wv")
    by = s["calls_by_board_op"]
    fixed = by["open"] + by["rails"] + by.get("close", 0)
    per_cell = (s["calls"] - fixed) / n
    assert by["rails"] < 1100  # 2 781 with the authors' one-channel groups
    assert per_cell < 0.3
    assert (fixed + per_cell * 1024) / 1024 < 2.0
    g = s["dac_groups"]
    assert g["malformed"] == 0 and g["words_pending"] == 0 and g["multi_dac"] > 10


def test_board_time_counts_the_open_s_frames_as_the_driver_sends_them():
    """drivers.board_time.rail_frame_calls against the open's own trace: every frame's calls from its words."""
    from neurram_lab.drivers.board_time import USB_S_PER_CALL, rail_frame_calls

    b, _emu, _ = _watched_board()
    with b:
        rails = b.link.calls["rails"]
        n_rails = sum(rails.values())
        frames = b.counters()["dac_groups"]
        sets = rails["SetWireInValue"]  # one a word written
        assert rails["SetWireInValue"] == rails["UpdateWireIns"]
        want = 2 + sum(rail_frame_calls(0)["calls"] for _ in range(frames)) + 2 * sets
        assert n_rails == want and frames == 76  # DAC 1's 76 steps bound the open's 103
        usb = 1 + sum(rail_frame_calls(0)["usb_transactions"] for _ in range(frames)) + sets
        assert usb == rails["UpdateWireIns"] + rails["UpdateWireOuts"] + rails["ActivateTriggerIn"]
        t = b.board_time.predicted_s_by_board_op["rails"]
        assert usb * min(USB_S_PER_CALL["UpdateWireIns"], USB_S_PER_CALL["UpdateWireOuts"]) < t < 0.2
    with pytest.raises(InputError, match="words_written"):
        rail_frame_calls(5)
