"""``neurram deploy cifar10-resnet20``: the authors' ResNet-20 on the CIFAR-10 test set, on the 48 cores.

Loads the authors' weights (``resnet20_cifar10_act3b_wnoise0.10.npz``, checked
array by array, :mod:`neurram_lab.deploy.resnet20`), folds batch norm, cuts the
22 weight layers into 61 conductance matrices and maps them onto the 48 cores
by the paper's rule (SPEC §5, :func:`~neurram_lab.deploy.mapping.map_model`):
the compute-heavy matrices keep a core each, the rest are merged, small ones
diagonally and large ones side by side on shared rows (time-multiplexed: one
MVM call per round of matrices on distinct cores). The mapping table (CSV) and
a figure of the cores (``-cores.png``) are written beside the run file.

The paper's protocol as in ``deploy mnist-cnn``: write-verify with a 30-minute
settle (board time) before each verify re-read and before inference, then the
per-layer calibration on training images (``data_batch_*``); with only the
test batch in DIR, calibration takes the *last* ``calibration_images`` test
images, the summary says so (``calibration_source``) and those images are not
classified. The input is 4-bit (clip 0.95), activations 3-bit, residual adds
and pooling digital (the FPGA side).

The summary gives the chip's accuracy next to the software model's (exact
float, same quantisation) and the paper's (85.7 %), and the per-layer
normalised error of the chip against software on the same inputs
(``layer_error``), which needs no labels.

``--finetune`` (the ``train`` extra, PyTorch) then runs the paper's chip-in-the-loop progressive
fine-tuning (SPEC §5, :func:`~neurram_lab.deploy.training.progressive_finetune`): the layers are
programmed again one at a time in graph order, the fine-tuning images (``data_batch_*``, or the
calibration slice of the test set when DIR holds only the test set) run through the chip up to the
last programmed layer, and the layers after it are fine-tuned in software on those measured tensors
(learning rate 1/100, the model's 10 % weight noise, the same 3-bit quantisers); the test images are
never used. After recalibrating, the summary gives ``accuracy_before`` and ``accuracy_after``.
"""

from __future__ import annotations

import time

import numpy as np

from neurram_lab.validate import MAX_ITERATIONS, boolean, choice, dir_path, file_path, integer, optional_integer
from neurram_lab.deploy.cifar10 import class_names, has_training_batches, load_cifar10
from neurram_lab.deploy.fidelity import LayerErrors
from neurram_lab.deploy.mapping import map_model
from neurram_lab.deploy.network import ChipNetwork, deploy_output_bits, network_layers, read_back
from neurram_lab.deploy.resnet20 import FINAL_QUANTS, load_resnet20
from neurram_lab.errors import DataNotFoundError, InputError

from ._common import (PAPER_SETTLE_S, add_protocol_arguments, calibration_modes, datasets_dir, default_model,
                      figure_path, finish_run, progress_callback, run_and_report, settle_protocol, start_run)
from ._core_map import draw_core_map, layer_error_rows
from ._deploy_figure import draw_errors_and_accuracy

EXPERIMENT = "deploy-cifar10-resnet20"
COMMAND = ("deploy", "cifar10-resnet20")
HELP = "run the authors' CIFAR-10 ResNet-20 on the 48 cores over the CIFAR-10 test set"
RESNET_MODEL = "resnet20_cifar10_act3b_wnoise0.10.npz"
PAPER_ACCURACY = 0.857  # on chip (SPEC §5)
MVM_MODES = ("chip", "measured-weights", "exact")
FINETUNE_LR = 1e-5  # 1/100 of train()'s Adam rate 1e-3 (SPEC §5; the authors' own rate is not in the model card)
FINETUNE_NOISE = 0.10  # the weight noise the model was trained with (wnoise0.10, the model's .md)


def add_arguments(parser) -> None:
    parser.add_argument("--model", default=None, help="ResNet-20 .npz (default: resnet20_cifar10_act3b_wnoise0.10.npz "
                        "in $NEURRAM_MODELS or $NEURRAM_SHARED/models)")
    parser.add_argument("--data", default=None, help="CIFAR-10 folder, python layout (test_batch, batches.meta, "
                        "data_batch_*) or binary layout (test_batch.bin, data_batch_*.bin) "
                        "(default: $NEURRAM_DATA/cifar10 or $NEURRAM_SHARED/datasets/cifar10)")
    parser.add_argument("--limit", type=int, default=None, metavar="N", help="first N test images only")
    parser.add_argument("--calibration-images", type=int, default=200, metavar="N",
                        help="training images used for calibration (default 200); without data_batch_* the last N "
                             "test images, left out of the accuracy")
    parser.add_argument("--mvm", default="chip", choices=list(MVM_MODES),
                        help="chip: MVM on the board; measured-weights: read-back conductances, no circuit; "
                             "exact: intended weights, nothing sent (checks mapping and quantisation)")
    parser.add_argument("--output-bits", type=int, default=None,
                        help="neuron ADC bits (default 8, or the most the board can convert)")
    parser.add_argument("--final-quant", default="before_pool", choices=list(FINAL_QUANTS),
                        help="where the last act-quant sits (the model's .md): the saved graph's (default) or the "
                             "authors' current code's")
    add_protocol_arguments(parser)
    parser.add_argument("--batch", type=int, default=100, help="images per inference batch (default 100)")
    parser.add_argument("--finetune", action="store_true", help="then chip-in-the-loop progressive fine-tuning "
                        "(train extra: PyTorch); the summary gives accuracy_before and accuracy_after")
    parser.add_argument("--finetune-epochs", type=int, default=3, metavar="N", help="epochs per step (default 3)")
    parser.add_argument("--finetune-images", type=int, default=500, metavar="N",
                        help="training images fine-tuned on (default 500; without data_batch_* at most the "
                             "calibration images, the same slice)")


def cifar10_dir():
    """``datasets_dir() / "cifar10"`` (DataNotFoundError if absent)."""
    path = datasets_dir() / "cifar10"
    if not path.is_dir():
        raise DataNotFoundError("the CIFAR-10 folder", path, "put the test set there or pass --data DIR")
    return path


def split_images(data, limit, calibration_images):
    """(test images, labels, calibration images, calibration_source): calibration from ``data_batch_*`` when
    present, else the last ``calibration_images`` test images (disjoint from those classified)."""
    images, labels = load_cifar10(data, "test")
    if has_training_batches(data):
        cal, _ = load_cifar10(data, "train")
        cal = cal[np.random.default_rng(0).permutation(len(cal))[:calibration_images]]
        source = f"training batches (data_batch_*), {len(cal)} images"
    else:
        if len(images) < calibration_images + 1:
            raise InputError(f"calibration_images {calibration_images}: {data} holds only the test set "
                             f"({len(images)} images) and calibration needs a disjoint slice of it with at least one "
                             f"image left to classify; give fewer calibration images or add data_batch_*")
        cut = len(images) - calibration_images
        cal = images[cut:]
        images, labels = images[:cut], labels[:cut]
        source = (f"test set only: test images {cut}..{cut + calibration_images - 1} calibrate and are left out "
                  f"of the accuracy")
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    return images, labels, cal, source


def _training_module():
    """:mod:`neurram_lab.deploy.training`, or an InputError naming the ``train`` extra when torch is missing."""
    try:
        from neurram_lab.deploy import training
    except ImportError as exc:
        raise InputError(f"finetune: chip-in-the-loop fine-tuning needs PyTorch ({exc.name or 'torch'} is not "
                         f"installed): install the train extra, pip install 'neurram-lab[train]'") from None
    return training


def finetune_set(data, n, calibration_images):
    """(images, labels, source) fine-tuned on: ``n`` training images (``data_batch_*``, shuffled as for
    calibration) or, with only the test set, the first ``n`` of the calibration slice (never classified)."""
    if has_training_batches(data):
        x, y = load_cifar10(data, "train")
        pick = np.random.default_rng(0).permutation(len(x))[:n]
        return x[pick], y[pick], f"training batches (data_batch_*), {len(pick)} images"
    if n > calibration_images:
        raise InputError(f"finetune_images {n}: {data} holds only the test set, and fine-tuning may use only its "
                         f"calibration slice ({calibration_images} images, never classified); give at most "
                         f"{calibration_images} or add data_batch_*")
    x, y = load_cifar10(data, "test")
    cut = len(x) - calibration_images
    return (x[cut : cut + n], y[cut : cut + n],
            f"test set only: the calibration slice, test images {cut}..{cut + n - 1}, left out of the accuracy")


def _finetune(training, net, mvm, x, y, epochs, per_column, cal_x, images, calibration_images, relax_s,
              settle_s, iterations, batch) -> dict:
    """Progressive fine-tuning on ``x, y``, then recalibration on ``cal_x`` and the test images classified again."""
    t0 = time.perf_counter()
    report = training.progressive_finetune(net, x, y, epochs, FINETUNE_NOISE, FINETUNE_LR, calibration_images,
                                           relax_s, settle_s=settle_s, per_column=per_column,
                                           iterations=iterations, batch=batch)
    if net.board is not None:
        net.board.wait(relax_s)
    if mvm == "measured-weights":
        read_back(net.board, list(net.programmed.values()))
    net.calibrate(cal_x, batch=batch, per_column=per_column)
    chip = net.predict(images, batch=batch).argmax(1)
    return {"pred": chip.astype(np.uint8), "chip": chip, "report": report, "wall_s": time.perf_counter() - t0,
            "software": net.model.predict(images, batch=batch).argmax(1)}


def run(board, out_dir, progress=None, model=None, data=None, limit=None, calibration_images=200, mvm="chip",
        output_bits=None, settle_s=PAPER_SETTLE_S, calibration="paper", batch=100, iterations=3,
        final_quant="before_pool", finetune=False, finetune_epochs=3, finetune_images=500) -> dict:
    """Map, program, calibrate and classify; returns the summary (accuracy, software_accuracy, paper_accuracy,
    layer_error, cores_used, matrices, ...). Everything is checked and read before the run file is created.
    ``finetune``: then progressive fine-tuning (module doc), adding accuracy_before/accuracy_after."""
    t0 = time.perf_counter()
    limit = optional_integer("limit", limit, 1, 10_000, "test images")
    calibration_images = integer("calibration_images", calibration_images, 1, 50_000, "calibration images")
    mvm = choice("mvm", mvm, MVM_MODES)
    output_bits = optional_integer("output_bits", output_bits, 1, 10)
    settle_s, calibration, relax_s = settle_protocol(settle_s, calibration)
    batch = integer("batch", batch, 1, 10_000, "images per batch")
    iterations = integer("iterations", iterations, 1, MAX_ITERATIONS, "write-verify passes")
    final_quant = choice("final_quant", final_quant, FINAL_QUANTS)
    finetune = boolean("finetune", finetune)
    finetune_epochs = integer("finetune_epochs", finetune_epochs, 1, 100, "fine-tuning epochs per layer")
    finetune_images = integer("finetune_images", finetune_images, 1, 50_000, "fine-tuning images")
    training = _training_module() if finetune else None
    model = file_path("model", model, (".npz",)) if model is not None else default_model(RESNET_MODEL)
    data = dir_path("data", data) if data is not None else cifar10_dir()
    software, chip_model = load_resnet20(model, final_quant)
    images, labels, cal_x, cal_source = split_images(data, limit, calibration_images)
    names = class_names(data)
    ft_x, ft_y, ft_source = finetune_set(data, finetune_images, calibration_images) if finetune else (None,) * 3
    output_bits = deploy_output_bits(board, network_layers(chip_model), mvm, output_bits)
    params = {"model": str(model), "data": str(data), "limit": limit, "calibration_images": calibration_images,
              "mvm": mvm, "output_bits": output_bits, "settle_s": settle_s, "calibration": calibration,
              "batch": batch, "iterations": iterations, "final_quant": final_quant,
              **({"finetune": True, "finetune_epochs": finetune_epochs, "finetune_images": finetune_images}
                 if finetune else {})}
    modes = calibration_modes(calibration) if mvm != "exact" else [("paper", False)]
    mapping = map_model(chip_model)
    tables = {
        "predictions": {"index": ("i4", ""), "label": ("u1", ""), "chip": ("u1", ""), "software": ("u1", ""),
                        "chip_paper": ("u1", ""), "chip_per_column": ("u1", ""),
                        **({"chip_finetuned": ("u1", "")} if finetune else {})},
        "matrices": {"core": ("i2", ""), "row0": ("i2", ""), "col0": ("i2", ""), "n_in": ("i2", ""),
                     "n_out": ("i2", ""), "replica": ("i2", ""), "w_max": ("f4", "")},
        "calibration": {"layer_index": ("i2", ""), "residual": ("f4", "weight units"), "per_column": ("u1", "")},
        "layer_error": {"layer_index": ("i2", ""), "error": ("f4", "")},
    }
    with start_run(board, out_dir, EXPERIMENT, params, tables) as log:
        board = log.board
        t = mapping.table
        log.append("matrices", core=t["core"], row0=t["row0"], col0=t["col0"], n_in=t["n_in"], n_out=t["n_out"],
                   replica=t["replica"], w_max=t["w_max"])
        map_file = mapping.save(log.path.with_name(log.path.stem + "-mapping.csv"))
        cores_file = figure_path(log.path, "cores")
        draw_core_map(cores_file, t, f"ResNet-20: {mapping.n_matrices} matrices on {mapping.cores_used} cores")
        net = ChipNetwork(board, mapping, 1e-6, 40e-6, mvm=mvm, output_bits=output_bits)
        t_prog = time.perf_counter()
        tick, close = progress_callback(progress, mapping.cells_used, "program")
        prog = net.program(iterations=iterations, settle_s=settle_s, progress=lambda d, n: tick(d))
        close()
        board.wait(relax_s)
        if mvm == "measured-weights":
            read_back(board, list(net.programmed.values()))
        program_wall_s = time.perf_counter() - t_prog
        preds, resids, errors, calibration_wall_s, inference_wall_s = {}, {}, {}, 0.0, 0.0
        for name, per_column in modes:  # calibrate, then classify the test set, each way
            t_cal = time.perf_counter()
            resid = resids[name] = net.calibrate(cal_x, batch=batch, per_column=per_column)
            calibration_wall_s += time.perf_counter() - t_cal
            log.append("calibration", layer_index=np.arange(len(resid)), residual=list(resid.values()),
                       per_column=np.full(len(resid), per_column, np.uint8))
            t_inf = time.perf_counter()
            meter = LayerErrors(net)
            tick, close = progress_callback(progress, len(images), f"inference ({name})")
            preds[name] = meter.predict(images, batch=batch, progress=tick).argmax(1)
            close()
            inference_wall_s += time.perf_counter() - t_inf
            errors[name] = meter.table()
        headline = modes[0][0]
        log.append("layer_error", **dict(zip(("layer_index", "error"), layer_error_rows(errors[headline]))))
        spred = software.predict(images, batch=batch).argmax(1)
        pred = preds[headline]
        tuned = _finetune(training, net, mvm, ft_x, ft_y, finetune_epochs, modes[0][1], cal_x, images,
                          calibration_images, relax_s, settle_s, iterations, batch) if finetune else {}
        none = np.full(len(labels), 255, np.uint8)
        log.append("predictions", index=np.arange(len(labels)), label=labels, chip=pred, software=spred,
                   chip_paper=preds.get("paper", none), chip_per_column=preds.get("per-column", none),
                   **({"chip_finetuned": tuned.pop("pred")} if finetune else {}))
        acc = {k: float(np.mean(v == labels)) for k, v in preds.items()}
        summary = {
            "accuracy": acc[headline],
            "calibration": headline if mvm != "exact" else None,
            "accuracy_paper": acc.get("paper"),
            "accuracy_per_column": acc.get("per-column"),
            "software_accuracy": float(np.mean(spred == labels)),
            "chip_software_agreement": float(np.mean(pred == spred)),
            "paper_accuracy": PAPER_ACCURACY,
            "n_images": int(len(labels)),
            "calibration_images": int(len(cal_x)),
            "calibration_source": cal_source,
            "classes": list(names),
            "final_quant": final_quant,
            "settle_s": settle_s,
            "cores_used": mapping.cores_used,
            "cells_used": mapping.cells_used,
            "matrices": mapping.n_matrices,
            "merge": mapping.summary()["merge"],
            "settled_in_window_fraction": prog["settled_in_window_fraction"],
            "calibration_residual": resids[headline],
            "layer_error": errors[headline],
            "mvm": mvm,
            "output_bits": net.output_bits,
            "program_wall_s": program_wall_s,
            "calibration_wall_s": calibration_wall_s,
            "inference_wall_s": inference_wall_s,
            "run_file": str(log.path),
            "mapping_file": str(map_file),
            "core_map_file": str(cores_file),
        }
        if finetune:
            summary.update(accuracy_before=acc[headline], accuracy_after=float(np.mean(tuned["chip"] == labels)),
                           software_accuracy_after=float(np.mean(tuned["software"] == labels)),
                           finetune_source=ft_source, finetune_images=int(len(ft_y)), finetune_epochs=finetune_epochs,
                           finetune_lr=FINETUNE_LR, finetune_noise=FINETUNE_NOISE,
                           finetune_train_accuracy=tuned["report"], finetune_wall_s=tuned["wall_s"])
        return finish_run(log, summary, t0, lambda fig: _figure(fig, labels, pred, spred, summary))


def _figure(path, labels, pred, spred, s) -> None:
    draw_errors_and_accuracy(path, labels, pred, spred, s, f"same inputs, {s['n_images']} images",
                             f"CIFAR-10 ResNet-20 on NeuRRAM, {s['n_images']} test images")


def main(args, ctx) -> dict:
    return run_and_report(ctx, run, report, model=args.model, data=args.data, limit=args.limit,
                          calibration_images=args.calibration_images, mvm=args.mvm, output_bits=args.output_bits,
                          settle_s=args.settle_s, calibration=args.calibration, batch=args.batch,
                          final_quant=args.final_quant, finetune=args.finetune, finetune_epochs=args.finetune_epochs,
                          finetune_images=args.finetune_images)


def report(summary: dict, board_spec: str) -> str:
    """The text printed at the end of a run (``neurram replay`` prints it too)."""
    worst = max(summary["layer_error"].items(), key=lambda kv: kv[1])
    return (f"CIFAR-10 ResNet-20 on {board_spec} ({summary['mvm']}): accuracy {summary['accuracy']:.2%} over "
            f"{summary['n_images']} images (software {summary['software_accuracy']:.2%}, paper "
            f"{summary['paper_accuracy']:.1%}); {summary['matrices']} matrices on {summary['cores_used']} cores; "
            f"largest layer error {worst[1]:.3f} ({worst[0]}); calibration: {summary['calibration_source']}; "
            f"{summary['wall_s']:.1f} s\n"
            + (f"Fine-tuned on chip: accuracy {summary['accuracy_before']:.2%} before, {summary['accuracy_after']:.2%} "
               f"after ({summary['finetune_images']} images: {summary['finetune_source']})\n"
               if "accuracy_after" in summary else "") +
            f"Run file: {summary['run_file']}\nMapping:  {summary['mapping_file']}\n"
            f"Cores:    {summary['core_map_file']}\nFigure:   {summary['figure']}")
