"""``neurram bench deploy-cnn``: the authors' MNIST CNN over the whole MNIST test set on a board, timed.

Programs the 16 matrices, lets them relax, calibrates on training images,
then classifies ``--limit`` test images (default all 10 000) in batches of
``--batch`` images: each layer of a batch is one MVM call carrying every
conv patch of every image. ``wall_s`` is the inference time (``cpu_s`` the process's CPU time over
it, the fairer figure on a shared machine); ``mvm_s`` the
part spent inside the board's MVM (the twin's physics on ``sim://``) and
``fpga_s`` the rest (patches, partial sums, pooling, quantisation).
"""

from __future__ import annotations

import time

import numpy as np

from neurram_lab.deploy import load_mnist, load_model, map_model
from neurram_lab.deploy.network import MVM_MODES, ChipNetwork

COMMAND = ("bench", "deploy-cnn")
HELP = "time the authors' MNIST CNN over the MNIST test set on the board"
from neurram_lab.experiments._common import CNN_MODEL, default_model, mnist_dir



def add_arguments(parser) -> None:
    parser.add_argument("--model", default=None, help="model .npz (default: mnist_cnn_7layer_3bit_wnoise0.15.npz in $NEURRAM_MODELS or $NEURRAM_SHARED/models)")
    parser.add_argument("--data", default=None, help="directory of the MNIST IDX files (default: $NEURRAM_DATA/mnist or $NEURRAM_SHARED/datasets/mnist)")
    parser.add_argument("--limit", type=int, default=None, metavar="N", help="test images (default all 10 000)")
    parser.add_argument("--batch", type=int, default=1000, help="images per batch (default 1000)")
    parser.add_argument("--mvm", default="chip", choices=sorted(MVM_MODES), help="MVM path (default chip)")
    parser.add_argument("--skip-zero", action="store_true",
                        help="FPGA zero skipping: one MVM stands for all all-zero patches of a batch")


def bench(board, model_path, data, limit=None, batch=1000, mvm="chip", calibration_images=200, skip_zero=False,
          progress=None) -> dict:
    """Deploy and time inference; returns wall_s, images_per_s, accuracy and the time split."""
    model = load_model(model_path if model_path is not None else default_model(CNN_MODEL))
    data = data if data is not None else mnist_dir()
    mapping = map_model(model, max_inputs=100, split_wide=False)
    net = ChipNetwork(board, mapping, mvm=mvm, skip_zero_inputs=skip_zero)
    t0 = time.perf_counter()
    net.program()
    board.wait(1800.0)
    t1 = time.perf_counter()
    cal, _ = load_mnist(data, "train-5k")
    net.calibrate(cal[:: max(1, len(cal) // calibration_images)][:calibration_images])
    t2 = time.perf_counter()
    images, labels = load_mnist(data, "test", limit)
    net.mvm_time_s = 0.0
    t3, c3 = time.perf_counter(), time.process_time()
    scores = net.predict(images, batch=batch, progress=progress)
    wall, cpu = time.perf_counter() - t3, time.process_time() - c3
    return {
        "images": int(len(labels)),
        "batch": int(batch),
        "wall_s": wall,
        "cpu_s": cpu,
        "images_per_s": len(labels) / wall,
        "mvm_s": net.mvm_time_s,
        "fpga_s": wall - net.mvm_time_s,
        "accuracy": float(np.mean(scores.argmax(1) == labels)),
        "program_s": t1 - t0,
        "calibrate_s": t2 - t1,
        "mvm": mvm,
        "skip_zero": bool(skip_zero),
    }


def main(args, ctx) -> dict:
    with ctx.open_board() as board:
        bar = ctx.progress(args.limit or 10000, "inference", unit="img")
        last = [0]

        def tick(n):
            bar.update(n - last[0])
            last[0] = n

        s = bench(board, args.model, args.data, args.limit, args.batch, args.mvm, skip_zero=args.skip_zero,
                  progress=tick)
        bar.close()
    ctx.say(f"{s['images']} images in {s['wall_s']:.1f} s ({s['images_per_s']:.0f}/s; board MVM {s['mvm_s']:.1f} s, "
            f"FPGA side {s['fpga_s']:.1f} s), accuracy {s['accuracy']:.2%} on {board.spec}")
    return s
