"""The conductance state of all 48 x 256 x 256 cells, evolving under pulses and in time.

Cells are addressed by flat index ``core * 65536 + row * 256 + col``. Each
core's die parameters (thresholds, ceilings, defects) are drawn the first time
the core is touched, from a generator seeded by (seed, core), so a core's
devices do not depend on which other cores were used. Cycle-to-cycle and read
noise come from one operation generator consumed in call order: same seed and
same calls give bit-identical results.

Relaxation (docs/twin_model.md): after each pulse a cell's displacement is a
Gaussian process with variance ``var_fast * F_fast(age) + var_slow *
F_slow(age)``, where ``var_*`` are fixed at the pulse from the new
conductance, the device's relaxation scale and its excitation. Advancing a
cell draws the increment since its last evaluation, so reading a cell often
or rarely gives the same statistics.
"""

from __future__ import annotations

import numpy as np

from . import device
from .defects import CellKind, draw_die
from .params import TwinParams

N_CORES, N_ROWS, N_COLS = 48, 256, 256
CELLS_PER_CORE = N_ROWS * N_COLS
F32 = np.float32


class CellArray:
    """State of every RRAM cell of one chip.

    Attributes (arrays over all cells, flat index)
    ----------------------------------------------
    g_s : float32
        Conductance at time ``t_eval_s`` (S).
    g0_s : float32
        Conductance right after the last pulse (S).
    t_prog_s : float64
        Virtual time of the last pulse (s).
    age_index : int32
        Row of the relaxation clock's table at the last evaluation (its age
        since the last pulse); ``g_s`` holds the conductance at that age.
    excitation : float32
        Share of the cell's defects left out of equilibrium by its last pulses (0..1).
    var_fast_s2, var_slow_s2 : float32
        Relaxation variance each population adds once fully relaxed (S^2).
    drift_s : float32
        Mean displacement once the slow population has relaxed (S).
    kind : uint8
        :class:`~sim_backend.defects.CellKind` of each cell; forming turns
        PRISTINE into NORMAL.
    """

    def __init__(self, params: TwinParams, seed: int):
        self.params = params
        self.seed = int(seed)
        n = N_CORES * CELLS_PER_CORE
        self.g_s = np.zeros(n, F32)
        self.g0_s = np.zeros(n, F32)
        self.t_prog_s = np.zeros(n, np.float64)
        self.age_index = np.zeros(n, np.int32)
        self.excitation = np.zeros(n, F32)
        self.var_fast_s2 = np.zeros(n, F32)
        self.var_slow_s2 = np.zeros(n, F32)
        self.drift_s = np.zeros(n, F32)
        # die parameters, filled per core on first use
        self.kind = np.zeros(n, np.uint8)
        self.set_vth = np.zeros(n, F32)
        self.reset_vth = np.zeros(n, F32)
        self.g_cap = np.zeros(n, F32)
        self.g_floor = np.zeros(n, F32)
        self.form_vth = np.zeros(n, F32)
        self.relax_scale = np.zeros(n, F32)
        self._ready = np.zeros(N_CORES, bool)
        self._clock = device.RelaxationClock(params.relax)
        self._amp = device.AmplitudeTable(params.relax)
        self.rng = np.random.default_rng(np.random.SeedSequence([self.seed, 0xCE11]))
        self.version = np.zeros(N_CORES, np.int64)  # bumped whenever a core's cells change

    # ------------------------------------------------------------------ die
    def ensure_cores(self, cores: np.ndarray) -> None:
        """Draw the die parameters of cores not yet touched."""
        if self._ready.all():
            return
        present = np.bincount(np.asarray(cores, np.int64).ravel(), minlength=N_CORES) > 0
        for c in np.flatnonzero(present & ~self._ready):
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
        clk = self._clock
        j_now = clk.index(np.asarray(t_s, np.float64) - self.t_prog_s[idx])
        j_then = self.age_index[idx]
        np.maximum(j_now, j_then, out=j_now)  # time only runs forward
        dff = clk.fast[j_now] - clk.fast[j_then]
        dfs = clk.slow[j_now] - clk.slow[j_then]
        var = self.var_fast_s2[idx] * dff
        var += self.var_slow_s2[idx] * dfs
        step = np.sqrt(var, out=var)
        step *= self.rng.standard_normal(idx.shape, dtype=F32)
        dfs *= self.drift_s[idx]
        step += dfs
        step += self.g_s[idx]
        self.g_s[idx] = np.maximum(step, F32(0.0), out=step)
        self.age_index[idx] = j_now

    # --------------------------------------------------------------- pulses
    def pulse(self, kind: str, idx, v, width_s, v_gate, t_end_s) -> np.ndarray:
        """Apply one pulse to each cell ``idx`` ending at times ``t_end_s``; returns the new G (S).

        Cells should be distinct within one call; a repeated cell sees only the
        last of its pulses. ``v``, ``width_s`` and ``v_gate`` are per cell or scalars.
        """
        p = self.params.device
        self.advance(idx, t_end_s)
        g = self.g_s[idx]
        ck = self.kind[idx]
        normal = ck == CellKind.NORMAL
        v = np.asarray(v, F32)
        formed_now = None
        if kind in ("set", "form"):
            resp, act = device.set_response(g, v, width_s, v_gate, self.set_vth[idx], self.g_cap[idx], p, self.rng)
            pristine = ck == CellKind.PRISTINE
            if pristine.any():
                # forming: pristine cells break down with a probability set by V and width
                prob = device.form_probability(v, width_s, self.form_vth[idx], p)
                forms = pristine & (self.rng.random(idx.shape, dtype=F32) < prob)
                if forms.any():
                    g_form = F32(p.form_g_s) * np.exp(F32(p.form_g_sigma_rel) * self.rng.standard_normal(idx.shape, dtype=F32))
                    cap = device.compliance_cap(self.g_cap[idx], v_gate, p)
                    resp = np.where(forms, np.minimum(g_form, cap), resp)
                    act = np.where(forms, F32(1e9), act)  # forming excites every defect
                    normal = normal | forms
                    formed_now = idx[forms]
        elif kind == "reset":
            resp, act = device.reset_response(g, v, width_s, self.reset_vth[idx], self.g_floor[idx], p, self.rng)
        else:  # pragma: no cover - kinds are validated by the Board
            raise ValueError(kind)
        new = np.where(normal, resp, g)
        if formed_now is not None:
            self.kind[formed_now] = CellKind.NORMAL
        self._reprogrammed(idx, new, act, normal, t_end_s)
        self.version[np.bincount(idx >> 16, minlength=N_CORES) > 0] += 1
        return new

    def _reprogrammed(self, idx, new, act, normal, t_end_s) -> None:
        """Restart the relaxation of cells just pulsed to ``new`` by pulses of activation ``act``."""
        r = self.params.relax
        # defects from earlier pulses that have not relaxed yet stay excited
        left = self.excitation[idx] * (F32(1.0) - self._clock.slow[self.age_index[idx]])
        hit = np.minimum(act * F32(r.excite_gain), F32(1.0))
        e = F32(1.0) - (F32(1.0) - left) * (F32(1.0) - hit)
        e = np.where(normal, e, F32(0.0))
        scale = self.relax_scale[idx]
        w = e * scale * scale
        j = self._amp.index(new)
        self.excitation[idx] = e
        self.var_fast_s2[idx] = self._amp.var_fast[j] * w
        self.var_slow_s2[idx] = self._amp.var_slow[j] * w
        self.drift_s[idx] = (F32(-r.drift_rel) * e) * (new - F32(r.g_mid_s))
        self.g_s[idx] = new
        self.g0_s[idx] = new
        self.t_prog_s[idx] = t_end_s
        self.age_index[idx] = 0

    def formed(self, idx) -> np.ndarray:
        """True where a cell holds a filament (formed, or a stuck/leaky defect)."""
        k = self.kind[idx]
        return (k != CellKind.PRISTINE) & (k != CellKind.UNFORMABLE)

    # ---------------------------------------------------------------- reads
    def read(self, idx, t_s) -> np.ndarray:
        """Noisy conductance readings (S, float32) of cells ``idx`` at times ``t_s``."""
        self.advance(idx, t_s)
        g = self.g_s[idx]
        leaky = self.kind[idx] == CellKind.LEAKY
        if leaky.any():
            g = np.where(leaky, g * (F32(1.0) + F32(0.1) * self.rng.standard_normal(idx.shape, dtype=F32)), g)
        g = device.read_noise(g, self.params.read, self.rng)
        return np.maximum(g, F32(0.0), out=g)

    def true_conductance(self, idx, t_s) -> np.ndarray:
        """Noise-free conductance at ``t_s`` (S); relaxes the cells but draws no read noise."""
        self.advance(idx, t_s)
        return self.g_s[idx].astype(np.float64)
