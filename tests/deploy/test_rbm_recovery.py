"""The RBM's occlusion recovery: biases at full value on the array, the authors' Gibbs procedure."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from neurram_lab.board.registry import open_board
from neurram_lab.deploy import load_mnist
from neurram_lab.deploy.rbm import RBM, ChipRBM, map_rbm, recover
from neurram_lab.errors import InputError

SHARED = Path(os.environ["NEURRAM_SHARED"])
RBM_FILE = SHARED / "models" / "rbm_v794_h120_wnoise0.15.npz"
MNIST = SHARED / "datasets" / "mnist"


def test_mapping_keeps_the_biases_at_full_value():
    rbm = RBM.load(RBM_FILE)
    assert np.abs(rbm.b).max() > 4 * rbm.w_max and np.abs(rbm.a).max() > 20 * rbm.w_max  # the authors' file
    blocks = map_rbm(rbm)
    a_total = np.zeros(rbm.n_hidden)
    for blk in blocks:
        nv, nh = blk.visible.size, rbm.n_hidden
        assert blk.weights.shape == (nh + blk.bias_rows, nv + blk.bias_cols)
        assert blk.weights.shape[1] <= 256 and 2 * blk.weights.shape[0] <= 256
        bias = np.concatenate([blk.weights[nh:, :nv].ravel(), blk.weights[:nh, nv:].ravel()])
        assert np.abs(bias).max() <= rbm.w_max  # programmed without clipping
        np.testing.assert_allclose(blk.weights[nh:, :nv].sum(axis=0), rbm.b[blk.visible], rtol=1e-12)
        a_total += blk.weights[:nh, nv:].sum(axis=1)
    np.testing.assert_allclose(a_total, rbm.a, rtol=1e-12)
    # exact arithmetic on the mapped blocks: v W_clipped + a with the full bias
    chip = ChipRBM(None, rbm, mvm="exact")
    v = np.random.default_rng(0).integers(0, 8, (5, rbm.n_visible)).astype(np.int16)
    want = (v / 7.0) @ np.clip(rbm.W, -rbm.w_max, rbm.w_max) + rbm.a
    np.testing.assert_allclose(chip.hidden_input(v), want, rtol=1e-9, atol=1e-9)
    h = np.random.default_rng(1).integers(0, 2, (5, rbm.n_hidden))
    want_v = h @ np.clip(rbm.W, -rbm.w_max, rbm.w_max).T + rbm.b
    np.testing.assert_allclose(chip.visible_input(h), want_v, rtol=1e-9, atol=1e-9)


def test_biases_that_cannot_fit_are_refused():
    rng = np.random.default_rng(2)
    W = rng.normal(0, 0.3, (20, 120))
    with pytest.raises(InputError, match="visible bias up to 9"):
        map_rbm(RBM(W, np.zeros(120), np.full(20, 9.0), 1.0))  # 2 * (120 + 9) rows > 256
    assert map_rbm(RBM(W, np.zeros(120), np.full(20, 8.0), 1.0))[0].bias_rows == 8  # 256 rows: fits


def test_gibbs_feeds_the_chip_visible_samples():
    rbm = RBM.load(RBM_FILE)
    chip = ChipRBM(None, rbm, mvm="exact")
    seen = []
    real = chip.hidden_input
    chip.hidden_input = lambda codes: seen.append(np.unique(codes)) or real(codes)
    x, y = load_mnist(MNIST, "test", limit=4)
    recover(chip, x, y, "bottom", steps=3)
    assert len(seen) == 3 and all(set(u) <= {0, 7} for u in seen)  # 0/1 samples on the 3-bit grid
    seen.clear()
    recover(chip, x, y, "bottom", steps=2, sample_visible=False)
    assert any(len(set(u) - {0, 7}) > 0 for u in seen)  # probabilities quantised to 3 bits


def test_bottom_occlusion_recovery_lowers_the_error_exactly_and_on_the_twins_stochastic_neurons():
    rbm = RBM.load(RBM_FILE)
    x, y = load_mnist(MNIST, "test", limit=60)
    exact = recover(ChipRBM(None, rbm, mvm="exact"), x, y, "bottom")
    assert exact["l2_reduction"] > 0.2  # the authors' notebook: about 25 % (4.5 -> 3.4)
    known = (28 // 3) * 2
    rec = exact["recovered"].reshape(-1, 28, 28)
    clean = exact["clean"].reshape(-1, 28, 28)
    # the occluded rows come back as strokes where the digit has them: following the original
    # (correlation), about as much ink as it has (the clipped biases drew blobs: 1.8x the ink)
    got, want = rec[:, known:].reshape(len(x), -1), clean[:, known:].reshape(len(x), -1)
    corr = [np.corrcoef(g, w)[0, 1] for g, w in zip(got, want) if w.std() > 0]
    assert np.mean(corr) > 0.5
    assert 0.5 < np.mean(got > 0.5) / np.mean(want > 0.5) < 1.4
    board = open_board("sim://?seed=12")
    chip = ChipRBM(board, rbm, mvm="chip")
    chip.program()
    board.wait(1800.0)
    cal_x, cal_y = load_mnist(MNIST, "train-5k")
    chip.calibrate(cal_x[::25], cal_y[::25], per_column=False)
    assert chip.hidden_noise == "chip"  # sim:// declares stochastic neurons: the hidden units are sampled there
    seen = []
    real_mvm = board.mvm
    board.mvm = lambda req: seen.append((req.direction, req.activation)) or real_mvm(req)
    twin = recover(chip, x, y, "bottom")
    board.mvm = real_mvm
    assert set(seen) == {("backward", "stochastic"), ("forward", "none")}
    assert twin["l2_before"] == pytest.approx(exact["l2_before"])
    assert twin["l2_reduction"] > 0.05  # 12 % on these 60 images (host LFSR: 12 %); was -18 % with the biases clipped
    # the chip's noise makes each hidden unit fire with about sigmoid(v W + a), not as a hard threshold
    v = np.floor(np.hstack([exact["clean"][:20], np.eye(10)[y[:20]]]) * 7 + 0.5).astype(np.int16)
    z = chip.hidden_input(v)
    fired = np.mean([chip.hidden_input(v, activation="stochastic") > 0 for _ in range(10)], axis=0)
    p = 1 / (1 + np.exp(-z))
    mid = (p > 0.1) & (p < 0.9)
    assert mid.sum() > 100
    assert np.abs(fired - p)[mid].mean() < 0.7 * np.abs(fired - (z > 0))[mid].mean()
    chip.hidden_noise = "host"  # the host's LFSR, the fallback for boards without stochastic neurons
    host = recover(chip, x, y, "bottom")
    assert host["l2_reduction"] > 0.05
    assert abs(host["l2_after"] - twin["l2_after"]) < 0.1 * twin["l2_after"]


def test_hidden_units_fall_back_to_the_host_lfsr_where_the_board_lacks_stochastic_neurons(monkeypatch):
    from neurram_lab.drivers import _mvm_host
    from neurram_lab.drivers.hil import connect, make_emulated_board
    from neurram_lab.errors import CapabilityError

    rbm = RBM(np.zeros((20, 6)), np.zeros(6), np.zeros(20), 1.0)
    ok, emu = make_emulated_board(seed=4)
    with connect(ok, spec="hil://?seed=4") as board:  # the driver speaks the LFSR pulse: the chip samples
        assert "stochastic" in board.capabilities().activations
        assert ChipRBM(board, rbm).hidden_noise == "chip"
    # a driver without the LFSR pulse (the MVM activations before issue 22): the host samples
    monkeypatch.setattr(_mvm_host, "ACTIVATIONS", ("none", "relu"))
    ok, emu = make_emulated_board(seed=4)
    trace = []
    with connect(ok, spec="hil://?seed=4", observers=[trace.append]) as board:
        assert "stochastic" not in board.capabilities().activations
        assert ChipRBM(board, rbm).hidden_noise == "host"
        n = len(trace)
        with pytest.raises(CapabilityError, match="stochastic"):
            ChipRBM(board, rbm, hidden_noise="chip")
        assert len(trace) == n  # refused before anything was sent
    with open_board("sim://?seed=4") as sim:
        assert ChipRBM(sim, rbm).hidden_noise == "chip" and ChipRBM(sim, rbm, hidden_noise="host").hidden_noise == "host"
        with pytest.raises(InputError, match="hidden_noise"):
            ChipRBM(sim, rbm, hidden_noise="lfsr")
    assert ChipRBM(None, rbm, mvm="exact").hidden_noise == "host"
    with pytest.raises(InputError, match="mvm='chip'"):
        ChipRBM(None, rbm, mvm="exact", hidden_noise="chip")
