"""Synthesis check of the write-verify engine with yosys for the XEM6310's Spartan-6 (``synth_xilinx -family
xc6s``): cell counts against the XC6SLX45's capacity, and abc9's logic delay of the longest path.

``python -m neurram_lab.gateware.synth`` prints the figures (JSON). The engine is synthesised alone: the
FIFOs of the top-level patch are Xilinx FIFO Generator cores (FIFO32x2048FWFT, FIFO32x4096), block RAM
that ISE builds from the cores' .xco files, and the authors' modules are theirs (ISE synthesises them as
for neurram_top.bit).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from neurram_lab.errors import InputError

from .patch import ENGINE_FILES, hdl_dir

# XC6SLX45 (Spartan-6 FPGA Family Overview, DS160, Table 1)
XC6SLX45 = {"luts": 27_288, "flip_flops": 54_576, "ramb16": 116, "dsp48a1": 58}
SYS_CLK_NS = 10.0


def synth(abc9: bool = True) -> dict:
    """Run yosys on the engine; counts (LUTs incl. LUT RAM, flip-flops, block RAM, DSP), the device's share
    and abc9's longest-path logic delay (ns, yosys' delay tables, no routing).

    Raises
    ------
    InputError
        yosys is not installed, or fails (its last lines).
    """
    exe = shutil.which("yosys")
    if exe is None:
        raise InputError("yosys is not installed (Debian: apt-get install -y yosys)")
    files = " ".join(str(hdl_dir() / f) for f in ENGINE_FILES)
    with tempfile.TemporaryDirectory(prefix="neurram-yosys-") as d:
        stat = Path(d) / "stat.txt"
        script = (f"read_verilog -sv {files}\nsynth_xilinx -family xc6s -top wv_engine -flatten -noiopad"
                  f"{' -abc9' if abc9 else ''}\ntee -o {stat} stat\n")
        proc = subprocess.run([exe, "-p", script], capture_output=True, text=True)
        if proc.returncode != 0 or not stat.is_file():
            raise InputError("yosys failed: " + " | ".join((proc.stdout + proc.stderr).strip().splitlines()[-3:]))
        cells = {m.group(1): int(m.group(2)) for m in re.finditer(r"^\s+(\w+)\s+(\d+)$", stat.read_text(), re.M)}
        delays = [float(x) for x in re.findall(r"Del =\s+(\d+(?:\.\d+)?)", proc.stdout)]
    luts = sum(v for k, v in cells.items() if re.fullmatch(r"LUT\d", k))
    lutram = 4 * cells.get("RAM64M", 0) + 4 * cells.get("RAM32M", 0) + cells.get("RAM64X1D", 0) * 2
    ffs = sum(v for k, v in cells.items() if re.fullmatch(r"FD\w+", k))
    bram = cells.get("RAMB16BWER", 0) + cells.get("RAMB8BWER", 0)
    out = {"luts": luts, "lut_ram": lutram, "flip_flops": ffs, "ramb16": bram, "dsp48a1": cells.get("DSP48A1", 0),
           "carry4": cells.get("CARRY4", 0), "cells": cells}
    out["share_of_xc6slx45"] = {"luts": (luts + lutram) / XC6SLX45["luts"], "flip_flops": ffs / XC6SLX45["flip_flops"],
                                "ramb16": bram / XC6SLX45["ramb16"], "dsp48a1": out["dsp48a1"] / XC6SLX45["dsp48a1"]}
    if delays:
        out["logic_delay_ns"] = delays[-1] / 1000.0
        out["clock_ns"] = SYS_CLK_NS
    return out


if __name__ == "__main__":
    print(json.dumps(synth(), indent=1))
