"""neurram_top_wv: the patch applies to the authors' file (read by path), refuses a changed file naming the
line, and the patched top level elaborates with the engine; the DAC guard in hardware, exhaustively over
the interesting words."""

from __future__ import annotations

import random
import subprocess

import pytest

from neurram_lab.errors import InputError
from neurram_lab.gateware import patch


def test_patch_applies_and_documents_itself(hdl_dir, tmp_path):
    out = patch.write_top(hdl_dir, tmp_path)
    text = out.read_text()
    assert out.name == "neurram_top_wv.v" and "module neurram_top_wv(" in text
    assert "okWireOR # (.N(19))" in text and '`include "wv_top_engine.vh"' in text
    for _old, new in patch.EDITS:
        assert new in text
    diff = patch.unified_diff(hdl_dir)
    assert diff.startswith("--- a/neurram_top.v") and diff.count("\n+") >= len(patch.EDITS)


def test_a_changed_authors_file_is_refused_naming_the_line(hdl_dir):
    text = (hdl_dir / "neurram_top.v").read_text()
    with pytest.raises(InputError, match="assign dac_din = ep01wire;"):
        patch.patch_text(text.replace("assign dac_din = ep01wire;", "assign dac_din = ep01wire ^ 1;"))
    with pytest.raises(InputError, match="module neurram_top"):
        patch.patch_text(text.replace("module neurram_top(", "module other("))
    with pytest.raises(InputError, match="no neurram_top.v"):
        patch.write_top(hdl_dir.parent, "/tmp")


def test_neurram_top_wv_elaborates(hdl_dir, tmp_path):
    from neurram_lab.gateware import sim

    vvp = sim.build(hdl_dir)
    assert vvp.is_file() and vvp.stat().st_size > 0


def _guard_ref(word, slot, lims):
    cmd, ch, code = word >> 20 & 0xF, word >> 16 & 0xF, word & 0xFFFF
    if cmd == 0xF:
        return 1
    return int(cmd == 0b0011 and ch < 4 and slot == 0 and word >> 24 == 0 and code <= lims[ch])


def test_dac_guard_passes_only_words_under_the_ceilings(iverilog_only, tmp_path):
    rng = random.Random(5)
    lims = [30000, 26214, 45000, 58982]
    cases = []
    for ch in range(16):
        for code in (0, 1, 26213, 26214, 26215, 29999, 30000, 30001, 44999, 45000, 45001, 58982, 58983, 65535):
            for slot in range(4):
                cases.append((0b0011 << 20 | ch << 16 | code, slot))
    for _ in range(400):
        cases.append((rng.getrandbits(32), rng.randrange(4)))
    cases += [(0xF << 20, s) for s in range(4)]
    vec = tmp_path / "vec.txt"
    vec.write_text("".join(f"{w:08x} {s:x}\n" for w, s in cases))
    tb = tmp_path / "tb.v"
    tb.write_text(f"""
module tb;
reg [31:0] word; reg [1:0] slot; wire ok; reg [31:0] mem [0:{2 * len(cases) - 1}]; integer i;
wv_dac_guard g(.word(word), .slot(slot), .lim_set_bl(16'd{lims[0]}), .lim_set_wl(16'd{lims[1]}),
               .lim_reset_sl(16'd{lims[2]}), .lim_reset_wl(16'd{lims[3]}), .ok(ok));
initial begin
  $readmemh("{vec}", mem);
  for (i = 0; i < {len(cases)}; i = i + 1) begin word = mem[2*i]; slot = mem[2*i+1]; #1 $display("%0d", ok); end
end
endmodule
""")
    exe = tmp_path / "g.vvp"
    subprocess.run(["iverilog", "-g2005", "-o", str(exe), str(tb), str(patch.hdl_dir() / "wv_dac_guard.v")], check=True)
    got = [int(x) for x in subprocess.run(["vvp", "-n", str(exe)], capture_output=True, text=True, check=True).stdout.split()]
    want = [_guard_ref(w, s, lims) for w, s in cases]
    assert len(got) == len(cases)
    bad = [(hex(w), s, g, r) for (w, s), g, r in zip(cases, got, want) if g != r]
    assert not bad, bad[:5]
    assert sum(want) > 20 and len(want) - sum(want) > 20  # both outcomes exercised


def test_export_writes_what_ise_needs(hdl_dir, tmp_path):
    names = {p.name for p in patch.export(hdl_dir, tmp_path)}
    assert {"neurram_top_wv.v", "wv_engine.v", "wv_dac_guard.v", "wv_cdc.v", "wv_top_wires.vh", "wv_top_engine.vh",
            "neurram_top_wv.patch"} <= names
    assert all((tmp_path / n).stat().st_size > 0 for n in names)
