"""``neurram characterize mvm``: MVM error against the ideal result (SPEC §3, Fig. 3h).

Programs a normal random matrix (default 64 x 64) on each of ``cores`` cores
with write-verify, waits the 30 minutes the paper waits before inference,
reads the conductances back, calibrates the layer from a separate batch of
calibration vectors (model-driven: operating point and offsets), then runs
``vectors`` uniform random vectors in [-1, 1] and compares each output with
the ideal ``x_q @ W`` of the quantised inputs and the read-back conductances.
The error is in output LSB (the calibrated full scale of the result over
``2**(output_bits - 1)``); outputs on a bad column (most cells unformed) are
left out and counted, as the paper's mapping avoids them. In parallel mode the cores share one operating
point (shared rails); in sequence each core gets its own.
"""

from __future__ import annotations

import time

import numpy as np

from neurram_lab.validate import boolean, choice, integer, optional_integer

from neurram_lab.mvm._mvm_caps import plan_mvm
from neurram_lab.mvm.calibration import calibrate
from neurram_lab.mvm.mvm import quantize_inputs, result_lsb, run_mvm
from neurram_lab.program.weights import MatrixPlacement, conductance_to_weights

from ._common import finish_run, progress_callback, pyplot, run_and_report, start_run
from neurram_lab.program.programming import program_weights

EXPERIMENT = "characterize-mvm"
COMMAND = ("characterize", "mvm")
HELP = "MVM error of a random matrix against the ideal result, in output LSB"
MERIT = "rmse_lsb"  # the figure a sweep draws by default: MVM error against the ideal, output LSB

WAIT_BEFORE_INFERENCE_S = 1800.0
CALIBRATION_VECTORS = 256


def add_arguments(parser) -> None:
    parser.add_argument("--rows", type=int, default=64, help="matrix inputs (default 64)")
    parser.add_argument("--cols", type=int, default=64, help="matrix outputs (default 64)")
    parser.add_argument("--input-bits", type=int, default=4, help="input bits, sign included (default 4)")
    parser.add_argument("--output-bits", type=int, default=None,
                        help="output bits, sign included (default 6, or the nearest the board can convert)")
    parser.add_argument("--direction", choices=("forward", "backward"), default="forward")
    parser.add_argument("--two-phase", action="store_true", help="split inputs above 4 bits into two phases")
    parser.add_argument("--cores", type=int, default=1, help="cores, each with its own random matrix (default 1)")
    parser.add_argument("--parallel", action="store_true", help="run the cores at the same time (default: in turn)")
    parser.add_argument("--vectors", type=int, default=1000, help="random input vectors (default 1000)")


def program_random(board, rows: int, cols: int, cores, seed: int = 0, progress=None) -> list:
    """Program an independent N(0, 1) matrix of rows x cols at row 0, column 0 of each core."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x3A7]))
    pms = []
    tick, close = progress_callback(progress, len(cores), "program")
    for k, c in enumerate(cores):
        w = rng.standard_normal((rows, cols))
        pms.append(program_weights(board, w, MatrixPlacement(int(c), 0, 0, rows, cols)))
        tick(k + 1)
    close()
    return pms


def read_back(board, pms) -> None:
    """Refresh every matrix's ``g_measured_s`` with a read now."""
    for pm in pms:
        pm.g_measured_s = board.read(*pm.placement.cells()).astype(np.float64).reshape(pm.g_target_s.shape)


def usable_outputs(pm, direction: str) -> np.ndarray:
    """Outputs whose cells mostly formed: a bad column (or row pair) is left out, as the
    authors' mapping avoids them (SPEC §2); without ``dead`` every output counts."""
    n = pm.placement.n_out if direction == "forward" else pm.placement.n_in
    if pm.dead is None:
        return np.ones(n, bool)
    dead = np.asarray(pm.dead, bool)
    if direction == "forward":
        return dead.mean(axis=0) < 0.5
    per_row = dead.mean(axis=1)
    return (per_row[0::2] < 0.5) & (per_row[1::2] < 0.5) if pm.placement.differential else per_row < 0.5


def measure_error(board, pms, vectors: int = 1000, input_bits: int = 4, output_bits: int = 6,
                  direction: str = "forward", two_phase: bool = False, parallel: bool = False, seed: int = 0) -> dict:
    """Calibrate, run random vectors and compare with the ideal; errors in output LSB.

    Returns a dict with ``rmse_lsb``, ``rmse_lsb_per_core``, ``ideal_lsb`` and
    ``measured_lsb`` (lists of (vectors, n_out) per core), ``v_read_v``, ``v_decr_v``.
    """
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x7EC]))
    n_in = [pm.placement.n_in if direction == "forward" else pm.placement.n_out for pm in pms]
    x = [rng.uniform(-1, 1, (vectors, n)) for n in n_in]
    x_cal = [rng.uniform(-1, 1, (CALIBRATION_VECTORS, n)) for n in n_in]
    kw = dict(input_bits=input_bits, output_bits=output_bits, direction=direction, two_phase=two_phase)
    if parallel or len(pms) == 1:
        cals = [calibrate(board, pms, x_cal, parallel=parallel, **kw)] * len(pms)
        ys = run_mvm(board, pms, x, parallel=parallel, calibration=cals[0], **kw)
    else:  # one after the other, each core at its own operating point
        cals, ys = [], []
        for pm, xi, xc in zip(pms, x, x_cal):
            cal = calibrate(board, pm, xc, parallel=False, **kw)
            cals.append(cal)
            ys.append(run_mvm(board, pm, xi, parallel=False, calibration=cal, **kw))
    ideal_l, meas_l, per_core, usable_l = [], [], [], []
    for pm, xi, y, cal in zip(pms, x, ys, cals):
        q, s = quantize_inputs(xi, input_bits)
        w = conductance_to_weights(pm.g_measured_s, pm.gmin_s, pm.gmax_s, pm.w_max, pm.placement.differential)
        ideal = (q / s) @ (w if direction == "forward" else w.T)
        lsb = result_lsb(pm, cal)
        ideal_l.append(ideal / lsb)
        meas_l.append(y / lsb)
        usable = usable_outputs(pm, direction)
        usable_l.append(usable)
        per_core.append(float(np.sqrt(np.mean((meas_l[-1] - ideal_l[-1])[:, usable] ** 2))))
    err = np.concatenate([(m - i)[:, u].ravel() for m, i, u in zip(meas_l, ideal_l, usable_l)])
    return {
        "rmse_lsb": float(np.sqrt(np.mean(err**2))),
        "rmse_lsb_per_core": per_core,
        "excluded_outputs": [int((~u).sum()) for u in usable_l],
        "usable": usable_l,
        "mean_error_lsb": float(err.mean()),
        "ideal_lsb": ideal_l,
        "measured_lsb": meas_l,
        "v_read_v": [c.v_read_v for c in cals],
        "v_decr_v": [c.v_decr_v for c in cals],
    }


def run(board, out_dir, progress=None, rows=64, cols=64, input_bits=4, output_bits=None, direction="forward",
        two_phase=False, cores=1, parallel=False, vectors=1000, seed=0) -> dict:
    """Run the MVM characterisation; returns the summary (run file and figure included).

    ``output_bits`` None takes 6 brought into the board's range; the run
    records the bits it used. Everything the board's capabilities refuse
    (output or input bits, direction, two-phase) raises CapabilityError
    before anything is sent.
    """
    t_wall = time.perf_counter()
    input_bits = integer("input_bits", input_bits, 1, 8)
    output_bits = optional_integer("output_bits", output_bits, 1, 10)
    rows, cols = integer("rows", rows, 1, board.limits.n_rows), integer("cols", cols, 1, board.limits.n_cols)
    cores = integer("cores", cores, 1, board.limits.n_cores, "cores programmed, 0..cores-1")
    vectors = integer("vectors", vectors, 1, 1_000_000)
    seed = integer("seed", seed, 0)
    direction = choice("direction", direction, ("forward", "backward"))
    two_phase, parallel = boolean("two_phase", two_phase), boolean("parallel", parallel)
    output_bits = plan_mvm(board, input_bits, output_bits, direction, two_phase, "none", True, 6)
    params = {"rows": int(rows), "cols": int(cols), "input_bits": int(input_bits), "output_bits": int(output_bits),
              "direction": direction, "two_phase": bool(two_phase), "cores": int(cores), "parallel": bool(parallel),
              "vectors": int(vectors), "seed": int(seed)}
    core_ids = list(range(int(cores)))
    board.limits.check_cores(core_ids)
    for c in core_ids:  # bad shapes fail here, before a run file exists
        MatrixPlacement(c, 0, 0, int(rows), int(cols))
    if int(vectors) < 1:
        from neurram_lab.errors import LimitError

        raise LimitError("vectors", vectors, (1, None))
    tables = {"outputs": {"core": ("i2", ""), "vector": ("i4", ""), "output": ("i2", ""),
                          "ideal_lsb": ("f4", "LSB"), "measured_lsb": ("f4", "LSB")}}
    with start_run(board, out_dir, EXPERIMENT, params, tables) as log:
        board = log.board
        pms = program_random(board, rows, cols, core_ids, seed, progress)
        board.wait(WAIT_BEFORE_INFERENCE_S)
        read_back(board, pms)
        res = measure_error(board, pms, vectors, input_bits, output_bits, direction, two_phase, parallel, seed)
        for c, i, m in zip(core_ids, res["ideal_lsb"], res["measured_lsb"]):
            v, o = np.meshgrid(np.arange(i.shape[0]), np.arange(i.shape[1]), indexing="ij")
            log.append("outputs", core=np.full(i.size, c), vector=v.ravel(), output=o.ravel(),
                       ideal_lsb=i.ravel(), measured_lsb=m.ravel())
        summary = dict(params)
        summary.update({k: res[k] for k in ("rmse_lsb", "rmse_lsb_per_core", "excluded_outputs", "mean_error_lsb",
                                            "v_read_v", "v_decr_v")})
        summary["mvm_energy_j"] = board.counters().get("mvm_energy_j")
        summary["run_file"] = str(log.path)
        return finish_run(log, summary, t_wall, lambda fig: _figure(fig, res, params))


def _figure(path, res, params) -> None:
    plt = pyplot()
    ideal = np.concatenate([i[:, u].ravel() for i, u in zip(res["ideal_lsb"], res["usable"])])
    meas = np.concatenate([m[:, u].ravel() for m, u in zip(res["measured_lsb"], res["usable"])])
    fig, ax = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained")
    lim = float(np.max(np.abs(np.r_[ideal, meas]))) * 1.05
    ax[0].plot(ideal, meas, ".", ms=1.5, alpha=0.25)
    ax[0].plot([-lim, lim], [-lim, lim], "k--", lw=0.8)
    ax[0].set_xlabel("ideal output (LSB)")
    ax[0].set_ylabel("measured output (LSB)")
    ax[0].set_title(f"RMSE {res['rmse_lsb']:.3f} LSB")
    ax[1].hist(meas - ideal, bins=80, color="C1")
    ax[1].set_xlabel("error (LSB)")
    ax[1].set_ylabel("outputs")
    mode = "two-phase" if params["two_phase"] else "single-phase"
    run_mode = "parallel" if params["parallel"] else "in sequence"
    fig.suptitle(f"{params['rows']}x{params['cols']} {params['direction']} MVM, {params['input_bits']}-bit in "
                 f"({mode}), {params['output_bits']}-bit out, {params['cores']} core(s) {run_mode}", fontsize=9)
    plt.save(fig, path)


def main(args, ctx) -> dict:
    return run_and_report(ctx, run, report, rows=args.rows, cols=args.cols,
                          input_bits=args.input_bits, output_bits=args.output_bits, direction=args.direction,
                          two_phase=args.two_phase, cores=args.cores, parallel=args.parallel, vectors=args.vectors,
                          seed=args.seed or 0)


def report(summary: dict, board_spec: str) -> str:
    """The human-readable summary printed at the end of a run (``neurram replay`` prints it too)."""
    return (f"MVM RMSE {summary['rmse_lsb']:.3f} LSB ({summary['direction']}, {summary['input_bits']}-bit in, "
            f"{summary['output_bits']}-bit out, {summary['cores']} core(s) "
            f"{'parallel' if summary['parallel'] else 'in sequence'})\n"
            f"Run file: {summary['run_file']}\nFigure:   {summary['figure']}")
