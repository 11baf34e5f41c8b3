"""Safety limits, checked before anything reaches a board.

The array-facing drivers and the 1T1R selectors of NeuRRAM are thick-oxide
5 V I/O devices, the rest is 1.8 V logic (SPEC §1). Forming needs more than
4 V, so voltages above ``pulse_v_max`` are allowed only for FORM pulses.

Every check is vectorised and raises :class:`~neurram_lab.errors.LimitError`
naming the worst value and the limit; a caller that checks first and sends
afterwards never sends half a request.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np

from .._files import load_mapping
from ..validate import RATED_G_CELL_MAX_S
from ..errors import FrozenLimitsError, InputError, LimitError

N_CORES = 48
N_ROWS = 256
N_COLS = 256
CELLS_PER_CORE = N_ROWS * N_COLS


def flat_cell_index(core, row, col) -> np.ndarray:
    """Flat cell index ``core * 65536 + row * 256 + col`` (int64): one number per cell, in (core, row, col)
    order; :func:`cell_of_flat_index` is its inverse."""
    return (np.asarray(core, np.int64) << 16) | (np.asarray(row, np.int64) << 8) | np.asarray(col, np.int64)


def cell_of_flat_index(flat) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(core, row, col)`` (int64) of flat cell indices made by :func:`flat_cell_index`."""
    f = np.asarray(flat, np.int64)
    return f >> 16, (f >> 8) & 0xFF, f & 0xFF

PULSE_KINDS = ("set", "reset", "form")

# The chip's ratings (SPEC §1): ceilings that no limits file or constructor argument can
# raise. Every array-facing node is a thick-oxide 5 V I/O device, so no rail, pulse or
# gate goes beyond 5 V (nor below 0 V); the FPGA counts pulse widths in 10 ns ticks up to
# 1 ms; no cell of the array conducts more than 200 uS (the twin's SET ceiling is ~75 uS
# and a stuck-on cell ~90 uS), so a conductance target above that is a unit mistake.
RATED_V_MAX = 5.0
RATED_WIDTH_S = (10e-9, 1e-3)
RATED_G_CELL_S = (0.0, RATED_G_CELL_MAX_S)


def _default_rails() -> dict[str, tuple[float, float]]:
    return {
        "v_ref": (0.0, 1.8),  # MVM reference (mid-level) of input and output lines
        "v_read": (0.0, 0.6),  # MVM input amplitude around v_ref
        "v_cell_read": (0.05, 0.5),  # single-cell read bias for write-verify
        "v_decr": (0.0, 1.0),  # ADC decrement DAC full scale
        "v_wl_set": (0.0, 5.0),  # selector gate during SET (sets compliance)
        "v_wl_reset": (0.0, 5.0),  # selector gate during RESET
        "v_wl_form": (0.0, 5.0),  # selector gate during FORM
        "v_wl_read": (0.0, 5.0),  # selector gate during reads and MVM
    }


#: Rail values (V) a board opens with, one table for every board (read-only: the twin and the driver
#: share it); a board that cannot drive a rail (the FPGA test board has no DAC on ``v_wl_read``) opens
#: with the others.
DEFAULT_RAILS_V = MappingProxyType({
    "v_ref": 0.9,
    "v_read": 0.5,
    "v_cell_read": 0.2,
    "v_decr": 0.5,
    "v_wl_set": 2.0,
    "v_wl_reset": 4.5,
    "v_wl_form": 1.6,
    "v_wl_read": 4.5,
})


class RailRanges(Mapping):
    """A read-only mapping rail name -> (min_v, max_v); item assignment or deletion is a
    :class:`~neurram_lab.errors.FrozenLimitsError`."""

    __slots__ = ("_d",)

    def __init__(self, ranges: dict[str, tuple[float, float]]):
        object.__setattr__(self, "_d", dict(ranges))

    def __getitem__(self, name):
        return self._d[name]

    def __iter__(self):
        return iter(self._d)

    def __len__(self):
        return len(self._d)

    def __repr__(self):
        return repr(self._d)

    def __hash__(self):
        return hash(tuple(sorted(self._d.items())))

    def __reduce__(self):  # copy and pickle rebuild it through __init__
        return (RailRanges, (dict(self._d),))

    def __eq__(self, other):
        return isinstance(other, Mapping) and dict(self.items()) == dict(other.items())

    def __setitem__(self, name, value):
        raise FrozenLimitsError(f"rails_v[{name!r}]", value)

    def __delitem__(self, name):
        raise FrozenLimitsError(f"rails_v[{name!r}]", None)

    def __setattr__(self, name, value):
        raise FrozenLimitsError(f"rails_v.{name}", value)


@dataclass(frozen=True)
class SafetyLimits:
    """Per-rail and per-pulse limits (volts, seconds) and the array geometry; immutable.

    Attributes
    ----------
    rails_v : dict of str -> (min_v, max_v)
        Allowed range of each bias rail; a rail not listed here cannot be set.
    pulse_v_max : float
        Largest SET/RESET pulse amplitude (V).
    form_v_max : float
        Largest FORM pulse amplitude (V); the only pulse allowed above
        ``pulse_v_max``.
    width_s : (float, float)
        Allowed pulse width range (s). The FPGA counts 10 ns ticks.
    gate_v_max : float
        Largest selector (word-line) gate voltage (V).
    g_cell_s : (float, float)
        Range of conductance (S) a programming target may ask of a cell; a
        target outside it is refused before any pulse (default 0..100 uS).
    n_cores, n_rows, n_cols : int
        The array geometry (at most the chip's 48 x 256 x 256).

    Every value is checked on construction against the chip's ratings
    (``RATED_V_MAX`` = 5 V on every rail, pulse and gate, widths within
    ``RATED_WIDTH_S``, ``g_cell_s`` within ``RATED_G_CELL_S``, the geometry
    within the chip): a limits file can tighten them, never raise them
    (:class:`~neurram_lab.errors.LimitError`), and a malformed one is an
    :class:`~neurram_lab.errors.InputError`.

    A SafetyLimits cannot be changed once built: its fields are frozen and
    ``rails_v`` is a read-only mapping of tuples. A changed set is a new
    object (``dataclasses.replace``, :meth:`from_dict`), validated the same
    way, and a board takes it only through ``Board.set_limits``.
    """

    rails_v: dict[str, tuple[float, float]] = field(default_factory=_default_rails)
    pulse_v_max: float = 4.0
    form_v_max: float = 5.0
    width_s: tuple[float, float] = (10e-9, 1e-3)
    gate_v_max: float = 5.0
    g_cell_s: tuple[float, float] = (0.0, 100e-6)
    n_cores: int = N_CORES
    n_rows: int = N_ROWS
    n_cols: int = N_COLS

    def __post_init__(self):
        from ..validate import integer, number

        src = getattr(self, "_source", "limits")
        if not isinstance(self.rails_v, Mapping):
            raise InputError(f"{src}: rails_v must be a mapping of rail -> [min_v, max_v], got {self.rails_v!r}")
        rails = {}
        for name, rng in self.rails_v.items():
            lo, hi = _pair(f"{src}: rails_v.{name}", rng)
            lo = number(f"rails_v.{name} min", lo, 0.0, RATED_V_MAX, "volts; the chip's 5 V rating")
            hi = number(f"rails_v.{name} max", hi, 0.0, RATED_V_MAX, "volts; the chip's 5 V rating")
            if lo > hi:
                raise InputError(f"{src}: rail {name} has min {lo} > max {hi}")
            rails[str(name)] = (lo, hi)
        put = functools.partial(object.__setattr__, self)  # the one place a frozen field is set
        put("rails_v", RailRanges(rails))
        for name in ("pulse_v_max", "form_v_max", "gate_v_max"):
            put(name, number(name, getattr(self, name), 0.0, RATED_V_MAX, "volts; the chip's 5 V rating",
                             lo_open=True))
        w = tuple(number(f"width_s {end}", x, *RATED_WIDTH_S, "seconds; the FPGA's pulse widths")
                  for end, x in zip(("min", "max"), _pair(f"{src}: width_s", self.width_s)))
        if w[0] > w[1]:
            raise InputError(f"{src}: width_s has min {w[0]} > max {w[1]}")
        put("width_s", w)
        g = tuple(number(f"g_cell_s {end}", x, *RATED_G_CELL_S, "siemens; no cell conducts more")
                  for end, x in zip(("min", "max"), _pair(f"{src}: g_cell_s", self.g_cell_s)))
        if g[0] >= g[1]:
            raise InputError(f"{src}: g_cell_s has min {g[0]} >= max {g[1]}")
        put("g_cell_s", g)
        for name, chip in (("n_cores", N_CORES), ("n_rows", N_ROWS), ("n_cols", N_COLS)):
            put(name, integer(name, getattr(self, name), 1, chip, "the chip's geometry"))

    # ------------------------------------------------------------------ files
    @classmethod
    def from_file(cls, path: str | Path) -> "SafetyLimits":
        """Load limits from a TOML or JSON file; keys missing from it keep defaults.

        A missing, empty or unparsable file is an InputError, and so is one
        with unknown keys or non-numeric values; see :meth:`from_dict`.
        """
        from ..validate import file_path

        data = load_mapping(file_path("limits", path))
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: dict, source: str = "<dict>") -> "SafetyLimits":
        """Build limits from a mapping like the one :meth:`to_dict` returns.

        Keys missing from it keep their defaults; unknown keys, unknown rails,
        non-numeric values and booleans are an InputError, values beyond the
        chip's ratings a LimitError (see the class doc).
        """
        if not isinstance(data, dict):
            raise InputError(f"{source}: limits must be a mapping, got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"{source}: unknown limit keys {unknown}; known: {sorted(known)}")
        kw = dict(data)
        if "rails_v" in kw:
            if not isinstance(kw["rails_v"], Mapping):
                raise InputError(f"{source}: rails_v must be a mapping of rail -> [min_v, max_v]")
            rails = _default_rails()
            bad = sorted(set(kw["rails_v"]) - set(rails))
            if bad:
                raise InputError(f"{source}: unknown rails {bad}; known: {sorted(rails)}")
            rails.update(kw["rails_v"])
            kw["rails_v"] = rails
        for key in ("width_s", "g_cell_s"):
            if key in kw:
                kw[key] = _pair(f"{source}: {key}", kw[key])
        try:
            return cls(**kw)
        except LimitError as exc:
            raise LimitError(exc.name, exc.value, exc.limit, f"{source}; the chip's ratings cannot be raised") from None
        except InputError as exc:
            msg = str(exc)
            raise InputError(msg if msg.startswith(source) else f"{source}: {msg}") from None

    def to_dict(self) -> dict:
        """Plain mapping (JSON-able) of every limit."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["rails_v"] = {k: list(v) for k, v in self.rails_v.items()}
        d["width_s"] = list(self.width_s)
        d["g_cell_s"] = list(self.g_cell_s)
        return d

    # ----------------------------------------------------------------- checks
    def check_rails(self, volts: dict[str, float]) -> dict[str, float]:
        """Validate a rail update; returns it as plain floats."""
        from ..validate import number

        if not isinstance(volts, Mapping):
            raise InputError(f"rails must be a mapping of rail -> volts, got {volts!r}")
        out = {}
        for name, v in volts.items():
            if name not in self.rails_v:
                raise LimitError("rail", name, sorted(self.rails_v), "no such rail")
            lo, hi = self.rails_v[name]
            out[name] = number(name, v, lo, hi, "volts")
        return out

    def check_conductance_range(self, gmin_s, gmax_s) -> tuple[float, float]:
        """``(gmin_s, gmax_s)`` (S) of a weight mapping: both within ``g_cell_s``, ``gmax_s`` above its floor,
        and ``gmin_s < gmax_s``."""
        from ..validate import conductance

        lo, hi = conductance("gmin_s", gmin_s, self), conductance("gmax_s", gmax_s, self, lo_open=True)
        if lo >= hi:
            raise InputError(f"need gmin_s < gmax_s, got {lo} and {hi}")
        return lo, hi

    def check_cores(self, core) -> np.ndarray:
        """Validate core indices (0..47); returns an int64 array."""
        return _check_index("core", core, self.n_cores)

    def check_cells(self, core, row, col) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Validate and broadcast cell addresses; returns three equal-length int64 arrays."""
        c = _check_index("core", core, self.n_cores)
        r = _check_index("row", row, self.n_rows)
        k = _check_index("col", col, self.n_cols)
        try:
            c, r, k = np.broadcast_arrays(c, r, k)
        except ValueError as exc:
            raise InputError(
                f"core, row and col arrays do not broadcast: shapes {c.shape}, {r.shape}, {k.shape}"
            ) from exc
        return c.ravel(), r.ravel(), k.ravel()

    def check_pulse(self, kind: str, v_pulse, width_s, v_gate=None, n: int | None = None):
        """Validate a pulse request; returns (v_pulse, width_s, v_gate) as float arrays.

        Parameters
        ----------
        kind : {"set", "reset", "form"}
        v_pulse : float or array
            Pulse amplitude across the cell (V): BL for SET/FORM, SL for RESET.
        width_s : float or array
            Pulse width (s).
        v_gate : float or array, optional
            Selector gate voltage (V).
        n : int, optional
            Number of cells; scalars are broadcast to it.
        """
        if kind not in PULSE_KINDS:
            raise InputError(f"pulse kind {kind!r} is not one of {PULSE_KINDS}")
        vmax = self.form_v_max if kind == "form" else self.pulse_v_max
        detail = "volts" if kind == "form" else f"volts; only FORM may exceed {self.pulse_v_max} V"
        v = _check_range("v_pulse", v_pulse, 0.0, vmax, detail)
        w = _check_range("width_s", width_s, *self.width_s, detail="seconds")
        g = None if v_gate is None else _check_range("v_gate", v_gate, 0.0, self.gate_v_max, "volts")
        if n is not None:
            for name, a in (("v_pulse", v), ("width_s", w), ("v_gate", g)):
                if a is not None and a.size not in (1, n):
                    raise InputError(f"{name} has {a.size} values for {n} cells")
            v = np.broadcast_to(v, (n,)) if v.size == 1 else v
            w = np.broadcast_to(w, (n,)) if w.size == 1 else w
            if g is not None:
                g = np.broadcast_to(g, (n,)) if g.size == 1 else g
        return v, w, g


def as_limits(limits) -> SafetyLimits:
    """``limits`` (a SafetyLimits, a mapping like :meth:`SafetyLimits.to_dict`, a TOML/JSON path, or None
    for the defaults) as a freshly validated SafetyLimits.

    A SafetyLimits is rebuilt from its values, so one altered behind the frozen fields' back is checked
    against the chip's ratings again; anything else is an InputError naming what it got.
    """
    if limits is None:
        return SafetyLimits()
    if isinstance(limits, SafetyLimits):
        return SafetyLimits.from_dict(limits.to_dict(), source="limits")
    if isinstance(limits, Mapping):
        return SafetyLimits.from_dict(dict(limits), source="limits")
    if isinstance(limits, (str, bytes)) or hasattr(limits, "__fspath__"):
        return SafetyLimits.from_file(limits)
    raise InputError(f"limits must be a SafetyLimits, a mapping or a limits file, got {type(limits).__name__} "
                     f"{limits!r}")


def check_ratings_rails(volts: Mapping[str, float]) -> None:
    """Refuse (LimitError) any rail value outside the chip's absolute rating, 0..``RATED_V_MAX`` V,
    whatever limits object a board holds; the last check before a board sets its rails."""
    for name, v in volts.items():
        if not (0.0 <= v <= RATED_V_MAX):  # NaN fails too
            raise LimitError(name, v, (0.0, RATED_V_MAX), "volts; the chip's absolute rating, no limits can raise it")


def check_ratings_pulse(v_pulse: np.ndarray, width_s: np.ndarray, v_gate: np.ndarray) -> None:
    """Refuse (LimitError) any pulse amplitude or gate outside 0..``RATED_V_MAX`` V or width outside
    ``RATED_WIDTH_S``, whatever limits object a board holds; the last check before a board pulses."""
    for name, a, (lo, hi), unit in (("v_pulse", v_pulse, (0.0, RATED_V_MAX), "volts"),
                                    ("v_gate", v_gate, (0.0, RATED_V_MAX), "volts"),
                                    ("width_s", width_s, RATED_WIDTH_S, "seconds")):
        a = np.asarray(a, dtype=np.float64)
        if a.size and not (lo <= a.min() and a.max() <= hi):
            bad = a[~((a >= lo) & (a <= hi))][0]
            raise LimitError(name, float(bad), (lo, hi), f"{unit}; the chip's absolute rating, no limits can raise it")


def _refuse_change(self, name, value=None):
    raise FrozenLimitsError(name, value)


# frozen=True makes the dataclass refuse changes with a bare FrozenInstanceError; the lab gets the typed one
SafetyLimits.__setattr__ = _refuse_change
SafetyLimits.__delattr__ = _refuse_change


def _pair(name: str, value) -> tuple:
    """A two-element list or tuple (min, max); an InputError otherwise."""
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__len__") or len(value) != 2:
        raise InputError(f"{name} must be [min, max], got {value!r}")
    return tuple(value)


def _as_numeric_array(name: str, value) -> np.ndarray:
    """``np.asarray(value)``, a ragged list or other unconvertible value an InputError naming ``name``."""
    if value is None or isinstance(value, (str, bytes, dict)):
        raise InputError(f"{name} must be a number or an array of numbers, got {value!r}")
    try:
        a = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be a number or an array of numbers, got {value!r} ({exc})") from None
    if a.dtype.kind not in "biuf":
        raise InputError(f"{name} must be numbers, got {value!r} (dtype {a.dtype})")
    return a


def _check_index(name: str, value, n: int) -> np.ndarray:
    a = _as_numeric_array(name, value)
    if a.dtype.kind == "b":
        raise InputError(f"{name} must be integers, got booleans {value!r}")
    if a.dtype.kind not in "iu":
        if a.dtype.kind == "f" and a.size and np.all(np.isfinite(a)) and np.all(np.mod(a, 1) == 0):
            a = a.astype(np.int64)
        elif a.size == 0:
            a = a.astype(np.int64)
        else:
            raise InputError(f"{name} must be integers, got dtype {a.dtype}")
    a = a.astype(np.int64, copy=False).ravel()
    # one pass: seen as unsigned, a negative index is huge, so max < n checks both ends
    if a.size and int(a.view(np.uint64).max()) >= n:
        lo, hi = int(a.min()), int(a.max())
        if lo < 0:
            raise LimitError(name, lo, (0, n - 1))
        if hi >= n:
            raise LimitError(name, hi, (0, n - 1))
    return a


def _check_range(name: str, value, lo: float, hi: float, detail: str = "") -> np.ndarray:
    try:
        a = _as_numeric_array(name, value)
        if a.dtype.kind not in "iuf":
            raise TypeError(f"dtype {a.dtype}")
        a = a.astype(np.float64, copy=False).ravel()
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be numeric, got {value!r}") from exc
    if a.size == 0:
        raise InputError(f"{name} is empty")
    amin, amax = float(a.min()), float(a.max())
    if lo <= amin and amax <= hi:  # the usual case, two passes (a NaN fails the comparison)
        return a
    if not np.all(np.isfinite(a)):
        raise LimitError(name, float(a[~np.isfinite(a)][0]), (lo, hi), detail)
    amin, amax = float(a.min()), float(a.max())
    if amin < lo:
        raise LimitError(name, amin, (lo, hi), detail)
    if amax > hi:
        raise LimitError(name, amax, (lo, hi), detail)
    return a
