"""Tier-3 argument checks of the ResNet-20 path (issue 19 item 6): mapping, model file, CIFAR-10 loaders, fidelity,
and ``deploy cifar10-resnet20``'s ``run``.

Each bad argument must be a NeuRRAMError subclass whose message names the argument, raised before anything is
sent to a board or written (the run folder stays empty, the board's counters do not move).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neurram_lab import open_board
from neurram_lab.deploy.cifar10 import class_names, has_training_batches, load_cifar10
from neurram_lab.deploy.fidelity import LayerErrors
from neurram_lab.deploy.mapping import Mapping, cut_layers, map_model, matrix_weights
from neurram_lab.deploy.resnet20 import check_resnet20_arrays, chip_arch, load_resnet20
from neurram_lab.errors import InputError, LimitError, NeuRRAMError
from neurram_lab.experiments import deploy_cifar10_resnet20 as cmd

RESNET = Path(os.environ["NEURRAM_SHARED"]) / "models" / "resnet20_cifar10_act3b_wnoise0.10.npz"


@pytest.fixture(scope="module")
def chip():
    return load_resnet20(RESNET)[1]


@pytest.fixture(scope="module")
def mapping(chip):
    return map_model(chip)


@pytest.mark.parametrize("model", [None, 3, "resnet", np.zeros(3), {"a": 1}])
def test_a_model_that_is_not_a_model_is_refused(model, mapping):
    for f in (lambda: map_model(model), lambda: cut_layers(model), lambda: matrix_weights(model, mapping.rows()[0]),
              lambda: Mapping(model, mapping.table)):
        with pytest.raises(InputError, match="model must be a Model"):
            f()


@pytest.mark.parametrize("kw, exc, word", [
    ({"n_cores": 0}, LimitError, "n_cores"), ({"n_cores": -1}, LimitError, "n_cores"),
    ({"n_cores": math.nan}, InputError, "n_cores"), ({"n_cores": 49}, LimitError, "n_cores"),
    ({"max_inputs": 0}, LimitError, "max_inputs"), ({"max_inputs": -5}, LimitError, "max_inputs"),
    ({"max_inputs": 257}, LimitError, "max_inputs"), ({"max_inputs": 2.5}, InputError, "max_inputs"),
    ({"w_max_percentile": 0}, LimitError, "w_max_percentile"),
    ({"w_max_percentile": -1}, LimitError, "w_max_percentile"),
    ({"w_max_percentile": math.nan}, LimitError, "w_max_percentile"),
    ({"w_max_percentile": 100.5}, LimitError, "w_max_percentile"),
    ({"replicate": "yes"}, InputError, "replicate"), ({"cores": []}, InputError, "cores"),
    ({"cores": [0, 0]}, InputError, "cores"), ({"cores": [48]}, LimitError, "cores"),
    ({"dead": np.zeros(3)}, InputError, "dead"), ({"n_cores": 2}, LimitError, "2 cores"),
])
def test_map_model_numeric_and_shape_arguments(chip, kw, exc, word):
    with pytest.raises(exc, match=word):
        map_model(chip, **kw)


def test_table_rows_and_tables_of_the_wrong_kind(chip, mapping):
    row = mapping.rows()[0]
    for bad in (None, 3, [1, 2], "row"):
        with pytest.raises(InputError, match="row must be a mapping-table row"):
            matrix_weights(chip, bad)
        with pytest.raises(InputError, match="row must be a mapping-table row"):
            Mapping.placement(bad)
    with pytest.raises(InputError, match="lacks"):
        matrix_weights(chip, {"layer": row["layer"]})
    for key, value in (("in_stop", row["in_stop"] + 10_000), ("in_start", -1), ("out_stop", 0),
                       ("n_bias_rows", -1), ("bias_share", math.nan)):
        with pytest.raises(LimitError if key != "bias_share" else NeuRRAMError, match=key):
            matrix_weights(chip, dict(row, **{key: value}))
    # a pandas row works the same as its dict
    np.testing.assert_array_equal(matrix_weights(mapping.model, mapping.table.iloc[0]), mapping.weights(row))
    for bad in (None, [1], {"core": [0]}):
        with pytest.raises(InputError, match="table must be a pandas DataFrame"):
            Mapping(chip, bad)
    with pytest.raises(InputError, match="lacks columns"):
        Mapping(chip, pd.DataFrame({"core": [0]}))
    for bad in ("no.such.layer", 3):
        with pytest.raises(InputError, match="not in the mapping"):
            mapping.rows(bad)
    assert len(mapping.rows("stem.conv")) == 1


def test_resnet20_arrays_and_final_quant(tmp_path):
    params = dict(np.load(RESNET))
    for bad in (None, [1, 2], "params", 3):
        with pytest.raises(InputError, match="dict of arrays"):
            check_resnet20_arrays(bad)
    with pytest.raises(InputError, match="source"):
        check_resnet20_arrays(params, None)
    with pytest.raises(InputError, match="'fc.bias' is a list"):
        check_resnet20_arrays(dict(params, **{"fc.bias": [0.0] * 10}))
    for bad in (None, 3, "before"):
        with pytest.raises(InputError, match="final_quant"):
            chip_arch(bad)
        with pytest.raises(InputError, match="final_quant"):
            load_resnet20(RESNET, bad)
    for bad in (None, 3, tmp_path / "missing.npz"):
        with pytest.raises(InputError, match="model"):
            load_resnet20(bad)


def test_cifar10_loaders_refuse_bad_folders_and_numbers(tmp_path):
    for f in (load_cifar10, has_training_batches, class_names):
        for bad in (None, 3, tmp_path / "absent"):
            with pytest.raises(InputError, match="data"):
                f(bad)
    for limit, exc in ((0, LimitError), (-3, LimitError), (math.nan, InputError), (1.5, InputError)):
        with pytest.raises(exc, match="limit"):
            load_cifar10(tmp_path, limit=limit)
    with pytest.raises(InputError, match="split"):
        load_cifar10(tmp_path, split="validation")


@pytest.mark.parametrize("net", [None, 3, object()])
def test_layer_errors_needs_a_network(net):
    with pytest.raises(InputError, match="net must be a ChipNetwork"):
        LayerErrors(net)


@pytest.mark.parametrize("kw, word", [
    ({"limit": 0}, "limit"), ({"limit": -1}, "limit"), ({"limit": math.nan}, "limit"), ({"limit": 10_001}, "limit"),
    ({"calibration_images": 0}, "calibration_images"), ({"calibration_images": math.nan}, "calibration_images"),
    ({"batch": 0}, "batch"), ({"batch": -10}, "batch"), ({"iterations": 0}, "iterations"),
    ({"output_bits": 0}, "output_bits"), ({"output_bits": 11}, "output_bits"), ({"settle_s": -1.0}, "settle_s"),
    ({"settle_s": math.nan}, "settle_s"), ({"mvm": "fast"}, "mvm"), ({"final_quant": None}, "final_quant"),
    ({"model": 3}, "model"), ({"data": None, "model": None, "limit": 0}, "limit"),
])
def test_deploy_run_refuses_before_anything_is_sent_or_written(tmp_path, kw, word):
    board = open_board("sim://?seed=3")
    before = board.counters()
    args = {"model": RESNET, "data": tmp_path, **kw}
    out = tmp_path / "runs"
    out.mkdir()
    with pytest.raises(NeuRRAMError, match=word):
        cmd.run(board, out, **args)
    assert list(out.iterdir()) == []
    assert board.counters() == before
