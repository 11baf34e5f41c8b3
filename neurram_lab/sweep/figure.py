"""The sweep figure: a figure of merit against each swept parameter (mean and spread over the dies)."""

from __future__ import annotations

import re

from .table import ROW_KEYS


def choose_merit(plan, rows: list, merit: str | None = None) -> str | None:
    """The column drawn: ``merit`` if given, else the experiment's declared figure of merit
    (``plan.merit``), else the first numeric figure of the rows."""
    ok = [r for r in rows if r.get("status") == "ok"]
    if merit:
        return _last_index(merit, ok)
    declared = _last_index(plan.merit or "", ok)
    if declared and any(isinstance(r.get(declared), (int, float)) for r in ok):
        return declared
    skip = set(ROW_KEYS) | set(plan.grid) | {"wall_s", "board_time_s"}
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


def draw_figure(plan, rows: list, merit: str):
    """Figure of merit against each swept parameter (mean ± std over seeds); against the seed when none is swept.

    Returns the figure's path, or None when no finished row has ``merit`` as a number.
    """
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
