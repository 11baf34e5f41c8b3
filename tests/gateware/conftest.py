"""The gateware tests need the authors' HDL (through NEURRAM_SHARED), Icarus Verilog and cocotb; each skips,
saying which is missing, only then (the encoder tests need none of them)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest


def _why_not(need_cocotb: bool = True) -> str | None:
    shared = os.environ.get("NEURRAM_SHARED")
    if not shared or not (Path(shared) / "authors" / "HDL" / "neurram_top.v").is_file():
        return "the authors' HDL is not here ($NEURRAM_SHARED/authors/HDL/neurram_top.v missing)"
    if shutil.which("iverilog") is None or shutil.which("vvp") is None:
        return "Icarus Verilog (iverilog, vvp) is not installed"
    if need_cocotb:
        try:
            import cocotb  # noqa: F401
        except ImportError:
            return "cocotb is not installed"
    return None


@pytest.fixture(scope="session")
def hdl_dir():
    why = _why_not()
    if why:
        pytest.skip(why)
    return Path(os.environ["NEURRAM_SHARED"]) / "authors" / "HDL"


@pytest.fixture(scope="session")
def iverilog_only():
    if shutil.which("iverilog") is None or shutil.which("vvp") is None:
        pytest.skip("Icarus Verilog (iverilog, vvp) is not installed")
