"""MVM and neuron test on the twin through the Board contract; tier-2 run_mvm in weight units."""

from __future__ import annotations

import numpy as np
import pytest

from neurram_lab import LimitError, MatrixPlacement, MVMRequest, open_board
from neurram_lab.mvm.calibration import calibrate
from neurram_lab.errors import InputError
from neurram_lab.mvm.mvm import run_mvm
from neurram_lab.program.weights import conductance_to_weights
from neurram_lab.sim_backend import SimBoard, TwinParams
from neurram_lab.program.programming import program_weights

QUIET = {"circuit": {"ideal_settling": 1, "coupling_frac": 0, "comparator_noise_v": 0, "cycle_noise_v": 0,
                     "temperature_k": 1e-6, "comparator_offset_sigma_v": 0, "dac_level_sigma_rel": 0,
                     "core_gain_sigma_rel": 0, "r_supply_ohm": 0, "r_supply_per_core_ohm": 0}}


@pytest.fixture(scope="module")
def programmed():
    """One board with a 24 x 12 matrix on core 2 and another on core 3."""
    b = open_board("sim://?seed=21")
    rng = np.random.default_rng(0)
    pms = [program_weights(b, rng.standard_normal((24, 12)), MatrixPlacement(c, 0, 0, 24, 12)) for c in (2, 3)]
    b.wait(1800)
    for pm in pms:
        pm.g_measured_s = b.read(*pm.placement.cells()).astype(float).reshape(pm.g_target_s.shape)
    yield b, pms
    b.close()


def _request(pm, x, **kw):
    return MVMRequest(cores=(pm.placement.core,), inputs=x, input_lines=pm.placement.input_lines(),
                      output_lines=pm.placement.output_lines(), **kw)


def test_same_seed_same_calls_same_codes():
    codes = []
    for _ in range(2):
        b = SimBoard(seed=5)
        rng = np.random.default_rng(1)
        pm = program_weights(b, rng.standard_normal((8, 8)), MatrixPlacement(0, 0, 0, 8, 8))
        x = rng.integers(-7, 8, (1, 50, 8))
        codes.append(np.concatenate([b.mvm(_request(pm, x)).ravel(), b.mvm(_request(pm, x, activation="stochastic")).ravel(),
                                     b.neuron_test(0, np.full((4, 256), 0.93), 8).ravel()]))
    assert np.array_equal(codes[0], codes[1])


def test_codes_shape_range_and_accounting(programmed):
    b, (pm, _) = programmed
    x = np.random.default_rng(2).integers(-7, 8, (1, 40, 24))
    before, t0 = b.counters(), b.now()
    codes = b.mvm(_request(pm, x, output_bits=5))
    assert codes.shape == (1, 40, 12) and codes.dtype == np.int16
    assert codes.min() >= -16 and codes.max() <= 15
    after = b.counters()
    assert after["mvms"] - before["mvms"] == 40
    assert after["macs"] - before["macs"] == 40 * 24 * 12
    assert after["mvm_energy_j"] > before["mvm_energy_j"] and after["mvm_energy_wl_j"] > before.get("mvm_energy_wl_j", 0)
    assert b.now() - t0 == pytest.approx(after["mvm_time_s"] - before["mvm_time_s"])
    assert b.last_mvm["factor_s"] >= 0


def test_every_direction_and_activation_runs(programmed):
    b, (pm, _) = programmed
    rng = np.random.default_rng(3)
    back = b.mvm(MVMRequest(cores=(2,), inputs=rng.integers(-7, 8, (1, 5, 12)), input_lines=np.arange(12),
                            output_lines=np.arange(48), direction="backward"))
    assert back.shape == (1, 5, 48)
    for d in ("recurrent_bl", "recurrent_sl"):
        c = b.mvm(MVMRequest(cores=(2,), inputs=rng.integers(-7, 8, (1, 5, 8)), input_lines=np.arange(8),
                             output_lines=np.arange(8, 16), direction=d, differential=False))
        assert c.shape == (1, 5, 8)
    for act, lo in (("relu", 0), ("sigmoid", 0), ("tanh", -16), ("stochastic", -16)):
        c = b.mvm(_request(pm, rng.integers(-7, 8, (1, 5, 24)), activation=act, output_bits=5))
        assert c.min() >= lo
    with pytest.raises(InputError):
        b.mvm(MVMRequest(cores=(2,), inputs=rng.integers(-7, 8, (1, 5, 8)), input_lines=np.arange(8),
                         output_lines=np.arange(4, 12), direction="recurrent_bl", differential=False))
    with pytest.raises(LimitError):
        b.mvm(_request(pm, np.full((1, 2, 24), 8)))


def test_neuron_test_sees_offsets_and_the_adc_slope():
    b = SimBoard(seed=9)
    v_ref = b.get_rails()["v_ref"]
    zero = b.neuron_test(0, np.full((64, 256), v_ref), 8).astype(float).mean(axis=0)
    assert np.std(zero) > 0.5  # fixed-pattern comparator offsets, in codes
    up = b.neuron_test(0, np.full((64, 256), v_ref + 0.05), 8).astype(float).mean(axis=0)
    lsb = 17 / 104 * b.get_rails()["v_decr"] / 64
    assert np.median(up - zero) == pytest.approx(17 / 104 * 0.05 / lsb, rel=0.05)


def test_cells_changing_invalidates_the_factored_array(programmed):
    b, (pm, _) = programmed
    x = np.zeros((1, 3, 24), np.int16)
    b.mvm(_request(pm, x))
    b.mvm(_request(pm, x))
    assert b.last_mvm["factor_s"] == 0.0  # cached
    b.pulse("set", 2, 0, 0, 1.5, 1e-6)
    b.mvm(_request(pm, x))
    assert b.last_mvm["factor_s"] > 0.0  # solved again


def test_run_mvm_gives_weight_units_on_a_quiet_twin():
    b = SimBoard(seed=4, params=TwinParams.from_dict(QUIET))
    rng = np.random.default_rng(6)
    w = rng.standard_normal((16, 10))
    pm = program_weights(b, w, MatrixPlacement(0, 0, 0, 16, 10))
    b.wait(1800)
    pm.g_measured_s = b.true_conductance_s(*pm.placement.cells()).reshape(pm.g_target_s.shape)  # no read noise
    wm = conductance_to_weights(pm.g_measured_s, pm.gmin_s, pm.gmax_s, pm.w_max)
    x = rng.uniform(-1, 1, (200, 16))
    cal = calibrate(b, pm, x, input_bits=6, output_bits=10)
    y = run_mvm(b, pm, x, input_bits=6, output_bits=10, calibration=cal)
    xq = np.rint(x * 31) / 31
    scale = np.abs(xq @ wm).max()
    assert np.abs(y - xq @ wm).max() < 0.01 * scale
    xb = rng.uniform(-1, 1, (200, 10))
    calb = calibrate(b, pm, xb, input_bits=6, output_bits=10, direction="backward")
    yb = run_mvm(b, pm, xb, input_bits=6, output_bits=10, direction="backward", calibration=calb)
    xbq = np.rint(xb * 31) / 31
    assert yb.shape == (200, 16)
    # a row pair holding a stuck cell (90 uS, reported in pm.dead) draws enough current in backward
    # MVM to bend its own output: judge the healthy outputs by the band, that one by a looser bound
    sick = np.zeros(16, bool) if pm.dead is None else pm.dead.reshape(16, 2, 10).any(axis=(1, 2))
    err_b = np.abs(yb - xbq @ wm.T) / np.abs(xbq @ wm.T).max()
    assert np.sqrt(np.mean(err_b[:, ~sick] ** 2)) < 0.002  # backward is worse than forward (SPEC §3) ...
    assert err_b[:, ~sick].max() < 0.03  # ... and its worst single output lands within 3 % of full scale
    assert err_b.max() < 0.1
    xi = rng.integers(-31, 32, 16)
    yi = run_mvm(b, pm, xi, input_bits=6, output_bits=10, calibration=cal)
    assert yi.shape == (10,)
    assert np.abs(yi - xi @ wm).max() < 0.01 * 31 * scale


def test_run_mvm_lists_of_matrices_and_bad_inputs(programmed):
    b, pms = programmed
    rng = np.random.default_rng(7)
    xs = [rng.uniform(-1, 1, (30, 24)) for _ in pms]
    ys = run_mvm(b, pms, xs, parallel=True)
    assert isinstance(ys, list) and [y.shape for y in ys] == [(30, 12), (30, 12)]
    with pytest.raises(LimitError):
        run_mvm(b, pms[0], np.full((2, 24), 1.5))
    with pytest.raises(InputError):
        run_mvm(b, pms[0], np.zeros((2, 23)))
    with pytest.raises(InputError):
        run_mvm(b, pms, xs[:1])


def test_run_mvm_activations(programmed):
    b, (pm, _) = programmed
    x = np.random.default_rng(8).uniform(-1, 1, (50, 24))
    lin = run_mvm(b, pm, x)
    relu = run_mvm(b, pm, x, activation="relu")
    assert relu.min() >= -1e-9 and np.corrcoef(np.maximum(lin, 0).ravel(), relu.ravel())[0, 1] > 0.9
    t = run_mvm(b, pm, x, activation="tanh")
    s = run_mvm(b, pm, x, activation="sigmoid")
    assert -1 < t.min() and t.max() < 1 and 0 < s.min() and s.max() < 1
    assert np.corrcoef(lin.ravel(), t.ravel())[0, 1] > 0.8 and np.corrcoef(lin.ravel(), s.ravel())[0, 1] > 0.8


def test_consecutive_slices_of_one_buffer_go_to_the_board_without_a_copy():
    """run_mvm's request inputs: one matrix's array as a view, consecutive slices of one buffer as that buffer,
    anything else stacked; the values are np.stack's in every case."""
    from neurram_lab.mvm.mvm import _stacked

    buf = np.empty((4, 5, 3), np.int16)  # owns its memory, as ChipNetwork.raw_partials's input buffer does
    buf[...] = np.arange(buf.size).reshape(buf.shape)
    got = _stacked([buf[1], buf[2], buf[3]])
    assert np.shares_memory(got, buf) and np.array_equal(got, buf[1:4])
    assert np.shares_memory(_stacked([buf[2]]), buf) and np.array_equal(_stacked([buf[2]]), buf[2:3])
    for parts in ([buf[2], buf[1]], [buf[0], buf[2]], [buf[0], buf[1].copy()], [buf[0, :4], buf[1, :4]]):
        got = _stacked(parts)
        assert not np.shares_memory(got, buf) and np.array_equal(got, np.stack(parts))
