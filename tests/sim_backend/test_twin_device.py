"""The twin's cell physics against SPEC.md numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neurram_lab import InputError, open_board
from neurram_lab.sim_backend import CellKind, RelaxParams, SimBoard, TwinParams, relaxation_sigma
from neurram_lab.sim_backend.defects import draw_die
from neurram_lab.sim_backend.device import RelaxationClock
from neurram_lab.sim_backend.device import read_time_s
from neurram_lab.sim_backend.params import ReadParams

N = 2048
CORE = np.zeros(N, int)
ROW = np.arange(N) // 256
COL = np.arange(N) % 256


def test_pristine_cells_need_forming_above_4v(sim):
    g0 = sim.read(CORE, ROW, COL)
    assert np.median(g0) < 0.5e-6
    sim.pulse("set", CORE, ROW, COL, 3.0, 1e-6)  # a SET-level pulse does not form
    assert (sim.read(CORE, ROW, COL) > 5e-6).mean() < 0.01
    sim.pulse("form", CORE, ROW, COL, 4.6, 1e-6)
    assert (sim.read(CORE, ROW, COL) > 5e-6).mean() > 0.98


def _formed(seed=5):
    b = SimBoard(seed=seed)
    b.pulse("form", CORE, ROW, COL, 4.8, 2e-6)
    return b


def test_set_response_grows_with_voltage_and_width():
    steps = []
    for v, w in [(1.3, 1e-6), (1.7, 1e-6), (1.7, 4e-6)]:
        b = _formed()
        b.pulse("reset", CORE, ROW, COL, 3.0, 2e-6)
        lo = b.read(CORE, ROW, COL)
        b.pulse("set", CORE, ROW, COL, v, w)
        steps.append(np.median(b.read(CORE, ROW, COL) - lo))
    assert steps[0] < steps[1] < steps[2]


def test_repeated_set_saturates_below_compliance():
    b = _formed()
    for _ in range(20):
        b.pulse("set", CORE, ROW, COL, 2.5, 2e-6)
    g = b.read(CORE, ROW, COL)
    assert 40e-6 < np.median(g) < 120e-6
    lower_gate = _formed()
    for _ in range(20):
        lower_gate.pulse("set", CORE, ROW, COL, 2.5, 2e-6, v_gate=1.2)
    assert np.median(lower_gate.read(CORE, ROW, COL)) < 0.6 * np.median(g)


def test_relaxation_clock_mostly_within_a_second():
    p = RelaxParams()
    fast, slow = RelaxationClock(p)([1e-3, 1.0, 1800.0, 86400.0])
    assert fast[1] > 0.9 and slow[1] < 0.1, "fast traps are gone within 1 s, slow ones have barely started"
    assert np.all(np.diff(fast) >= 0) and np.all(np.diff(slow) >= 0) and slow[-1] <= 1.0
    assert 0.5 < slow[2] < slow[3]
    # spread at the peak level: most of it within 1 s, then growing with log time
    s1, s30m, sday = (relaxation_sigma(12.5e-6, p, t) for t in (1.0, 1800.0, 86400.0))
    assert s1 > 0.45 * sday and s1 < s30m < sday


def test_relaxation_spread_peaks_mid_range_and_narrows_near_gmin():
    g = np.array([2, 12, 40]) * 1e-6
    s = relaxation_sigma(g, RelaxParams())
    assert s[1] > s[2] > s[0]
    assert 3.5e-6 < s[1] < 4.5e-6


def test_read_time_between_1_and_10_us():
    t = read_time_s(np.array([0.0, 1e-6, 40e-6, 100e-6]), ReadParams())
    assert t[0] == pytest.approx(10e-6) and t[-1] < 1.1e-6
    assert np.all(np.diff(t) < 0)


def test_virtual_time_drives_relaxation():
    b = _formed()
    b.pulse("reset", CORE, ROW, COL, 2.2, 1e-6)
    g_now = b.true_conductance_s(CORE, ROW, COL)
    b.wait(1800)
    g_later = b.true_conductance_s(CORE, ROW, COL)
    d = (g_later - g_now) * 1e6
    assert 1.0 < d.std() < 5.0 and abs(d.mean()) < 1.0


def test_defects_differ_between_dies_and_are_reproducible():
    p = TwinParams()
    a, b, a2 = draw_die(p, 1, 0), draw_die(p, 2, 0), draw_die(p, 1, 0)
    assert np.array_equal(a["kind"], a2["kind"]) and not np.array_equal(a["kind"], b["kind"])
    kinds = set(np.unique(a["kind"]).tolist())
    assert {CellKind.PRISTINE, CellKind.UNFORMABLE, CellKind.STUCK_ON} <= kinds


def test_stuck_cells_ignore_pulses():
    b = SimBoard(seed=3)
    die = draw_die(b.params, 3, 0)
    stuck = np.flatnonzero(die["kind"] == CellKind.STUCK_ON)[:20]
    r, c = stuck // 256, stuck % 256
    before = b.read(0, r, c)
    b.pulse("reset", 0, r, c, 3.5, 5e-6)
    assert np.allclose(b.read(0, r, c), before, rtol=0.1)


def test_energy_accumulates(sim):
    e0 = sim.counters()["energy_j"]
    sim.pulse("form", CORE, ROW, COL, 4.6, 1e-6)
    assert sim.counters()["energy_j"] > e0


def test_twin_params_from_toml_and_json(tmp_path):
    t = tmp_path / "twin.toml"
    t.write_text("[device]\nform_v_th_v = 2.0\n[relax]\nfast_sigma_s = 1e-6\n")
    p = TwinParams.from_file(t)
    assert p.device.form_v_th_v == 2.0 and p.relax.fast_sigma_s == 1e-6
    assert p.read == TwinParams().read
    j = tmp_path / "twin.json"
    j.write_text(json.dumps(p.to_dict()))
    assert TwinParams.from_file(j) == p
    with open_board(f"sim://?seed=1&params={t}") as b:
        assert b.params.device.form_v_th_v == 2.0
        assert b.snapshot()["twin"]["params"]["device"]["form_v_th_v"] == 2.0
    bad = tmp_path / "bad.toml"
    bad.write_text("[device]\nwarp = 1\n")
    with pytest.raises(InputError, match="device.warp"):
        TwinParams.from_file(bad)
