"""Compile the authors' design (by path) with this package's vendor and board models under Icarus Verilog.

The authors' files are read where they are (``--hdl DIR``, by default ``$NEURRAM_SHARED/authors/HDL``) and
never copied; the compiled simulation is cached by the hash of every source under
``~/.cache/neurram-lab/rtl`` (``NEURRAM_RTL_CACHE`` overrides).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from importlib import resources
from pathlib import Path

from neurram_lab.errors import InputError

TOPS = ("neurram_top", "neurram_top_sar", "neurram_top_voltage_mode")
DEFAULT_TOP = "neurram_top"
# every module file the three top levels instantiate, besides the top and its neuron controller
_COMMON = ("adc_daisy_control.v", "arbiter_fifo2pipeout.v", "arbiter_pipein2fifo.v", "auto_ranging.v",
           "dac_daisy_control.v", "lfsr_control.v", "matmul_dac2adc.v", "matmul_input_energy_test.v",
           "matmul_output_energy_test.v", "matmul_unsigned_helper.v", "neuron_SAR.v", "neuron_energy_test.v",
           "neuron_multi_level_output.v", "neurram_reg_control.v", "neurram_spi_control.v",
           "neurram_wupdate_control.v", "resistance_read.v")
# the voltage-mode top level's neuron controller is a second ``module neuron_control`` in its own file
_NEURON = {"neurram_top": "neuron_control.v", "neurram_top_sar": "neuron_control.v",
           "neurram_top_voltage_mode": "neuron_control_voltage_mode.v"}
MODELS = ("ok_models.v", "xilinx_fifos.v", "board.v")
TB_TOP = "rtl_tb"


def default_hdl_dir() -> Path | None:
    """``$NEURRAM_SHARED/authors/HDL`` when that folder exists, else None."""
    shared = os.environ.get("NEURRAM_SHARED")
    if shared and (Path(shared) / "authors" / "HDL").is_dir():
        return Path(shared) / "authors" / "HDL"
    return None


def iverilog_path() -> str | None:
    """The ``iverilog`` executable, or None."""
    return shutil.which("iverilog")


def model_dir() -> Path:
    return Path(str(resources.files("neurram_lab.drivers.rtl") / "hdl"))


def sources(hdl_dir, top: str = DEFAULT_TOP) -> list[Path]:
    """The files one top level compiles from: the models, the authors' modules, the top.

    Raises
    ------
    InputError
        Unknown ``top``, a missing folder or file, or a file that is not Verilog text.
    """
    if top not in TOPS:
        raise InputError(f"--top {top!r} is not one of {', '.join(TOPS)}")
    d = Path(hdl_dir)
    if not d.is_dir():
        raise InputError(f"--hdl {str(d)!r} is not a folder")
    if not (d / "neurram_top.v").is_file():
        raise InputError(f"--hdl {str(d)!r} has no neurram_top.v: not the authors' HDL folder")
    files = [d / f for f in _COMMON + (_NEURON[top], top + ".v")]
    for f in files:
        if not f.is_file():
            raise InputError(f"--hdl {str(d)!r} lacks {f.name}, which {top} needs")
        head = f.read_bytes()[:4096]
        if b"\0" in head or not re.search(rb"\bmodule\b|`timescale|//", head):
            raise InputError(f"{str(f)!r} is not Verilog text (no module, timescale or comment in its start)")
    return [model_dir() / m for m in MODELS] + files


def _cache_root() -> Path:
    return Path(os.environ.get("NEURRAM_RTL_CACHE") or Path.home() / ".cache" / "neurram-lab" / "rtl")


def build(hdl_dir, top: str = DEFAULT_TOP) -> Path:
    """Compile (or find cached) the simulation of ``top``; the path of its ``.vvp`` file.

    Raises
    ------
    InputError
        Bad sources (see :func:`sources`), or the design fails to elaborate: iverilog's first error, with
        its file and line, in one line.
    """
    srcs = sources(hdl_dir, top)
    exe = iverilog_path()
    if exe is None:
        raise InputError("iverilog is not installed (Debian: apt-get install -y iverilog)")
    h = hashlib.sha256(top.encode())
    for f in srcs:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    out_dir = _cache_root() / h.hexdigest()[:16]
    vvp = out_dir / "sim.vvp"
    if vvp.is_file():
        return vvp
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / f"sim.vvp.{os.getpid()}.tmp"
    cmd = [exe, "-g2005", "-s", TB_TOP, "-o", str(tmp)] + [str(f) for f in srcs]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0 or not tmp.is_file():
        tmp.unlink(missing_ok=True)
        try:
            out_dir.rmdir()  # nothing left behind (a concurrent build's folder is not empty and stays)
        except OSError:
            pass
        first = first_error(proc.stderr + proc.stdout)
        if top == "neurram_top_sar" and "port ``state'' is not a port" in first:
            first += (" (a defect of the published HDL: neurram_spi_control.v:10-40 has no `state` port; "
                      "docs/board_protocol.md, SAR top level)")
        raise InputError(f"{top} does not elaborate under Icarus Verilog: {first}")
    os.replace(tmp, vvp)
    return vvp


def first_error(text: str) -> str:
    """iverilog's first error line (``file:line: message``), or its first line."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for ln in lines:
        if "error" in ln.lower() or "syntax" in ln.lower():
            return ln
    return lines[0] if lines else "no message"
