"""Per-die device variability and defects, drawn per core from the seed."""

from __future__ import annotations

import enum

import numpy as np

from neurram_lab.board.limits import CELLS_PER_CORE

from .params import TwinParams

CELLS = CELLS_PER_CORE


class CellKind(enum.IntEnum):
    """What a cell is, physically."""

    NORMAL = 0  # formed on the die (fresh chips ship pristine: see PRISTINE)
    PRISTINE = 1  # needs forming; becomes NORMAL when formed
    UNFORMABLE = 2  # never forms
    STUCK_ON = 3  # formed, stuck high
    STUCK_OFF = 4  # formed, stuck near zero (also every cell of a bad column)
    LEAKY = 5  # high, noisy conductance that pulses do not move


def draw_die(params: TwinParams, seed: int, core: int) -> dict[str, np.ndarray]:
    """Draw device parameters and defects of one core's 65 536 cells.

    Returns arrays of length 65 536 (row-major): ``kind`` (uint8, CellKind),
    ``set_vth``, ``reset_vth``, ``form_vth`` (V), ``g_cap``, ``g_floor``,
    ``g_initial`` (S), ``relax_scale`` (dimensionless), all float32.
    """
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0xD1E, int(core)]))
    d, dd, r = params.device, params.defects, params.relax
    out = {
        "set_vth": d.set_v_th_v + d.set_v_th_sigma_v * rng.standard_normal(CELLS),
        "reset_vth": d.reset_v_th_v + d.reset_v_th_sigma_v * rng.standard_normal(CELLS),
        "form_vth": d.form_v_th_v + d.form_v_th_sigma_v * rng.standard_normal(CELLS),
        "g_cap": d.g_cap_s * np.exp(d.g_cap_sigma_rel * rng.standard_normal(CELLS)),
        "g_floor": d.g_floor_s * np.exp(d.g_floor_sigma_rel * rng.standard_normal(CELLS)),
        "relax_scale": np.exp(r.device_sigma_rel * rng.standard_normal(CELLS) - 0.5 * r.device_sigma_rel**2),
    }
    g_pristine = d.g_pristine_s * rng.uniform(0.2, 2.0, CELLS)
    kind = np.full(CELLS, CellKind.PRISTINE, np.uint8)
    u = rng.random(CELLS)
    edges = np.cumsum([dd.unformable_frac, dd.stuck_on_frac, dd.stuck_off_frac, dd.leaky_frac])
    kind[u < edges[0]] = CellKind.UNFORMABLE
    kind[(u >= edges[0]) & (u < edges[1])] = CellKind.STUCK_ON
    kind[(u >= edges[1]) & (u < edges[2])] = CellKind.STUCK_OFF
    kind[(u >= edges[2]) & (u < edges[3])] = CellKind.LEAKY
    n_bad = rng.poisson(dd.bad_col_per_core)
    bad_cols = rng.choice(256, size=min(n_bad, 256), replace=False)
    kind.reshape(256, 256)[:, bad_cols] = CellKind.STUCK_OFF
    g = g_pristine.copy()
    g[kind == CellKind.STUCK_ON] = dd.stuck_on_g_s
    g[kind == CellKind.STUCK_OFF] = 0.02 * d.g_pristine_s
    g[kind == CellKind.LEAKY] = dd.leaky_g_s
    out["g_initial"] = g
    out = {k: v.astype(np.float32) for k, v in out.items()}
    out["kind"] = kind
    return out
