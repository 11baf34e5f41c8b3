"""A write-verify interrupted by a disconnect resumes from its run log on the same chip without
re-pulsing finished cells."""

from __future__ import annotations

import numpy as np
import pytest

from neurram_lab.drivers.hil import FaultPlan, connect, make_emulated_board
from neurram_lab.experiments._common import start_run
from neurram_lab import FrontPanelError, read_run
from neurram_lab.program import programming
from neurram_lab.program.writeverify import WriteVerifyConfig, form_cells


def test_disconnect_mid_write_verify_then_resume(tmp_path):
    plan = FaultPlan()
    ok, emu = make_emulated_board(17, faults=plan)
    b = connect(ok, poll_timeout_s=0.5)
    r, k = np.divmod(np.arange(256), 16)
    c = np.full(r.size, 3)
    formed = form_cells(b, c, r, k)
    c, r, k = c[formed], r[formed], k[formed]
    tgt = np.random.default_rng(1).uniform(2e-6, 38e-6, c.size)
    cfg = WriteVerifyConfig(max_reversals=8)
    params = {"seed": 17}
    # the board drops out during write-verify, a good way in (about 100 FrontPanel calls a cell and round)
    plan.add("disconnect", at=plan.calls + 150 * c.size)
    with pytest.raises(FrontPanelError, match="DeviceNotOpen"):
        with start_run(b, tmp_path / "a", "wv", params, programming.PROGRAM_TABLES) as log:
            programming.iterative_program(log.board, c, r, k, tgt, iterations=1, settle_s=0.0, config=cfg, log=log)
    first = log.path
    run = read_run(first)
    finished = run.tables["wv_cells"]["cell"].to_numpy()
    assert 0 < finished.size < c.size, "the disconnect hit mid-way"
    flat = c * 65536 + r * 256 + k
    cells = emu.twin.cells
    t_prog_at_drop = cells.t_prog_s[flat].copy()

    plan.clear()  # plugged in again: same chip, state kept
    with connect(ok) as b2, start_run(b2, tmp_path / "b", "wv", params, programming.PROGRAM_TABLES) as log2:
        res = programming.iterative_program(log2.board, c, r, k, tgt, iterations=1, settle_s=0.0, config=cfg,
                                            log=log2, resume_from=first)
    assert res.resumed_cells == finished.size
    done = np.isin(flat, finished)
    t_now = cells.t_prog_s[flat]
    assert np.array_equal(t_now[done], t_prog_at_drop[done]), "finished cells were not pulsed again"
    assert np.any(t_now[~done] > t_prog_at_drop[~done]), "unfinished cells were programmed"
    assert np.all(res.passes == 1), "every cell finished its pass exactly once, across the two sessions"
