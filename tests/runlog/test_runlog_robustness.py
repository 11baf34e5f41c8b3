"""Run files under stress: writers SIGKILLed, files truncated and corrupted, live readers, a second writer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from neurram_lab import RunLog, RunLogError, read_run

ROOT = Path(__file__).resolve().parents[2]
TRIALS = ROOT / "tools" / "robustness_trials.py"


def _trials(*args, timeout_s):
    p = subprocess.run([sys.executable, str(TRIALS), *args], capture_output=True, text=True, timeout=timeout_s, cwd=ROOT)
    assert p.stdout.strip(), p.stderr[-3000:]
    result = json.loads(p.stdout.strip().splitlines()[-1])
    assert p.returncode == 0 and not result["failures"], result["failures"] or p.stderr[-3000:]
    return result


def test_writers_killed_at_random_moments_leave_intact_interrupted_replayable_files():
    result = _trials("kill", "20", timeout_s=300)
    assert result["trials"] == 20 and result["files_checked"] >= 15
    assert result["calls_recovered_min_median_max"][2] > 20  # most kills land well inside the run


def test_truncated_and_corrupted_files_raise_typed_errors_and_never_hang():
    result = _trials("damage", timeout_s=300)  # each case runs in a child killed after 20 s
    assert result["typed"] >= 40 and result["same"] >= 40  # flips in unused bytes change nothing
    assert result["typed"] + result["same"] == result["cases"]


WRITER = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from neurram_lab.experiments._common import start_run
    from neurram_lab import open_board
    board = open_board("sim://?seed=3")
    with start_run(board, sys.argv[1], "live", {}, {"t": {"i": ("i8", "")}}) as log:
        print(log.path, flush=True)
        for i in range(30):
            log.board.read(0, np.arange(100), i)
            log.append("t", i=i)
            time.sleep(0.1)
    """
)


def test_live_reader_follows_a_run_and_a_second_writer_is_refused(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        path = Path(proc.stdout.readline().strip())
        seen = []
        refused = False
        while proc.poll() is None:
            run = read_run(path, journal=True)
            if run.status == "success":
                break
            assert run.status == "interrupted"  # no stop record yet
            seen.append((len(run.tables["t"]), len(run.journal)))
            if not refused:
                with pytest.raises(RunLogError, match="open for writing by another process"):
                    RunLog(path, "intruder", {}, {})
                env = dict(os.environ, HDF5_USE_FILE_LOCKING="FALSE")  # refused even with HDF5 file locks off
                p = subprocess.run([sys.executable, "-c", f"import h5py; h5py.File({str(path)!r}, 'a')"],
                                   capture_output=True, text=True, env=env, timeout=60)
                assert p.returncode != 0 and "already open for write" in p.stderr
                refused = True
            time.sleep(0.15)
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
    assert refused
    rows = [r for r, _ in seen]
    assert rows == sorted(rows) and len(set(rows)) >= 3, seen  # the reader saw the run grow
    assert all(calls >= 1 + r for r, calls in seen), seen  # the journal is written before every table append
    final = read_run(path, journal=True)
    assert final.status == "success" and len(final.tables["t"]) == 30 and len(final.journal) == 31
