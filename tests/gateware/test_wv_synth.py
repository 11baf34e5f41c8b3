"""yosys synthesises the engine for the Spartan-6 (synth_xilinx -family xc6s) and it fits the XC6SLX45."""

from __future__ import annotations

import shutil

import pytest

from neurram_lab.gateware import synth


@pytest.mark.slow
def test_engine_synthesises_for_spartan6():
    if shutil.which("yosys") is None:
        pytest.skip("yosys is not installed (Debian: apt-get install -y yosys)")
    r = synth.synth()
    assert r["luts"] > 100 and r["flip_flops"] > 100  # the engine is really there
    assert r["lut_ram"] > 0  # the level table maps to LUT RAM, not to 4 096 flip-flops
    assert r["flip_flops"] < 3000
    assert all(s < 0.10 for s in r["share_of_xc6slx45"].values())
    assert 0 < r["logic_delay_ns"] < synth.SYS_CLK_NS
