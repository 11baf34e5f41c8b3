"""Run files: round trips, units, format checks, SWMR readers, and writers killed mid-run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import h5py
import numpy as np
import pytest

from neurram_lab import Column, RunLog, RunLogError, open_board, read_run

TABLES = {"reads": {"t_s": ("f8", "s"), "g_s": Column("f4", "S"), "core": ("i2", "")}}


def test_round_trip_with_units_and_record(tmp_path):
    with open_board("sim://?seed=2") as b:
        snap = b.snapshot()
    path = tmp_path / "r.h5"
    with RunLog(path, "unit-test", {"n": 3, "levels": np.arange(3)}, TABLES, snap) as log:
        log.append("reads", t_s=[0.0, 1.0], g_s=[1e-6, 2e-6], core=3)
        log.append("reads", t_s=2.0, g_s=3e-6, core=4)
    run = read_run(path)
    assert run.status == "success"
    rec = run.record
    assert rec["experiment"] == "unit-test" and rec["parameters"] == {"n": 3, "levels": [0, 1, 2]}
    assert rec["board"]["info"]["serial"] == "TWIN-2" and rec["board"]["twin"]["seed"] == 2
    assert rec["board"]["limits"]["pulse_v_max"] == 4.0 and "v_read" in rec["board"]["rails_v"]
    df = run.tables["reads"]
    assert df["core"].tolist() == [3, 3, 4] and df["g_s"].iloc[2] == pytest.approx(3e-6)
    assert df.attrs["units"] == {"t_s": "s", "g_s": "S", "core": ""}
    with h5py.File(path, "r") as f:
        assert f["tables/reads/g_s"].attrs["units"] == "S"


def test_failed_and_aborted_status(tmp_path):
    with pytest.raises(ZeroDivisionError):
        with RunLog(tmp_path / "f.h5", "x", {}, TABLES):
            1 / 0
    run = read_run(tmp_path / "f.h5")
    assert run.status == "failed" and "ZeroDivisionError" in run.record["error"]
    log = RunLog(tmp_path / "a.h5", "x", {}, TABLES)
    log.close("aborted")
    assert read_run(tmp_path / "a.h5").status == "aborted"


def test_unclosed_run_reads_as_interrupted(tmp_path):
    log = RunLog(tmp_path / "i.h5", "x", {}, TABLES)
    log.append("reads", t_s=1.0, g_s=1e-6, core=0)
    run = read_run(tmp_path / "i.h5")  # writer still open: SWMR read
    assert run.status == "interrupted" and len(run.tables["reads"]) == 1
    log.close()


def test_bad_appends_are_typed_errors(tmp_path):
    with RunLog(tmp_path / "b.h5", "x", {}, TABLES) as log:
        with pytest.raises(RunLogError, match="not declared"):
            log.append("nope", a=1)
        with pytest.raises(RunLogError, match="missing"):
            log.append("reads", t_s=1.0)
        with pytest.raises(RunLogError, match="unequal"):
            log.append("reads", t_s=[1.0, 2.0], g_s=[1.0, 2.0, 3.0], core=0)
    with pytest.raises(RunLogError, match="already exists"):
        RunLog(tmp_path / "b.h5", "x", {}, TABLES)


def test_format_version_and_foreign_files(tmp_path):
    with RunLog(tmp_path / "v.h5", "x", {}, TABLES):
        pass
    with h5py.File(tmp_path / "v.h5", "a") as f:
        f.attrs["neurram_format_version"] = 99
    with pytest.raises(RunLogError, match="version 99"):
        read_run(tmp_path / "v.h5")
    with h5py.File(tmp_path / "plain.h5", "w") as f:
        f["x"] = 1
    with pytest.raises(RunLogError, match="not a neurram run log"):
        read_run(tmp_path / "plain.h5")
    (tmp_path / "text.h5").write_text("hello")
    with pytest.raises(RunLogError, match="not a readable HDF5"):
        read_run(tmp_path / "text.h5")
    with pytest.raises(RunLogError, match="no run file"):
        read_run(tmp_path / "missing.h5")


WRITER = textwrap.dedent(
    """
    import sys, numpy as np
    from neurram_lab import RunLog
    log = RunLog(sys.argv[1], "killme", {}, {"rows": {"i": ("i8", ""), "x": ("f8", "V")}})
    i = 0
    while True:
        log.append("rows", i=np.arange(i, i + 10), x=np.ones(10))
        i += 10
        print(i, flush=True)
    """
)


def test_sigkill_mid_run_leaves_a_readable_interrupted_file(tmp_path):
    path = tmp_path / "k.h5"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
    flushed = 0
    deadline = time.time() + 60
    while flushed < 200 and time.time() < deadline:
        flushed = int(proc.stdout.readline())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    run = read_run(path)
    assert run.status == "interrupted"
    df = run.tables["rows"]
    assert len(df) >= flushed, "every row reported flushed must be there"
    assert df["i"].tolist() == list(range(len(df))), "rows intact and in order"
    with h5py.File(path, "r", swmr=True) as f:
        assert f.attrs["experiment"] == "killme"
