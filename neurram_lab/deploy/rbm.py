"""Restricted Boltzmann machine on the chip: bidirectional MVM, stochastic neurons, Gibbs sampling.

Mapping (SPEC §5): the weights are stored transposed, one row pair per hidden
unit plus row pairs for the visible bias, one column per visible unit plus
columns for the (shared-out) hidden bias. The biases reach the array at full
value: a bias beyond the weight range ``+-w_max`` is spread evenly over as
many bias rows (columns) as it needs, all driven at full input, since the
authors clip only ``W`` (their ``b`` spans -5..2.3 and ``a`` -19..26 for
``w_max = 1``; clipping the biases too leaves the occluded third of a digit
grey instead of filling in its strokes). Visible units are dealt to the
cores round-robin, so neighbouring pixels land on different cores and every
core sees a down-sampled image. Visible -> hidden runs backward (SL -> BL,
differential BL outputs; the FPGA adds the cores' partial sums);
hidden -> visible runs forward (BL -> SL, each visible unit on its own core).
Hidden units are stochastic binary neurons: P(h = 1) = sigmoid(v W + a).
On a board whose neurons declare the ``stochastic`` activation (the chip's
LFSR noise injected into each core's integrator, SPEC §3) they are sampled
there: each core's partial sum is converted with its own LFSR noise, the
FPGA adds the cores' values and ``h = 1`` where the sum is positive (the
authors' training notebook models the injection the same way, noise added
to ``v W + a`` and a comparison with 0). Sampling against sigmoid needs
noise of the logistic's spread: Gaussian of rms 1.702 in units of
``v W + a`` (the probit match of the logistic); :meth:`ChipRBM.calibrate`
measures the spread the board's neurons give and, on a board whose LFSR
level can be set (the optional ``scale_stochastic_noise(factor, min_pulses)``
hook, :class:`drivers.fpga_board.FpgaBoard`), scales it there; the twin's
(sim://) is fixed and only measured. On other boards, and with exact or
measured-weights MVMs, the host samples ``sigmoid(v W + a)`` against LFSR
noise (:mod:`.lfsr`). Visible units are reconstructed as sigmoid(h W^T + b)
and sampled on the host (the clamped ones are known values, not MVM outputs).

Gibbs sampling with clamping (image recovery), the authors' procedure
(``rbm/rbm_training.ipynb``): each cycle samples the visible units to 0/1
(``sample_visible``; otherwise they are quantised to ``visible_bits``),
samples the hidden units from them, reconstructs the visible probabilities
and resets the known pixels and the label units to their known values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..validate import MAX_STEPS, array, choice, int_list, integer, npz_arrays, number, optional_integer, positive
from ..validate import rng as as_rng
from ..board.capabilities import capabilities_of
from ..board.limits import N_COLS, N_CORES, N_ROWS
from ..errors import CapabilityError, InputError
from ..program.programming import check_passes, program_matrices
from ..program.weights import MatrixPlacement
from .lfsr import LFSRNoise
from .network import (MVM_MODES, IntendedMatrix, cells_progress, chip_calibrate, chip_mvm, deploy_board,
                      deploy_conductances, deploy_output_bits, exact_mvm, fit_columns, resolve_mvm)


LOGISTIC_SIGMA = 1.702  # Gaussian rms whose CDF best matches the logistic sigmoid (probit scale)
NOISE_VECTORS, NOISE_REPEATS = 20, 6  # calibration vectors and passes the noise spread is measured on
NOISE_MIN_PULSES = 8  # enough LFSR pulses that their binomial sum is near Gaussian


def rbm_layers(visible_bits: int, mvm_options=None) -> list:
    """(input_bits, direction, signed) of the RBM's two MVMs, for :func:`~.network.deploy_output_bits`."""
    signed = bool(dict(mvm_options or {}).get("signed_inputs", False))
    return [(int(visible_bits), "backward", signed), (1, "forward", signed)]


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


@dataclass
class RBM:
    """Weights W (n_visible, n_hidden), hidden bias a, visible bias b, and the mapped weight range."""

    W: np.ndarray
    a: np.ndarray
    b: np.ndarray
    w_max: float = 1.0

    def __post_init__(self):
        self.W = array("W", self.W, 2)
        self.a = array("a", self.a, 1)
        self.b = array("b", self.b, 1)
        if self.a.shape != (self.W.shape[1],) or self.b.shape != (self.W.shape[0],):
            raise InputError(f"RBM shapes do not agree: W {self.W.shape} (visible, hidden) needs a "
                             f"({self.W.shape[1]},) and b ({self.W.shape[0]},), got a {self.a.shape}, b {self.b.shape}")
        self.w_max = positive("w_max", self.w_max, detail="the weight mapped to gmax")

    @classmethod
    def load(cls, path) -> "RBM":
        """From an ``.npz`` with ``W``, ``a`` (hidden bias), ``b`` (visible bias) and optional ``w_max``."""
        f = npz_arrays("path", path)
        missing = [k for k in ("W", "a", "b") if k not in f]
        if missing:
            raise InputError(f"{path}: RBM file lacks {missing}")
        W = array("W", f["W"], 2)
        w_max = f["w_max"] if "w_max" in f else float(np.max(np.abs(W)))
        return cls(W, f["a"], f["b"], number("w_max", w_max))

    @property
    def n_visible(self) -> int:
        return self.W.shape[0]

    @property
    def n_hidden(self) -> int:
        return self.W.shape[1]


@dataclass
class RBMCoreBlock:
    """The part of the RBM on one core: its visible units and its transposed weight block."""

    core: int
    visible: np.ndarray  # visible unit indices, one column each
    weights: np.ndarray  # (n_hidden + bias_rows, n_vis + bias_cols): rows hidden + visible-bias rows,
    #                      cols visible + hidden-bias cols
    placement: MatrixPlacement
    bias_rows: int = 1  # rows sharing the visible bias, driven at 1 in the forward MVM
    bias_cols: int = 1  # columns sharing this core's part of the hidden bias, driven at full scale backward


def bias_lines(bias, w_max: float) -> int:
    """Lines a bias vector is spread over so that each carries at most ``w_max`` (at least 1)."""
    top = float(np.max(np.abs(bias))) if np.size(bias) else 0.0
    return max(1, math.ceil(top / w_max * (1.0 - 1e-12)))


def map_rbm(rbm: RBM, cores=None, n_cores: int | None = None) -> list:
    """Split the RBM over cores: visible units dealt round-robin, each block <= 256 x 256.

    The visible bias takes ``bias_lines(b, w_max)`` row pairs and each core's
    share of the hidden bias ``bias_lines(a / n, w_max)`` columns, so no bias
    is clipped at programming; a model whose biases need more lines than the
    array has is refused.
    """
    n_cores = optional_integer("n_cores", n_cores, lo=1)
    cores = None if cores is None else int_list("cores", cores, 0, N_CORES - 1, distinct=True)
    n_b = bias_lines(rbm.b, rbm.w_max)
    if 2 * (rbm.n_hidden + n_b) > N_ROWS:
        raise InputError(f"{rbm.n_hidden} hidden units and a visible bias up to {np.max(np.abs(rbm.b)):.3g} "
                         f"({n_b} bias rows at w_max {rbm.w_max:g}) need {2 * (rbm.n_hidden + n_b)} rows, "
                         f"more than the {N_ROWS} of a core")
    n = max(math.ceil(rbm.n_visible / (N_COLS - 1)), n_cores or 1)
    # more cores: fewer visible units and a smaller share of the hidden bias on each
    while n <= N_CORES and math.ceil(rbm.n_visible / n) + bias_lines(rbm.a / n, rbm.w_max) > N_COLS:
        n += 1
    n_a = bias_lines(rbm.a / n, rbm.w_max)
    if n > N_CORES:
        raise InputError(f"RBM with {rbm.n_visible} visible units and a hidden bias up to {np.max(np.abs(rbm.a)):.3g} "
                         f"does not fit {N_CORES} cores of {N_COLS} columns")
    cores = list(range(n)) if cores is None else [int(c) for c in cores][:n]
    if len(cores) < n:
        raise InputError(f"RBM needs {n} cores, got {len(cores)}")
    blocks = []
    a_share = rbm.a / n
    for i, core in enumerate(cores):
        vis = np.arange(i, rbm.n_visible, n)
        w = np.zeros((rbm.n_hidden + n_b, vis.size + n_a))
        w[: rbm.n_hidden, : vis.size] = rbm.W[vis].T
        w[rbm.n_hidden:, : vis.size] = rbm.b[vis] / n_b  # visible-bias rows, each driven at 1
        w[: rbm.n_hidden, vis.size:] = (a_share / n_a)[:, None]  # hidden-bias columns, driven at full scale
        blocks.append(RBMCoreBlock(core, vis, w, MatrixPlacement(core, 0, 0, w.shape[0], w.shape[1]), n_b, n_a))
    return blocks


class ChipRBM:
    """An RBM programmed on a board (or run exactly with ``mvm="exact"``).

    Parameters
    ----------
    board : Board or None
        None only with ``mvm="exact"``.
    rbm : RBM
    gmin_s, gmax_s : float
        Conductance range (S); SPEC §2: 1 and 30 uS for the RBM.
    mvm : {"chip", "measured-weights", "exact"} or callable
    visible_bits : int
        Resolution of visible values fed back to the chip.
    output_bits : int, optional
        Neuron ADC bits; default 8 brought into the board's range. A board
        without backward MVMs is refused here (CapabilityError), before anything is sent.
    seed : int
        Seeds the LFSR noise of the stochastic neurons.
    mvm_options : dict
        Passed to the MVM; default ``parallel=False`` (see the note in ``__init__``).
    hidden_noise : {"auto", "chip", "host"}
        Where the hidden units are sampled: ``chip``, the board's stochastic
        neurons (a board without them is refused, CapabilityError); ``host``,
        the host's LFSR against ``sigmoid``; ``auto``, the chip where the
        board declares them and the MVM is the chip's, else the host.
        :attr:`hidden_noise` holds the choice made.
    """

    def __init__(self, board, rbm: RBM, gmin_s=1e-6, gmax_s=30e-6, mvm="chip", visible_bits: int = 3,
                 output_bits: int | None = None, seed: int = 0, cores=None, mvm_options: dict | None = None,
                 hidden_noise: str = "auto"):
        if not isinstance(rbm, RBM):
            raise InputError(f"rbm must be an RBM, got {type(rbm).__name__}")
        board = deploy_board(board, resolve_mvm(mvm, MVM_MODES))
        self.gmin_s, self.gmax_s = deploy_conductances(board, gmin_s, gmax_s)
        self.visible_bits = integer("visible_bits", visible_bits, 1, 8, "input bits of the visible -> hidden MVM")
        self.seed = integer("seed", seed, lo=0)
        self.board, self.rbm = board, rbm
        self.blocks = map_rbm(rbm, cores)
        # cores one after the other: with every WL on, four parallel RBM cores draw enough
        # current from the shared v_read supply to sag it by a pattern-dependent amount
        self.mvm_options = {"parallel": False, **(mvm_options or {})}
        self._mvm = resolve_mvm(mvm, MVM_MODES)
        # visible -> hidden runs backward (no host-side equivalent: a board without it is refused here)
        self.output_bits = deploy_output_bits(board, rbm_layers(self.visible_bits, self.mvm_options), self._mvm,
                                              output_bits, self.mvm_options)
        self.hidden_noise = _hidden_noise(board, self._mvm, choice("hidden_noise", hidden_noise, HIDDEN_NOISE))
        self.programmed = None if mvm != "exact" else [_exact(b, rbm.w_max) for b in self.blocks]
        self.mvm_calibration = {}  # direction -> tier-2 MVMCalibration
        self.noise_spread = {}  # the chip path's hidden-unit noise, measured (and tuned) by calibrate()
        self.fits = {}  # direction -> (slope, intercept) per output unit

    @property
    def cores_used(self) -> int:
        return len(self.blocks)

    @property
    def cells_used(self) -> int:
        return int(sum(b.weights.size * 2 for b in self.blocks))

    def program(self, iterations: int = 3, settle_s: float = 1.0, progress=None) -> dict:
        """Program every block, weights clipped to +-w_max (mapped to gmax)."""
        iterations, settle_s = check_passes(iterations, settle_s)
        items = [(np.clip(b.weights, -self.rbm.w_max, self.rbm.w_max), b.placement, self.rbm.w_max) for b in self.blocks]
        self.board.power_cores([b.core for b in self.blocks], True)
        self.programmed = program_matrices(self.board, items, self.gmin_s, self.gmax_s, iterations, settle_s,
                                           progress=cells_progress(progress))
        cells = sum(p.g_target_s.size for p in self.programmed)
        return {"cells_programmed": int(cells),
                "settled_in_window_fraction": float(sum(p.info["settled_in_window_fraction"] * p.g_target_s.size
                                                for p in self.programmed) / cells)}

    def _options(self, direction):
        opts = dict(self.mvm_options)
        if direction in self.mvm_calibration:
            opts["calibration"] = self.mvm_calibration[direction]
        return opts

    def calibrate(self, images, labels=None, per_column: bool = True) -> dict:
        """Operating point and offsets of both directions from training images (chip MVM only).

        Backward (visible -> hidden) from the images' visible codes; forward
        (hidden -> visible) from hidden states sampled on the chip from them.
        That is the paper's calibration (SPEC §5). With ``per_column`` (beyond
        the paper) every output unit then gets a slope and intercept fitted
        against the exact products; returns their mean slope per direction
        (empty without).
        """
        if self._mvm is exact_mvm:
            return {}
        x = np.asarray(images, np.float64).reshape(len(images), -1)
        x = x / 255.0 if x.max() > 1 else x
        n_lab = self.rbm.n_visible - x.shape[1]
        lab = np.eye(n_lab)[np.asarray(labels)] if n_lab > 0 and labels is not None else np.zeros((len(x), n_lab))
        levels = 2**self.visible_bits - 1
        v = np.floor(np.hstack([x, lab]) * levels + 0.5).astype(np.int16)
        self.mvm_calibration, self.fits = {}, {}
        exact = ChipRBM(None, self.rbm, mvm="exact", visible_bits=self.visible_bits)
        inputs = self._backward_inputs(v)
        if self._mvm is chip_mvm:
            self.mvm_calibration["backward"] = chip_calibrate(self.board, self.programmed, inputs, self.visible_bits,
                                                              self.output_bits, "backward", **self.mvm_options)
        ideal_h = exact.hidden_input(v)
        if per_column:
            self.fits["backward"] = fit_columns(ideal_h, self.hidden_input(v), min_slope=0.05, positive=True)
        h = (np.random.default_rng(self.seed).random(ideal_h.shape) < _sigmoid(ideal_h)).astype(np.int16)
        if self._mvm is chip_mvm:
            self.mvm_calibration["forward"] = chip_calibrate(self.board, self.programmed, self._forward_inputs(h), 1,
                                                             self.output_bits, "forward", **self.mvm_options)
        if per_column:
            self.fits["forward"] = fit_columns(exact.visible_input(h), self.visible_input(h), min_slope=0.05,
                                               positive=True)
        if self.hidden_noise == "chip":
            self.noise_spread = self.tune_hidden_noise(v[:NOISE_VECTORS])
        return {d: float(np.mean(f[0])) for d, f in self.fits.items()}

    def hidden_noise_spread(self, v_codes, repeats: int = NOISE_REPEATS) -> float:
        """rms (over ``repeats`` stochastic passes, averaged over units and vectors) of the chip's hidden
        inputs ``v W + a`` around their mean: the stochastic neurons' noise in units of ``v W + a``."""
        repeats = integer("repeats", repeats, 2, 64)
        s = np.stack([self.hidden_input(v_codes, activation="stochastic") for _ in range(repeats)])
        return float(np.sqrt(np.mean(s.var(axis=0, ddof=1))))

    def tune_hidden_noise(self, v_codes, target: float = LOGISTIC_SIGMA, min_pulses: int = NOISE_MIN_PULSES) -> dict:
        """Measure the hidden units' noise spread and, where the board can scale it
        (``scale_stochastic_noise``), bring it to ``target`` (units of ``v W + a``) and measure again.

        Returns ``sigma_before``, ``sigma`` (after), ``target`` and ``tuned`` (whether the board could)."""
        target = positive("target", target)
        before = self.hidden_noise_spread(v_codes)
        scale = getattr(self.board, "scale_stochastic_noise", None)
        out = {"sigma_before": before, "sigma": before, "target": float(target), "tuned": False}
        inj = scale(target / before, min_pulses) if scale is not None and before > 0 else None
        if inj is not None:  # None: a journal or replay over a board whose level is fixed
            from ..runlog.journal_board import injection_dict  # not at import: the run log pulls in h5py

            out.update(sigma=self.hidden_noise_spread(v_codes), tuned=True, injection=injection_dict(inj))
        return out

    # --------------------------------------------------------- half steps
    def _backward_inputs(self, v_codes) -> list:
        """Each core's backward input: its visible codes, then its hidden-bias columns at full scale."""
        levels = 2**self.visible_bits - 1
        return [np.hstack([v_codes[:, b.visible], np.full((v_codes.shape[0], b.bias_cols), levels, v_codes.dtype)])
                for b in self.blocks]

    def _forward_inputs(self, h) -> list:
        """Each core's forward input: the hidden states, then its visible-bias rows at 1."""
        return [np.hstack([h.astype(np.int16), np.ones((h.shape[0], b.bias_rows), np.int16)]) for b in self.blocks]

    def hidden_input(self, v_codes, activation: str = "none") -> np.ndarray:
        """v W + a (before the sigmoid) for visible codes (batch, n_visible) on the visible grid;
        ``activation="stochastic"``: with each core's LFSR noise added at its neurons."""
        levels = 2**self.visible_bits - 1
        opts = self._options("backward")
        if activation != "none":
            opts["activation"] = activation
        outs = self._mvm(self.board, self.programmed, self._backward_inputs(v_codes), self.visible_bits,
                         output_bits=self.output_bits, direction="backward", **opts)
        total = np.zeros((v_codes.shape[0], self.rbm.n_hidden), np.float64)
        for o in outs:
            total += np.asarray(o)[:, : self.rbm.n_hidden]
        return _unfit(total / levels, self.fits.get("backward"))

    def visible_input(self, h) -> np.ndarray:
        """h W^T + b (before the sigmoid) for binary hidden states (batch, n_hidden)."""
        outs = self._mvm(self.board, self.programmed, self._forward_inputs(h), 1, output_bits=self.output_bits,
                         direction="forward", **self._options("forward"))
        out = np.zeros((h.shape[0], self.rbm.n_visible))
        for b, o in zip(self.blocks, outs):
            out[:, b.visible] = np.asarray(o)[:, : b.visible.size]
        return _unfit(out, self.fits.get("forward"))

    # -------------------------------------------------------------- Gibbs
    def gibbs(self, v0, clamp=None, steps: int = 10, progress=None, sample_visible: bool = True) -> np.ndarray:
        """Run ``steps`` Gibbs cycles from visible values ``v0`` in [0, 1] (batch, n_visible).

        ``clamp`` (bool, same shape) marks visible units reset to their ``v0``
        value after every cycle. ``sample_visible`` (the authors' procedure):
        each cycle feeds the chip 0/1 samples of the visible units (clamped
        ones too, of their known values) rather than their probabilities
        quantised to ``visible_bits``. The hidden units are sampled where
        :attr:`hidden_noise` says. Returns the final visible probabilities.
        """
        if self.programmed is None:
            raise InputError("program() the RBM before sampling")
        steps = integer("steps", steps, 0, MAX_STEPS)
        v0 = array("v0", v0, 2)
        if v0.ndim != 2 or v0.shape[1] != self.rbm.n_visible:
            raise InputError(f"visible batch must be (n, {self.rbm.n_visible}), got {v0.shape}")
        clamp = np.zeros(v0.shape, bool) if clamp is None else np.asarray(clamp, bool)
        levels = 2**self.visible_bits - 1
        noise = LFSRNoise(v0.shape[0] * self.rbm.n_hidden, self.seed) if self.hidden_noise == "host" else None
        vis_noise = LFSRNoise(v0.size, self.seed + 1) if sample_visible else None
        v = v0.copy()
        for step in range(int(steps)):
            if vis_noise is not None:
                v = (vis_noise.uniform((v.size,)).reshape(v.shape) < v).astype(np.float64)
            codes = np.floor(np.clip(v, 0, 1) * levels + 0.5).astype(np.int16)
            if noise is None:  # the chip's stochastic neurons: 1 where input plus LFSR noise is positive
                h = (self.hidden_input(codes, activation="stochastic") > 0).astype(np.int16)
            else:
                p_h = _sigmoid(self.hidden_input(codes))
                h = (noise.uniform((p_h.size,)).reshape(p_h.shape) < p_h).astype(np.int16)
            v = _sigmoid(self.visible_input(h))
            v = np.where(clamp, v0, v)
            if progress is not None:
                progress(step + 1)
        return v


HIDDEN_NOISE = ("auto", "chip", "host")


def _hidden_noise(board, mvm, asked: str) -> str:
    """``chip`` or ``host``: where the hidden units are sampled (see :class:`ChipRBM`)."""
    on_chip = mvm is chip_mvm and "stochastic" in capabilities_of(board).activations
    if asked == "chip" and not on_chip:
        if mvm is not chip_mvm:
            raise InputError("hidden_noise='chip' needs the chip's MVM (mvm='chip'), not exact or measured weights")
        raise CapabilityError("activations", "stochastic", capabilities_of(board).activations,
                              "the RBM's hidden units sampled by the chip's LFSR neurons")
    return "chip" if asked == "chip" or (asked == "auto" and on_chip) else "host"


def _unfit(y, fit):
    return y if fit is None else (y - fit[1]) / fit[0]


def _exact(block, w_max):
    """Stand-in 'programmed matrix' for exact arithmetic: the clipped intended weights."""
    return IntendedMatrix(np.clip(block.weights, -w_max, w_max))


def corrupt(images, kind: str, rng, flip_fraction: float = 0.2, threshold: float = 0.7):
    """Corrupt images in [0, 1] (batch, 784): ``"flip"`` a fraction of pixels, or occlude the ``"bottom"`` third.

    Flipped pixels become 1 where they were below ``threshold``, else 0; the
    occluded part is set to the batch's mean grey. Returns (corrupted, known):
    ``known`` marks the pixels left intact.
    """
    x = array("images", images, 2)
    rng = as_rng("rng", rng)
    flip_fraction = number("flip_fraction", flip_fraction, 0.0, 1.0)
    threshold = number("threshold", threshold, 0.0, 1.0, "pixel value; images lie in [0, 1]")
    if kind == "flip":
        hit = rng.random(x.shape) < flip_fraction
        out = np.where(hit, (x < threshold).astype(np.float64), x)
        return out, ~hit
    if kind == "bottom":
        side = int(round(np.sqrt(x.shape[1])))
        cut = (side // 3) * 2 * side
        known = np.zeros(x.shape, bool)
        known[:, :cut] = True
        return np.where(known, x, x.mean()), known
    raise InputError(f"corruption {kind!r} is not 'flip' or 'bottom'")


def recover(chip_rbm: ChipRBM, images, labels, kind: str, steps: int = 10, seed: int = 0, progress=None,
            sample_visible: bool = True) -> dict:
    """Corrupt, then recover by Gibbs sampling with known pixels and labels clamped (see :meth:`ChipRBM.gibbs`).

    Returns arrays ``clean``, ``corrupted``, ``recovered`` (batch, 784) and the
    mean per-image L2 errors before and after.
    """
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x5EB]))
    x = np.asarray(images, np.float64).reshape(len(images), -1)
    if x.max() > 1:
        x = x / 255.0
    bad, known = corrupt(x, kind, rng)
    n_lab = chip_rbm.rbm.n_visible - x.shape[1]
    onehot = np.eye(n_lab)[np.asarray(labels)] if n_lab > 0 else np.zeros((len(x), 0))
    v0 = np.hstack([bad, onehot])
    clamp = np.hstack([known, np.ones(onehot.shape, bool)])
    v = chip_rbm.gibbs(v0, clamp, steps, progress, sample_visible)[:, : x.shape[1]]
    l2_before = float(np.mean(np.linalg.norm(bad - x, axis=1)))
    l2_after = float(np.mean(np.linalg.norm(v - x, axis=1)))
    return {"clean": x, "corrupted": bad, "recovered": v, "l2_before": l2_before, "l2_after": l2_after,
            "l2_reduction": 1.0 - l2_after / l2_before}
