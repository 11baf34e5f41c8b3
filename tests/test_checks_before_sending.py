"""Checks before sending (issue 24, item 6): overlapping placements are refused before any forming
pulse; a calibrated run with out-of-range inputs is refused before any rail moves. On sim://, hil://
and replay:// (the refused call consumes none of the recorded calls)."""

from __future__ import annotations

import numpy as np
import pytest

from neurram_lab import InputError, LimitError, MatrixPlacement, open_board
from neurram_lab.mvm.calibration import calibrate
from neurram_lab.mvm.mvm import run_mvm
from neurram_lab.program.programming import program_matrices

SPECS = ["sim://?seed=4", "hil://?seed=4"]
RNG = np.random.default_rng(0)
W = RNG.standard_normal((6, 3))


def _unchanged(b, call, error, match):
    before_c, before_r = b.counters(), b.get_rails()
    with pytest.raises(error, match=match):
        call()
    assert b.counters() == before_c, "nothing sent, nothing counted"
    assert b.get_rails() == before_r, "no rail moved"


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("second", [MatrixPlacement(0, 0, 0, 6, 3), MatrixPlacement(0, 10, 2, 6, 3)])
def test_overlapping_placements_refused_before_any_pulse(spec, second):
    with open_board(spec) as b:
        items = [(W, MatrixPlacement(0, 0, 0, 6, 3), None), (W, second, None)]
        _unchanged(b, lambda: program_matrices(b, items, settle_s=1.0), InputError, "items 0 and 1 overlap")


@pytest.mark.parametrize("spec", SPECS)
def test_disjoint_placements_program(spec):
    with open_board(spec) as b:
        items = [(W, MatrixPlacement(0, 0, 0, 6, 3), None), (W, MatrixPlacement(0, 12, 0, 6, 3), None),
                 (W, MatrixPlacement(1, 0, 0, 6, 3), None)]
        pms = program_matrices(b, items, settle_s=1.0)
        assert len(pms) == 3 and b.counters()["pulses"] > 0


def _calibrated(b):
    from neurram_lab.program.programming import program_weights

    pm = program_weights(b, W, MatrixPlacement(2, 0, 0, 6, 3), settle_s=1.0)
    cal = calibrate(b, pm, np.random.default_rng(5).uniform(-1, 1, (8, 6)), input_bits=4, output_bits=6, offset_vectors=4)
    return pm, cal


BAD_INPUTS = [np.full((2, 6), 1.5), np.full((2, 6), -3.0), np.full((2, 6), 8, np.int64),
              np.full((2, 6), -8, np.int64)]


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("k", range(len(BAD_INPUTS)))
def test_calibrated_run_with_out_of_range_inputs_refused_before_any_rail(spec, k):
    with open_board(spec) as b:
        pm, cal = _calibrated(b)
        b.set_rails(v_decr=cal.v_decr_v * 0.5)  # so setting the calibration's v_decr would show
        _unchanged(b, lambda: run_mvm(b, pm, BAD_INPUTS[k], input_bits=4, calibration=cal), LimitError, "mvm input")
        _unchanged(b, lambda: run_mvm(b, pm, np.abs(BAD_INPUTS[k]) * 2, input_bits=4, signed=False,
                                      calibration=cal), LimitError, "mvm input")


def test_replay_refuses_before_serving_a_call(tmp_path):
    from neurram_lab.experiments._common import start_run

    with open_board("sim://?seed=7") as sim, start_run(sim, tmp_path / "rec", "checks", {}, {}) as log:
        pm, cal = _calibrated(log.board)
    with open_board(f"replay://{log.path}") as r:
        r.snapshot()
        pm, cal = _calibrated(r)
        left = r.remaining
        for x in BAD_INPUTS:
            with pytest.raises(LimitError):
                run_mvm(r, pm, x, input_bits=4, calibration=cal)
        with pytest.raises(InputError, match="overlap"):
            program_matrices(r, [(W, pm.placement, None), (W, MatrixPlacement(2, 2, 1, 6, 3), None)])
        assert r.remaining == left == 0
