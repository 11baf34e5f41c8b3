"""The twin's blocks on a thread pool: results do not depend on the number of threads."""

from __future__ import annotations

import numpy as np

from neurram_lab import form_cells, write_verify
from neurram_lab.sim_backend import SimBoard
from neurram_lab.sim_backend._parallel import BLOCK, run_blocks

N = 2 * BLOCK + 5000  # three blocks per call, the last one short


def _run(monkeypatch, threads):
    monkeypatch.setenv("NEURRAM_TWIN_THREADS", str(threads))
    b = SimBoard(seed=11)
    i = np.arange(N)
    c, r, k = i >> 16, (i >> 8) & 255, i & 255
    f = form_cells(b, c, r, k)
    tgt = np.random.default_rng(1).uniform(1e-6, 40e-6, f.sum())
    res = write_verify(b, c[f], r[f], k[f], tgt)
    b.wait(1800)
    return res, b.read(c, r, k), b.counters()


def test_same_results_on_one_or_two_threads(monkeypatch):
    one, g1, n1 = _run(monkeypatch, 1)
    two, g2, n2 = _run(monkeypatch, 2)
    assert np.array_equal(one.pulses, two.pulses) and np.array_equal(one.g_final_s, two.g_final_s)
    assert np.array_equal(g1, g2)
    assert n1 == n2, "time and energy counters add up the same way"
    assert 7.5 < one.mean_pulses_per_cell < 9.5 and one.in_window_fraction >= 0.99


def test_repeated_cells_across_blocks_run_in_call_order():
    b = SimBoard(seed=2)
    idx = np.r_[np.arange(BLOCK), np.arange(100)]  # the first 100 cells again in the second block
    c, r, k = idx >> 16, (idx >> 8) & 255, idx & 255
    b.pulse("form", c, r, k, 4.8, 2e-6)
    g = b.read(c, r, k)
    assert np.all(g[BLOCK:] > 5e-6)
    twin = SimBoard(seed=2)
    twin.pulse("form", c, r, k, 4.8, 2e-6)
    assert np.array_equal(twin.read(c, r, k), g)


def test_run_blocks_keeps_order_and_raises(monkeypatch):
    monkeypatch.setenv("NEURRAM_TWIN_THREADS", "2")
    assert run_blocks(lambda i: i * i, 9) == [i * i for i in range(9)]

    def bad(i):
        if i == 5:
            raise ValueError("block 5")
        return i

    try:
        run_blocks(bad, 9)
    except ValueError as exc:
        assert "block 5" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("the error of a block reaches the caller")
