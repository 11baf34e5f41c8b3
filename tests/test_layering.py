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


# ------------------------------------------------------------------ private names
# The rule: a private name (one leading underscore, not a dunder) is its package's own. In a module of
# package P (``neurram_lab.<sub>``, ``neurram_lab`` for the modules directly in it, ``benchmarks``),
# ``expr._name`` with ``expr`` other than ``self``, ``cls`` or ``super()`` is refused when another package Q
# defines ``_name`` (as a function, method or class, a module-level or class-level assignment, an attribute
# assigned on ``self``/``cls``, a module-level import alias, or a module or package file ``_name(.py)``) and
# either P imports Q (lazy imports too: Q's objects reach P that way) or P does not define ``_name`` itself.
# So a name only P defines is P's own (same-package access); a hook P declares and packages above it
# implement (the contract's ``_pulse``, defined again by every board) stays P's; a name no package defines
# is a third party's (argparse, namedtuple's ``_asdict``) and outside the rule. Which object ``expr`` is
# cannot be read from the source, so where P and a package it imports both define the name, the access is
# taken to be a reach: use a public name. The CLI and the benchmarks, which nothing imports, define names
# only for themselves. KNOWN_REACHES lists what the tree still does (path, name): it may only shrink.
IMPORTED_BY_NONE = ("neurram_lab.cli", "benchmarks")
KNOWN_REACHES = {
    # argparse's namespace attribute the CLI sets with set_defaults(_module=...), not drivers' _module
    ("neurram_lab/cli/cli.py", "_module"),
}


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__") and name != "_"


def package_of(path: Path) -> str:
    """The package a module belongs to for the private-name rule."""
    parts = path.relative_to(ROOT).parts
    if parts[0] in INSTALLED_UNDER:
        return f"neurram_lab.{parts[0]}"
    if parts[0] == "neurram_lab":
        return f"neurram_lab.{parts[1]}" if len(parts) > 2 else "neurram_lab"
    return parts[0]


def _sources():
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            if "__pycache__" not in path.parts:
                yield path, ast.parse(path.read_text(), str(path))


def private_definitions(path: Path, tree: ast.Module) -> set[str]:
    """The private names ``path`` defines (see the rule above)."""
    out = {p for p in (path.stem, path.parent.name) if _private(p)} if path.name == "__init__.py" else \
        ({path.stem} if _private(path.stem) else set())
    scoped = list(tree.body) + [n for c in ast.walk(tree) if isinstance(c, ast.ClassDef) for n in c.body]
    for node in scoped:  # module- and class-level bindings
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else []
        for t in targets:
            out.update(n.id for n in ast.walk(t) if isinstance(n, ast.Name) and _private(n.id))
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            out.update(a.asname for a in node.names if a.asname and _private(a.asname))
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and _private(node.name):
            out.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            for t in node.targets if isinstance(node, ast.Assign) else [node.target]:
                for n in ast.walk(t):
                    if isinstance(n, ast.Attribute) and _own(n.value) and _private(n.attr):
                        out.add(n.attr)
    return out


def _own(expr: ast.expr) -> bool:
    """``self``, ``cls`` or ``super()``: the object's own names."""
    if isinstance(expr, ast.Name):
        return expr.id in ("self", "cls")
    return isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "super" and not expr.args


def package_of_module(module: str) -> str:
    """The package of a dotted module name (as :func:`package_of` for its file)."""
    parts = module.split(".")
    if parts[0] == "neurram_lab":
        return ".".join(parts[:2]) if len(parts) > 2 or (len(parts) == 2 and parts[1] in INSTALLED_UNDER) \
            or (len(parts) == 2 and (ROOT / "neurram_lab" / parts[1]).is_dir()) else "neurram_lab"
    return parts[0]


def package_imports(sources) -> dict[str, set[str]]:
    """Package -> the packages its modules import (lazy imports included)."""
    out: dict[str, set[str]] = {}
    for path, _ in sources:
        pkg = package_of(path)
        for _, target in imports(path):
            out.setdefault(pkg, set()).add(package_of_module(target))
    return out


def private_reaches(sources, imported=None) -> list[tuple[str, int, str, str, list[str]]]:
    """``(path, line, expression, name, the other packages it is taken from)`` of every refused ``expr._name``."""
    owners: dict[str, set[str]] = {}
    for path, tree in sources:
        for name in private_definitions(path, tree):
            owners.setdefault(name, set()).add(package_of(path))
    imported = package_imports(sources) if imported is None else imported
    out = []
    for path, tree in sources:
        pkg = package_of(path)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and _private(node.attr)) or _own(node.value):
                continue
            defined = owners.get(node.attr, set())
            others = sorted(q for q in defined if q != pkg and q not in IMPORTED_BY_NONE
                            and (q in imported.get(pkg, ()) or pkg not in defined))
            if others:
                out.append((str(path.relative_to(ROOT)), node.lineno, ast.unparse(node), node.attr, others))
    return out


def test_the_private_name_rule_sees_a_reach_and_allows_own_names():
    """The rule itself, on a small tree: another package's private attribute is refused, also where the
    accessing package has a name of its own spelt the same; the package's own names (self, same package, a
    hook it declares that others implement) and names no package defines are not."""
    def parse(rel: str, text: str):
        return ROOT / rel, ast.parse(text)  # package_of reads the path only

    srcs = [parse("sim_backend/twin.py", "class T:\n    def __init__(self):\n        self._rails = {}\n"
                                         "    def _step(self):\n        return self._rails\n"
                                         "    def _pulse(self):\n        pass\n"),
            parse("drivers/emu.py", "def f(twin, args, row):\n    twin._rails['v'] = 1\n    twin._step()\n"
                                    "    row._asdict()\n    return args._private_to_nobody\n"),
            parse("drivers/host.py", "class B:\n    def __init__(self):\n        self._rails = {}\n"
                                     "    def _link(self):\n        return self._link\n"
                                     "def g(board):\n    return board._link\n"),
            parse("neurram_lab/board/contract.py", "class Board:\n    def _pulse(self):\n        pass\n"
                                                   "def call(b):\n    b._pulse()\n")]
    imported = {"neurram_lab.drivers": {"neurram_lab.sim_backend", "neurram_lab.board"},
                "neurram_lab.sim_backend": {"neurram_lab.board"}}
    got = {(str(p), name): others for p, _, _, name, others in private_reaches(srcs, imported)}
    assert got == {("drivers/emu.py", "_rails"): ["neurram_lab.sim_backend"],
                   ("drivers/emu.py", "_step"): ["neurram_lab.sim_backend"]}


def test_no_module_reaches_into_another_package_s_private_names():
    found = private_reaches(list(_sources()))
    bad = [f"{p}:{line}: {expr} ({name} is defined in {', '.join(others)})"
           for p, line, expr, name, others in found if (p, name) not in KNOWN_REACHES]
    assert not bad, ("private names belong to their package; use a public name (or, for a reach that is being "
                     "removed, KNOWN_REACHES):\n" + "\n".join(bad))
    stale = sorted(KNOWN_REACHES - {(p, name) for p, _, _, name, _ in found})
    assert not stale, f"reaches gone from the tree: remove them from KNOWN_REACHES, so it only shrinks: {stale}"
