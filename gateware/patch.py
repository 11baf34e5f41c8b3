"""``neurram_top_wv``: the authors' ``neurram_top.v`` with the write-verify engine, made at build time.

The authors' file is read where it is (``$NEURRAM_SHARED/authors/HDL``, or a lab's own copy) and never
stored in this project: :func:`patch_text` applies a short list of exact line edits (:data:`EDITS`) and
appends the engine's endpoints and instance (:data:`ENGINE_BLOCK`). Each edit must match exactly once, so a
changed authors' file is an error naming the line, never a silently wrong bitstream. The changes:

- the module is renamed (``neurram_top_wv``; in simulation it keeps the name ``neurram_top`` so that the
  project's board model, ``drivers/rtl/hdl/board.v``, instantiates it unchanged);
- ``okWireOR`` takes 7 more endpoints: wire-outs 0x23-0x27 (commented out in every authors' top level),
  pipe-in 0x82 (commands) and pipe-out 0xA4 (results); wire-ins 0x18-0x1A (ceilings) and trigger-in 0x46
  (start / abort / clear, sys_clk) are new;
- while the engine runs (``wv_own``) it drives the nets the host's wire-ins drive otherwise: the DAC word
  and push/update strobes, the auto-range trigger/ack and first timing, the pulse trigger/ack, width and
  mux, the chip's clears, random-access address/data/direction/trigger, core address and core-enable
  lines; the host's own triggers to those modules are masked meanwhile, so a host call cannot interleave
  with a job. When the engine is idle every net is exactly the authors'.
"""

from __future__ import annotations

from pathlib import Path

from neurram_lab.errors import InputError

TOP = "neurram_top_wv"
EXTRA_OK_EH = 7  # 5 wire-outs + 1 pipe-in + 1 pipe-out
_N_EH = 12

# (authors' line, replacement); every left side must occur exactly once in neurram_top.v
EDITS: tuple[tuple[str, str], ...] = (
    ("wire [65*12-1:0]  okEHx;", "wire [65*19-1:0]  okEHx;\n`include \"wv_top_wires.vh\""),
    ("okWireOR # (.N(12)) wireOR (okEH, okEHx);", "okWireOR # (.N(19)) wireOR (okEH, okEHx);"),
    ("assign dac_program = ep40wire[1];", "assign dac_program = (ep40wire[1] & ~wv_own) | wv_dac_program;"),
    ("assign dac_update = ep41wire[0];", "assign dac_update = (ep41wire[0] & ~wv_own) | wv_dac_update;"),
    ("assign dac_din = ep01wire;", "assign dac_din = wv_own ? wv_dac_din : ep01wire;"),
    ("assign auto_range_trigger = ep43wire[2];", "assign auto_range_trigger = (ep43wire[2] & ~wv_own) | wv_ar_trigger;"),
    ("assign auto_range_ack = ep43wire[3];", "assign auto_range_ack = (ep43wire[3] & ~wv_own) | wv_ar_ack;"),
    ("assign manual_range_mode = ep12wire[18];", "assign manual_range_mode = ep12wire[18] & ~wv_own;"),
    ("assign t_shld_init = ep02wire[15:0];", "assign t_shld_init = wv_own ? wv_t_shld_init : ep02wire[15:0];"),
    ("assign t_delta_init = ep02wire[31:16];", "assign t_delta_init = wv_own ? wv_t_delta_init : ep02wire[31:16];"),
    ("assign addr_local = ep04wire[7:0];", "assign addr_local = wv_own ? wv_addr_local : ep04wire[7:0];"),
    ("assign clear_horz_b = ~(ep03wire[0] | matmul_reg_reset | nmlo_reg_reset);",
     "assign clear_horz_b = ~(ep03wire[0] | matmul_reg_reset | nmlo_reg_reset | wv_clear);"),
    ("assign clear_vert_b = ~(ep03wire[1] | matmul_reg_reset | nmlo_reg_reset);",
     "assign clear_vert_b = ~(ep03wire[1] | matmul_reg_reset | nmlo_reg_reset | wv_clear);"),
    ("assign select_write_reg = ep04wire[9:8];", "assign select_write_reg = wv_own ? wv_select_write_reg : ep04wire[9:8];"),
    ("\t.rand_access_vert(ep04wire[10]),", "\t.rand_access_vert(wv_own ? wv_ra_vert : ep04wire[10]),"),
    ("assign reg_rand_access_trigger = ep44wire[1];",
     "assign reg_rand_access_trigger = (ep44wire[1] & ~wv_own) | wv_ra_trigger;"),
    ("assign addr_horz = ep13wire[2:0];", "assign addr_horz = wv_own ? wv_addr_horz : ep13wire[2:0];"),
    ("assign addr_vert = ep13wire[5:3];", "assign addr_vert = wv_own ? wv_addr_vert : ep13wire[5:3];"),
    ("assign dec_enable_horz = ep13wire[6];", "assign dec_enable_horz = wv_own ? wv_dec_enable_horz : ep13wire[6];"),
    ("assign dec_enable_vert = ep13wire[7];", "assign dec_enable_vert = wv_own ? wv_dec_enable_vert : ep13wire[7];"),
    ("assign core_enable_clk = ep14wire[1];", "assign core_enable_clk = wv_own ? wv_ce_clk : ep14wire[1];"),
    ("assign core_enable_in = ep14wire[2];", "assign core_enable_in = wv_own ? wv_ce_in : ep14wire[2];"),
    ("assign core_enable_reset_b = ~ep14wire[0];", "assign core_enable_reset_b = ~(wv_own ? wv_ce_reset : ep14wire[0]);"),
    ("assign program_trigger = ep40wire[2] | ep40wire[3];",
     "assign program_trigger = ((ep40wire[2] | ep40wire[3]) & ~wv_own) | wv_program_trigger;"),
    ("assign program_ack = ep40wire[4];", "assign program_ack = (ep40wire[4] & ~wv_own) | wv_program_ack;"),
    ("assign pulse_width = ep07wire[31:0];", "assign pulse_width = wv_own ? wv_pulse_width : ep07wire[31:0];"),
    ("assign vupdate_config = ep0Bwire[1:0];", "assign vupdate_config = wv_own ? wv_vupdate_config : ep0Bwire[1:0];"),
)

ENGINE_BLOCK = "`include \"wv_top_engine.vh\"\n"


def patch_text(text: str, module: str = TOP, source: str = "neurram_top.v") -> str:
    """The authors' ``neurram_top.v`` text with the engine wired in, as module ``module``.

    Raises
    ------
    InputError
        An edit's line is missing or occurs more than once (names the line), or the file has no
        ``module neurram_top(`` header or final ``endmodule``.
    """
    header = "module neurram_top("
    if text.count(header) != 1:
        raise InputError(f"{source}: expected one '{header}' line, found {text.count(header)}")
    out = text.replace(header, f"module {module}(", 1)
    for old, new in EDITS:
        n = out.count(old)
        if n != 1:
            raise InputError(f"{source}: the write-verify patch needs the line {old.strip()!r} exactly once, "
                             f"found it {n} times (a changed authors' file?)")
        out = out.replace(old, new, 1)
    end = out.rstrip().rfind("endmodule")
    if end < 0:
        raise InputError(f"{source}: no endmodule")
    return out[:end] + ENGINE_BLOCK + out[end:]


def hdl_dir() -> Path:
    """This package's Verilog (the engine and the include files of the top-level patch)."""
    return Path(__file__).resolve().parent / "hdl"


ENGINE_FILES = ("wv_cdc.v", "wv_dac_guard.v", "wv_engine.v")


def write_top(authors_hdl, out_dir, module: str = TOP) -> Path:
    """Write ``<module>.v`` (the patched top level) into ``out_dir``; its path.

    Raises
    ------
    InputError
        No ``neurram_top.v`` in ``authors_hdl``, or the patch does not apply.
    """
    src = Path(authors_hdl) / "neurram_top.v"
    if not src.is_file():
        raise InputError(f"--hdl {str(authors_hdl)!r} has no neurram_top.v: not the authors' HDL folder")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    dst = out_dir / f"{module}.v"
    tmp = dst.with_suffix(".v.tmp")
    tmp.write_text(patch_text(src.read_text(errors="replace"), module, str(src)))
    tmp.replace(dst)
    return dst


def unified_diff(authors_hdl) -> str:
    """The patch as a unified diff against the authors' file (for a lab applying it by hand in ISE)."""
    import difflib

    src = Path(authors_hdl) / "neurram_top.v"
    old = src.read_text(errors="replace").splitlines(keepends=True)
    new = patch_text("".join(old), TOP, str(src)).splitlines(keepends=True)
    return "".join(difflib.unified_diff(old, new, "a/neurram_top.v", f"b/{TOP}.v"))


def export(authors_hdl, out_dir) -> list[Path]:
    """Everything ISE needs besides the authors' modules and Opal Kelly's: ``neurram_top_wv.v``, its two
    include files and the engine's sources, written into ``out_dir``; the paths."""
    import shutil

    paths = [write_top(authors_hdl, out_dir)]
    for f in ENGINE_FILES + ("wv_top_wires.vh", "wv_top_engine.vh"):
        paths.append(Path(shutil.copy(hdl_dir() / f, Path(out_dir) / f)))
    (Path(out_dir) / "neurram_top_wv.patch").write_text(unified_diff(authors_hdl))
    return paths + [Path(out_dir) / "neurram_top_wv.patch"]


if __name__ == "__main__":
    import argparse
    import sys

    p = argparse.ArgumentParser(prog="python -m neurram_lab.gateware.patch",
                                description="write neurram_top_wv.v (the authors' top level with the engine) and the engine's files")
    p.add_argument("--hdl", required=True, help="the authors' HDL folder (with neurram_top.v)")
    p.add_argument("--out", required=True, help="folder to write into")
    a = p.parse_args()
    try:
        for path in export(a.hdl, a.out):
            print(path)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
