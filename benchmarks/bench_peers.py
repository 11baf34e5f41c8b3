"""Peer models of the NeuRRAM chip beside the twin, on the same random MVMs (issue 22 item 4).

Not part of CI. One LSB for every model: the twin's calibrated output LSB (``result_lsb`` of
``neurram characterize mvm``: the calibrated full scale of the result over ``2**(output_bits-1)``,
per output column), taken from the twin's own run of the same 64x64 N(0, 1) matrix and the same
1 000 uniform 4-bit inputs (seed ``--seed``). Two error figures, both in that LSB:

* ``vs_readback``: against the ideal ``x_q @ W`` of the read-back conductances 30 min after
  programming, the definition of ``characterize mvm`` and of the paper's Fig. 3 figure (0.58 LSB,
  SPEC §3). A peer that models programming error only has its "read-back" equal to its programmed
  conductances, so only the ideal 6-bit rounding (1/sqrt(12) = 0.29 LSB) is left.
* ``vs_target``: against the ideal of the target weights, so programming error and relaxation count.

Rows:

* ``twin``: sim://?seed, programmed by write-verify, 30 min of board time, read back, calibrated
  and run by the project's own code (``experiments/mvm_accuracy.py``), in process.
* ``crosssim_style_rram_wan``: the programming error Sandia CrossSim applies for this chip
  (``simulator/devices/custom/RRAM_Wan.py``, commit 601222e, line 51: sigma_G = cubic in G (uS),
  clipped at 0, one Gaussian draw per cell at programming; no read noise, no relaxation, no circuit),
  re-implemented in numpy on the twin's target conductances (CrossSim itself is not installed).
* ``aihwkit``: IBM aihwkit's ``ReRamWan2022NoiseModel`` (aihwkit 1.1.0 in ``--aihwkit-python``, run
  as a subprocess on the same target conductances in uS): ``apply_programming_noise_to_conductance``
  (its t = 1 s polynomial) and ``apply_drift_noise_to_conductance`` at t = 1 day (its nearest key to
  30 min; it offers 1 s, 1 day and 2 days only).

Relaxation figure, every model on one definition: the std (uS) of the conductance 30 min after
programming minus the target (the twin), or the nearest the peer offers.

Run: ``python benchmarks/bench_peers.py [--vectors 1000] [--seed 1] [--aihwkit-python /tmp/peers-venv/bin/python]``.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# CrossSim RRAM_Wan.py (commit 601222e, line 51): sigma_G = A G^3 + B G^2 + C G + D, G in uS.
_CUBIC_US = (1.536e-4, -1.167e-2, 2.374e-1, 1.053)

_AIHWKIT_SCRIPT = r"""
import sys, time, json
import numpy as np, torch
from aihwkit.inference.noise.reram import ReRamWan2022NoiseModel
d = np.load(sys.argv[1]); torch.manual_seed(int(sys.argv[3]))
t0 = time.perf_counter()
nm = ReRamWan2022NoiseModel(g_max=40.0)
out = {}
for key in d.files:
    g = torch.tensor(d[key], dtype=torch.float64)
    out[key] = nm.apply_programming_noise_to_conductance(g.clone()).numpy()
    out[key + ":1day"] = nm.apply_drift_noise_to_conductance(None, g.clone(), 3600 * 24.0).numpy()
wall = time.perf_counter() - t0
np.savez(sys.argv[2], **out)
print(json.dumps({"wall_s": wall}))
"""


def _sigma_g_us(g_us: np.ndarray) -> np.ndarray:
    a, b, c, d = _CUBIC_US
    return np.maximum(((a * g_us + b) * g_us + c) * g_us + d, 0.0)


def crosssim_style_program(g_target_us: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Programmed conductances (uS) under the CrossSim-style RRAM_Wan error, clipped at 0."""
    return np.maximum(g_target_us + _sigma_g_us(g_target_us) * rng.standard_normal(g_target_us.shape), 0.0)


def twin_run(vectors: int, seed: int) -> dict:
    """The twin's characterize-mvm steps in process; returns conductances, inputs, LSB, outputs."""
    from neurram_lab.board.registry import open_board
    from neurram_lab.mvm.mvm import quantize_inputs, result_lsb
    from neurram_lab.experiments import mvm_accuracy as ma
    from neurram_lab.mvm.calibration import calibrate
    from neurram_lab.mvm.mvm import run_mvm

    t0 = time.perf_counter()
    with open_board(f"sim://?seed={seed}") as board:
        (pm,) = ma.program_random(board, 64, 64, [0], seed)
        g_prog = pm.g_measured_s.copy()
        board.wait(ma.WAIT_BEFORE_INFERENCE_S)
        ma.read_back(board, [pm])
        # the same inputs measure_error draws (its generator, in its order)
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x7EC]))
        x = rng.uniform(-1, 1, (vectors, 64))
        x_cal = rng.uniform(-1, 1, (ma.CALIBRATION_VECTORS, 64))
        kw = dict(input_bits=4, output_bits=6, direction="forward", two_phase=False)
        cal = calibrate(board, pm, x_cal, parallel=False, **kw)
        y = run_mvm(board, pm, x, parallel=False, calibration=cal, **kw)
        lsb = result_lsb(pm, cal)
    q, s = quantize_inputs(x, 4)
    return {"g_target_s": pm.g_target_s, "g_prog_s": g_prog, "g_30min_s": pm.g_measured_s, "xq": q / s,
            "lsb": lsb, "y": y, "gmin_s": pm.gmin_s, "gmax_s": pm.gmax_s, "w_max": pm.w_max,
            "usable": ma.usable_outputs(pm, "forward"), "wall_s": time.perf_counter() - t0}


def weights_of(g_s: np.ndarray, t: dict) -> np.ndarray:
    """Weights of an interleaved differential pair (rows 2i, 2i+1), the twin's mapping."""
    return (g_s[0::2] - g_s[1::2]) * t["w_max"] / (t["gmax_s"] - t["gmin_s"])


def errors_lsb(y: np.ndarray, t: dict, g_readback_s: np.ndarray) -> dict:
    """RMS error of outputs ``y`` (weight units) in the twin's LSB, vs read-back and vs target."""
    u = t["usable"]
    out = {}
    for name, g in (("vs_readback", g_readback_s), ("vs_target", t["g_target_s"])):
        ideal = t["xq"] @ weights_of(g, t)
        out[name] = float(np.sqrt(np.mean(((y - ideal) / t["lsb"])[:, u] ** 2)))
    return out


def peer_outputs(g_prog_s: np.ndarray, t: dict) -> np.ndarray:
    """A programming-error-only peer's MVM: exact x_q @ W of its conductances, rounded to the twin's
    6-bit output grid (the ideal converter; no circuit)."""
    y = t["xq"] @ weights_of(g_prog_s, t)
    return np.clip(np.round(y / t["lsb"]), -31, 31) * t["lsb"]


def aihwkit_perturb(python: str, arrays_us: dict, seed: int) -> tuple[dict, float]:
    """aihwkit's ReRamWan2022NoiseModel on each array (uS): {key: 1 s, key + ':1day': 1 day}, its wall."""
    with tempfile.TemporaryDirectory() as d:
        src, dst = Path(d) / "in.npz", Path(d) / "out.npz"
        np.savez(src, **arrays_us)
        proc = subprocess.run([python, "-c", _AIHWKIT_SCRIPT, str(src), str(dst), str(seed)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr else str(proc.returncode))
        r = np.load(dst)
        return {k: r[k] for k in r.files}, json.loads(proc.stdout.strip().splitlines()[-1])["wall_s"]


def mnist_accuracy(seeds, limit: int, python: str) -> dict:
    """The authors' MNIST CNN in exact arithmetic (3-bit activations as stored) with each weight layer's
    kernel mapped to a differential pair (gmin 1 uS, gmax 40 uS, w_max = max |kernel|, SPEC §2), the
    peer's error applied to both conductances, and mapped back; biases exact. Accuracy per seed."""
    from neurram_lab.deploy import load_mnist, load_model
    from neurram_lab.experiments._common import CNN_MODEL, default_model, mnist_dir

    model = load_model(default_model(CNN_MODEL))
    images, labels = load_mnist(mnist_dir(), "test", limit)
    span_us = 39.0
    out = {"software": float(np.mean(model.predict(images).argmax(1) == labels)), "images": int(len(labels))}
    targets = {}
    for lay in model.weight_layers:
        k = np.asarray(lay.params["kernel"], np.float64)
        w_max = float(np.abs(k).max())
        targets[lay.name] = (1.0 + span_us * np.clip(k, 0, None) / w_max,
                             1.0 + span_us * np.clip(-k, 0, None) / w_max, w_max)

    def accuracy(perturbed: dict) -> float:
        m = model.copy()
        for lay in m.weight_layers:
            gp, gn = perturbed[lay.name + "+"], perturbed[lay.name + "-"]
            lay.params["kernel"] = ((gp - gn) * targets[lay.name][2] / span_us).astype(np.float32)
        return float(np.mean(m.predict(images).argmax(1) == labels))

    rows = {"crosssim_style_rram_wan": [], "aihwkit_1s": [], "aihwkit_1day": []}
    for seed in seeds:
        rng = np.random.default_rng(seed)
        cs = {}
        for name, (gp, gn, _) in targets.items():
            cs[name + "+"], cs[name + "-"] = crosssim_style_program(gp, rng), crosssim_style_program(gn, rng)
        rows["crosssim_style_rram_wan"].append(accuracy(cs))
        arrays = {f"{name}{sign}": g for name, (gp, gn, _) in targets.items() for sign, g in (("+", gp), ("-", gn))}
        ai, _ = aihwkit_perturb(python, arrays, seed)
        rows["aihwkit_1s"].append(accuracy({k: ai[k] for k in arrays}))
        rows["aihwkit_1day"].append(accuracy({k: ai[k + ":1day"] for k in arrays}))
    out.update({k: {"per_seed": v, "mean": float(np.mean(v)), "min": float(np.min(v)), "max": float(np.max(v))}
                for k, v in rows.items()})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vectors", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--aihwkit-python", default="/tmp/peers-venv/bin/python",
                    help="a Python with aihwkit installed (default /tmp/peers-venv/bin/python)")
    ap.add_argument("--mnist-seeds", type=int, default=0,
                    help="also the authors' MNIST CNN through the peers over seeds 1..N (needs NEURRAM_SHARED)")
    ap.add_argument("--mnist-limit", type=int, default=10000, help="test images for --mnist-seeds")
    args = ap.parse_args(argv)
    if args.mnist_seeds:
        t0 = time.perf_counter()
        res = mnist_accuracy(range(1, args.mnist_seeds + 1), args.mnist_limit, args.aihwkit_python)
        res["wall_s"] = time.perf_counter() - t0
        print(json.dumps({"mnist_cnn": res}, indent=1))
        return 0
    t = twin_run(args.vectors, args.seed)
    us = 1e6
    out = {"lsb_definition": "twin result_lsb (calibrated full scale / 2**5, per output), 6-bit out, 4-bit in",
           "twin": {**errors_lsb(t["y"], t, t["g_30min_s"]),
                    "relax_std_us_vs_target_30min": float(np.std((t["g_30min_s"] - t["g_target_s"]) * us)),
                    "relax_std_us_change_30min": float(np.std((t["g_30min_s"] - t["g_prog_s"]) * us)),
                    "wall_s": t["wall_s"]}}
    g_t_us = t["g_target_s"] * us
    t0 = time.perf_counter()
    g_cs = crosssim_style_program(g_t_us, np.random.default_rng(args.seed)) / us
    wall = time.perf_counter() - t0
    out["crosssim_style_rram_wan"] = {**errors_lsb(peer_outputs(g_cs, t), t, g_cs),
                                      "prog_std_us_vs_target_1s": float(np.std((g_cs - t["g_target_s"]) * us)),
                                      "relax_std_us_vs_target_30min": None, "wall_s": wall}
    try:
        r, wall = aihwkit_perturb(args.aihwkit_python, {"g_target_us": g_t_us}, args.seed)
    except (RuntimeError, OSError) as exc:
        out["aihwkit"] = f"not run: {exc}"
    else:
        g_p, g_day = r["g_target_us"] / us, r["g_target_us:1day"] / us
        out["aihwkit"] = {**errors_lsb(peer_outputs(g_p, t), t, g_p),
                          "vs_target_1day": errors_lsb(peer_outputs(g_day, t), t, g_day)["vs_target"],
                          "prog_std_us_vs_target_1s": float(np.std((g_p - t["g_target_s"]) * us)),
                          "relax_std_us_vs_target_1day": float(np.std((g_day - t["g_target_s"]) * us)),
                          "wall_s": wall}
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
