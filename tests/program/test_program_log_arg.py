"""A programming call given a wrong ``log`` refuses before the first pulse (issue 24, item 5)."""

from __future__ import annotations

import numpy as np
import pytest

import neurram_lab as nl
from neurram_lab.program.programming import PROGRAM_TABLES
from neurram_lab.program.weights import MatrixPlacement


@pytest.fixture
def board():
    with nl.open_board("sim://?seed=3") as b:
        yield b


def _calls(board):
    return {k: v for k, v in board.counters().items() if k in ("pulses", "reads")}


@pytest.mark.parametrize("log", ["run.h5", 3, {"wv_plan": []}])
def test_a_log_that_is_not_a_run_log_is_refused(board, log):
    before = _calls(board)
    with pytest.raises(nl.InputError, match="RunLog"):
        nl.iterative_program(board, [0], [0], [0], [1e-5], log=log)
    with pytest.raises(nl.InputError, match="RunLog"):
        nl.program_weights(board, np.full((4, 3), 0.5), MatrixPlacement(0, 0, 0, 4, 3), log=log)
    assert _calls(board) == before


def test_a_run_log_without_the_programming_tables_is_refused(board, tmp_path):
    before = _calls(board)
    log = nl.RunLog(tmp_path / "x.h5", "x", {}, {})
    with pytest.raises(nl.InputError, match="wv_plan"):
        nl.iterative_program(board, [0], [0], [0], [1e-5], log=log)
    assert _calls(board) == before
    log.close(summary={})
    good = nl.RunLog(tmp_path / "y.h5", "y", {}, PROGRAM_TABLES)
    res = nl.iterative_program(board, [0], [0], [0], [1e-5], settle_s=1.0, log=good)
    good.close(summary={})
    assert res.n_cells == 1 and _calls(board)["pulses"] > before["pulses"]
    assert len(nl.read_run(tmp_path / "y.h5").tables["wv_cells"]) == 1
