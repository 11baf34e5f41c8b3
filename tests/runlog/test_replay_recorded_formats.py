"""Run files written by earlier versions replay through ``neurram replay`` with the recorded summary.

The fixtures are real run files, each written by ``neurram characterize mvm --rows 16 --cols 8 --vectors 20
--seed 5`` at an earlier commit and gzipped:

- ``run_v4_characterize_mvm.h5.gz``: format 4, at a91d091 (2026-12-06, before the checked format 5);
- ``run_v5_class_paths.h5.gz``: format 5 naming its classes by Python path (``neurram_lab.board.capabilities:
  AppliedPulse``), at 9cf6e5d (2026-12-07, before the stable type tags).

Both were recorded by analysis code whose float arithmetic has changed since (the summary's RMSE differs in
its 16th digit), so the replay must say the summary is the recording's to its last digits, and a real
difference must still be reported.
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from neurram_lab.cli import main
from neurram_lab.cli.cmd_replay import ROUNDING_REL_TOL, differing_keys
from neurram_lab.runlog.runlog import read_run

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
RECORDED = {"run_v4_characterize_mvm.h5.gz": (4, 259), "run_v5_class_paths.h5.gz": (5, 121)}


def _unpack(tmp_path, name) -> Path:
    path = tmp_path / name[:-3]
    with gzip.open(FIXTURES / name) as src, open(path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return path


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_run_file_of_an_earlier_version_replays_with_its_summary(tmp_path, capsys, name):
    version, n_calls = RECORDED[name]
    path = _unpack(tmp_path, name)
    run = read_run(path)
    assert run.format_version == version and run.record["experiment"] == "characterize-mvm"
    rc = main(["replay", str(path), "--out", str(tmp_path / "again.h5")])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert rc == 0 and last.startswith(f"Replayed {n_calls} recorded calls") and "differs" not in last, last
    was, now = run.record["summary"], read_run(tmp_path / "again.h5").record["summary"]
    assert differing_keys(was, now, rel_tol=ROUNDING_REL_TOL) == []
    assert now["rmse_lsb"] == pytest.approx(was["rmse_lsb"], rel=ROUNDING_REL_TOL, abs=0)
    assert now["v_decr_v"] == was["v_decr_v"] and now["excluded_outputs"] == was["excluded_outputs"]


def test_rounding_tolerance_still_reports_a_real_difference():
    was = {"rmse_lsb": 0.42436495968380944, "per_core": [0.4243649596838093], "n": 3, "wall_s": 1.0}
    rounded = {"rmse_lsb": 0.4243649596838093, "per_core": [0.42436495968380944], "n": 3, "wall_s": 2.0}
    assert differing_keys(was, rounded) == ["per_core", "rmse_lsb"]  # exact: the last digits differ
    assert differing_keys(was, rounded, rel_tol=ROUNDING_REL_TOL) == []
    real = {**rounded, "rmse_lsb": 0.42441}  # 1e-4 relative: beyond rounding
    assert differing_keys(was, real, rel_tol=ROUNDING_REL_TOL) == ["rmse_lsb"]
    assert differing_keys(was, {**rounded, "n": 4}, rel_tol=ROUNDING_REL_TOL) == ["n"]


def test_a_digest_matches_the_same_integer_values_in_another_integer_dtype():
    import numpy as np

    from neurram_lab.runlog._mvm_codec import digest

    x = np.arange(-7, 8, dtype=np.int64).reshape(3, 5)  # MVM inputs as runs before int16 inputs recorded them
    d = digest(x)
    assert d.matches(x.astype(np.int16)) and d.matches(x)
    assert not d.matches((x + (x == 0)).astype(np.int16))  # one value changed
    assert not d.matches(x.astype(np.float64))  # integer values only
    assert not d.matches(x.astype(np.int16).reshape(5, 3))


def test_a_divergence_says_when_and_by_which_version_the_run_was_recorded(tmp_path, capsys):
    import h5py

    from neurram_lab.runlog._format import RECORD_TEXTS, record_crc

    path = _unpack(tmp_path, "run_v5_class_paths.h5.gz")
    with h5py.File(path, "r+") as f:  # the run as if recorded with more vectors: today's experiment asks for other MVMs
        params = json.loads(f.attrs["parameters_json"])
        f.attrs["parameters_json"] = json.dumps({**params, "vectors": 21}, sort_keys=True)
        f.attrs["record_crc32"] = record_crc({k: f.attrs[k] for k in RECORD_TEXTS if k in f.attrs})
    rc = main(["replay", str(path), "--out", str(tmp_path / "again.h5")])
    err = capsys.readouterr().err
    assert rc != 0 and "replay diverged at call" in err, err
    assert "recorded 2026-12-08T01:12:50+00:00 by neurram-lab 0.1.0" in err, err
