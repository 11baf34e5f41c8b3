"""Characterisation runs replay from their run files to identical JSON (issue: replay)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from neurram_lab.experiments._common import is_run_specific



def neurram(*args):
    p = subprocess.run([sys.executable, "-m", "neurram_lab.cli", *args], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "command",
    [
        ["characterize", "write-verify", "--cells-per-core", "512", "--iterations", "2", "--settle-s", "60"],
        ["characterize", "relaxation", "--cells-per-level", "64", "--n-times", "4", "--until-s", "100"],
        ["characterize", "mvm", "--rows", "32", "--cols", "16", "--vectors", "100"],
    ],
    ids=["write-verify", "relaxation", "mvm"],
)
def test_characterisation_replays_to_identical_json(tmp_path, command):
    original = neurram(*command, "--json", "--quiet", "--seed", "5", "--out", str(tmp_path / "orig"))
    replayed = neurram("replay", original["run_file"], "--json", "--quiet", "--out", str(tmp_path / "replay"))
    strip = lambda d: {k: v for k, v in d.items() if not is_run_specific(k)}  # noqa: E731
    assert strip(replayed) == strip(original)
    assert len(strip(original)) >= 5
