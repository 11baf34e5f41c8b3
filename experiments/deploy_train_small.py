"""``neurram deploy train-small``: train a small CNN here, deploy it, fine-tune it with the chip in the loop.

Needs the ``train`` extra (CPU PyTorch). On the 5 000-image MNIST training
sample it trains the same small CNN twice, without and with weight-noise
injection (SPEC §5), deploys both on the chip (separate cores), then runs
chip-in-the-loop progressive fine-tuning on the noise-trained one (program
one layer at a time, fine-tune the later layers in software on the chip's
measured activations of training images; learning rate 1e-4 by default, as
the paper's 1/100 of the training rate moved this briefly trained model by
nothing measurable in 2 epochs). Every model is
scored on the official test set in software and on the chip; the figure
shows what each technique buys (like the paper's Fig. 5a/b).
"""

from __future__ import annotations

import time

import numpy as np

from neurram_lab.validate import MAX_ITERATIONS, choice, dir_path, integer, number

from neurram_lab.deploy import load_mnist, map_model
from neurram_lab.deploy.model import Model
from neurram_lab.deploy.network import ChipNetwork, read_back
from neurram_lab.deploy.zoo import small_cnn
from neurram_lab.errors import InputError

from ._common import (PAPER_SETTLE_S, add_data_arguments, add_protocol_arguments, calibration_modes, finish_run,
                      mnist_dir, protocol_parameters, pyplot, run_and_report, settle_protocol, start_run)

EXPERIMENT = "deploy-train-small"
COMMAND = ("deploy", "train-small")
HELP = "train a small CNN (plain and noise-injected), deploy it, fine-tune with the chip in the loop (needs torch)"

CORE_SETS = (range(0, 16), range(16, 32), range(32, 48))


def add_arguments(parser) -> None:
    add_data_arguments(parser)
    parser.add_argument("--epochs", type=int, default=6, help="training epochs (default 6)")
    parser.add_argument("--finetune-epochs", type=int, default=3, help="fine-tuning epochs per layer (default 3)")
    parser.add_argument("--noise", type=float, default=0.15, help="training weight noise, fraction of max|W| (default 0.15)")
    parser.add_argument("--limit", type=int, default=2000, metavar="N", help="test images scored (default 2000)")
    parser.add_argument("--train-images", type=int, default=5000, metavar="N", help="training images used (default 5000)")
    parser.add_argument("--finetune-lr", type=float, default=1e-4,
                        help="fine-tuning learning rate (default 1e-4; 1e-5, the paper's 1/100, moved nothing in 2 epochs)")
    parser.add_argument("--mvm", default="chip", choices=["chip", "measured-weights"], help="MVM path (default chip)")
    add_protocol_arguments(parser)


def run(board, out_dir, progress=None, data=None, epochs=6, finetune_epochs=3, noise=0.15, limit=2000,
        train_images=5000, mvm="chip", lr=1e-3, finetune_lr=1e-4, seed=0, settle_s=PAPER_SETTLE_S,
        calibration="paper", inference_wait_s=None) -> dict:
    """Train, deploy, fine-tune; returns software and chip accuracies of each model.

    ``accuracy`` is with the headline calibration (``calibration``: the paper's when ``both``, which also
    gives ``accuracy_per_column``); chip-in-the-loop fine-tuning calibrates each layer the headline way.
    ``inference_wait_s``: board time (s) the programmed conductances settle before inference (and before
    each fine-tuning layer's measurement); None: ``settle_s``, the paper's protocol.
    """
    epochs = integer("epochs", epochs, 1, MAX_ITERATIONS)
    finetune_epochs = integer("finetune_epochs", finetune_epochs, 0, MAX_ITERATIONS)
    noise = number("noise", noise, 0.0, 1.0, "training weight noise, a fraction of max|W|")
    limit = integer("limit", limit, 1, 10_000, "test images")
    train_images = integer("train_images", train_images, 1, 60_000)
    mvm = choice("mvm", mvm, ("chip", "measured-weights"))
    lr = number("lr", lr, 0.0, 10.0, "learning rate", lo_open=True)
    finetune_lr = number("finetune_lr", finetune_lr, 0.0, 10.0, "learning rate", lo_open=True)
    seed = integer("seed", seed, 0)
    given_wait_s = inference_wait_s
    settle_s, calibration, inference_wait_s = settle_protocol(settle_s, calibration, inference_wait_s)
    modes = calibration_modes(calibration)
    data = dir_path("data", data) if data is not None else data
    try:
        from neurram_lab.deploy.training import init_params, progressive_finetune, train
    except ImportError as exc:
        raise InputError("deploy train-small needs the train extra: pip install torch==2.13.0") from exc
    t0 = time.perf_counter()
    data = data if data is not None else mnist_dir()
    params = {"data": str(data), "epochs": epochs, "finetune_epochs": finetune_epochs, "noise": noise, "limit": limit,
              "train_images": train_images, "mvm": mvm, "lr": lr, "finetune_lr": finetune_lr, "seed": seed,
              **protocol_parameters(settle_s, calibration, inference_wait_s, given_wait_s)}
    x, y = load_mnist(data, "train-5k")  # the sample is sorted by class: shuffle before taking a subset
    pick = np.random.default_rng(seed).permutation(len(x))[:train_images]
    x, y = x[pick], y[pick]
    xt, yt = load_mnist(data, "test", limit)
    arch = small_cnn()
    init = Model.from_arch(arch, init_params(arch, seed))
    tables = {"scores": {"model": ("i1", ""), "software": ("f4", ""), "chip": ("f4", ""),
                         "chip_per_column": ("f4", "")}}
    with start_run(board, out_dir, EXPERIMENT, params, tables) as log:
        board = log.board
        models = {"plain": train(init, x, y, epochs, 0.0, lr, seed=seed),
                  "noise": train(init, x, y, epochs, noise, lr, seed=seed)}
        result = {}
        for (name, model), cores in zip(models.items(), CORE_SETS):
            net = _deploy(board, model, cores, mvm, settle_s, inference_wait_s)
            result[name] = {"software": _acc(model.predict(xt), yt), **_chip_acc(net, x[:500], xt, yt, modes)}
        # chip-in-the-loop progressive fine-tuning of the noise-trained model on fresh cores
        mapping = map_model(models["noise"], cores=list(CORE_SETS[2]), split_wide=False)
        net = ChipNetwork(board, mapping, 1e-6, 40e-6, mvm=mvm)
        report = progressive_finetune(net, x, y, finetune_epochs, noise, finetune_lr, relax_s=inference_wait_s,
                                      settle_s=settle_s, per_column=modes[0][1])
        board.wait(inference_wait_s)
        if mvm == "measured-weights":
            read_back(board, list(net.programmed.values()))
        result["noise+finetune"] = {"software": _acc(mapping.model.predict(xt), yt),
                                    **_chip_acc(net, x[:500], xt, yt, modes)}
        for i, (k, v) in enumerate(result.items()):
            log.append("scores", model=i, software=v["software"], chip=v["chip"],
                       chip_per_column=v.get("per-column", float("nan")))
        summary = {"accuracy": {k: v["chip"] for k, v in result.items()},
                   "calibration": modes[0][0], "settle_s": settle_s,
                   "accuracy_per_column": ({k: v["per-column"] for k, v in result.items()}
                                           if "per-column" in result["plain"] else None),
                   "software_accuracy": {k: v["software"] for k, v in result.items()},
                   "finetune_train_accuracy": report, "n_test": int(len(yt)), "n_train": int(len(y)), "mvm": mvm,
                   "run_file": str(log.path)}
        return finish_run(log, summary, t0, lambda fig: _figure(fig, result, summary))


def _deploy(board, model, cores, mvm, settle_s, inference_wait_s):
    net = ChipNetwork(board, map_model(model, cores=list(cores), split_wide=False), 1e-6, 40e-6, mvm=mvm)
    net.program(settle_s=settle_s)
    board.wait(inference_wait_s)
    if mvm == "measured-weights":
        read_back(board, list(net.programmed.values()))
    return net


def _chip_acc(net, cal_x, xt, yt, modes) -> dict:
    """Test accuracy each calibration way: ``chip`` the headline's, then one key per way."""
    out = {}
    for name, per_column in modes:
        net.calibrate(cal_x, per_column=per_column)
        out[name] = _acc(net.predict(xt), yt)
    return {"chip": out[modes[0][0]], **out}


def _acc(scores, labels) -> float:
    return float(np.mean(np.asarray(scores).argmax(1) == labels))


def _figure(path, result, s) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
    names = list(result)
    i = np.arange(len(names))
    sw = [result[n]["software"] for n in names]
    ch = [result[n]["chip"] for n in names]
    ax.bar(i - 0.2, sw, 0.4, label="software (no noise)")
    ax.bar(i + 0.2, ch, 0.4, label=f"chip ({s['mvm']})")
    for j, (a, b) in enumerate(zip(sw, ch)):
        ax.text(j - 0.2, a, f"{a:.1%}", ha="center", va="bottom", fontsize=7)
        ax.text(j + 0.2, b, f"{b:.1%}", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(i, ["plain training", "noise injection", "noise + chip-in-the-loop"])
    lo = min(sw + ch)
    ax.set_ylim(max(0.0, lo - 0.05), 1.0)
    ax.set_ylabel(f"accuracy ({s['n_test']} test images)")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(f"small CNN trained on {s['n_train']} MNIST images", fontsize=9)
    plt.save(fig, path)


def main(args, ctx) -> dict:
    return run_and_report(ctx, run, report, data=args.data, epochs=args.epochs,
                          finetune_epochs=args.finetune_epochs, noise=args.noise, limit=args.limit,
                          train_images=args.train_images, mvm=args.mvm, finetune_lr=args.finetune_lr,
                          seed=args.seed or 0, settle_s=args.settle_s, calibration=args.calibration)


def report(s: dict, board_spec: str) -> str:
    """The human-readable summary printed at the end of a run (``neurram replay`` prints it too)."""
    pc = s.get("accuracy_per_column") or {}
    cal = f" ({s['calibration']} calibration)" if s.get("calibration") else ""
    return ("\n".join(f"{k:>16}: software {s['software_accuracy'][k]:.2%}, chip {v:.2%}{cal}"
                      + (f", {pc[k]:.2%} with the per-column fit" if k in pc and s.get("calibration") == "paper" else "")
                      for k, v in s["accuracy"].items())
            + f"\nRun file: {s['run_file']}\nFigure:   {s['figure']}")
