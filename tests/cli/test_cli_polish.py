"""What a newcomer hit in the CLI: names, replay's summary and comparison, `runs` columns, --out X.h5, wording."""

from __future__ import annotations

import json

import h5py
import pytest

from neurram_lab.cli import main
from neurram_lab.cli.cmd_replay import differing_keys
from neurram_lab.cli.cmd_runs import format_table
from neurram_lab.experiments import _registry, deploy_rbm_recovery, mvm_accuracy
from neurram_lab.experiments._common import is_run_specific
from neurram_lab.runlog import migrate

MVM = ["characterize", "mvm", "--rows", "16", "--cols", "8", "--vectors", "20", "--seed", "3"]
RELAX = ["characterize", "relaxation", "--cells-per-level", "16", "--n-times", "3", "--until-s", "100", "--seed", "3"]
RBM = ["deploy", "rbm-recovery", "--mvm", "exact", "--limit", "20", "--corruption", "bottom", "--seed", "3"]
CNN = ["deploy", "mnist-cnn", "--limit", "10", "--calibration-images", "20", "--relax-s", "60", "--seed", "3"]


def neurram(capsys, *argv) -> tuple[int, str, str]:
    rc = main([str(a) for a in argv])
    out = capsys.readouterr()
    return rc, out.out, out.err


def run_json(capsys, *argv) -> tuple[dict, str]:
    """(summary, the text printed before it) of a command run with --json."""
    rc, out, err = neurram(capsys, *argv, "--json")
    assert rc == 0, err
    text, _, line = out.rstrip("\n").rpartition("\n")
    return json.loads(line), text


# ---------------------------------------------------------------- names

def test_experiment_names_are_the_command_words_joined_by_dashes():
    import importlib

    mods = _registry.experiment_modules()
    for mod in map(importlib.import_module, _registry.EXPERIMENT_MODULES):
        assert mod.EXPERIMENT == "-".join(w for w in mod.COMMAND if w)
        assert callable(getattr(mod, "report", None)), f"{mod.__name__} has no report(summary, board_spec)"
    for old, new in migrate.OLD_EXPERIMENT_NAMES.items():
        assert new in mods and old not in mods
        assert _registry.find_experiment(old) is mods[new]


def test_a_run_file_with_an_old_name_still_lists_and_replays(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(mvm_accuracy, "EXPERIMENT", "characterize_mvm")  # as written before the rename
    run_json(capsys, *MVM, "--out", tmp_path / "runs" / "old.h5")
    monkeypatch.undo()
    with h5py.File(tmp_path / "runs" / "old.h5", "r") as f:
        assert f.attrs["experiment"] == "characterize_mvm"
    listed, _ = run_json(capsys, "runs", tmp_path / "runs")
    assert [r["experiment"] for r in listed["runs"]] == ["characterize-mvm"]
    _, text = run_json(capsys, "replay", tmp_path / "runs" / "old.h5", "--out", tmp_path / "replay.h5")
    assert "summary identical to the recording" in text
    shown, text = run_json(capsys, "show", tmp_path / "runs" / "old.h5")
    assert shown["experiment"] == "characterize-mvm" and shown["record"]["experiment"] == "characterize_mvm"
    assert "experiment characterize-mvm (recorded as characterize_mvm)" in text


# ---------------------------------------------------------------- replay

@pytest.mark.parametrize("command", [MVM, RELAX, RBM], ids=["mvm", "relaxation", "rbm-recovery"])
def test_replay_prints_the_experiments_own_summary(tmp_path, capsys, command):
    original, said = run_json(capsys, *command, "--out", tmp_path / "orig.h5")
    replayed, resaid = run_json(capsys, "replay", tmp_path / "orig.h5", "--out", tmp_path / "replay.h5")
    expected = said.replace(original["figure"], replayed["figure"]).replace(original["run_file"], replayed["run_file"])
    report, _, last = resaid.rpartition("\n")
    assert report == expected
    assert last.startswith("Replayed ") and "summary identical to the recording" in last


def test_replay_of_a_deploy_run_compares_results_not_timings_or_paths(tmp_path, capsys):
    original, _ = run_json(capsys, *CNN, "--out", tmp_path / "cnn.h5")
    assert "inference_wall_s" in original and "inference_s" not in original
    replayed, text = run_json(capsys, "replay", tmp_path / "cnn.h5", "--out", tmp_path / "cnn-replay.h5")
    assert "summary identical to the recording" in text.splitlines()[-1]
    assert original["mapping_file"] != replayed["mapping_file"]
    assert differing_keys(original, replayed) == []
    assert original["accuracy"] == replayed["accuracy"]


def test_run_specific_keys_are_named_so():
    for key in ("wall_s", "inference_wall_s", "run_file", "mapping_file", "figure", "figures"):
        assert is_run_specific(key)
    for key in ("accuracy", "latency_s", "predicted_board_time_s", "inference_s", "rmse_lsb", "files_used"):
        assert not is_run_specific(key)
    assert differing_keys({"a": 1, "wall_s": 1, "x_file": "p"}, {"a": 1, "wall_s": 2, "x_file": "q"}) == []
    assert differing_keys({"a": 1, "latency_s": 1.0}, {"a": 1, "latency_s": 2.0}) == ["latency_s"]


# ---------------------------------------------------------------- runs

def test_runs_columns_stay_aligned_with_long_names():
    rows = [
        {"start_time_iso": "2025-01-01T00:00:00+00:00", "status": "success", "experiment": "demo",
         "board": "sim://", "path": "runs/a.h5"},
        {"start_time_iso": "2025-01-01T00:00:01+00:00", "status": "interrupted",
         "experiment": "characterize-write-verify-with-a-very-long-name", "board": "hil://?seed=3&trace=t.jsonl",
         "path": "runs/b.h5", "replay_of": None},
        {"start_time_iso": None, "status": "unreadable", "experiment": None, "board": None, "path": "runs/c.h5"},
    ]
    lines = format_table(rows).splitlines()
    cols = [("start (UTC)", "2025-01-01T00:00:00+00:00", "2025-01-01T00:00:01+00:00", "-"),
            ("status", "success", "interrupted", "unreadable"),
            ("experiment", "demo", "characterize-write-verify-with-a-very-long-name", "-"),
            ("board", "sim://", "hil://?seed=3&trace=t.jsonl", "-"),
            ("file", "runs/a.h5", "runs/b.h5", "runs/c.h5")]
    start = 0
    for values in cols:
        at = lines[0].index(values[0], start)
        for line, value in zip(lines, values):
            assert line[at:].startswith(value + ("  " if values[0] != "file" else "")), (line, value)
        start = at + len(values[0])


# ---------------------------------------------------------------- --out X.h5

def test_out_ending_in_h5_is_the_run_file(tmp_path, capsys):
    s, _ = run_json(capsys, *MVM, "--out", tmp_path / "sub" / "mine.h5")
    assert s["run_file"] == str(tmp_path / "sub" / "mine.h5")
    assert (tmp_path / "sub" / "mine.h5").is_file() and (tmp_path / "sub" / "mine.png").is_file()
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["mine.h5", "mine.png"]
    rc, _, err = neurram(capsys, *MVM, "--out", tmp_path / "sub" / "mine.h5")  # runs never overwrite each other
    assert rc == 1 and "already exists" in err


@pytest.mark.parametrize("argv", [["runs"], ["show", "x.h5"], ["trace", "x.jsonl"], ["info"],
                                  ["sweep", "characterize", "mvm", "--seeds", "1"],
                                  ["sweep", "--out", "OUT", "characterize", "mvm", "--seeds", "1"]],
                         ids=["runs", "show", "trace", "info", "sweep", "sweep-before"])
def test_out_h5_is_refused_by_commands_that_write_no_single_run(tmp_path, capsys, argv):
    out = str(tmp_path / "x.h5")
    argv = [out if a == "OUT" else a for a in argv] + ([] if "OUT" in argv else ["--out", out])
    rc, _, err = neurram(capsys, *argv)
    assert rc == 1 and "--out" in err and "names a run file" in err
    assert not (tmp_path / "x.h5").exists()


# ---------------------------------------------------------------- rbm wording

def test_rbm_change_is_worded_without_a_negative_reduction(tmp_path, capsys):
    assert deploy_rbm_recovery.l2_change(0.125, ".1%") == "12.5% lower"
    assert deploy_rbm_recovery.l2_change(-0.125, ".1%") == "12.5% higher"
    s, text = run_json(capsys, *RBM, "--out", tmp_path / "rbm.h5")
    word = "higher" if s["l2_reduction"] < 0 else "lower"
    assert f"({abs(s['l2_reduction']):.1%} {word})" in text and "-" not in text.split("(")[2].split(")")[0]
