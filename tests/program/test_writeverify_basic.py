"""Write-verify through the Board contract."""

from __future__ import annotations

import numpy as np
import pytest

from neurram_lab import InputError, LimitError, WriteVerifyConfig, form_cells, open_board, write_verify


def _cells(n=1024, core=4):
    return np.full(n, core), np.arange(n) // 256, np.arange(n) % 256


def test_programs_cells_into_window(board):
    c, r, k = _cells(512)
    formed = form_cells(board, c, r, k)
    assert formed.mean() > 0.98
    tgt = np.random.default_rng(0).uniform(1e-6, 40e-6, c.size)[formed]
    res = write_verify(board, c[formed], r[formed], k[formed], tgt, trace=True)
    assert res.in_window_fraction > 0.98
    ok = res.success
    assert np.all(np.abs(res.g_final_s[ok] - tgt[ok]) <= 1e-6 + 1e-9)
    assert 3 < res.mean_pulses_per_cell < 20
    assert res.trace["op"].size == res.pulses.sum() + (res.trace["op"] == 0).sum()


def test_bad_config_sends_nothing():
    with open_board("sim://?seed=1") as b:
        before = b.counters()
        with pytest.raises(LimitError):
            write_verify(b, *_cells(4), 10e-6, WriteVerifyConfig(set_v_max_v=4.5))
        with pytest.raises(InputError):
            write_verify(b, [0, 0], [1, 1], [2, 2], 10e-6)
        with pytest.raises(LimitError):
            write_verify(b, *_cells(4), -1e-6)
        assert b.counters() == before
