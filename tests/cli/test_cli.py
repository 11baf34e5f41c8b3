"""The ``neurram`` command line, run as a user would: a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

import h5py
import pytest

from neurram_lab import read_run


def neurram(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "neurram_lab.cli", *args], capture_output=True, text=True, timeout=timeout)


def test_help_lists_commands():
    p = neurram("--help")
    assert p.returncode == 0 and "demo" in p.stdout


def test_demo_json_run_file_and_figure(tmp_path):
    p = neurram("demo", "--json", "--out", str(tmp_path), "--seed", "3")
    assert p.returncode == 0, p.stderr
    summary = json.loads(p.stdout.strip().splitlines()[-1])
    assert summary["cells"] == 3 * 64 * 64
    assert summary["in_window_fraction"] > 0.98
    run_file = summary["run_file"]
    with h5py.File(run_file, "r", swmr=True) as f:
        assert f.attrs["experiment"] == "demo"
    run = read_run(run_file)
    assert run.status == "success" and run.record["board"]["twin"]["seed"] == 3
    assert len(run.tables["readback"]) == 4 * summary["cells"]
    assert open(summary["figure"], "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert "Run file" in p.stdout  # the human summary comes before the JSON line


def test_demo_quiet_json_prints_only_json(tmp_path):
    p = neurram("demo", "--json", "--quiet", "--out", str(tmp_path), "--cores", "7")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.strip().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["cores"] == [7]


@pytest.mark.parametrize(
    "args, needle",
    [
        (["demo", "--board", "warp://x"], "unknown board spec"),
        (["demo", "--cores", "49"], "core=49"),
        (["demo", "--board", "sim://?params=/nonexistent.toml"], "cannot read"),
    ],
)
def test_errors_are_one_line_without_traceback(tmp_path, args, needle):
    p = neurram(*args, "--out", str(tmp_path))
    assert p.returncode != 0
    assert needle in p.stderr
    assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1
