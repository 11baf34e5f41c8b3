"""``neurram deploy mnist-cnn``: the authors' 7-layer CNN on the official MNIST test set, on the chip.

Maps the model (the authors' segmentation: at most 100 inputs per matrix, so
16 matrices, 46 664 cells), programs it with iterative write-verify under the
paper's protocol (each pass settles ``settle_s`` = 30 min of board time before
its re-read, and the conductances settle another ``settle_s`` before
inference), calibrates every layer on training images (never test images),
then classifies the test set in large batches: every conv patch of every
image of a batch goes to the chip in one MVM call per layer. The same model in
exact arithmetic (3-bit input and activation quantisation) gives
``software_accuracy``; ``layer_error`` is each layer's normalised error
``||chip - software|| / ||software||`` on the chip's own inputs to it
(:class:`~neurram_lab.deploy.fidelity.LayerErrors`, no labels needed).

Calibration (``calibration``): ``paper`` is the authors' (per-layer operating
point and per-output ADC offsets, SPEC §5); ``per-column`` adds a slope and
intercept per matrix column fitted against exact software outputs on the
training images, which goes beyond the paper. ``paper`` is the default;
``both`` calibrates and classifies the test set each way (twice the MVMs and
run file): ``accuracy`` is the paper's, ``accuracy_per_column`` the other.
"""

from __future__ import annotations

import time

import numpy as np

from neurram_lab.validate import (MAX_ITERATIONS, boolean, choice, dir_path, file_path, integer,
                                   optional_integer)

from neurram_lab.deploy import load_mnist, load_model, map_model
from neurram_lab.deploy.fidelity import LayerErrors
from neurram_lab.deploy.network import ChipNetwork, deploy_output_bits, network_layers, read_back

from ._common import (CNN_MODEL, PAPER_SETTLE_S, add_data_arguments, add_protocol_arguments, calibration_modes,
                      default_model, finish_run, mnist_dir, progress_callback, pyplot, run_and_report,
                      protocol_parameters, settle_protocol, start_run)

EXPERIMENT = "deploy-mnist-cnn"
COMMAND = ("deploy", "mnist-cnn")
HELP = "run the authors' MNIST CNN on the chip over the MNIST test set"
MERIT = "accuracy"  # the figure a sweep draws by default: test-set accuracy on the chip



def add_arguments(parser) -> None:
    add_data_arguments(parser, "model .npz (architecture: same-stem .json or bundled)"
                       " (default: mnist_cnn_7layer_3bit_wnoise0.15.npz in $NEURRAM_MODELS or $NEURRAM_SHARED/models)")
    parser.add_argument("--limit", type=int, default=None, metavar="N", help="first N test images only")
    parser.add_argument("--calibration-images", type=int, default=500, metavar="N",
                        help="training images used for calibration (default 500)")
    parser.add_argument("--mvm", default="chip", choices=["chip", "measured-weights"],
                        help="chip: MVM on the board; measured-weights: read-back conductances, no circuit (reference)")
    parser.add_argument("--output-bits", type=int, default=None,
                        help="neuron ADC bits (default 8, or the most the board can convert)")
    add_protocol_arguments(parser)
    parser.add_argument("--replicate", action="store_true", help="fill spare cores with replicas of compute-heavy layers")
    parser.add_argument("--batch", type=int, default=1000, help="images per inference batch (default 1000)")
    parser.add_argument("--skip-zero", action="store_true",
                        help="FPGA zero skipping: one MVM stands for all all-zero patches of a batch")


def run(board, out_dir, progress=None, model=None, data=None, limit=None,
        calibration_images=500, mvm="chip", output_bits=None, settle_s=PAPER_SETTLE_S, calibration="paper",
        replicate=False, batch=1000, iterations=3, max_inputs=100, skip_zero=False, inference_wait_s=None) -> dict:
    """Deploy and evaluate; returns the summary (accuracy, accuracy_paper, accuracy_per_column, software_accuracy,
    cores_used, cells_used, wall_s).

    ``output_bits`` None takes 8 brought into the board's range (the run records the bits used); what the
    board cannot run raises CapabilityError before anything is sent. ``inference_wait_s``: board time (s) the
    programmed conductances settle before inference; None: ``settle_s``, the paper's protocol.
    """
    t0 = time.perf_counter()
    limit = optional_integer("limit", limit, 1, 10_000, "test images")
    calibration_images = integer("calibration_images", calibration_images, 1, 5000)
    mvm = choice("mvm", mvm, ("chip", "measured-weights"))
    output_bits = optional_integer("output_bits", output_bits, 1, 10)
    given_wait_s = inference_wait_s
    settle_s, calibration, inference_wait_s = settle_protocol(settle_s, calibration, inference_wait_s)
    replicate, skip_zero = boolean("replicate", replicate), boolean("skip_zero", skip_zero)
    batch = integer("batch", batch, 1, 100_000, "images per batch")
    iterations = integer("iterations", iterations, 1, MAX_ITERATIONS, "write-verify passes")
    max_inputs = integer("max_inputs", max_inputs, 1)
    model = file_path("model", model, (".npz",)) if model is not None else default_model(CNN_MODEL)
    data = dir_path("data", data) if data is not None else mnist_dir()
    net_model = load_model(model)
    output_bits = deploy_output_bits(board, network_layers(net_model), mvm, output_bits)
    params = {"model": str(model), "data": str(data), "limit": limit, "calibration_images": calibration_images,
              "mvm": mvm, "output_bits": output_bits, "replicate": replicate, "batch": batch,
              "iterations": iterations, "max_inputs": max_inputs, "skip_zero": skip_zero,
              **protocol_parameters(settle_s, calibration, inference_wait_s, given_wait_s)}
    modes = calibration_modes(calibration)
    images, labels = load_mnist(data, "test", limit)
    cal_x, _ = load_mnist(data, "train-5k")
    cal_x = cal_x[np.random.default_rng(0).permutation(len(cal_x))[:calibration_images]]
    mapping = map_model(net_model, replicate=replicate, max_inputs=max_inputs, split_wide=False)
    tables = {
        "predictions": {"index": ("i4", ""), "label": ("u1", ""), "chip": ("u1", ""), "software": ("u1", ""),
                        "chip_paper": ("u1", ""), "chip_per_column": ("u1", "")},
        "matrices": {"core": ("i2", ""), "row0": ("i2", ""), "col0": ("i2", ""), "n_in": ("i2", ""),
                     "n_out": ("i2", ""), "replica": ("i2", ""), "w_max": ("f4", "")},
        "calibration": {"layer_index": ("i2", ""), "residual": ("f4", "weight units"),
                        "per_column": ("u1", "")},
    }
    with start_run(board, out_dir, EXPERIMENT, params, tables) as log:
        board = log.board
        t = mapping.table
        log.append("matrices", core=t["core"], row0=t["row0"], col0=t["col0"], n_in=t["n_in"], n_out=t["n_out"],
                   replica=t["replica"], w_max=t["w_max"])
        map_file = mapping.save(log.path.with_name(log.path.stem + "-mapping.csv"))
        net = ChipNetwork(board, mapping, 1e-6, 40e-6, mvm=mvm, output_bits=output_bits, skip_zero_inputs=skip_zero)
        tick, close = progress_callback(progress, mapping.cells_used, "program")
        prog = net.program(iterations=iterations, settle_s=settle_s, progress=lambda d, n: tick(d))
        close()
        board.wait(inference_wait_s)
        if mvm == "measured-weights":
            read_back(board, list(net.programmed.values()))
        preds, resids, errors, inference_wall_s = {}, {}, {}, 0.0
        for name, per_column in modes:  # calibrate, then classify the test set, each way
            resid = resids[name] = net.calibrate(cal_x, per_column=per_column)
            log.append("calibration", layer_index=np.arange(len(resid)), residual=list(resid.values()),
                       per_column=np.full(len(resid), per_column, np.uint8))
            t_inf = time.perf_counter()
            tick, close = progress_callback(progress, len(images), f"inference ({name})")
            meter = LayerErrors(net)  # per-layer chip-vs-software error on the same inputs, no extra MVM
            preds[name] = meter.predict(images, batch=batch, progress=tick).argmax(1)
            close()
            inference_wall_s += time.perf_counter() - t_inf
            errors[name] = meter.table()
        soft = net_model.predict(images, batch=batch)
        headline = modes[0][0]
        pred, spred = preds[headline], soft.argmax(1)
        none = np.full(len(labels), 255, np.uint8)  # not measured that way
        log.append("predictions", index=np.arange(len(labels)), label=labels, chip=pred, software=spred,
                   chip_paper=preds.get("paper", none), chip_per_column=preds.get("per-column", none))
        acc = {k: float(np.mean(v == labels)) for k, v in preds.items()}
        summary = {
            "accuracy": acc[headline],
            "calibration": headline, "accuracy_paper": acc.get("paper"),
            "accuracy_per_column": acc.get("per-column"), "settle_s": settle_s,
            "software_accuracy": float(np.mean(spred == labels)),
            "n_images": int(len(labels)),
            "cores_used": mapping.cores_used,
            "cells_used": mapping.cells_used,
            "matrices": mapping.n_matrices,
            "settled_in_window_fraction": prog["settled_in_window_fraction"],
            "calibration_residual": resids[headline],
            "calibration_residual_per_column": resids.get("per-column"),
            "layer_error": errors[headline],
            "mvm": mvm,
            "output_bits": net.output_bits,
            "inference_wall_s": inference_wall_s,
            "run_file": str(log.path),
            "mapping_file": str(map_file),
        }
        return finish_run(log, summary, t0, lambda fig: _figure(fig, mapping, labels, pred, spred, summary))


def _figure(path, mapping, labels, pred, spred, s) -> None:
    plt = pyplot()
    err = s["layer_error"]
    fig, ax = plt.subplots(1, 3 if err else 2, figsize=(16 if err else 11, 4), layout="constrained")
    if err:
        ax[2].bar(np.arange(len(err)), list(err.values()), color="tab:blue")
        ax[2].set_xticks(np.arange(len(err)))
        ax[2].set_xticklabels(list(err), rotation=45, fontsize=7)
        ax[2].set_ylabel("normalised error  ||chip - software|| / ||software||")
        ax[2].set_title(f"per-layer error ({s['mvm']}), same inputs")
    occ = np.zeros(48)
    for r in mapping.rows():
        occ[r["core"]] += r["cells"] / 65536
    im = ax[0].imshow(occ.reshape(8, 6), cmap="viridis", vmin=0, vmax=max(occ.max(), 1e-3))
    for r in mapping.rows():
        ax[0].text(r["core"] % 6, r["core"] // 6, r["layer"], ha="center", va="center", fontsize=6, color="w")
    ax[0].set_title(f"{s['cores_used']} cores, {s['cells_used']} cells")
    ax[0].set_xlabel("core column")
    ax[0].set_ylabel("core row")
    fig.colorbar(im, ax=ax[0], label="fraction of core used")
    cls = np.arange(10)
    acc_c = [np.mean(pred[labels == c] == c) if np.any(labels == c) else np.nan for c in cls]
    acc_s = [np.mean(spred[labels == c] == c) if np.any(labels == c) else np.nan for c in cls]
    ax[1].bar(cls - 0.2, acc_s, 0.4, label=f"software {s['software_accuracy']:.2%}")
    cal = s["calibration"]
    ax[1].bar(cls + 0.2, acc_c, 0.4, label=f"chip ({s['mvm']}, {cal} calibration) {s['accuracy']:.2%}")
    ax[1].set_ylim(0.9, 1.0)
    ax[1].set_xticks(cls)
    ax[1].set_xlabel("digit")
    ax[1].set_ylabel("accuracy")
    ax[1].legend(loc="lower right", fontsize=8)
    fig.suptitle(f"MNIST CNN on NeuRRAM, {s['n_images']} test images")
    plt.save(fig, path)


def main(args, ctx) -> dict:
    return run_and_report(ctx, run, report, model=args.model, data=args.data, limit=args.limit,
                          calibration_images=args.calibration_images, mvm=args.mvm, output_bits=args.output_bits,
                          settle_s=args.settle_s, calibration=args.calibration, replicate=args.replicate,
                          batch=args.batch, skip_zero=args.skip_zero)


def report(summary: dict, board_spec: str) -> str:
    """The human-readable summary printed at the end of a run (``neurram replay`` prints it too)."""
    cal = summary.get("calibration")
    how = "" if cal is None else f" ({cal} calibration)"
    if summary.get("accuracy_per_column") is not None and cal == "paper":
        how = f" (paper calibration; {summary['accuracy_per_column']:.2%} with the per-column fit)"
    return (f"MNIST CNN on {board_spec}: accuracy {summary['accuracy']:.2%}{how} over {summary['n_images']} images "
            f"(software {summary['software_accuracy']:.2%}); {summary['cores_used']} cores, "
            f"{summary['cells_used']} cells; {summary['wall_s']:.1f} s\n"
            f"Run file: {summary['run_file']}\nFigure:   {summary['figure']}")
