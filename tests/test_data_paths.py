"""Models and datasets come from options or the environment, never from a path relative to the package."""

from __future__ import annotations

import pytest

from neurram_lab import DataNotFoundError, InputError
from neurram_lab.cli import main
from neurram_lab.experiments import _common

ENVS = ("NEURRAM_SHARED", "NEURRAM_MODELS", "NEURRAM_DATA")


@pytest.fixture
def no_env(monkeypatch):
    for name in ENVS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_nothing_configured_is_a_typed_error_saying_what_to_set(no_env):
    with pytest.raises(DataNotFoundError) as e:
        _common.models_dir()
    assert isinstance(e.value, InputError)
    msg = str(e.value)
    assert "models folder" in msg and "NEURRAM_MODELS" in msg and "NEURRAM_SHARED" in msg and "--model" in msg
    with pytest.raises(DataNotFoundError, match="NEURRAM_DATA"):
        _common.mnist_dir()


def test_folders_from_the_environment(no_env, tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "datasets" / "mnist").mkdir(parents=True)
    no_env.setenv("NEURRAM_SHARED", str(tmp_path))
    assert _common.models_dir() == tmp_path / "models"
    assert _common.mnist_dir() == tmp_path / "datasets" / "mnist"
    with pytest.raises(DataNotFoundError, match=r"model mnist_cnn.*not found at .*models"):
        _common.default_model(_common.CNN_MODEL)
    other = tmp_path / "elsewhere"
    other.mkdir()
    no_env.setenv("NEURRAM_MODELS", str(other))  # the specific variable wins
    assert _common.models_dir() == other
    no_env.setenv("NEURRAM_DATA", str(tmp_path / "missing"))
    with pytest.raises(DataNotFoundError, match=r"no such folder \(from NEURRAM_DATA\)"):
        _common.datasets_dir()


def test_cli_says_what_is_missing_in_one_line(no_env, tmp_path, capsys):
    rc = main(["deploy", "rbm-recovery", "--out", str(tmp_path), "--quiet"])
    assert rc == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "NEURRAM_MODELS" in err[0] and "--model" in err[0]
    assert not list(tmp_path.glob("*.h5"))  # refused before any run file (or board call)
