"""What a board can do: :class:`BoardCapabilities`, its checks, and pulse quantisation.

The physics twin does everything the chip's design allows; a real test board
does what its FPGA bitstream implements (e.g. at most 7 output bits from a
100-step readout, one neuron-test voltage shared by all neurons). The Board
contract checks every request against the board's capabilities before it
calls the board, and raises :class:`~neurram_lab.errors.CapabilityError`
naming the capability, the value asked for and what the board declares.
Tier 2 and 3 read the capabilities to pick what a board can run
(:meth:`BoardCapabilities.pick_output_bits`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..validate import boolean, choice, int_list, integer, optional_number, positive
from ..errors import CapabilityError, InputError
from .limits import N_CORES

MVM_DIRECTIONS = ("forward", "backward", "recurrent_bl", "recurrent_sl")
ACTIVATIONS = ("none", "relu", "sigmoid", "tanh", "stochastic")
CHIP_OUTPUT_BITS = (1, 10)  # what the neuron design converts (SPEC §3)
CHIP_INPUT_BITS = (1, 8)
# the neuron's design (SPEC §3): sampling and integration capacitors, integrator swing around v_ref
CHIP_C_SAMPLE_F = 17e-15
CHIP_C_INTEG_F = 104e-15
CHIP_HEADROOM_V = 0.35
CLOCKS = ("virtual", "host")


@dataclass(frozen=True)
class BoardCapabilities:
    """What a board can do; requests beyond it are refused before anything is sent.

    Attributes
    ----------
    output_bits : (int, int)
        Inclusive range of output bits (sign included) an MVM or neuron test may ask for.
    input_bits : (int, int)
        Inclusive range of MVM input bits (sign included).
    directions : tuple of str
        MVM directions the board runs.
    activations : tuple of str
        Neuron activations the board runs.
    two_phase : bool
        Whether the board splits inputs into MSB/LSB phases (``MVMRequest.two_phase``).
    max_parallel_cores : int
        Most cores in one :class:`~neurram_lab.board.contract.MVMRequest`.
    neuron_test_per_neuron : bool
        True: one neuron-test voltage per neuron; False: one voltage shared by
        all neurons of a vector.
    power_gating : bool
        False: ``power_cores(on=False)`` is refused (cores stay powered).
    clock : {"virtual", "host"}
        ``"virtual"``: board time is the twin's; ``"host"``: wall clock, ``wait`` sleeps.
    pulse_v_step_v : float or None
        DAC step (V) of pulse amplitude and gate voltage; None: applied exactly.
    pulse_width_tick_s : float or None
        Pulse width quantum (s); None: applied exactly.
    pulse_v_max_v : float or None
        Largest pulse amplitude or gate voltage the board can generate (V), e.g.
        the top code of its pulse DAC; a request above it is applied at it
        (``AppliedPulse`` says so). None: bounded only by the safety limits.
    rails : tuple of str or None
        Rails the board can set; None: every rail the safety limits know.
    c_sample_f, c_integ_f : float
        The neurons' sampling and integration capacitors (F): one input plane
        moves the integrator by ``c_sample_f / c_integ_f`` times the line's
        swing, which is what tier 2 turns codes back into volts with.
    headroom_v : float
        Integrator swing around v_ref before it clips (V), what calibration keeps the partial sums inside.
    """

    output_bits: tuple[int, int] = CHIP_OUTPUT_BITS
    input_bits: tuple[int, int] = CHIP_INPUT_BITS
    directions: tuple[str, ...] = MVM_DIRECTIONS
    activations: tuple[str, ...] = ACTIVATIONS
    two_phase: bool = True
    max_parallel_cores: int = N_CORES
    neuron_test_per_neuron: bool = True
    power_gating: bool = True
    clock: str = "virtual"
    pulse_v_step_v: float | None = None
    pulse_width_tick_s: float | None = None
    pulse_v_max_v: float | None = None
    rails: tuple[str, ...] | None = None
    c_sample_f: float = CHIP_C_SAMPLE_F
    c_integ_f: float = CHIP_C_INTEG_F
    headroom_v: float = CHIP_HEADROOM_V

    def __post_init__(self):
        for name, chip in (("output_bits", CHIP_OUTPUT_BITS), ("input_bits", CHIP_INPUT_BITS)):
            rng = tuple(int_list(f"capability {name}", getattr(self, name), chip[0], chip[1]))
            if len(rng) != 2 or not rng[0] <= rng[1]:
                raise InputError(f"capability {name}={getattr(self, name)!r} must be (lo, hi) within {chip}")
            object.__setattr__(self, name, rng)
        for name, known in (("directions", MVM_DIRECTIONS), ("activations", ACTIVATIONS)):
            vals = tuple(str(v) for v in getattr(self, name))
            bad = [v for v in vals if v not in known]
            if bad:
                raise InputError(f"capability {name} has unknown entries {bad}; known: {known}")
            object.__setattr__(self, name, vals)
        object.__setattr__(self, "max_parallel_cores",
                           integer("capability max_parallel_cores", self.max_parallel_cores, lo=1))
        choice("capability clock", self.clock, CLOCKS)
        for name in ("pulse_v_step_v", "pulse_width_tick_s", "pulse_v_max_v"):
            object.__setattr__(self, name, optional_number(f"capability {name}", getattr(self, name), lo=0.0,
                                                           lo_open=True, detail="a positive step, or None"))
        if self.rails is not None:
            object.__setattr__(self, "rails", tuple(str(r) for r in self.rails))
        for name in ("c_sample_f", "c_integ_f", "headroom_v"):
            object.__setattr__(self, name, positive(f"capability {name}", getattr(self, name)))
        for name in ("two_phase", "neuron_test_per_neuron", "power_gating"):
            object.__setattr__(self, name, boolean(f"capability {name}", getattr(self, name)))

    # ------------------------------------------------------------ records
    def to_dict(self) -> dict:
        """JSON-able mapping (tuples as lists)."""
        d = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, data: dict) -> "BoardCapabilities":
        """From :meth:`to_dict`'s mapping; keys it lacks keep their defaults, unknown keys are refused."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"unknown capability keys {unknown}; known: {sorted(known)}")
        kw = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**kw)

    # ------------------------------------------------------------- checks
    def check_bits(self, name: str, bits: int) -> int:
        """Refuse ``output_bits``/``input_bits`` outside this board's range; returns the int."""
        lo, hi = getattr(self, name)
        b = int(bits)
        if not lo <= b <= hi:
            raise CapabilityError(name, b, (lo, hi))
        return b

    def check_direction(self, direction: str) -> None:
        if direction not in self.directions:
            raise CapabilityError("directions", direction, self.directions, "MVM direction")

    def check_activation(self, activation: str) -> None:
        if activation not in self.activations:
            raise CapabilityError("activations", activation, self.activations, "neuron activation")

    def check_two_phase(self, two_phase: bool) -> None:
        if two_phase and not self.two_phase:
            raise CapabilityError("two_phase", True, False, "split inputs into MSB/LSB phases")

    def check_cores(self, n_cores: int) -> None:
        if int(n_cores) > self.max_parallel_cores:
            raise CapabilityError("max_parallel_cores", int(n_cores), self.max_parallel_cores, "cores in one MVM request")

    def check_mvm(self, req) -> None:
        """Every capability an :class:`~neurram_lab.board.contract.MVMRequest` needs."""
        self.check_direction(req.direction)
        self.check_activation(req.activation)
        self.check_two_phase(bool(req.two_phase))
        self.check_cores(len(req.cores))
        self.check_bits("input_bits", req.input_bits)
        self.check_bits("output_bits", req.output_bits)

    def check_neuron_voltages(self, v_in_v: np.ndarray) -> None:
        """A board without per-neuron voltages needs one voltage per vector (row)."""
        if self.neuron_test_per_neuron or v_in_v.size == 0:
            return
        spread = float(np.max(np.ptp(v_in_v, axis=-1)))
        if spread > 0:
            raise CapabilityError("neuron_test_per_neuron", f"voltages differing by {spread:.4g} V in a vector", False,
                                  "one voltage is shared by all neurons of a vector")

    def check_power_off(self) -> None:
        if not self.power_gating:
            raise CapabilityError("power_gating", "power_cores(on=False)", False, "cores cannot be gated off")

    def check_rails(self, names) -> None:
        if self.rails is None:
            return
        for name in names:
            if name not in self.rails:
                raise CapabilityError("rails", name, self.rails, "rails this board can set")

    @property
    def cs_over_ci(self) -> float:
        """Integrator volts per volt of input-line swing in one sample-and-integrate cycle."""
        return self.c_sample_f / self.c_integ_f

    # ------------------------------------------------------------ choices
    def pick_output_bits(self, requested: int | None = None, preferred: int = 6) -> int:
        """Output bits to run: ``requested`` if the board has it (else CapabilityError), or,
        with None, ``preferred`` brought into the board's range."""
        if requested is not None:
            return self.check_bits("output_bits", requested)
        lo, hi = self.output_bits
        return int(min(max(int(preferred), lo), hi))


def capabilities_of(board) -> BoardCapabilities:
    """The board's capabilities; the full set for objects that predate them (no ``capabilities`` method)."""
    fn = getattr(board, "capabilities", None)
    return fn() if callable(fn) else BoardCapabilities()


def engine_fits(board, config) -> bool:
    """Whether ``board`` runs tier-2 write-verify with ``config`` (a ``WriteVerifyConfig``) on a write-verify
    engine in its gateware: the optional operation that :func:`neurram_lab.program.writeverify.runs_on_engine`
    documents, asked through ``write_verify_engine_fits(cfg)`` (journal and replay boards) or
    ``has_write_verify_engine`` with ``write_verify_engine().fits(cfg)`` (the FPGA driver)."""
    fits = getattr(board, "write_verify_engine_fits", None)
    if fits is not None:
        return bool(fits(config))
    if getattr(board, "has_write_verify_engine", False):
        return bool(board.write_verify_engine().fits(config))
    return False


@dataclass(frozen=True)
class AppliedPulse:
    """The pulses a board actually applied, one value per cell (after quantisation).

    Attributes
    ----------
    v_pulse_v : ndarray of float64
        Pulse amplitude (V).
    width_s : ndarray of float64
        Pulse width (s).
    v_gate_v : ndarray of float64
        Selector gate voltage (V).
    """

    v_pulse_v: np.ndarray
    width_s: np.ndarray
    v_gate_v: np.ndarray


def quantize(name: str, a: np.ndarray, step: float | None, lo: float, hi: float, at_least_one: bool = False):
    """``a`` (``name`` is the capability that sets ``step``) rounded to the nearest multiple of ``step``, kept inside ``[lo, hi]``.

    Where the nearest multiple lies beyond a limit, the next one on the safe
    side is taken (float rounding within 1e-9 of a step counts as on the
    limit, and the limit itself is applied). ``at_least_one``: never below one
    step (pulse widths). Raises CapabilityError when no multiple lies inside.
    Returns ``a`` itself when ``step`` is None.
    """
    if step is None:
        return a
    if a.ndim == 1 and a.size and a.strides == (0,):  # a broadcast scalar: quantise it once
        q = quantize(name, a[:1].copy(), step, lo, hi, at_least_one)
        return np.broadcast_to(q, a.shape)
    n = np.rint(a / step)
    if at_least_one:
        n = np.maximum(n, 1.0)
    tol = 1e-9 * step
    q = n * step
    n = np.where(q > hi + tol, n - 1, np.where(q < lo - tol, n + 1, n))
    q = np.clip(n * step, lo, hi) if a.size else n * step
    bad = (n * step > hi + tol) | (n * step < lo - tol) | (at_least_one & (n < 1))
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise CapabilityError(name, step, (lo, hi), f"no multiple of the step near {float(a[i])!r} lies within the limits")
    return q.astype(np.float64, copy=False)
