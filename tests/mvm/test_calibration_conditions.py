"""A calibration is applied only under the conditions it was taken for (issue 24, item 2).

Each refusal is a CalibrationError raised before any MVM is sent: the board's own counters
(sim://, hil://) and a replay's remaining calls (replay://) are unchanged by the refused call.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from neurram_lab import CalibrationError, MatrixPlacement, NeuRRAMError, open_board
from neurram_lab.mvm.calibration import calibrate
from neurram_lab.mvm.mvm import MVMCalibration, run_mvm
from neurram_lab.program.programming import program_weights

SPECS = ["sim://?seed=3", "hil://?seed=3"]


def _setup(b):
    rng = np.random.default_rng(0)
    pm = program_weights(b, rng.standard_normal((8, 4)), MatrixPlacement(1, 0, 0, 8, 4), settle_s=1.0)
    other = program_weights(b, rng.standard_normal((8, 4)), MatrixPlacement(2, 0, 0, 8, 4), settle_s=1.0)
    x = rng.uniform(-1, 1, (16, 8))
    cal = calibrate(b, pm, x, input_bits=4, output_bits=6, offset_vectors=4)
    return pm, other, x, cal


@pytest.fixture(scope="module", params=SPECS)
def setup(request):
    b = open_board(request.param)
    yield (b, *_setup(b))
    b.close()


def _refused_without_sending(b, call, match):
    before_c, before_r = b.counters(), b.get_rails()
    with pytest.raises(CalibrationError, match=match):
        call()
    assert b.counters() == before_c, "nothing sent"
    assert b.get_rails() == before_r, "no rail moved"


def test_records_its_conditions(setup):
    b, pm, _, _, cal = setup
    c = cal.conditions
    assert cal.verified and (c.board_kind, c.board_serial) == (b.info().kind, b.info().serial)
    assert c.placements == ((1, tuple(range(8)), tuple(range(4)), (8, 4)),)
    assert dict(c.rails_v)["v_ref"] == b.get_rails()["v_ref"]
    assert (cal.input_bits, cal.output_bits, cal.signed, cal.direction) == (4, 6, True, "forward")


def test_applied_where_taken_runs(setup):
    b, pm, _, x, cal = setup
    n0 = b.counters()["mvms"]
    y = run_mvm(b, pm, x, input_bits=4, calibration=cal)
    assert y.shape == (16, 4) and np.all(np.isfinite(y)) and b.counters()["mvms"] > n0


@pytest.mark.parametrize("kw, match", [
    (dict(input_bits=4, output_bits=8), "output_bits=6.*output_bits=[78]"),
    (dict(input_bits=8), "input_bits=4.*input_bits=8"),
    (dict(input_bits=4, signed=False, x_abs=True), "signed=True.*signed=False"),
])
def test_other_configuration_refused_before_any_mvm(setup, kw, match):
    b, pm, _, x, cal = setup
    kw = dict(kw)
    xi = np.abs(x) if kw.pop("x_abs", False) else x
    if "output_bits" in kw:  # 8 where the board has it (sim://), else its most (hil://: 7)
        kw["output_bits"] = min(8, b.capabilities().output_bits[1])
    _refused_without_sending(b, lambda: run_mvm(b, pm, xi, calibration=cal, **kw), match)


def test_unsigned_calibration_on_signed_inputs_refused(setup):
    b, pm, _, x, cal = setup
    unsigned = dataclasses.replace(cal, signed=False)
    _refused_without_sending(b, lambda: run_mvm(b, pm, x, input_bits=4, calibration=unsigned), "signed=False")


def test_forward_calibration_on_backward_mvm_refused(setup):
    b, pm, _, _, cal = setup
    xb = np.random.default_rng(1).uniform(-1, 1, (5, 4))
    _refused_without_sending(b, lambda: run_mvm(b, pm, xb, input_bits=4, direction="backward", calibration=cal),
                             "direction='forward'.*direction='backward'")


def test_other_placement_refused(setup):
    b, _, other, x, cal = setup
    _refused_without_sending(b, lambda: run_mvm(b, other, x, input_bits=4, calibration=cal), "core")


def test_other_board_refused(setup):
    b, pm, _, x, cal = setup
    with open_board("sim://?seed=99") as b2:
        pm2 = program_weights(b2, pm.weights, pm.placement, settle_s=1.0)
        _refused_without_sending(b2, lambda: run_mvm(b2, pm2, x, input_bits=4, calibration=cal), "board")


def test_other_v_ref_refused_before_any_mvm(setup):
    b, pm, _, x, cal = setup
    v_ref = b.get_rails()["v_ref"]
    b.set_rails(v_ref=v_ref - 0.05)
    try:
        n0 = b.counters()["mvms"]
        with pytest.raises(CalibrationError, match="v_ref"):
            run_mvm(b, pm, x, input_bits=4, calibration=cal)
        assert b.counters()["mvms"] == n0
    finally:
        b.set_rails(v_ref=v_ref)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_offsets_refused(bad):
    with pytest.raises(CalibrationError, match="offsets"):
        MVMCalibration(v_read_v=0.2, v_decr_v=0.2, offsets=[np.array([0.0, bad, 0.0])], input_bits=4,
                       output_bits=6, direction="forward", two_phase=False)
    with pytest.raises(CalibrationError, match="v_decr_v"):
        MVMCalibration(v_read_v=0.2, v_decr_v=bad, offsets=None, input_bits=4, output_bits=6, direction="forward",
                       two_phase=False)


def test_nan_offsets_swapped_in_refused_before_any_mvm(setup):
    b, pm, _, x, cal = setup
    bad = dataclasses.replace(cal)
    bad.offsets = [np.full(4, np.nan)]  # a mutable dataclass: set after building, checked again when applied
    _refused_without_sending(b, lambda: run_mvm(b, pm, x, input_bits=4, calibration=bad), "offsets")


def test_wrong_offset_count_refused(setup):
    b, pm, _, x, cal = setup
    short = dataclasses.replace(cal, offsets=[np.zeros(3)])
    _refused_without_sending(b, lambda: run_mvm(b, pm, x, input_bits=4, calibration=short), "output lines")


@pytest.mark.parametrize("x_cal", ["zeros", "tiny"])
def test_calibration_inputs_without_signal_refused(setup, x_cal):
    b, pm, _, _, _ = setup
    x = np.zeros((8, 8)) if x_cal == "zeros" else np.full((8, 8), 0.01)  # 0.01 rounds to 0 at 4 bits
    _refused_without_sending(b, lambda: calibrate(b, pm, x, input_bits=4, output_bits=6), "no signal")


def test_unverified_calibration_still_checks_its_configuration(setup):
    b, pm, _, x, cal = setup
    legacy = dataclasses.replace(cal, conditions=None)
    assert not legacy.verified
    run_mvm(b, pm, x, input_bits=4, calibration=legacy)  # placement and board not known: not checked
    with pytest.raises(CalibrationError):
        run_mvm(b, pm, x, input_bits=4, output_bits=5, calibration=legacy)


def test_a_string_is_not_a_calibration(setup):
    b, pm, _, x, _ = setup
    before = b.counters()
    with pytest.raises(NeuRRAMError, match="MVMCalibration"):
        run_mvm(b, pm, x, input_bits=4, calibration="cal.json")
    assert b.counters() == before


def test_replay_refuses_before_serving_a_call(tmp_path):
    from neurram_lab.experiments._common import start_run

    with open_board("sim://?seed=7") as sim, start_run(sim, tmp_path / "rec", "cal", {}, {}) as log:
        pm, _, x, cal = _setup(log.board)
        y_rec = run_mvm(log.board, pm, x, input_bits=4, calibration=cal)
    with open_board(f"replay://{log.path}") as r:
        r.snapshot()  # call 0 of every run file
        pm, _, x, cal = _setup(r)
        left = r.remaining
        for kw in (dict(output_bits=8), dict(direction="backward")):
            xi = x if "direction" not in kw else x[:, :4]
            with pytest.raises(CalibrationError):
                run_mvm(r, pm, xi, input_bits=4, calibration=cal, **kw)
            assert r.remaining == left
        np.testing.assert_array_equal(run_mvm(r, pm, x, input_bits=4, calibration=cal), y_rec)
        assert r.remaining == 0
