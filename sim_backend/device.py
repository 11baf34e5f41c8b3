"""Compact physics of one RRAM cell, as vectorised functions over many cells.

Nothing here holds state: :mod:`sim_backend.cells` keeps the arrays and calls
these with slices of them. Conductances in siemens, voltages in volts, times
in seconds. Bulk arithmetic runs in float32; the model is described, with
its fitted parameters, in ``docs/twin_model.md``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import exp1

from ._normal import NormalStream, stream_start
from .params import DeviceParams, ReadParams, RelaxParams

F32 = np.float32


def switching_fraction(v_pulse, width_s, v_th, v_slope, tau0_s) -> np.ndarray:
    """Fraction of the way to saturation that one pulse moves a cell.

    ``1 - exp(-width / tau)`` with ``tau = tau0 * exp(-(V - v_th) / v_slope)``:
    ionic motion in the filament is thermally activated and the field lowers
    the barrier, so the rate grows exponentially with voltage.
    """
    x = (np.asarray(v_pulse, F32) - np.asarray(v_th, F32)) * F32(1.0 / v_slope)
    np.minimum(x, F32(60.0), out=x)
    np.exp(x, out=x)
    x *= -np.asarray(np.asarray(width_s, np.float64) / tau0_s, F32)
    # 1 - exp(x), not -expm1(x): float32 expm1 has no vector loop (5x slower); the absolute
    # error (< 1e-7) moves G by picosiemens
    np.exp(x, out=x)
    return np.subtract(F32(1.0), x, out=x)


def compliance_cap(g_cap_s, v_gate, p: DeviceParams) -> np.ndarray:
    """SET ceiling set by the selector transistor's gate voltage (S)."""
    scale = (np.asarray(v_gate, np.float64) - p.gate_v_th_v) / (p.gate_v_nominal_v - p.gate_v_th_v)
    return np.asarray(g_cap_s, F32) * np.asarray(np.clip(scale, 0.02, 1.5), F32)


class NoiseStream(NormalStream):
    """The noise of one block of one twin call: a counter-based stream keyed by the die, numbered (call, block).

    ``key`` (two uint64 words derived from the seed) and the numbers
    ``(call, block)`` pick the stream (:mod:`sim_backend._normal`), so every
    block of every call draws its own numbers whatever thread runs it and in
    whichever order. Calling it gives standard normal draws with exact tails;
    ``uniform`` gives uniform ones.
    """

    def __init__(self, key: np.ndarray, call: int, block: int):
        super().__init__(stream_start(key, call, block))


def _c2c(shape, p: DeviceParams, rng) -> np.ndarray:
    """Log-normal cycle-to-cycle factor of a pulse's effect (mean 1)."""
    eps = rng.standard_normal(shape, dtype=F32) if isinstance(rng, np.random.Generator) else rng(np.prod(shape))
    return c2c_factor(eps, p)


def c2c_factor(z, p: DeviceParams) -> np.ndarray:
    """``exp(sigma z - sigma^2 / 2)`` of standard normals ``z`` (float32, overwritten): mean 1."""
    z *= F32(p.c2c_sigma)
    z -= F32(0.5 * p.c2c_sigma**2)
    return np.exp(z, out=z)


def set_response(g, v, width_s, v_gate, v_th, g_cap, p: DeviceParams, rng):
    """Conductance after one SET pulse on formed cells (S), and each pulse's activation.

    Returns ``(g_new, s)``: ``s`` is the switching fraction times the
    cycle-to-cycle factor, the share of the filament's mobile ions the pulse
    moved (it also sets how many defects the pulse stirs up).
    """
    cap = compliance_cap(g_cap, v_gate, p)
    s = switching_fraction(v, width_s, v_th, p.set_v_slope_v, p.set_tau0_s)
    s *= _c2c(np.shape(g), p, rng)
    step = np.maximum(cap - g, F32(0.0)) * s
    return np.minimum(g + step, np.maximum(g, cap)), s


def reset_response(g, v, width_s, v_th, g_floor, p: DeviceParams, rng):
    """Conductance after one RESET pulse on formed cells (S), and each pulse's activation."""
    s = switching_fraction(v, width_s, v_th, p.reset_v_slope_v, p.reset_tau0_s)
    s *= _c2c(np.shape(g), p, rng)
    np.minimum(s, F32(1.0), out=s)
    return g - s * np.maximum(g - np.asarray(g_floor, F32), F32(0.0)), s


def form_probability(v, width_s, v_th_form, p: DeviceParams) -> np.ndarray:
    """Probability that one pulse forms a pristine cell (soft breakdown of the oxide)."""
    return switching_fraction(v, width_s, v_th_form, 0.1, 1e-6)


def read_time_s(g, p: ReadParams) -> np.ndarray:
    """Time to read a cell (s, float32): 1 us when it conducts well, up to 10 us near zero."""
    x = np.maximum(np.asarray(g, F32), F32(0.0)) * F32(-1.0 / p.g_fast_s)
    np.exp(x, out=x)
    x *= F32(p.t_max_s - p.t_min_s)
    x += F32(p.t_min_s)
    return x


def read_noise(g, p: ReadParams, rng) -> np.ndarray:
    """One noisy reading of conductances ``g`` (S, float32)."""
    g = np.asarray(g, F32)
    sigma = np.sqrt((F32(p.noise_rel) * g) ** 2 + F32(p.noise_floor_s**2))
    sigma *= rng.standard_normal(g.shape, dtype=F32) if isinstance(rng, np.random.Generator) else rng(g.size)
    return g + sigma


def trap_fraction(age_s, tau_min_s: float, tau_max_s: float) -> np.ndarray:
    """Fraction of a trap population relaxed at ``age_s`` (exact, float64).

    Relaxation times log-uniform in [tau_min, tau_max]:
    ``F(t) = 1 - (E1(t/tau_max) - E1(t/tau_min)) / ln(tau_max/tau_min)``.
    """
    t = np.maximum(np.asarray(age_s, np.float64), 1e-30)
    return 1.0 - (exp1(t / tau_max_s) - exp1(t / tau_min_s)) / np.log(tau_max_s / tau_min_s)


class RelaxationClock:
    """F(t) of the fast and the slow trap population, tabulated for cheap lookup.

    ``clock(age_s)`` returns ``(f_fast, f_slow)`` (float32); ``both[j]`` holds
    the pair for table row ``j`` (one gather fetches both). Rows are the
    bins of the float32 bit pattern of the age with 7 mantissa bits, 128 per
    octave (about 425 per decade) from 1 ns to 1e9 s: the row of an age is
    its bits shifted right, no logarithm. Each row holds F at the centre of
    its bin, so F is exact to about 1e-3.
    """

    T_MIN_S, T_MAX_S = 1e-9, 1e9
    _SHIFT = 16  # float32: 8 exponent bits and the top 7 of 23 mantissa bits stay

    def __init__(self, p: RelaxParams):
        self._base = int(np.float32(self.T_MIN_S).view(np.int32)) >> self._SHIFT
        top = int(np.float32(self.T_MAX_S).view(np.int32)) >> self._SHIFT
        self._n = top - self._base + 1
        rows = np.arange(self._base, top + 1, dtype=np.int32)
        t = ((rows << self._SHIFT) | (1 << (self._SHIFT - 1))).view(np.float32).astype(np.float64)
        self.both = np.stack([trap_fraction(t, p.fast_tau_min_s, p.fast_tau_max_s),
                              trap_fraction(t, p.slow_tau_min_s, p.slow_tau_max_s)], axis=1).astype(F32)
        self.fast, self.slow = self.both[:, 0].copy(), self.both[:, 1].copy()

    @property
    def base(self) -> int:
        """Bit pattern (shifted) of the first row's age; row = bits(age) >> 16 - base."""
        return self._base

    @property
    def rows(self) -> int:
        return self._n

    def index(self, age_s) -> np.ndarray:
        """Table row of each age (int32)."""
        a = np.array(age_s, F32)
        np.maximum(a, F32(self.T_MIN_S), out=a)
        j = a.view(np.int32)
        j >>= self._SHIFT
        j -= self._base
        return np.minimum(j, self._n - 1, out=j)

    def __call__(self, age_s):
        j = self.index(age_s)
        return self.fast[j], self.slow[j]


def _bump(g_s, sigma_s: float, g_peak_s: float, shape_low: float, shape_high: float) -> np.ndarray:
    """``sigma * (x e^(1-x))^shape``, x = G / g_peak: zero at G = 0, peak ``sigma`` at g_peak."""
    x = np.maximum(np.asarray(g_s, np.float64), 0.0) / g_peak_s
    shape = np.where(x < 1.0, shape_low, shape_high)
    return sigma_s * np.maximum(x * np.exp(1.0 - x), 1e-30) ** shape


def relaxation_amplitudes(g0_s, p: RelaxParams) -> tuple[np.ndarray, np.ndarray]:
    """(a_fast, a_slow) (S): spread each trap population adds once fully relaxed.

    Fewer mobile defects in a thin filament near gmin, a more stable wide
    filament near gmax; the slow (surface) population peaks at larger G.
    """
    a_f = _bump(g0_s, p.fast_sigma_s, p.fast_g_peak_s, p.fast_shape_low, p.fast_shape_high)
    a_s = _bump(g0_s, p.slow_sigma_s, p.slow_g_peak_s, p.slow_shape_low, p.slow_shape_high)
    return a_f, a_s


def relaxation_sigma(g0_s, p: RelaxParams, age_s: float = np.inf, excitation: float = 1.0) -> np.ndarray:
    """Spread of the relaxation displacement of a typical fully excited cell (S).

    ``sqrt(e * (a_fast^2 F_fast(t) + a_slow^2 F_slow(t)))``, by default once
    every trap has relaxed.
    """
    a_f, a_s = relaxation_amplitudes(g0_s, p)
    if np.isinf(age_s):
        ff = fs = 1.0
    else:
        ff = trap_fraction(age_s, p.fast_tau_min_s, p.fast_tau_max_s)
        fs = trap_fraction(age_s, p.slow_tau_min_s, p.slow_tau_max_s)
    return np.sqrt(excitation * (a_f**2 * ff + a_s**2 * fs))


class AmplitudeTable:
    """a_fast(G)^2 and a_slow(G)^2 tabulated on a 10 nS grid up to 200 uS (float32 lookup; ``both[j]`` the pair)."""

    G_STEP_S = 10e-9
    N = 20001

    def __init__(self, p: RelaxParams):
        g = np.arange(self.N) * self.G_STEP_S
        a_f, a_s = relaxation_amplitudes(g, p)
        self.both = np.stack([a_f**2, a_s**2], axis=1).astype(F32)
        self.var_fast, self.var_slow = self.both[:, 0].copy(), self.both[:, 1].copy()

    def index(self, g_s) -> np.ndarray:
        j = np.asarray(g_s, F32) * F32(1.0 / self.G_STEP_S)
        np.clip(j, 0, self.N - 1, out=j)
        return j.astype(np.int32)
