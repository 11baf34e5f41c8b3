"""drivers/ has one endpoint map (drivers.neurram_top) and plain imports of its own modules (issue 23 items 3-4).

Source checks (ast, no board): no driver module assigns an endpoint number to a ``WI_/WO_/TI_/PI_/PO_`` name
outside ``neurram_top.py``; no ``except ImportError`` around an import of a project module and no
``hasattr(module, ...)`` capability check; the boards' behaviour still follows the map (capabilities, the
trace checker's unknown endpoints).
"""

from __future__ import annotations

import ast
import pathlib

import pytest

from neurram_lab.drivers import neurram_top as nt

DRIVERS = pathlib.Path(nt.__file__).resolve().parent
ENDPOINT_PREFIXES = ("WI_", "WO_", "TI_", "PI_", "PO_")


def _driver_sources():
    for p in sorted(DRIVERS.rglob("*.py")):
        if "hdl" in p.parts:
            continue
        yield p, ast.parse(p.read_text(), str(p))


def _int_literal(node) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool)


def test_endpoint_numbers_are_named_only_in_neurram_top():
    found = []
    for p, tree in _driver_sources():
        if p.name == "neurram_top.py" and p.parent == DRIVERS:
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Assign):
                continue
            for tgt in node.targets:
                names = [tgt] if isinstance(tgt, ast.Name) else list(getattr(tgt, "elts", []))
                values = [node.value] if isinstance(tgt, ast.Name) else list(getattr(node.value, "elts", []))
                for n, v in zip(names, values):
                    if isinstance(n, ast.Name) and n.id.lstrip("_").startswith(ENDPOINT_PREFIXES) and _int_literal(v):
                        found.append(f"{p.relative_to(DRIVERS)}:{node.lineno} {n.id} = {v.value:#x}")
    assert not found, "endpoint numbers outside drivers/neurram_top.py: " + "; ".join(found)


def _imports_project_module(body) -> bool:
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.ImportFrom) and (node.level > 0 or (node.module or "").startswith("neurram_lab")):
                return True
            if isinstance(node, ast.Import) and any(a.name.startswith("neurram_lab") for a in node.names):
                return True
    return False


def test_no_import_guards_or_hasattr_checks_for_project_modules():
    found = []
    for p, tree in _driver_sources():
        modules = set()  # names bound to imported modules (import x as y, from . import y)
        for node in ast.walk(tree):
            if isinstance(node, ast.Try) and _imports_project_module(node.body):
                for h in node.handlers:
                    names = [h.type] if not isinstance(h.type, ast.Tuple) else h.type.elts
                    if any(isinstance(n, ast.Name) and n.id in ("ImportError", "ModuleNotFoundError") for n in names):
                        found.append(f"{p.relative_to(DRIVERS)}:{h.lineno} except ImportError around a project import")
            if isinstance(node, ast.ImportFrom) and node.level > 0:
                modules.update(a.asname or a.name for a in node.names)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "hasattr"
                    and node.args and isinstance(node.args[0], ast.Name) and node.args[0].id in modules
                    and node.args[0].id.startswith("_")):
                found.append(f"{p.relative_to(DRIVERS)}:{node.lineno} hasattr({node.args[0].id}, ...)")
    assert not found, "; ".join(found)


def test_the_checker_catches_a_guard_it_is_meant_to_catch(tmp_path):
    """The two source checks are not vacuous: a module with the old guards fails them."""
    src = ("try:\n    from ._mvm_host import capabilities\nexcept ImportError:\n    capabilities = None\n"
           "from . import _mvm_host\nok = hasattr(_mvm_host, 'run_mvm')\nWO_STATUS = 0x28\n")
    tree = ast.parse(src)
    assert _imports_project_module(tree.body[0].body)
    assigns = [n for n in ast.walk(tree) if isinstance(n, ast.Assign) and _int_literal(n.value)]
    assert [a.targets[0].id for a in assigns] == ["WO_STATUS"]


def test_every_trigger_bit_of_every_bitstream_has_a_name():
    named = {(v_ep, getattr(nt, b)) for b in dir(nt) if b.startswith("T_") and isinstance(getattr(nt, b), int)
             for v_ep in (nt.TI_SYS, nt.TI_DAC, nt.TI_ADC, nt.TI_SPI, nt.TI_NEURON, nt.TI_ENGINE)}
    for bs in nt.BITSTREAMS.values():
        assert bs.triggers <= named, (bs.name, sorted(bs.triggers - named))
    # the 0x28 word: the names the MVM host polls and the emulated FSM sets are one table
    ns = {b: getattr(nt, b) for b in dir(nt) if b.startswith("NS_")}
    assert len(set(ns.values())) == len(ns) == 15 and max(ns.values()) == 1 << 14
    assert nt.WO_STATUS == 0x20 and nt.WO_NEURON_STATUS == 0x28 and nt.WO_ENGINE_STATUS == 0x23


@pytest.mark.parametrize("bitstream", ["neurram_top", "neurram_top_wv"])
def test_hil_board_declares_the_mvm_capabilities_and_a_time_model(bitstream):
    from neurram_lab.drivers import _mvm_host
    from neurram_lab.drivers.board_time import BoardTimeModel
    from neurram_lab.drivers.hil import open_hil

    with open_hil(seed=0, bitstream=bitstream) as b:
        caps = b.capabilities()
        assert caps.output_bits == (1, _mvm_host.MAX_OUTPUT_BITS)
        assert caps.directions == ("forward", "backward")
        assert isinstance(b.board_time, BoardTimeModel)
        assert b.counters()["predicted_board_time_s"] == b.board_time.predicted_s > 0


def test_the_mvm_host_keeps_no_alias_of_the_status_word():
    """0x28 has one name, nt.WO_NEURON_STATUS: the MVM host's old WO_STATUS (0x28 where nt.WO_STATUS is 0x20)
    is gone, so the clashing name cannot come back by import."""
    from neurram_lab.drivers import _mvm_host as mh

    assert not hasattr(mh, "WO_STATUS")
