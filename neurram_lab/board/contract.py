"""The Board contract: the vectorised operations the NeuRRAM firmware offers.

:class:`Board` is the frontend every board shares. Its public methods validate
their arguments against :class:`~neurram_lab.board.limits.SafetyLimits` and
only then call the hooks of the board's backend (:mod:`~neurram_lab.board.backend`),
so no backend ever receives a request that broke a limit, and a rejected
request sends nothing at all. Requests are also checked against the board's
:class:`~neurram_lab.board.capabilities.BoardCapabilities` (``capabilities()``);
one beyond them raises :class:`~neurram_lab.errors.CapabilityError` before any
hook is called. The physics twin and the FPGA driver subclass :class:`Board`
and are their own backend; the run log's journal wraps another board's
backend, and a replay serves the recorded calls from hooks of its own.

All cell operations take arrays of cells (core, row, col), broadcast together,
so neither the twin nor a USB link pays per-cell Python overhead.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from .backend import OptionalHooks, missing_hooks
from .capabilities import (ACTIVATIONS, CHIP_INPUT_BITS, CHIP_OUTPUT_BITS, MVM_DIRECTIONS, AppliedPulse,
                           BoardCapabilities, quantize)
from ..errors import BoardError, InputError, LimitError
from ..validate import array, boolean, integer, number
from .limits import (N_COLS, N_CORES, N_ROWS, RATED_V_MAX, SafetyLimits, as_limits, check_ratings_pulse,
                     check_ratings_rails)

__all__ = ["ACTIVATIONS", "MVM_DIRECTIONS", "AppliedPulse", "Board", "as_board", "BoardCapabilities", "BoardInfo", "MVMRequest",
           "check_lines", "validate_mvm"]


@dataclass(frozen=True)
class BoardInfo:
    """What a board is.

    Attributes
    ----------
    kind : str
        ``"sim"``, ``"okusb"`` (the real Opal Kelly board, ``okusb://``; run files and
        calibrations from before call it ``"fpga"``, read as ``"okusb"``), ``"hil"``, ``"rtl"``, ``"replay"``.
    spec : str
        The spec string the board was opened with.
    serial : str
        Board serial number, or a made-up one for the twin (``"TWIN-<seed>"``).
    firmware : str
        Firmware / model version string.
    n_cores, n_rows, n_cols : int
        Array geometry (48, 256, 256 for NeuRRAM).
    extra : dict
        Board-specific facts (seed, parameter file, USB ids ...), JSON-able.
    """

    kind: str
    spec: str
    serial: str
    firmware: str
    n_cores: int = N_CORES
    n_rows: int = N_ROWS
    n_cols: int = N_COLS
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class MVMRequest:
    """One matrix-vector multiplication batch on one or several cores.

    Attributes
    ----------
    cores : tuple of int
        Cores that run this batch (same lines and settings on each).
    inputs : ndarray of int, shape (n_cores, batch, n_in)
        Raw integer inputs, one per logical input line and core; signed
        inputs lie in [-(2**(input_bits-1) - 1), 2**(input_bits-1) - 1],
        unsigned in [0, 2**input_bits - 1].
    input_lines : ndarray of int, shape (n_in,)
        Physical lines driven by the inputs (rows for forward MVM). With
        ``differential`` each logical input drives two adjacent lines:
        ``2*line`` with +x and ``2*line + 1`` with -x, so lines index row pairs.
    output_lines : ndarray of int, shape (n_out,)
        Lines whose neurons convert (columns for forward MVM, rows for
        backward); always physical lines: a backward MVM's differential
        outputs are both rows of each pair, subtracted by the caller after
        each row's normalisation (``neurram_lab.mvm.mvm.run_mvm`` does).
    direction : {"forward", "backward", "recurrent_bl", "recurrent_sl"}
    input_bits : int
        1..8 (sign included when ``signed_inputs``).
    output_bits : int
        1..10, sign included.
    signed_inputs : bool
    differential : bool
        Differential row pairs (forward inputs); for other directions it
        only records that the matrix is stored as row pairs.
    two_phase : bool
        Split inputs above 4 bits into MSB and LSB segments.
    activation : {"none", "relu", "sigmoid", "tanh", "stochastic"}
    parallel : bool
        Run the cores at the same time (shared supply) or one after the other.
    v_read_v : float or None
        Input amplitude around v_ref (V); None uses the ``v_read`` rail.
    """

    cores: tuple
    inputs: np.ndarray
    input_lines: np.ndarray
    output_lines: np.ndarray
    direction: str = "forward"
    input_bits: int = 4
    output_bits: int = 6
    signed_inputs: bool = True
    differential: bool = True
    two_phase: bool = False
    activation: str = "none"
    parallel: bool = True
    v_read_v: float | None = None


def input_segments(input_bits: int, output_bits: int, signed: bool, two_phase: bool) -> list[tuple[int, int, int, int]]:
    """How the firmware runs an input: ``(shift, n_bits, out_bits, code_multiplier)`` per segment.

    A signed n-bit input has n - 1 magnitude bits (unsigned: n). Two-phase
    (only with 4 or more magnitude bits) runs the top bits and the low
    ``m // 2`` bits as two MVMs; the MSB segment converts at
    ``min(out + 2, 10)`` bits, the LSB one at ``max(out - 1, 2)`` (the
    paper's 8 / 5 split for 6-bit outputs), and the codes are combined as
    ``code_hi * 2**L + code_lo * 2**(k_hi - k_lo)``.
    """
    signed, two_phase = boolean("signed", signed), boolean("two_phase", two_phase)
    input_bits = integer("input_bits", input_bits, CHIP_INPUT_BITS[0] + signed, CHIP_INPUT_BITS[1],
                         "a signed input needs its sign bit and a magnitude bit" if signed else "")
    output_bits = integer("output_bits", output_bits, *CHIP_OUTPUT_BITS)
    m = input_bits - 1 if signed else input_bits
    if two_phase and m >= 4:
        low = m // 2
        k_hi, k_lo = min(output_bits + 2, 10), max(output_bits - 1, 2)
        return [(low, m - low, k_hi, 2**low), (0, low, k_lo, 2 ** (k_hi - k_lo))]
    return [(0, m, output_bits, 1)]


def _observed(method):
    """A public Board call that the board's observers (a run log's journal, a replay) see whole.

    With no observer the method runs as it is. Otherwise each observer is called as
    ``observe(op, args, proceed)``, ``args`` the call's arguments by name (:func:`call_args`)
    and ``proceed()`` the rest of the chain, the method itself last: the
    :class:`~neurram_lab.runlog.journal_board.JournalBoard` journals the call around it, the
    :class:`~neurram_lab.runlog.replay.ReplayBoard` has its hooks serve the recorded call.
    """
    op = method.__name__

    @functools.wraps(method)
    def call(self, *args, **kwargs):
        observers = self._observers
        if not observers:
            return method(self, *args, **kwargs)
        rec = call_args(method, args, kwargs)
        proceed = functools.partial(method, self, *args, **kwargs)
        for observe in observers[:-1]:  # the first one innermost
            proceed = functools.partial(observe, op, rec, proceed)
        return observers[-1](op, rec, proceed)

    return call


def call_args(method, args: tuple, kwargs: dict) -> dict:
    """The arguments of a call to the public Board ``method`` by name, defaults filled in, as the journal
    records them (``set_rails``: its rails merged into ``volts``)."""
    b = _signature(method).bind(None, *args, **kwargs)
    b.apply_defaults()
    out = dict(b.arguments)
    del out["self"]
    if "more" in out:  # set_rails(volts=None, **more)
        out = {"volts": dict(out["volts"] or {}, **out["more"])}
    return out


@functools.lru_cache(maxsize=None)
def _signature(method) -> inspect.Signature:
    return inspect.signature(method)


def _optional(backend, name: str):
    """The backend's optional hook ``name`` (one of ``OPTIONAL_HOOKS``), or its default from
    :class:`~neurram_lab.board.backend.OptionalHooks` where the backend does not define it."""
    hook = getattr(backend, name, None)
    return hook if hook is not None else getattr(OptionalHooks, name).__get__(backend)


def _last_accepted(ok, good: float, bad: float, steps: int = 60) -> float:
    """The value nearest ``bad`` (refused) that ``ok`` accepts, bisecting from ``good`` (accepted)."""
    for _ in range(steps):
        mid = 0.5 * (good + bad)
        good, bad = (mid, bad) if ok(mid) else (good, mid)
    return good


class Board:
    """A NeuRRAM test board: the frontend every board shares, over a backend that does the work.

    Each public call is checked (limits, capabilities, the chip's ratings), a pulse
    quantised onto the board's steps, the call shown whole to the board's observers,
    and only then handed to the backend's hooks (:mod:`~neurram_lab.board.backend`:
    :data:`~neurram_lab.board.backend.CALLS` lists which call uses which hook).

    Parameters
    ----------
    spec : str
        The spec string this board was opened with.
    limits : SafetyLimits, optional
        Safety limits; the defaults are safe for the chip.
    backend : BoardBackend or Board, optional
        What carries the calls. None: this board itself, a subclass that
        implements the hooks (the twin, the driver). A Board: that board's own
        backend and observers, this frontend wrapping them (the journal); it is
        not closed with this one, it belongs to whoever opened it.
    observe : callable, optional
        ``observe(op, args, proceed)``, called around each public call outside
        the observers of ``backend`` (see ``_observed``).

    Raises
    ------
    TypeError
        The backend lacks a required hook (:data:`~neurram_lab.board.backend.REQUIRED_HOOKS`).

    Notes
    -----
    ``limits`` is read-only and itself frozen; ``set_limits`` (or assigning
    ``board.limits``) replaces it with a new, validated set. Whatever the
    limits say, every call also checks the chip's absolute ratings (rails,
    pulse amplitude, gate and width; ``limits.RATED_*``) just before the
    board's hook, so nothing beyond them is ever sent.
    """

    def __init__(self, spec: str, limits: SafetyLimits | None = None, backend=None, observe=None):
        self.spec = spec
        self._limits = as_limits(limits)
        self._closed = False
        over = backend if isinstance(backend, Board) else None
        #: the object whose hooks carry the calls
        self._backend = self if backend is None else over._backend if over is not None else backend
        #: observers of each public call, the first one innermost
        self._observers = (over._observers if over is not None else ()) + ((observe,) if observe is not None else ())
        self._owns_backend = over is None
        missing = missing_hooks(self._backend)
        if missing:
            raise TypeError(f"can't make a {type(self).__name__}: its backend {type(self._backend).__name__} "
                            f"lacks the hooks {missing}")

    def _backend_time_s(self) -> float:
        """The backend's clock (s), asked without a public call: nothing observes it (a journal's time stamps)."""
        return float(self._backend._now())

    # --------------------------------------------------------------- limits
    @property
    def limits(self) -> SafetyLimits:
        """The safety limits every call is checked against (frozen; see ``set_limits``)."""
        return self._limits

    @limits.setter
    def limits(self, limits) -> None:
        self.set_limits(limits)

    def set_limits(self, limits) -> SafetyLimits:
        """Replace the safety limits with ``limits`` (SafetyLimits, mapping or file), validated against
        the chip's ratings (LimitError above them, InputError if malformed; the old limits stay then).
        Sends nothing; returns the limits now in force."""
        self._check_open()
        self._limits = as_limits(limits)
        return self._limits

    # ------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Release the board; later calls raise :class:`BoardError`."""
        if not self._closed:
            self._closed = True
            if self._owns_backend:
                _optional(self._backend, "_close")()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _check_open(self) -> None:
        if self._closed:
            raise BoardError(f"board {self.spec!r} is closed")

    # ----------------------------------------------------------------- info
    @_observed
    def info(self) -> BoardInfo:
        """Describe the board (:attr:`identity`, as a public, observed call)."""
        return self.identity

    @property
    def identity(self) -> BoardInfo:
        """The board's description (:class:`BoardInfo`), as :meth:`info` gives it but without a public
        call: nothing observes or journals it and nothing is sent, so asking it leaves a run's journal as
        it was (what a calibration records of the board it is taken on, and checks when applied)."""
        self._check_open()
        return self._backend._info()

    # --------------------------------------------------------- capabilities
    def capabilities(self) -> BoardCapabilities:
        """What this board can do (output bits, directions, per-neuron test voltages ...)."""
        self._check_open()
        return self._caps()

    def _caps(self) -> BoardCapabilities:
        """The capabilities, asked of the board once (they do not change while it is open)."""
        caps = self.__dict__.get("_caps_cached")
        if caps is None:
            caps = _optional(self._backend, "_capabilities")()
            if not isinstance(caps, BoardCapabilities):
                raise BoardError(f"board {self.spec!r} declared capabilities of type {type(caps).__name__}")
            self._caps_cached = caps
        return caps

    # ---------------------------------------------------------------- rails
    @_observed
    def set_rails(self, volts: dict | None = None, **more: float) -> None:
        """Set bias rails (V), e.g. ``set_rails(v_read=0.3)``; all checked before any is set."""
        self._check_open()
        if volts is not None and not isinstance(volts, Mapping):
            raise InputError(f"set_rails takes a mapping of rail -> volts (or rail=volts keywords), got volts={volts!r}")
        req = dict(volts or {}, **more)
        if not req:  # nothing asked, nothing sent
            return
        checked = self.limits.check_rails(req)
        self._caps().check_rails(checked)
        check_ratings_rails(checked)
        self._backend._set_rails(checked)

    @_observed
    def rail_range_v(self, name: str) -> tuple[float, float]:
        """Range (V) the rail ``name`` can be set to now, the other rails as they are.

        The safety limits' range, narrowed where the board cannot reach all of
        it (e.g. a DAC node driven by ``v_ref - v_decr`` must stay at or above
        0 V). Tier 2 picks operating points inside it. Sends nothing.
        """
        self._check_open()
        if name not in self.limits.rails_v:
            raise LimitError("rail", name, sorted(self.limits.rails_v), "no such rail")
        self._caps().check_rails([name])
        lo, hi = self.limits.rails_v[name]

        def ok(v: float) -> bool:
            try:
                _optional(self._backend, "_check_rails")({name: float(v)})
            except LimitError:
                return False
            return True

        if ok(lo) and ok(hi):
            return (float(lo), float(hi))
        cur = self._backend._get_rails().get(name)
        inside = [v for v in ([cur] if cur is not None else []) + list(np.linspace(lo, hi, 257)) if lo <= v <= hi and ok(v)]
        if not inside:
            raise LimitError(name, cur, (lo, hi), "the board reaches no value of this rail with the other rails as they are")
        # the reachable values form one interval (node voltages are affine in the rails)
        a = lo if ok(lo) else _last_accepted(ok, float(inside[0]), lo)
        b = hi if ok(hi) else _last_accepted(ok, float(inside[0]), hi)
        return (float(a), float(b))

    @_observed
    def get_rails(self) -> dict[str, float]:
        """Present value of every rail (V)."""
        self._check_open()
        return dict(self._backend._get_rails())

    # ---------------------------------------------------------------- power
    @_observed
    def power_cores(self, cores, on: bool = True) -> None:
        """Power cores on or gate them off; weights survive (non-volatile)."""
        self._check_open()
        c = self.limits.check_cores(cores)
        on = boolean("on", on)
        if not on:
            self._caps().check_power_off()
        self._backend._power_cores(np.unique(c), bool(on))

    @_observed
    def powered_cores(self) -> np.ndarray:
        """Bool array (n_cores,), True where the core is powered."""
        self._check_open()
        return np.asarray(self._backend._powered_cores(), dtype=bool).copy()

    def _check_powered(self, cores: np.ndarray) -> None:
        if cores.size == 0:
            return
        powered = np.asarray(self._backend._powered_cores(), dtype=bool)
        if powered.all():  # the usual case: skip the per-cell lookup
            return
        off = np.unique(cores[~powered[cores]])
        if off.size:
            raise BoardError(
                f"core {int(off[0])} is power-gated; power it with power_cores([{int(off[0])}])"
            )

    # ---------------------------------------------------------------- cells
    @_observed
    def pulse(self, kind: str, core, row, col, v_pulse, width_s, v_gate=None) -> AppliedPulse:
        """Apply one SET, RESET or FORM pulse to each addressed cell, in order.

        Amplitude and gate are rounded to the board's ``pulse_v_step_v`` and
        the width to its ``pulse_width_tick_s`` (at least one tick), never past
        a safety limit, before the board sees them.

        Parameters
        ----------
        kind : {"set", "reset", "form"}
        core, row, col : int or array of int
            Cell addresses, broadcast together.
        v_pulse : float or array
            Pulse amplitude across the cell (V), per cell or one for all.
        width_s : float or array
            Pulse width (s).
        v_gate : float or array, optional
            Selector gate voltage (V); default the ``v_wl_<kind>`` rail.

        Returns
        -------
        AppliedPulse
            The amplitude, width and gate applied to each cell (float64 arrays).
        """
        self._check_open()
        c, r, k = self.limits.check_cells(core, row, col)
        v, w, g = self.limits.check_pulse(kind, v_pulse, width_s, v_gate, n=c.size)
        if g is None:
            rails, gate = self._backend._get_rails(), f"v_wl_{kind}"
            if gate not in rails:  # a backend's fault, not the caller's: say which rail it lacks
                raise BoardError(f"board {self.spec!r} reports no {gate} rail, the gate of its {kind} pulses when "
                                 f"v_gate is not given; its rails: {sorted(rails)}")
            g = np.broadcast_to(np.float64(rails[gate]), (c.size,))
        v, w, g = np.asarray(v, float), np.asarray(w, float), np.asarray(g, float)
        caps = self._caps()
        if caps.pulse_v_step_v is not None or caps.pulse_width_tick_s is not None:
            v, w, g = self._quantize_pulse(kind, caps, v, w, g)
        self._check_powered(c)
        check_ratings_pulse(v, w, g)
        if c.size:
            self._backend._pulse(kind, c, r, k, v, w, g)
        return AppliedPulse(v, w, g)

    def _quantize_pulse(self, kind, caps, v, w, g):
        """Amplitude, width and gate on the board's steps, inside the safety limits."""
        lim = self.limits
        v_max = lim.form_v_max if kind == "form" else lim.pulse_v_max
        g_max = lim.gate_v_max
        if caps.pulse_v_max_v is not None:  # the board's own top (e.g. its DAC's largest code)
            v_max, g_max = min(v_max, caps.pulse_v_max_v), min(g_max, caps.pulse_v_max_v)
            if caps.pulse_v_step_v is None:  # no steps to round onto: clip
                v, g = np.minimum(v, v_max), np.minimum(g, g_max)
        v = quantize("pulse_v_step_v", v, caps.pulse_v_step_v, 0.0, v_max)
        g = quantize("pulse_v_step_v", g, caps.pulse_v_step_v, 0.0, g_max)
        w = quantize("pulse_width_tick_s", w, caps.pulse_width_tick_s, *lim.width_s, at_least_one=True)
        return v, w, g

    @_observed
    def read(self, core, row, col) -> np.ndarray:
        """Read the conductance of each addressed cell (siemens, float32)."""
        self._check_open()
        c, r, k = self.limits.check_cells(core, row, col)
        self._check_powered(c)
        if c.size == 0:
            return np.zeros(0, np.float32)
        return np.asarray(self._backend._read(c, r, k), dtype=np.float32)

    # ------------------------------------------------------------------ MVM
    @_observed
    def mvm(self, request: MVMRequest) -> np.ndarray:
        """Run an MVM batch; returns raw neuron codes, int16 (n_cores, batch, n_out)."""
        self._check_open()
        req = validate_mvm(request, self.limits, self._caps())
        self._check_powered(np.asarray(req.cores, dtype=np.int64))
        return np.asarray(_optional(self._backend, "_mvm")(req), dtype=np.int16)

    @_observed
    def neuron_test(self, core: int, v_in_v, output_bits: int | None = None) -> np.ndarray:
        """Neuron-test mode: feed voltages (V) straight into the neurons, bypassing the RRAM.

        ``v_in_v`` has shape (batch, 256), one voltage per neuron, or (batch, 1),
        one voltage shared by the 256 neurons of a vector (what a board without
        ``neuron_test_per_neuron`` takes); returns codes int16 (batch, 256).
        ``output_bits`` None: 8, or the most the board converts if fewer.
        """
        self._check_open()
        c = self.limits.check_cores(core)
        if c.size != 1:
            raise InputError("neuron_test takes one core")
        if output_bits is None:
            output_bits = self._caps().pick_output_bits(None, 8)
        output_bits = integer("output_bits", output_bits, 1, 10)
        v = np.atleast_2d(array("v_in_v", v_in_v, (0, 1, 2), lo=-RATED_V_MAX, hi=RATED_V_MAX, detail="volts"))
        if v.shape[1] not in (1, self.limits.n_cols):
            raise InputError(f"v_in_v has shape {v.shape}: (batch, {self.limits.n_cols}) or (batch, 1) expected")
        if v.ndim == 2 and v.shape[1] == 1:
            v = np.repeat(v, self.limits.n_cols, axis=1)
        caps = self._caps()
        caps.check_bits("output_bits", output_bits)
        caps.check_neuron_voltages(v)
        self._check_powered(c)
        return np.asarray(_optional(self._backend, "_neuron_test")(int(c[0]), v, int(output_bits)), dtype=np.int16)

    # ---------------------------------------------------------------- clock
    @_observed
    def now(self) -> float:
        """Board time (s): virtual on the twin, monotonic since open on hardware."""
        self._check_open()
        return float(self._backend._now())

    @_observed
    def wait(self, seconds: float) -> None:
        """Let ``seconds`` pass: advances virtual time on the twin, sleeps on hardware."""
        self._check_open()
        s = number("seconds", seconds, 0.0, None, "wait needs a finite, non-negative time")
        self._backend._wait(s)

    # ------------------------------------------------------------- snapshot
    @_observed
    def snapshot(self) -> dict:
        """JSON-able state for run records: info, rails, powered cores, limits, counters, board extras."""
        self._check_open()
        b = self._backend
        snap = {
            "info": b._info().to_dict(),
            "rails_v": dict(b._get_rails()),
            "powered_cores": [int(i) for i in np.flatnonzero(b._powered_cores())],
            "limits": self.limits.to_dict(),
            "capabilities": self._caps().to_dict(),
            "counters": dict(_optional(b, "_counters")()),
            "time_s": float(b._now()),
        }
        snap.update(_optional(b, "_snapshot_extra")())
        return snap

    # ------------------------------------------------------------- counters
    @_observed
    def counters(self) -> dict:
        """Running totals of the board's work: pulses, reads, MVMs, energy_j (where known)."""
        self._check_open()
        return dict(_optional(self._backend, "_counters")())


def as_board(value, name: str = "board") -> "Board":
    """``value`` if it is an open :class:`Board`; anything else (a spec string, None, another object) is an
    InputError naming ``name``, and a closed board a BoardError."""
    if not isinstance(value, Board):
        hint = "; open one first: open_board(spec)" if isinstance(value, str) else ""
        raise InputError(f"{name} must be a Board (from open_board), got {type(value).__name__} {value!r:.60}{hint}")
    value._check_open()
    return value


def validate_mvm(req: MVMRequest, limits: SafetyLimits, capabilities: BoardCapabilities | None = None) -> MVMRequest:
    """Check an :class:`MVMRequest` against the limits (and a board's capabilities); returns a normalised copy."""
    if not isinstance(req, MVMRequest):
        raise InputError(f"mvm takes an MVMRequest, got {type(req).__name__}")
    cores = limits.check_cores(req.cores)
    if cores.size == 0 or len(set(cores.tolist())) != cores.size:
        raise InputError(f"mvm cores must be distinct and non-empty, got {req.cores!r}")
    if req.direction not in MVM_DIRECTIONS:
        raise InputError(f"direction {req.direction!r} is not one of {MVM_DIRECTIONS}")
    if req.activation not in ACTIVATIONS:
        raise InputError(f"activation {req.activation!r} is not one of {ACTIVATIONS}")
    integer("input_bits", req.input_bits, 1, 8)
    integer("output_bits", req.output_bits, 1, 10)
    flags = {f: boolean(f, getattr(req, f)) for f in ("signed_inputs", "differential", "two_phase", "parallel")}
    if capabilities is not None:
        capabilities.check_mvm(req)
    n_lines = limits.n_rows  # rows == cols on NeuRRAM
    pair = req.differential and req.direction == "forward"
    in_lines = check_lines("input_lines", req.input_lines, n_lines // 2 if pair else n_lines)
    out_lines = check_lines("output_lines", req.output_lines, n_lines)
    x = np.asarray(req.inputs)
    if x.dtype.kind not in "iu":
        raise InputError(f"mvm inputs must be integers, got dtype {x.dtype}")
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.shape[0] != cores.size or x.shape[2] != in_lines.size:
        raise InputError(
            f"mvm inputs shape {np.shape(req.inputs)} does not match "
            f"({cores.size} cores, batch, {in_lines.size} input lines)"
        )
    nb = int(req.input_bits)
    lo, hi = (-(2 ** (nb - 1) - 1), 2 ** (nb - 1) - 1) if req.signed_inputs else (0, 2**nb - 1)
    if x.size and (int(x.min()) < lo or int(x.max()) > hi):
        bad = int(x.min()) if int(x.min()) < lo else int(x.max())
        raise LimitError("mvm input", bad, (lo, hi), f"{nb}-bit {'signed' if req.signed_inputs else 'unsigned'}")
    v_read = req.v_read_v
    if v_read is not None:
        v_read = number("v_read_v", v_read, *limits.rails_v["v_read"], "volts")
        check_ratings_rails({"v_read_v": v_read})
    return dataclasses.replace(
        req,
        cores=tuple(int(c) for c in cores),
        inputs=x.astype(np.int16, copy=False),
        input_lines=in_lines,
        output_lines=out_lines,
        input_bits=nb,
        output_bits=int(req.output_bits),
        v_read_v=v_read,
        **flags,
    )


def check_lines(name: str, lines, n: int) -> np.ndarray:
    """Validate a set of array lines (distinct, 0..n-1, non-empty 1-D ints); returns int64."""
    a = np.asarray(lines)
    if a.dtype.kind not in "iu" or a.ndim != 1 or a.size == 0:
        raise InputError(f"{name} must be a non-empty 1-D integer array")
    a = a.astype(np.int64)
    if a.min() < 0 or a.max() >= n:
        raise LimitError(name, int(a.max() if a.max() >= n else a.min()), (0, n - 1))
    seen = np.zeros(n, bool)
    seen[a] = True
    if np.count_nonzero(seen) != a.size:
        raise InputError(f"{name} has repeated lines")
    return a

