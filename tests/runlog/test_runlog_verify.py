"""neurram verify, read_run(verify=False), older formats and what a run file cannot detect (issue 26)."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import shutil
import zlib
from pathlib import Path

import h5py
import numpy as np
import pytest

from neurram_lab import RunLog, read_run
from neurram_lab.cli import cli
from neurram_lab.errors import RunLogDamaged
from neurram_lab.runlog.replay import ReplayBoard

FIXTURES = Path(__file__).parent.parent / "fixtures"
TABLES = {"t": {"x": ("f4", "S"), "n": ("i2", "")}}


def _cli(argv):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = cli.main([*argv, "--json"])
    return rc, json.loads(out.getvalue().strip().splitlines()[-1]), out.getvalue()


def _run(path: Path, close: bool = True) -> RunLog:
    log = RunLog(path, "verify-test", {"k": 1}, TABLES)
    log.append("t", x=[1e-6, 2e-6, 3e-6], n=[1, 2, 3])
    log.append("t", x=4e-6, n=4)
    if close:
        log.close(summary={"mean_pulses_per_cell": 3.52})
    return log


def _old(tmp_path, version: int) -> Path:
    path = tmp_path / f"v{version}.h5"
    with gzip.open(FIXTURES / f"run_v{version}.h5.gz") as src, open(path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return path


def test_verify_lists_every_part_and_exits_0_only_when_all_are_intact(tmp_path):
    good, bad = tmp_path / "good.h5", tmp_path / "bad.h5"
    _run(good)
    shutil.copy(good, bad)
    with h5py.File(bad, "a") as f:
        f["tables/t/x"][1] = 9e-6
    rc, summary, text = _cli(["verify", str(good)])
    assert rc == 0 and summary["intact"]
    parts = {p["part"]: p["state"] for p in summary["files"][0]["parts"]}
    assert {"file", "record", "stop record", "table layout", "checks", "table t/x", "table t/n", "journal"} <= set(parts)
    assert set(parts.values()) == {"intact"} and "intact          table t/x" in text
    rc, summary, text = _cli(["verify", str(good), str(bad)])
    assert rc == 1 and not summary["intact"] and summary["by_state"] == {"intact": 1, "damaged": 1}
    bad_parts = {p["part"]: p for p in summary["files"][1]["parts"]}
    assert bad_parts["table t/x"]["state"] == "damaged" and "after row 0" in bad_parts["table t/x"]["detail"]
    assert bad_parts["table t/n"]["state"] == "intact"


def test_damage_names_file_part_check_and_row_and_verify_false_reads_what_it_can(tmp_path):
    path = tmp_path / "r.h5"
    _run(path)
    with h5py.File(path, "a") as f:
        f["tables/t/x"][3] = 5e-6  # the second append's row
    with pytest.raises(RunLogDamaged) as exc:
        read_run(path)
    assert exc.value.path == str(path) and exc.value.part == "table t/x" and exc.value.row == 3
    assert "CRC-32" in exc.value.check and str(path) in str(exc.value)
    run = read_run(path, verify=False)
    assert run.damage == ["table t/x: fails its CRC-32 after row 3 of 4"]
    assert run.tables["t"]["n"].tolist() == [1, 2, 3]  # cut to the rows that pass every column's check
    assert run.status == "success" and run.record["summary"] == {"mean_pulses_per_cell": 3.52}
    rc = cli.main(["show", str(path)])
    assert rc == 1
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["show", "--no-verify", str(path)]) == 0
    assert out.getvalue().startswith("DAMAGED    table t/x: fails its CRC-32 after row 3 of 4")
    # neurram runs reads records only: the record and the stop record are checked, a table is not read
    assert _cli(["runs", str(tmp_path)])[1]["runs"][0]["status"] == "success"
    with h5py.File(path, "a") as f:
        f["run/stop_json"][3] ^= 1
    rows = _cli(["runs", str(tmp_path)])[1]["runs"]
    assert rows[0]["status"] == "damaged" and "stop record" in rows[0]["error"]
    rows = _cli(["runs", "--no-verify", str(tmp_path)])[1]["runs"]
    assert rows[0]["status"] == "damaged" and rows[0]["experiment"] == "verify-test"  # the record still reads
    assert len(rows[0]["damage"]) == 1 and rows[0]["damage"][0].startswith("stop record: ")


@pytest.mark.parametrize("edit, part", [
    (lambda f: f["run/stop_json"].__setitem__(slice(40, 41), np.array([ord("7")], np.uint8)), "stop record"),
    (lambda f: f.__delitem__("journal"), "journal"),
    (lambda f: f.__delitem__("run/checks"), "checks"),
    (lambda f: f.__delitem__("run/stop_crc32"), "stop record"),
    (lambda f: f["tables/t/x"].attrs.__setitem__("units", "V"), "table layout"),
])
def test_the_issues_silent_cases_are_damage(tmp_path, edit, part):
    path = tmp_path / "r.h5"
    _run(path)
    with h5py.File(path, "a") as f:
        edit(f)
    for read in (lambda: read_run(path, journal=True), lambda: ReplayBoard(path)):
        with pytest.raises(RunLogDamaged) as exc:
            read()
        assert exc.value.part == part


def test_interrupted_runs_are_interrupted_not_damaged(tmp_path):
    path = tmp_path / "i.h5"
    log = _run(path, close=False)
    log.flush()
    run = read_run(path, journal=True)  # the writer still holds it, as one killed would
    assert run.status == "interrupted" and len(run.tables["t"]) == 4 and not run.damage
    assert run.parts["stop record"]["state"] == "interrupted"
    rc, summary, _ = _cli(["verify", str(path)])
    assert rc == 3 and summary["files"][0]["state"] == "interrupted"
    log.close()
    # the writer stopped between the stop record and its CRC: still interrupted
    with h5py.File(path, "a") as f:
        f["run/stop_crc32"].resize((0,))
    run = read_run(path)
    assert run.status == "interrupted" and "while closing" in run.parts["stop record"]["detail"]


@pytest.mark.parametrize("version", [2, 3])
def test_older_formats_read_as_today_marked_not_fully_verifiable(tmp_path, version):
    path = _old(tmp_path, version)
    run = read_run(path, journal=True)
    assert run.format_version == version and not run.fully_verifiable and not run.damage
    assert run.parts["stop record"]["state"] == run.parts["table layout"]["state"] == "not verifiable"
    assert run.parts["journal"]["state"] == "intact"
    rc, summary, text = _cli(["verify", str(path)])
    assert rc == 3 and summary["files"][0]["state"] == "not verifiable"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["show", str(path)]) == 0
    assert f"format {version}   not fully verifiable" in out.getvalue()


def test_what_a_run_file_cannot_detect_a_deliberate_edit_that_recomputes_its_checksums(tmp_path):
    """The README's limit: the CRC-32s find damage, not a forger. An edit that recomputes them reads back."""
    path = tmp_path / "r.h5"
    _run(path)
    with h5py.File(path, "a") as f:
        x = f["tables/t/x"][:]
        x[0] = 7e-6
        f["tables/t/x"][:] = x
        cg = f["run/checks"]
        crcs = cg["crc"][:]
        for i in np.flatnonzero((cg["table"][:] == 0) & (cg["column"][:] == 0)):
            crcs[i] = zlib.crc32(np.ascontiguousarray(x[:cg["rows"][i]]))
        cg["crc"][:] = crcs
        raw = f["run/stop_json"][:].tobytes().replace(b"3.52", b"7.52")
        f["run/stop_json"][:] = np.frombuffer(raw, np.uint8)
        f["run/stop_crc32"][0] = zlib.crc32(raw)
    run = read_run(path)
    assert run.tables["t"]["x"].iloc[0] == np.float32(7e-6) and run.record["summary"]["mean_pulses_per_cell"] == 7.52
    assert not run.damage
