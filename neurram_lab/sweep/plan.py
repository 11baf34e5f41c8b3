"""Planning a sweep: the grid, the seeds and the experiment's options checked, each point named by a hash.

Nothing here starts a cluster or opens a board: :func:`plan_sweep` refuses a
bad sweep before anything runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import itertools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from ..runlog.runlog import to_json
from .table import TABLE_NAME

FIGURE_NAME = "sweep.png"
POINT_FILE = "point.json"
POINTS_DIR = "points"
# Options every experiment command has, which a sweep sets itself for each point (not sweepable).
COMMON_OPTIONS = ("board", "out", "seed", "quiet", "json", "debug")
_TWIN_SCHEMES = ("sim", "hil")


class OptionParser(argparse.ArgumentParser):
    """An experiment's option parser that raises :class:`InputError` instead of exiting.

    ``options`` lists the argparse actions of the options added to it (its
    argument groups' too), as :meth:`add_argument` returned them.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.options: list[argparse.Action] = []

    def error(self, message):  # noqa: D401 - argparse API
        raise InputError(f"{self.prog}: {message}")

    def add_argument(self, *args, **kwargs):
        action = super().add_argument(*args, **kwargs)
        if action.option_strings:
            self.options.append(action)
        return action

    def add_argument_group(self, *args, **kwargs):
        group = super().add_argument_group(*args, **kwargs)
        add = group.add_argument

        def add_argument(*a, **k):
            action = add(*a, **k)
            if action.option_strings:
                self.options.append(action)
            return action

        group.add_argument = add_argument
        return group


# ---------------------------------------------------------------- parsing
def parse_seeds(text: str) -> list[int]:
    """Die seeds from ``N``, ``N-M``, ``N,M,...`` or a mix (``1-4,9``), in order, distinct.

    Raises
    ------
    InputError
        Malformed text, a negative seed, a backwards range or no seed at all.
    """
    seeds: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        m = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", part)
        if not m:
            raise InputError(f"bad --seeds {text!r}: {part!r} is not N or N-M (non-negative integers)")
        a = int(m.group(1))
        b = int(m.group(2)) if m.group(2) is not None else a
        if b < a:
            raise InputError(f"bad --seeds {text!r}: range {part!r} runs backwards")
        if b - a >= 100_000:
            raise InputError(f"bad --seeds {text!r}: range {part!r} has more than 100000 seeds")
        seeds.extend(s for s in range(a, b + 1) if s not in seeds)
    if not seeds:
        raise InputError(f"bad --seeds {text!r}: no seed given")
    return seeds


def parse_grid(items) -> dict[str, list[str]]:
    """``{name: [values]}`` from ``--grid NAME=V1,V2,...`` items (each name once).

    Raises
    ------
    InputError
        An item without ``=``, an empty name or value, or a name given twice.
    """
    grid: dict[str, list[str]] = {}
    for item in items or ():
        name, sep, values = str(item).partition("=")
        name = name.strip()
        if not sep or not name:
            raise InputError(f"bad --grid {item!r}: expected PARAM=V1,V2,...")
        vals = [v.strip() for v in values.split(",")]
        if not values.strip() or any(not v for v in vals):
            raise InputError(f"bad --grid {item!r}: empty value in {values!r}")
        key = name if "." in name else name.replace("-", "_")
        if key in grid:
            raise InputError(f"bad --grid {item!r}: {name} is already swept")
        grid[key] = vals
    return grid


def check_scheduler(address: str) -> str:
    """A Dask scheduler address ``tcp://HOST:PORT`` (or ``tls://``), checked for form only.

    Raises
    ------
    InputError
        Not ``tcp://HOST:PORT`` / ``tls://HOST:PORT`` with a port in 1..65535.
    """
    m = re.fullmatch(r"(tcp|tls)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})", str(address).strip())
    if not m or not 1 <= int(m.group(3)) <= 65535:
        raise InputError(f"bad --scheduler {address!r}: expected tcp://HOST:PORT (port 1-65535)")
    return m.group(0)


def twin_field_names() -> dict[str, type]:
    """Every twin parameter by its dotted name (``relax.fast_sigma_s`` ...)."""
    from neurram_lab.sim_backend.params import TwinParams

    out = {}
    for sec in dataclasses.fields(TwinParams):
        for f in dataclasses.fields(sec.default_factory()):
            out[f"{sec.name}.{f.name}"] = float
    return out


def find_command(tokens: list[str]):
    """``(module, command words, rest of tokens)`` for an experiment command line.

    Raises
    ------
    InputError
        No experiment command of that name (the message lists the sweepable ones).
    """
    from neurram_lab.experiments._registry import experiment_modules

    by_command = {}
    for mod in experiment_modules().values():
        group, name = mod.COMMAND
        by_command[(group, name) if group else (name,)] = mod
    known = sorted(" ".join(c) for c in by_command)
    for n in (1, 2):
        words = tuple(tokens[:n])
        if words in by_command and (n == 2 or words[0] not in {c[0] for c in by_command if len(c) == 2}):
            return by_command[words], words, list(tokens[n:])
    given = " ".join(t for t in tokens[:2] if not t.startswith("-")) or "(none)"
    raise InputError(f"unknown experiment {given!r} to sweep; known: {', '.join(known)}")


def experiment_parser(mod, words) -> OptionParser:
    """A parser of the experiment command's own options (none of the common ones), raising InputError."""
    p = OptionParser(prog="neurram " + " ".join(words), add_help=False, allow_abbrev=False)
    mod.add_arguments(p)
    return p


# ---------------------------------------------------------------- the plan
@dataclass
class Point:
    """One point of a sweep: what a worker needs to run it (plain data, picklable)."""

    key: str
    experiment: str
    words: tuple
    module: str
    argv: list
    board: str
    seed: int
    twin: dict  # dotted twin parameter -> value (S, V, ...)
    params: dict  # column -> value, every swept parameter of this point
    out_dir: str
    twin_threads: int = 1

    @property
    def point_file(self) -> Path:
        return Path(self.out_dir) / POINT_FILE


@dataclass
class SweepPlan:
    """A checked sweep: its points in table order and the experiment's declared figure of merit."""

    experiment: str
    words: tuple
    out: Path
    grid: dict
    seeds: list
    points: list = field(default_factory=list)
    merit: str | None = None  # the experiment's figure of merit (experiments._registry.figure_of_merit)

    @property
    def table_path(self) -> Path:
        return self.out / TABLE_NAME

    @property
    def figure_path(self) -> Path:
        return self.out / FIGURE_NAME


def plan_sweep(tokens: list[str], grid_items=(), seeds: str = "0", board: str = "sim://", out="sweep",
               twin_threads: int = 1) -> SweepPlan:
    """Check a sweep's arguments and list its points; starts nothing.

    Parameters
    ----------
    tokens : list of str
        The experiment command and its options, e.g. ``["characterize", "write-verify", "--cores", "0"]``.
    grid_items : list of str
        ``PARAM=V1,V2,...``: a twin parameter by dotted name (``circuit.r_wire_ohm``) or an
        option of the experiment (``output_bits``, ``iterations`` ...).
    seeds : str
        Die seeds, ``1-8`` or ``1,3,5``.
    board : str
        Board spec; twin parameters need ``sim://`` or ``hil://``.
    out : path
        Sweep folder (table, figure, ``points/``).
    twin_threads : int
        Threads of the twin in each point.

    Raises
    ------
    InputError
        Unknown experiment, unknown parameter, malformed grid or seeds, options the experiment
        refuses, or twin parameters on a board that is not the twin.
    """
    from ..board.registry import parse_spec
    from ..experiments._registry import figure_of_merit

    mod, words, argv = find_command(list(tokens))
    parser = experiment_parser(mod, words)
    for tok in argv:
        opt = tok.split("=", 1)[0]
        if opt in ("--seed", "--board", "--out", "--json", "--quiet", "--debug"):
            raise InputError(f"{opt} is a sweep option here: give it outside the experiment's options"
                             + (" (the dies are --seeds)" if opt == "--seed" else ""))
    parser.parse_args(argv)  # the experiment's own options, checked once as given
    grid = parse_grid(grid_items)
    seed_list = parse_seeds(seeds)
    scheme, _, board_opts = parse_spec(board)
    twin_fields = twin_field_names()
    actions = {a.dest: a for a in parser.options if a.dest not in COMMON_OPTIONS}
    kinds = {}
    for name, values in grid.items():
        if "." in name:
            if name not in twin_fields:
                sec = name.split(".", 1)[0]
                near = sorted(f for f in twin_fields if f.startswith(sec + "."))
                raise InputError(f"unknown twin parameter {name!r} in --grid; "
                                 + (f"{sec} has: {', '.join(n.split('.', 1)[1] for n in near)}" if near else
                                    f"sections: {', '.join(sorted({f.split('.')[0] for f in twin_fields}))}"))
            if scheme not in _TWIN_SCHEMES:
                raise InputError(f"--grid {name}: twin parameters need a twin board (sim:// or hil://), not {board!r}")
            for v in values:
                try:
                    x = float(v)
                except ValueError:
                    raise InputError(f"--grid {name}: {v!r} is not a number") from None
                if not math.isfinite(x):
                    raise InputError(f"--grid {name}: {v!r} is not a finite number")
            kinds[name] = "twin"
        else:
            if name in COMMON_OPTIONS:
                raise InputError(f"--grid {name}: not sweepable here" + (" (the dies are --seeds)" if name == "seed" else ""))
            if name not in actions:
                raise InputError(f"unknown parameter {name!r} in --grid: not a twin parameter (section.name) nor an "
                                 f"option of '{' '.join(words)}' (its options: "
                                 f"{', '.join(sorted(actions)) or 'none'})")
            act = actions[name]
            if act.nargs == 0:
                for v in values:
                    if v.lower() not in ("true", "false", "1", "0", "yes", "no"):
                        raise InputError(f"--grid {name}: {act.option_strings[0]} is a flag; give true/false, not {v!r}")
            kinds[name] = "option"
    twin_base = {}
    if scheme in _TWIN_SCHEMES and "params" in board_opts and any(k == "twin" for k in kinds.values()):
        from neurram_lab.sim_backend.params import TwinParams

        twin_base = TwinParams.from_file(board_opts["params"]).to_dict()  # checks the file now
    out = Path(out).resolve()
    plan = SweepPlan(mod.EXPERIMENT, words, out, grid, seed_list, merit=figure_of_merit(mod))
    names = list(grid)
    for combo in itertools.product(*(grid[n] for n in names)):
        extra, twin, shown = [], {}, {}
        for name, value in zip(names, combo):
            if kinds[name] == "twin":
                twin[name] = float(value)
                shown[name] = float(value)
            else:
                act = actions[name]
                if act.nargs == 0:
                    on = value.lower() in ("true", "1", "yes")
                    if on != bool(act.default):
                        extra.append(act.option_strings[0])
                else:
                    extra += [act.option_strings[-1], value]
        full = argv + extra
        ns = parser.parse_args(full)  # every grid value checked by the experiment's own types
        for name in names:
            if kinds[name] == "option":
                shown[name] = getattr(ns, name)
        options = {k: v for k, v in sorted(vars(ns).items()) if k not in COMMON_OPTIONS and not k.startswith("_")}
        for seed in seed_list:
            ident = {"experiment": mod.EXPERIMENT, "command": list(words), "options": options, "board": board,
                     "twin_base": twin_base, "twin": twin, "seed": seed}
            key = hashlib.sha1(to_json(ident).encode()).hexdigest()[:16]
            plan.points.append(Point(key=key, experiment=mod.EXPERIMENT, words=tuple(words), module=mod.__name__,
                                     argv=list(full), board=board, seed=seed, twin=dict(twin), params=dict(shown),
                                     out_dir=str(out / POINTS_DIR / key), twin_threads=int(twin_threads)))
    return plan
