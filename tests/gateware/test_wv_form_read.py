"""Reads and FORM on the emulated neurram_top_wv engine (drivers/_wv_engine_host.py run_read / run_form), limits
lowered after open, and an engine call that fails after some batches, journaled and replayed."""

import dataclasses

import numpy as np
import pytest

from neurram_lab import open_board, read_run
from neurram_lab.drivers import _wv_engine as wv
from neurram_lab.drivers import _wv_engine_host as host
from neurram_lab.errors import InputError, LimitError
from neurram_lab.experiments import write_verify as wv_exp
from neurram_lab.program.writeverify import WriteVerifyConfig, form_cells, write_verify
from neurram_lab.runlog.replay import ReplayBoard

N = 64


def _cells(n=N):
    return np.zeros(n, int), np.arange(n) // 32, np.arange(n) % 32


@pytest.fixture(scope="module")
def formed(tmp_path_factory):
    """The same twin (seed 2) formed on the engine and by the host ramp of the authors' bitstream."""
    out = {}
    for name, spec in (("engine", "hil://?seed=2&bitstream=neurram_top_wv"), ("host", "hil://?seed=2")):
        b = open_board(spec)
        c, r, k = _cells()
        n0 = b.link.totals()["total"]
        f = form_cells(b, c, r, k, g_pristine_max_s=0.5e-6)
        out[name] = dict(board=b, formed=f, calls=b.link.totals()["total"] - n0, pulses=b.counters()["pulses"],
                         g=b.emulator.twin._read(c, r, k), by_op=dict(b.board_time.calls_by_board_op))
    return out


def test_forming_on_the_engine_forms_like_the_host_ramp(formed):
    e, h = formed["engine"], formed["host"]
    assert e["formed"].mean() > 0.9
    assert np.mean(e["formed"] == h["formed"]) >= 0.95
    assert abs(e["pulses"] - h["pulses"]) <= 0.1 * h["pulses"]  # the same ramp, read before every pulse
    thr = 5e-6  # form_cells' g_formed_s: the twin's own conductance agrees with the engine's verdict
    assert np.mean((e["g"] >= 0.9 * thr) == e["formed"]) >= 0.95
    assert e["calls"] <= 0.5 * N and h["calls"] > 20 * N
    ops = e["by_op"]
    assert ops.get("form") and not ops.get("pulse")  # no host pulse: every FORM pulse came from the engine


def test_forming_stays_inside_the_form_ceilings_in_hardware(formed):
    b = formed["engine"]["board"]
    fsm = b.emulator.wv_fsm
    ceil = host.form_ceilings(b)
    assert ceil.set_bl == wv.volts_code(min(b.limits.form_v_max, 5.0 - 2 ** -16 * 5.0), "x")
    assert ceil.reset_sl == ceil.reset_wl == 0
    assert 0 < fsm.hiwater <= max(ceil.set_bl, ceil.set_wl) and not fsm.guard_trip
    assert fsm.shadow.get(2, 0) == 0 and fsm.shadow.get(3, 0) == 0  # no RESET amplitude or gate written


def test_engine_reads_equal_the_host_loop_reads(formed):
    b = formed["engine"]["board"]
    c, r, k = _cells()
    n0 = b.link.totals()["total"]
    g = b.read(c, r, k)
    calls = b.link.totals()["total"] - n0
    g_host = b._read_host(c, r, k)  # the authors' read sequence on the same board, auto-ranged from 10/20
    # each read draws the twin's read noise afresh (a few %): the two agree within it and carry no bias
    rel = (g - g_host) / g_host
    assert np.all(np.abs(rel) <= 0.08) and abs(rel.mean()) <= 0.01
    assert calls <= 12  # probe, ceilings, one batch: pipe in, start, poll, pipe out


def test_lowered_limits_after_open_are_refused_before_sending(tmp_path):
    trace = tmp_path / "t.jsonl"
    with open_board(f"hil://?seed=1&bitstream=neurram_top_wv&trace={trace}") as b:
        c, r, k = _cells(8)
        b.limits = dataclasses.replace(b.limits, pulse_v_max=2.0)  # below WriteVerifyConfig's 3.0 V SET ceiling
        n0 = b.link.totals()["total"]
        with pytest.raises(LimitError, match="2"):
            write_verify(b, c, r, k, np.full(8, 20e-6), config=WriteVerifyConfig())
        assert b.link.totals()["total"] == n0  # refused by the driver: nothing sent
        # the engine itself: ceilings loaded from the lowered limits refuse a raw level above them
        ceil = host.ceilings(b)
        lvl = wv.level_from_volts(19e-6, 21e-6, 0.2, 1.2, 1.9, 1.5, 1.9, 2.0, 1.9, 0.1, 1e-6, 50, 5, 4, ceil)
        raw = lvl.words()
        raw[2] = lvl.set_start | (ceil.set_bl + 64) << 16  # SET ceiling code above the loaded one
        assert host.probe(b)[0]
        for ep, val in ceil.wire_ins().items():
            b.stage_wire_in(ep, val)
        b.link.update_wire_ins()
        words = np.asarray([wv.OP_LEVEL << 28] + raw + wv.cell_commands(c[:2], r[:2], k[:2], 0), np.int64)
        rec = host._run_batch(b, words, 2, 0)
        assert np.all(rec["status"] == wv.ST_REFUSED) and np.all(rec["pulses"] == 0)
        assert np.all(rec["raw1"] >> wv.REFUSAL_NAMES.index("set_ceiling") & 1)
        assert b.emulator.wv_fsm.pulses == 0


class _Stop(InputError):
    pass


def _stopping_progress(total, label):
    class Bar:
        n = 0

        def update(self, k):
            self.n += k
            if self.n:
                raise _Stop(f"stopped after {self.n} cells")

        def close(self):
            pass

    return Bar()


def test_partial_engine_batches_are_journaled_and_replayed(tmp_path):
    kw = dict(cores=(0,), cells_per_core=300, iterations=1, settle_s=0.0)  # distinct windows: 2 batches
    with open_board("hil://?seed=1&bitstream=neurram_top_wv") as board, pytest.raises(_Stop):
        wv_exp.run(board, tmp_path / "part.h5", progress=_stopping_progress, **kw)
    run = read_run(tmp_path / "part.h5", journal=True)
    ops = [run.journal.call(i) for i in range(len(run.journal))]
    eng = [cl for cl in ops if cl.op == "write_verify_engine"]
    assert len(eng) == 2 and "partial" in eng[0].response and eng[1].error is not None
    done = eng[0].response["done"]
    assert 0 < done.size < eng[0].args["core"].size
    rows = run.tables["wv_cells"]
    assert len(rows) == done.size
    with ReplayBoard(tmp_path / "part.h5") as rb, pytest.raises(InputError, match="stopped after"):
        wv_exp.run(rb, tmp_path / "again.h5", progress=_stopping_progress, **kw)
    again = read_run(tmp_path / "again.h5").tables["wv_cells"]
    assert again.equals(rows)


def test_a_saturated_engine_read_is_flagged_and_read_on_the_host_loop():
    with open_board("hil://?seed=1&bitstream=neurram_top_wv") as b:
        c, r, k = np.zeros(4, int), np.zeros(4, int), np.arange(4)
        tw = b.emulator.twin
        tw._pulse("form", c, r, k, np.full(4, 4.0), np.full(4, 1e-6), np.full(4, 1.6))
        for _ in range(10):
            tw._pulse("set", c, r, k, np.full(4, 3.0), np.full(4, 1e-5), np.full(4, 2.5))
        b.set_rails({"v_cell_read": 0.5})  # 0.5 V: the integrator reaches the ADC floor above ~90 uS
        g_true = tw._read(c, r, k)
        g, sat = host.run_read(b, c, r, k)
        assert np.array_equal(sat, g_true > 1.05e-4) and sat.any() and not sat.all()
        assert np.all(g[sat] == np.float32(wv.code_to_siemens(wv.READ_SATURATED, 0.5)))
        got = b.read(c, r, k)
        assert np.all(got < 2e-4)  # the saturated cells came from the host loop, not the 0xFFFFFF code
