"""Tier-2 write-verify on the emulated neurram_top_wv engine (drivers/_wv_engine_host.py) through the real API."""

import json

import numpy as np
import pytest

from neurram_lab import open_board
from neurram_lab.board.limits import SafetyLimits
from neurram_lab.drivers import _wv_engine as wv
from neurram_lab.drivers import neurram_top as nt
from neurram_lab.drivers.hil import connect, make_emulated_board
from neurram_lab.errors import BoardError, CapabilityError, InputError, LimitError
from neurram_lab.program.programming import iterative_program
from neurram_lab.program.writeverify import OUTCOME_SUCCESS, WriteVerifyConfig, form_cells, write_verify

N = 96


def _cells(board, n=N):
    c, r, k = np.zeros(n, int), np.arange(n) // 48, np.arange(n) % 48
    f = form_cells(board, c, r, k, g_pristine_max_s=0.5e-6)
    tgt = np.random.default_rng(0).uniform(1e-6, 40e-6, n)
    return c[f], r[f], k[f], tgt[f]


def _calls(board):
    return board.link.totals()["total"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The same twin (seed 1) and cells programmed on the engine and by the host loop of the authors' bitstream."""
    trace = tmp_path_factory.mktemp("wv") / "engine.jsonl"
    out = {}
    for name, spec in (("engine", f"hil://?seed=1&bitstream=neurram_top_wv&trace={trace}"), ("host", "hil://?seed=1")):
        b = open_board(spec)
        c, r, k, tgt = _cells(b)
        n0, t0 = _calls(b), b.counters()["predicted_board_time_s"]
        done = []
        res = write_verify(b, c, r, k, tgt, on_done=lambda cells, res: done.append(cells))
        out[name] = dict(board=b, res=res, calls=_calls(b) - n0, done=np.concatenate(done), cells=(c, r, k, tgt),
                         time_s=b.counters()["predicted_board_time_s"] - t0, pulses=b.counters()["pulses"])
    b = out["engine"]["board"]
    b.close()
    out["trace"] = [json.loads(line) for line in trace.read_text().splitlines()]
    return out


def test_engine_lands_cells_in_their_windows_like_the_host_loop(runs):
    e, h = runs["engine"], runs["host"]
    re_, rh = e["res"], h["res"]
    assert re_.n_cells == rh.n_cells > 80
    ok = re_.outcome == OUTCOME_SUCCESS
    assert ok.mean() > 0.9 and np.array_equal(ok, re_.success)
    # in window as the engine's codes say, and the read conductance within target +- window
    tgt = e["cells"][3]
    assert np.all(np.abs(re_.g_final_s[ok] - tgt[ok]) <= 1e-6 + wv.code_to_siemens(1, 0.2))
    # the twin's own conductance agrees: the cells really were programmed
    twin = e["board"].emulator.twin
    c, r, k, _ = e["cells"]
    g_true = twin.true_conductance_s(c, r, k)
    assert np.median(np.abs(g_true[ok] - tgt[ok])) < 2e-6
    # engine vs host loop on the same chip: the tolerances
    assert abs(re_.mean_pulses_per_cell - rh.mean_pulses_per_cell) <= 0.15 * rh.mean_pulses_per_cell
    assert abs(re_.in_window_fraction - rh.in_window_fraction) <= 0.02
    assert sorted(e["done"].tolist()) == list(range(re_.n_cells))  # on_done saw every cell once
    assert e["pulses"] >= re_.pulses.sum() > 0


def test_engine_takes_at_most_two_calls_per_cell_in_the_trace(runs):
    e, h = runs["engine"], runs["host"]
    n = e["res"].n_cells
    wv_calls = [rec for rec in runs["trace"] if rec.get("board_op") == "write_verify"]
    assert len(wv_calls) == e["calls"] and len(wv_calls) <= 2 * n
    ops = {rec["op"] for rec in wv_calls}
    assert {"WriteToPipeIn", "ReadFromPipeOut"} <= ops
    assert h["calls"] > 100 * n  # the host loop: hundreds per cell
    assert e["time_s"] < h["time_s"] / 5  # predicted board time (the engine reads dominate it)


def test_iterative_program_runs_on_the_engine():
    b = open_board("hil://?seed=2&bitstream=neurram_top_wv")
    c, r, k, tgt = _cells(b, 48)
    res = iterative_program(b, c, r, k, tgt, iterations=2, settle_s=0.0)
    assert res.wv_success_fraction > 0.9
    assert b.counters()["wv_engine_cells"] >= c.size
    assert not b.emulator.violations


def test_refusals_are_typed_and_send_nothing():
    b = open_board("hil://?seed=3&bitstream=neurram_top_wv")
    c, r, k = np.zeros(4, int), np.zeros(4, int), np.arange(4)
    n0 = _calls(b)
    with pytest.raises(InputError, match="window_s"):  # narrower than one read code of the engine
        write_verify(b, c, r, k, 10e-6, WriteVerifyConfig(window_s=1e-10))
    with pytest.raises(LimitError, match="col"):
        write_verify(b, c, r, np.array([0, 1, 2, 256]), 10e-6)
    b.set_limits(SafetyLimits(gate_v_max=4.0))  # the RESET gate rail (4.5 V) is now above the limits
    with pytest.raises(LimitError, match="gate"):
        write_verify(b, c, r, k, 10e-6)
    assert _calls(b) == n0
    a = open_board("hil://?seed=3")
    with pytest.raises(CapabilityError, match="neurram_top"):
        a.write_verify_engine()


def test_bitstream_without_engine_is_a_board_error():
    ok, emu = make_emulated_board(seed=4, bitstream="neurram_top_wv", strict=False)
    for key in [k for k in emu.on_trigger if k[0] == nt.TI_ENGINE]:
        del emu.on_trigger[key]
    emu.on_pipe_in.pop(nt.PI_ENGINE_COMMANDS)
    emu.status_bits[nt.WO_ENGINE_STATUS] = 0  # an unassigned wire-out reads 0
    b = connect(ok, "hil://?bitstream=neurram_top_wv")
    with pytest.raises(BoardError, match="no write-verify engine"):
        write_verify(b, 0, 0, np.arange(2), 10e-6)
    b.pulse("set", 0, 0, 0, 1.5, 1e-6)  # the board recovers for host operations


def test_rtl_top_wv_is_a_clear_input_error():
    with pytest.raises(InputError, match="neurram_top_wv.*cocotb bench"):
        open_board("rtl://?top=neurram_top_wv")
