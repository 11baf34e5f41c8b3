"""JournalBoard.timings: the journal's own CPU time per call, public (benchmarks/bench_journal.py reads it),
counting every journaled contract call and changing nothing in the journal."""

from __future__ import annotations

import numpy as np

from neurram_lab import BoardError, open_board, read_run
from neurram_lab.experiments._common import start_run
from neurram_lab.runlog.journal_board import JournalBoard, JournalTimings, timed_journal

TABLES = {"t": {"x": ("f8", "")}}


def _session(board) -> None:
    """A few contract calls, one refused by the board (a power-gated core)."""
    cells = (np.zeros(300, int), np.arange(300) % 256, np.arange(300) // 256)
    board.pulse("form", *cells, 4.0, 1e-6)
    board.read(*cells)
    board.wait(5.0)
    board.power_cores([3], False)
    try:
        board.read(3, 0, 0)
    except BoardError:
        pass
    board.counters()


def _journal(tmp_path, name, timings=None) -> list:
    """The run's journal as (op, args, response, error) of each call, wall times aside."""
    with open_board("sim://?seed=3") as sim:
        with start_run(sim, tmp_path / name, "timings", {}, TABLES) as log:
            if timings is not None:
                log.board.timings = timings
            _session(log.board)
    journal = read_run(log.path, journal=True).journal
    return [(c.op, repr(c.args), repr(c.response), repr(c.error)) for c in journal]


def test_timings_count_every_journaled_call_and_change_nothing_in_the_journal(tmp_path):
    plain = _journal(tmp_path, "plain")
    t = JournalTimings()
    timed = _journal(tmp_path, "timed", t)
    assert timed == plain  # same ops, arguments, responses and errors
    # every call after the start snapshot (journaled before the board existed) went through the timer
    assert t.calls == len(plain) - 1 == 6
    assert t.total_s >= t.board_s >= 0.0 and t.journal_s >= 0.0
    assert t.journal_s == t.total_s - t.board_s


def test_timed_journal_times_every_board_inside_the_block_only(tmp_path):
    assert JournalBoard.timings is None  # the default: nothing timed
    with timed_journal() as t:
        _journal(tmp_path, "a")
        first = t.calls
        _journal(tmp_path, "b")
    assert first == 6 and t.calls == 12 and t.total_s >= t.board_s >= 0.0
    assert JournalBoard.timings is None  # restored on exit
    _journal(tmp_path, "c")
    assert t.calls == 12
    mine = JournalTimings(calls=1)
    with timed_journal(mine) as got:
        assert got is mine
        _journal(tmp_path, "d")
    assert mine.calls == 7
