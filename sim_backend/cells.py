"""The conductance state of all 48 x 256 x 256 cells, evolving under pulses and in time.

Cells are addressed by flat index ``core * 65536 + row * 256 + col``. Each
core's die parameters (thresholds, ceilings, defects) are drawn the first time
the core is touched, from a generator seeded by (seed, core), so a core's
devices do not depend on which other cores were used. Cycle-to-cycle and read
noise come from one operation generator consumed in call order: same seed and
same calls give bit-identical results.
"""

from __future__ import annotations

import numpy as np

from . import device
from .defects import CellKind, draw_die
from .params import TwinParams

N_CORES, N_ROWS, N_COLS = 48, 256, 256
CELLS_PER_CORE = N_ROWS * N_COLS


class CellArray:
    """State of every RRAM cell of one chip.

    Attributes (arrays over all cells, flat index)
    ----------------------------------------------
    g_s : float32
        Conductance at time ``t_eval_s`` (S).
    g0_s : float32
        Conductance right after the last pulse (S).
    t_prog_s, t_eval_s : float64
        Virtual time of the last pulse and of the last evaluation (s).
    kind : uint8
        :class:`~sim_backend.defects.CellKind` of each cell; forming turns
        PRISTINE into NORMAL.
    """

    def __init__(self, params: TwinParams, seed: int):
        self.params = params
        self.seed = int(seed)
        n = N_CORES * CELLS_PER_CORE
        self.g_s = np.zeros(n, np.float32)
        self.g0_s = np.zeros(n, np.float32)
        self.t_prog_s = np.zeros(n, np.float64)
        self.t_eval_s = np.zeros(n, np.float64)
        # die parameters, filled per core on first use
        self.kind = np.zeros(n, np.uint8)
        self.set_vth = np.zeros(n, np.float32)
        self.reset_vth = np.zeros(n, np.float32)
        self.g_cap = np.zeros(n, np.float32)
        self.g_floor = np.zeros(n, np.float32)
        self.form_vth = np.zeros(n, np.float32)
        self.relax_scale = np.zeros(n, np.float32)
        self._ready = np.zeros(N_CORES, bool)
        self._clock = device.RelaxationClock(params.relax)
        self.rng = np.random.default_rng(np.random.SeedSequence([self.seed, 0xCE11]))
        self.version = np.zeros(N_CORES, np.int64)  # bumped whenever a core's cells change

    # ------------------------------------------------------------------ die
    def ensure_cores(self, cores: np.ndarray) -> None:
        """Draw the die parameters of cores not yet touched."""
        for c in np.unique(cores):
            if not self._ready[c]:
                self._init_core(int(c))

    def _init_core(self, core: int) -> None:
        sl = slice(core * CELLS_PER_CORE, (core + 1) * CELLS_PER_CORE)
        die = draw_die(self.params, self.seed, core)
        for name in ("kind", "set_vth", "reset_vth", "g_cap", "g_floor", "form_vth", "relax_scale"):
            getattr(self, name)[sl] = die[name]
        self.g_s[sl] = die["g_initial"]
        self.g0_s[sl] = die["g_initial"]
        self._ready[core] = True

    def core_of(self, idx: np.ndarray) -> np.ndarray:
        return idx // CELLS_PER_CORE

    # ----------------------------------------------------------- relaxation
    def advance(self, idx: np.ndarray, t_s) -> None:
        """Let cells ``idx`` relax up to time ``t_s`` (scalar or per cell)."""
        p = self.params.relax
        t = np.broadcast_to(np.asarray(t_s, np.float64), idx.shape)
        tp = self.t_prog_s[idx]
        f_then = self._clock(self.t_eval_s[idx] - tp)
        f_now = self._clock(t - tp)
        df = np.maximum(f_now - f_then, 0.0)
        g0 = self.g0_s[idx].astype(np.float64)
        sigma = device.relaxation_sigma(g0, p) * self.relax_scale[idx]
        active = self.kind[idx] == CellKind.NORMAL
        step = sigma * np.sqrt(df) * self.rng.standard_normal(idx.shape)
        step -= p.drift_rel * (g0 - p.g_mid_s) * df
        g = self.g_s[idx].astype(np.float64) + np.where(active, step, 0.0)
        self.g_s[idx] = np.maximum(g, 0.0)
        self.t_eval_s[idx] = t

    # --------------------------------------------------------------- pulses
    def pulse(self, kind: str, idx, v, width_s, v_gate, t_end_s) -> None:
        """Apply one pulse to each cell ``idx`` ending at times ``t_end_s``.

        Cells should be distinct within one call; a repeated cell sees only the
        last of its pulses.
        """
        p = self.params.device
        self.advance(idx, t_end_s)
        g = self.g_s[idx].astype(np.float64)
        ck = self.kind[idx]
        normal = ck == CellKind.NORMAL
        new = g.copy()
        if kind in ("set", "form"):
            # forming: pristine cells break down with a probability set by V and width
            pristine = ck == CellKind.PRISTINE
            if pristine.any():
                prob = device.form_probability(v, width_s, self.form_vth[idx], p)
                forms = pristine & (self.rng.random(idx.shape) < prob)
                if forms.any():
                    g_form = p.form_g_s * self.rng.lognormal(0.0, p.form_g_sigma_rel, idx.shape)
                    cap = device.compliance_cap(self.g_cap[idx], v_gate, p)
                    new = np.where(forms, np.minimum(g_form, cap), new)
                    self.kind[idx[forms]] = CellKind.NORMAL
            act = normal
            if act.any():
                resp = device.set_response(
                    g, v, width_s, v_gate, self.set_vth[idx], self.g_cap[idx], p, self.rng
                )
                new = np.where(act, resp, new)
        elif kind == "reset":
            act = normal
            if act.any():
                resp = device.reset_response(g, v, width_s, self.reset_vth[idx], self.g_floor[idx], p, self.rng)
                new = np.where(act, resp, new)
        else:  # pragma: no cover - kinds are validated by the Board
            raise ValueError(kind)
        self.g_s[idx] = new
        self.g0_s[idx] = new
        self.t_prog_s[idx] = t_end_s
        self.t_eval_s[idx] = t_end_s
        self.version[np.unique(self.core_of(idx))] += 1

    def formed(self, idx) -> np.ndarray:
        """True where a cell holds a filament (formed, or a stuck/leaky defect)."""
        k = self.kind[idx]
        return (k != CellKind.PRISTINE) & (k != CellKind.UNFORMABLE)

    # ---------------------------------------------------------------- reads
    def read(self, idx, t_s) -> np.ndarray:
        """Noisy conductance readings (S) of cells ``idx`` at times ``t_s``."""
        self.advance(idx, t_s)
        g = self.g_s[idx].astype(np.float64)
        leaky = self.kind[idx] == CellKind.LEAKY
        g = np.where(leaky, g * (1.0 + 0.1 * self.rng.standard_normal(idx.shape)), g)
        return np.maximum(device.read_noise(g, self.params.read, self.rng), 0.0)

    def true_conductance(self, idx, t_s) -> np.ndarray:
        """Noise-free conductance at ``t_s`` (S); relaxes the cells but draws no read noise."""
        self.advance(idx, t_s)
        return self.g_s[idx].astype(np.float64)
