"""The twin's compiled cell kernels against the numpy reference they replace (sim_backend._kernels)."""

from __future__ import annotations

import numpy as np
import pytest

from neurram_lab import _jit
from neurram_lab.sim_backend import _kernels
from neurram_lab.sim_backend.cells import CellArray
from neurram_lab.sim_backend.defects import CellKind
from neurram_lab.sim_backend.params import TwinParams
from neurram_lab.board.registry import open_board
from neurram_lab.program.writeverify import form_cells, write_verify

pytestmark = pytest.mark.skipif(not _kernels.available(), reason="numba is a dependency; absent only on odd platforms")

IDX = np.sort(np.random.default_rng(0).choice(2 * 65536, 20000, replace=False)).astype(np.int64)


def _history(monkeypatch) -> CellArray:
    """Two cores with a few rounds of SET/RESET pulses and reads behind them, all on the numpy path."""
    monkeypatch.setattr(_jit, "ENABLED", False)
    ca = CellArray(TwinParams(), 5)
    ca.ensure_cores(np.array([0, 1]))
    ca.kind[ca.kind == CellKind.PRISTINE] = CellKind.NORMAL
    t = 1e-3
    for rnd in range(4):
        kind = "set" if rnd % 2 == 0 else "reset"
        t_end = t + np.arange(1, IDX.size + 1) * 2e-6
        ca.pulse(kind, IDX, np.full(IDX.size, 1.4 + 0.1 * rnd, np.float32), 1e-6, 2.0, t_end, ca.streams(1)[0])
        t = t_end[-1] + 10.0 ** rnd
        ca.read(IDX, t + np.arange(1, IDX.size + 1) * 1e-6, ca.streams(1)[0])
        t += 1.0
    return ca


def _both(monkeypatch, op):
    out = []
    for on in (False, True):
        ca = _history(monkeypatch)
        monkeypatch.setattr(_jit, "ENABLED", on)
        out.append((op(ca), ca))
    return out


@pytest.mark.parametrize("kind", ["set", "reset"])
def test_compiled_pulse_matches_the_reference(monkeypatch, kind):
    t0 = 1e5

    def op(ca):
        v = np.full(IDX.size, 1.5 if kind == "set" else 1.8, np.float32)
        return ca.pulse(kind, IDX, v, 1e-6, 2.0, t0 + np.arange(1, IDX.size + 1) * 2e-6, ca.streams(1)[0])

    (ref, a), (got, b) = _both(monkeypatch, op)
    before = _history(monkeypatch).g_s[IDX]
    assert np.abs(ref - before).max() > 1e-7  # the pulse moved the cells
    assert np.abs(got - ref).max() < 1e-10  # S: float32 exp may differ by an ulp, nothing more
    assert np.array_equal(a.t_prog_s, b.t_prog_s) and np.array_equal(a.age_index, b.age_index)
    ra, rb = a._rec[IDX], b._rec[IDX]
    rel = np.abs(ra - rb) / np.maximum(np.abs(ra), 1e-30)
    # the spread amplitude is tabulated on a 10 nS grid: an ulp can move a cell to the next row
    assert np.percentile(rel, 99.9) < 1e-4 and rel.max() < 1e-2


def test_compiled_read_is_identical_to_the_reference(monkeypatch):
    def op(ca):
        return ca.read(IDX, 2e5 + np.arange(1, IDX.size + 1) * 1e-6, ca.streams(1)[0])

    (ref, a), (got, b) = _both(monkeypatch, op)
    assert np.array_equal(got, ref)  # no transcendental functions on this path: bit for bit
    assert np.array_equal(a.g_s, b.g_s) and np.array_equal(a.age_index, b.age_index)


def test_write_verify_statistics_are_the_same_either_way(monkeypatch):
    stats = []
    for on in (False, True):
        monkeypatch.setattr(_jit, "ENABLED", on)
        board = open_board("sim://?seed=9")
        i = np.arange(6000)
        tgt = np.random.default_rng(1).uniform(2e-6, 38e-6, i.size)
        c, r, k = i >> 12, (i >> 4) & 255, i & 15
        ok = form_cells(board, c, r, k)
        res = write_verify(board, c[ok], r[ok], k[ok], tgt[ok])
        stats.append((res.in_window_fraction, res.mean_pulses_per_cell, board.counters()["energy_j"]))
    (f0, p0, e0), (f1, p1, e1) = stats
    assert f0 > 0.99 and f1 > 0.99
    assert abs(p1 - p0) < 0.05 * p0
    assert abs(e1 - e0) < 0.05 * e0


def test_compiled_write_verify_rounds_equal_the_numpy_rounds(monkeypatch):
    """Same board calls with the same arguments: identical results, trace and board state."""
    import neurram_lab.program.writeverify as wv

    out, compiled = [], wv._KERNELS
    for on in (False, True):  # the twin's own kernels stay on: only write_verify's rounds change
        monkeypatch.setattr(wv, "_KERNELS", compiled if on else "neurram_lab._no_such_module")
        board = open_board("sim://?seed=4")
        i = np.arange(5000)
        c, r, k = i >> 12, (i >> 4) & 255, i & 15
        ok = form_cells(board, c, r, k)
        tgt = np.random.default_rng(2).uniform(1e-6, 45e-6, i.size)[ok]
        tgt[:50] = 80e-6  # out of reach: these time out or stall at the top of the ramp
        done = []
        res = write_verify(board, c[ok], r[ok], k[ok], tgt, trace=True,
                           on_done=lambda cells, rr: done.append(cells.copy()))
        out.append((res, np.concatenate(done), board.counters(), board.now()))
    (a, done_a, cnt_a, t_a), (b, done_b, cnt_b, t_b) = out
    for name in ("g_final_s", "pulses", "reversals", "success", "outcome"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    for key in a.trace:
        assert np.array_equal(a.trace[key], b.trace[key], equal_nan=True), key
    assert np.array_equal(done_a, done_b)
    assert t_a == t_b and cnt_a["pulses"] == cnt_b["pulses"]
    assert set(np.unique(a.outcome)) >= {1, 2} or set(np.unique(a.outcome)) >= {1, 3}
    assert wv._jit.kernels(compiled) is not None  # the compiled rounds did run


def test_board_pulses_with_per_cell_widths_gates_and_repeats_agree(monkeypatch):
    """Per-cell widths (pulse end times from their running sum), per-cell gates and a repeated
    cell (blocks then run in order on the numpy path) give the same board either way."""
    out = []
    for on in (False, True):
        monkeypatch.setattr(_jit, "ENABLED", on)
        b = open_board("sim://?seed=12")
        i = np.arange(3000)
        c, r, k = i >> 11, (i >> 3) & 255, i & 7
        ok = form_cells(b, c, r, k)
        c, r, k = c[ok], r[ok], k[ok]
        n = c.size
        b.pulse("set", c, r, k, np.linspace(1.3, 2.0, n), np.linspace(1e-6, 4e-6, n), np.linspace(1.2, 2.4, n))
        b.pulse("reset", c, r, k, 1.9, np.linspace(1e-6, 2e-6, n))
        b.pulse("set", np.r_[c, c[:7]], np.r_[r, r[:7]], np.r_[k, k[:7]], 1.7, 1e-6)  # repeats
        b.wait(60.0)
        out.append((b.read(c, r, k), b.now(), b.counters()["energy_j"]))
    (g0, t0, e0), (g1, t1, e1) = out
    assert np.abs(g1 - g0).max() < 1e-8  # S; reads add 1 % noise, the same draws on both paths
    assert np.ptp(g0) > 10e-6
    assert t1 == pytest.approx(t0, rel=1e-12) and e1 == pytest.approx(e0, rel=1e-6)
