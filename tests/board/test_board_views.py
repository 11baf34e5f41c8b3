"""Tier 1: ``Chip`` / ``Core``, per-core views of the Board contract, sized from ``board.limits`` (issue 23 item 10)."""

from __future__ import annotations

import numpy as np
import pytest

import neurram_lab as nl
from neurram_lab.board import Chip, Core, SafetyLimits, open_board
from neurram_lab.errors import InputError, LimitError

SMALL = dict(n_cores=3, n_rows=8, n_cols=5)


def _pair(seed=7, **limits):
    """Two boards in the same state: one used through the views, one through the contract."""
    lim = SafetyLimits(**limits) if limits else None
    return open_board(f"sim://?seed={seed}", limits=lim), open_board(f"sim://?seed={seed}", limits=lim)


def test_the_public_names_are_the_board_views():
    assert nl.Chip is Chip and nl.Core is Core


def test_read_all_is_sized_from_the_limits_and_reads_what_the_contract_reads():
    a, b = _pair(**SMALL)
    g = Chip(a).core(2).read_all_g_siemens()
    assert g.shape == (8, 5) and g.dtype == np.float32
    r, c = np.meshgrid(np.arange(8), np.arange(5), indexing="ij")
    assert np.array_equal(g, b.read(np.full(r.shape, 2), r, c).reshape(8, 5))
    assert Chip(open_board("sim://")).core(0).read_all_g_siemens().shape == (nl.N_ROWS, nl.N_COLS)


def test_core_and_chip_follow_the_limits_on_cores():
    a, _ = _pair(**SMALL)
    chip = Chip(a)
    assert chip.n_cores == 3 and [k.index for k in chip.cores()] == [0, 1, 2]
    with pytest.raises(LimitError, match="core"):
        chip.core(3)
    with pytest.raises(LimitError, match="core"):
        chip.cores([0, 3])
    a.set_limits(SafetyLimits(n_cores=5))
    assert chip.n_cores == 5 and chip.core(4).index == 4


@pytest.mark.parametrize("op, kind, v", [("form", "form", 4.6), ("set_pulse", "set", 1.6), ("reset_pulse", "reset", 1.8)])
def test_pulses_are_the_contracts_pulses_of_their_kind(op, kind, v):
    a, b = _pair()
    rows, cols = np.array([0, 1, 2]), np.array([4, 4, 9])
    if kind != "form":  # SET and RESET act on formed cells
        for board in (a, b):
            board.pulse("form", np.ones(3, int), rows, cols, 4.6, 1e-6)
    getattr(Chip(a).core(1), op)(rows, cols, v, width_s=2e-6)
    b.pulse(kind, np.ones(3, int), rows, cols, v, 2e-6)
    got, want = Chip(a).core(1).read_g_siemens(rows, cols), b.read(np.ones(3, int), rows, cols)
    assert np.array_equal(got, want)
    assert a.counters()["pulses"] == b.counters()["pulses"] > 0


def test_read_broadcasts_rows_against_cols_and_refuses_shapes_that_do_not():
    a, b = _pair()
    g = Chip(a).core(0).read_g_siemens(np.arange(4)[:, None], np.array([1, 2]))
    assert g.shape == (4, 2)
    r, c = np.broadcast_arrays(np.arange(4)[:, None], np.array([1, 2]))
    assert np.array_equal(g, b.read(np.zeros(r.shape, int), r, c).reshape(4, 2))
    with pytest.raises(InputError, match="do not broadcast"):
        Chip(a).core(0).read_g_siemens([0, 1], [0, 1, 2])


def test_power_and_rails_go_to_the_board():
    a, _ = _pair()
    core = Chip(a).core(5)
    core.power(False)
    assert not core.powered and not a.powered_cores()[5] and a.powered_cores()[4]
    core.power(True)
    assert core.powered
    chip = Chip(a)
    chip.set_rails(v_read=0.4)
    assert chip.rails_v["v_read"] == pytest.approx(0.4) and a.get_rails() == chip.rails_v
    with pytest.raises(LimitError):
        chip.set_rails(v_read=9.0)


def test_views_need_a_board():
    with pytest.raises(InputError, match="Board"):
        Chip(None)
    with pytest.raises(InputError, match="Board"):
        Core("sim://", 0)
