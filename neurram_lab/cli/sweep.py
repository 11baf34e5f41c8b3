"""Sweeps: one experiment command over a grid of twin parameters and dies, each point a Dask task.

A sweep is planned here (every argument checked before any cluster starts),
then each point runs as a task on Dask distributed: a ``LocalCluster`` of
single-threaded worker processes, or an existing cluster given by its
scheduler address. A point is a normal run of the experiment's CLI command
(same options, same run file, replayable with ``neurram replay``) with the
die seed ``--seed`` and a twin-parameter file of the point's overrides; it
writes, in its own folder ``OUT/points/<key>/``, the run file, the figure and
``point.json`` (its row of the table). The key hashes the experiment, its
options, the board, the twin overrides and the seed, so a sweep run again
finds its finished points and skips them. The table ``OUT/sweep.csv`` is
rewritten (atomically) as each point finishes; the figure ``OUT/sweep.png``
shows a figure of merit against each swept parameter (mean and spread over
seeds).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import itertools
import json
import math
import os
import re
import socket
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError, NeuRRAMError
from ..runlog.runlog import to_json

TABLE_NAME = "sweep.csv"
FIGURE_NAME = "sweep.png"
POINT_FILE = "point.json"
POINTS_DIR = "points"

# Figure of merit drawn by default, per experiment command (else the first numeric figure).
DEFAULT_MERIT = {
    "characterize write-verify": "sigma_us_by_iteration[-1]",  # spread after settling, after the last pass
    "characterize relaxation": "sigma_mean_us",
    "characterize mvm": "rmse_lsb",
    "deploy mnist-cnn": "accuracy",
    "deploy rbm-recovery": "l2_reduction",
    "demo": "in_window_fraction",
}
# Common CLI options a sweep sets itself for every point (not sweepable, not experiment options).
_COMMON_DESTS = ("board", "out", "seed", "quiet", "json", "debug")
# Row columns written by the sweep (summary figures of the same name get a "summary." prefix).
_ROW_KEYS = ("point", "experiment", "seed", "status", "error", "run_file", "run_file_bytes", "point_wall_s", "worker")
_LIST_MAX = 32  # summary lists up to this length become indexed columns; longer ones stay in the run file
_TWIN_SCHEMES = ("sim", "hil")
CONNECT_TIMEOUT_S = 30.0  # how long to wait for a --scheduler to answer


class SweepError(NeuRRAMError, RuntimeError):
    """The sweep could not run: its Dask cluster could not be reached or started."""


class _Parser(argparse.ArgumentParser):
    """An argument parser that raises :class:`InputError` instead of exiting."""

    def error(self, message):  # noqa: D401 - argparse API
        raise InputError(f"{self.prog}: {message}")


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


def experiment_parser(mod, words) -> argparse.ArgumentParser:
    """The experiment command's own parser (its options and the common ones), raising InputError."""
    from .cli import _common

    p = _Parser(prog="neurram " + " ".join(words), add_help=False, allow_abbrev=False)
    mod.add_arguments(p)
    _common(p)
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
    """A checked sweep: its points in table order."""

    experiment: str
    words: tuple
    out: Path
    grid: dict
    seeds: list
    points: list = field(default_factory=list)

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

    Raises
    ------
    InputError
        Unknown experiment, unknown parameter, malformed grid or seeds, options the experiment
        refuses, or twin parameters on a board that is not the twin.
    """
    from ..board.registry import parse_spec

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
    actions = {a.dest: a for a in parser._actions if a.option_strings and a.dest not in _COMMON_DESTS
               and a.dest != "help"}
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
            if name in _COMMON_DESTS:
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
    plan = SweepPlan(mod.EXPERIMENT, words, out, grid, seed_list)
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
        options = {k: v for k, v in sorted(vars(ns).items()) if k not in _COMMON_DESTS and not k.startswith("_")}
        for seed in seed_list:
            ident = {"experiment": mod.EXPERIMENT, "command": list(words), "options": options, "board": board,
                     "twin_base": twin_base, "twin": twin, "seed": seed}
            key = hashlib.sha1(to_json(ident).encode()).hexdigest()[:16]
            plan.points.append(Point(key=key, experiment=mod.EXPERIMENT, words=tuple(words), module=mod.__name__,
                                     argv=list(full), board=board, seed=seed, twin=dict(twin), params=dict(shown),
                                     out_dir=str(out / POINTS_DIR / key), twin_threads=int(twin_threads)))
    return plan


# ---------------------------------------------------------------- one point (runs on a worker)
def run_point(point: Point) -> dict:
    """Run one point of a sweep; returns its table row (never raises for the experiment's errors).

    Runs the experiment's CLI ``main`` with ``--seed`` = the point's die, the
    twin overrides in ``twin.json`` beside its run file, the twin on
    ``point.twin_threads`` threads (and BLAS on one), output quiet, and glibc
    keeping the twin's freed memory mapped for the worker's life
    (``NEURRAM_MALLOC_TUNING=1`` unless the worker's environment sets it). The row
    (also written to ``point.json``) holds the swept parameters, the seed, the
    status (``ok`` / ``error``), the error, the run file, its size and every
    summary figure.
    """
    import importlib

    os.environ["NEURRAM_TWIN_THREADS"] = str(point.twin_threads)
    # A worker exists to run points: the twin keeps freed memory mapped for the next call and point
    # (unless the worker's environment says NEURRAM_MALLOC_TUNING=0).
    os.environ.setdefault("NEURRAM_MALLOC_TUNING", "1")
    t0 = time.perf_counter()
    out_dir = Path(point.out_dir)
    row = {"point": point.key, "experiment": point.experiment, "seed": point.seed, **point.params,
           "status": "error", "error": "", "run_file": "", "run_file_bytes": None, "point_wall_s": None,
           "worker": f"{socket.gethostname()}:{os.getpid()}"}
    tb = ""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        from threadpoolctl import threadpool_limits

        from ..board.registry import parse_spec

        mod = importlib.import_module(point.module)
        parser = experiment_parser(mod, point.words)
        ns = parser.parse_args(point.argv + ["--board", point.board, "--seed", str(point.seed),
                                             "--out", str(out_dir), "--quiet"])
        params_file = None
        if point.twin:
            from neurram_lab.sim_backend.params import TwinParams

            base = parse_spec(point.board)[2].get("params")
            tp = TwinParams.from_file(base) if base else TwinParams()
            over: dict = {}
            for name, value in point.twin.items():
                sec, fname = name.split(".", 1)
                over.setdefault(sec, {})[fname] = value
            merged = tp.to_dict()
            for sec, vals in over.items():
                merged[sec].update(vals)
            TwinParams.from_dict(merged)  # a bad value is this point's error
            params_file = out_dir / "twin.json"
            _write_atomic(params_file, json.dumps(merged, indent=1, sort_keys=True))
        ctx = _PointContext(ns, params_file)
        with threadpool_limits(1):
            summary = mod.main(ns, ctx) or {}
        row["status"] = "ok"
        run_file = summary.get("run_file")
        if run_file:
            row["run_file"] = str(run_file)
            row["run_file_bytes"] = os.path.getsize(run_file)
        for k, v in flatten_summary(summary).items():
            if k in ("run_file", "run_file_bytes"):
                continue
            row[k if k not in row else f"summary.{k}"] = v
    except Exception as exc:  # noqa: BLE001 - a point that raises is recorded, the sweep goes on
        row["status"] = "error"
        row["error"] = f"{type(exc).__name__}: {exc}"
        tb = traceback.format_exc()
        if not row["run_file"]:  # an interrupted run file is still worth pointing at
            h5 = sorted(out_dir.glob("*.h5"), key=lambda p: p.stat().st_mtime) if out_dir.is_dir() else []
            if h5:
                row["run_file"], row["run_file_bytes"] = str(h5[-1]), h5[-1].stat().st_size
    row["point_wall_s"] = time.perf_counter() - t0
    try:
        _write_atomic(point.point_file, json.dumps({"row": row, "argv": point.argv, "board": point.board,
                                                   "twin": point.twin, "traceback": tb}, default=str))
    except OSError as exc:
        row["status"], row["error"] = "error", f"cannot write {point.point_file}: {exc}"
    return row


class _PointContext:
    """What an experiment's CLI ``main`` gets inside a sweep point (quiet, the point's seed and twin file)."""

    def __init__(self, ns, params_file):
        from .cli import CliContext

        self._cli = CliContext(ns)
        self._params_file = params_file
        self.args, self.board_spec, self.seed = ns, ns.board, ns.seed
        self.out, self.quiet, self.json = self._cli.out, True, False

    def open_board(self, **options):
        if self._params_file is not None:
            options.setdefault("params", str(self._params_file))
        return self._cli.open_board(**options)

    show_progress = False

    def progress(self, total, desc, unit="it"):
        return self._cli.progress(total, desc, unit)

    def say(self, text):
        pass


def flatten_summary(summary: dict, prefix: str = "") -> dict:
    """Scalar summary figures by column name: nested dicts dotted, short lists indexed ``name[i]``.

    Lists longer than 32 entries (and deeper structures) are left to the run file's summary.
    """
    out = {}
    for k, v in summary.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten_summary(v, name + "."))
        elif isinstance(v, (list, tuple)):
            if len(v) <= _LIST_MAX and all(_is_scalar(x) for x in v):
                out.update({f"{name}[{i}]": _plain(x) for i, x in enumerate(v)})
        elif _is_scalar(v):
            out[name] = _plain(v)
    return out


def _plain(v):
    return v.item() if hasattr(v, "item") else v


def _is_scalar(v) -> bool:
    return v is None or isinstance(v, (bool, int, float, str)) or (hasattr(v, "item") and getattr(v, "ndim", 1) == 0)


def _write_atomic(path: Path, text: str) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def finished_row(point: Point) -> dict | None:
    """The row of a point finished by an earlier run of the sweep, or None."""
    try:
        data = json.loads(point.point_file.read_text())
    except (OSError, ValueError):
        return None
    row = data.get("row") if isinstance(data, dict) else None
    if not isinstance(row, dict) or row.get("status") != "ok" or row.get("point") != point.key:
        return None
    if row.get("run_file") and not Path(row["run_file"]).exists():
        return None
    return row


# ---------------------------------------------------------------- the sweep
def write_table(plan: SweepPlan, rows: dict) -> Path:
    """Write (atomically) the table of the points finished so far, in plan order."""
    import pandas as pd

    ordered = [rows[p.key] for p in plan.points if p.key in rows]
    cols: list = []
    for r in ordered:
        cols += [c for c in r if c not in cols]
    head = ["point", "experiment", "seed", *plan.grid, "status", "error", "run_file", "run_file_bytes",
            "point_wall_s", "worker"]  # also the header of a table with no point finished yet
    df = pd.DataFrame(ordered, columns=head + [c for c in cols if c not in head])
    plan.out.mkdir(parents=True, exist_ok=True)
    _write_atomic(plan.table_path, df.to_csv(index=False))
    return plan.table_path


def read_table(path) -> "pd.DataFrame":  # noqa: F821
    """A sweep table as a pandas DataFrame."""
    import pandas as pd

    return pd.read_csv(path)


def choose_merit(plan: SweepPlan, rows: list, merit: str | None = None) -> str | None:
    """The figure of merit: ``merit`` if given, else the experiment's default, else the first numeric figure."""
    ok = [r for r in rows if r.get("status") == "ok"]
    if merit:
        return _last_index(merit, ok)
    default = _last_index(DEFAULT_MERIT.get(" ".join(plan.words)) or "", ok)
    if default and any(isinstance(r.get(default), (int, float)) for r in ok):
        return default
    skip = set(_ROW_KEYS) | set(plan.grid) | {"wall_s", "board_time_s"}
    for r in ok:
        for k, v in r.items():
            if k not in skip and isinstance(v, (int, float)) and not isinstance(v, bool):
                return k
    return None


def _last_index(name: str, rows: list) -> str:
    """``figure[-1]`` -> the column of the last entry of that list figure (``figure[2]``)."""
    if not name.endswith("[-1]"):
        return name
    base = name[:-4]
    found = [int(m.group(1)) for r in rows for k in r for m in [re.fullmatch(re.escape(base) + r"\[(\d+)\]", k)] if m]
    return f"{base}[{max(found)}]" if found else name


def draw_figure(plan: SweepPlan, rows: list, merit: str) -> Path | None:
    """Figure of merit against each swept parameter (mean ± std over seeds); against the seed when none is swept."""
    import numpy as np
    import pandas as pd

    df = pd.DataFrame([r for r in rows if r.get("status") == "ok"])
    if df.empty or merit not in df or not pd.api.types.is_numeric_dtype(df[merit]):
        return None
    from neurram_lab.experiments._common import pyplot

    plt = pyplot()
    names = list(plan.grid) or ["seed"]
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names) + 1, 3.6), layout="constrained", squeeze=False)
    for ax, name in zip(axes[0], names):
        if name == "seed":
            ax.plot(df["seed"], df[merit], "o")
            ax.axhline(df[merit].mean(), color="k", lw=0.8, ls="--", label=f"mean {df[merit].mean():.4g}")
            ax.legend(fontsize=8)
        else:
            others = [n for n in plan.grid if n != name]
            xs = list(dict.fromkeys(v for v in (r.params[name] for r in plan.points)))
            numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in xs)
            pos = {v: (float(v) if numeric else i) for i, v in enumerate(xs)}
            groups = df.groupby(others, dropna=False) if others else [((), df)]
            for gkey, g in groups:
                stats = g.groupby(name)[merit].agg(["mean", "std", "count"]).reindex(xs).dropna(subset=["mean"])
                if stats.empty:
                    continue
                x = [pos[v] for v in stats.index]
                gkey = gkey if isinstance(gkey, tuple) else (gkey,)
                label = ", ".join(f"{o}={v:g}" if isinstance(v, float) else f"{o}={v}" for o, v in zip(others, gkey))
                ax.errorbar(x, stats["mean"], yerr=np.nan_to_num(stats["std"].to_numpy()), marker="o", capsize=3,
                            label=label or None)
            if not numeric:
                ax.set_xticks(list(pos.values()), [str(v) for v in xs])
            if others:
                ax.legend(fontsize=7)
        ax.set_xlabel(name)
        ax.set_ylabel(merit)
    n_seeds = len(plan.seeds)
    fig.suptitle(f"sweep of {' '.join(plan.words)}: {merit}, mean ± std over {n_seeds} die{'s' * (n_seeds > 1)}",
                 fontsize=9)
    fig.savefig(plan.figure_path, dpi=90)
    plt.close(fig)
    return plan.figure_path


def run_sweep(plan: SweepPlan, workers: int | None = None, scheduler: str | None = None, merit: str | None = None,
              progress=None) -> dict:
    """Run the points of ``plan`` not finished yet on Dask; returns the sweep's summary.

    Parameters
    ----------
    workers : int, optional
        Worker processes of a ``LocalCluster`` (one thread each); default: the CPUs, at most the points to run.
    scheduler : str, optional
        ``tcp://HOST:PORT`` of a running Dask scheduler instead of a local cluster.
    progress : callable, optional
        ``progress(total, desc, unit)`` -> tqdm-like bar counting points.

    Raises
    ------
    SweepError
        The scheduler cannot be reached or the local cluster cannot start.
    KeyboardInterrupt
        After writing the table of the points finished so far.
    """
    t0 = time.perf_counter()
    rows: dict = {}
    todo = []
    for p in plan.points:
        r = finished_row(p)
        if r is None:
            todo.append(p)
        else:
            rows[p.key] = r
    skipped = len(rows)
    bar = progress(len(plan.points), "sweep", "point") if progress else None
    if bar is not None:
        bar.update(skipped)
    write_table(plan, rows)
    where = "none needed"
    try:
        if todo:
            where = _run_on_dask(plan, todo, rows, workers, scheduler, bar)
    finally:
        if bar is not None:
            bar.close()
        write_table(plan, rows)
    ordered = [rows[p.key] for p in plan.points if p.key in rows]
    merit_name = choose_merit(plan, ordered, merit)
    fig = draw_figure(plan, ordered, merit_name) if merit_name else None
    vals = [r.get(merit_name) for r in ordered if r.get("status") == "ok"]
    vals = [float(v) for v in vals if isinstance(v, (int, float)) and not isinstance(v, bool)]
    failed = [r for r in ordered if r.get("status") != "ok"]
    import numpy as np

    return {
        "command": " ".join(plan.words),
        "experiment": plan.experiment,
        "grid": plan.grid,
        "seeds": plan.seeds,
        "points": len(plan.points),
        "ran": len(todo),
        "skipped": skipped,
        "ok": len(ordered) - len(failed),
        "failed": len(failed),
        "errors": {r["point"]: r.get("error") for r in failed},
        "table": str(plan.table_path),
        "figure": str(fig) if fig else None,
        "merit": merit_name,
        "merit_mean": float(np.mean(vals)) if vals else None,
        "merit_std": float(np.std(vals)) if vals else None,
        "merit_min": min(vals) if vals else None,
        "merit_max": max(vals) if vals else None,
        "run_files_bytes": int(sum(r.get("run_file_bytes") or 0 for r in ordered)),
        "cluster": where,
        "wall_s": time.perf_counter() - t0,
    }


def _run_on_dask(plan, todo, rows, workers, scheduler, bar) -> str:
    import logging

    import dask
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    # a killed worker's point: retried once; local workers (and their restarts) fork from a preloaded forkserver
    with dask.config.set({"distributed.scheduler.allowed-failures": 1,
                          "distributed.worker.multiprocessing-method": "forkserver"}):
        try:
            if scheduler:
                client = Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s")
                where = scheduler
            else:
                n = max(1, min(int(workers or _cpus()), len(todo)))
                _preload_workers(todo[0].module)
                # no dashboard; the scheduler's small HTTP server on a free port (not 8787, maybe taken)
                cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                                       scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                                       silence_logs=logging.ERROR, env={"NEURRAM_TWIN_THREADS": str(todo[0].twin_threads)})
                client = Client(cluster)
                where = f"local, {n} worker{'s' * (n > 1)}"
        except (OSError, TimeoutError) as exc:
            if cluster is not None:
                cluster.close()
            raise SweepError(f"cannot reach the Dask scheduler {scheduler or '(local cluster)'}: {exc}") from exc
        futures: dict = {}  # in flight -> point
        pending = list(todo)
        done = as_completed()

        def top_up():
            # As many points in flight as the cluster has threads: a worker then holds only the point it
            # runs, so a worker that dies is blamed on that point alone (and workers that join get work).
            try:
                threads = sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values())
            except Exception:  # noqa: BLE001 - the next completion tries again
                threads = 0
            while pending and len(futures) < max(1, threads):
                p = pending.pop(0)
                fut = client.submit(run_point, p, key=f"neurram-point-{p.key}-{os.urandom(3).hex()}", pure=False,
                                    retries=1)
                futures[fut] = p
                done.add(fut)

        try:
            top_up()
            for fut in done:
                p = futures.pop(fut)
                try:
                    row = fut.result()
                except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker after its retry
                    row = {"point": p.key, "experiment": p.experiment, "seed": p.seed, **p.params, "status": "error",
                           "error": f"{type(exc).__name__}: {str(exc).split('. ')[0]}", "run_file": "",
                           "run_file_bytes": None, "point_wall_s": None, "worker": ""}
                fut.release()  # its row is here: a worker that dies later must not recompute it
                rows[p.key] = row
                write_table(plan, rows)
                if bar is not None:
                    bar.update(1)
                top_up()
        except KeyboardInterrupt:
            for fut in futures:
                fut.cancel()
            raise
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    return where


# What a point imports (the experiment, HDF5, the twin, plotting): loaded once by the forkserver the
# local cluster's processes fork from, not by every worker at its first point.
_PRELOAD = ("h5py", "matplotlib.pyplot", "neurram_lab.sim_backend", "neurram_lab.cli.sweep", "neurram_lab.runlog",
            "neurram_lab.program")


def _preload_workers(module: str) -> None:
    """Have the forkserver local workers fork from import distributed and a point's modules first.

    Spawning each nanny and worker re-imports distributed and then, at its first
    point, the experiment's modules: on a 2-core machine that start-up is paid
    once per worker, on the cores the points need. Call it where dask's
    ``distributed.worker.multiprocessing-method`` is ``forkserver``.
    """
    from distributed.utils import get_mp_context

    get_mp_context().set_forkserver_preload(["distributed", *_PRELOAD, module])  # replaces distributed's own list


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
