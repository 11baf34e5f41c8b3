"""``neurram deploy rbm-recovery``: image recovery with the authors' RBM (Extended Data Fig. 10).

Programs the 794 x 120 RBM (visible pixels dealt round-robin over 4 cores)
with iterative write-verify under the paper's protocol (30 min of board time
settle before each verify re-read and before use, ``settle_s``), calibrates it
on training images (``calibration``: ``paper``, the per-direction operating
point and ADC offsets, the default; ``per-column``, also a slope and intercept per unit
fitted against exact outputs; ``both``, each, the paper's as the
headline ``l2_after``), corrupts MNIST test digits (20 % of pixels flipped, or the
bottom third occluded), and runs 10 Gibbs cycles on the chip with the known
pixels and the label clamped, the hidden units sampled by the chip's
stochastic neurons where the board has them (``--hidden-noise``; runs
recorded before the option sampled them on the host and replay so). Reports the mean per-image L2 error before and
after, and draws corrupted and recovered digits.
"""

from __future__ import annotations

import time

import numpy as np

from neurram_lab.validate import MAX_STEPS, choice, dir_path, file_path, integer

from neurram_lab.deploy import load_mnist
from neurram_lab.deploy.network import deploy_output_bits, read_back
from neurram_lab.deploy.rbm import RBM, ChipRBM, rbm_layers, recover

from ._common import (PAPER_SETTLE_S, RBM_MODEL, add_data_arguments, add_protocol_arguments, calibration_modes,
                      default_model, finish_run, mnist_dir, progress_callback, pyplot, run_and_report,
                      protocol_parameters, settle_protocol, start_run)

EXPERIMENT = "deploy-rbm-recovery"
COMMAND = ("deploy", "rbm-recovery")
HELP = "recover corrupted MNIST digits with the authors' RBM on the chip"
MERIT = "l2_reduction"  # the figure a sweep draws by default: how much of the corruption the RBM removes



def add_arguments(parser) -> None:
    add_data_arguments(parser, "RBM .npz (W, a, b, w_max)"
                       " (default: rbm_v794_h120_wnoise0.15.npz in $NEURRAM_MODELS or $NEURRAM_SHARED/models)")
    parser.add_argument("--corruption", default="flip", choices=["flip", "bottom"],
                        help="flip 20%% of pixels, or occlude the bottom third (default flip)")
    parser.add_argument("--limit", type=int, default=1000, metavar="N", help="test images to recover (default 1000)")
    parser.add_argument("--steps", type=int, default=10, help="Gibbs cycles (default 10)")
    parser.add_argument("--mvm", default="chip", choices=["chip", "measured-weights", "exact"],
                        help="chip: MVM on the board; measured-weights: read-back conductances; exact: software")
    parser.add_argument("--hidden-noise", default="auto", choices=["auto", "chip", "host"],
                        help="sample the hidden units with the chip's stochastic (LFSR) neurons, the host's LFSR, "
                             "or the chip where the board has them (default auto)")
    add_protocol_arguments(parser, "use")


def run(board, out_dir, progress=None, model=None, data=None, corruption="flip",
        limit=1000, steps=10, mvm="chip", settle_s=PAPER_SETTLE_S, calibration="paper", seed=0, inference_wait_s=None,
        hidden_noise=None) -> dict:
    """Program, corrupt, recover; returns l2_before, l2_after, l2_reduction (the paper's calibration),
    l2_after_per_column, l2_reduction_per_column and paths.

    ``inference_wait_s``: board time (s) the programmed conductances settle before use; None: ``settle_s``,
    the paper's protocol. ``hidden_noise`` None (runs recorded without it): sampled
    on the host, as they were.
    """
    t0 = time.perf_counter()
    corruption = choice("corruption", corruption, ("flip", "bottom"))
    limit = integer("limit", limit, 1, 10_000, "test images")
    steps = integer("steps", steps, 1, MAX_STEPS, "Gibbs cycles")
    mvm = choice("mvm", mvm, ("chip", "measured-weights", "exact"))
    given_wait_s = inference_wait_s
    settle_s, calibration, inference_wait_s = settle_protocol(settle_s, calibration, inference_wait_s)
    seed = integer("seed", seed, 0)
    noise = "host" if hidden_noise is None else choice("hidden_noise", hidden_noise, ("auto", "chip", "host"))
    model = file_path("model", model, (".npz",)) if model is not None else default_model(RBM_MODEL)
    data = dir_path("data", data) if data is not None else mnist_dir()
    params = {"model": str(model), "data": str(data), "corruption": corruption, "limit": limit, "steps": steps,
              "mvm": mvm, "seed": seed, **({} if hidden_noise is None else {"hidden_noise": hidden_noise}),
              **protocol_parameters(settle_s, calibration, inference_wait_s, given_wait_s)}
    modes = calibration_modes(calibration) if mvm != "exact" else [(None, False)]
    rbm = RBM.load(model)
    if mvm == "chip":  # visible -> hidden runs backward: a board without it is refused before anything is sent
        deploy_output_bits(board, rbm_layers(3, {"parallel": False}), mvm)
    images, labels = load_mnist(data, "test", limit)
    tables = {"images": {"index": ("i4", ""), "label": ("u1", ""), "l2_before": ("f4", ""), "l2_after": ("f4", ""),
                         "l2_after_per_column": ("f4", "")}}
    with start_run(board, out_dir, EXPERIMENT, params, tables) as log:
        board = log.board
        chip = ChipRBM(board, rbm, 1e-6, 30e-6, mvm=mvm, seed=seed, hidden_noise=noise)
        prog = {}
        if mvm != "exact":
            tick, close = progress_callback(progress, chip.cells_used, "program")
            prog = chip.program(settle_s=settle_s, progress=lambda d, n: tick(d))
            close()
            board.wait(inference_wait_s)
            if mvm == "measured-weights":
                read_back(board, chip.programmed)
            cal_x, cal_y = load_mnist(data, "train-5k")  # sorted by class: take a seeded random 500
            pick = np.random.default_rng(seed).permutation(len(cal_x))[:500]
        outs = {}
        for name, per_column in modes:  # calibrate, then recover the same corrupted images, each way
            if mvm != "exact":
                chip.calibrate(cal_x[pick], cal_y[pick], per_column=per_column)
            tick, close = progress_callback(progress, steps, "Gibbs" + (f" ({name})" if name else ""))
            outs[name] = recover(chip, images, labels, corruption, steps, seed, progress=tick)
            close()
        headline = modes[0][0]
        out, other = outs[headline], outs.get("per-column")
        x, bad, rec = out["clean"], out["corrupted"], out["recovered"]
        log.append("images", index=np.arange(len(labels)), label=labels,
                   l2_before=np.linalg.norm(bad - x, axis=1), l2_after=np.linalg.norm(rec - x, axis=1),
                   l2_after_per_column=np.full(len(labels), np.nan) if other is None
                   else np.linalg.norm(other["recovered"] - x, axis=1))
        summary = {"l2_before": out["l2_before"], "l2_after": out["l2_after"], "l2_reduction": out["l2_reduction"],
                   "calibration": headline, "settle_s": settle_s,
                   "l2_after_paper": outs["paper"]["l2_after"] if "paper" in outs else None,
                   "l2_after_per_column": None if other is None else other["l2_after"],
                   "l2_reduction_per_column": None if other is None else other["l2_reduction"],
                   "corruption": corruption, "n_images": int(len(labels)), "steps": steps, "mvm": mvm,
                   "hidden_noise": chip.hidden_noise, "cores_used": chip.cores_used, "cells_used": chip.cells_used,
                   "settled_in_window_fraction": prog.get("settled_in_window_fraction"), "run_file": str(log.path)}
        return finish_run(log, summary, t0, lambda fig: _figure(fig, x, bad, rec, summary))


def _figure(path, x, bad, rec, s, n=10) -> None:
    plt = pyplot()
    n = min(n, len(x))
    fig, ax = plt.subplots(3, n, figsize=(1.2 * n, 4), squeeze=False)
    for i in range(n):
        for r, (img, name) in enumerate(((x, "original"), (bad, "corrupted"), (rec, "recovered"))):
            ax[r, i].imshow(img[i].reshape(28, 28), cmap="gray", vmin=0, vmax=1)
            ax[r, i].set_xticks([])
            ax[r, i].set_yticks([])
            if i == 0:
                ax[r, i].set_ylabel(name, fontsize=8)
    fig.suptitle(f"RBM recovery ({s['corruption']}, {s['mvm']}): L2 {s['l2_before']:.2f} → {s['l2_after']:.2f} "
                 f"({l2_change(s['l2_reduction'])})", fontsize=9)
    plt.save(fig, path)


def main(args, ctx) -> dict:
    return run_and_report(ctx, run, report, model=args.model, data=args.data,
                          corruption=args.corruption, limit=args.limit, steps=args.steps, mvm=args.mvm,
                          settle_s=args.settle_s, calibration=args.calibration, seed=args.seed or 0,
                          hidden_noise=args.hidden_noise)


def report(summary: dict, board_spec: str) -> str:
    """The human-readable summary printed at the end of a run (``neurram replay`` prints it too)."""
    cal = summary.get("calibration")
    how = "" if cal is None else f", {cal} calibration"
    if cal == "paper" and summary.get("l2_after_per_column") is not None:
        how += f"; {summary['l2_after_per_column']:.3f} with the per-column fit"
    hidden = f", hidden units sampled on the {summary['hidden_noise']}" if summary.get("hidden_noise") else ""
    return (f"RBM recovery ({summary['corruption']}) on {board_spec}: L2 error {summary['l2_before']:.3f} → "
            f"{summary['l2_after']:.3f} ({l2_change(summary['l2_reduction'], '.1%')}{how}) over {summary['n_images']} images"
            f"{hidden}\n"
            f"Run file: {summary['run_file']}\nFigure:   {summary['figure']}")


def l2_change(reduction: float, fmt: str = ".0%") -> str:
    """``"12.5% lower"`` for a reduction of 0.125, ``"12.5% higher"`` for -0.125 (recovery made it worse)."""
    if reduction < 0:
        return f"{-reduction:{fmt}} higher"
    return f"{reduction:{fmt}} lower"
