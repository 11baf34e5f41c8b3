"""``import neurram_lab`` stays light and has no process-wide effects (each check in a fresh interpreter)."""

from __future__ import annotations

import json
import subprocess
import sys

import neurram_lab

HEAVY = ("h5py", "pandas", "numba", "matplotlib", "scipy")


def _run(code: str) -> dict:
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1])


def test_import_neurram_lab_imports_no_heavy_package():
    out = _run(f"""
import json, sys
import neurram_lab
bare = sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY!r} + ("numpy",))
import neurram_lab.experiments, neurram_lab.experiments._registry
from neurram_lab import (Board, Chip, MatrixPlacement, MVMRequest, NeuRRAMError, SafetyLimits, calibrate,
                         open_board, program_weights, run_mvm, write_verify)
used = sorted({{m.split(".")[0] for m in sys.modules}} & set({HEAVY!r}))
print(json.dumps({{"bare": bare, "used": used}}))
""")
    assert out["bare"] == [], f"import neurram_lab imported {out['bare']}"
    assert out["used"] == [], f"the contract and tiers 1-2 imported {out['used']} before any call"


def test_public_api_resolves_and_exports_nothing_internal():
    for name in neurram_lab.__all__:
        assert getattr(neurram_lab, name) is not None, name
    assert set(neurram_lab.__all__) <= set(dir(neurram_lab))
    assert not [n for n in neurram_lab.__all__ if n.startswith("_") and n != "__version__"]
    for internal in ("input_segments", "code_scale", "parse_cores"):
        assert internal not in neurram_lab.__all__
    from neurram_lab import sim_backend

    assert "settle_map" not in sim_backend.__all__ and "draw_die" not in sim_backend.__all__
    assert not hasattr(sim_backend, "settle_map") and not hasattr(sim_backend, "draw_die")


def test_experiments_leave_matplotlibs_backend_alone(tmp_path):
    """Importing every experiment and running one that draws a figure never calls ``matplotlib.use``."""
    out = _run(f"""
import json, sys
import matplotlib
matplotlib.use("svg")  # what a notebook user might have chosen
calls = []
_use = matplotlib.use
matplotlib.use = lambda *a, **k: (calls.append(a), _use(*a, **k))
import neurram_lab
from neurram_lab.experiments._registry import experiment_modules
mods = experiment_modules()
from neurram_lab import open_board
with open_board("sim://?seed=2") as board:
    summary = mods["demo"].run(board, {str(tmp_path)!r}, cores=(0,))
print(json.dumps({{"calls": calls, "backend": matplotlib.get_backend(), "figure": str(summary.get("figure", "")),
                  "pyplot": "matplotlib.pyplot" in sys.modules}}))
""")
    assert out["calls"] == []
    assert out["backend"] == "svg"
    assert out["figure"].endswith(".png") and (tmp_path / out["figure"].split("/")[-1]).stat().st_size > 0


def test_install_puts_only_neurram_lab_on_the_path(tmp_path):
    """``drivers``, ``sim_backend`` and ``experiments`` install as ``neurram_lab.<folder>``, no top-level names."""
    code = """
import importlib.metadata as md, importlib.util as u, json
import neurram_lab.drivers.hil, neurram_lab.sim_backend, neurram_lab.experiments
print(json.dumps({"top": md.distribution("neurram-lab").read_text("top_level.txt").split(),
                  "found": [n for n in ("drivers", "sim_backend", "experiments") if u.find_spec(n)]}))
"""
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out == {"top": ["neurram_lab"], "found": []}
