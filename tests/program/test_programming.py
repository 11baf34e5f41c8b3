"""Tier-2 programming on the twin: the chip's statistics, what a physicist expects, weights, resume."""

from __future__ import annotations

import numpy as np
import pytest

from neurram_lab import (
    PROGRAM_TABLES,
    BoardError,
    InputError,
    LimitError,
    MatrixPlacement,
    RunLog,
    WriteVerifyConfig,
    conductance_to_weights,
    form_cells,
    iterative_program,
    program_weights,
    read_run,
    scan_dead_cells,
    write_verify,
)
from neurram_lab._cores import parse_cores
from neurram_lab.board.contract import Board
from neurram_lab.board.limits import flat_cell_index as flat_index
from neurram_lab.program.programming import ALIVE
from neurram_lab.sim_backend import CellKind, SimBoard
from neurram_lab.sim_backend.defects import draw_die


def _cells(n, core=0):
    i = np.arange(n)
    return np.full(n, core), i // 256, i % 256


def _formed_cells(board, n, core=0):
    c, r, k = _cells(n, core)
    f = form_cells(board, c, r, k)
    return c[f], r[f], k[f]


def _program(seed=4, n=4096, gmax_s=40e-6, core=0, **cfg):
    b = SimBoard(seed=seed)
    c, r, k = _formed_cells(b, n, core)
    tgt = np.random.default_rng(0).uniform(1e-6, gmax_s, c.size)
    return write_verify(b, c, r, k, tgt, WriteVerifyConfig(**cfg))


# ------------------------------------------------------------- chip's bands
def test_pulses_per_cell_and_success_like_the_chip():
    res = _program(n=8192)
    assert 7.5 < res.mean_pulses_per_cell < 9.5, "chip: 8.52 pulses per cell"
    assert res.in_window_fraction >= 0.99, "chip: 99 % within 30 reversals"
    ok = res.success
    assert np.all(np.abs(res.g_final_s[ok] - res.target_s[ok]) <= 1e-6 + 1e-9)


def test_iterative_programming_cuts_the_spread_about_29_percent():
    b = SimBoard(seed=8)
    c, r, k = _formed_cells(b, 16384, core=3)
    tgt = np.random.default_rng(1).uniform(1e-6, 40e-6, c.size)
    res = iterative_program(b, c, r, k, tgt, iterations=3, settle_s=1800.0, spread_range_s=(1e-6, 40e-6))
    s = np.array(res.sigma_s_by_iteration) * 1e6
    assert s.size == 3 and s[0] > s[1] > s[2]
    assert 2.5 < s[0] < 3.5, "spread 30 min after one pass (chip ~2.8 uS averaged over levels)"
    assert 1.8 < s[2] < 2.6, "after 3 passes (chip ~2 uS)"
    assert 0.2 < 1 - s[2] / s[0] < 0.38, "chip: 29 % lower after 3 iterations"
    sizes = [it["cells_programmed"] for it in res.iterations]
    assert sizes[0] == c.size and sizes[1] < c.size and sizes[2] < sizes[1]
    assert np.all(res.passes >= 1) and res.pulses.sum() > res.first_pulses.sum()


# --------------------------------------------------- a physicist's expectations
def test_tighter_window_needs_more_pulses():
    p = [_program(window_s=w * 1e-6).mean_pulses_per_cell for w in (2.0, 1.0, 0.5)]
    assert p[0] < p[1] < p[2]


def test_fewer_allowed_reversals_lower_success():
    strict, paper = _program(max_reversals=1), _program(max_reversals=30)
    assert strict.in_window_fraction < paper.in_window_fraction - 0.05
    assert strict.reversals.max() <= 2


def test_higher_gmax_raises_failures():
    low, high = _program(gmax_s=40e-6), _program(gmax_s=75e-6)
    assert (1 - high.in_window_fraction) > 3 * (1 - low.in_window_fraction) + 0.005


def test_different_seeds_give_different_dies_same_seed_the_same():
    a, b, a2 = _program(seed=1, n=1024), _program(seed=2, n=1024), _program(seed=1, n=1024)
    assert np.array_equal(a.pulses, a2.pulses) and np.array_equal(a.g_final_s, a2.g_final_s)
    assert not np.array_equal(a.pulses, b.pulses)
    assert not np.array_equal(draw_die(SimBoard(seed=1).params, 1, 0)["set_vth"], draw_die(SimBoard(seed=2).params, 2, 0)["set_vth"])


def test_unresponsive_cells_fail_fast_instead_of_running_forever():
    b = SimBoard(seed=3)
    die = draw_die(b.params, 3, 0)
    stuck = np.flatnonzero(die["kind"] == CellKind.STUCK_OFF)[:8]
    res = write_verify(b, 0, stuck // 256, stuck % 256, 20e-6)
    assert not res.success.any() and res.pulses.max() < 40


# ----------------------------------------------------------------- dead cells
def test_dead_cell_scan_finds_the_twins_defects():
    b = SimBoard(seed=5)
    c, r, k = _cells(65536, core=2)
    scan = scan_dead_cells(b, c, r, k)
    kind = draw_die(b.params, 5, 2)["kind"]
    truly_dead = np.isin(kind, [CellKind.UNFORMABLE, CellKind.STUCK_ON, CellKind.STUCK_OFF, CellKind.LEAKY])
    assert truly_dead.sum() > 10
    assert scan.dead[truly_dead].mean() > 0.95
    assert scan.dead[~truly_dead].mean() < 0.002
    assert (scan.reason[~scan.dead] == ALIVE).all()
    assert scan.chip_mask()[2].sum() == scan.dead.sum()


# ------------------------------------------------------------- weight matrices
def test_program_weights_round_trips_and_skips_dead_cells():
    b = SimBoard(seed=6)
    w = np.random.default_rng(2).normal(size=(24, 16))
    place = MatrixPlacement(core=5, row0=10, col0=30, n_in=24, n_out=16)
    dead = np.zeros((48, 16), bool)
    dead[3, 4] = dead[17, 9] = True
    c, r, k = place.cells()
    before = b.true_conductance_s(c, r, k).reshape(48, 16)
    pm = program_weights(b, w, place, dead=dead, iterations=2, settle_s=0.0)
    assert pm.g_measured_s.shape == pm.g_target_s.shape == (48, 16)
    assert pm.dead[3, 4] and pm.dead[17, 9]
    after = b.true_conductance_s(c, r, k).reshape(48, 16)
    assert after[3, 4] == pytest.approx(before[3, 4]) and after[17, 9] == pytest.approx(before[17, 9])
    w_back = conductance_to_weights(pm.g_measured_s, pm.gmin_s, pm.gmax_s, pm.w_max)
    pair_dead = pm.dead[0::2] | pm.dead[1::2]
    err = (w_back - w)[~pair_dead] / pm.w_max
    assert np.sqrt(np.mean(err**2)) < 0.06 and np.abs(err).max() < 0.3
    assert pm.info["iterations"] == 2 and len(pm.info["sigma_s_by_iteration"]) == 2
    assert pm.info["dead_given"] == 2 and pm.info["wv_success_fraction"] > 0.98
    with pytest.raises(InputError):
        program_weights(b, w[:5], place)
    with pytest.raises(LimitError):
        program_weights(b, w, place, iterations=0)


# --------------------------------------------------------------------- resume
class _FlakyBoard(Board):
    """Delegates to a SimBoard; the link 'drops' (BoardError) after ``fail_after`` pulse calls."""

    def __init__(self, inner, fail_after=None):
        super().__init__(inner.spec, inner.limits)
        self.inner, self.fail_after, self.pulse_calls, self.pulsed = inner, fail_after, 0, []

    def _pulse(self, kind, core, row, col, v, w, g):
        if self.fail_after is not None and self.pulse_calls >= self.fail_after:
            raise BoardError("USB link dropped")
        self.pulse_calls += 1
        self.pulsed.append(flat_index(core, row, col))
        self.inner._pulse(kind, core, row, col, v, w, g)

    def _read(self, core, row, col):
        return self.inner._read(core, row, col)

    def _info(self):
        return self.inner._info()

    def _set_rails(self, v):
        self.inner._set_rails(v)

    def _get_rails(self):
        return self.inner._get_rails()

    def _power_cores(self, c, on):
        self.inner._power_cores(c, on)

    def _powered_cores(self):
        return self.inner._powered_cores()

    def _now(self):
        return self.inner._now()

    def _wait(self, s):
        self.inner._wait(s)


def test_resume_from_interrupted_run_does_not_repulse_finished_cells(tmp_path):
    sim = SimBoard(seed=9)
    c, r, k = _formed_cells(sim, 2048, core=1)
    tgt = np.random.default_rng(3).uniform(1e-6, 40e-6, c.size)
    flaky = _FlakyBoard(sim, fail_after=12)
    first = RunLog(tmp_path / "first.h5", "wv", {}, PROGRAM_TABLES)
    with pytest.raises(BoardError):
        iterative_program(flaky, c, r, k, tgt, iterations=2, log=first)
    first.h5.flush()  # the process "dies": no stop record
    old = read_run(tmp_path / "first.h5")
    assert old.status == "interrupted"
    finished = set(old.tables["wv_cells"]["cell"].tolist())
    assert 0 < len(finished) < c.size

    again = _FlakyBoard(sim)
    with RunLog(tmp_path / "second.h5", "wv", {}, PROGRAM_TABLES) as log:
        res = iterative_program(again, c, r, k, tgt, iterations=1, log=log, resume_from=tmp_path / "first.h5")
    pulsed = set(np.concatenate(again.pulsed).tolist())
    assert pulsed and not pulsed & finished, "finished cells are not pulsed again"
    assert res.resumed_cells == len(finished)
    assert res.wv_success_fraction > 0.98 and res.first_pulses[np.isin(flat_index(c, r, k), list(finished))].sum() > 0
    new = read_run(tmp_path / "second.h5")
    cells1 = new.tables["wv_cells"].query("iteration == 1")
    assert cells1["cell"].nunique() == len(cells1) == c.size, "the new file holds every cell of pass 1 exactly once"
    assert len(new.tables["wv_verify"]) == c.size

    # resuming the completed file with one more pass re-programs only cells out of the window
    third = _FlakyBoard(sim)
    res2 = iterative_program(third, c, r, k, tgt, iterations=2, resume_from=tmp_path / "second.h5")
    out = flat_index(c, r, k)[np.abs(new.tables["wv_verify"]["g_read_s"].to_numpy() - tgt) > 1e-6]
    assert set(np.concatenate(third.pulsed).tolist()) <= set(out.tolist())
    assert len(res2.sigma_s_by_iteration) == 2 and res2.iterations[0].get("resumed")
    with pytest.raises(InputError):
        iterative_program(_FlakyBoard(sim), c, r, k, tgt * 1.1, iterations=2, resume_from=tmp_path / "first.h5")


# ------------------------------------------------------------------- helpers
@pytest.mark.parametrize("text, cores", [("0", [0]), ("0-3", [0, 1, 2, 3]), ("0,5,7", [0, 5, 7]),
                                         ("7, 0-2,2", [0, 1, 2, 7]), ("all", list(range(48)))])
def test_parse_cores(text, cores):
    assert parse_cores(text) == cores


@pytest.mark.parametrize("text, exc", [("", InputError), ("a", InputError), ("3-1", InputError), ("48", LimitError),
                                       ("0-48", LimitError)])
def test_parse_cores_rejects(text, exc):
    with pytest.raises(exc):
        parse_cores(text)


def test_parse_ranges_keeps_the_order_given():
    """The selection grammar parse_cores uses, for other integer lists (mvm-energy's --bits)."""
    from neurram_lab._cores import parse_ranges

    assert parse_ranges("1-8") == list(range(1, 9)) and parse_ranges("6, 2,4") == [6, 2, 4] and parse_ranges(3) == [3]
    with pytest.raises(InputError, match="input widths"):
        parse_ranges("2-x", "input widths")


def test_block_wise_passes_log_every_cell_once(tmp_path):
    b = SimBoard(seed=12)
    c, r, k = _formed_cells(b, 1500, core=4)
    tgt = np.random.default_rng(5).uniform(1e-6, 40e-6, c.size)
    with RunLog(tmp_path / "blocks.h5", "wv", {}, PROGRAM_TABLES) as log:
        res = iterative_program(b, c, r, k, tgt, iterations=1, log=log, block_cells=512)
    rows = read_run(tmp_path / "blocks.h5").tables["wv_cells"].sort_values("cell")
    flat = flat_index(c, r, k)
    order = np.argsort(flat)
    assert np.array_equal(rows["cell"].to_numpy(), flat[order])
    assert np.array_equal(rows["pulses"].to_numpy(), res.first_pulses[order])
    assert np.allclose(rows["target_s"].to_numpy(), tgt[order], rtol=1e-6)
    assert res.wv_success_fraction > 0.98
