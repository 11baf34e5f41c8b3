"""Recurrent MVM (BL -> BL, SL -> SL) in weight units: the reduced network, run_mvm, calibrate, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from neurram_lab import InputError, LimitError, MatrixPlacement, RecurrentMatrix, RecurrentPlacement, measure_recurrent
from neurram_lab.mvm.calibration import calibrate
from neurram_lab.mvm.mvm import run_mvm
from neurram_lab.program.programming import program_weights
from neurram_lab.sim_backend import SimBoard, TwinParams
from neurram_lab.sim_backend.core import CoreCircuit

from test_mvm_board import QUIET

# recurrent_bl: an 8 x 14 differential matrix on rows 0-15 drives the SLs; a bridge (identity on
# rows 32-37, columns 0-5) lets six BL neurons read them. recurrent_sl: columns 0-5 drive, the
# BLs of rows 0-15 carry it over to columns 8-13.
LAYOUTS = {"recurrent_bl": (np.arange(16), np.arange(32, 38), True),
           "recurrent_sl": (np.arange(6), np.arange(8, 14), False)}


def _quiet_board(seed=4):
    """A quiet twin with the two layouts programmed, and the weight scale of the matrix."""
    b = SimBoard(seed=seed, params=TwinParams.from_dict(QUIET))
    rng = np.random.default_rng(6)
    pm = program_weights(b, rng.standard_normal((8, 14)), MatrixPlacement(0, 0, 0, 8, 14))
    program_weights(b, np.eye(6), MatrixPlacement(0, 32, 0, 6, 6, differential=False))
    b.wait(1800)
    return b, pm, pm.w_max / (pm.gmax_s - pm.gmin_s)


def _true_matrix(b, direction, w_per_s):
    """The recurrent matrix from the twin's noise-free conductances (the exact reference)."""
    il, ol, diff = LAYOUTS[direction]
    pl = RecurrentPlacement(0, direction, il, ol, differential=diff)
    g = b.true_conductance_s(*pl.cells()).reshape(pl.wl_rows().size, 256)
    return RecurrentMatrix(pl, g, w_per_s)


@pytest.fixture(scope="module")
def quiet():
    b, pm, k = _quiet_board()
    yield b, pm, k
    b.close()


def test_reduced_network_equals_the_twins_ideal_solve():
    """The Kron reduction tier 2 normalises with is the network the twin settles (ideal wires)."""
    cc = CoreCircuit(0, 1, TwinParams.from_dict(QUIET).circuit)
    rng = np.random.default_rng(0)
    g = rng.uniform(0.05e-6, 40e-6, (256, 256)) * (rng.random((256, 256)) < 0.3) + 0.1e-6
    for d, il, ol in (("recurrent_bl", [3, 7, 100, 200, 201], [0, 50, 255]),
                      ("recurrent_sl", [1, 2, 9, 130], [4, 77, 254, 16])):
        pl = RecurrentPlacement(0, d, il, ol)
        rm = RecurrentMatrix(pl, g[pl.wl_rows()], 1e5)
        m = cc.array_map(g, 1, d, np.array(il), np.array(ol), False).m
        assert np.abs(m - rm.line_map).max() < 1e-6 * np.abs(m).max()
        assert np.allclose(rm.line_map.sum(axis=1), 1.0, atol=1e-6)  # a floating line: a weighted mean of the inputs
        assert rm.weights.shape == (len(il), len(ol))


@pytest.mark.parametrize("direction", ["recurrent_bl", "recurrent_sl"])
def test_recurrent_gives_weight_units_on_a_quiet_twin(quiet, direction):
    b, pm, k = quiet
    rm = _true_matrix(b, direction, k)
    rng = np.random.default_rng(11)
    x = rng.uniform(-1, 1, (200, rm.placement.n_in))
    cal = calibrate(b, rm, x, input_bits=6, output_bits=10, direction=direction)
    y = run_mvm(b, rm, x, input_bits=6, output_bits=10, direction=direction, calibration=cal)
    ref = (np.rint(x * 31) / 31) @ rm.weights
    err = np.abs(y - ref) / np.abs(ref).max()
    assert y.shape == (200, 6)
    assert np.sqrt(np.mean(err**2)) < 0.002 and err.max() < 0.01  # observed rms 0.07-0.09 %, max 0.18-0.24 %
    xi = rng.integers(-31, 32, rm.placement.n_in)  # integer inputs: x_int @ weights
    yi = run_mvm(b, rm, xi, input_bits=6, output_bits=10, direction=direction, calibration=cal)
    assert yi.shape == (6,) and np.abs(yi - xi @ rm.weights).max() < 0.01 * 31 * np.abs(ref).max()
    if direction == "recurrent_bl":  # through the bridge the BL neurons read the matrix's first six columns
        assert np.corrcoef(rm.weights.ravel(), pm.weights[:, :6].ravel())[0, 1] > 0.9


def test_same_seed_same_recurrent_results():
    ys = []
    for _ in range(2):
        b, _, k = _quiet_board(seed=8)
        b2 = SimBoard(seed=8)  # and on the noisy twin, through a measured (read) network
        pm2 = program_weights(b2, np.random.default_rng(2).standard_normal((4, 6)), MatrixPlacement(1, 0, 0, 4, 6))
        rm2 = measure_recurrent(b2, RecurrentPlacement(1, "recurrent_sl", np.arange(3), np.arange(3, 6)),
                                pm2.w_max / (pm2.gmax_s - pm2.gmin_s))
        x = np.random.default_rng(3).uniform(-1, 1, (50, 8))
        rm = _true_matrix(b, "recurrent_bl", k)
        ys.append(np.concatenate([run_mvm(b, rm, x, direction="recurrent_bl").ravel(),
                                  run_mvm(b2, rm2, x[:, :3], direction="recurrent_sl").ravel()]))
    assert np.array_equal(ys[0], ys[1])


def test_bad_recurrent_placements_and_inputs_raise_typed_errors(quiet):
    b, pm, k = quiet
    with pytest.raises(InputError, match="overlap"):
        RecurrentPlacement(0, "recurrent_bl", [0, 1, 2], [2, 3])
    with pytest.raises(LimitError):
        RecurrentPlacement(0, "recurrent_sl", [0, 256], [3])
    with pytest.raises(LimitError):
        RecurrentPlacement(48, "recurrent_sl", [0], [3])
    with pytest.raises(InputError):
        RecurrentPlacement(0, "forward", [0], [3])
    with pytest.raises(InputError, match="pairs"):
        RecurrentPlacement(0, "recurrent_bl", [0, 1, 2], [3], differential=True)
    with pytest.raises(InputError, match="repeat"):
        RecurrentPlacement(0, "recurrent_bl", [0, 0], [3])
    with pytest.raises(InputError):
        RecurrentPlacement(0, "recurrent_bl", [], [3])
    pl = RecurrentPlacement(0, "recurrent_bl", np.arange(16), np.arange(32, 38), differential=True)
    with pytest.raises(InputError, match="shape"):
        RecurrentMatrix(pl, np.zeros((16, 256)), k)
    rm = _true_matrix(b, "recurrent_bl", k)
    with pytest.raises(InputError):
        RecurrentMatrix(pl, rm.g_s, -1.0)
    x = np.zeros((4, 8))
    before, rails = b.counters()["mvms"], b.get_rails()
    cal = calibrate(b, rm, x + 0.5, direction="recurrent_bl")
    b.set_rails(v_decr=rails["v_decr"])
    bad = [
        (InputError, dict(matrices=pm, x=x, direction="recurrent_bl")),  # a forward matrix, a recurrent direction
        (InputError, dict(matrices=rm, x=x, direction="recurrent_sl")),  # placed for BL -> BL
        (InputError, dict(matrices=rm, x=x, direction="forward")),
        (InputError, dict(matrices=rm, x=np.zeros((4, 16)), direction="recurrent_bl")),  # physical, not logical inputs
        (InputError, dict(matrices=rm, x=np.abs(x), direction="recurrent_bl", signed=False)),  # -x needs signed inputs
        (LimitError, dict(matrices=rm, x=x + 1.5, direction="recurrent_bl")),
    ]
    mvms = b.counters()["mvms"]
    for exc, kw in bad:
        with pytest.raises(exc):
            run_mvm(b, calibration=cal, **kw)
    assert b.counters()["mvms"] == mvms and b.get_rails() == rails  # nothing sent, no rail moved
    with pytest.raises(InputError):
        calibrate(b, rm, np.zeros((4, 7)), direction="recurrent_bl")
    with pytest.raises(InputError):
        calibrate(b, pm, x, direction="recurrent_sl")
    assert b.counters()["mvms"] > before


def test_recurrent_matrices_on_several_cores_share_one_request(quiet):
    """Same lines on two cores: one parallel request, each result in its own weight units."""
    b, _, k = quiet
    rm0 = _true_matrix(b, "recurrent_bl", k)
    pl1 = RecurrentPlacement(1, "recurrent_bl", *LAYOUTS["recurrent_bl"][:2], differential=True)  # pristine core
    rm1 = RecurrentMatrix(pl1, b.true_conductance_s(*pl1.cells()).reshape(-1, 256), k)
    rng = np.random.default_rng(1)
    xs = [rng.uniform(-1, 1, (100, 8)) for _ in range(2)]
    cal = calibrate(b, [rm0, rm1], xs, input_bits=6, output_bits=10, direction="recurrent_bl")
    n0 = b.counters()["mvms"]
    ys = run_mvm(b, [rm0, rm1], xs, input_bits=6, output_bits=10, direction="recurrent_bl", calibration=cal)
    assert b.last_mvm["vectors"] == 200 == b.counters()["mvms"] - n0
    ref = (np.rint(xs[0] * 31) / 31) @ rm0.weights
    assert np.abs(ys[0] - ref).max() < 0.01 * np.abs(ref).max()
    # the pristine core's weights are 40x smaller and share the operating point: a coarser band
    ref1 = (np.rint(xs[1] * 31) / 31) @ rm1.weights
    assert np.abs(ys[1] - ref1).max() < 0.1 * np.abs(ref1).max()
