"""The folders are the architecture: every import points down the stack (read from the source, with ast).

From the bottom: the errors and private helpers; the Board contract
(``neurram_lab.board``, which is tier 1 too) and the run log (``runlog``);
tier 2 programming (``program``) and MVM (``mvm``); tier 3 (``deploy``); the
experiments; the sweep
(``sweep``); the CLI on top, which nothing imports. The twin (``sim_backend``)
and the drivers stand beside the contract: they import the contract, the
errors and the helpers, never a tier.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("neurram_lab", "sim_backend", "drivers", "experiments", "benchmarks")  # folders

# level of each part of neurram_lab (a module may import its own level and below)
LEVELS = [
    ("neurram_lab.errors", 0), ("neurram_lab._files", 0), ("neurram_lab._jit", 0), ("neurram_lab._data", 0),
    ("neurram_lab.validate", 0),
    ("neurram_lab.board", 1), ("neurram_lab._cores", 1),
    ("neurram_lab.runlog", 2),
    ("neurram_lab.program", 3),
    ("neurram_lab.mvm", 4),
    ("neurram_lab.deploy", 5),
    ("neurram_lab.experiments", 6),
    ("neurram_lab.sweep", 7),
    ("neurram_lab.cli", 8),
]
CONTRACT_LEVEL = 1  # what sim_backend and drivers may import from neurram_lab
FACADE = "neurram_lab"  # the package __init__: the public API, re-exporting every tier


def level(module: str) -> int | None:
    for prefix, lvl in LEVELS:
        if module == prefix or module.startswith(prefix + "."):
            return lvl
    return None


INSTALLED_UNDER = ("experiments", "drivers", "sim_backend")  # folders installed as neurram_lab.<folder>
BESIDE = ("neurram_lab.sim_backend", "neurram_lab.drivers")  # the twin and the drivers, beside the contract


def beside(module: str) -> bool:
    return any(module == b or module.startswith(b + ".") for b in BESIDE)


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[0] in INSTALLED_UNDER:
        parts = ["neurram_lab"] + parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _exists(module: str) -> bool:
    parts = module.split(".")
    if len(parts) > 1 and parts[0] == "neurram_lab" and parts[1] in INSTALLED_UNDER:
        parts = parts[1:]
    base = ROOT.joinpath(*parts)
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def imports(path: Path):
    """``(line, imported module)`` of every import in ``path``, relative ones resolved, lazy ones included."""
    mod = module_name(path)
    pkg = mod if is_package(path) else mod.rpartition(".")[0]
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node.lineno, a.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")[: len(pkg.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            for a in node.names:  # ``from pkg import submodule`` imports the submodule
                sub = f"{target}.{a.name}"
                yield node.lineno, sub if _exists(sub) else target


def all_imports():
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            for line, target in imports(path):
                yield path, module_name(path), line, target


def where(path, line):
    return f"{path.relative_to(ROOT)}:{line}"


def test_resolver_sees_the_known_imports():
    found = {(m, t) for _, m, _, t in all_imports()}
    assert ("neurram_lab.sim_backend.chip", "neurram_lab.board.contract") in found
    assert ("neurram_lab.mvm.mvm", "neurram_lab.program.weights") in found
    assert ("neurram_lab.sim_backend._kernels", "neurram_lab._jit") in found


def test_twin_and_drivers_depend_only_on_the_contract():
    bad = []
    for path, mod, line, target in all_imports():
        if not beside(mod) or not target.startswith("neurram_lab") or beside(target):
            continue
        lvl = level(target)
        if target == FACADE or lvl is None or lvl > CONTRACT_LEVEL:
            bad.append(f"{where(path, line)} imports {target}")
    assert not bad, "the twin and the drivers may import only the Board contract, errors and helpers:\n" + "\n".join(bad)


def test_nothing_imports_the_cli():
    bad = [f"{where(p, line)} imports {t}" for p, mod, line, t in all_imports()
           if level(t) == 8 and level(mod) != 8]
    assert not bad, "\n".join(bad)


def test_tiers_import_only_downwards():
    bad = []
    for path, mod, line, target in all_imports():
        lm, lt = level(mod), level(target)
        if lm is None or mod == FACADE:
            continue
        if target == FACADE and lm <= 5:
            bad.append(f"{where(path, line)}: {mod} imports the package facade (import the module instead)")
        elif lt is not None and lt > lm:
            bad.append(f"{where(path, line)}: {mod} (level {lm}) imports {target} (level {lt})")
        elif lm <= 5 and beside(target):
            bad.append(f"{where(path, line)}: {mod} asks which board it runs on ({target})")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("name", ["experiments", "drivers", "sim_backend", "benchmarks"])
def test_no_generic_top_level_names(name):
    """The experiments, drivers and twin are ``neurram_lab.<folder>``; the benchmarks are not imported by the package."""
    scanned = ("neurram_lab", "sim_backend", "drivers", "experiments") + (("tests",) if name != "benchmarks" else ())
    bad = []
    for top in scanned:
        for path in sorted((ROOT / top).rglob("*.py")):
            if "__pycache__" in path.parts or path == Path(__file__).resolve():
                continue
            for line, target in imports(path):
                if target.split(".")[0] == name:
                    bad.append(f"{where(path, line)} imports {target}")
    assert not bad, "\n".join(bad)
