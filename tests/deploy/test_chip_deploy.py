"""Tier 3 on the twin (sim://): programming, calibration and inference through the Board contract."""

from __future__ import annotations

import os
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from neurram_lab import open_board, read_run
from neurram_lab.deploy import load_mnist, load_model, map_model
from neurram_lab.deploy.lfsr import LFSRNoise
from neurram_lab.deploy.lstm import ChipLSTMCell, lstm_reference
from neurram_lab.deploy.model import Model
from neurram_lab.deploy.network import ChipNetwork
from neurram_lab.deploy.rbm import RBM, ChipRBM, recover
from neurram_lab.errors import InputError

SHARED = Path(os.environ["NEURRAM_SHARED"])  # set by tests/conftest.py
MNIST = SHARED / "datasets" / "mnist"
CNN = SHARED / "models" / "mnist_cnn_7layer_3bit_wnoise0.15.npz"
RBM_FILE = SHARED / "models" / "rbm_v794_h120_wnoise0.15.npz"


def test_authors_cnn_on_the_twin_matches_software():
    model = load_model(CNN)
    mapping = map_model(model, max_inputs=100, split_wide=False)
    board = open_board("sim://?seed=11")
    net = ChipNetwork(board, mapping, mvm="chip")
    with pytest.raises(InputError, match="not programmed"):
        net.predict(np.zeros((1, 28, 28), np.uint8))
    stats = net.program()
    assert stats["cells_programmed"] == 46664 and stats["settled_in_window_fraction"] > 0.7
    board.wait(1800.0)
    cal, _ = load_mnist(MNIST, "train-5k")
    net.calibrate(cal[::50])  # 100 training images, never test images
    x, y = load_mnist(MNIST, "test", limit=150)
    chip = net.predict(x, batch=150).argmax(1)
    soft = model.predict(x).argmax(1)
    assert np.mean(chip == y) >= 0.97
    assert np.mean(chip == soft) >= 0.97
    assert board.counters()["mvms"] >= 150  # the predictions ran on the chip, one MVM vector or more per image


def test_rbm_recovers_flipped_digits_on_the_twin():
    rbm = RBM.load(RBM_FILE)
    board = open_board("sim://?seed=12")
    chip = ChipRBM(board, rbm, mvm="chip")
    assert chip.cores_used == 4
    chip.program()
    board.wait(1800.0)
    cal_x, cal_y = load_mnist(MNIST, "train-5k")
    chip.calibrate(cal_x[::25], cal_y[::25])
    x, y = load_mnist(MNIST, "test", limit=100)
    out = recover(chip, x, y, "flip", steps=10)
    assert out["l2_before"] > 11
    assert out["l2_reduction"] >= 0.65


def test_rbm_exact_and_bottom_occlusion_shapes():
    rbm = RBM.load(RBM_FILE)
    chip = ChipRBM(None, rbm, mvm="exact")
    x, y = load_mnist(MNIST, "test", limit=50)
    flip = recover(chip, x, y, "flip")
    assert flip["l2_reduction"] > 0.7
    bottom = recover(chip, x, y, "bottom")
    known_rows = (28 // 3) * 2
    rec = bottom["recovered"].reshape(-1, 28, 28)
    np.testing.assert_allclose(rec[:, :known_rows], x[:, :known_rows] / 255.0)  # clamped pixels stay
    with pytest.raises(InputError):
        recover(chip, x, y, "smudge")


def test_lfsr_noise_is_reproducible_and_uniform():
    a = LFSRNoise(1000, seed=3).uniform((4, 1000))
    b = LFSRNoise(1000, seed=3).uniform((4, 1000))
    np.testing.assert_array_equal(a, b)
    assert 0.47 < a.mean() < 0.53 and a.min() >= 0 and a.max() < 1
    assert abs(np.corrcoef(a[0], a[1])[0, 1]) < 0.1


def test_lstm_cell_on_the_twin_follows_the_float_cell():
    rng = np.random.default_rng(0)
    hidden, n_in = 16, 8
    wx, wh = rng.normal(0, 0.5, (n_in, 4 * hidden)), rng.normal(0, 0.3, (hidden, 4 * hidden))
    bias = rng.normal(0, 0.2, 4 * hidden)
    xs = np.clip(rng.normal(0, 0.4, (32, 6, n_in)), -1, 1)
    ref = lstm_reference(xs, wx, wh, bias)
    exact = ChipLSTMCell(None, wx, wh, bias, mvm="exact")
    exact.program()
    assert np.abs(exact.run(xs) - ref).mean() < 0.03  # 4-bit signed inputs
    board = open_board("sim://?seed=13")
    cell = ChipLSTMCell(board, wx, wh, bias, mvm="chip")
    cell.program()
    board.wait(1800.0)
    cell.calibrate(np.clip(rng.normal(0, 0.4, (32, 6, n_in)), -1, 1))
    assert np.abs(cell.run(xs) - ref).mean() < 0.12
    with pytest.raises(InputError):
        ChipLSTMCell(None, wx, wh[:3], bias, mvm="exact")


def test_cli_mnist_cnn_json_run_file_and_mapping(tmp_path):
    p = subprocess.run([sys.executable, "-m", "neurram_lab.cli", "deploy", "mnist-cnn", "--limit", "60", "--mvm", "measured-weights",
                        "--calibration-images", "60", "--json", "--quiet", "--out", str(tmp_path), "--seed", "4"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout.strip().splitlines()[-1])
    for key in ("accuracy", "software_accuracy", "cores_used", "cells_used", "wall_s"):
        assert key in s
    assert s["cores_used"] == 16 and s["cells_used"] == 46664 and s["accuracy"] >= 0.95
    run = read_run(s["run_file"])
    assert run.status == "success" and len(run.tables["predictions"]) == 60
    assert Path(s["figure"]).exists() and Path(s["mapping_file"]).exists()


def test_cli_rbm_recovery_exact(tmp_path):
    p = subprocess.run([sys.executable, "-m", "neurram_lab.cli", "deploy", "rbm-recovery", "--mvm", "exact",
                        "--limit", "40", "--json", "--quiet", "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout.strip().splitlines()[-1])
    assert 0 < s["l2_after"] < s["l2_before"] and s["l2_reduction"] == pytest.approx(1 - s["l2_after"] / s["l2_before"])
    assert Path(s["figure"]).exists()


def test_known_dead_cells_are_never_pulsed():
    full = load_model(CNN)
    arch = full.arch()
    arch["layers"] = arch["layers"][:2]  # conv0, act0
    model = Model.from_arch(arch, {k: v for k, v in full.params().items() if k.split(".")[0] in ("conv0", "act0")})
    dead = np.zeros((48, 256, 256), bool)
    dead[:, 3, 2] = True  # a dead cell inside wherever conv0 lands
    mapping = map_model(model, dead=np.zeros_like(dead))
    board = open_board("sim://?seed=14")
    net = ChipNetwork(board, mapping, mvm="chip")
    net.program(iterations=1, dead=dead)
    pm = net.programmed[0]
    r0, c0 = pm.placement.row0, pm.placement.col0
    assert pm.dead[3 - r0, 2 - c0]
    assert pm.g_measured_s[3 - r0, 2 - c0] < 0.5e-6  # still pristine: never formed or programmed
    assert pm.dead.sum() >= 1 and pm.info["dead_given"] >= 1
