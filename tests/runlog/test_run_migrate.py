"""Run files name classes by stable type tags; every older name is read through neurram_lab.runlog.migrate."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from neurram_lab.board.capabilities import AppliedPulse
from neurram_lab.board.contract import MVMRequest
from neurram_lab.errors import InputError, LimitError
from neurram_lab.runlog import migrate
from neurram_lab.runlog._journal_codec import decode, decode_error, encode, encode_error
from neurram_lab.runlog._type_tags import TYPE_TAGS, class_of, tag_of
from tests._journal_sink import NoArraysSink

FIXTURES = Path(__file__).parent.parent / "fixtures"


def test_records_and_errors_are_named_by_tags_not_python_paths():
    pulse = AppliedPulse(np.array([1.5]), np.array([1e-7]), np.array([2.0]))
    tree = encode(pulse, NoArraysSink())
    assert tree["$c"][0] == "AppliedPulse"
    back = decode(tree, None)
    assert type(back) is AppliedPulse and np.array_equal(back.v_pulse_v, pulse.v_pulse_v)
    for exc, tag in ((LimitError("x", 3.0, (0.0, 1.0)), "LimitError"), (ValueError("bad"), "ValueError")):
        rec = encode_error(exc, NoArraysSink())
        assert rec["type"] == tag
        again = decode_error(json.loads(json.dumps(rec)), None)
        assert type(again) is type(exc) and str(again) == str(exc)
    assert tag_of(MVMRequest) == "MVMRequest" and class_of("MVMRequest") is MVMRequest
    assert all(":" not in t and class_of(t) is not None for t in TYPE_TAGS)  # every tag resolves


@pytest.mark.parametrize("old, new", sorted(migrate.MOVED_MODULES.items()))
def test_every_moved_module_path_is_migrated(old, new):
    assert migrate.class_path(f"{old}:X") == f"{new}:X"


def test_old_paths_decode_to_the_current_classes():
    assert class_of("neurram_lab.board:MVMRequest") is MVMRequest  # before the tier folders
    assert class_of("neurram_lab.board.contract:MVMRequest") is MVMRequest  # before type tags
    assert class_of("neurram_lab.errors:InputError") is InputError
    assert class_of("sim_backend.params:DeviceParams").__name__ == "DeviceParams"  # before issue 21
    assert class_of("os:system") is None and class_of("no_such_tag") is None  # only our classes are rebuilt
    assert type(decode({"$c": ["elsewhere:Thing", {}]}, None)).__name__ == "Unencodable"


def test_old_experiment_names_migrate():
    from neurram_lab.experiments import _registry

    assert migrate.experiment_name("characterize_mvm") == "characterize-mvm"
    assert _registry.find_experiment("write-verify").EXPERIMENT == "characterize-write-verify"
    assert migrate.experiment_name("deploy-mnist-cnn") == "deploy-mnist-cnn"


def test_old_fixture_names_classes_by_path_and_still_replays(tmp_path):
    from neurram_lab.runlog.replay import ReplayBoard
    from neurram_lab.runlog.runlog import read_run

    path = tmp_path / "run_v3.h5"
    with gzip.open(FIXTURES / "run_v3.h5.gz") as src, open(path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    with h5py.File(path, "r") as f:
        assert int(f.attrs["neurram_format_version"]) == 3  # written before type tags
    run = read_run(path, journal=True)
    mvm = [c for c in run.journal if c.op == "mvm"][0]
    assert type(mvm.args["request"]) is MVMRequest  # named "neurram_lab.board.contract:MVMRequest" in the file
    rb = ReplayBoard(path)
    rb.snapshot()
    assert np.array_equal(rb.mvm(mvm.args["request"]), mvm.response)


def test_runs_from_before_capabilities_and_rail_ranges():
    from neurram_lab.board.capabilities import BoardCapabilities

    assert migrate.board_capabilities({"board": {}}) == BoardCapabilities()  # the full set
    caps = BoardCapabilities().to_dict()
    assert migrate.board_capabilities({"board": {"capabilities": caps}}) == BoardCapabilities.from_dict(caps)
    assert migrate.recorded_without("rail_range_v", "mvm") and not migrate.recorded_without("rail_range_v", "rail_range_v")
    assert not migrate.recorded_without("mvm", "read")


def test_every_record_a_journal_can_carry_has_a_tag():
    """The dataclasses of the Board contract and of the twin's parameters are named by tags, never by paths."""
    import dataclasses
    import importlib

    for mod_name in ("neurram_lab.board.contract", "neurram_lab.board.capabilities", "neurram_lab.board.limits",
                     "neurram_lab.sim_backend.params"):
        mod = importlib.import_module(mod_name)
        classes = [c for c in vars(mod).values()
                   if isinstance(c, type) and dataclasses.is_dataclass(c) and c.__module__ == mod_name
                   and not c.__name__.startswith("_")]
        assert classes, mod_name
        for cls in classes:
            tag = tag_of(cls)
            assert ":" not in tag and class_of(tag) is cls, (cls, tag)


def test_twin_parameters_are_tagged_and_their_old_paths_read_the_same():
    from neurram_lab.sim_backend.params import DeviceParams, TwinParams

    tree = encode(DeviceParams(set_v_th_v=1.8), NoArraysSink())
    assert tree["$c"][0] == "DeviceParams"
    back = decode(json.loads(json.dumps(tree)), None)
    assert back == DeviceParams(set_v_th_v=1.8)
    for old in ("neurram_lab.sim_backend.params:DeviceParams", "sim_backend.params:DeviceParams"):  # v5, pre-issue-21
        assert decode({"$c": [old, tree["$c"][1]]}, None) == back
    assert decode(encode(TwinParams(), NoArraysSink()), None) == TwinParams()
