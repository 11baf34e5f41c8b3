"""A SimBoard changes nothing process-wide unless asked: closed boards give their memory back to the OS."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import neurram_lab.sim_backend.board as sim_board

RSS_CHECK = r"""
import gc, json, os
import numpy as np
from neurram_lab.sim_backend import SimBoard

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

core, row, col = [a.ravel() for a in np.meshgrid(np.arange(16), np.arange(256), np.arange(256), indexing="ij")]
gc.collect()
start = rss_mb()
for seed in range(20):
    board = SimBoard(seed=seed)
    board.read(core, row, col)  # a million cells: the temporaries of a big call
    board.close()
    del board
    gc.collect()
print(json.dumps({"start_mb": start, "end_mb": rss_mb()}))
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="reads RSS from /proc")
def test_twenty_boards_return_their_memory():
    """Measured: +150 MB by default; +350 MB with NEURRAM_MALLOC_TUNING=1 (freed memory kept mapped)."""
    env = {k: v for k, v in os.environ.items() if k != "NEURRAM_MALLOC_TUNING"}
    p = subprocess.run([sys.executable, "-c", RSS_CHECK], capture_output=True, text=True, timeout=300, env=env)
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout.strip().splitlines()[-1])
    assert r["end_mb"] - r["start_mb"] < 300, r


@pytest.mark.parametrize("option, env, applied", [
    (None, None, False), (None, "1", True), (None, "0", False), (True, None, True), (False, "1", False),
])
def test_malloc_tuning_is_opt_in(monkeypatch, option, env, applied):
    calls = []
    monkeypatch.setattr(sim_board, "keep_freed_memory", lambda: calls.append(1) or True)
    if env is None:
        monkeypatch.delenv("NEURRAM_MALLOC_TUNING", raising=False)
    else:
        monkeypatch.setenv("NEURRAM_MALLOC_TUNING", env)
    sim_board.SimBoard(seed=1, malloc_tuning=option).close()
    assert bool(calls) == applied


CONSOLE_CHECK = r"""
import json, os, sys, tempfile
from neurram_lab.cli import console_main, main
from neurram_lab.sim_backend import _malloc
argv = ["characterize", "write-verify", "--cores", "0", "--cells-per-core", "64", "--iterations", "1", "--quiet",
        "--out", tempfile.mkdtemp()]
entry = console_main if sys.argv[1] == "console" else main
rc = entry(argv)
print(json.dumps({"rc": rc, "applied": _malloc._done, "env": os.environ.get("NEURRAM_MALLOC_TUNING")}))
"""


@pytest.mark.parametrize("entry, env, applied", [
    ("console", None, True), ("console", "0", False), ("main", None, False),
])
def test_console_command_keeps_freed_memory_unless_told(entry, env, applied):
    """The console script runs one command per process, so the twin keeps freed memory; main() from Python does not."""
    environ = {k: v for k, v in os.environ.items() if k != "NEURRAM_MALLOC_TUNING"}
    if env is not None:
        environ["NEURRAM_MALLOC_TUNING"] = env
    p = subprocess.run([sys.executable, "-c", CONSOLE_CHECK, entry], capture_output=True, text=True, timeout=300,
                       env=environ)
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout.strip().splitlines()[-1])
    assert r["rc"] == 0 and r["applied"] is applied, r
    assert r["env"] == (env if env is not None else ("1" if entry == "console" else None)), r
