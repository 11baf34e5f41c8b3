"""Every parameter of the physics twin, in one dataclass with the paper's values as defaults.

Sections group the physics: ``device`` (pulse response of a formed cell,
forming), ``relax`` (conductance relaxation), ``read`` (cell reads),
``defects`` (per-die defect rates), ``timing`` and ``energy`` (per-operation
costs). SI units throughout. Load overrides from TOML or JSON with
:meth:`TwinParams.from_file`; keys not in the file keep their defaults, unknown
keys are an error.

Every field declares its type and physical range next to it (field metadata
built by ``_time``, ``_g``, ``_volt`` ...; :meth:`TwinParams.ranges` lists
them), and a few fields are ordered (:data:`ORDERED`): a value of the wrong
type (a boolean or a string for a number, a fraction for a count) is an
:class:`~neurram_lab.errors.InputError`, one outside its range (NaN and the
infinities included) a :class:`~neurram_lab.errors.LimitError`, each naming
``section.name``, the value and the range. Times and time constants are > 0.
"""

from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neurram_lab._files import load_mapping
from neurram_lab.validate import integer, number, path_like
from neurram_lab.errors import InputError, LimitError

# ------------------------------------------------------------ ranges (one per field, in its metadata)
G_MAX_S = 1e-3  # no conductance of the model comes near 1 mS (the chip's cells are rated to 200 uS)
T_MAX_S = 1.0  # per-operation times and the pulse time constants
T_LONG_MAX_S = 1e9  # relaxation times: about 30 years
C_MAX_F = 1e-9
E_MAX_J = 1e-9


def _range(default, lo, hi, unit, lo_open=False, kind="number"):
    return field(default=default, metadata={"range": (lo, hi), "lo_open": lo_open, "unit": unit, "kind": kind})


def _time(default, hi=T_MAX_S):
    return _range(default, 0.0, hi, "s", lo_open=True)


def _time_long(default):
    return _time(default, T_LONG_MAX_S)


def _g(default):
    return _range(default, 0.0, G_MAX_S, "S")


def _g_pos(default):
    return _range(default, 0.0, G_MAX_S, "S", lo_open=True)


def _volt(default, hi):
    return _range(default, 0.0, hi, "V")


def _volt_pos(default, hi):
    return _range(default, 0.0, hi, "V", lo_open=True)


def _rel(default, hi):
    return _range(default, 0.0, hi, "")


def _ohm(default, hi):
    return _range(default, 0.0, hi, "ohm")


def _cap(default):
    return _range(default, 0.0, C_MAX_F, "F")


def _cap_pos(default):
    return _range(default, 0.0, C_MAX_F, "F", lo_open=True)


def _energy(default):
    return _range(default, 0.0, E_MAX_J, "J")


def _watt(default):
    return _range(default, 0.0, 1.0, "W")


def _kelvin(default):
    return _range(default, 0.0, 1000.0, "K")


def _count(default, lo, hi):
    return _range(default, lo, hi, "", kind="count")


def _flag(default):
    return _range(default, 0.0, 1.0, "", kind="flag")


# fields of one section that must be ordered: (smaller, larger, strictly)
ORDERED: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "device": (("g_floor_s", "g_cap_s", True), ("gate_v_th_v", "gate_v_nominal_v", True)),
    "relax": (("fast_tau_min_s", "fast_tau_max_s", True), ("slow_tau_min_s", "slow_tau_max_s", True)),
    "read": (("t_min_s", "t_max_s", False),),
}
DEFECT_FRACTIONS = ("unformable_frac", "stuck_on_frac", "stuck_off_frac", "leaky_frac")  # one draw: sum <= 1


def _range_text(meta) -> str:
    """``"(0, 1] s"``, ``"integer in [1, 256]"``, ``"0 or 1"``."""
    lo, hi = meta["range"]
    if meta["kind"] == "flag":
        return "0 or 1"
    unit = f" {meta['unit']}" if meta["unit"] else ""
    kind = "integer in " if meta["kind"] == "count" else ""
    return f"{kind}{'(' if meta['lo_open'] else '['}{lo:g}, {hi:g}]{unit}"


def _checked(key: str, value, meta, source: str = "") -> float:
    """``value`` of parameter ``key`` as a float within its declared range (typed errors otherwise)."""
    where = f" in {source}" if source else ""
    text = _range_text(meta)
    lo, hi = meta["range"]
    is_bool = isinstance(value, (bool, np.bool_))
    if meta["kind"] == "flag":
        if is_bool or (isinstance(value, numbers.Real) and value in (0, 1)):
            return float(value)
        raise InputError(f"{key} must be 0 or 1 (true/false), got {value!r}{where}")
    if is_bool or not isinstance(value, numbers.Real):
        raise InputError(f"{key} must be a number in {text}, got {type(value).__name__} {value!r}{where}")
    detail = "; ".join(filter(None, (meta["unit"], source and f"in {source}")))
    if meta["kind"] == "count":
        try:
            return float(integer(key, value, int(lo), int(hi), detail))
        except InputError:
            raise InputError(f"{key} must be an {text}, got {value!r}{where}") from None
    return number(key, value, lo, hi, detail, lo_open=meta["lo_open"])


def _check_section(obj, section: str, source: str = "") -> None:
    """Check (and convert to float) every field of one section, then its orderings."""
    for f in dataclasses.fields(obj):
        object.__setattr__(obj, f.name, _checked(f"{section}.{f.name}", getattr(obj, f.name), f.metadata, source))
    where = f" in {source}" if source else ""
    for small, large, strict in ORDERED.get(section, ()):
        a, b = getattr(obj, small), getattr(obj, large)
        if a > b or (strict and a == b):
            raise LimitError(f"{section}.{small}", a, f"{'<' if strict else '<='} {section}.{large} = {b:g}",
                             f"they bound one range{where}")
    if section == "defects":
        total = sum(getattr(obj, n) for n in DEFECT_FRACTIONS)
        if total > 1.0:
            raise LimitError("defects." + "+".join(DEFECT_FRACTIONS), total, "<= 1",
                             f"fractions of the same cells{where}")


def _section_from(sec_cls, values: dict, source: str):
    """A section of ``sec_cls`` with ``values`` over its defaults, checked with ``source`` in the messages."""
    obj = object.__new__(sec_cls)
    obj.__dict__.update(dataclasses.asdict(sec_cls()), **values)
    _check_section(obj, sec_cls.section, source)
    return obj


class _Section:
    """Base of the sections: checks every field at construction (``section`` names it in messages)."""

    section = ""

    def __post_init__(self):
        _check_section(self, self.section)


@dataclass
class DeviceParams(_Section):
    """Pulse response of the 1T1R cell (TiN/HfOx/TaOx/TiN).

    A SET pulse of amplitude V and width w moves G toward the cell's ceiling
    g_cap by the fraction 1 - exp(-w/tau), tau = tau0 * exp(-(V - v_th)/v_slope):
    the response grows exponentially with voltage above the threshold, grows
    with width, depends on the present G, and saturates. RESET mirrors it
    toward the cell's floor. Thresholds, ceilings and floors vary from device
    to device; each pulse's effect varies cycle to cycle (log-normal).
    """

    section = "device"

    set_tau0_s: float = _time(1.0e-6)
    set_v_th_v: float = _volt(1.73, 10.0)  # SET threshold: tau == tau0 here (mean over devices)
    set_v_th_sigma_v: float = _volt(0.12, 2.0)  # device-to-device spread of the SET threshold
    set_v_slope_v: float = _volt_pos(0.12, 5.0)  # voltage for an e-fold faster response
    reset_tau0_s: float = _time(1.0e-6)
    reset_v_th_v: float = _volt(2.03, 10.0)
    reset_v_th_sigma_v: float = _volt(0.12, 2.0)
    reset_v_slope_v: float = _volt_pos(0.12, 5.0)
    g_cap_s: float = _g_pos(75e-6)  # SET ceiling at the nominal gate voltage (mean)
    g_cap_sigma_rel: float = _rel(0.12, 3.0)
    g_floor_s: float = _g(0.3e-6)  # RESET floor (mean)
    g_floor_sigma_rel: float = _rel(0.3, 3.0)
    gate_v_th_v: float = _volt(0.7, 10.0)  # selector threshold: compliance vanishes below it
    gate_v_nominal_v: float = _volt_pos(2.0, 10.0)  # gate voltage at which g_cap applies
    c2c_sigma: float = _rel(0.35, 3.0)  # log-normal cycle-to-cycle spread of each pulse's step
    g_pristine_s: float = _g(0.1e-6)  # conductance of an unformed cell (mean)
    form_v_th_v: float = _volt(3.7, 20.0)  # forming threshold at 1 us (mean over devices)
    form_v_th_sigma_v: float = _volt(0.15, 2.0)
    form_g_s: float = _g_pos(30e-6)  # conductance right after forming (mean, capped by compliance)
    form_g_sigma_rel: float = _rel(0.25, 3.0)


@dataclass
class RelaxParams(_Section):
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

    section = "relax"

    fast_tau_min_s: float = _time_long(1e-3)
    fast_tau_max_s: float = _time_long(1.0)
    slow_tau_min_s: float = _time_long(3.0)
    slow_tau_max_s: float = _time_long(5.0e4)
    fast_sigma_s: float = _g(2.75e-6)  # a_fast(G) at its peak
    fast_g_peak_s: float = _g_pos(11.5e-6)
    fast_shape_low: float = _rel(0.95, 10.0)  # a(G) ~ (x e^(1-x))^shape, x = G / g_peak, below the peak
    fast_shape_high: float = _rel(0.95, 10.0)  # ... and above it
    slow_sigma_s: float = _g(3.35e-6)
    slow_g_peak_s: float = _g_pos(20e-6)
    slow_shape_low: float = _rel(0.55, 10.0)
    slow_shape_high: float = _rel(0.9, 10.0)
    device_sigma_rel: float = _rel(0.25, 3.0)  # device-to-device spread of a(G) (log-normal)
    excite_gain: float = _rel(6.0, 1e12)  # defects excited per unit switching fraction of a pulse
    drift_rel: float = _rel(0.03, 1.0)  # mean pull per unit F toward g_mid_s, fraction of (G - g_mid)
    g_mid_s: float = _g(15e-6)


@dataclass
class ReadParams(_Section):
    """Single-cell reads during write-verify."""

    section = "read"

    noise_rel: float = _rel(0.01, 1.0)  # relative read noise
    noise_floor_s: float = _g(0.05e-6)  # absolute read-noise floor
    t_min_s: float = _time(1e-6)  # read time at high conductance
    t_max_s: float = _time(10e-6)  # read time at very low conductance
    g_fast_s: float = _g_pos(10e-6)  # conductance scale of the read-time drop


@dataclass
class DefectParams(_Section):
    """Per-die defect rates (fractions of cells or columns)."""

    section = "defects"

    unformable_frac: float = _rel(5e-4, 1.0)  # never form
    stuck_on_frac: float = _rel(3e-4, 1.0)  # formed, stuck at high conductance
    stuck_off_frac: float = _rel(3e-4, 1.0)  # formed, stuck near zero
    leaky_frac: float = _rel(2e-4, 1.0)  # high, drifting conductance that pulses barely move
    bad_col_per_core: float = _rel(0.1, 256.0)  # expected bad columns per core
    stuck_on_g_s: float = _g(90e-6)
    leaky_g_s: float = _g(55e-6)


@dataclass
class TimingParams(_Section):
    """Time each cell operation takes on the chip (s)."""

    section = "timing"

    pulse_overhead_s: float = _time(0.2e-6)  # register setup around each pulse
    read_overhead_s: float = _time(0.2e-6)


@dataclass
class EnergyParams(_Section):
    """Energy of single-cell operations (pulses and reads) beyond the cell's own I*V*t.

    A pulse or read comes from the board's pulse source through a pad and the
    chip-level route to the core, then the selected BL or SL: it charges
    ``c_pulse_path_f`` per volt squared, more than the array line alone
    (:attr:`CircuitParams.c_line_f`, what an MVM's on-core drivers charge). The
    gate of a pulse charges one WL, :attr:`CircuitParams.c_wl_f`.
    """

    section = "energy"

    c_pulse_path_f: float = _cap(1.0e-12)  # pad + chip-level route + selected BL/SL, charged per pulse or read (F)


@dataclass
class CircuitParams(_Section):
    """The MVM circuit: array network, neurons, shared supply, MVM energy and timing (SPEC §3-4).

    See docs/mvm_model.md for the model and how the defaults were chosen.
    ``ideal_settling`` (0 or 1) replaces the resistive-network solve by the
    ideal conductance-weighted mean.
    """

    section = "circuit"

    # array network
    r_driver_ohm: float = _ohm(20.0, 1e6)  # on-resistance of a BL/SL driver pass gate
    r_wire_ohm: float = _ohm(0.15, 1e3)  # BL/SL wire resistance per cell pitch
    g_leak_s: float = _g(1e-12)  # leak of each sensed line to v_ref (neuron input)
    wire_cells_per_node: float = _count(16.0, 1, 256)  # cells sharing one wire node: 16 = per corelet, 1 = per cell
    ideal_settling: float = _flag(0.0)
    coupling_frac: float = _rel(0.05, 1.0)  # output-line swing per volt of mean input-line switching
    relax_refresh_df: float = _rel(0.01, 1.0)  # re-read relaxing cells for MVM when F moved by this much
    # neuron
    c_sample_f: float = _cap_pos(17e-15)
    c_integ_f: float = _cap_pos(104e-15)
    v_headroom_v: float = _volt_pos(0.35, 5.0)  # integrator swing allowed around v_ref before it clips
    comparator_offset_sigma_v: float = _volt(4e-3, 1.0)  # fixed per-neuron offset (die pattern)
    comparator_noise_v: float = _volt(0.25e-3, 1.0)  # input-referred noise per conversion (rms)
    cycle_noise_v: float = _volt(0.8e-3, 1.0)  # integrator noise added by each sample-and-integrate cycle (rms)
    temperature_k: float = _kelvin(300.0)  # kT/C sampling noise
    dac_level_sigma_rel: float = _rel(0.003, 1.0)  # error of each shared Vdecr DAC level
    lfsr_noise_v: float = _volt(0.02, 5.0)  # stochastic neuron: full span of the injected LFSR noise
    # multi-core
    core_gain_sigma_rel: float = _rel(0.003, 1.0)  # core-to-core Csample/Cinteg mismatch
    r_supply_ohm: float = _ohm(0.3, 1e3)  # shared v_ref +- v_read supply impedance
    r_supply_per_core_ohm: float = _ohm(0.25, 1e3)  # extra supply resistance per core of distance
    supply_noise_ohm: float = _ohm(0.35, 1e3)  # supply instability: rms rail wobble per ampere drawn (V/A), per vector
    # energy and timing (the array's line capacitances serve the cell pulses' energy too)
    c_wl_f: float = _cap(432e-15)  # one WL: 256 access gates x 1.5 fF + 48 fF driver
    v_wl_mvm_v: float = _volt(1.3, 10.0)  # WL swing during MVM
    c_line_f: float = _cap(120e-15)  # one BL or SL of the array
    e_sample_j: float = _energy(20e-15)  # per neuron per sample
    e_integ_j: float = _energy(60e-15)  # per neuron per integration
    e_compare_j: float = _energy(25e-15)  # per neuron per comparison
    e_decr_j: float = _energy(15e-15)  # per neuron per Vdecr charge step
    e_lfsr_j: float = _energy(121e-15)  # per neuron per stochastic step
    p_static_w: float = _watt(5e-6)  # leakage of a running core
    t_wl_s: float = _time(10e-9)
    t_sample_s: float = _time(10e-9)
    t_integ_s: float = _time(240e-9)
    t_compare_s: float = _time(10e-9)  # per comparison / decrement step
    t_setup_s: float = _time(50e-9)  # per MVM


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

    def __post_init__(self):
        for f in dataclasses.fields(self):
            want = type(f.default_factory())
            if not isinstance(getattr(self, f.name), want):
                raise InputError(f"TwinParams.{f.name} must be a {want.__name__}, got {getattr(self, f.name)!r}")

    def validate(self) -> "TwinParams":
        """Check every parameter against its range again (after changes in place); returns ``self``."""
        self.__post_init__()
        for f in dataclasses.fields(self):
            _check_section(getattr(self, f.name), f.name)
        return self

    @classmethod
    def ranges(cls) -> dict[str, str]:
        """Every parameter's range as text, by dotted name (``"read.noise_rel": "[0, 1]"``)."""
        return {f"{sec.name}.{f.name}": _range_text(f.metadata)
                for sec in dataclasses.fields(cls) for f in dataclasses.fields(sec.default_factory)}

    def to_dict(self) -> dict:
        """Nested mapping of every parameter (JSON-able)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict, source: str = "<dict>") -> "TwinParams":
        """Defaults overridden by ``data`` (``{section: {name: value}}``), every value checked against its range.

        Raises
        ------
        InputError
            An unknown section or parameter, a section that is not a table, a value of the wrong type.
        LimitError
            A value outside its range (NaN and infinities included), or two ordered values out of order.
        """
        if not isinstance(data, dict):
            raise InputError(f"{source}: twin parameters must be a mapping of sections, got {type(data).__name__}")
        sections = {f.name: f for f in dataclasses.fields(cls)}
        built = {}
        for sec, values in data.items():
            if sec not in sections:
                raise InputError(f"{source}: unknown twin parameter section {sec!r}; known: {sorted(sections)}")
            if not isinstance(values, dict):
                raise InputError(f"{source}: section {sec!r} must be a table of parameters, got {values!r}")
            sec_cls = sections[sec].default_factory
            names = {f.name: f for f in dataclasses.fields(sec_cls)}
            for name, value in values.items():
                if name not in names:
                    raise InputError(f"{source}: unknown parameter {sec}.{name}; known: {sorted(names)}")
                _checked(f"{sec}.{name}", value, names[name].metadata, source)
            built[sec] = _section_from(sec_cls, values, source)
        return cls(**built)

    @classmethod
    def from_file(cls, path: str | Path) -> "TwinParams":
        """Load overrides from a TOML or JSON file (one that sets no parameter is an error)."""
        p = path_like("params", path)
        data = load_mapping(p)
        if not any(isinstance(v, dict) and v for v in data.values()) and not any(
                not isinstance(v, dict) for v in data.values()):
            raise InputError(f"params: {str(p)!r} sets no twin parameter (empty file or empty sections); "
                             f"give e.g. [read] noise_rel = 0.01, or leave params out for the defaults")
        return cls.from_dict(data, source=str(p))


def twin_params(value) -> tuple[TwinParams, str | None]:
    """The ``params`` a twin is opened with: ``(TwinParams, file name or None)``.

    None gives the defaults; a :class:`TwinParams` is checked again (it may
    have been changed in place); a path loads a TOML/JSON file of overrides.
    Anything else is an :class:`~neurram_lab.errors.InputError`.
    """
    if value is None:
        return TwinParams(), None
    if isinstance(value, TwinParams):
        return value.validate(), None
    if isinstance(value, (str, Path)) or hasattr(value, "__fspath__"):
        path = Path(value) if not isinstance(value, str) else value
        return TwinParams.from_file(path), str(value)
    raise InputError(f"params must be a TwinParams or a TOML/JSON file path, got {type(value).__name__} {value!r}")
