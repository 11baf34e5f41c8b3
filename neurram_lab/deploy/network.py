"""A mapped model running on a board: programming, calibration, batch inference.

:class:`ChipNetwork` programs every matrix of a :class:`~.mapping.Mapping`,
then computes each weight layer on the chip: the FPGA side builds integer
input codes (conv patches of a whole batch at once, bias rows at full-scale
code), sends every matrix of the layer (segments, column parts, replicas) in
one MVM call, adds the partial sums and rescales; pooling, residual adds and
activation quantisation stay digital (:mod:`.digital`). The same object runs
unchanged on any board.

The MVM itself is a function ``mvm(programmed, inputs, input_bits) -> outputs``
over lists (one entry per matrix); :func:`chip_mvm` uses the tier-2
``neurram_lab.mvm.mvm.run_mvm`` on the board, :func:`measured_weights_mvm` is the
software reference that multiplies by the conductances read back after
programming (no circuit effects), used to separate programming error from
MVM error.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from .. import _jit
from ..validate import boolean
from ..mvm._mvm_caps import plan_mvm
from ..board.capabilities import capabilities_of
from ..board.contract import as_board
from ..board.limits import SafetyLimits
from ..errors import InputError
from ..program.programming import check_passes, program_matrices
from ..program.weights import conductance_to_weights
from . import digital
from .mapping import Mapping

_KERNELS = "neurram_lab.deploy._deploy_numba"


def measured_weights_mvm(board, programmed, inputs, input_bits, direction="forward", **_):
    """Outputs (weight units) of integer inputs through the read-back conductances of each matrix.

    The conductances are those of the last read (:func:`read_back`); backward
    MVM multiplies by the transpose.
    """
    out = []
    for pm, x in zip(programmed, inputs):
        w = conductance_to_weights(pm.g_measured_s, pm.gmin_s, pm.gmax_s, pm.w_max).astype(np.float32)
        out.append(x.astype(np.float32) @ (w if direction == "forward" else w.T))
    return out


def read_back(board, programmed) -> None:
    """Re-read the conductances of programmed matrices into their ``g_measured_s`` (one read call)."""
    cells = [pm.placement.cells() for pm in programmed]
    g = board.read(*(np.concatenate([c[i] for c in cells]) for i in range(3)))
    at = 0
    for pm in programmed:
        n = pm.g_target_s.size
        pm.g_measured_s = g[at : at + n].reshape(pm.g_target_s.shape)
        at += n


DEPLOY_OUTPUT_BITS = 8  # what deployment asks of the neurons when the caller leaves it open


def chip_mvm(board, programmed, inputs, input_bits, output_bits=None, direction="forward", calibration=None,
             signed_inputs=False, **options):
    """Outputs (weight units) of integer inputs, measured on the board through tier-2 :func:`~neurram_lab.mvm.mvm.run_mvm`.

    ``output_bits`` None: the calibration's, else 8 brought into the board's range.
    """
    from ..mvm.mvm import run_mvm

    if output_bits is None and calibration is None:
        output_bits = capabilities_of(board).pick_output_bits(None, DEPLOY_OUTPUT_BITS)
    return run_mvm(board, list(programmed), list(inputs), input_bits=input_bits, output_bits=output_bits,
                   direction=direction, calibration=calibration, signed=signed_inputs, **options)


def chip_calibrate(board, programmed, inputs, input_bits, output_bits=None, direction="forward", signed_inputs=False,
                   **options):
    """Operating point (v_read, v_decr) and offsets of one layer from its own inputs (tier 2);
    ``output_bits`` None: 8 brought into the board's range."""
    from ..mvm.calibration import calibrate

    options.pop("calibration", None)
    if output_bits is None:
        output_bits = capabilities_of(board).pick_output_bits(None, DEPLOY_OUTPUT_BITS)
    return calibrate(board, list(programmed), list(inputs), input_bits=input_bits, output_bits=output_bits,
                     direction=direction, signed=signed_inputs, **options)


def cells_progress(progress):
    """A deployment's ``progress(cells_done, cells_total)`` callback in the form
    :func:`~neurram_lab.program.programming.program_matrices` calls it (``(pass, done, total)``).

    Parameters
    ----------
    progress : callable or None
        ``progress(cells_done, cells_total)``, as the deployments' ``program`` methods take it.

    Returns
    -------
    callable or None
        ``f(pass, cells_done, cells_total)`` that drops the pass and calls ``progress``; None for None.
    """
    return (lambda it, done, total: progress(done, total)) if progress else None


def exact_mvm(board, programmed, inputs, input_bits, direction="forward", **_):
    """Exact products with the intended weights (no board): checks mapping, splitting and bias rows."""
    out = []
    for pm, x in zip(programmed, inputs):
        w = np.asarray(pm.weights, np.float64)
        out.append(x.astype(np.float64) @ (w if direction == "forward" else w.T))
    return out


MVM_MODES = {"chip": chip_mvm, "measured-weights": measured_weights_mvm, "exact": exact_mvm}


def deploy_output_bits(board, layers, mvm="chip", output_bits=None, mvm_options=None) -> int:
    """Output bits a deployment runs at on ``board``, checked against its capabilities before any board call.

    Parameters
    ----------
    board : Board or None
    layers : list of (input_bits, direction, signed)
        What each of the deployment's MVMs feeds the chip.
    mvm : str or callable
        Only ``"chip"`` (or :func:`chip_mvm`) runs MVMs on the board; other modes take
        ``output_bits`` as given (default 8).
    output_bits : int or None
        Asked for (refused when the board cannot convert it), or None: 8 brought
        into the board's range (and low enough for a two-phase MVM split on the host).
    mvm_options : dict
        ``two_phase``, ``activation`` as the MVMs will run.

    Raises
    ------
    CapabilityError
        A direction, activation, input bits or output bits the board cannot run.
    """
    if mvm not in ("chip", chip_mvm):
        return int(DEPLOY_OUTPUT_BITS if output_bits is None else output_bits)
    opts = dict(mvm_options or {})
    caps = capabilities_of(board)
    bits = [plan_mvm(board, int(b), output_bits, d, bool(opts.get("two_phase", False)), opts.get("activation", "none"),
                     bool(sgn), DEPLOY_OUTPUT_BITS, caps) for b, d, sgn in layers]
    return int(min(bits)) if bits else caps.pick_output_bits(output_bits, DEPLOY_OUTPUT_BITS)


def network_layers(model, mvm_options=None) -> list:
    """(input_bits, "forward", signed) of every quantised weight layer of a model, for :func:`deploy_output_bits`."""
    signed = bool(dict(mvm_options or {}).get("signed_inputs", False))
    out = []
    for lay in model.layers:
        grid = model.input_grid(lay.name) if lay.is_weight else None
        if grid is not None:
            out.append((int(grid.bits), "forward", signed))
    return out


def resolve_mvm(mvm, modes=None):
    """The MVM function for ``mvm``: a callable, or a name in ``modes`` (default MVM_MODES)."""
    modes = MVM_MODES if modes is None else modes
    if callable(mvm):
        return mvm
    if mvm in modes:
        return modes[mvm]
    raise InputError(f"mvm {mvm!r} is not one of {sorted(modes)} or a function")


def deploy_board(board, mvm_fn):
    """The board a deployment runs on: an open Board, or None with ``mvm="exact"`` (nothing is sent)."""
    if board is None and mvm_fn is exact_mvm:
        return None
    return as_board(board, "board" if mvm_fn is exact_mvm else "board (None only with mvm='exact')")


def deploy_conductances(board, gmin_s, gmax_s) -> tuple[float, float]:
    """``(gmin_s, gmax_s)`` checked against the board's cell range (the default limits without a board)."""
    return (board.limits if board is not None else SafetyLimits()).check_conductance_range(gmin_s, gmax_s)


def _refcount_tells_holders() -> bool:
    """Whether ``sys.getrefcount`` counts an array's views here (CPython does; the pool relies on it)."""
    a = np.empty(1)
    n0 = sys.getrefcount(a)
    v = a[:]
    held = sys.getrefcount(a) == n0 + 1
    del v
    return held and sys.getrefcount(a) == n0


class ArrayPool:
    """Large work arrays reused from one call to the next, each handed out again only when nothing holds it.

    A fresh array of some 100 MB page-faults in as it is first written; on this project's
    2-core test machine that cost 3-25 times the writing itself (issue 19, ResNet-20's partial
    outputs: 142 ms for a fresh 65 MB array, 5.5 ms for the same kernel into one already used).
    :meth:`get` returns a view of a kept flat array; it makes a new one where the kept one is too
    small or still referenced (by any view of it anyone holds, e.g. a result a caller kept, or a
    board's journal of the inputs it was sent), so an array given out is never overwritten while
    it can still be seen. Arrays are kept until :meth:`clear` (at most one per key).
    """

    _SAFE = _refcount_tells_holders()

    def __init__(self):
        self._flat: dict = {}

    def get(self, key, shape, dtype) -> np.ndarray:
        """An uninitialised C-contiguous array of ``shape`` and ``dtype`` (the one kept under ``key`` where it is free)."""
        dtype = np.dtype(dtype)
        n = int(np.prod(shape, dtype=np.int64))
        flat = self._flat.get(key)
        # the references of a free kept array: the dict's, ``flat`` and getrefcount's argument
        if flat is None or flat.dtype != dtype or flat.size < n or sys.getrefcount(flat) > 3 or not self._SAFE:
            flat = np.empty(max(n, 1), dtype)
            if self._SAFE:
                self._flat[key] = flat
        return flat[:n].reshape(shape)

    def clear(self) -> None:
        """Forget every kept array (their memory goes once nothing else holds them)."""
        self._flat.clear()


class ChipNetwork:
    """A model mapped and programmed onto a board.

    Parameters
    ----------
    board : Board
    mapping : Mapping
    gmin_s, gmax_s : float
        Conductance range (S); SPEC §2: 1 and 40 uS for CNNs.
    mvm : {"chip", "measured-weights", "exact"} or callable
        How matrices are multiplied (see module doc).
    output_bits : int, optional
        Neuron ADC bits (sign included); default 8 brought into the board's
        range (:func:`deploy_output_bits`: checked against the board's
        capabilities here, before anything is programmed).
    mvm_options : dict
        Passed to the MVM function (two_phase, parallel, ...).
    skip_zero_inputs : bool
        FPGA-side zero skipping: input vectors that are all zero (apart from
        the bias rows) all have the same ideal output, so one MVM of such a
        vector stands for every one of them in a batch. It cuts the MNIST
        CNN's MVMs by about a third (most conv patches of the background);
        the skipped vectors then share that one MVM's noise.
    """

    def __init__(self, board, mapping: Mapping, gmin_s=1e-6, gmax_s=40e-6, mvm="chip", output_bits: int | None = None,
                 mvm_options: dict | None = None, skip_zero_inputs: bool = False):
        if not isinstance(mapping, Mapping):
            raise InputError(f"mapping must be a Mapping (from map_model), got {type(mapping).__name__}")
        self._mvm = resolve_mvm(mvm)
        self.board = board = deploy_board(board, self._mvm)
        self.mapping = mapping
        self.model = mapping.model
        self.gmin_s, self.gmax_s = deploy_conductances(board, gmin_s, gmax_s)
        self.mvm_options = dict(mvm_options or {})
        self.output_bits = deploy_output_bits(board, network_layers(self.model, self.mvm_options), self._mvm,
                                              output_bits, self.mvm_options)
        self.skip_zero_inputs = boolean("skip_zero_inputs", skip_zero_inputs)
        self.programmed = {}  # table index -> ProgrammedMatrix
        self.calibration = {}  # table index -> (slope, intercept) per column
        self.mvm_calibration = {}  # layer -> tier-2 MVMCalibration of each round (core_rounds) of its matrices
        self.mvm_time_s = 0.0  # wall time spent inside the MVM function (the board)
        self.buffers = ArrayPool()  # the inputs, partial outputs and layer outputs of the chip layers, reused

    # ----------------------------------------------------------- programming
    def program(self, iterations: int = 3, settle_s: float = 1.0, dead=None, progress=None) -> dict:
        """Program every matrix (replicas included); returns programming statistics.

        ``dead`` (bool (48, 256, 256) or a DeadCellScan) marks cells never to pulse.
        With ``mvm="exact"`` nothing is sent to the board: the intended weights stand in.
        """
        return self.program_layers(None, iterations, settle_s, dead, progress)

    def program_layers(self, layers=None, iterations: int = 3, settle_s: float = 1.0, dead=None,
                       progress=None) -> dict:
        """Program the matrices of some weight layers (all when None) with the model's present weights.

        A matrix whose weights grew past its table ``w_max`` (after fine-tuning)
        gets the larger range, so nothing clips.
        """
        iterations, settle_s = check_passes(iterations, settle_s)
        t = self.mapping.table
        idx = [int(i) for i in t.index if layers is None or t.at[i, "layer"] in layers]
        rows = {i: t.loc[i].to_dict() for i in idx}
        for i, r in rows.items():
            w_max = max(float(r["w_max"]), float(np.max(np.abs(self.mapping.weights(r)))))
            t.at[i, "w_max"] = w_max
            r["w_max"] = w_max
        if self._mvm is exact_mvm:
            self.programmed.update({i: IntendedMatrix(self.mapping.weights(r)) for i, r in rows.items()})
            return {"cells_programmed": 0, "settled_in_window_fraction": 1.0, "pulses": 0, "unformed_cells": 0}
        items = [(self.mapping.weights(r), self.mapping.placement(r), r["w_max"]) for r in rows.values()]
        self.board.power_cores(sorted({r["core"] for r in rows.values()}), True)
        if hasattr(dead, "chip_mask"):
            dead = dead.chip_mask()
        pms = program_matrices(self.board, items, self.gmin_s, self.gmax_s, iterations, settle_s, dead=dead,
                               progress=cells_progress(progress))
        self.programmed.update(dict(zip(idx, pms)))
        for i in idx:
            self.calibration.pop(i, None)
        cells = sum(pm.g_target_s.size for pm in pms)
        inwin = sum(pm.info["settled_in_window_fraction"] * pm.g_target_s.size for pm in pms) / max(cells, 1)
        return {"cells_programmed": int(cells), "settled_in_window_fraction": float(inwin),
                "pulses": int(sum(pm.info["total_pulses"] for pm in pms)),
                "unformed_cells": int(sum(pm.dead.sum() for pm in pms))}

    # ------------------------------------------------------------- running
    def _layer_rows(self, name):
        t = self.mapping.table
        return [(int(i), r) for i, r in zip(t.index[t["layer"] == name], self.mapping.rows(name))]

    def layer_codes(self, layer, x) -> np.ndarray:
        """Integer input codes (n_vectors, n_inputs) the FPGA sends for a weight layer."""
        grid = self.model.input_grid(layer.name)
        if grid is None:
            raise InputError(f"layer {layer.name!r}: its input is not quantised; give it input_quant in the architecture")
        q = grid.codes(x)
        if layer.op == "conv2d":
            cols, _ = digital.im2col(q, layer.params["kernel"].shape[:2], layer.config.get("stride", 1),
                                     layer.config.get("padding", "same"))
            return cols.reshape(-1, cols.shape[-1])
        return q.reshape(q.shape[0], -1)

    def matrix_inputs(self, row, codes, levels) -> np.ndarray:
        """Inputs of one matrix: its slice of the layer's codes plus full-scale bias codes."""
        x = codes[:, row["in_start"] : row["in_stop"]]
        if row["n_bias_rows"]:
            x = np.hstack([x, np.full((x.shape[0], row["n_bias_rows"]), levels, x.dtype)])
        return np.ascontiguousarray(x)

    def raw_partials(self, layer, x, rows=None):
        """Per-matrix outputs (weight units, uncalibrated) of a layer for input tensor ``x``.

        Returns (rows, partials, spans, inputs, inverse): table rows; for each an
        array (vectors assigned to it, n_out) and the vector range it covers;
        the integer inputs sent to each matrix (its share of the layer's vectors,
        bias rows included; the last replica's share zero-padded); and, with
        ``skip_zero_inputs``, the index of the sent vector that stands for each
        original one (else None).
        ``rows``: the layer's ``_layer_rows`` when the caller has them already.
        """
        grid = self.model.input_grid(layer.name)
        rows = self._layer_rows(layer.name) if rows is None else rows
        n_rep = 1 + max(r["replica"] for _, r in rows)
        widths = {r["in_stop"] - r["in_start"] + r["n_bias_rows"] for _, r in rows}
        inverse = None
        built = None if self.skip_zero_inputs or len(widths) != 1 else self._compiled_inputs(layer, x, rows, n_rep)
        if built is not None:
            inputs, n, share = built
        else:
            codes = self.layer_codes(layer, x)
            if self.skip_zero_inputs:
                nz = codes.any(axis=1)
                if not nz.all():  # all-zero patches: one bias-only MVM stands for all of them
                    keep = np.flatnonzero(nz)
                    first_zero = int(np.argmin(nz))
                    inverse = np.full(codes.shape[0], keep.size, np.int64)
                    inverse[keep] = np.arange(keep.size)
                    codes = np.vstack([codes[keep], codes[first_zero : first_zero + 1]])
            n = codes.shape[0]
            share = -(-n // n_rep)  # replicas take equal shares (the last one zero-padded)
            if share * n_rep > n:
                codes = np.vstack([codes, np.zeros((share * n_rep - n, codes.shape[1]), codes.dtype)])
            inputs = []
            # one buffer for every matrix's inputs when they have one width: matrices on the same lines then go to
            # the board as slices of it (run_mvm sends consecutive slices as they are instead of stacking copies)
            buf = self.buffers.get("inputs", (len(rows), share, widths.pop()), codes.dtype) if len(widths) == 1 \
                else None
            for j, (idx, r) in enumerate(rows):
                a = r["replica"] * share
                if buf is None:
                    inputs.append(self.matrix_inputs(r, codes[a : a + share], grid.levels))
                else:
                    k = r["in_stop"] - r["in_start"]
                    buf[j, :, :k] = codes[a : a + share, r["in_start"] : r["in_stop"]]
                    buf[j, :, k:] = grid.levels
                    inputs.append(buf[j])
        progs = [self.programmed[idx] for idx, _ in rows]
        spans = [(r["replica"] * share, min(r["replica"] * share + share, n)) for _, r in rows]
        opts = dict(self.mvm_options)
        pooled = None
        if self._mvm is chip_mvm:  # the partials are float32: the float64 result rounded once, inside run_mvm
            opts["dtype"] = np.float32
            if opts.get("activation", "none") not in ("tanh", "sigmoid"):  # written into arrays kept for reuse
                pooled = [self.buffers.get(("partial", j), (share, progs[j].placement.n_out), np.float32)
                          for j in range(len(rows))]
        cals = self.mvm_calibration.get(layer.name)
        outs = [None] * len(rows)
        t0 = time.perf_counter()
        for k, members in enumerate(core_rounds([r["core"] for _, r in rows])):  # matrices sharing a core: in turn
            if cals is not None:
                opts["calibration"] = cals[k]
            if pooled is not None:
                opts["out"] = [pooled[j] for j in members]
            res = self._mvm(self.board, [progs[j] for j in members], [inputs[j] for j in members], grid.bits,
                            output_bits=self.output_bits, **opts)
            for j, o in zip(members, res):
                outs[j] = o
        self.mvm_time_s += time.perf_counter() - t0
        return rows, [np.asarray(o, np.float32) for o in outs], spans, inputs, inverse

    def _compiled_inputs(self, layer, x, rows, n_rep):
        """Every matrix's inputs of a layer in one buffer, straight from the quantised input tensor (the
        compiled kernel: no im2col array, no copy per matrix), as ``(inputs, n_vectors, share)``; None
        where the kernel is off or the layer is not a conv2d / dense on int16 codes (the numpy path then)."""
        kern = _jit.kernels(_KERNELS)
        if kern is None or layer.op not in ("conv2d", "dense"):
            return None
        grid = self.model.input_grid(layer.name)
        if grid is None:
            return None  # layer_codes names the missing quantiser
        q = grid.codes(x)
        if layer.op == "conv2d":
            if q.ndim != 4:
                return None
            k = layer.params["kernel"].shape[:2]
            (t, _, lft, _), (oh, ow) = digital.conv_geometry(q.shape[1:3], k, layer.config.get("stride", 1),
                                                             layer.config.get("padding", "same"))
            stride = int(layer.config.get("stride", 1))
        else:
            q = q.reshape(q.shape[0], 1, 1, -1)
            k, stride, t, lft, oh, ow = (1, 1), 1, 0, 0, 1, 1
        n = q.shape[0] * oh * ow
        share = -(-n // n_rep)
        width = rows[0][1]["in_stop"] - rows[0][1]["in_start"] + rows[0][1]["n_bias_rows"]
        buf = self.buffers.get("inputs", (len(rows), share, width), np.int16)
        col = {c: np.array([r[c] for _, r in rows], np.int64) for c in ("in_start", "in_stop", "n_bias_rows", "replica")}
        kern.matrix_inputs(np.ascontiguousarray(q, np.int16), int(k[0]), int(k[1]), stride, int(t), int(lft),
                           int(oh), int(ow), col["in_start"], col["in_stop"], col["n_bias_rows"], int(grid.levels),
                           col["replica"] * share, n, buf)
        return [buf[j] for j in range(len(rows))], n, share

    def matmul(self, layer, x) -> np.ndarray:
        """A weight layer on the chip: partial sums added, calibrated, rescaled to layer units."""
        rows = self._layer_rows(layer.name)  # a pandas look-up: once per layer and batch
        if not all(i in self.programmed for i, _ in rows):
            raise InputError(f"layer {layer.name!r} is not programmed; call program() first")
        rows, outs, spans, _, inverse = self.raw_partials(layer, x, rows)
        n_out = layer.params["kernel"].shape[-1]
        y = self.buffers.get("output", (max(z for _, z in spans), n_out), np.float32)
        y[...] = 0.0
        for (idx, r), o, (a, z) in zip(rows, outs, spans):
            o = o[: z - a]
            if idx in self.calibration:
                slope, icpt = self.calibration[idx]
                o = (o - icpt) / slope
            y[a:z, r["out_start"] : r["out_stop"]] += o
        y *= self.model.input_grid(layer.name).step
        if inverse is not None:
            y = y[inverse]
        if layer.op == "conv2d":
            oh, ow = self.model.shapes()[layer.name][:2]
            return y.reshape(x.shape[0], oh, ow, n_out)
        return y

    def forward(self, x) -> np.ndarray:
        return self.model.forward(x, self.matmul)

    def predict(self, images, batch: int = 1000, progress=None) -> np.ndarray:
        """Class scores of uint8 images; ``progress(n_done)`` after each batch."""
        return self.model.predict(images, self.matmul, batch=batch, progress=progress)

    # ----------------------------------------------------------- calibration
    def calibrate(self, images, batch: int = 500, per_column: bool = True) -> dict:
        """Model-driven calibration on (training) images; returns the residual (weight units) per layer.

        Each layer's input is the chip's own (calibrated) output of the layers
        before, as at inference. Every layer first gets the paper's
        calibration (SPEC §5, tier 2 :func:`~neurram_lab.mvm.calibration.calibrate`):
        an operating point (v_read, v_decr) picked from the layer's own inputs
        and the ADC offsets of every output, measured at zero input and
        subtracted. With ``per_column`` (beyond the paper) the measured outputs
        of every matrix are then fitted against the exact products of the same
        integer inputs with the intended weights, and inference applies
        ``(y - intercept) / slope`` per column. The residual is the RMS
        difference between the calibrated outputs and the exact products.
        """
        x = self.model.quantize_input(images)
        acts = {"input": x}
        resid = {}
        last_use = {s: i for i, lay in enumerate(self.model.layers) for s in lay.inputs}
        for i, lay in enumerate(self.model.layers):
            ins = [acts[s] for s in lay.inputs]
            if not lay.is_weight:
                acts[lay.name] = digital.apply(lay, ins)
            else:
                resid[lay.name] = self.calibrate_layer(lay.name, ins[0], per_column)
                acts[lay.name] = self.matmul(lay, ins[0])
            del ins
            for s in lay.inputs:  # a tensor no later layer reads goes now (its array can then be reused)
                if last_use[s] == i:
                    acts.pop(s, None)
        return resid

    def calibrate_layer(self, name: str, x, per_column: bool = True) -> float:
        """Calibrate the matrices of one weight layer on its input tensor ``x``; returns the mean residual.

        ``per_column`` False: the paper's operating point and offsets only (no fit).
        """
        lay = self.model.layer(name)
        grid = self.model.input_grid(name)
        if self._mvm is chip_mvm:  # operating point and offsets first (tier 2), from the layer's own inputs
            self.mvm_calibration.pop(name, None)
            codes = self.layer_codes(lay, x)
            rows = self._layer_rows(name)
            pick = np.random.default_rng(0).permutation(codes.shape[0])[:4096]
            self.mvm_calibration[name] = [chip_calibrate(
                self.board, [self.programmed[rows[j][0]] for j in members],
                [self.matrix_inputs(rows[j][1], codes[pick], grid.levels) for j in members], grid.bits,
                output_bits=self.output_bits, **self.mvm_options)
                for members in core_rounds([r["core"] for _, r in rows])]
        for idx, _ in self._layer_rows(name):
            self.calibration.pop(idx, None)
        rows, outs, spans, inputs, _ = self.raw_partials(lay, x)
        errs = []
        for (idx, r), o, (a, z), xin in zip(rows, outs, spans, inputs):
            o = o[: z - a]
            # the exact products (also what per_column=False's residual needs), in float64 arrays kept for reuse:
            # the same conversion and product as ``xin.astype(np.float64) @ w``, without page-faulting two new
            # arrays per matrix (a fifth of the calibration's time)
            w = self.mapping.weights(r)
            xf = self.buffers.get("ideal_inputs", (z - a, xin.shape[1]), np.float64)
            xf[...] = xin[: z - a]
            ideal = np.matmul(xf, w, out=self.buffers.get("ideal", (z - a, w.shape[1]), np.float64))
            del xf
            if per_column:
                slope, icpt = fit_columns(ideal, o)
                self.calibration[idx] = (slope.astype(np.float32), icpt.astype(np.float32))
                o = (o - icpt) / slope
            errs.append(np.sqrt(np.mean((o - ideal) ** 2)))
            del ideal
        return float(np.mean(errs))


def core_rounds(cores) -> list:
    """Positions of a layer's matrices in rounds whose matrices sit on distinct cores, in order.

    Matrices merged onto one core (SPEC §5: large ones side by side on the same rows)
    are time-multiplexed: each round is one MVM call, the rounds run one after another.
    """
    rounds, seen = [], []
    for i, c in enumerate(cores):
        for members, used in zip(rounds, seen):
            if c not in used:
                members.append(i)
                used.add(c)
                break
        else:
            rounds.append([i])
            seen.append({c})
    return rounds


class IntendedMatrix:
    """A matrix as exact (board-free) runs see it: only its intended weights, nothing programmed.

    Deployments (:class:`ChipNetwork`, the LSTM, KWS and RBM ones) keep one in place of a
    :class:`~neurram_lab.program.weights.ProgrammedMatrix` when they run with ``mvm="exact"``;
    :func:`exact_mvm` multiplies by its ``weights``.

    Parameters
    ----------
    weights : array (n_in, n_out)
        The weights (weight units), kept as given.
    """

    def __init__(self, weights):
        self.weights = weights


def fit_columns(ideal, measured, min_slope: float = 1e-3, positive: bool = False):
    """Least-squares slope and intercept per column of measured ~ slope * ideal + intercept.

    A slope of magnitude ``min_slope`` or less (with ``positive``: any slope not above
    ``min_slope``) is taken as 1: such a column carries no usable gain.
    """
    xm, ym = ideal.mean(0), measured.mean(0)
    dx = ideal - xm
    var = (dx**2).sum(0)
    slope = np.where(var > 0, (dx * (measured - ym)).sum(0) / np.where(var > 0, var, 1), 1.0)
    slope = np.where((slope if positive else np.abs(slope)) > min_slope, slope, 1.0)
    return slope, ym - slope * xm
