"""The one endpoint map (drivers.neurram_top): named wire-in fields that match the authors' HDL, and no module of
drivers/ keeping its own copy of an endpoint or switching on raw trigger or pipe numbers (issue 23 items 3/4)."""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

import pytest

from neurram_lab.drivers import _lfsr_host, _mvm_host
from neurram_lab.drivers import neurram_top as nt

ROOT = Path(__file__).resolve().parents[2]
HDL = Path(os.environ.get("NEURRAM_SHARED", "/work/shared")) / "authors" / "HDL"


def hdl_read_bits(path: Path) -> dict[int, int]:
    """Wire-in -> the bits the top level reads: every ``epXXwire[hi:lo]`` slice outside comments (the whole
    word where it is used whole), declarations and the okWireIn instances left out."""
    text = re.sub(r"/\*.*?\*/", "", path.read_text(), flags=re.S)
    out: dict[int, int] = {}
    for line in text.splitlines():
        line = line.split("//")[0]
        if "okWireIn" in line or re.match(r"\s*wire\s*\[", line):
            continue
        for m in re.finditer(r"\bep([0-9A-Fa-f]{2})wire\b(\s*\[\s*(\d+)\s*(?::\s*(\d+)\s*)?\])?", line):
            ep = int(m.group(1), 16)
            if ep >= 0x20:
                continue
            if m.group(2) is None:
                bits = nt.WORD
            else:
                hi = int(m.group(3))
                lo = int(m.group(4)) if m.group(4) else hi
                bits = ((1 << (hi - lo + 1)) - 1) << lo
            out[ep] = out.get(ep, 0) | bits
    return out


@pytest.mark.parametrize("top", ["neurram_top", "neurram_top_voltage_mode", "neurram_top_sar"])
def test_the_named_wire_in_bits_are_the_bits_the_hdl_reads(top):
    path = HDL / f"{top}.v"
    if not path.is_file():
        pytest.skip(f"the authors' HDL is not here ({path} missing)")
    bs = nt.bitstream(top)
    got = {ep: bits for ep, bits in bs.wire_in_bits.items() if ep in bs.wire_ins}
    want = {ep: bits for ep, bits in hdl_read_bits(path).items() if ep in bs.wire_ins}
    assert {f"0x{k:02X}": f"0x{v:X}" for k, v in got.items()} == {f"0x{k:02X}": f"0x{v:X}" for k, v in want.items()}


def _fields_of(prefix: str):
    return {n: getattr(nt, n) for n in dir(nt) if n.startswith(prefix)
            and isinstance(getattr(nt, n), (int, nt.Field)) and not isinstance(getattr(nt, n), bool)}


ALL_TOPS = tuple(nt.BITSTREAMS)


@pytest.mark.parametrize("prefix, ep, tops", [
    ("EXT_", nt.WI_EXT, ALL_TOPS), ("NEURON_", nt.WI_NEURON, ALL_TOPS), ("SPI_", nt.WI_SPI, ALL_TOPS),
    ("MATMUL_", nt.WI_MATMUL, ALL_TOPS), ("READOUT_", nt.WI_READOUT, ALL_TOPS), ("MODE_", nt.WI_MODE, ALL_TOPS),
    ("DEBUG_", nt.WI_DEBUG, ("neurram_top",)),  # the voltage-mode top lays 0x10[27:12] out its own way
])
def test_the_fields_of_a_wire_in_do_not_overlap_and_cover_what_the_top_levels_read(prefix, ep, tops):
    fields = _fields_of(prefix)
    masks = {n: (f.mask if isinstance(f, nt.Field) else f) for n, f in fields.items()}
    names = sorted(masks)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not masks[a] & masks[b], f"{a} and {b} share bits of wire-in 0x{ep:02X}"
    union = 0
    for m in masks.values():
        union |= m
    read = 0
    for top in tops:
        read |= nt.BITSTREAMS[top].wire_in_bits.get(ep, 0)
    assert union == read, f"wire-in 0x{ep:02X}: named 0x{union:X}, read by some top level 0x{read:X}"


# the voltage-mode top's 0x10 fields and the HDL line each is sliced on: (line, the port it drives)
VM_DEBUG_LINES = {"DEBUG_LFSR_PULSE_WIDTH": (613, "lfsr_pulse_width"), "DEBUG_T_SAMPLE": (655, "t_sample"),
                  "VM_DEBUG_T_COMP": (686, "t_comp"), "VM_DEBUG_T_RESET": (687, "t_reset")}


def test_the_voltage_mode_debug_fields_are_the_slices_its_hdl_reads():
    path = HDL / "neurram_top_voltage_mode.v"
    if not path.is_file():
        pytest.skip(f"the authors' HDL is not here ({path} missing)")
    lines = path.read_text().splitlines()
    fields = {n: getattr(nt, n) for n in VM_DEBUG_LINES}
    assert tuple(fields.values()) == nt.VM_DEBUG_FIELDS
    for name, (line, port) in VM_DEBUG_LINES.items():
        f = fields[name]
        text = lines[line - 1].split("//")[0]
        hi, lo = f.lsb + f.width - 1, f.lsb
        assert re.search(rf"\b{port}\b", text) and f"ep10wire[{hi}:{lo}]" in text.replace(" ", ""), \
            f"{name}: neurram_top_voltage_mode.v:{line} is {text.strip()!r}, not {port} = ep10wire[{hi}:{lo}]"
    masks = [f.mask for f in nt.VM_DEBUG_FIELDS]
    union = 0
    for m in masks:
        assert not union & m
        union |= m
    assert union == nt.bitstream("neurram_top_voltage_mode").wire_in_bits[nt.WI_DEBUG] == hdl_read_bits(path)[nt.WI_DEBUG]


def test_no_top_level_lists_read_bits_of_a_wire_in_it_lacks():
    # the SAR top's 0x11 (energy-test cycles) is commented out (neurram_top_sar.v:143, 211, 732)
    for name, bs in nt.BITSTREAMS.items():
        assert set(bs.wire_in_bits) <= set(bs.wire_ins), name
    assert 0x11 not in nt.bitstream("neurram_top_sar").wire_ins
    path = HDL / "neurram_top_sar.v"
    if path.is_file():
        assert 0x11 not in hdl_read_bits(path)


def test_a_field_puts_and_gets_its_value():
    f = nt.MATMUL_BATCH
    assert (f.lsb, f.width, f.mask) == (10, 8, 0xFF << 10)
    assert f.put(0x1AB) == 0xAB << 10  # cut to the field's width, as the words always were
    assert f.get(f.put(200) | 0x3FF | 1 << 18) == 200


def test_the_host_words_are_the_words_they_always_were():
    """The MVM and LFSR host words, built from the named fields, against the raw formulas they replace."""
    for mult in (1, 3, 15):
        for fwd in (False, True):
            assert _mvm_host.spi_write_word(mult, fwd) == 0b10 | (mult & 0xF) << 2 | 1 << 6 | int(fwd) << 14
        assert _mvm_host.readout_word(mult) == 1 | (mult & 0xF) << 3 | 1 << 7
    for pulses in (0, 1, 255):
        assert _mvm_host.neuron_word(pulses) == 1 << 1 | 0b11 << 2 | (63 & 0xFF) << 4 | 0b01 << 12 | pulses << 14
    for batch, m_bits, pm in ((1, 1, 1), (255, 8, 31), (17, 3, 2)):
        assert _mvm_host.matmul_word(batch, m_bits, pm) == 1 | 1 << 1 | (m_bits - 1) << 2 | pm << 5 | batch << 10
    assert _mvm_host.timing_word() == 2 << 4 | 2 << 12
    assert (_mvm_host.mode_word(False), _mvm_host.mode_word(True)) == (1, 1 | 1 << 5)
    assert _lfsr_host.lfsr_word(256, 15, 2) == 256 << 12 | 2 << 4 | 15
    assert (_lfsr_host.MAX_SHIFT, _lfsr_host.MAX_PULSE_WIDTH) == (0x1FF, 0xF)


_ENDPOINT_NUMBERS = set(range(nt.TI_SYS, nt.TI_ENGINE + 1)) | set(range(nt.PI_SPI, nt.PI_ENGINE_COMMANDS + 1)) \
    | set(range(nt.PO_SPI, nt.PO_ENGINE_RESULTS + 1))
_COPY = re.compile(r"_?(WI|WO|TI|PI|PO|T|ST|NS)_[A-Z0-9_]+")


def _raw_endpoint_switches(tree: ast.AST):
    """Lines where a trigger or pipe number is compared for equality or membership (a switch on raw numbers)."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare) or not all(isinstance(o, (ast.Eq, ast.NotEq, ast.In, ast.NotIn))
                                                        for o in node.ops):
            continue
        for side in [node.left, *node.comparators]:
            consts = side.elts if isinstance(side, (ast.Tuple, ast.List, ast.Set)) else [side]
            if any(isinstance(c, ast.Constant) and type(c.value) is int and c.value in _ENDPOINT_NUMBERS
                   for c in consts):
                yield node.lineno, ast.unparse(node)


def _endpoint_copies(tree: ast.Module):
    """Module-level names that look like endpoint-map entries (WI_*, TI_*, T_*, ST_*, ...), bound to numbers."""
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if isinstance(node.value, ast.Constant) and type(node.value.value) is int:
                for t in targets:
                    if isinstance(t, ast.Name) and _COPY.fullmatch(t.id):
                        yield node.lineno, t.id


def test_the_sample_code_the_checks_read_is_caught():
    tree = ast.parse("_WI_NEURON = 0x09\nT_X = 3\ndef f(ep, bit):\n    if ep == 0x45 and bit == 8:\n        pass\n"
                     "    return ep in (0x80, 7), 0 < ep <= 64, ep == nt.TI_SYS\n")
    assert [name for _, name in _endpoint_copies(tree)] == ["_WI_NEURON", "T_X"]
    assert [line for line, _ in _raw_endpoint_switches(tree)] == [4, 6]


@pytest.mark.parametrize("module", ["fpga_board", "_mvm_host", "_lfsr_host", "_wv_engine_host", "_authors_host",
                                    "board_time", "trace_summary", "hil/emulator", "hil/__init__"])
def test_driver_emulator_timing_model_and_trace_checker_use_the_one_endpoint_map(module):
    path = ROOT / "drivers" / f"{module}.py"
    tree = ast.parse(path.read_text(), str(path))
    assert not list(_endpoint_copies(tree)), f"{module} keeps its own endpoint names; use drivers.neurram_top"
    assert not list(_raw_endpoint_switches(tree)), f"{module} switches on raw endpoint numbers"


def test_drivers_import_what_exists_without_guards():
    """No ``try: import ... except ImportError`` in drivers/ but the vendor's optional ``ok`` module, and no
    ``hasattr(module, ...)`` probing of a module of the package."""
    found = []
    for path in sorted((ROOT / "drivers").rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Try) and any(
                    isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError")
                    for h in node.handlers):
                text = ast.unparse(node)
                if "import_module('ok')" not in text and 'import_module("ok")' not in text:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "hasattr" \
                    and node.args and isinstance(node.args[0], ast.Name) and node.args[0].id.startswith("_"):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node)}")
    assert not found, found
