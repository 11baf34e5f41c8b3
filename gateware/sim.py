"""Build and run the RTL simulation of ``neurram_top_wv`` (Icarus Verilog + cocotb).

:func:`build` patches the authors' ``neurram_top.v`` (read by path, never stored here) with the engine
(:mod:`gateware.patch`), compiles it with the authors' modules, the project's vendor and board models
(``drivers/rtl/hdl``) and the engine (``gateware/hdl``), and caches the result by the hash of every source.
:func:`run` starts ``vvp`` with the bench :mod:`gateware._wv_bench` on a spec (see there) and returns its
answers.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

from neurram_lab.errors import BoardError, InputError

from . import patch

SIM_MODULE = "neurram_top"  # the board model (drivers/rtl/hdl/board.v) instantiates this name


def _sources(authors_hdl) -> list[Path]:
    from neurram_lab.drivers.rtl import _build

    files = _build.sources(authors_hdl, "neurram_top")
    # the authors' top is replaced by the patched one (written by build); everything else as rtl:// compiles it
    return [f for f in files if f.name != "neurram_top.v"] + [patch.hdl_dir() / f for f in patch.ENGINE_FILES]


def _cache_root() -> Path:
    return Path(os.environ.get("NEURRAM_RTL_CACHE") or Path.home() / ".cache" / "neurram-lab" / "rtl") / "wv"


def build(authors_hdl) -> Path:
    """The compiled simulation (``.vvp``) of neurram_top_wv on the board model.

    Raises
    ------
    InputError
        Missing HDL or iverilog, the patch does not apply, or the design does not elaborate (iverilog's
        first error in one line).
    """
    from neurram_lab.drivers.rtl import _build

    exe = _build.iverilog_path()
    if exe is None:
        raise InputError("iverilog is not installed (Debian: apt-get install -y iverilog)")
    srcs = _sources(authors_hdl)
    top_text = patch.patch_text((Path(authors_hdl) / "neurram_top.v").read_text(errors="replace"), SIM_MODULE)
    h = hashlib.sha256(top_text.encode())
    for f in srcs + sorted(patch.hdl_dir().glob("*.vh")):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    out_dir = _cache_root() / h.hexdigest()[:16]
    vvp = out_dir / "sim.vvp"
    if vvp.is_file():
        return vvp
    out_dir.mkdir(parents=True, exist_ok=True)
    top = out_dir / "neurram_top_wv_sim.v"
    top.write_text(top_text)
    tmp = out_dir / f"sim.vvp.{os.getpid()}.tmp"
    cmd = [exe, "-g2005", "-s", _build.TB_TOP, "-I", str(patch.hdl_dir()), "-o", str(tmp)] + [str(f) for f in srcs] + [str(top)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0 or not tmp.is_file():
        tmp.unlink(missing_ok=True)
        raise InputError(f"neurram_top_wv does not elaborate under Icarus Verilog: "
                         f"{_build.first_error(proc.stderr + proc.stdout)}")
    os.replace(tmp, vvp)
    return vvp


def run(vvp, spec: dict, timeout_s: float = 900.0) -> dict:
    """Run the bench on ``spec``; its answers (dict) plus ``wall_s``.

    Raises
    ------
    BoardError
        The simulator failed or wrote no answers (the log's tail in the message).
    """
    from neurram_lab.drivers.rtl.sim import _gpi_env

    env, vpi = _gpi_env()
    return run_command(["vvp", "-m", vpi, str(vvp), "-none"], env, spec, timeout_s)


def run_command(cmd: list[str], env: dict, spec: dict, timeout_s: float = 900.0) -> dict:
    """Run a compiled simulation (``cmd``, cocotb environment ``env``) with the bench on ``spec``.

    Used by :func:`run` (Icarus) and :func:`gateware.verilator.run` (Verilator); same answers.
    """
    env = dict(env)
    env["COCOTB_TEST_MODULES"] = "neurram_lab.gateware._wv_bench"
    with tempfile.TemporaryDirectory(prefix="neurram-wv-") as d:
        spec_f, out_f = Path(d) / "spec.json", Path(d) / "out.json"
        spec_f.write_text(json.dumps(spec))
        env["NEURRAM_WV_SPEC"], env["NEURRAM_WV_OUT"] = str(spec_f), str(out_f)
        env["COCOTB_RESULTS_FILE"] = str(Path(d) / "results.xml")
        t0 = time.perf_counter()
        with open(Path(d) / "sim.log", "w+") as log:
            proc = subprocess.run(cmd, env=env, cwd=d, stdout=log,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=timeout_s)
            log.seek(0)
            tail = " | ".join(ln.strip() for ln in log.read().splitlines()[-8:] if ln.strip())
        wall = time.perf_counter() - t0
        if proc.returncode != 0 or not out_f.is_file():
            raise BoardError(f"the neurram_top_wv simulation failed (exit {proc.returncode}): {tail}")
        out = json.loads(out_f.read_text())
    out["wall_s"] = wall
    return out
