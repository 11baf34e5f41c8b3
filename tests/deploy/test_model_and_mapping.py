"""Tier 3 without a board: model import, exact forward, digital ops, mapping and its table."""

from __future__ import annotations

import os
import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from neurram_lab.deploy import Mapping, load_mnist, load_model, map_model, read_idx
from neurram_lab.deploy.digital import im2col, pool
from neurram_lab.deploy.model import Model, exact_matmul
from neurram_lab.deploy.network import ChipNetwork
from neurram_lab.errors import InputError, LimitError

SHARED = Path(os.environ["NEURRAM_SHARED"])  # set by tests/conftest.py
MNIST = SHARED / "datasets" / "mnist"
CNN = SHARED / "models" / "mnist_cnn_7layer_3bit_wnoise0.15.npz"
RESNET = SHARED / "models" / "resnet20_cifar10_act3b_wnoise0.10.npz"


@pytest.fixture(scope="module")
def cnn():
    return load_model(CNN)


@pytest.fixture(scope="module")
def test_set():
    return load_mnist(MNIST, "test", limit=1000)


def test_idx_round_trip_and_bad_magic(tmp_path):
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    raw = bytes([0, 0, 0x08, 3]) + np.array(a.shape, ">u4").tobytes() + a.tobytes()
    (tmp_path / "x.gz").write_bytes(gzip.compress(raw))
    assert np.array_equal(read_idx(tmp_path / "x.gz"), a)
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(InputError):
        read_idx(tmp_path / "bad")
    (tmp_path / "short").write_bytes(raw[:-3])
    with pytest.raises(InputError, match="header says"):
        read_idx(tmp_path / "short")


def test_official_test_set_shapes():
    x, y = load_mnist(MNIST, "test")
    assert x.shape == (10000, 28, 28) and y.shape == (10000,) and x.dtype == np.uint8
    xs, ys = load_mnist(MNIST, "train-5k")
    assert np.bincount(ys).tolist() == [500] * 10


def test_conv_matches_direct_sum():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 7, 6, 3)).astype(np.float32)
    k = rng.normal(size=(3, 3, 3, 4)).astype(np.float32)
    for stride in (1, 2):
        cols, (oh, ow) = im2col(x, (3, 3), stride, "same")
        got = cols.reshape(-1, 27) @ k.reshape(27, 4)
        pad_t = max((oh - 1) * stride + 3 - 7, 0) // 2
        pad_l = max((ow - 1) * stride + 3 - 6, 0) // 2
        xp = np.pad(x, ((0, 0), (pad_t, 3), (pad_l, 3), (0, 0)))
        want = np.zeros((2, oh, ow, 4))
        for i in range(oh):
            for j in range(ow):
                patch = xp[:, i * stride : i * stride + 3, j * stride : j * stride + 3, :]
                want[:, i, j] = np.einsum("nhwc,hwco->no", patch, k)
        np.testing.assert_allclose(got.reshape(want.shape), want, rtol=1e-4, atol=1e-5)


def test_same_max_pool_pads_bottom_right():
    x = np.arange(49, dtype=np.float32).reshape(1, 7, 7, 1)
    y = pool(x, 2, padding="same")
    assert y.shape == (1, 4, 4, 1)
    assert y[0, 3, 3, 0] == 48 and y[0, 0, 0, 0] == 8


def test_software_accuracy_of_authors_cnn(cnn, test_set):
    x, y = test_set
    acc = float(np.mean(cnn.predict(x).argmax(1) == y))
    assert acc == pytest.approx(0.991, abs=1e-9)  # 991 of the first 1000; 0.9918 on all 10 000


def test_architecture_errors_are_typed(cnn):
    arch, params = cnn.arch(), cnn.params()
    with pytest.raises(InputError, match="not used"):
        Model.from_arch(arch, dict(params, extra=np.zeros(1)))
    bad = json.loads(json.dumps(arch))
    bad["layers"][0]["op"] = "conv3d"
    with pytest.raises(InputError, match="op"):
        Model.from_arch(bad, params)
    wrong = dict(params)
    wrong["conv1.kernel"] = np.zeros((3, 3, 4, 8))
    with pytest.raises(InputError, match="does not fit"):
        Model.from_arch(arch, wrong)


def test_npz_with_sidecar_architecture(tmp_path, cnn):
    path = tmp_path / "my_net.npz"
    np.savez(path, **cnn.params())
    path.with_suffix(".json").write_text(json.dumps(cnn.arch()))
    m = load_model(path)
    x = cnn.quantize_input(np.random.default_rng(0).integers(0, 256, (3, 28, 28), dtype=np.uint8))
    np.testing.assert_array_equal(m.forward(x), cnn.forward(x))


def test_authors_mnist_mapping_is_16_cores_46664_cells(cnn):
    mp = map_model(cnn, max_inputs=100, split_wide=False)
    assert mp.n_matrices == 16 and mp.cores_used == 16 and mp.cells_used == 46664


def test_split_matrices_give_the_exact_layer(cnn, test_set):
    mp = map_model(cnn, max_inputs=40, replicate=True)
    assert mp.cores_used == 48 and mp.table["replica"].max() > 0
    net = ChipNetwork(None, mp, mvm="exact")
    net.program()
    x = cnn.quantize_input(test_set[0][:50])
    for name in ("conv0", "conv3", "conv5", "dense"):
        lay = cnn.layer(name)
        inp = x if lay.inputs[0] == "input" else cnn.forward(x, upto=lay.inputs[0])
        np.testing.assert_allclose(net.matmul(lay, inp), exact_matmul(lay, inp), atol=1e-4)


def test_zero_skipping_gives_the_same_exact_outputs(cnn, test_set):
    mp = map_model(cnn, max_inputs=100, replicate=True)
    plain, skip = ChipNetwork(None, mp, mvm="exact"), ChipNetwork(None, mp, mvm="exact", skip_zero_inputs=True)
    plain.program()
    skip.program()
    x = cnn.quantize_input(test_set[0][:20])
    for name in ("conv0", "conv1", "conv2"):
        lay = cnn.layer(name)
        inp = x if lay.inputs[0] == "input" else cnn.forward(x, upto=lay.inputs[0])
        np.testing.assert_allclose(skip.matmul(lay, inp), plain.matmul(lay, inp), atol=1e-5)


def test_resnet20_fits_one_chip_and_table_round_trips(tmp_path):
    model = load_model(RESNET)
    mp = map_model(model)
    assert mp.n_matrices == 61
    assert mp.cores_used <= 48
    assert set(mp.table["merge"]) >= {"alone", "horizontal"}
    for layer in mp.model.weight_layers:  # every weight row of every layer is placed exactly once
        rows = mp.table[mp.table["layer"] == layer.name]
        covered = np.zeros(layer.matrix().shape, int)
        for r in rows.itertuples():
            covered[r.in_start : r.in_stop, r.out_start : r.out_stop] += 1
        assert (covered == 1).all(), layer.name
    for suffix in (".csv", ".json"):
        path = mp.save(tmp_path / f"map{suffix}")
        back = Mapping.load(path, mp.model)
        assert back.table.equals(mp.table)


def test_batch_norm_folding_keeps_outputs():
    model = load_model(RESNET)
    folded = model.fold_batch_norm()
    assert not any(lay.op == "batch_norm" for lay in folded.layers)
    x = model.quantize_input(np.random.default_rng(2).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8))
    np.testing.assert_allclose(folded.forward(x, upto="stem.conv"), model.forward(x, upto="stem.bn"), atol=1e-4)


def test_placement_avoids_dead_cells(cnn):
    dead = np.zeros((48, 256, 256), bool)
    dead[0, :20, :20] = True  # a dead corner on core 0
    dead[1:, 5, 3] = True  # one dead cell at the same spot elsewhere
    mp = map_model(cnn, max_inputs=100, split_wide=False, dead=dead)
    for r in mp.rows():
        p = mp.placement(r)
        c, rr, cc = p.cells()
        assert not dead[c, rr, cc].any(), r["matrix"]


def test_bad_mapping_file_is_rejected(tmp_path, cnn):
    mp = map_model(cnn, max_inputs=100, split_wide=False)
    t = mp.table.copy()
    t.loc[1, ["core", "row0", "col0"]] = t.loc[0, ["core", "row0", "col0"]].values
    with pytest.raises(InputError, match="overlaps"):
        Mapping(mp.model, t)
    with pytest.raises(InputError, match=".csv or .json"):
        mp.save(tmp_path / "map.txt")
    with pytest.raises(LimitError):
        map_model(load_model(RESNET), n_cores=4)


def test_merged_placement_steers_around_dead_cells():
    model = load_model(RESNET)
    dead = np.random.default_rng(0).random((48, 256, 256)) < 2e-4

    def covered(mp):
        return sum(int(dead[mp.placement(r).cells()].sum()) for r in mp.rows())

    blind, aware = map_model(model), map_model(model, dead=dead)
    assert aware.cores_used <= 48 and aware.n_matrices == 61
    assert covered(aware) < 0.7 * covered(blind)
