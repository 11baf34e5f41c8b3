"""The summary figure of a classifying deploy run: per-layer chip error and per-class accuracy."""

from __future__ import annotations

import numpy as np

from ._common import pyplot


def draw_errors_and_accuracy(path, labels, pred, spred, s: dict, what: str, title: str) -> None:
    """Left: ``s["layer_error"]`` per layer; right: per-class accuracy of the chip (``pred``) and software
    (``spred``) against ``labels``, with the paper's on-chip figure; ``what`` names the inputs
    (``"same inputs, 100 images"``), ``title`` the figure. ``s`` is the run's summary."""
    plt = pyplot()
    fig, ax = plt.subplots(1, 2, figsize=(13, 4.2), layout="constrained")
    err = s["layer_error"]
    ax[0].bar(np.arange(len(err)), list(err.values()), color="tab:blue")
    ax[0].set_xticks(np.arange(len(err)))
    ax[0].set_xticklabels(list(err), rotation=90, fontsize=6 if len(err) > 12 else 7)
    ax[0].set_ylabel("normalised error  ||chip - software|| / ||software||")
    ax[0].set_title(f"per-layer error ({s['mvm']}), {what}")
    cls = np.arange(len(s["classes"]))
    acc_c = [np.mean(pred[labels == c] == c) if np.any(labels == c) else np.nan for c in cls]
    acc_s = [np.mean(spred[labels == c] == c) if np.any(labels == c) else np.nan for c in cls]
    ax[1].bar(cls - 0.2, acc_s, 0.4, label=f"software {s['software_accuracy']:.2%}")
    ax[1].bar(cls + 0.2, acc_c, 0.4, label=f"chip ({s['mvm']}) {s['accuracy']:.2%}")
    ax[1].axhline(s["paper_accuracy"], color="k", lw=0.8, ls="--", label=f"paper (chip) {s['paper_accuracy']:.1%}")
    ax[1].set_xticks(cls)
    ax[1].set_xticklabels(s["classes"], rotation=45, fontsize=7)
    ax[1].set_ylim(0, 1.05)
    ax[1].set_ylabel("accuracy")
    ax[1].legend(loc="lower right", fontsize=7)
    fig.suptitle(title)
    plt.save(fig, path)
