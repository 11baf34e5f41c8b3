"""``neurram sweep``: argument checks, a tiny sweep on a local Dask cluster, resuming, failing points,
and a sweep on a scheduler and a worker started as separate processes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pandas as pd
import pytest

from neurram_lab import sweep
from neurram_lab.cli import cli
from neurram_lab.sweep import cluster
from neurram_lab.errors import InputError
from neurram_lab.runlog.runlog import read_run

TINY = ["characterize", "write-verify", "--cores", "0", "--cells-per-core", "16", "--iterations", "1"]


def run_cli(argv, capsys):
    rc = cli.main(argv)
    out, err = capsys.readouterr()
    return rc, (json.loads(out.strip().splitlines()[-1]) if rc == 0 and "--json" in argv else None), err


@pytest.fixture
def no_cluster(monkeypatch):
    """Fail the test if a sweep gets as far as starting a cluster."""

    def refuse(*a, **k):
        raise AssertionError("a cluster was started")

    monkeypatch.setattr(cluster, "run_on_dask", refuse)


# ------------------------------------------------------------------ parsing
def test_parse_seeds():
    assert sweep.parse_seeds("1-4") == [1, 2, 3, 4]
    assert sweep.parse_seeds("3, 1-2,3,9") == [3, 1, 2, 9]
    for bad in ("", "a", "4-1", "-1", "1-", "1.5"):
        with pytest.raises(InputError):
            sweep.parse_seeds(bad)


def test_parse_grid():
    assert sweep.parse_grid(["output-bits=4,6", "circuit.r_wire_ohm=0.1,0.3"]) == {
        "output_bits": ["4", "6"], "circuit.r_wire_ohm": ["0.1", "0.3"]}
    for bad in (["x"], ["=1"], ["x=1,,2"], ["x="], ["x=1", "x=2"]):
        with pytest.raises(InputError):
            sweep.parse_grid(bad)


def test_check_scheduler():
    assert sweep.check_scheduler("tcp://10.0.0.2:8786") == "tcp://10.0.0.2:8786"
    assert sweep.check_scheduler("tls://node-1.lab:8786") == "tls://node-1.lab:8786"
    for bad in ("10.0.0.2:8786", "http://h:1", "tcp://h", "tcp://h:0", "tcp://h:70000", "tcp://h:80/x"):
        with pytest.raises(InputError):
            sweep.check_scheduler(bad)


@pytest.mark.parametrize("extra, words", [
    (["characterize", "nothing"], "unknown experiment"),
    (["runs"], "unknown experiment"),
    (TINY + ["--grid", "relax.no_such=1,2"], "unknown twin parameter"),
    (TINY + ["--grid", "nosection.x=1"], "unknown twin parameter"),
    (TINY + ["--grid", "output_bits=4,6"], "unknown parameter 'output_bits'"),
    (TINY + ["--grid", "iterations=1,x"], "invalid int value"),
    (TINY + ["--grid", "relax.fast_sigma_s=1e-6,big"], "not a number"),
    (TINY + ["--seeds", "4-1"], "runs backwards"),
    (TINY + ["--scheduler", "localhost:8786"], "tcp://HOST:PORT"),
    (TINY + ["--workers", "0"], "at least 1"),
    (TINY + ["--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"], "not both"),
    (TINY + ["--seed", "3"], "--seeds"),
    (TINY + ["--no-such-option"], "unrecognized arguments"),
    (TINY + ["--board", "replay://x.h5", "--grid", "relax.fast_sigma_s=1e-6"], "twin board"),
])
def test_bad_arguments_fail_before_any_cluster(extra, words, tmp_path, capsys, no_cluster):
    rc, _, err = run_cli(["sweep"] + extra + ["--out", str(tmp_path / "sw")], capsys)
    assert rc == 1
    assert words in err, err
    assert not (tmp_path / "sw").exists()


def test_plan_names_points_by_experiment_options_params_and_seed(tmp_path):
    grid = ["relax.fast_sigma_s=1e-6,3e-6", "iterations=1,2"]
    a = sweep.plan_sweep(TINY, grid, "1-2", out=tmp_path)
    assert len(a.points) == 8 and len({p.key for p in a.points}) == 8
    same = sweep.plan_sweep(["characterize", "write-verify", "--cells-per-core=16", "--iterations", "1", "--cores", "0"],
                            grid, "1-2", out=tmp_path)
    assert [p.key for p in same.points] == [p.key for p in a.points]  # options spelled differently, same points
    other = sweep.plan_sweep(TINY + ["--target-seed", "5"], grid, "1-2", out=tmp_path)
    assert not {p.key for p in other.points} & {p.key for p in a.points}
    p = a.points[-1]
    assert p.params == {"relax.fast_sigma_s": 3e-6, "iterations": 2} and p.seed == 2
    assert p.argv[-2:] == ["--iterations", "2"]


# ------------------------------------------------------------------ the figure of merit
def test_each_experiment_declares_its_figure_of_merit(tmp_path, monkeypatch):
    from neurram_lab.experiments import _registry

    mods = _registry.experiment_modules()
    assert _registry.figure_of_merit(mods["characterize-mvm"]) == "rmse_lsb"
    assert sweep.plan_sweep(["deploy", "mnist-cnn"], out=tmp_path).merit == "accuracy"
    plan = sweep.plan_sweep(TINY, [], "1", out=tmp_path)
    rows = [{"point": "a", "status": "ok", "seed": 1, "cells": 16, "sigma_us_by_iteration[0]": 3.0,
             "sigma_us_by_iteration[1]": 2.0}]
    assert sweep.choose_merit(plan, rows) == "sigma_us_by_iteration[1]"  # [-1]: the last pass
    assert sweep.choose_merit(plan, rows, "cells") == "cells"  # --merit wins
    # a module's own MERIT is its declaration (a new experiment touches its own module and one registration)
    monkeypatch.setattr(_registry, "EXTRA_MODULES", ["_sweep_crash_experiment"])
    crash = sweep.plan_sweep(["characterize", "crash-test"], ["deaths=1,2"], "1", out=tmp_path)
    assert crash.merit == "deaths"
    rows = [{"point": "a", "status": "ok", "seed": 1, "attempts": 2, "deaths": 1}]
    assert sweep.choose_merit(crash, rows) == "deaths"  # not "attempts", the first numeric figure
    undeclared = sweep.SweepPlan("x", ("x",), tmp_path, {}, [1])
    assert sweep.choose_merit(undeclared, rows) == "attempts"


def test_the_sweep_reads_no_private_argparse_state():
    import inspect

    from neurram_lab.sweep import plan

    parser = plan.experiment_parser(*sweep.plan.find_command(["characterize", "relaxation"])[:2])
    assert {"until_s", "stage", "visa_library"} <= {a.dest for a in parser.options}  # an argument group's too
    assert "_actions" not in inspect.getsource(plan)


# ------------------------------------------------------------------ running
def test_tiny_sweep_writes_table_and_resumes(tmp_path, capsys):
    out = tmp_path / "sw"
    argv = ["sweep"] + TINY + ["--seeds", "1-2", "--workers", "1", "--out", str(out), "--json", "--quiet"]
    rc, s, err = run_cli(argv, capsys)
    assert rc == 0, err
    assert (s["points"], s["ran"], s["skipped"], s["failed"]) == (2, 2, 0, 0)
    table = pd.read_csv(out / "sweep.csv")
    assert list(table["seed"]) == [1, 2] and list(table["status"]) == ["ok", "ok"]
    # each seed is another die: the figures differ
    assert table["mean_pulses_per_cell"].nunique() == 2 or table["sigma_us_by_iteration[0]"].nunique() == 2
    for f, size in zip(table["run_file"], table["run_file_bytes"]):
        assert os.path.getsize(f) == size
        run = read_run(f, tables=False)
        assert run.status == "success" and run.record["experiment"] == table["experiment"][0]
    assert (out / "sweep.png").stat().st_size > 0
    assert s["merit"] == "sigma_us_by_iteration[0]" and s["merit_min"] < s["merit_max"]
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("points/*/point.json")}
    # the same sweep again: nothing runs
    rc, s2, err = run_cli(argv, capsys)
    assert rc == 0, err
    assert (s2["ran"], s2["skipped"], s2["cluster"]) == (0, 2, "none needed")
    again = pd.read_csv(out / "sweep.csv")
    assert list(again["point"]) == list(table["point"]) and list(again["run_file"]) == list(table["run_file"])
    assert {p: p.stat().st_mtime_ns for p in out.glob("points/*/point.json")} == stamps
    assert len(list(out.glob("points/*/*.h5"))) == 2


def test_failing_point_is_recorded_and_the_sweep_goes_on(tmp_path, capsys):
    out = tmp_path / "sw"
    argv = ["sweep"] + TINY + ["--grid", "cells_per_core=0,16", "--grid", "relax.fast_sigma_s=2e-6",
                               "--seeds", "3", "--workers", "1", "--out", str(out), "--json", "--quiet"]
    rc, s, err = run_cli(argv, capsys)
    assert rc == 0, err
    assert (s["ran"], s["ok"], s["failed"]) == (2, 1, 1)
    table = pd.read_csv(out / "sweep.csv")
    bad, good = table.iloc[0], table.iloc[1]
    assert (bad["cells_per_core"], bad["status"]) == (0, "error")
    assert bad["error"].startswith("LimitError") and "cells_per_core" in bad["error"]
    assert (good["cells_per_core"], good["status"], good["cells"]) == (16, "ok", 16)
    assert good["relax.fast_sigma_s"] == 2e-6
    twin = json.loads((out / "points" / good["point"] / "twin.json").read_text())
    assert twin["relax"]["fast_sigma_s"] == 2e-6
    info = read_run(good["run_file"], tables=False).record["board"]["info"]
    assert info["extra"]["params_file"].endswith("twin.json") and info["extra"]["seed"] == 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_sweep_on_a_separately_started_scheduler_and_worker(tmp_path, capsys):
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = dict(os.environ, NEURRAM_TWIN_THREADS="1")
    logs = [open(tmp_path / n, "w") for n in ("scheduler.log", "worker.log")]
    procs = []
    try:
        procs.append(subprocess.Popen([sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port",
                                       str(port), "--no-dashboard"], cwd=tmp_path, env=env, stdout=logs[0],
                                      stderr=subprocess.STDOUT))
        procs.append(subprocess.Popen([sys.executable, "-m", "dask", "worker", address, "--nthreads", "1",
                                       "--no-nanny", "--no-dashboard", "--host", "127.0.0.1"], cwd=tmp_path, env=env,
                                      stdout=logs[1], stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 60
        while True:  # the scheduler listens
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert procs[0].poll() is None, (tmp_path / "scheduler.log").read_text()
                assert time.monotonic() < deadline, "scheduler did not start"
                time.sleep(0.2)
        out = tmp_path / "sw"
        rc, s, err = run_cli(["sweep"] + TINY + ["--seeds", "1-2", "--scheduler", address, "--out", str(out),
                                                 "--json", "--quiet"], capsys)
        assert rc == 0, err + (tmp_path / "worker.log").read_text()
        assert (s["ran"], s["ok"], s["cluster"]) == (2, 2, address)
        table = pd.read_csv(out / "sweep.csv")
        assert list(table["status"]) == ["ok", "ok"]
        assert all(w.endswith(f":{procs[1].pid}") for w in table["worker"])  # ran in the worker process
        assert all(os.path.exists(f) for f in table["run_file"])
    finally:
        for p in reversed(procs):
            _stop(p)
        for f in logs:
            f.close()


def test_unreachable_scheduler_is_a_sweep_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 2.0)
    rc, _, err = run_cli(["sweep"] + TINY + ["--scheduler", f"tcp://127.0.0.1:{_free_port()}",
                                             "--out", str(tmp_path / "sw")], capsys)
    assert rc == 1 and "cannot reach the Dask scheduler" in err


def test_a_killed_workers_point_is_retried_once(tmp_path, capsys, monkeypatch):
    from neurram_lab.experiments import _registry

    monkeypatch.setattr(_registry, "EXTRA_MODULES", ["_sweep_crash_experiment"])
    out = tmp_path / "sw"
    rc, s, err = run_cli(["sweep", "characterize", "crash-test", "--grid", "deaths=1,2", "--seeds", "1",
                          "--workers", "1", "--out", str(out), "--json", "--quiet"], capsys)
    assert rc == 0, err
    table = pd.read_csv(out / "sweep.csv")
    once, twice = table.iloc[0], table.iloc[1]
    assert (once["deaths"], once["status"], once["attempts"]) == (1, "ok", 2)  # died once, ran again
    assert (twice["deaths"], twice["status"]) == (2, "error") and "KilledWorker" in twice["error"]
    assert len(list((out / "points" / twice["point"]).glob("attempt-*"))) == 2  # not a third time


def test_ctrl_c_leaves_a_table_of_what_finished(tmp_path, capsys):
    import signal

    out = tmp_path / "sw"
    table = out / "sweep.csv"
    proc = subprocess.Popen([sys.executable, "-m", "neurram_lab.cli", "sweep"] + TINY
                            + ["--seeds", "1-40", "--workers", "1", "--out", str(out), "--json", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as on a terminal
    try:
        deadline = time.monotonic() + 120
        while not (table.exists() and len(table.read_text().splitlines()) >= 3):  # header and two points
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.poll() else ""
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        _stop(proc)
    assert proc.returncode == 130 and "interrupted" in err
    done = pd.read_csv(table)
    assert 2 <= len(done) < 40 and set(done["status"]) == {"ok"}
    seeds = ",".join(str(s) for s in done["seed"])
    rc, s, err = run_cli(["sweep"] + TINY + ["--seeds", seeds, "--out", str(out), "--json", "--quiet"], capsys)
    assert rc == 0 and (s["ran"], s["skipped"]) == (0, len(done))
