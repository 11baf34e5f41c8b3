"""``deploy cifar10-resnet20 --finetune``: chip-in-the-loop progressive fine-tuning (issue 19 item 2, SPEC §5).

What is checked: on a residual graph the fine-tuning programs every weight layer once, in graph
order, with the weights as fine-tuned so far, and changes only layers not yet programmed; the
command runs end to end on a synthetic CIFAR-10 folder, gives accuracy before and after, fine-tunes on
the calibration slice (never on the classified images) and replays identically; bad fine-tuning
arguments, and a missing PyTorch, are one typed line with nothing written (these run without torch).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_cifar10_resnet20 import _cli, synthetic_images, write_python_layout  # noqa: E402

from neurram_lab import open_board, read_run  # noqa: E402
from neurram_lab.deploy.mapping import map_model  # noqa: E402
from neurram_lab.deploy.model import Model  # noqa: E402
from neurram_lab.deploy.network import ChipNetwork  # noqa: E402

NO_TORCH = "torch is not installed (the optional train extra); fine-tuning itself is not exercised here"


@pytest.fixture
def one_thread():
    """PyTorch on one thread: pytest-xdist runs a worker per core, and two threads each oversubscribe them."""
    torch = pytest.importorskip("torch", reason=NO_TORCH)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield torch
    torch.set_num_threads(before)


def _residual_model():
    """conv - act - conv - add(shortcut conv) - act - flatten - dense: a graph with a residual add."""
    arch = {"name": "tiny_res", "input": {"shape": [6, 6, 2], "bits": 3, "max": 1.0}, "layers": [
        {"name": "c0", "op": "conv2d", "padding": "same"},
        {"name": "a0", "op": "act_quant", "bits": 3},
        {"name": "c1", "op": "conv2d", "padding": "same"},
        {"name": "sc", "op": "conv2d", "padding": "same", "inputs": ["a0"]},
        {"name": "add", "op": "add", "inputs": ["c1", "sc"]},
        {"name": "a1", "op": "act_quant", "bits": 3},
        {"name": "flat", "op": "flatten"},
        {"name": "fc", "op": "dense"}]}
    rng = np.random.default_rng(4)
    p = {"c0.kernel": rng.normal(0, 0.4, (3, 3, 2, 4)), "c0.bias": np.zeros(4), "a0.max": 2.0,
         "c1.kernel": rng.normal(0, 0.3, (3, 3, 4, 4)), "c1.bias": np.zeros(4), "a1.max": 2.0,
         "sc.kernel": rng.normal(0, 0.3, (3, 3, 4, 4)), "sc.bias": np.zeros(4),
         "fc.kernel": rng.normal(0, 0.2, (144, 3)), "fc.bias": np.zeros(3)}
    return Model.from_arch(arch, {k: np.asarray(v, np.float32) for k, v in p.items()})


def test_progressive_finetune_walks_a_residual_graph_on_the_twin(one_thread):
    from neurram_lab.deploy.training import progressive_finetune

    rng = np.random.default_rng(5)
    x = rng.integers(0, 256, (24, 6, 6, 2)).astype(np.uint8)
    y = rng.integers(0, 3, 24)
    board = open_board("sim://?seed=3")
    net = ChipNetwork(board, map_model(_residual_model()), mvm="chip")
    model = net.mapping.model
    seen, kernels = [], {}
    program = net.program_layers

    def spy(layers, **kw):  # what was programmed, when, and with which weights
        seen.extend(layers)
        kernels.update({n: model.layer(n).params["kernel"].copy() for n in layers})
        return program(layers, **kw)

    net.program_layers = spy
    from neurram_lab.errors import InputError, LimitError

    for bad, named in (({"epochs": -1}, "epochs"), ({"lr": 0.0}, "lr"), ({"noise": float("nan")}, "noise"),
                       ({"batch": 0}, "batch"), ({"threads": 0}, "threads"), ({"labels": y[:5]}, "labels")):
        with pytest.raises((InputError, LimitError), match=named):
            progressive_finetune(net, x, **{"labels": y, **bad})
    assert seen == [] and board.counters()["mvms"] == 0  # refused before anything was programmed or run
    before = {lay.name: lay.params["kernel"].copy() for lay in model.weight_layers}
    report = progressive_finetune(net, x, y, epochs=2, noise=0.1, lr=1e-3, calibration_images=12, relax_s=1.0,
                                  settle_s=1.0, per_column=False, iterations=1, batch=10)
    assert seen == ["c0", "c1", "sc", "fc"]  # each weight layer once, in graph order
    assert list(report) == ["c1", "sc", "fc"] and all(0 <= v <= 1 for v in report.values())  # first software layer
    for n in seen:  # a layer is never changed after it was programmed
        np.testing.assert_array_equal(model.layer(n).params["kernel"], kernels[n])
    np.testing.assert_array_equal(kernels["c0"], before["c0"])
    assert not np.array_equal(kernels["sc"], before["sc"])  # tuned on measured tensors before it was programmed
    assert not np.array_equal(kernels["fc"], before["fc"])
    assert set(net.mvm_calibration) == set(seen)  # every layer calibrated on its measured input
    assert net.predict(x, batch=12).shape == (24, 3)


def test_cli_finetune_on_synthetic_cifar_reports_before_and_after_and_replays(tmp_path, capsys, one_thread):
    data = write_python_layout(tmp_path / "cifar", synthetic_images(5, 11), np.arange(5) % 10)
    status, out, err = _cli(capsys, "deploy", "cifar10-resnet20", "--data", str(data), "--limit", "2",
                            "--calibration-images", "3", "--mvm", "exact", "--finetune", "--finetune-epochs", "1",
                            "--finetune-images", "2", "--out", str(tmp_path / "o"))
    assert status == 0, err
    s = json.loads(out.strip().splitlines()[-1])
    assert s["accuracy_before"] == s["accuracy"] and 0 <= s["accuracy_after"] <= 1
    assert s["finetune_images"] == 2 and s["finetune_epochs"] == 1 and s["finetune_lr"] == 1e-5
    assert "calibration slice" in s["finetune_source"] and "2..3" in s["finetune_source"]  # not the 2 classified
    assert len(s["finetune_train_accuracy"]) == 21  # one step per weight layer after the first
    run = read_run(s["run_file"])
    assert run.record["parameters"]["finetune"] is True
    chip_after = np.asarray(run.tables["predictions"]["chip_finetuned"])
    assert np.mean(chip_after == np.asarray(run.tables["predictions"]["label"])) == s["accuracy_after"]
    status, out, err = _cli(capsys, "replay", s["run_file"], "--out", str(tmp_path / "replay"))
    assert status == 0, err
    again = json.loads(out.strip().splitlines()[-1])
    keep = lambda d: {k: v for k, v in d.items() if not (k in ("wall_s", "figure") or k.endswith(("_wall_s", "_file", "_file_bytes")))}  # noqa: E731
    assert keep(again) == keep(s)


def test_cli_finetune_bad_arguments_and_missing_torch_are_one_typed_line(tmp_path, capsys, monkeypatch):
    """Runs without torch (CI): the checks come before PyTorch is imported and before anything is written."""
    data = write_python_layout(tmp_path / "cifar", synthetic_images(6, 12), np.arange(6))
    base = ["--data", str(data), "--limit", "1", "--calibration-images", "3", "--mvm", "exact", "--finetune"]
    cases = [(["--finetune-epochs", "0"], "finetune_epochs"), (["--finetune-images", "-1"], "finetune_images"),
             (["--finetune-images", "4"], "calibration slice")]
    for k, (args, named) in enumerate(cases):
        if named == "calibration slice" and "torch" not in sys.modules and _torch_missing():
            continue  # the slice check needs the training module first
        status, _, err = _cli(capsys, "deploy", "cifar10-resnet20", *base, *args, "--out", str(tmp_path / f"o{k}"))
        lines = [ln for ln in err.strip().splitlines() if ln]
        assert status == 1 and len(lines) == 1 and named in lines[0], (args, lines)
        assert not (tmp_path / f"o{k}").exists() or not any((tmp_path / f"o{k}").iterdir())
    monkeypatch.setitem(sys.modules, "torch", None)  # PyTorch absent: import torch raises ImportError
    monkeypatch.delitem(sys.modules, "neurram_lab.deploy.training", raising=False)
    monkeypatch.delattr("neurram_lab.deploy.training", raising=False)
    status, _, err = _cli(capsys, "deploy", "cifar10-resnet20", *base, "--out", str(tmp_path / "nt"))
    lines = [ln for ln in err.strip().splitlines() if ln]
    assert status == 1 and len(lines) == 1 and "train extra" in lines[0] and "torch" in lines[0], lines
    assert lines[0].startswith("neurram: error: finetune")
    assert not (tmp_path / "nt").exists() or not any((tmp_path / "nt").iterdir())


def _torch_missing() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return True
    return False
