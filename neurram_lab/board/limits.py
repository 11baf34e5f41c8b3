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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._files import load_mapping
from ..errors import InputError, LimitError

N_CORES = 48
N_ROWS = 256
N_COLS = 256
CELLS_PER_CORE = N_ROWS * N_COLS

PULSE_KINDS = ("set", "reset", "form")


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


@dataclass
class SafetyLimits:
    """Per-rail and per-pulse limits (volts, seconds) and the array geometry.

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
    """

    rails_v: dict[str, tuple[float, float]] = field(default_factory=_default_rails)
    pulse_v_max: float = 4.0
    form_v_max: float = 5.0
    width_s: tuple[float, float] = (10e-9, 1e-3)
    gate_v_max: float = 5.0
    n_cores: int = N_CORES
    n_rows: int = N_ROWS
    n_cols: int = N_COLS

    # ------------------------------------------------------------------ files
    @classmethod
    def from_file(cls, path: str | Path) -> "SafetyLimits":
        """Load limits from a TOML or JSON file; keys missing from it keep defaults."""
        data = load_mapping(path)
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: dict, source: str = "<dict>") -> "SafetyLimits":
        """Build limits from a mapping like the one :meth:`to_dict` returns."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"{source}: unknown limit keys {unknown}; known: {sorted(known)}")
        kw = dict(data)
        try:
            if "rails_v" in kw:
                rails = _default_rails()
                for name, rng in kw["rails_v"].items():
                    lo, hi = (float(x) for x in rng)
                    if lo > hi:
                        raise InputError(f"{source}: rail {name} has min {lo} > max {hi}")
                    rails[name] = (lo, hi)
                kw["rails_v"] = rails
            if "width_s" in kw:
                kw["width_s"] = tuple(float(x) for x in kw["width_s"])
            return cls(**kw)
        except (TypeError, ValueError) as exc:
            if isinstance(exc, InputError):
                raise
            raise InputError(f"{source}: malformed limits ({exc})") from exc

    def to_dict(self) -> dict:
        """Plain mapping (JSON-able) of every limit."""
        d = dataclasses.asdict(self)
        d["rails_v"] = {k: list(v) for k, v in self.rails_v.items()}
        d["width_s"] = list(self.width_s)
        return d

    # ----------------------------------------------------------------- checks
    def check_rails(self, volts: dict[str, float]) -> dict[str, float]:
        """Validate a rail update; returns it as plain floats."""
        out = {}
        for name, v in volts.items():
            if name not in self.rails_v:
                raise LimitError("rail", name, sorted(self.rails_v), "no such rail")
            v = float(v)
            lo, hi = self.rails_v[name]
            if not (lo <= v <= hi) or not np.isfinite(v):
                raise LimitError(name, v, (lo, hi), "volts")
            out[name] = v
        return out

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


def _check_index(name: str, value, n: int) -> np.ndarray:
    a = np.asarray(value)
    if a.dtype.kind not in "iu":
        if a.dtype.kind == "f" and a.size and np.all(np.mod(a, 1) == 0):
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
        a = np.asarray(value, dtype=np.float64).ravel()
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
