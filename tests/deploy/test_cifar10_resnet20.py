"""``deploy cifar10-resnet20`` on synthetic CIFAR-10 sets in the official layouts (no CIFAR-10 on these machines).

What is checked: the loaders read both layouts the way the data set's page describes them; the
authors' weights through the deploy path (software model, and the chip model with ``mvm="exact"``)
agree with an independent numpy forward pass written from the model card; the 61 matrices sit
within the 48 cores by the paper's rule; a layer whose matrices share a core runs on the twin in
turn; the command runs end to end, writes its mapping table and core figure, replays to the same
JSON; bad input is a one-line typed error (exit 1, the CLI's status for typed errors) with nothing written.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from neurram_lab import open_board
from neurram_lab.board.limits import N_COLS, N_CORES, N_ROWS
from neurram_lab.deploy.cifar10 import class_names, cifar10_layout, load_cifar10
from neurram_lab.deploy.mapping import map_model
from neurram_lab.deploy.network import ChipNetwork, core_rounds
from neurram_lab.deploy.resnet20 import load_resnet20, resnet20_shapes
from neurram_lab.errors import InputError

sys.path.insert(0, str(Path(__file__).parent))
import _resnet20_reference as reference  # noqa: E402

MODELS = Path(os.environ["NEURRAM_SHARED"]) / "models"
RESNET = MODELS / "resnet20_cifar10_act3b_wnoise0.10.npz"
NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def synthetic_images(n, seed):
    """uint8 (n, 32, 32, 3): blocky random images (4x4 blocks, so the convs see structure, not only noise)."""
    rng = np.random.default_rng(seed)
    return np.kron(rng.integers(0, 256, (n, 8, 8, 3)), np.ones((1, 4, 4, 1))).astype(np.uint8)


def rows_of(images):
    """The official row layout: 1024 red, 1024 green, 1024 blue values per image."""
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2).reshape(len(images), 3072))


def write_python_layout(d, images, labels, train=None):
    d.mkdir(parents=True, exist_ok=True)
    with open(d / "test_batch", "wb") as f:
        pickle.dump({b"batch_label": b"testing batch 1 of 1", b"labels": [int(v) for v in labels],
                     b"data": rows_of(images), b"filenames": [b"x.png"] * len(labels)}, f)
    with open(d / "batches.meta", "wb") as f:
        pickle.dump({b"num_cases_per_batch": len(labels), b"label_names": [n.encode() for n in NAMES],
                     b"num_vis": 3072}, f)
    if train is not None:
        with open(d / "data_batch_1", "wb") as f:
            pickle.dump({b"labels": [int(v) for v in train[1]], b"data": rows_of(train[0])}, f)
    return d


def write_binary_layout(d, images, labels):
    d.mkdir(parents=True, exist_ok=True)
    rec = np.hstack([np.asarray(labels, np.uint8)[:, None], rows_of(images)])
    rec.tofile(d / "test_batch.bin")
    (d / "batches.meta.txt").write_text("\n".join(NAMES) + "\n\n")
    return d


@pytest.fixture(scope="module")
def models():
    return load_resnet20(RESNET)


def test_both_official_layouts_read_to_the_same_images(tmp_path):
    x, y = synthetic_images(5, 1), np.array([3, 1, 4, 1, 5])
    x[0, 0, 1] = (10, 20, 30)  # one pixel: row 0, column 1, RGB
    py = write_python_layout(tmp_path / "py", x, y, train=(synthetic_images(3, 2), [0, 9, 2]))
    bn = write_binary_layout(tmp_path / "bin", x, y)
    assert cifar10_layout(py) == "python" and cifar10_layout(bn) == "binary"
    for d in (py, bn):
        img, lab = load_cifar10(d)
        assert img.shape == (5, 32, 32, 3) and img.dtype == np.uint8 and (img == x).all()
        assert tuple(img[0, 0, 1]) == (10, 20, 30) and lab.tolist() == [3, 1, 4, 1, 5]
        assert list(class_names(d)) == NAMES
    assert load_cifar10(py, limit=2)[0].shape[0] == 2
    tr, trl = load_cifar10(py, "train")
    assert tr.shape == (3, 32, 32, 3) and trl.tolist() == [0, 9, 2]
    with pytest.raises(InputError, match="no CIFAR-10 training batch"):
        load_cifar10(bn, "train")


def test_damaged_or_foreign_batches_are_typed_errors(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    with pytest.raises(InputError, match="neither test_batch"):
        load_cifar10(d)
    (d / "test_batch.bin").write_bytes(b"\0" * 3000)
    with pytest.raises(InputError, match="3073-byte records"):
        load_cifar10(d)
    (d / "test_batch.bin").unlink()

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    (d / "test_batch").write_bytes(pickle.dumps({b"data": Evil()}))
    with pytest.raises(InputError, match="not allowed"):
        load_cifar10(d)  # a pickle that would run code is refused, not executed
    (d / "test_batch").write_bytes(pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 11]}))
    with pytest.raises(InputError, match="outside 0..9"):
        load_cifar10(d)
    (d / "test_batch").write_bytes(pickle.dumps({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}))
    with pytest.raises(InputError, match="3072"):
        load_cifar10(d)


@pytest.mark.parametrize("final_quant", ["before_pool", "after_flatten"])
def test_deploy_path_matches_an_independent_numpy_forward_pass(final_quant):
    """Authors' weights: software model and chip model (mvm exact, 61 matrices with bias rows) against the
    model card's forward pass. Float32 against float64 summation flips a few 3-bit quantisation
    boundaries (the card saw 6 of 256 images), so logits agree to 1e-3 on most images, argmax on all but few."""
    params = dict(np.load(RESNET))
    software, chip = load_resnet20(RESNET, final_quant)
    x = np.concatenate([synthetic_images(24, 5), np.random.default_rng(6).integers(0, 256, (8, 32, 32, 3), np.uint8)])
    ref = reference.logits(params, x, final_quant)
    soft = software.forward(software.quantize_input(x))
    net = ChipNetwork(None, map_model(chip), mvm="exact")
    net.program()
    exact = net.predict(x, batch=16)
    for out in (soft, exact):
        close = np.abs(out - ref).max(axis=1) < 1e-3
        assert close.mean() >= 0.85, close.mean()
        assert np.mean(out.argmax(1) == ref.argmax(1)) >= 0.9
    assert np.ptp(ref, axis=0).max() > 1.0  # the images give different scores (not a constant network)


def test_61_matrices_on_48_cores_by_the_papers_rule(models):
    _, chip = models
    m = map_model(chip)
    t = m.table
    assert m.n_matrices == len(t) == 61 and m.cores_used == N_CORES
    assert (t["row0"] >= 0).all() and (t["row0"] + t["rows_used"] <= N_ROWS).all()
    assert (t["col0"] >= 0).all() and (t["col0"] + t["n_out"] <= N_COLS).all()
    assert (t["rows_used"] == 2 * t["n_in"]).all()  # differential row pairs
    for lay in m.model.weight_layers:  # every layer's matrices cover its inputs and outputs exactly once
        k, o = lay.matrix().shape
        cover = np.zeros((k, o), int)
        for r in m.rows(lay.name):
            cover[r["in_start"] : r["in_stop"], r["out_start"] : r["out_stop"]] += 1
        assert (cover == 1).all(), lay.name
    # compute-heavy matrices keep a core of their own; the merged ones are the lighter ones
    alone = t[t["core"].map(t["core"].value_counts()) == 1]
    merged = t[t["core"].map(t["core"].value_counts()) > 1]
    assert len(alone) >= 40 and len(merged) >= 10
    assert alone["load_macs"].min() >= merged["load_macs"].median()
    # merged matrices on shared rows are marked horizontal and run in turn (several rounds per layer)
    assert (merged["merge"] != "alone").all()
    shared = [name for name in t["layer"].unique() if len(core_rounds(list(t[t["layer"] == name]["core"]))) > 1]
    assert shared, "some layer has matrices sharing a core"


def test_a_layer_on_a_shared_core_runs_in_turn_on_the_twin(models):
    _, chip = models
    m = map_model(chip)
    t = m.table
    name = next(n for n in t["layer"].unique() if len(core_rounds(list(t[t["layer"] == n]["core"]))) > 1)
    board = open_board("sim://?seed=21")
    net = ChipNetwork(board, m, mvm="chip")
    net.program_layers([name], settle_s=60.0)
    board.wait(60.0)
    lay = m.model.layer(name)
    h, w, c = m.model.shapes()[lay.inputs[0]]
    x = np.random.default_rng(3).integers(0, 8, (1, h, w, c)) * m.model.input_grid(name).step
    before = board.counters()["mvms"]
    net.calibrate_layer(name, x, per_column=False)
    assert len(net.mvm_calibration[name]) == len(core_rounds(list(t[t["layer"] == name]["core"])))
    y = net.matmul(lay, x.astype(np.float32))
    from neurram_lab.deploy.model import exact_matmul

    ref = exact_matmul(lay, x.astype(np.float32))
    assert np.linalg.norm(y - ref) / np.linalg.norm(ref) < 0.5
    assert board.counters()["mvms"] > before


def _cli(capsys, *argv):
    """``neurram ARGV --json --quiet`` in this process: (exit status, stdout, stderr)."""
    from neurram_lab.cli.cli import main

    capsys.readouterr()
    status = main([*argv, "--json", "--quiet"])
    out, err = capsys.readouterr()
    return status, out, err


def _deploy(capsys, *args, out):
    return _cli(capsys, "deploy", "cifar10-resnet20", *args, "--out", str(out))


def test_cli_runs_end_to_end_writes_mapping_and_core_map_and_replays(tmp_path, capsys):
    x = synthetic_images(10, 8)
    data = write_python_layout(tmp_path / "cifar", x, np.arange(10) % 10)
    p = subprocess.run([sys.executable, "-m", "neurram_lab.cli", "deploy", "cifar10-resnet20", "--data", str(data),
                        "--limit", "3", "--calibration-images", "4", "--mvm", "exact", "--json", "--quiet",
                        "--out", str(tmp_path / "o")], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout.strip().splitlines()[-1])
    assert s["n_images"] == 3 and s["calibration_images"] == 4 and "test set only" in s["calibration_source"]
    assert s["matrices"] == 61 and s["cores_used"] == 48 and s["paper_accuracy"] == 0.857
    assert s["accuracy"] == s["software_accuracy"] and s["chip_software_agreement"] == 1.0
    assert len(s["layer_error"]) == 22 and max(s["layer_error"].values()) < 1e-5  # exact: software to float error
    for key in ("run_file", "mapping_file", "core_map_file", "figure"):
        assert Path(s[key]).is_file() and Path(s[key]).parent == Path(s["run_file"]).parent
    from neurram_lab import read_run

    run = read_run(s["run_file"])
    assert len(run.tables["predictions"]) == 3 and len(run.tables["matrices"]) == 61
    assert (run.tables["predictions"]["index"] == np.arange(3)).all()
    status, out, err = _cli(capsys, "replay", s["run_file"], "--out", str(tmp_path / "replay"))
    assert status == 0, err
    again = json.loads(out.strip().splitlines()[-1])
    keep = lambda d: {k: v for k, v in d.items() if not (k in ("wall_s", "figure") or k.endswith(("_wall_s", "_file", "_file_bytes")))}  # noqa: E731
    assert keep(again) == keep(s)


def test_cli_bad_input_is_one_typed_line_nothing_written(tmp_path, capsys):
    """Typed errors (NeuRRAMError) exit 1 in this CLI, argparse usage errors 2 (neurram_lab/cli/cli.py)."""
    good = write_python_layout(tmp_path / "cifar", synthetic_images(3, 9), [0, 1, 2])
    empty = tmp_path / "empty"
    empty.mkdir()
    bad_npz = tmp_path / "resnet20_bad.npz"
    arrays = dict(np.load(RESNET))
    arrays["s1.b2.conv1.kernel"] = arrays["s1.b2.conv1.kernel"][..., :16]
    np.savez(bad_npz, **arrays)
    cases = [
        (["--data", str(tmp_path / "nowhere")], "nowhere"),
        (["--data", str(empty)], "neither test_batch"),
        (["--data", str(good), "--model", str(MODELS / "mnist_cnn_7layer_3bit_wnoise0.15.npz")], "stem.conv.kernel"),
        (["--data", str(good), "--model", str(bad_npz)], "s1.b2.conv1.kernel"),
        (["--data", str(good), "--calibration-images", "3"], "calibration_images"),
        (["--data", str(good), "--limit", "0"], "limit"),
    ]
    for k, (args, named) in enumerate(cases):
        out = tmp_path / f"out{k}"
        status, _, err = _deploy(capsys, *args, out=out)
        assert status == 1, (args, err)
        lines = [ln for ln in err.strip().splitlines() if ln]
        assert len(lines) == 1 and named in lines[0] and lines[0].startswith("neurram: error:"), lines
        assert not out.exists() or not any(out.iterdir()), args


def test_model_card_lists_every_array_of_the_file():
    with np.load(RESNET) as z:
        assert {k: tuple(z[k].shape) for k in z.files} == resnet20_shapes()
