"""``neurram deploy kws-lstm``: the authors' 4-cell keyword-spotting LSTM on Speech Commands v0.02, on the cores.

Loads the authors' weights (``kws_lstm4_h112_wnoise0.16.npz``, checked array by
array, :mod:`neurram_lab.deploy.kws`), builds the authors' balanced test set
from DIR (:mod:`neurram_lab.deploy.speech_commands`: the ten words of
``testing_list.txt``, 10 % silence, 10 % unknown), makes the authors' MFCC
features (librosa, the ``audio`` extra) and maps the 36 matrices of the 4 cells
(input 41 x 448, recurrent 115 x 448, output 113 x 12 with bias rows; the
448-wide ones split into 4 gates of 112 columns) one per core. The mapping table
(CSV) and the core figure are written beside the run file.

Protocol as in the other deploy commands: write-verify with ``settle_s`` of
board time before each verify re-read and before inference (the paper's 30
minutes by default), then the paper's per-matrix calibration (operating point
and ADC offsets) on the inputs the software model gives training clips (those
in neither list). Each time step's recurrent MVM runs on the board with 4-bit
signed inputs; the gate functions and the learned clip levels run on the FPGA
side; the four cells' outputs are summed.

The summary gives the chip's accuracy next to the software model's (same
quantisation, exact products) and the paper's (84.7 %), and the per-layer
normalised error of the chip against software on the same input codes
(``layer_error``, layers ``ih0`` .. ``fc3``), which needs no labels.
"""

from __future__ import annotations

import time

import numpy as np

from neurram_lab.validate import MAX_ITERATIONS, choice, dir_path, file_path, integer, optional_integer
from neurram_lab.deploy.kws import ChipKWS, forward, load_kws
from neurram_lab.deploy.speech_commands import load_waves, mfcc_features, test_clips, training_clips
from neurram_lab.errors import DataNotFoundError

from ._common import (PAPER_SETTLE_S, datasets_dir, default_model, figure_path, finish_run, progress_callback,
                      run_and_report, settle_protocol, start_run)
from ._core_map import draw_core_map, layer_error_rows
from ._deploy_figure import draw_errors_and_accuracy

EXPERIMENT = "deploy-kws-lstm"
COMMAND = ("deploy", "kws-lstm")
HELP = "run the authors' 4-cell keyword-spotting LSTM on the cores over the Speech Commands v0.02 test set"
KWS_MODEL = "kws_lstm4_h112_wnoise0.16.npz"
PAPER_ACCURACY = 0.847  # on chip (SPEC §5)
MVM_MODES = ("chip", "measured-weights", "exact")


def add_arguments(parser) -> None:
    parser.add_argument("--model", default=None, help=f"KWS LSTM .npz (default: {KWS_MODEL} in $NEURRAM_MODELS or "
                        "$NEURRAM_SHARED/models)")
    parser.add_argument("--data", default=None, help="Speech Commands v0.02 folder: one folder of 16 kHz wavs per "
                        "word, testing_list.txt, validation_list.txt, _background_noise_ "
                        "(default: $NEURRAM_DATA/speech_commands or $NEURRAM_SHARED/datasets/speech_commands)")
    parser.add_argument("--limit", type=int, default=None, metavar="N", help="first N test clips only")
    parser.add_argument("--calibration-clips", type=int, default=100, metavar="N",
                        help="training clips (in neither list) used for calibration (default 100)")
    parser.add_argument("--mvm", default="chip", choices=list(MVM_MODES),
                        help="chip: MVM on the board; measured-weights: read-back conductances, no circuit; "
                             "exact: intended weights, nothing sent (checks mapping and quantisation)")
    parser.add_argument("--output-bits", type=int, default=None,
                        help="neuron ADC bits (default 8, or the most the board can convert)")
    parser.add_argument("--settle-s", type=float, default=PAPER_SETTLE_S, metavar="S",
                        help="board time left to settle after each write-verify pass and before inference "
                             "(default 1800 s: the paper's 30 min)")
    parser.add_argument("--batch", type=int, default=500, help="clips per inference batch (default 500)")
    parser.add_argument("--iterations", type=int, default=3, help="write-verify passes (default 3)")


def speech_commands_dir():
    """``datasets_dir() / "speech_commands"`` (DataNotFoundError if absent)."""
    path = datasets_dir() / "speech_commands"
    if not path.is_dir():
        raise DataNotFoundError("the Speech Commands v0.02 folder", path, "put it there or pass --data DIR")
    return path


def run(board, out_dir, progress=None, model=None, data=None, limit=None, calibration_clips=100, mvm="chip",
        output_bits=None, settle_s=PAPER_SETTLE_S, batch=500, iterations=3) -> dict:
    """Map, program, calibrate and classify; returns the summary (accuracy, software_accuracy, paper_accuracy,
    layer_error, cores_used, matrices, ...). Everything is checked and read before the run file is created."""
    t0 = time.perf_counter()
    limit = optional_integer("limit", limit, 1, 1_000_000, "test clips")
    calibration_clips = integer("calibration_clips", calibration_clips, 1, 100_000, "calibration clips")
    mvm = choice("mvm", mvm, MVM_MODES)
    output_bits = optional_integer("output_bits", output_bits, 1, 10)
    settle_s, _, inference_wait_s = settle_protocol(settle_s, "paper")
    batch = integer("batch", batch, 1, 100_000, "clips per batch")
    iterations = integer("iterations", iterations, 1, MAX_ITERATIONS, "write-verify passes")
    model = file_path("model", model, (".npz",)) if model is not None else default_model(KWS_MODEL)
    data = dir_path("data", data) if data is not None else speech_commands_dir()
    kws = load_kws(model)
    clips, labels = test_clips(data, kws.words, limit)
    cal_clips, _ = training_clips(data, kws.words, calibration_clips)
    feats = mfcc_features(load_waves(clips))
    cal_feats = mfcc_features(load_waves(cal_clips))
    output_bits = ChipKWS(board, kws, mvm=mvm, output_bits=output_bits).output_bits  # checked before the run file
    params = {"model": str(model), "data": str(data), "limit": limit, "calibration_clips": calibration_clips,
              "mvm": mvm, "output_bits": output_bits, "settle_s": settle_s, "batch": batch, "iterations": iterations}
    tables = {
        "predictions": {"index": ("i4", ""), "label": ("u1", ""), "chip": ("u1", ""), "software": ("u1", "")},
        "matrices": {"core": ("i2", ""), "row0": ("i2", ""), "col0": ("i2", ""), "n_in": ("i2", ""),
                     "n_out": ("i2", ""), "w_max": ("f4", "")},
        "layer_error": {"layer_index": ("i2", ""), "error": ("f4", "")},
    }
    with start_run(board, out_dir, EXPERIMENT, params, tables) as log:
        board = log.board
        net = ChipKWS(board, kws, mvm=mvm, output_bits=output_bits)
        t = net.table
        log.append("matrices", core=t["core"], row0=t["row0"], col0=t["col0"], n_in=t["n_in"], n_out=t["n_out"],
                   w_max=t["w_max"])
        map_file = log.path.with_name(log.path.stem + "-mapping.csv")
        t.to_csv(map_file, index=False)
        cores_file = figure_path(log.path, "cores")
        draw_core_map(cores_file, t, f"KWS LSTM: {len(t)} matrices on {t['core'].nunique()} cores")
        t_prog = time.perf_counter()
        cells = int((t["n_in"] * t["n_out"] * 2).sum())
        tick, close = progress_callback(progress, cells, "program")
        prog = net.program(iterations=iterations, settle_s=settle_s, progress=lambda d, n: tick(d))
        close()
        board.wait(inference_wait_s)
        if mvm == "measured-weights":
            from neurram_lab.deploy.network import read_back

            read_back(board, list(net.programmed))
        program_wall_s = time.perf_counter() - t_prog
        t_cal = time.perf_counter()
        v_read = net.calibrate(cal_feats)
        calibration_wall_s = time.perf_counter() - t_cal
        t_inf = time.perf_counter()
        net.reset_errors()
        tick, close = progress_callback(progress, len(labels), "inference")
        pred = net.predict(feats, batch=batch, progress=tick).argmax(1)
        close()
        inference_wall_s = time.perf_counter() - t_inf
        errors = net.layer_errors()
        log.append("layer_error", **dict(zip(("layer_index", "error"), layer_error_rows(errors))))
        spred = np.concatenate([forward(kws, feats[i : i + batch]) for i in range(0, len(feats), batch)]).argmax(1)
        log.append("predictions", index=np.arange(len(labels)), label=labels, chip=pred, software=spred)
        summary = {
            "accuracy": float(np.mean(pred == labels)),
            "software_accuracy": float(np.mean(spred == labels)),
            "chip_software_agreement": float(np.mean(pred == spred)),
            "paper_accuracy": PAPER_ACCURACY,
            "n_clips": int(len(labels)),
            "class_counts": {w: int(np.sum(labels == k)) for k, w in enumerate(kws.words)},
            "calibration_clips": int(len(cal_clips)),
            "classes": list(kws.words),
            "settle_s": settle_s,
            "cores_used": int(t["core"].nunique()),
            "cells_used": cells,
            "matrices": int(len(t)),
            "settled_in_window_fraction": prog["settled_in_window_fraction"],
            "calibration_v_read_v": v_read,
            "layer_error": errors,
            "mvm": mvm,
            "output_bits": net.output_bits,
            "program_wall_s": program_wall_s,
            "calibration_wall_s": calibration_wall_s,
            "inference_wall_s": inference_wall_s,
            "run_file": str(log.path),
            "mapping_file": str(map_file),
            "core_map_file": str(cores_file),
        }
        return finish_run(log, summary, t0, lambda fig: _figure(fig, labels, pred, spred, summary))


def _figure(path, labels, pred, spred, s) -> None:
    draw_errors_and_accuracy(path, labels, pred, spred, s, f"same input codes, {s['n_clips']} clips",
                             f"Keyword spotting (4-cell LSTM) on NeuRRAM, {s['n_clips']} test clips")


def main(args, ctx) -> dict:
    return run_and_report(ctx, run, report, model=args.model, data=args.data, limit=args.limit,
                          calibration_clips=args.calibration_clips, mvm=args.mvm, output_bits=args.output_bits,
                          settle_s=args.settle_s, batch=args.batch, iterations=args.iterations)


def report(summary: dict, board_spec: str) -> str:
    """The text printed at the end of a run (``neurram replay`` prints it too)."""
    worst = max(summary["layer_error"].items(), key=lambda kv: kv[1])
    return (f"Keyword spotting (4-cell LSTM) on {board_spec} ({summary['mvm']}): accuracy {summary['accuracy']:.2%} "
            f"over {summary['n_clips']} clips (software {summary['software_accuracy']:.2%}, paper "
            f"{summary['paper_accuracy']:.1%}); {summary['matrices']} matrices on {summary['cores_used']} cores; "
            f"largest layer error {worst[1]:.3f} ({worst[0]}); {summary['wall_s']:.1f} s\n"
            f"Run file: {summary['run_file']}\nMapping:  {summary['mapping_file']}\n"
            f"Cores:    {summary['core_map_file']}\nFigure:   {summary['figure']}")
