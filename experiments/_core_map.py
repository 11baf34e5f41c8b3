"""The core-map figure of a deploy run: which layer's matrix sits on which core, rows and columns."""

from __future__ import annotations

import numpy as np

from neurram_lab.board.limits import N_COLS, N_CORES, N_ROWS

from ._common import pyplot

GRID = (6, 8)  # cores drawn 6 rows x 8 columns


def draw_core_map(path, table, title: str) -> None:
    """Draw every placed matrix of a mapping ``table`` (pandas, :data:`~neurram_lab.deploy.mapping.TABLE_COLUMNS`)
    as a rectangle on its core's 256 x 256 array (physical rows down, columns across), coloured by layer."""
    plt = pyplot()
    layers = list(dict.fromkeys(table["layer"]))
    fig, axes = plt.subplots(*GRID, figsize=(16, 12.5), layout="constrained")
    cmap = _colours(len(layers))
    for core in range(N_CORES):
        ax = axes[core // GRID[1], core % GRID[1]]
        ax.set_xlim(0, N_COLS)
        ax.set_ylim(N_ROWS, 0)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"core {core}", fontsize=7, pad=2)
        ax.set_facecolor("#f2f2f2")
        for r in table[table["core"] == core].itertuples():
            colour = cmap[layers.index(r.layer)]
            ax.add_patch(_rect(r.col0, r.row0, r.n_out, r.rows_used, colour, r.merge))
            ax.text(r.col0 + r.n_out / 2, r.row0 + r.rows_used / 2, f"{r.layer}\n[{r.segment}.{r.part}]",
                    ha="center", va="center", fontsize=4.5, rotation=90 if r.n_out < 40 else 0)
    fig.suptitle(title + "  (hatched: merged on shared rows, time-multiplexed; plain edge: alone or diagonal)",
                 fontsize=10)
    plt.save(fig, path)


def _rect(x, y, w, h, colour, merge):
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), w, h, facecolor=colour, edgecolor="k", linewidth=0.4,
                     hatch="///" if merge == "horizontal" else None, alpha=0.85)


def _colours(n: int) -> list:
    from matplotlib import colormaps

    cm = colormaps["tab20"]
    return [cm(i % 20) for i in range(max(n, 1))]


def layer_error_rows(errors: dict) -> tuple[np.ndarray, np.ndarray]:
    """``(layer_index, error)`` columns of a per-layer error table, for a run file."""
    return np.arange(len(errors), dtype=np.int16), np.asarray(list(errors.values()), np.float32)
