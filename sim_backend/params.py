"""Every parameter of the physics twin, in one dataclass with the paper's values as defaults.

Sections group the physics: ``device`` (pulse response of a formed cell,
forming), ``relax`` (conductance relaxation), ``read`` (cell reads),
``defects`` (per-die defect rates), ``timing`` and ``energy`` (per-operation
costs). SI units throughout. Load overrides from TOML or JSON with
:meth:`TwinParams.from_file`; keys not in the file keep their defaults, unknown
keys are an error.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from neurram_lab._files import load_mapping
from neurram_lab.errors import InputError


@dataclass
class DeviceParams:
    """Pulse response of the 1T1R cell (TiN/HfOx/TaOx/TiN).

    A SET pulse of amplitude V and width w moves G toward the cell's ceiling
    g_cap by the fraction 1 - exp(-w/tau), tau = tau0 * exp(-(V - v_th)/v_slope):
    the response grows exponentially with voltage above the threshold, grows
    with width, depends on the present G, and saturates. RESET mirrors it
    toward the cell's floor. Thresholds, ceilings and floors vary from device
    to device; each pulse's effect varies cycle to cycle (log-normal).
    """

    set_tau0_s: float = 1.0e-6
    set_v_th_v: float = 1.73  # SET threshold: tau == tau0 here (mean over devices)
    set_v_th_sigma_v: float = 0.12  # device-to-device spread of the SET threshold
    set_v_slope_v: float = 0.12  # voltage for an e-fold faster response
    reset_tau0_s: float = 1.0e-6
    reset_v_th_v: float = 2.03
    reset_v_th_sigma_v: float = 0.12
    reset_v_slope_v: float = 0.12
    g_cap_s: float = 75e-6  # SET ceiling at the nominal gate voltage (mean)
    g_cap_sigma_rel: float = 0.12
    g_floor_s: float = 0.3e-6  # RESET floor (mean)
    g_floor_sigma_rel: float = 0.3
    gate_v_th_v: float = 0.7  # selector threshold: compliance vanishes below it
    gate_v_nominal_v: float = 2.0  # gate voltage at which g_cap applies
    c2c_sigma: float = 0.35  # log-normal cycle-to-cycle spread of each pulse's step
    g_pristine_s: float = 0.1e-6  # conductance of an unformed cell (mean)
    form_v_th_v: float = 3.7  # forming threshold at 1 us (mean over devices)
    form_v_th_sigma_v: float = 0.15
    form_g_s: float = 30e-6  # conductance right after forming (mean, capped by compliance)
    form_g_sigma_rel: float = 0.25


@dataclass
class RelaxParams:
    """Conductance relaxation after programming (SPEC §2); see docs/twin_model.md.

    Programming pulses leave defects (oxygen vacancies around the filament)
    out of equilibrium. Each relaxes once, after a time drawn log-uniform
    between a population's ``tau_*_min_s`` and ``tau_*_max_s``, and moves the
    conductance by a random +-step, so the displacement is a Gaussian process
    with independent increments: variance ``a(G)^2 * e * F(t)``, F the fraction
    of the population relaxed at age t. Two populations: fast traps in the
    filament's constriction (mostly gone within 1 s, spread peaking near
    ``fast_g_peak_s``) and slow traps on the filament's surface (hours, spread
    peaking at a larger G). ``e`` (0..1) is the cell's excitation: how much of
    the defect population the last pulses stirred up. Each pulse excites the
    fraction ``min(1, excite_gain * s)`` of the unexcited defects, s the
    pulse's switching fraction; relaxed defects stay relaxed. Forming excites
    everything. So a cell re-programmed by a few weak corrective pulses after
    it has settled relaxes less than a freshly programmed one, which is why
    iterative programming narrows the spread. A weak pull toward ``g_mid_s``
    gives the small mean shift.
    """

    fast_tau_min_s: float = 1e-3
    fast_tau_max_s: float = 1.0
    slow_tau_min_s: float = 3.0
    slow_tau_max_s: float = 5.0e4
    fast_sigma_s: float = 2.75e-6  # a_fast(G) at its peak
    fast_g_peak_s: float = 11.5e-6
    fast_shape_low: float = 0.95  # a(G) ~ (x e^(1-x))^shape, x = G / g_peak, below the peak
    fast_shape_high: float = 0.95  # ... and above it
    slow_sigma_s: float = 3.35e-6
    slow_g_peak_s: float = 20e-6
    slow_shape_low: float = 0.55
    slow_shape_high: float = 0.9
    device_sigma_rel: float = 0.25  # device-to-device spread of a(G) (log-normal)
    excite_gain: float = 6.0  # defects excited per unit switching fraction of a pulse
    drift_rel: float = 0.03  # mean pull per unit F toward g_mid_s, fraction of (G - g_mid)
    g_mid_s: float = 15e-6


@dataclass
class ReadParams:
    """Single-cell reads during write-verify."""

    noise_rel: float = 0.01  # relative read noise
    noise_floor_s: float = 0.05e-6  # absolute read-noise floor
    t_min_s: float = 1e-6  # read time at high conductance
    t_max_s: float = 10e-6  # read time at very low conductance
    g_fast_s: float = 10e-6  # conductance scale of the read-time drop


@dataclass
class DefectParams:
    """Per-die defect rates (fractions of cells or columns)."""

    unformable_frac: float = 5e-4  # never form
    stuck_on_frac: float = 3e-4  # formed, stuck at high conductance
    stuck_off_frac: float = 3e-4  # formed, stuck near zero
    leaky_frac: float = 2e-4  # high, drifting conductance that pulses barely move
    bad_col_per_core: float = 0.1  # expected bad columns per core
    stuck_on_g_s: float = 90e-6
    leaky_g_s: float = 55e-6


@dataclass
class TimingParams:
    """Time each cell operation takes on the chip (s)."""

    pulse_overhead_s: float = 0.2e-6  # register setup around each pulse
    read_overhead_s: float = 0.2e-6


@dataclass
class EnergyParams:
    """Energy of single-cell operations (pulses and reads) beyond the cell's own I*V*t.

    A pulse or read comes from the board's pulse source through a pad and the
    chip-level route to the core, then the selected BL or SL: it charges
    ``c_pulse_path_f`` per volt squared, more than the array line alone
    (:attr:`CircuitParams.c_line_f`, what an MVM's on-core drivers charge). The
    gate of a pulse charges one WL, :attr:`CircuitParams.c_wl_f`.
    """

    c_pulse_path_f: float = 1.0e-12  # pad + chip-level route + selected BL/SL, charged per pulse or read (F)


@dataclass
class CircuitParams:
    """The MVM circuit: array network, neurons, shared supply, MVM energy and timing (SPEC §3-4).

    See docs/mvm_model.md for the model and how the defaults were chosen.
    ``ideal_settling`` (0 or 1) replaces the resistive-network solve by the
    ideal conductance-weighted mean.
    """

    # array network
    r_driver_ohm: float = 20.0  # on-resistance of a BL/SL driver pass gate
    r_wire_ohm: float = 0.15  # BL/SL wire resistance per cell pitch
    g_leak_s: float = 1e-12  # leak of each sensed line to v_ref (neuron input)
    wire_cells_per_node: float = 16.0  # cells sharing one wire node: 16 = per corelet, 1 = per cell
    ideal_settling: float = 0.0
    coupling_frac: float = 0.05  # output-line swing per volt of mean input-line switching
    relax_refresh_df: float = 0.01  # re-read relaxing cells for MVM when F moved by this much
    # neuron
    c_sample_f: float = 17e-15
    c_integ_f: float = 104e-15
    v_headroom_v: float = 0.35  # integrator swing allowed around v_ref before it clips
    comparator_offset_sigma_v: float = 4e-3  # fixed per-neuron offset (die pattern)
    comparator_noise_v: float = 0.25e-3  # input-referred noise per conversion (rms)
    cycle_noise_v: float = 0.8e-3  # integrator noise added by each sample-and-integrate cycle (rms)
    temperature_k: float = 300.0  # kT/C sampling noise
    dac_level_sigma_rel: float = 0.003  # error of each shared Vdecr DAC level
    lfsr_noise_v: float = 0.02  # stochastic neuron: full span of the injected LFSR noise
    # multi-core
    core_gain_sigma_rel: float = 0.003  # core-to-core Csample/Cinteg mismatch
    r_supply_ohm: float = 0.3  # shared v_ref +- v_read supply impedance
    r_supply_per_core_ohm: float = 0.25  # extra supply resistance per core of distance
    supply_noise_ohm: float = 0.35  # supply instability: rms rail wobble per ampere drawn (V/A), per vector
    # energy and timing (the array's line capacitances serve the cell pulses' energy too)
    c_wl_f: float = 432e-15  # one WL: 256 access gates x 1.5 fF + 48 fF driver
    v_wl_mvm_v: float = 1.3  # WL swing during MVM
    c_line_f: float = 120e-15  # one BL or SL of the array
    e_sample_j: float = 20e-15  # per neuron per sample
    e_integ_j: float = 60e-15  # per neuron per integration
    e_compare_j: float = 25e-15  # per neuron per comparison
    e_decr_j: float = 15e-15  # per neuron per Vdecr charge step
    e_lfsr_j: float = 121e-15  # per neuron per stochastic step
    p_static_w: float = 5e-6  # leakage of a running core
    t_wl_s: float = 10e-9
    t_sample_s: float = 10e-9
    t_integ_s: float = 240e-9
    t_compare_s: float = 10e-9  # per comparison / decrement step
    t_setup_s: float = 50e-9  # per MVM


@dataclass
class TwinParams:
    """All parameters of the twin. ``TwinParams()`` is the paper's chip."""

    device: DeviceParams = field(default_factory=DeviceParams)
    relax: RelaxParams = field(default_factory=RelaxParams)
    read: ReadParams = field(default_factory=ReadParams)
    defects: DefectParams = field(default_factory=DefectParams)
    timing: TimingParams = field(default_factory=TimingParams)
    energy: EnergyParams = field(default_factory=EnergyParams)
    circuit: CircuitParams = field(default_factory=CircuitParams)

    def to_dict(self) -> dict:
        """Nested mapping of every parameter (JSON-able)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict, source: str = "<dict>") -> "TwinParams":
        """Defaults overridden by ``data`` (``{section: {name: value}}``)."""
        out = cls()
        sections = {f.name: f for f in dataclasses.fields(cls)}
        for sec, values in data.items():
            if sec not in sections:
                raise InputError(f"{source}: unknown twin parameter section {sec!r}; known: {sorted(sections)}")
            if not isinstance(values, dict):
                raise InputError(f"{source}: section {sec!r} must be a table of parameters")
            obj = getattr(out, sec)
            names = {f.name: f for f in dataclasses.fields(obj)}
            for name, value in values.items():
                if name not in names:
                    raise InputError(f"{source}: unknown parameter {sec}.{name}; known: {sorted(names)}")
                try:
                    setattr(obj, name, float(value))
                except (TypeError, ValueError) as exc:
                    raise InputError(f"{source}: {sec}.{name} must be a number, got {value!r}") from exc
        return out

    @classmethod
    def from_file(cls, path: str | Path) -> "TwinParams":
        """Load overrides from a TOML or JSON file."""
        return cls.from_dict(load_mapping(path), source=str(path))
