"""The conductance state of all 48 x 256 x 256 cells, evolving under pulses and in time.

Cells are addressed by flat index ``core * 65536 + row * 256 + col``. Each
core's die parameters (thresholds, ceilings, defects) are drawn the first time
the core is touched, from a generator seeded by (seed, core), so a core's
devices do not depend on which other cores were used. Cycle-to-cycle, forming
and read noise come from counter-based streams, one per (call, block): the
caller asks :meth:`CellArray.streams` for a call's streams and hands one to
each block (:mod:`sim_backend._parallel`). Same seed and same calls give
bit-identical results, whichever threads run the blocks.

Relaxation (docs/twin_model.md): after each pulse a cell's displacement is a
Gaussian process with variance ``var_fast * F_fast(age) + var_slow *
F_slow(age)``, where ``var_*`` are fixed at the pulse from the new
conductance, the device's relaxation scale and its excitation. Advancing a
cell draws the increment since its last evaluation, so reading a cell often
or rarely gives the same statistics.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from neurram_lab.board.limits import CELLS_PER_CORE, N_COLS, N_CORES, N_ROWS

from . import _kernels, device
from .defects import CellKind, draw_die
from .params import TwinParams

F32 = np.float32
_ROW = np.dtype((np.void, 16))

#: What the compiled cell kernels (``pulse_cells``, ``read_cells``) read, by field name: the cell
#: array's state and die columns (views, written in place), its relaxation clock and amplitude
#: tables, and the device and read parameters they use. One record per :class:`CellArray`, built
#: by :func:`kernel_record`; a misspelt or missing field is a TypeError when it is built and a
#: typing error when a kernel compiles, never a silently swapped pair of floats.
CellKernelRecord = namedtuple("CellKernelRecord", [
    # state (per cell, written by the kernels)
    "g_s", "t_prog_s", "age_index", "rec", "kind",
    # die (per cell)
    "set_vth", "reset_vth", "g_cap", "g_floor", "relax_scale",
    # relaxation clock: table (rows x 2), shifted bit pattern of its first row's age, rows, shortest age (s)
    "clock", "clock_base", "clock_rows", "t_min_s",
    # relaxation amplitude table (rows x 2), 1 / its conductance step (1/S), rows
    "amp", "amp_step_inv", "amp_n",
    # device: 1 / V slope (1/V), tau0 (s) of SET and RESET; access-transistor gate threshold / nominal (V)
    "set_slope_inv", "reset_slope_inv", "set_tau0_s", "reset_tau0_s", "gate_v_th_v", "gate_v_nominal_v",
    # relaxation: excitation gain, drift (relative), conductance the drift pulls toward (S)
    "excite_gain", "drift_rel", "g_mid_s",
    # read noise: relative sigma, floor sigma squared (S^2, float32)
    "read_noise_rel", "read_floor_sq_s2",
])


#: One call of the compiled ``pulse_cells``, by field name: cells (flat index), amplitude (V, float32),
#: width (s), gate (V), end times (s; or ``t0 + (i + 1) * t_step`` when ``t_step > 0``), the standard
#: normal relaxation draws and cycle-to-cycle factors (float32), the new conductances' output (S).
PulseCall = namedtuple("PulseCall", ["idx", "v", "width_s", "gate_v", "t_end", "t0", "t_step", "z_relax", "c2c",
                                     "out"])
#: One call of the compiled ``read_cells``, by field name: cells, times (s) from ``t_start_s``, their
#: stored conductance (S), the relaxation, leaky-cell and read-noise draws (float32), whether leaky
#: cells are among them, the read durations (s; empty: no energy sum), the readings' output (S).
ReadCall = namedtuple("ReadCall", ["idx", "t_s", "t_start_s", "g_then", "z_relax", "z_leaky", "use_leaky", "z_read",
                                   "dur_s", "out"])


def kernel_record(cells: "CellArray") -> CellKernelRecord:
    """The :data:`CellKernelRecord` of ``cells`` (its parameters as fixed when it was made)."""
    p, r, rp = cells.params.device, cells.params.relax, cells.params.read
    clk, amp = cells._clock, cells._amp
    return CellKernelRecord(
        g_s=cells.g_s, t_prog_s=cells.t_prog_s, age_index=cells.age_index, rec=cells._rec, kind=cells.kind,
        set_vth=cells.set_vth, reset_vth=cells.reset_vth, g_cap=cells.g_cap, g_floor=cells.g_floor,
        relax_scale=cells.relax_scale,
        clock=clk.both, clock_base=clk.base, clock_rows=clk.rows, t_min_s=F32(clk.T_MIN_S),
        amp=amp.both, amp_step_inv=1.0 / amp.G_STEP_S, amp_n=amp.N,
        set_slope_inv=1.0 / p.set_v_slope_v, reset_slope_inv=1.0 / p.reset_v_slope_v,
        set_tau0_s=p.set_tau0_s, reset_tau0_s=p.reset_tau0_s,
        gate_v_th_v=p.gate_v_th_v, gate_v_nominal_v=p.gate_v_nominal_v,
        excite_gain=r.excite_gain, drift_rel=r.drift_rel, g_mid_s=r.g_mid_s,
        read_noise_rel=rp.noise_rel, read_floor_sq_s2=F32(rp.noise_floor_s**2),
    )


class CellArray:
    """State of every RRAM cell of one chip.

    Attributes (arrays over all cells, flat index)
    ----------------------------------------------
    g_s : float32
        Conductance at the last evaluation (S).
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
        # A cell's changing state in one 32-byte record (half a cache line), so touching a
        # cell, however scattered the cells of a call are, costs one memory access:
        # [var_fast, var_slow, drift, excitation | g | age_index (int32) | t_prog (float64)].
        # The attributes below are views of its columns.
        self._state = np.zeros((n, 8), F32)
        self._rec = self._state[:, 0:4]  # relaxation record; one 16-byte row per cell
        self._rec_rows = self._rec.view(_ROW).reshape(n)
        self.var_fast_s2 = self._rec[:, 0]
        self.var_slow_s2 = self._rec[:, 1]
        self.drift_s = self._rec[:, 2]
        self.excitation = self._rec[:, 3]
        self.g_s = self._state[:, 4]
        self.age_index = self._state.view(np.int32)[:, 5]
        self.t_prog_s = self._state.view(np.float64)[:, 3]
        # die parameters, filled per core on first use; one 32-byte record per cell too
        self.kind = np.zeros(n, np.uint8)
        self._die = np.zeros((n, 8), F32)
        self.set_vth = self._die[:, 0]
        self.reset_vth = self._die[:, 1]
        self.g_cap = self._die[:, 2]
        self.g_floor = self._die[:, 3]
        self.form_vth = self._die[:, 4]
        self.relax_scale = self._die[:, 5]
        self._ready = np.zeros(N_CORES, bool)
        self._clock = device.RelaxationClock(params.relax)
        self._amp = device.AmplitudeTable(params.relax)
        self._key = np.random.SeedSequence([self.seed, 0xCE11]).generate_state(2, np.uint64)
        self._calls = 0
        self.version = np.zeros(N_CORES, np.int64)  # bumped whenever a core's cells change
        # the compiled kernels' parameters, once: the clock and amplitude tables above are fixed here too
        self._kernel_record = kernel_record(self)

    def streams(self, n_blocks: int) -> list:
        """Noise streams for the ``n_blocks`` blocks of the next call (one call per request)."""
        call, self._calls = self._calls, self._calls + 1
        return [device.NoiseStream(self._key, call, b) for b in range(max(1, n_blocks))]

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
        self._ready[core] = True

    def core_of(self, idx: np.ndarray) -> np.ndarray:
        return idx // CELLS_PER_CORE

    # ----------------------------------------------------------- relaxation
    def _relaxed(self, idx: np.ndarray, t_s, noise, g_then=None):
        """Conductance of cells ``idx`` relaxed to ``t_s``, without storing it.

        Returns ``(g, j_now, rec)``: the new conductances, the clock rows of
        their ages and their relaxation records (n x 4). ``g_then``: the
        cells' ``g_s`` when the caller has gathered it already.
        """
        clk = self._clock
        j_now = clk.index(np.asarray(t_s, np.float64) - self.t_prog_s[idx])
        j_then = self.age_index[idx]
        np.maximum(j_now, j_then, out=j_now)  # time only runs forward
        rec = self._rec[idx]
        df = clk.both.take(j_now, axis=0)
        df -= clk.both.take(j_then, axis=0)
        dfs = df[:, 1]
        var = rec[:, 0] * df[:, 0]
        var += rec[:, 1] * dfs
        step = np.sqrt(var, out=var)
        step *= noise(idx.size)
        dfs *= rec[:, 2]
        step += dfs
        step += self.g_s[idx] if g_then is None else g_then
        return np.maximum(step, F32(0.0), out=step), j_now, rec

    def advance(self, idx: np.ndarray, t_s, noise=None) -> None:
        """Let cells ``idx`` relax up to time ``t_s`` (scalar or per cell).

        ``noise``: the block's stream; by default one stream for this call.
        """
        g, j, _ = self._relaxed(idx, t_s, noise if noise is not None else self.streams(1)[0])
        self.g_s[idx] = g
        self.age_index[idx] = j

    # --------------------------------------------------------------- pulses
    def pulse(self, kind: str, idx, v, width_s, v_gate, t_end_s, noise) -> np.ndarray:
        """Apply one pulse to each cell ``idx`` ending at times ``t_end_s``; returns the new G (S).

        Cells should be distinct within one call; a repeated cell sees only the
        last of its pulses. ``v``, ``width_s`` and ``v_gate`` are per cell or
        scalars; ``noise`` is the block's stream. Does not bump
        :attr:`version`: the caller does, once per call.
        """
        p = self.params.device
        if self.compiled_pulse_ok(kind, idx):
            return self.pulse_compiled(kind, idx, v, width_s, v_gate, t_end_s, noise)[0]
        ck = self.kind.take(idx)
        g, j, rec = self._relaxed(idx, t_end_s, noise)  # relaxation up to the pulse
        normal = ck == CellKind.NORMAL
        v = np.asarray(v, F32)
        formed_now = None
        if kind in ("set", "form"):
            resp, act = device.set_response(g, v, width_s, v_gate, self.set_vth[idx], self.g_cap[idx], p, noise)
            pristine = ck == CellKind.PRISTINE
            if pristine.any():
                # forming: pristine cells break down with a probability set by V and width
                prob = device.form_probability(v, width_s, self.form_vth[idx], p)
                forms = pristine & (noise.uniform(idx.size) < prob)
                if forms.any():
                    g_form = F32(p.form_g_s) * np.exp(F32(p.form_g_sigma_rel) * noise(idx.size))
                    cap = device.compliance_cap(self.g_cap[idx], v_gate, p)
                    resp = np.where(forms, np.minimum(g_form, cap), resp)
                    act = np.where(forms, F32(1e9), act)  # forming excites every defect
                    normal = normal | forms
                    formed_now = idx[forms]
        elif kind == "reset":
            resp, act = device.reset_response(g, v, width_s, self.reset_vth[idx], self.g_floor[idx], p, noise)
        else:  # pragma: no cover - kinds are validated by the Board
            raise ValueError(kind)
        new = np.where(normal, resp, g)
        if formed_now is not None:
            self.kind[formed_now] = CellKind.NORMAL
        self._reprogrammed(idx, new, act, normal, t_end_s, j, rec)
        return new

    def compiled_pulse_ok(self, kind: str, idx) -> bool:
        """True when :meth:`pulse_compiled` applies: kernels available, no pristine cell to form."""
        return _kernels.available() and (
            kind == "reset" or not _kernels.kernel("any_kind")(self.kind, idx, int(CellKind.PRISTINE)))

    def pulse_compiled(self, kind, idx, v, width_s, v_gate, t_end_s, noise):
        """:meth:`pulse` as one compiled pass over distinct, non-pristine cells (same noise draws).

        ``t_end_s``: per-cell end times, or ``(t0, step)`` for pulses ending at
        ``t0 + step, t0 + 2 step, ...``. Returns ``(new G (S), sum(v^2 g w)
        (V^2 S s), sum(v^2) (V^2))``, the sums for the energy.
        """
        is_set = kind != "reset"
        p = self.params.device
        n = idx.size
        z_relax = noise(n)
        c2c = device.c2c_factor(noise(n), p)  # numpy's exp, as the reference path takes it
        if isinstance(t_end_s, tuple):
            t0, step = float(t_end_s[0]), float(t_end_s[1])
            t_end = _NO_TIMES
        else:
            t0, step, t_end = 0.0, -1.0, _per_cell(t_end_s, n, np.float64)
        out = np.empty(n, F32)
        call = PulseCall(idx=idx, v=_per_cell(v, n, F32), width_s=_per_cell(width_s, n, np.float64),
                         gate_v=_per_cell(v_gate, n, np.float64), t_end=t_end, t0=t0, t_step=step,
                         z_relax=z_relax, c2c=c2c, out=out)
        e_cell, v2 = _kernels.kernel("pulse_cells")(is_set, call, self._kernel_record)
        return out, e_cell, v2

    def _reprogrammed(self, idx, new, act, normal, t_end_s, j, rec) -> None:
        """Restart the relaxation of cells just pulsed to ``new`` by pulses of activation ``act``.

        ``j`` and ``rec`` are the cells' clock rows and relaxation records just before the pulse.
        """
        r = self.params.relax
        one = F32(1.0)
        # defects from earlier pulses that have not relaxed yet stay excited
        left = rec[:, 3] * (one - self._clock.slow.take(j))
        hit = np.minimum(act * F32(r.excite_gain), one)
        e = one - (one - left) * (one - hit)
        e *= normal
        scale = self.relax_scale[idx]
        w = e * scale * scale
        a2 = self._amp.both.take(self._amp.index(new), axis=0)
        out = np.empty((idx.size, 4), F32)
        np.multiply(a2[:, 0], w, out=out[:, 0])
        np.multiply(a2[:, 1], w, out=out[:, 1])
        np.multiply(F32(-r.drift_rel) * e, new - F32(r.g_mid_s), out=out[:, 2])
        out[:, 3] = e
        self._rec_rows[idx] = out.view(_ROW).reshape(idx.size)
        self.g_s[idx] = new
        self.t_prog_s[idx] = t_end_s
        self.age_index[idx] = 0

    def formed(self, idx) -> np.ndarray:
        """True where a cell holds a filament (formed, or a stuck/leaky defect)."""
        k = self.kind[idx]
        return (k != CellKind.PRISTINE) & (k != CellKind.UNFORMABLE)

    # ---------------------------------------------------------------- reads
    def read(self, idx, t_s, noise, g_then=None) -> np.ndarray:
        """Noisy conductance readings (S, float32) of cells ``idx`` at times ``t_s``; ``noise`` the block's stream.

        ``g_then``: ``g_s[idx]`` when the caller has gathered it already.
        """
        if _kernels.available():
            return self.read_compiled(idx, _per_cell(t_s, idx.size, np.float64), 0.0, noise, g_then)[0]
        g, j, _ = self._relaxed(idx, t_s, noise, g_then)
        self.g_s[idx] = g
        self.age_index[idx] = j
        leaky = self.kind.take(idx) == CellKind.LEAKY
        if leaky.any():
            g = np.where(leaky, g * (F32(1.0) + F32(0.1) * noise(idx.size)), g)
        g = device.read_noise(g, self.params.read, noise)
        return np.maximum(g, F32(0.0), out=g)

    def read_timing_compiled(self, idx, overhead_s: float):
        """Each read's stored G before it, duration (s, float32, ``overhead_s`` included) and the
        running sum of the durations (s, float64), in one compiled pass (as :func:`device.read_time_s`)."""
        n = idx.size
        g, dur, t = np.empty(n, F32), np.empty(n, F32), np.empty(n, np.float64)
        rp = self.params.read
        _kernels.kernel("read_timing")(idx, self.g_s, F32(overhead_s), rp.t_max_s - rp.t_min_s, rp.t_min_s,
                                       -1.0 / rp.g_fast_s, g, dur, t)
        return g, dur, t

    def read_compiled(self, idx, t_s, t_start_s, noise, g_then=None, dur_s=None):
        """:meth:`read` as one compiled pass at times ``t_s + t_start_s`` (same noise draws, same readings).

        Returns ``(readings (S), sum(readings * dur_s) (S s))``, the sum 0 without ``dur_s``.
        """
        n = idx.size
        g0 = self.g_s[idx] if g_then is None else g_then
        z_relax = noise(n)
        leaky = bool(_kernels.kernel("any_kind")(self.kind, idx, int(CellKind.LEAKY)))
        z_leaky = noise(n) if leaky else z_relax
        z_read = noise(n)
        out = np.empty(n, F32)
        call = ReadCall(idx=idx, t_s=t_s, t_start_s=float(t_start_s), g_then=np.ascontiguousarray(g0, F32),
                        z_relax=z_relax, z_leaky=z_leaky, use_leaky=leaky, z_read=z_read,
                        dur_s=_NO_DUR if dur_s is None else dur_s, out=out)
        ig = _kernels.kernel("read_cells")(call, self._kernel_record)
        return out, ig

    def true_conductance(self, idx, t_s) -> np.ndarray:
        """Noise-free conductance at ``t_s`` (S); relaxes the cells but draws no read noise."""
        self.advance(idx, t_s)
        return self.g_s[idx].astype(np.float64)


_NO_TIMES = np.zeros(0, np.float64)
_NO_DUR = np.zeros(0, F32)


def _per_cell(a, n: int, dtype) -> np.ndarray:
    """``a`` as an array of ``n`` values of ``dtype`` (a scalar becomes a zero-stride view)."""
    a = np.asarray(a, dtype)
    return np.broadcast_to(a, (n,)) if a.ndim == 0 else a
