"""Deploy runs recorded before the paper's protocol (parameters naming ``relax_s``) reach the experiment in today's
parameters (neurram_lab.runlog.migrate.current_record) and replay as they ran; no experiment knows the old format."""

from __future__ import annotations

import json

import h5py
import numpy as np

from neurram_lab import open_board, read_run
from neurram_lab.cli import main
from neurram_lab.experiments import deploy_mnist_cnn, deploy_rbm_recovery
from neurram_lab.runlog import migrate
from neurram_lab.runlog._format import record_crc, stop_crc, RECORD_TEXTS
from neurram_lab.runlog.replay import ReplayBoard

CNN = {"limit": 10, "calibration_images": 20}
# what the experiments record today and runs from before the protocol did not
_NEW_PARAMS = ("settle_s", "calibration", "inference_wait_s")
_NEW_KEYS = {"deploy-mnist-cnn": ("calibration", "accuracy_paper", "accuracy_per_column", "settle_s",
                                  "calibration_residual_per_column", "layer_error"),
             "deploy-rbm-recovery": ("calibration", "settle_s", "l2_after_paper", "l2_after_per_column",
                                     "l2_reduction_per_column")}


def _as_recorded_before_the_protocol(path, relax_s: float) -> None:
    """Rewrite a run file's record and stop record as a run from before the paper's protocol wrote them:
    ``relax_s`` instead of the protocol's parameters, none of the summary keys it added (CRCs redone)."""
    with h5py.File(path, "r+") as f:
        texts = {k: f.attrs[k] for k in RECORD_TEXTS}
        texts = {k: v.decode() if isinstance(v, bytes) else str(v) for k, v in texts.items()}
        params = {k: v for k, v in json.loads(texts["parameters_json"]).items() if k not in _NEW_PARAMS}
        texts["parameters_json"] = json.dumps({**params, "relax_s": relax_s}, sort_keys=True)
        f.attrs["parameters_json"] = texts["parameters_json"]
        f.attrs["record_crc32"] = np.uint32(record_crc(texts))
        stop = json.loads(bytes(f["run/stop_json"][:]).decode("utf-8"))
        stop["summary"] = {k: v for k, v in stop["summary"].items() if k not in _NEW_KEYS[texts["experiment"]]}
        raw = np.frombuffer(json.dumps(stop).encode("utf-8"), np.uint8)
        f["run/stop_json"].resize((raw.size,))
        f["run/stop_json"][:] = raw
        f["run/stop_crc32"][:] = np.array([stop_crc(raw)], np.uint32)


def _waits(path) -> list:
    return [c.args["seconds"] for c in read_run(path, journal=True).journal if c.op == "wait"]


def test_old_relax_s_maps_to_the_current_protocol_parameters():
    old = {"limit": 3, "relax_s": 60.0}
    assert migrate.current_parameters("deploy-mnist-cnn", old) == {
        "limit": 3, "settle_s": migrate.LEGACY_SETTLE_S, "calibration": "per-column", "inference_wait_s": 60.0}
    assert old == {"limit": 3, "relax_s": 60.0}  # the recorded parameters are not changed
    now = {"settle_s": 1800.0, "calibration": "paper"}
    assert migrate.current_parameters("deploy-mnist-cnn", now) == now
    assert migrate.current_parameters("characterize-mvm", {"relax_s": 5.0}) == {"relax_s": 5.0}  # not a deploy run
    # train-small runs of then named neither: they waited 1800 s before inference
    assert migrate.current_parameters("deploy-train-small", {"epochs": 1})["inference_wait_s"] == 1800.0
    rec = migrate.current_record({"experiment": "deploy-rbm-recovery", "parameters": {"relax_s": 2.0},
                                  "summary": {"l2_after": 0.5, "l2_reduction": 0.1}})
    assert rec["parameters"]["inference_wait_s"] == 2.0
    assert rec["summary"] == {"l2_after": 0.5, "l2_reduction": 0.1, "calibration": "per-column",
                              "settle_s": migrate.LEGACY_SETTLE_S, "l2_after_paper": None, "l2_after_per_column": 0.5,
                              "l2_reduction_per_column": 0.1}
    assert migrate.current_record({"experiment": "write-verify", "parameters": {}})["experiment"] == \
        "characterize-write-verify"


def test_inference_wait_is_a_current_parameter(tmp_path):
    s = deploy_rbm_recovery.run(open_board("sim://?seed=3"), tmp_path, limit=4, steps=1, settle_s=5.0,
                                inference_wait_s=7.0)
    waits = _waits(s["run_file"])
    assert waits[-1] == 7.0 and waits.count(5.0) >= 1 and 1800.0 not in waits
    assert read_run(s["run_file"]).record["parameters"]["inference_wait_s"] == 7.0
    default = deploy_rbm_recovery.run(open_board("sim://?seed=3"), tmp_path, limit=4, steps=1, settle_s=5.0)
    assert "inference_wait_s" not in read_run(default["run_file"]).record["parameters"]  # as recorded before it
    assert _waits(default["run_file"])[-1] == 5.0


def test_cnn_run_recorded_before_the_protocol_replays_as_it_ran(tmp_path, capsys):
    """A run whose parameters name relax_s: passes settled 1 s, per-column fit only, relax_s before inference."""
    s = deploy_mnist_cnn.run(open_board("sim://?seed=3"), tmp_path / "orig", settle_s=migrate.LEGACY_SETTLE_S,
                             calibration="per-column", inference_wait_s=60.0, **CNN)
    _as_recorded_before_the_protocol(s["run_file"], 60.0)
    rec = read_run(s["run_file"]).record
    assert "settle_s" not in rec["parameters"] and rec["parameters"]["relax_s"] == 60.0
    assert "calibration" not in rec["summary"] and "layer_error" not in rec["summary"]
    board = ReplayBoard(s["run_file"])
    assert board.recorded["parameters"]["relax_s"] == 60.0 and "relax_s" not in board.record["parameters"]
    board.close()
    assert _waits(s["run_file"]).count(1.0) >= 3 and _waits(s["run_file"])[-1] == 60.0
    rc = main(["replay", str(s["run_file"]), "--out", str(tmp_path / "replay.h5")])
    out = capsys.readouterr().out
    assert rc == 0 and "summary identical to the recording" in out, out
    again = read_run(tmp_path / "replay.h5").record
    assert again["parameters"]["inference_wait_s"] == 60.0 and again["summary"]["accuracy"] == s["accuracy"]
    assert again["summary"]["calibration_residual"] == s["calibration_residual"]
