"""BoardCapabilities itself: validation, records, the typed error, and pulse quantisation at the limits."""

from __future__ import annotations

import numpy as np
import pytest

from neurram_lab import BoardCapabilities, CapabilityError, InputError, LimitError, SafetyLimits
from neurram_lab.board.capabilities import quantize
from tests._restricted_board import RestrictedBoard


def test_capability_error_names_capability_value_and_limit():
    e = CapabilityError("output_bits", 8, (1, 7))
    assert isinstance(e, LimitError) and isinstance(e, ValueError)
    assert (e.capability, e.value, e.limit) == ("output_bits", 8, (1, 7))
    assert "output_bits" in str(e) and "8" in str(e) and "(1, 7)" in str(e)


def test_capabilities_validate_and_round_trip():
    caps = BoardCapabilities(output_bits=[1, 7], directions=["forward"], rails=["v_read"], pulse_v_step_v=0.01)
    assert caps.output_bits == (1, 7) and caps.directions == ("forward",) and caps.rails == ("v_read",)
    assert BoardCapabilities.from_dict(caps.to_dict()) == caps
    for bad in (dict(output_bits=(0, 7)), dict(output_bits=(1, 11)), dict(input_bits=(5, 4)),
                dict(directions=("sideways",)), dict(clock="sundial"), dict(max_parallel_cores=0),
                dict(pulse_width_tick_s=-1e-9), dict(max_parallel_cores="x"), dict(output_bits=("a", 7))):
        with pytest.raises((InputError, LimitError)):
            BoardCapabilities(**bad)
    with pytest.raises(InputError, match="unknown capability keys"):
        BoardCapabilities.from_dict({"output_bitz": [1, 7]})


def test_pick_output_bits_defaults_into_range_and_refuses_explicit_values_beyond():
    caps = BoardCapabilities(output_bits=(2, 7))
    assert caps.pick_output_bits(None, 8) == 7 and caps.pick_output_bits(None, 1) == 2
    assert caps.pick_output_bits(None, 6) == 6 and caps.pick_output_bits(5) == 5
    with pytest.raises(CapabilityError, match=r"output_bits=8 .*\(2, 7\)"):
        caps.pick_output_bits(8)


def test_quantize_rounds_to_nearest_step_and_never_past_a_limit():
    a = np.array([1.04, 1.06, 4.1, 0.0])
    q = quantize("pulse_v_step_v", a, 0.3, 0.0, 4.1)
    # 1.04 -> 0.9 (3 steps: 1.2 is further), 1.06 -> 1.2, 4.1 (13.67 steps) would round to 4.2 > 4.1: 3.9
    np.testing.assert_allclose(q, [0.9, 1.2, 3.9, 0.0])
    assert q.max() <= 4.1
    w = quantize("pulse_width_tick_s", np.array([12e-9, 1e-9, 1e-3]), 10e-9, 12e-9, 1e-3, at_least_one=True)
    # 12 ns -> 10 ns would cross the 12 ns minimum: 20 ns; 1 ns: at least a tick, then above the minimum
    np.testing.assert_allclose(w, [20e-9, 20e-9, 1e-3])
    assert w.min() >= 12e-9 and w.max() <= 1e-3
    with pytest.raises(CapabilityError, match="pulse_width_tick_s"):
        quantize("pulse_width_tick_s", np.array([15e-9]), 10e-9, 12e-9, 18e-9, at_least_one=True)
    s = np.broadcast_to(np.float64(2.02), (5,))
    qs = quantize("pulse_v_step_v", s, 0.05, 0.0, 4.0)
    assert qs.shape == (5,) and np.allclose(qs, 2.0)
    assert quantize("x", a, None, 0.0, 1.0) is a


def test_pulse_near_a_limit_off_the_dac_grid_stays_inside():
    step = 5.0 / 65536
    v_max = 3.0 + 0.7 * step  # the nearest DAC code above the request lies beyond the limit
    with RestrictedBoard(seed=3, limits=SafetyLimits(pulse_v_max=v_max)) as b:
        applied = b.pulse("set", 0, np.arange(4), 0, v_max, 1.004e-6)
        assert np.all(applied.v_pulse_v <= v_max) and np.all(v_max - applied.v_pulse_v < step)
        assert np.allclose(applied.v_pulse_v / step, np.rint(applied.v_pulse_v / step), atol=1e-6)
        np.testing.assert_allclose(applied.width_s, 1.0e-6)
        assert b.hooks == ["_pulse"]


def test_replay_of_a_run_without_rail_ranges_answers_with_the_limits(tmp_path):
    from neurram_lab.experiments._common import start_run
    from neurram_lab import open_board
    from neurram_lab.runlog.replay import ReplayBoard

    with open_board("sim://?seed=1") as sim:
        with start_run(sim, tmp_path, "old", {}, {}) as log:  # a run that never asked for a rail range
            rails = log.board.get_rails()
            log.close()
    with ReplayBoard(log.path) as rb:
        rb.snapshot()
        assert rb.rail_range_v("v_decr") == rb.limits.rails_v["v_decr"]  # what calibrate used then
        assert rb.get_rails() == rails and rb.remaining == 0


def test_tier2_takes_the_neuron_capacitors_and_headroom_from_the_board():
    """Tier 2 scales codes with the board's reported c_sample/c_integ (no copy of the twin's values)."""
    import dataclasses

    from neurram_lab import open_board
    from neurram_lab.mvm.calibration import calibrate
    from neurram_lab.mvm.mvm import code_scale
    from neurram_lab.program.weights import MatrixPlacement, ProgrammedMatrix, weights_to_conductance

    assert BoardCapabilities().cs_over_ci == pytest.approx(17 / 104)
    for bad in (dict(c_sample_f=0.0), dict(c_integ_f=float("nan")), dict(headroom_v="0.3"), dict(c_integ_f=True)):
        with pytest.raises((InputError, LimitError)):
            BoardCapabilities(**bad)
    with open_board("sim://?seed=2") as board:
        caps, c = board.capabilities(), board.params.circuit
        assert (caps.c_sample_f, caps.c_integ_f, caps.headroom_v) == (c.c_sample_f, c.c_integ_f, c.v_headroom_v)
        unit, _ = code_scale(4, 6, True, False, 0.5, caps.cs_over_ci)
        assert unit == pytest.approx(caps.cs_over_ci * 0.5 / 2**4)
        place = MatrixPlacement(0, 0, 0, 4, 4)
        w = np.eye(4)
        g, _ = weights_to_conductance(w, 1e-6, 40e-6)  # an ideal matrix: no programming needed
        pm = ProgrammedMatrix(weights=w, placement=place, gmin_s=1e-6, gmax_s=40e-6, w_max=1.0, g_target_s=g,
                              g_measured_s=g, dead=np.zeros_like(g, bool), info={})
        small = dataclasses.replace(caps, headroom_v=caps.headroom_v / 100)
        cal = calibrate(board, pm, np.eye(4), input_bits=4)
        board.capabilities = lambda: small  # a board whose integrator swings 100x less: calibrate lowers v_read
        low = calibrate(board, pm, np.eye(4), input_bits=4)
        assert cal.cs_over_ci == caps.cs_over_ci and low.v_read_v < cal.v_read_v
