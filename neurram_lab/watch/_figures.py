"""The live view's figures, as plotly figure dicts (``{"data": [...], "layout": {...}}``) built from a run's tables.

Which figures a run gets follows from the tables it declared: the
programming tables (``wv_cells``, ``wv_verify``): the conductance map per core
filling in, pulses per cell and in-window fraction by pass, spread by pass;
``relax``: the spread against time; ``outputs`` (MVM): the error so far;
``predictions`` (deploy): the accuracy so far; ``images`` (RBM): the recovery
error so far. Every figure is computed with numpy on the whole table (no
per-cell loops) and kept small: a core's map has at most 64 x 64 pixels.
"""

from __future__ import annotations

import numpy as np

from ..board.limits import cell_of_flat_index
from ..program.programming import relaxation_spread_s
from ..program.writeverify import OUTCOME_SUCCESS

MAP_PIXELS = 64  # a core's map is block-averaged down to at most this many rows and columns
MAX_MAP_CORES = 8  # cores drawn in the conductance map (the first ones that have data)
_N_ROWS = _N_COLS = 256


def _fig(fid: str, title: str, data: list, **layout) -> dict:
    base = {"title": {"text": title, "font": {"size": 13}, "x": 0.01, "xanchor": "left"},
            "margin": {"l": 55, "r": 20, "t": 55, "b": 45},
            "height": 330}
    return {"id": fid, "title": title, "figure": {"data": data, "layout": {**base, **layout}}}


def _num(a) -> list:
    """A float array as a JSON list, NaN as null."""
    a = np.asarray(a, dtype=np.float64)
    return [None if not np.isfinite(x) else float(x) for x in a.ravel()]


def figures(tables: dict, parameters: dict) -> list[dict]:
    """Every figure the run's tables allow, in page order; each ``{"id", "title", "figure"}``."""
    out = []
    if "wv_cells" in tables:
        out += programming_figures(tables, parameters)
    if "relax" in tables:
        out += relaxation_figures(tables["relax"])
    if "outputs" in tables:
        out += mvm_figures(tables["outputs"])
    if "predictions" in tables:
        out += accuracy_figures(tables["predictions"])
    if "images" in tables and "l2_after" in tables["images"]:
        out += recovery_figures(tables["images"])
    return out


def _last_per_cell(cell: np.ndarray, *values: np.ndarray):
    """The last row of each cell (rows appended in time order): ``(cells, values...)``."""
    rev = cell[::-1]
    uniq, first = np.unique(rev, return_index=True)
    return (uniq, *(v[::-1][first] for v in values))


def conductance_maps(wv_cells) -> dict:
    """Per core with data: its map of the last conductance written (µS), cropped to the rows written, block-averaged."""
    cell = wv_cells["cell"].to_numpy().astype(np.int64)
    cells, g = _last_per_cell(cell, wv_cells["g_final_s"].to_numpy().astype(np.float64))
    core, row, col = cell_of_flat_index(cells)
    maps = {}
    for c in np.unique(core)[:MAX_MAP_CORES]:
        m = core == c
        n_rows = int(row[m].max()) + 1
        grid = np.full((n_rows, _N_COLS), np.nan)
        grid[row[m], col[m]] = g[m] * 1e6
        maps[int(c)] = _block_mean(grid)
    return {"maps": maps, "cores": int(np.unique(core).size), "cells": int(cells.size)}


def _block_mean(grid: np.ndarray) -> np.ndarray:
    """Mean over blocks (NaN where a block has no value) so that neither side exceeds MAP_PIXELS."""
    fr = -(-grid.shape[0] // MAP_PIXELS)
    fc = -(-grid.shape[1] // MAP_PIXELS)
    if fr == fc == 1:
        return grid
    rows = -(-grid.shape[0] // fr) * fr
    pad = np.full((rows, grid.shape[1]), np.nan)
    pad[: grid.shape[0]] = grid
    blocks = pad.reshape(rows // fr, fr, grid.shape[1] // fc, fc)
    n = np.isfinite(blocks).sum(axis=(1, 3))
    s = np.nansum(blocks, axis=(1, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s / np.maximum(n, 1), np.nan)


def programming_figures(tables: dict, parameters: dict) -> list[dict]:
    """Conductance map per core; pulses per cell by pass; in-window fraction by pass; spread by pass."""
    wc = tables["wv_cells"]
    out = []
    cm = conductance_maps(wc) if len(wc) else {"maps": {}, "cores": 0, "cells": 0}
    data, layout = [], {}
    n = max(len(cm["maps"]), 1)
    gap = 0.04
    width = (1 - gap * (n - 1)) / n
    for i, (core, grid) in enumerate(cm["maps"].items()):
        ax = "" if i == 0 else str(i + 1)
        data.append({"type": "heatmap", "z": [_num(r) for r in grid], "xaxis": f"x{ax}", "yaxis": f"y{ax}",
                     "coloraxis": "coloraxis", "name": f"core {core}",
                     "hovertemplate": f"core {core}<br>row block %{{y}}, col block %{{x}}<br>%{{z:.2f}} µS<extra></extra>"})
        x0 = i * (width + gap)
        layout[f"xaxis{ax}"] = {"domain": [x0, x0 + width], "title": {"text": f"core {core}"}, "showticklabels": False}
        layout[f"yaxis{ax}"] = {"anchor": f"x{ax}", "autorange": "reversed", "showticklabels": False}
    more = f" (first {MAX_MAP_CORES} of {cm['cores']} cores)" if cm["cores"] > MAX_MAP_CORES else ""
    out.append(_fig("conductance_map", f"conductance per core, last written (µS): {cm['cells']} cells{more}", data,
                    coloraxis={"colorscale": "Viridis", "colorbar": {"title": {"text": "µS"}}}, **layout))
    it = wc["iteration"].to_numpy()
    pulses = wc["pulses"].to_numpy()
    passes = [int(p) for p in np.unique(it)]
    bars = []
    for p in passes:
        counts = np.bincount(pulses[it == p].clip(0))
        bars.append({"type": "bar", "name": f"pass {p}", "x": list(range(counts.size)), "y": counts.tolist()})
    mean_p = [float(pulses[it == p].mean()) for p in passes]
    out.append(_fig("pulses", "pulses per cell, by pass (mean: " +
                    ", ".join(f"{m:.2f}" for m in mean_p) + ")", bars, barmode="group",
                    xaxis={"title": {"text": "pulses per cell"}}, yaxis={"title": {"text": "cells"}}))
    ok = wc["outcome"].to_numpy() == OUTCOME_SUCCESS
    wv_ok = [float(ok[it == p].mean()) for p in passes]
    settled = window_by_pass(tables, parameters)
    data = [{"type": "bar", "name": "write-verify converged (so far)", "x": [f"pass {p}" for p in passes], "y": wv_ok}]
    if settled["passes"]:
        data.append({"type": "bar", "name": "in window after settling", "x": [f"pass {p}" for p in settled["passes"]],
                     "y": settled["in_window_fraction"]})
    out.append(_fig("in_window", "in-window fraction by pass", data, barmode="group",
                    yaxis={"title": {"text": "fraction of cells"}, "range": [0, 1]}))
    if settled["passes"]:
        out.append(_fig("spread", "spread after settling, by pass (µS)",
                        [{"type": "scatter", "mode": "lines+markers", "x": settled["passes"],
                          "y": _num(np.array(settled["sigma_s"]) * 1e6), "name": "σ"}],
                        xaxis={"title": {"text": "pass"}, "dtick": 1}, yaxis={"title": {"text": "σ (µS)"}, "rangemode": "tozero"}))
    return out


def window_by_pass(tables: dict, parameters: dict) -> dict:
    """Per pass that has its re-read (``wv_verify``): the in-window fraction and the spread (S) after settling."""
    out = {"passes": [], "in_window_fraction": [], "sigma_s": []}
    if "wv_verify" not in tables or not len(tables["wv_verify"]):
        return out
    wc, wv = tables["wv_cells"], tables["wv_verify"]
    first = wc[wc["iteration"] == wc["iteration"].min()] if len(wc) else wc
    cells = first["cell"].to_numpy().astype(np.int64)
    target = first["target_s"].to_numpy().astype(np.float64)
    order = np.argsort(cells)
    cells, target = cells[order], target[order]
    window_s = parameters.get("window_s")
    lo, hi = parameters.get("gmin_s"), parameters.get("gmax_s")
    it = wv["iteration"].to_numpy()
    for p in np.unique(it):
        v = wv[it == p]
        vc = v["cell"].to_numpy().astype(np.int64)
        pos = np.searchsorted(cells, vc)
        known = (pos < cells.size) & (cells[np.minimum(pos, cells.size - 1)] == vc)
        if not known.any():
            continue
        g = v["g_read_s"].to_numpy().astype(np.float64)[known]
        t = target[pos[known]]
        fin = np.isfinite(g)
        out["passes"].append(int(p))
        out["in_window_fraction"].append(float(np.mean(np.abs(g - t) <= window_s)) if window_s else None)
        out["sigma_s"].append(relaxation_spread_s(g[fin], t[fin], lo, hi) if fin.sum() > 1 else float("nan"))
    return out


def relaxation_figures(relax) -> list[dict]:
    """Spread (mean over levels of each level's standard deviation of G − target) against time after programming."""
    if not len(relax):
        return [_fig("relaxation", "relaxation spread against time (no reads yet)", [])]
    t = relax["t_after_s"].to_numpy()
    d = (relax["g_s"].to_numpy().astype(np.float64) - relax["target_s"].to_numpy().astype(np.float64)) * 1e6
    lvl = relax["target_s"].to_numpy()
    times, ti = np.unique(t, return_inverse=True)
    levels, li = np.unique(lvl, return_inverse=True)
    key = ti * levels.size + li
    n = np.bincount(key, minlength=times.size * levels.size)
    s1 = np.bincount(key, d, minlength=n.size)
    s2 = np.bincount(key, d * d, minlength=n.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = (s2 - s1 * s1 / np.maximum(n, 1)) / np.maximum(n - 1, 1)
        sd = np.where(n > 1, np.sqrt(np.clip(var, 0, None)), np.nan).reshape(times.size, levels.size)
        sigma = np.nanmean(np.where(np.isfinite(sd), sd, np.nan), axis=1) if levels.size else sd[:, 0]
    return [_fig("relaxation", f"relaxation spread against time ({levels.size} levels)",
                 [{"type": "scatter", "mode": "lines+markers", "x": _num(times), "y": _num(sigma), "name": "σ"}],
                 xaxis={"title": {"text": "time after programming (s)"}, "type": "log"},
                 yaxis={"title": {"text": "σ of G − target, mean over levels (µS)"}, "rangemode": "tozero"})]


def mvm_figures(outputs) -> list[dict]:
    """RMS error of the MVM outputs so far, per core (LSB)."""
    core = outputs["core"].to_numpy()
    err = outputs["measured_lsb"].to_numpy().astype(np.float64) - outputs["ideal_lsb"].to_numpy().astype(np.float64)
    cores, ci = np.unique(core, return_inverse=True)
    rms = np.sqrt(np.bincount(ci, err * err, minlength=cores.size) / np.maximum(np.bincount(ci, minlength=cores.size), 1))
    total = float(np.sqrt(np.mean(err * err))) if err.size else float("nan")
    return [_fig("mvm_error", f"MVM error so far: RMS {total:.3g} LSB over {err.size} outputs",
                 [{"type": "bar", "x": [f"core {int(c)}" for c in cores], "y": _num(rms), "name": "RMS error"}],
                 yaxis={"title": {"text": "RMS error (LSB)"}})]


def accuracy_figures(pred) -> list[dict]:
    """Accuracy so far of each prediction column against the labels, against images classified."""
    label = pred["label"].to_numpy()
    x = np.arange(1, label.size + 1)
    step = max(1, label.size // 500)
    data, text = [], []
    for col in [c for c in ("chip", "chip_paper", "chip_per_column", "software") if c in pred]:
        acc = np.cumsum(pred[col].to_numpy() == label) / x
        data.append({"type": "scatter", "mode": "lines", "name": col, "x": x[::step].tolist(), "y": _num(acc[::step])})
        if acc.size:
            text.append(f"{col} {acc[-1]:.2%}")
    return [_fig("accuracy", f"accuracy so far over {label.size} images" + (": " + ", ".join(text) if text else ""), data,
                 xaxis={"title": {"text": "images classified"}}, yaxis={"title": {"text": "accuracy"}, "range": [0, 1]})]


def recovery_figures(images) -> list[dict]:
    """Mean recovery error so far (L2 before and after the RBM), against images."""
    x = np.arange(1, len(images) + 1)
    data = [{"type": "scatter", "mode": "lines", "name": c, "x": x.tolist(),
             "y": _num(np.cumsum(images[c].to_numpy().astype(np.float64)) / x)}
            for c in ("l2_before", "l2_after", "l2_after_per_column") if c in images]
    return [_fig("recovery", f"mean L2 error so far over {len(images)} images", data,
                 xaxis={"title": {"text": "images"}}, yaxis={"title": {"text": "mean L2 error"}})]
