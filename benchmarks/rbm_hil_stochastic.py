"""RBM bottom-occlusion recovery on hil:// with the hidden units sampled by the chip's LFSR pulses (tuned and
at the driver's default level) against the host's LFSR, on one die.

The RBM is programmed straight into the twin behind the emulated bitstream (the same die; programming it
through hil:// takes most of an hour on a shared 2-core machine), then every MVM of calibration and recovery
goes through hil://. Run::

    NEURRAM_SHARED=/work/shared python -m benchmarks.rbm_hil_stochastic --limit 100

Prints one JSON line per path: L2 before/after, reduction, the hidden units' noise spread (units of
``v W + a``; the logistic's probit rms is 1.702) and the LFSR injection used, and wall seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np


def main(argv=None) -> None:
    from neurram_lab.deploy import load_mnist
    from neurram_lab.deploy.rbm import RBM, ChipRBM, recover
    from neurram_lab.drivers import _lfsr_host as lfsr
    from neurram_lab.drivers.hil import connect, make_emulated_board

    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=100)
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--calibration-images", type=int, default=50)
    a = ap.parse_args(argv)
    shared = Path(os.environ["NEURRAM_SHARED"])
    rbm = RBM.load(shared / "models" / "rbm_v794_h120_wnoise0.15.npz")
    x, y = load_mnist(shared / "datasets" / "mnist", "test", limit=a.limit)
    cal_x, cal_y = load_mnist(shared / "datasets" / "mnist", "train-5k")
    pick = np.random.default_rng(a.seed).permutation(len(cal_x))[: a.calibration_images]
    ok, emu = make_emulated_board(seed=a.seed)
    with connect(ok, spec=f"hil://?seed={a.seed}") as board:
        twin = ChipRBM(emu.twin, rbm, seed=a.seed)
        twin.program()
        emu.twin.wait(1800.0)
        chip = ChipRBM(board, rbm, seed=a.seed)
        chip.programmed = twin.programmed
        for name in ("chip-default", "chip-tuned", "host"):
            t0 = time.perf_counter()
            lfsr.set_injection(board, amplitude_v=lfsr.DEFAULT_INJECTION.amplitude_v,
                               pulses=lfsr.DEFAULT_INJECTION.pulses)
            chip.hidden_noise = "chip"
            chip.calibrate(cal_x[pick], cal_y[pick], per_column=False)  # tunes the level (hil:// has the hook)
            spread = dict(chip.noise_spread)
            if name == "chip-default":  # back to the driver's default level, measured
                lfsr.set_injection(board, amplitude_v=lfsr.DEFAULT_INJECTION.amplitude_v,
                                   pulses=lfsr.DEFAULT_INJECTION.pulses)
                spread = {"sigma": chip.hidden_noise_spread(_codes(cal_x[pick][:20], cal_y[pick][:20])),
                          "target": spread["target"]}
            if name == "host":
                chip.hidden_noise = "host"
                spread = {}
            inj = lfsr.injection(board)
            out = recover(chip, x, y, "bottom", seed=a.seed)
            print(json.dumps({"path": name, "n_images": int(len(x)), "l2_before": out["l2_before"],
                              "l2_after": out["l2_after"], "l2_reduction": out["l2_reduction"],
                              "noise_spread": spread.get("sigma"), "target": spread.get("target"),
                              "injection": None if name == "host" else
                              {"amplitude_v": inj.amplitude_v, "pulses": inj.pulses},
                              "wall_s": round(time.perf_counter() - t0, 1),
                              "violations": len(emu.violations)}), flush=True)


def _codes(images, labels, visible_bits=3):
    x = np.asarray(images, np.float64).reshape(len(images), -1) / 255.0
    v = np.hstack([x, np.eye(10)[np.asarray(labels)]])
    return np.floor(v * (2**visible_bits - 1) + 0.5).astype(np.int16)


if __name__ == "__main__":
    main()
