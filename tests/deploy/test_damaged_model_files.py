"""Tier 3 files that are damaged are typed errors: NaN weights, broken architecture and mapping files."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from neurram_lab.deploy import Mapping, load_model, map_model
from neurram_lab.errors import InputError, LimitError

CNN = Path(os.environ["NEURRAM_SHARED"]) / "models" / "mnist_cnn_7layer_3bit_wnoise0.15.npz"


@pytest.fixture(scope="module")
def cnn():
    return load_model(CNN)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_weights_refused_naming_the_array(tmp_path, bad):
    with np.load(CNN) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["conv1.kernel"] = arrays["conv1.kernel"].copy()
    arrays["conv1.kernel"].flat[7] = bad
    np.savez(tmp_path / "w.npz", **arrays)
    with pytest.raises(LimitError, match="conv1.kernel"):
        load_model(tmp_path / "w.npz", arch="mnist_cnn_7layer")


@pytest.mark.parametrize("text", ['{"layers": [{"name": 1', '[1, 2]', '{"layers": [{"nm": 1}]}', "\xff\xfe"])
def test_damaged_architecture_file_refused(tmp_path, text):
    (tmp_path / "arch.json").write_text(text, encoding="latin-1")
    with pytest.raises(InputError):
        load_model(CNN, arch=tmp_path / "arch.json")


def test_architecture_of_the_wrong_type_refused():
    with pytest.raises(InputError, match="arch"):
        load_model(CNN, arch=3)


@pytest.mark.parametrize("name,text", [("m.json", '{"matrices": [{"x": 1}]}'), ("m.json", "not json"),
                                       ("m.json", '{"model": "x"}'), ("m.csv", "a,b\n1,2\n"), ("m.csv", "")])
def test_damaged_mapping_file_refused_naming_it(tmp_path, cnn, name, text):
    (tmp_path / name).write_text(text)
    with pytest.raises(InputError, match="mapping"):
        Mapping.load(tmp_path / name, cnn)


def test_mapping_round_trip_still_works(tmp_path, cnn):
    m = map_model(cnn)
    back = Mapping.load(m.save(tmp_path / "m.csv"), cnn)
    assert len(back.table) == len(m.table) and list(back.table.columns) == list(m.table.columns)
    with pytest.raises(InputError, match="model"):
        Mapping.load(tmp_path / "m.csv", "not a model")
    with pytest.raises(InputError, match="folder"):
        m.save(tmp_path / "missing" / "m.csv")


def test_predict_refuses_images_that_do_not_fit(cnn):
    with pytest.raises(InputError, match="images"):
        cnn.predict(np.zeros((2, 5, 5, 1)))
    with pytest.raises(LimitError, match="images"):
        cnn.predict(np.full((1, 28, 28, 1), np.nan))
    with pytest.raises(InputError, match="empty"):
        cnn.predict(np.zeros((0, 28, 28, 1)))
    assert cnn.predict(np.zeros((2, 28, 28), np.uint8)).shape == (2, 10)
