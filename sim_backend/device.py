"""Compact physics of one RRAM cell, as vectorised functions over many cells.

Nothing here holds state: :mod:`sim_backend.cells` keeps the arrays and calls
these with slices of them. Conductances in siemens, voltages in volts, times
in seconds.
"""

from __future__ import annotations

import numpy as np
from scipy.special import exp1

from .params import DeviceParams, ReadParams, RelaxParams


def switching_fraction(v_pulse, width_s, v_th, v_slope, tau0_s) -> np.ndarray:
    """Fraction of the way to saturation that one pulse moves a cell.

    ``1 - exp(-width / tau)`` with ``tau = tau0 * exp(-(V - v_th) / v_slope)``:
    ionic motion in the filament is thermally activated and the field lowers
    the barrier, so the rate grows exponentially with voltage.
    """
    x = (np.asarray(v_pulse, np.float64) - v_th) / v_slope
    rate = np.exp(np.minimum(x, 60.0)) / tau0_s
    return -np.expm1(-np.asarray(width_s, np.float64) * rate)


def compliance_cap(g_cap_s, v_gate, p: DeviceParams) -> np.ndarray:
    """SET ceiling set by the selector transistor's gate voltage (S)."""
    scale = (np.asarray(v_gate, np.float64) - p.gate_v_th_v) / (p.gate_v_nominal_v - p.gate_v_th_v)
    return g_cap_s * np.clip(scale, 0.02, 1.5)


def set_response(g, v, width_s, v_gate, v_th, g_cap, p: DeviceParams, rng) -> np.ndarray:
    """Conductance after one SET pulse on formed cells (S)."""
    cap = compliance_cap(g_cap, v_gate, p)
    frac = switching_fraction(v, width_s, v_th, p.set_v_slope_v, p.set_tau0_s)
    eps = rng.lognormal(-0.5 * p.c2c_sigma**2, p.c2c_sigma, size=np.shape(g))
    step = frac * eps * np.maximum(cap - g, 0.0)
    return np.minimum(g + step, np.maximum(g, cap))


def reset_response(g, v, width_s, v_th, g_floor, p: DeviceParams, rng) -> np.ndarray:
    """Conductance after one RESET pulse on formed cells (S)."""
    frac = switching_fraction(v, width_s, v_th, p.reset_v_slope_v, p.reset_tau0_s)
    eps = rng.lognormal(-0.5 * p.c2c_sigma**2, p.c2c_sigma, size=np.shape(g))
    step = np.minimum(frac * eps, 1.0) * np.maximum(g - g_floor, 0.0)
    return g - step


def form_probability(v, width_s, v_th_form, p: DeviceParams) -> np.ndarray:
    """Probability that one pulse forms a pristine cell (soft breakdown of the oxide)."""
    return switching_fraction(v, width_s, v_th_form, 0.1, 1e-6)


def read_time_s(g, p: ReadParams) -> np.ndarray:
    """Time to read a cell (s): 1 us when it conducts well, up to 10 us near zero."""
    g = np.maximum(np.asarray(g, np.float64), 0.0)
    return p.t_min_s + (p.t_max_s - p.t_min_s) * np.exp(-g / p.g_fast_s)


def read_noise(g, p: ReadParams, rng) -> np.ndarray:
    """One noisy reading of conductances ``g`` (S)."""
    g = np.asarray(g, np.float64)
    sigma = np.hypot(p.noise_rel * g, p.noise_floor_s)
    return g + sigma * rng.standard_normal(g.shape)


class RelaxationClock:
    """F(t): fraction of defect traps relaxed a time t after programming.

    Trap relaxation times are log-uniform in [tau_min, tau_max], so
    ``F(t) = 1 - (E1(t/tau_max) - E1(t/tau_min)) / ln(tau_max/tau_min)``. It is
    tabulated once on a log grid and interpolated (vectorised, cheap).
    """

    def __init__(self, p: RelaxParams):
        self._log_t = np.linspace(np.log(1e-9), np.log(1e9), 4001)
        t = np.exp(self._log_t)
        span = np.log(p.tau_max_s / p.tau_min_s)
        self._f = 1.0 - (exp1(t / p.tau_max_s) - exp1(t / p.tau_min_s)) / span

    def __call__(self, age_s) -> np.ndarray:
        age = np.maximum(np.asarray(age_s, np.float64), 1e-9)
        return np.interp(np.log(age), self._log_t, self._f)


def relaxation_sigma(g0_s, p: RelaxParams) -> np.ndarray:
    """Spread a(G) of the relaxation displacement once every trap has relaxed (S).

    Peaks at ``g_peak_s``; rises as (x e^(1-x))^shape_low below it and falls as
    (x e^(1-x))^shape_high above it, x = G / g_peak: fewer mobile defects in a
    thin filament near gmin, a more stable wide filament near gmax.
    """
    x = np.maximum(np.asarray(g0_s, np.float64), 0.0) / p.g_peak_s
    shape = np.where(x < 1.0, p.shape_low, p.shape_high)
    base = np.maximum(x * np.exp(1.0 - x), 1e-30)
    return p.sigma_peak_s * base**shape
