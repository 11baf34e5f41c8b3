"""ResNet-20 on the twin: inference wall time and per-layer error of the authors' CIFAR-10 weights.

``python benchmarks/bench_resnet20.py [--images N] [--batch B] [--calibration-images C] [--mnist-cnn M]``:
maps the 61 matrices of the authors' ResNet-20 onto the 48 cores (paper's rule, :func:`map_model`),
programs them on ``sim://?seed=1`` (1 write-verify pass, no settle), runs the paper's per-layer
calibration on ``C`` synthetic CIFAR-shaped images (uint8 32 x 32 x 3,
random 4 x 4-pixel blocks), then
classifies ``N`` more in batches of ``B`` (with ``--error-images E``: plain inference, and the per-layer
error on ``E`` more images afterwards, timed apart), printing one JSON line: program / calibration /
inference wall seconds (and the inference's CPU seconds, all threads), images per second, the projection
to 10 000 images, the chip's own MVM
time by the twin's circuit timing (``twin_chip_mvm_time_s``: pulses, sampling, conversion; no host
transfers), the chip/software class agreement and the per-layer normalised error
``||chip - software|| / ||software||`` on the same inputs (the paper's per-layer plot).

With ``--mnist-cnn M`` it also gives the per-layer error of the authors' MNIST CNN on ``M``
synthetic 28 x 28 images (same protocol: 1 pass, no settle, calibration on 200 synthetic images),
as ``mnist_cnn_layer_error``. No labels are needed, so no data set is either.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

MODELS = Path(os.environ.get("NEURRAM_SHARED", "../shared")) / "models"


def _deploy(board, model, images, cal, batch, error_images=None, **map_kw) -> dict:
    """Program, calibrate, then classify ``images`` (timed: plain inference, ``ChipNetwork.predict``) and, when
    ``error_images`` is not None, measure the per-layer error on those (timed apart: the exact reference products
    of every layer). ``error_images`` None: one pass through the meter does both, timed as inference."""
    from neurram_lab.deploy.fidelity import LayerErrors
    from neurram_lab.deploy.mapping import map_model
    from neurram_lab.deploy.network import ChipNetwork

    mapping = map_model(model, **map_kw)
    net = ChipNetwork(board, mapping, mvm="chip")
    t = time.perf_counter()
    prog = net.program(iterations=1, settle_s=0.0)
    program_s = time.perf_counter() - t
    t = time.perf_counter()
    net.calibrate(cal, batch=batch, per_column=False)
    calibration_s = time.perf_counter() - t
    mvm_s0 = board.counters()["mvm_time_s"]
    meter = LayerErrors(net)
    t, c = time.perf_counter(), time.process_time()
    pred = (meter if error_images is None else net).predict(images, batch=batch).argmax(1)
    inference_s, inference_cpu_s = time.perf_counter() - t, time.process_time() - c
    chip_mvm_s = board.counters()["mvm_time_s"] - mvm_s0
    error_s = None
    if error_images is not None:
        t = time.perf_counter()
        meter.predict(error_images, batch=batch)
        error_s = time.perf_counter() - t
    return {"mapping": mapping, "prog": prog, "program_s": program_s, "calibration_s": calibration_s,
            "inference_s": inference_s, "inference_cpu_s": inference_cpu_s, "chip_mvm_s": chip_mvm_s, "pred": pred,
            "layer_error": meter.table(), "layer_error_s": error_s}


def _blocky(rng, n: int) -> np.ndarray:
    """uint8 (n, 32, 32, 3) of random 4 x 4-pixel blocks: structure for the convs, not only pixel noise."""
    return np.kron(rng.integers(0, 256, (n, 8, 8, 3)), np.ones((1, 4, 4, 1))).astype(np.uint8)


def main(argv=None) -> dict:
    from neurram_lab import open_board
    from neurram_lab.deploy.resnet20 import load_resnet20

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--calibration-images", type=int, default=200)
    ap.add_argument("--model", default=str(MODELS / "resnet20_cifar10_act3b_wnoise0.10.npz"))
    ap.add_argument("--error-images", type=int, default=-1, metavar="E", help="measure the per-layer error on E more "
                    "synthetic images after the timed inference, timed apart (default -1: through the meter during "
                    "the inference, which then includes the exact reference products)")
    ap.add_argument("--mnist-cnn", type=int, default=0, metavar="M", help="also the MNIST CNN's per-layer error "
                    "on M synthetic images (default 0: skipped)")
    ap.add_argument("--board-time", action="store_true", help="also the predicted real-board MVM time of 10 000 "
                    "images: the board-time model's cost per input vector on hil:// (authors' bitstream), "
                    "times the vectors each matrix gets per image")
    a = ap.parse_args(argv)
    software, chip = load_resnet20(a.model)
    rng = np.random.default_rng(0)
    cal, images = _blocky(rng, a.calibration_images), _blocky(rng, a.images)
    err_images = _blocky(rng, a.error_images) if a.error_images > 0 else None
    board = open_board("sim://?seed=1")
    r = _deploy(board, chip, images, cal, a.batch, err_images)
    soft = software.predict(images, batch=a.batch).argmax(1)
    m = r["mapping"]
    out = {"images": a.images, "batch": a.batch, "matrices": m.n_matrices, "cores_used": m.cores_used,
           "cells_used": m.cells_used, "cells_programmed": r["prog"].get("cells_programmed"),
           "program_wall_s": round(r["program_s"], 2), "calibration_wall_s": round(r["calibration_s"], 2),
           "inference_wall_s": round(r["inference_s"], 2), "images_per_s": round(a.images / r["inference_s"], 2),
           "inference_cpu_s": round(r["inference_cpu_s"], 2),
           "projected_10000_images_s": round(r["inference_s"] * 10_000 / a.images, 1),
           "twin_chip_mvm_time_s": round(r["chip_mvm_s"], 4),
           "twin_chip_mvm_time_10000_images_s": round(r["chip_mvm_s"] * 10_000 / a.images, 3),
           "chip_software_agreement": float(np.mean(r["pred"] == soft)),
           "inference_includes_layer_error": err_images is None,
           "layer_error_images": a.images if err_images is None else a.error_images,
           "layer_error": {k: round(v, 4) for k, v in r["layer_error"].items()}}
    if r["layer_error_s"] is not None:
        out["layer_error_wall_s"] = round(r["layer_error_s"], 2)
    if a.mnist_cnn:
        out["mnist_cnn_layer_error"] = _mnist_cnn(a.mnist_cnn)
    if a.board_time:
        out.update(_board_time(chip, m))
    print(json.dumps(out))
    return out


def hil_per_vector_s(bits_list=(4, 3), signed: bool = False) -> dict:
    """Predicted real-board seconds of one input vector at each of ``bits_list`` input bits (in that order, on
    one ``hil://`` board) by its board-time model: the slope between 64 and 256 vectors on one programmed
    8 x 16 matrix (one core per request)."""
    from neurram_lab import open_board
    from neurram_lab.mvm.mvm import run_mvm
    from neurram_lab.program.programming import program_weights
    from neurram_lab.program.weights import MatrixPlacement

    board = open_board("hil://?seed=1")
    rng = np.random.default_rng(0)
    pm = program_weights(board, rng.uniform(-1, 1, (8, 16)), MatrixPlacement(0, 0, 0, 8, 16), iterations=1,
                         settle_s=0.0)
    per_vector_s = {}
    for bits in bits_list:
        lo, hi = (-(2 ** (bits - 1) - 1), 2 ** (bits - 1)) if signed else (0, 2 ** (bits - 1))
        t = []
        for n in (64, 256):
            t0 = board.counters()["predicted_board_time_s"]
            run_mvm(board, pm, rng.integers(lo, hi, (n, 8)).astype(np.int16), input_bits=bits, output_bits=7,
                    signed=signed)
            t.append(board.counters()["predicted_board_time_s"] - t0)
        per_vector_s[bits] = (t[1] - t[0]) / 192
    return per_vector_s


def _board_time(model, mapping) -> dict:
    """Predicted real-board MVM time of 10 000 images from ``hil://``'s board-time model (FrontPanel calls and
    the bitstream's FPGA cycles): the cost of one input vector at 3 and 4 input bits (slope between 64 and 256
    vectors on one programmed 8 x 16 matrix), times the vectors each of the 61 matrices gets per image (one per
    output position of its layer; the authors' bitstream runs one core per request)."""
    from neurram_lab.deploy.model import exact_matmul

    vectors = {}

    def count(layer, x):
        vectors[layer.name] = int(np.prod(np.shape(x)[:-1]))
        return exact_matmul(layer, x)

    model.predict(np.zeros((1, 32, 32, 3), np.uint8), count, batch=1)
    per_vector_s = hil_per_vector_s((4, 3))
    tab = mapping.table
    per_image = sum(vectors[r.layer] * per_vector_s[4 if r.layer == "stem.conv" else 3]
                    for r in tab[tab["replica"] == 0].itertuples())
    return {"hil_per_vector_s": {f"{b}bit": round(v, 6) for b, v in per_vector_s.items()},
            "matrix_vectors_per_image": int(sum(vectors[r.layer] for r in tab[tab["replica"] == 0].itertuples())),
            "predicted_board_mvm_s_per_image": round(per_image, 3),
            "predicted_board_mvm_10000_images_h": round(per_image * 10_000 / 3600, 1)}


def _mnist_cnn(n: int) -> dict:
    """Per-layer error of the authors' MNIST CNN on ``n`` synthetic images (uint8 28 x 28, ~20 % of pixels lit
    at random levels, the rest black as MNIST's background), mapped as ``deploy mnist-cnn`` maps it."""
    from neurram_lab import open_board
    from neurram_lab.deploy import load_model

    model = load_model(MODELS / "mnist_cnn_7layer_3bit_wnoise0.15.npz")
    rng = np.random.default_rng(1)

    def synth(k):
        return (rng.integers(0, 256, (k, 28, 28)) * (rng.random((k, 28, 28)) < 0.2)).astype(np.uint8)

    r = _deploy(open_board("sim://?seed=1"), model, synth(n), synth(200), 1000, max_inputs=100, split_wide=False)
    return {k: round(v, 4) for k, v in r["layer_error"].items()}


if __name__ == "__main__":
    main()
