"""The deploy experiments under the paper's protocol: 30-min settles, both calibrations reported, old runs replay."""

from __future__ import annotations

import numpy as np

from neurram_lab import open_board, read_run
from neurram_lab.experiments import deploy_mnist_cnn, deploy_rbm_recovery

CNN = {"limit": 10, "calibration_images": 20}


def _waits(path) -> list:
    return [c.args["seconds"] for c in read_run(path, journal=True).journal if c.op == "wait"]


def test_cnn_settles_30_min_and_reports_both_calibrations_with_the_papers_as_headline(tmp_path):
    s = deploy_mnist_cnn.run(open_board("sim://?seed=3"), tmp_path, calibration="both", **CNN)
    assert s["calibration"] == "paper" and s["settle_s"] == 1800.0
    assert s["accuracy"] == s["accuracy_paper"] and 0 <= s["accuracy_per_column"] <= 1
    assert set(s["calibration_residual"]) == set(s["calibration_residual_per_column"])
    waits = _waits(s["run_file"])
    assert waits.count(1800.0) >= 4 and 1.0 not in waits  # 3 write-verify passes and before inference
    run = read_run(s["run_file"])
    p = run.tables["predictions"]
    assert (p["chip"] == p["chip_paper"]).all() and (p["chip_per_column"] < 10).all()
    only = deploy_mnist_cnn.run(open_board("sim://?seed=3"), tmp_path, calibration="per-column", settle_s=60, **CNN)
    assert only["calibration"] == "per-column" and only["accuracy_paper"] is None
    assert only["accuracy"] == only["accuracy_per_column"] and _waits(only["run_file"]).count(60.0) >= 4
    default = deploy_mnist_cnn.run(open_board("sim://?seed=3"), tmp_path, **CNN)  # the paper's way only
    assert default["calibration"] == "paper" and default["accuracy_per_column"] is None
    assert default["accuracy"] == default["accuracy_paper"] == s["accuracy"]  # the same die, the same paper way


# runs recorded before the protocol (relax_s): tests/runlog/test_run_migrate_protocol.py


def test_rbm_reports_both_calibrations(tmp_path):
    s = deploy_rbm_recovery.run(open_board("sim://?seed=3"), tmp_path, limit=8, steps=2, calibration="both")
    assert s["calibration"] == "paper" and s["settle_s"] == 1800.0
    assert s["l2_after"] == s["l2_after_paper"] and np.isfinite(s["l2_after_per_column"])
    assert _waits(s["run_file"]).count(1800.0) >= 4
