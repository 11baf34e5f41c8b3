"""Keyword spotting on the twin: inference wall time and per-layer error of the authors' 4-cell LSTM.

``python benchmarks/bench_kws_lstm.py [--clips N] [--batch B] [--calibration-clips C] [--board-time]``: programs the
36 matrices on ``sim://`` (1 write-verify pass, no settle), calibrates each matrix on the inputs the
software model gives ``C`` synthetic clips, then classifies ``N`` synthetic clips (MFCC-like
features: N(0, 30) per coefficient, the range the learned input clip a1 ~ 116 admits), printing
one JSON line: program / calibration / inference wall seconds (and inference CPU seconds, all threads),
clips per second, the projection to
5 000 clips, the chip's own MVM time for them by the twin's circuit timing (``mvm_time_s``: pulses,
sampling and conversion; no host transfers) and the per-layer normalised error against software on
the same input codes.
No labels are needed, so no data set is either.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np


def main(argv=None) -> dict:
    from neurram_lab import open_board
    from neurram_lab.deploy.kws import ChipKWS, forward, load_kws

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=500)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--calibration-clips", type=int, default=50)
    ap.add_argument("--model", default=str(Path(os.environ.get("NEURRAM_SHARED", "../shared")) / "models"
                                           / "kws_lstm4_h112_wnoise0.16.npz"))
    ap.add_argument("--board-time", action="store_true", help="also the predicted real-board MVM time of 5 000 "
                    "clips: hil://'s board-time model's cost of one 4-bit signed input vector (bench_resnet20's "
                    "hil_per_vector_s) times the matrix-vector products a clip takes (the twin's MVM counter)")
    a = ap.parse_args(argv)
    model = load_kws(a.model)
    rng = np.random.default_rng(0)
    cal = rng.normal(0, 30, (a.calibration_clips, 50, 40))
    feats = rng.normal(0, 30, (a.clips, 50, 40))
    board = open_board("sim://?seed=1")
    net = ChipKWS(board, model, mvm="chip")
    t = time.perf_counter()
    prog = net.program(iterations=1, settle_s=0.0)
    program_s = time.perf_counter() - t
    t = time.perf_counter()
    net.calibrate(cal)
    calibration_s = time.perf_counter() - t
    net.reset_errors()
    mvm_s0, vec0 = board.counters()["mvm_time_s"], board.counters()["mvms"]
    t, c = time.perf_counter(), time.process_time()
    pred = net.predict(feats, batch=a.batch).argmax(1)
    inference_s, inference_cpu_s = time.perf_counter() - t, time.process_time() - c
    chip_mvm_s = board.counters()["mvm_time_s"] - mvm_s0
    vectors_per_clip = (board.counters()["mvms"] - vec0) / a.clips
    soft = forward(model, feats).argmax(1)
    out = {"clips": a.clips, "batch": a.batch, "program_wall_s": round(program_s, 2),
           "calibration_wall_s": round(calibration_s, 2), "inference_wall_s": round(inference_s, 2),
           "clips_per_s": round(a.clips / inference_s, 2), "inference_cpu_s": round(inference_cpu_s, 2),
           "projected_5000_clips_s": round(inference_s * 5000 / a.clips, 1),
           "cells_programmed": prog["cells_programmed"],
           "twin_chip_mvm_time_s": round(chip_mvm_s, 4),
           "twin_chip_mvm_time_5000_clips_s": round(chip_mvm_s * 5000 / a.clips, 3),
           "chip_software_agreement": float(np.mean(pred == soft)),
           "layer_error": {k: round(v, 4) for k, v in net.layer_errors().items()}}
    if a.board_time:
        import sys

        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: benchmarks/ importable
        from benchmarks.bench_resnet20 import hil_per_vector_s

        per_vector = hil_per_vector_s((4,), signed=True)[4]
        out.update({"hil_per_vector_s_4bit_signed": round(per_vector, 6),
                    "matrix_vectors_per_clip": vectors_per_clip,
                    "predicted_board_mvm_s_per_clip": round(per_vector * vectors_per_clip, 3),
                    "predicted_board_mvm_5000_clips_h": round(per_vector * vectors_per_clip * 5000 / 3600, 1)})
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
