"""Peer models of the NeuRRAM chip beside the twin, on the same random MVMs (issue 22 item 4).

Not part of CI. Rows:

* ``twin``: ``neurram characterize mvm --json`` (sim://), run as a subprocess.
* ``crosssim-style RRAM_Wan``: the programming-error model Sandia CrossSim applies for this chip
  (``simulator/devices/custom/RRAM_Wan.py``, commit 601222e, line 51: a cubic in G (µS) for the
  conductance sigma, clipped at 0, one Gaussian draw per cell at programming; no read noise, no
  relaxation, no circuit), re-implemented here in numpy because CrossSim is not installed.
* aihwkit ``ReRamWan2022NoiseModel``: only when ``import aihwkit`` works (see BENCHMARKS.md).

The matrix is 64x64 normal random, inputs uniform in [-1, 1] quantised to 4 bits (sign included),
weights mapped to a differential pair G+ - G- in [g_min_us, g_max_us]. The output LSB is that of a
6-bit signed converter (31 levels a side) whose full scale is the largest ideal |output| of the
batch: a definition of this benchmark, not the twin's calibrated LSB.

Run: ``python benchmarks/bench_peers.py [--vectors 1000] [--seed 1]``.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np

# CrossSim RRAM_Wan.py (commit 601222e, line 51): sigma_G = A G^3 + B G^2 + C G + D, G in µS.
_CUBIC_US = (1.536e-4, -1.167e-2, 2.374e-1, 1.053)
_G_MAX_CAP_US = 39.26  # CrossSim refuses Gmax above this (RRAM_Wan.py line 36)


def _sigma_g_us(g_us: np.ndarray) -> np.ndarray:
    a, b, c, d = _CUBIC_US
    return np.maximum(((a * g_us + b) * g_us + c) * g_us + d, 0.0)


def crosssim_style_rmse_lsb(rows: int, cols: int, vectors: int, seed: int,
                            g_min_us: float = 1.0, g_max_us: float = _G_MAX_CAP_US,
                            input_bits: int = 4, output_bits: int = 6) -> float:
    """RMS MVM error in output LSB under the CrossSim-style RRAM_Wan programming error."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((rows, cols))
    scale_us = (g_max_us - g_min_us) / np.abs(w).max()
    g_pos_us = g_min_us + scale_us * np.clip(w, 0, None)
    g_neg_us = g_min_us + scale_us * np.clip(-w, 0, None)
    g_pos_p = g_pos_us + _sigma_g_us(g_pos_us) * rng.standard_normal(w.shape)
    g_neg_p = g_neg_us + _sigma_g_us(g_neg_us) * rng.standard_normal(w.shape)
    levels = 2 ** (input_bits - 1) - 1
    x = np.round(rng.uniform(-1, 1, (vectors, rows)) * levels) / levels
    ideal = x @ (g_pos_us - g_neg_us)
    noisy = x @ (g_pos_p - g_neg_p)
    lsb = np.abs(ideal).max() / (2 ** (output_bits - 1) - 1)
    return float(np.sqrt(np.mean(((noisy - ideal) / lsb) ** 2)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vectors", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    out = {}
    t0 = time.perf_counter()
    out["crosssim_style_rram_wan"] = {"rmse_lsb": crosssim_style_rmse_lsb(64, 64, args.vectors, args.seed),
                                      "wall_s": time.perf_counter() - t0}
    t0 = time.perf_counter()
    proc = subprocess.run(["neurram", "characterize", "mvm", "--json", "--quiet", "--seed", str(args.seed),
                           "--vectors", str(args.vectors)], capture_output=True, text=True, check=True)
    twin = json.loads(proc.stdout.strip().splitlines()[-1])
    out["twin"] = {"rmse_lsb": twin["rmse_lsb"], "wall_s": time.perf_counter() - t0,
                   "twin_wall_s": twin["wall_s"]}
    try:
        import aihwkit  # noqa: F401
        out["aihwkit"] = "importable, not wired (see BENCHMARKS.md)"
    except ImportError as exc:
        out["aihwkit"] = f"not installed: {exc}"
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
