"""The authors' keyword-spotting model: 4 parallel quantised LSTM cells, their dense outputs summed.

From ``kws_lstm4_h112_wnoise0.16.npz`` (the ``.md`` beside it; architecture as the
authors' ``lstm/model.py`` defines it, ``KWS_LSTM_cs``, selected by ``"method": 1``).
Per cell k (of 4), with ``pact(x, a) = clip(x, -a, a)`` and the 4-bit signed
quantiser ``q(x, a) = round(clip(x/a, -7/8, 7/8) * 8) / 8 * a``:

- weights clipped to +-``max_w`` (0.2) and biases to +-``rows_bias`` (0.4), as the
  training forward pass uses them (no weight noise at inference);
- each step t: ``p1 = q(pact(x_t, a1), a1) W_ih + b_ih``, ``p2 = q(pact(h, a11), a11) W_hh + b_hh``,
  gates ``pact(pact(p1, a12) + pact(p2, a13), a14)`` split i, j, f, o (112 each);
  ``c = pact(pact(c * pact(sig(f), a3), a7) + pact(pact(sig(i), a4) * pact(tanh(j), a5), a8), a9)``,
  ``h = pact(pact(tanh(c), a10) * pact(sig(o), a6), a11)``;
- after the last step: ``y_k = Q6(pact(q(pact(h, fc.a1), fc.a1) W_fc + b_fc, fc.a2), fc.a2)``
  (6-bit), and the output ``Q8(pact(sum_k y_k, a2), a2)`` (8-bit), whose argmax is the class.

On the chip every product is an MVM with 4-bit signed input codes: per cell the
input matrix (40 x 448), the recurrent one (112 x 448) and the output one
(112 x 12), each with its bias rows driven at code +7. By the paper's rule for a
model of at most 48 matrices (SPEC §5: one matrix per core, wide ones, > 128
outputs, split over cores to cut driver drop) the 448-wide matrices are cut
into 4 parts of 112 columns, one gate each: 9 matrices per cell, 36 in all, one
core each (rows: 2 per input, differential). The authors' own placement of this
model (``lstm/outputs/weight_mapping_3.npz`` there) has the same cut: per cell,
4 gate pieces of 112 columns of the input matrix (84 rows: 40 inputs and 2 bias
rows, differential) and 4 of the recurrent one (228 rows), 32 cores in all
(their output layer is not in that file); here the bias rows number what the
bias needs (1 for ``ih``, 3 for ``hh`` with these weights).
The input MVMs of all steps go in one call (the inputs are known in advance);
each step's recurrent MVM is one call on the board; the gate functions run on
the FPGA side (numpy).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..validate import array, choice, int_list, integer, npz_arrays
from ..board.limits import N_COLS, N_CORES, N_ROWS
from ..errors import InputError, LimitError
from ..program.weights import MatrixPlacement
from .lstm import check_recurrent_options
from .mapping import TABLE_COLUMNS

N_CELLS, N_IN, HIDDEN, N_CLASSES = 4, 40, 112, 12
INPUT_BITS = 4
CELL_LEVELS = tuple(f"a{i}" for i in range(1, 15) if i != 2)  # a2 of the cell is unused by the forward pass
GROUPS = ("ih", "hh", "fc")
WIDE_COLS = 128  # SPEC §5: wider matrices are split over cores (driver drop)


def kws_shapes() -> dict:
    """``{array name: shape}`` of the arrays the forward pass needs."""
    s = {"lstmBlocks__cell__weight_ih": (N_CELLS, N_IN, 4 * HIDDEN),
         "lstmBlocks__cell__weight_hh": (N_CELLS, HIDDEN, 4 * HIDDEN),
         "lstmBlocks__cell__bias_ih": (N_CELLS, 1, 4 * HIDDEN), "lstmBlocks__cell__bias_hh": (N_CELLS, 1, 4 * HIDDEN),
         "finFC__weights": (N_CELLS, HIDDEN, N_CLASSES), "finFC__bias": (N_CELLS, 1, N_CLASSES),
         "finFC__a1": (N_CELLS,), "finFC__a2": (N_CELLS,), "a2": (1,), "arguments_json": ()}
    s.update({f"lstmBlocks__cell__{a}": (N_CELLS,) for a in CELL_LEVELS})
    return s


@dataclass
class KWSModel:
    """The authors' 4-cell LSTM with clipped weights and its learned levels (see the module doc)."""

    w_ih: np.ndarray  # (4, 40, 448)
    w_hh: np.ndarray  # (4, 112, 448)
    b_ih: np.ndarray  # (4, 448)
    b_hh: np.ndarray  # (4, 448)
    w_fc: np.ndarray  # (4, 112, 12)
    b_fc: np.ndarray  # (4, 12)
    levels: dict  # "a1".."a14" (cell), "fc.a1", "fc.a2" (4,), "out.a2" ()
    words: list
    bits: dict = field(default_factory=lambda: {"input": 4, "mvm": 6, "nm": 8})

    def weights(self, group: str):
        """(W (4, n_in, n_out), b (4, n_out), input level (4,)) of an MVM group ``ih``, ``hh`` or ``fc``."""
        lv = self.levels
        return {"ih": (self.w_ih, self.b_ih, lv["a1"]), "hh": (self.w_hh, self.b_hh, lv["a11"]),
                "fc": (self.w_fc, self.b_fc, lv["fc.a1"])}[group]


def load_kws(path) -> KWSModel:
    """The model of an authors' KWS ``.npz``; an InputError/LimitError naming the array that does not fit."""
    src = f"model {path}"
    z = npz_arrays("model", path)
    want = kws_shapes()
    missing = [k for k in want if k not in z]
    if missing:
        raise InputError(f"{src}: array {missing[0]!r} of the 4-cell KWS LSTM is missing"
                         f"{f' (and {len(missing) - 1} more)' if len(missing) > 1 else ''}; is this the KWS file?")
    for k, shp in want.items():
        a = z[k]
        if tuple(a.shape) != shp:
            raise InputError(f"{src}: array {k!r} has shape {tuple(a.shape)}, the 4-cell KWS LSTM needs {shp}")
        if k != "arguments_json":
            if a.dtype.kind not in "fiu":
                raise InputError(f"{src}: array {k!r} is {a.dtype}, not numbers")
            if not np.all(np.isfinite(a)):
                raise LimitError(f"{src} array {k!r}", float(a[~np.isfinite(a)].flat[0]), "finite",
                                 "a trained weight is a finite number; the file is damaged")
    try:
        args = json.loads(str(z["arguments_json"]))
        max_w, rows_bias = float(args["max_w"]), float(args["rows_bias"])
        words = [str(w) for w in args["word_list"]]
        bits = {"input": int(args["quant_inp"]), "mvm": int(args["quant_actMVM"]), "nm": int(args["quant_actNM"])}
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{src}: array 'arguments_json' is not the training arguments ({type(exc).__name__}: "
                         f"{exc})") from None
    if len(words) != N_CLASSES or words[10:] != ["unknown", "silence"]:
        raise InputError(f"{src}: array 'arguments_json' word_list {words}: need 10 words, 'unknown', 'silence'")
    if bits["input"] != INPUT_BITS or not 2 <= bits["mvm"] <= 16 or not 2 <= bits["nm"] <= 16:
        raise InputError(f"{src}: array 'arguments_json' bits {bits}: the chip takes 4-bit signed inputs")
    if not (max_w > 0 and rows_bias > 0):
        raise LimitError(f"{src} max_w/rows_bias", min(max_w, rows_bias), "> 0", "weight and bias clip ranges")
    levels = {a: np.asarray(z[f"lstmBlocks__cell__{a}"], np.float64) for a in CELL_LEVELS}
    levels.update({"fc.a1": np.asarray(z["finFC__a1"], np.float64), "fc.a2": np.asarray(z["finFC__a2"], np.float64),
                   "out.a2": float(z["a2"][0])})
    for name, v in levels.items():
        if np.any(np.asarray(v) <= 0):
            raise LimitError(f"{src} level {name!r}", float(np.min(v)), "> 0", "a learned clip level")
    clip = lambda a, r: np.clip(np.asarray(a, np.float64), -r, r)  # noqa: E731
    return KWSModel(clip(z["lstmBlocks__cell__weight_ih"], max_w), clip(z["lstmBlocks__cell__weight_hh"], max_w),
                    clip(z["lstmBlocks__cell__bias_ih"][:, 0], rows_bias),
                    clip(z["lstmBlocks__cell__bias_hh"][:, 0], rows_bias),
                    clip(z["finFC__weights"], max_w), clip(z["finFC__bias"][:, 0], rows_bias), levels, words, bits)


def _model(model) -> KWSModel:
    if not isinstance(model, KWSModel):
        raise InputError(f"model must be a KWSModel (from load_kws), got {type(model).__name__}")
    return model


def features(feats, name: str = "features") -> np.ndarray:
    """MFCC features as float64 (n, time, 40), n and time >= 1, finite; an InputError/LimitError otherwise."""
    f = array(name, feats, 3)
    if f.shape[1] < 1 or f.shape[2] != N_IN:
        raise InputError(f"{name} of shape {f.shape}: need (n, time, {N_IN}) with time >= 1")
    return f


# ---------------------------------------------------------------- quantisers
def _per_cell(a, ndim):
    a = np.asarray(a, np.float64)
    return a.reshape((-1,) + (1,) * (ndim - 1)) if a.ndim else a


def pact(x, a):
    """``clip(x, -a, a)``, ``a`` per cell along axis 0 (or a scalar)."""
    a = _per_cell(a, np.ndim(x))
    return np.clip(x, -a, a)


def signed_codes(x, bits: int, a) -> np.ndarray:
    """Integer codes of the authors' signed quantiser: ``round(clip(x/a, -1+1/s, 1-1/s) * s)``, s = 2**(bits-1)."""
    s = 2.0 ** (integer("bits", bits, 2, 16, "signed quantiser bits, sign included") - 1)
    a = _per_cell(a, np.ndim(x))
    return np.round(np.clip(np.asarray(x, np.float64) / a, -1 + 1 / s, 1 - 1 / s) * s).astype(np.int16)


def quant(x, bits: int, a) -> np.ndarray:
    return signed_codes(x, bits, a) / 2.0 ** (bits - 1) * _per_cell(a, np.ndim(x))


def _sig(z):
    return 1.0 / (1.0 + np.exp(-z))


def exact_group_mvm(model: KWSModel):
    """``mvm(group, codes (4, n, n_in)) -> (4, n, n_out)``: the exact products of input codes (software)."""
    model = _model(model)

    def mvm(group, codes):
        w, b, a = model.weights(group)
        return np.matmul(codes * (_per_cell(a, 3) / 8.0), w) + b[:, None, :]  # batched BLAS, (4, n, n_out)

    return mvm


def forward(model: KWSModel, feats, mvm=None) -> np.ndarray:
    """Output scores (n, 12) (8-bit quantised) of MFCC features (n, time, 40); ``mvm`` as :func:`exact_group_mvm`."""
    model, feats = _model(model), features(feats)
    if mvm is not None and not callable(mvm):
        raise InputError(f"mvm must be a function mvm(group, codes) or None, got {type(mvm).__name__}")
    mvm = mvm or exact_group_mvm(model)
    lv, b = model.levels, model.bits["input"]
    n, steps, _ = feats.shape
    x = np.broadcast_to(feats.reshape(1, n * steps, N_IN), (N_CELLS, n * steps, N_IN))
    p1_all = mvm("ih", signed_codes(pact(x, lv["a1"]), b, lv["a1"])).reshape(N_CELLS, n, steps, 4 * HIDDEN)
    h = np.zeros((N_CELLS, n, HIDDEN))
    c = np.zeros_like(h)
    for t in range(steps):
        p2 = mvm("hh", signed_codes(pact(h, lv["a11"]), b, lv["a11"]))
        g = pact(pact(p1_all[:, :, t], lv["a12"]) + pact(p2, lv["a13"]), lv["a14"])
        i, j, f, o = np.split(g, 4, axis=2)
        gated = pact(c * pact(_sig(f), lv["a3"]), lv["a7"])
        c = pact(gated + pact(pact(_sig(i), lv["a4"]) * pact(np.tanh(j), lv["a5"]), lv["a8"]), lv["a9"])
        h = pact(pact(np.tanh(c), lv["a10"]) * pact(_sig(o), lv["a6"]), lv["a11"])
    y = mvm("fc", signed_codes(pact(h, lv["fc.a1"]), b, lv["fc.a1"]))
    y = quant(pact(y, lv["fc.a2"]), model.bits["mvm"], lv["fc.a2"]).sum(0)
    return quant(pact(y, lv["out.a2"]), model.bits["nm"], lv["out.a2"])


# ------------------------------------------------------------------ mapping
def kws_matrices(model: KWSModel) -> list:
    """Per-code matrices of the chip (36: see the module doc), one dict per matrix: group, cell, part, column
    range, weights (n_in + bias rows, n_out), w_max."""
    out = []
    for group in GROUPS:
        w, bias, a = _model(model).weights(group)
        for k in range(N_CELLS):
            wk = w[k] * (a[k] / 8.0)  # per input code
            w_max = float(np.max(np.abs(wk))) or 1.0
            top = 7
            nb = math.ceil(np.max(np.abs(bias[k])) / top / w_max - 1e-9) if np.any(bias[k]) else 0
            full = np.vstack([wk, np.tile(bias[k] / (top * max(nb, 1)), (nb, 1))])
            n_parts = math.ceil(full.shape[1] / WIDE_COLS)
            width = math.ceil(full.shape[1] / n_parts)
            for p in range(n_parts):
                c0, c1 = p * width, min(full.shape[1], (p + 1) * width)
                if 2 * full.shape[0] > N_ROWS:
                    raise LimitError(f"{group} matrix of cell {k}", 2 * full.shape[0], N_ROWS, "physical rows")
                out.append({"group": group, "cell": k, "part": p, "n_parts": n_parts, "out_start": c0,
                            "out_stop": c1, "n_bias_rows": nb, "weights": full[:, c0:c1], "w_max": w_max})
    return out


def kws_mapping(model: KWSModel, cores=None):
    """``(matrices, table)``: the 36 matrices, one per core (cores 0.. unless given), and the mapping table
    (columns of :data:`~neurram_lab.deploy.mapping.TABLE_COLUMNS`, layer ``ih0`` .. ``fc3``)."""
    mats = kws_matrices(model)
    cores = list(range(len(mats))) if cores is None else int_list("cores", cores, 0, N_CORES - 1, distinct=True)
    if len(cores) < len(mats):
        raise InputError(f"cores: the KWS LSTM needs {len(mats)} distinct cores (one matrix each), got {len(cores)}")
    rows = []
    for m, core in zip(mats, cores):
        n_in, n_out = m["weights"].shape
        if 2 * n_in > N_ROWS or n_out > N_COLS:
            raise LimitError(f"matrix {m['group']}{m['cell']} part {m['part']}", 2 * n_in if 2 * n_in > N_ROWS
                             else n_out, N_ROWS if 2 * n_in > N_ROWS else N_COLS, "rows (2 per input) / columns")
        m["placement"] = MatrixPlacement(core, 0, 0, n_in, n_out, True)
        rows.append({"matrix": f"{m['group']}{m['cell']}[0.{m['part']}]", "layer": f"{m['group']}{m['cell']}",
                     "segment": 0, "n_segments": 1, "part": m["part"], "n_parts": m["n_parts"], "replica": 0,
                     "core": core, "row0": 0, "col0": 0, "in_start": 0, "in_stop": n_in - m["n_bias_rows"],
                     "out_start": m["out_start"], "out_stop": m["out_stop"], "n_bias_rows": m["n_bias_rows"],
                     "bias_share": 1.0, "n_in": n_in, "n_out": n_out, "rows_used": 2 * n_in, "cells": 2 * n_in * n_out,
                     "w_max": m["w_max"], "merge": "alone", "load_macs": n_in * n_out})
    return mats, pd.DataFrame(rows, columns=list(TABLE_COLUMNS)).astype(TABLE_COLUMNS)


class ChipKWS:
    """The KWS LSTM's 36 matrices on a board: programming, the paper's calibration, inference.

    Parameters
    ----------
    board : Board or None (only with ``mvm="exact"``)
    model : KWSModel
    mvm : {"chip", "measured-weights", "exact"} or callable
    output_bits : int, optional
        Neuron ADC bits; default 8 brought into the board's range (checked here, before anything is sent).
    gmin_s, gmax_s : float
        Conductance range (S); SPEC §2: 1 and 30 uS for LSTMs.
    cores : list of int, optional
        36 distinct cores (default 0..35).

    A group's matrices (all ``ih``, all ``hh`` or all ``fc``) run in one MVM call with
    ``parallel=False``: the cores convert in turn rather than together. Run together, the
    twin's shared-supply model (``r_supply_ohm``, the summed current of the cores running at
    once) lowers the input amplitude of every core by the current of all: measured before
    22a71c2 (a linear sag, since made a divider that never crosses 0 V) the normalised error
    was 1.2 for four recurrent matrices at once and 3.6, sign inverted, for all 16, against
    0.26-0.38 each in turn; together they still lose gain to the sag.
    """

    def __init__(self, board, model: KWSModel, mvm="chip", output_bits: int | None = None, gmin_s=1e-6,
                 gmax_s=30e-6, cores=None):
        from .network import deploy_board, deploy_conductances, deploy_output_bits, resolve_mvm

        model = _model(model)
        gmin_s, gmax_s, output_bits = check_recurrent_options(gmin_s, gmax_s, output_bits)
        self._mvm = resolve_mvm(mvm)
        self.board = board = deploy_board(board, self._mvm)
        self.model = model
        self.gmin_s, self.gmax_s = deploy_conductances(board, gmin_s, gmax_s)
        self.mvm_options = {"signed_inputs": True, "parallel": False}
        self.output_bits = deploy_output_bits(board, [(INPUT_BITS, "forward", True)] * 3, self._mvm, output_bits,
                                              self.mvm_options)
        self.matrices, self.table = kws_mapping(model, cores)
        self.programmed = None
        self.mvm_calibration = {}  # group -> tier-2 MVMCalibration
        self._ref_weights = {}  # (group, dtype) -> (weights per code, bias) of the per-layer error's reference
        self.reset_errors()

    def reset_errors(self) -> None:
        """Forget the products recorded for :meth:`layer_errors`."""
        self._diff2 = {f"{g}{k}": 0.0 for g in GROUPS for k in range(N_CELLS)}
        self._ref2 = dict.fromkeys(self._diff2, 0.0)

    def program(self, iterations: int = 3, settle_s: float = 1.0, progress=None) -> dict:
        """Program the 36 matrices (write-verify, ``settle_s`` of board time before each verify re-read)."""
        from ..program.programming import check_passes, program_matrices
        from .network import IntendedMatrix, cells_progress, exact_mvm

        iterations, settle_s = check_passes(iterations, settle_s)
        check_recurrent_options(self.gmin_s, self.gmax_s, None, progress)
        if self._mvm is exact_mvm:
            self.programmed = [IntendedMatrix(m["weights"]) for m in self.matrices]
            return {"cells_programmed": 0, "settled_in_window_fraction": 1.0}
        items = [(m["weights"], m["placement"], m["w_max"]) for m in self.matrices]
        self.board.power_cores(sorted({m["placement"].core for m in self.matrices}), True)
        self.programmed = program_matrices(self.board, items, self.gmin_s, self.gmax_s, iterations, settle_s,
                                           progress=cells_progress(progress))
        cells = sum(pm.g_target_s.size for pm in self.programmed)
        inwin = sum(pm.info["settled_in_window_fraction"] * pm.g_target_s.size for pm in self.programmed)
        return {"cells_programmed": int(cells), "settled_in_window_fraction": float(inwin / max(cells, 1))}

    def _inputs(self, group, codes):
        members = [i for i, m in enumerate(self.matrices) if m["group"] == group]
        ins = [np.ascontiguousarray(np.hstack([codes[self.matrices[i]["cell"]],
                                               np.full((codes.shape[1], self.matrices[i]["n_bias_rows"]), 7,
                                                       np.int16)])) for i in members]
        return members, ins

    def group_mvm(self, group, codes) -> np.ndarray:
        """One MVM call for a group's matrices (all 4 cells): codes (4, n, n_in) -> outputs (4, n, n_out)."""
        group = choice("group", group, GROUPS)
        if self.programmed is None:
            raise InputError("program() the KWS model before running it")
        codes = array("codes", codes, 3, np.int16)
        n_in = self.model.weights(group)[0].shape[1]
        if codes.shape[0] != N_CELLS or codes.shape[2] != n_in:
            raise InputError(f"codes of shape {codes.shape}: group {group!r} takes ({N_CELLS}, n, {n_in})")
        members, ins = self._inputs(group, codes)
        opts = dict(self.mvm_options)
        if group in self.mvm_calibration:
            opts["calibration"] = self.mvm_calibration[group]
        outs = self._mvm(self.board, [self.programmed[i] for i in members], ins, INPUT_BITS,
                         output_bits=self.output_bits, **opts)
        n_out = self.model.weights(group)[0].shape[2]
        y = np.zeros((N_CELLS, codes.shape[1], n_out))
        for i, o in zip(members, outs):
            m = self.matrices[i]
            y[m["cell"], :, m["out_start"] : m["out_stop"]] = np.asarray(o, np.float64)
        ref = self._reference(group, codes)
        d = y - ref
        d2 = np.einsum("cnk,cnk->c", d, d)
        r2 = np.einsum("cnk,cnk->c", ref, ref, dtype=np.float64)
        for k in range(N_CELLS):
            self._diff2[f"{group}{k}"] += float(d2[k])
            self._ref2[f"{group}{k}"] += float(r2[k])
        return y

    def _reference(self, group, codes) -> np.ndarray:
        """The exact products of the input codes (as :func:`exact_group_mvm`, to rounding) for the per-layer
        error, the weights per code scaled once rather than the codes at every step. Against the chip
        (errors of 0.1-0.3) in float32, about 1e-7 from float64 at half its cost; in float64 otherwise
        (the ``exact`` mode's error is 0)."""
        from .network import chip_mvm

        dtype = np.float32 if self._mvm is chip_mvm else np.float64
        if (group, dtype) not in self._ref_weights:
            w, b, a = self.model.weights(group)
            self._ref_weights[group, dtype] = ((w * (_per_cell(a, 3) / 8.0)).astype(dtype), b[:, None, :].astype(dtype))
        w_code, b = self._ref_weights[group, dtype]
        ref = np.matmul(codes.astype(dtype), w_code)
        ref += b
        return ref

    def calibrate(self, feats, max_vectors: int = 4096) -> dict:
        """The paper's calibration (tier 2: operating point and ADC offsets) of each group from the inputs the
        software model gives training features ``feats`` (n, time, 40); returns ``{group: v_read_v}``."""
        from .network import chip_calibrate, chip_mvm

        feats = features(feats)
        max_vectors = integer("max_vectors", max_vectors, 1, 1_000_000, "calibration input vectors per group")
        if self.programmed is None:
            raise InputError("program() the KWS model before calibrating it")
        if self._mvm is not chip_mvm:
            return {}
        seen = {g: [] for g in GROUPS}
        exact = exact_group_mvm(self.model)

        def record(group, codes):
            seen[group].append(np.asarray(codes, np.int16))
            return exact(group, codes)

        forward(self.model, feats, record)
        self.mvm_calibration = {}
        out = {}
        for group in GROUPS:
            codes = np.concatenate(seen[group], axis=1)
            pick = np.random.default_rng(0).permutation(codes.shape[1])[:max_vectors]
            members, ins = self._inputs(group, codes[:, pick])
            cal = chip_calibrate(self.board, [self.programmed[i] for i in members], ins, INPUT_BITS,
                                 output_bits=self.output_bits, **self.mvm_options)
            self.mvm_calibration[group] = cal
            out[group] = float(cal.v_read_v)
        return out

    def predict(self, feats, batch: int = 500, progress=None) -> np.ndarray:
        """Output scores (n, 12) of features (n, time, 40) on the chip, in batches; ``progress(n_done)``."""
        from ..validate import integer

        batch = integer("batch", batch, 1, 100_000, "clips per batch")
        feats = features(feats)
        check_recurrent_options(self.gmin_s, self.gmax_s, None, progress)
        out = []
        for i in range(0, feats.shape[0], batch):
            out.append(forward(self.model, feats[i : i + batch], self.group_mvm))
            if progress is not None:
                progress(min(i + batch, feats.shape[0]))
        return np.concatenate(out) if out else np.zeros((0, N_CLASSES))

    def layer_errors(self) -> dict:
        """``{layer: ||chip - software|| / ||software||}`` over the products run so far (same input codes),
        layers ``ih0`` .. ``fc3`` (group and cell) in that order; layers not run yet are left out."""
        return {k: float(np.sqrt(self._diff2[k] / self._ref2[k])) for k in self._diff2 if self._ref2[k] > 0}
