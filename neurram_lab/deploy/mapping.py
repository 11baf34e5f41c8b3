"""Weight mapping: layers to conductance matrices, and matrices onto the 48 cores (SPEC §5).

A weight layer becomes one 2-D matrix: conv kernels flattened to (kh*kw*in)
rows, plus bias rows driven at the full-scale input code (a bias of B times
the weight range takes B rows), batch-norm folded beforehand. Each logical
row is a differential row pair, so a matrix of n inputs takes 2n physical
rows. Matrices taller than a core (or than ``max_inputs``) are split into
row segments whose partial sums the FPGA adds; with spare cores, outputs
wider than ``wide_cols`` are split across cores to cut driver drop.

Placement: with at most as many matrices as cores, one matrix per core and,
if asked, spare cores hold replicas of the compute-heavy layers for data
parallelism. With more, the compute-heavy matrices keep a core each and the
rest are merged: small ones (<= half the rows) diagonally (disjoint rows and
columns, usable in parallel), large ones horizontally (side by side on the
same rows, time-multiplexed). Within a core the offset with the fewest dead
cells is chosen.

The result is a :class:`Mapping`: the model plus a pandas table, one row per
placed matrix, that can be saved to CSV or JSON and loaded back.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..validate import boolean, file_path, int_list, integer, number, optional_integer, path_like
from ..board.limits import N_COLS, N_CORES, N_ROWS
from ..errors import InputError, LimitError
from ..program.weights import MatrixPlacement
from .model import Grid, Model


TABLE_COLUMNS = {
    "matrix": str, "layer": str, "segment": int, "n_segments": int, "part": int, "n_parts": int,
    "replica": int, "core": int, "row0": int, "col0": int, "in_start": int, "in_stop": int,
    "out_start": int, "out_stop": int, "n_bias_rows": int, "bias_share": float, "n_in": int, "n_out": int,
    "rows_used": int, "cells": int, "w_max": float, "merge": str, "load_macs": int,
}


@dataclass(frozen=True)
class MatrixCut:
    """One conductance matrix cut from a weight layer (before placement)."""

    layer: str
    segment: int
    n_segments: int
    part: int
    n_parts: int
    in_start: int
    in_stop: int
    out_start: int
    out_stop: int
    n_bias_rows: int
    bias_share: float
    w_max: float
    load_macs: int

    @property
    def name(self) -> str:
        return f"{self.layer}[{self.segment}.{self.part}]"

    @property
    def n_in(self) -> int:
        return self.in_stop - self.in_start + self.n_bias_rows

    @property
    def n_out(self) -> int:
        return self.out_stop - self.out_start


def matrix_weights(model: Model, row) -> np.ndarray:
    """Weights (n_in, n_out) of one matrix in per-input-code units, bias rows last.

    With input codes q (integers on the layer's input grid) the matrix gives
    ``q @ W``; times the grid step that is ``x @ W_layer + bias_share * b``.

    Raises
    ------
    InputError
        ``model`` not a Model, ``row`` not a table row (dict or pandas Series with the
        :data:`TABLE_COLUMNS` it needs), or naming a layer or rows outside the model.
    """
    _check_model(model)
    row = _table_row(row, ("layer", "in_start", "in_stop", "out_start", "out_stop", "n_bias_rows", "bias_share"))
    layer = model.layer(row["layer"])
    k, o = layer.matrix().shape
    a = integer("row in_start", row["in_start"], 0, k - 1, f"inputs of layer {layer.name!r}")
    integer("row in_stop", row["in_stop"], a + 1, k, f"inputs of layer {layer.name!r}")
    a = integer("row out_start", row["out_start"], 0, o - 1, f"outputs of layer {layer.name!r}")
    integer("row out_stop", row["out_stop"], a + 1, o, f"outputs of layer {layer.name!r}")
    integer("row n_bias_rows", row["n_bias_rows"], 0, N_ROWS // 2, "bias rows")
    number("row bias_share", row["bias_share"], 0.0, 1.0, "share of the bias")
    grid = model.input_grid(layer.name) or Grid(1, 1.0)
    w = layer.matrix()[row["in_start"] : row["in_stop"], row["out_start"] : row["out_stop"]]
    nb = int(row["n_bias_rows"])
    if nb:
        b = layer.bias()[row["out_start"] : row["out_stop"]] * float(row["bias_share"]) / (grid.max * nb)
        w = np.vstack([w, np.tile(b, (nb, 1))])
    return w


def cut_layers(model: Model, max_inputs: int | None = None, w_max_percentile: float = 100.0,
               wide_cols: int | None = None) -> list:
    """Cut every weight layer into matrices that fit a core.

    Parameters
    ----------
    max_inputs : int, optional
        Most layer inputs (logical rows, bias rows not counted) per matrix; by default
        as many as fit 256 physical rows with the bias rows. The authors' MNIST
        mapping used 100.
    w_max_percentile : float
        Weight mapped to gmax: this percentile of |W| of each matrix (100 = max).
    wide_cols : int, optional
        Split outputs wider than this over several matrices (256 always applies).
    """
    _check_model(model)
    max_inputs = optional_integer("max_inputs", max_inputs, 1, N_ROWS, "layer inputs per matrix")
    w_max_percentile = number("w_max_percentile", w_max_percentile, 0.0, 100.0, "percent", lo_open=True)
    wide_cols = optional_integer("wide_cols", wide_cols, 1, N_COLS, "outputs per matrix")
    cuts = []
    positions = model.positions()
    cap_rows = N_ROWS // 2
    for layer in model.weight_layers:
        w = layer.matrix()
        b = layer.bias()
        grid = model.input_grid(layer.name) or Grid(1, 1.0)
        k, o = w.shape
        has_bias = bool(np.any(b))
        n_parts = max(math.ceil(o / N_COLS), math.ceil(o / wide_cols) if wide_cols else 1)
        n_seg = 1
        while True:
            seg_len = math.ceil(k / n_seg)
            if max_inputs is not None and seg_len > max_inputs:
                n_seg += 1
                continue
            segs = [(i * seg_len, min(k, (i + 1) * seg_len)) for i in range(n_seg) if i * seg_len < k]
            share = 1.0 / len(segs) if has_bias else 0.0
            wmaxes = [_w_max(w[a:z], w_max_percentile) for a, z in segs]
            nbs = [math.ceil(np.max(np.abs(b)) * share / grid.max / wm - 1e-9) if has_bias else 0 for wm in wmaxes]
            if all((z - a) + nb <= cap_rows for (a, z), nb in zip(segs, nbs)):
                break
            if seg_len == 1:
                raise LimitError("bias rows", max(nbs), (0, cap_rows - 1), f"layer {layer.name!r} bias too large")
            n_seg += 1
        part_len = math.ceil(o / n_parts)
        for si, ((a, z), nb, wm) in enumerate(zip(segs, nbs, wmaxes)):
            for pi in range(n_parts):
                o0, o1 = pi * part_len, min(o, (pi + 1) * part_len)
                load = positions[layer.name] * ((z - a) + nb) * (o1 - o0)
                cuts.append(MatrixCut(layer.name, si, len(segs), pi, n_parts, a, z, o0, o1, nb, share, wm, load))
    return cuts


def _check_model(model) -> None:
    if not isinstance(model, Model):
        raise InputError(f"model must be a Model (from load_model), got {type(model).__name__}")


def _table_row(row, keys) -> dict:
    """``row`` (a dict or a pandas Series of a mapping table) with ``keys`` present, else InputError."""
    if isinstance(row, pd.Series):
        row = row.to_dict()
    if not isinstance(row, dict):
        raise InputError(f"row must be a mapping-table row (dict or pandas Series), got {type(row).__name__}")
    missing = [k for k in keys if k not in row]
    if missing:
        raise InputError(f"mapping-table row lacks {missing} (columns: see TABLE_COLUMNS)")
    return row


def _w_max(w, pct) -> float:
    v = float(np.percentile(np.abs(w), pct)) if pct < 100 else float(np.max(np.abs(w)))
    return v if v > 0 else 1.0


class Mapping:
    """A model's weight layers placed on the chip: the model plus an inspectable table.

    Attributes
    ----------
    model : Model
        The (batch-norm folded) model.
    table : pandas.DataFrame
        One row per placed matrix (replicas included); columns in ``TABLE_COLUMNS``.
    """

    def __init__(self, model: Model, table: pd.DataFrame):
        _check_model(model)
        if not isinstance(table, pd.DataFrame):
            raise InputError(f"table must be a pandas DataFrame (from map_model), got {type(table).__name__}")
        missing = [c for c in TABLE_COLUMNS if c not in table.columns]
        if missing:
            raise InputError(f"mapping table lacks columns {missing}")
        self.model = model
        self.table = table[list(TABLE_COLUMNS)].astype(TABLE_COLUMNS).reset_index(drop=True)
        self._check()

    def _check(self) -> None:
        t = self.table
        occupied = np.zeros((N_CORES, N_ROWS, N_COLS), bool)
        for row in t.itertuples():
            p = self.placement(row._asdict())
            block = occupied[p.core, p.row0 : p.row0 + p.n_rows_used, p.col0 : p.col0 + p.n_out]
            if block.any():
                raise InputError(f"matrix {row.matrix} overlaps another on core {row.core}")
            block[...] = True
        for name in t["layer"].unique():
            if not self.model.layer(name).is_weight:
                raise InputError(f"mapping names {name!r}, which is not a weight layer")

    # --------------------------------------------------------------- views
    @staticmethod
    def placement(row) -> MatrixPlacement:
        """Where one table row's matrix sits (``row``: dict or pandas Series; InputError otherwise)."""
        row = _table_row(row, ("core", "row0", "col0", "n_in", "n_out"))
        return MatrixPlacement(int(row["core"]), int(row["row0"]), int(row["col0"]), int(row["n_in"]),
                               int(row["n_out"]), True)

    def weights(self, row) -> np.ndarray:
        return matrix_weights(self.model, row)

    def rows(self, layer: str | None = None):
        """Table rows (dicts) of one layer, or all; a name the table does not hold is an InputError."""
        if layer is not None and (not isinstance(layer, str) or not (self.table["layer"] == layer).any()):
            raise InputError(f"layer {layer!r} is not in the mapping; its layers: "
                             f"{', '.join(dict.fromkeys(self.table['layer']))}")
        t = self.table if layer is None else self.table[self.table["layer"] == layer]
        return t.to_dict("records")

    @property
    def cores_used(self) -> int:
        return int(self.table["core"].nunique())

    @property
    def cells_used(self) -> int:
        return int(self.table["cells"].sum())

    @property
    def n_matrices(self) -> int:
        return int((self.table["replica"] == 0).sum())

    def summary(self) -> dict:
        return {"matrices": self.n_matrices, "placed": len(self.table), "cores_used": self.cores_used,
                "cells_used": self.cells_used,
                "merge": {k: int(v) for k, v in self.table["merge"].value_counts().items()}}

    # ------------------------------------------------------------ file I/O
    def save(self, path) -> Path:
        """Write the table to ``.csv`` or ``.json`` (by suffix)."""
        path = path_like("path", path)
        if not path.parent.is_dir():
            raise InputError(f"cannot write the mapping to {path}: folder {path.parent} does not exist")
        if path.suffix == ".csv":
            self.table.to_csv(path, index=False)
        elif path.suffix == ".json":
            path.write_text(json.dumps({"model": self.model.name, "matrices": self.table.to_dict("records")}, indent=1))
        else:
            raise InputError(f"mapping file must end in .csv or .json, got {path.name}")
        return path

    @classmethod
    def load(cls, path, model: Model) -> "Mapping":
        """Read a table written by :meth:`save` and attach it to ``model`` (checked).

        A missing or unreadable file, one of another kind, or a table that does not fit ``model``
        is an InputError naming the file."""
        _check_model(model)
        path = file_path("mapping", path, (".csv", ".json"))
        try:
            if path.suffix == ".csv":
                table = pd.read_csv(path, keep_default_na=False)
            else:
                data = json.loads(path.read_text())
                if not isinstance(data, dict) or not isinstance(data.get("matrices"), list):
                    raise InputError(f"mapping file {path}: no 'matrices' list")
                table = pd.DataFrame(data["matrices"])
            return cls(model, table)
        except InputError as exc:
            msg = str(exc)
            raise InputError(msg if str(path) in msg else f"mapping file {path}: {msg}") from None
        except (ValueError, KeyError, TypeError, UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise InputError(f"mapping file {path} is damaged or not a mapping table: {type(exc).__name__}: "
                             f"{exc}") from None


def map_model(model: Model, n_cores: int = N_CORES, cores=None, dead=None, replicate: bool = False,
              max_inputs: int | None = None, w_max_percentile: float = 100.0, split_wide: bool = True) -> Mapping:
    """Map a model's weight layers onto the chip (SPEC §5).

    Parameters
    ----------
    model : Model
        Batch-norm is folded here if the model still has it.
    n_cores : int
        Cores available (the first ``n_cores``), unless ``cores`` lists them.
    dead : ndarray of bool (48, 256, 256) or DeadCellScan, optional
        Known dead cells (e.g. from :func:`neurram_lab.scan_dead_cells`); placements
        pick the core and offset with the fewest.
    replicate : bool
        Fill spare cores with replicas of the compute-heavy layers.
    max_inputs, w_max_percentile : see :func:`cut_layers`.
    split_wide : bool
        With spare cores, split outputs wider than 128 over cores.
    """
    _check_model(model)
    n_cores = integer("n_cores", n_cores, 1, N_CORES, "cores available")
    replicate, split_wide = boolean("replicate", replicate), boolean("split_wide", split_wide)
    max_inputs = optional_integer("max_inputs", max_inputs, 1, N_ROWS, "layer inputs per matrix")
    w_max_percentile = number("w_max_percentile", w_max_percentile, 0.0, 100.0, "percent", lo_open=True)
    model = model.fold_batch_norm()
    cores = list(range(n_cores)) if cores is None else int_list("cores", cores, 0, N_CORES - 1, distinct=True)
    if not cores or len(set(cores)) != len(cores) or min(cores) < 0 or max(cores) >= N_CORES:
        raise InputError(f"cores must be distinct in 0..{N_CORES - 1}, got {cores}")
    if hasattr(dead, "chip_mask"):
        dead = dead.chip_mask()
    dead = np.zeros((N_CORES, N_ROWS, N_COLS), bool) if dead is None else np.asarray(dead, bool)
    if dead.shape != (N_CORES, N_ROWS, N_COLS):
        raise InputError(f"dead mask must be (48, 256, 256), got {dead.shape}")
    cuts = cut_layers(model, max_inputs, w_max_percentile)
    if split_wide and len(cuts) <= len(cores):
        wide = cut_layers(model, max_inputs, w_max_percentile, wide_cols=128)
        if len(wide) <= len(cores):
            cuts = wide
    sat = _dead_tables(dead)
    if len(cuts) <= len(cores):
        rows = _one_per_core(cuts, cores, sat, replicate)
    else:
        rows = _merged(cuts, cores, sat)
    return Mapping(model, pd.DataFrame(rows, columns=list(TABLE_COLUMNS)))


# ------------------------------------------------------------------ placement
def _dead_tables(dead):
    """Summed-area table of dead cells per core, (48, 257, 257)."""
    sat = np.zeros((dead.shape[0], N_ROWS + 1, N_COLS + 1), np.int32)
    sat[:, 1:, 1:] = dead.cumsum(1).cumsum(2)
    return sat


def _dead_counts(sat_core, h, w):
    """Dead cells in every h x w window, indexed [row0, col0]."""
    s = sat_core
    return s[h:, w:] - s[:-h, w:] - s[h:, :-w] + s[:-h, :-w]


def _row(cut: MatrixCut, replica: int, core: int, r0: int, c0: int, merge: str) -> dict:
    return {"matrix": cut.name, "layer": cut.layer, "segment": cut.segment, "n_segments": cut.n_segments,
            "part": cut.part, "n_parts": cut.n_parts, "replica": replica, "core": core, "row0": r0, "col0": c0,
            "in_start": cut.in_start, "in_stop": cut.in_stop, "out_start": cut.out_start, "out_stop": cut.out_stop,
            "n_bias_rows": cut.n_bias_rows, "bias_share": cut.bias_share, "n_in": cut.n_in, "n_out": cut.n_out,
            "rows_used": 2 * cut.n_in, "cells": 2 * cut.n_in * cut.n_out, "w_max": cut.w_max, "merge": merge,
            "load_macs": cut.load_macs}


def _best_offset(sat_core, h, w, free=None):
    """(dead, row0, col0) of the window with the fewest dead cells (even row0; ties to the top-left)."""
    counts = _dead_counts(sat_core, h, w)[::2].astype(np.int64)
    if free is not None:
        counts = np.where(free[::2], counts, np.iinfo(np.int64).max)
    i = int(np.argmin(counts))
    r, c = divmod(i, counts.shape[1])
    return int(counts[r, c]), 2 * r, c


def _one_per_core(cuts, cores, sat, replicate):
    by_layer: dict = {}
    for cut in cuts:
        by_layer.setdefault(cut.layer, []).append(cut)
    copies = {name: 1 for name in by_layer}
    spare = len(cores) - len(cuts)
    if replicate:
        load = {name: sum(c.load_macs for c in cs) for name, cs in by_layer.items()}
        while True:
            fits = [n for n in by_layer if len(by_layer[n]) <= spare]
            if not fits:
                break
            best = max(fits, key=lambda n: load[n] / copies[n])
            copies[best] += 1
            spare -= len(by_layer[best])
    jobs = [(cut, rep) for name, cs in by_layer.items() for rep in range(copies[name]) for cut in cs]
    jobs.sort(key=lambda j: -(j[0].n_in * j[0].n_out))
    free = list(cores)
    rows = []
    for cut, rep in jobs:
        best = None
        for core in free:
            d, r0, c0 = _best_offset(sat[core], 2 * cut.n_in, cut.n_out)
            if best is None or d < best[0]:
                best = (d, core, r0, c0)
            if d == 0:
                break
        _, core, r0, c0 = best
        free.remove(core)
        rows.append(_row(cut, rep, core, r0, c0, "alone"))
    return sorted(rows, key=lambda r: (r["replica"], r["core"]))


def _merged(cuts, cores, sat):
    """More matrices than cores: dedicate cores to the heaviest, merge the rest."""
    order = sorted(cuts, key=lambda c: -c.load_macs)
    lo, hi, best = 0, len(cores), None
    while lo <= hi:  # largest number of dedicated cores that still lets everything fit
        k = (lo + hi) // 2
        rows = _pack(order[:k], order[k:], cores, sat)
        if rows is not None:
            best, lo = rows, k + 1
        else:
            hi = k - 1
    if best is None:
        need = sum(2 * c.n_in * c.n_out for c in cuts)
        raise LimitError("cells", need, len(cores) * N_ROWS * N_COLS, f"{len(cuts)} matrices do not fit {len(cores)} cores")
    return best


def _pack(dedicated, rest, cores, sat):
    rows = []
    free_cores = list(cores)
    for cut in dedicated:
        if not free_cores:
            return None
        core = free_cores.pop(0)
        _, r0, c0 = _best_offset(sat[core], 2 * cut.n_in, cut.n_out)
        rows.append(_row(cut, 0, core, r0, c0, "alone"))
    used = {core: [] for core in free_cores}  # core -> list of (r0, r1, c0, c1)
    for cut in sorted(rest, key=lambda c: (-2 * c.n_in, -c.n_out)):
        h, w = 2 * cut.n_in, cut.n_out
        large = h > N_ROWS // 2
        spot = None  # (dead cells covered, core, row0, col0): first fit, but a spot free of dead cells wins
        for core in free_cores:
            rects = used[core]
            cands = [(0, 0)] if not rects else []
            for r0, r1, c0, c1 in rects:
                cands += [(r0, c1), (r1 + r1 % 2, c1)] if large else [(r1 + r1 % 2, c1), (r0, c1)]
            for rr, cc in cands:
                if rr + h <= N_ROWS and cc + w <= N_COLS and not any(
                        rr < b1 and a0 < rr + h and cc < d1 and c0_ < cc + w for a0, b1, c0_, d1 in rects):
                    d = int(_dead_counts(sat[core], h, w)[rr, cc])
                    if spot is None or d < spot[0]:
                        spot = (d, core, rr, cc)
                    if d == 0:
                        break
            if spot is not None and spot[0] == 0:
                break
        if spot is None:
            return None
        _, core, rr, cc = spot
        used[core].append((rr, rr + h, cc, cc + w))
        rows.append(_row(cut, 0, core, rr, cc, "alone"))
    by_core: dict = {}
    for r in rows:
        by_core.setdefault(r["core"], []).append(r)
    for rs in by_core.values():
        if len(rs) > 1:
            for r in rs:
                shares = any(o is not r and o["row0"] < r["row0"] + r["rows_used"] and r["row0"] < o["row0"] + o["rows_used"]
                             for o in rs)
                r["merge"] = "horizontal" if shares else "diagonal"
    return sorted(rows, key=lambda r: (r["core"], r["row0"], r["col0"]))
