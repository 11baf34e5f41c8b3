"""``neurram bench mvm``: simulated MVMs per second against plain numpy matmul.

A full core (256 rows as 128 differential pairs x 256 columns) holds a
normal random matrix; batches of 4-bit signed inputs run through
``Board.mvm`` at 6-bit outputs with every non-ideality of the twin on: the
exact resistive-network settling (driver, wire and input-line drop, one
solve per conductance state, then cached), capacitive coupling, shared
supply, integrator headroom, kT/C and per-cycle noise, comparator offsets
and noise, the shared DAC's level errors, energy and latency accounting.
The same batch then goes through a plain float32 numpy matmul of the same
logical shape ((batch, 128) @ (128, 256)) in the same process; the ratio of
the two rates (medians over interleaved calls) is the figure of merit (goal >= 0.5 against the
machine's best BLAS kernel). The BLAS library, the kernel it picked and its thread count
(threadpoolctl) are printed beside the ratio: ``OPENBLAS_CORETYPE`` in the environment selects a
kernel other than OpenBLAS's own choice, so measure with it unset
(``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE neurram bench mvm``).

The matrix is programmed with write-verify first (not timed); the MVM path
is the one every MVM takes. The twin's thread count is printed too: it runs its
blocks on one thread while the machine is busier than its CPUs (1-minute load
average), and under such load numpy's two-thread matmul slows far more than the
twin does, so a ratio measured then is no measure of the goal.
"""

from __future__ import annotations

import os
import time

import numpy as np

from neurram_lab.program.programming import program_weights
from neurram_lab.board.contract import MVMRequest
from neurram_lab.program.weights import MatrixPlacement

COMMAND = ("bench", "mvm")
HELP = "simulated 256x256 MVMs per second (all non-idealities on) vs numpy float32 matmul"


def add_arguments(parser) -> None:
    parser.add_argument("--batch", type=int, default=2048, help="vectors per MVM call (default 2048)")
    parser.add_argument("--repeats", type=int, default=20, help="timed calls of each, interleaved (default 20)")


def blas_info() -> dict:
    """The BLAS numpy's matmul runs on: library, version, kernel (OpenBLAS's core type), threads, and the
    OpenBLAS variables set in the environment (threadpoolctl; empty fields where it cannot tell)."""
    from threadpoolctl import threadpool_info

    blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    # numpy's own copy first (scipy may load another OpenBLAS beside it)
    blas.sort(key=lambda i: "numpy" not in str(i.get("filepath", "")))
    first = blas[0] if blas else {}
    return {
        "library": first.get("internal_api", "unknown"),
        "version": first.get("version") or "",
        "kernel": first.get("architecture") or "unknown",
        "threads": int(first.get("num_threads") or 0),
        "env": {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                                           "OMP_NUM_THREADS") if k in os.environ},
    }


def run_bench(board, batch: int = 2048, repeats: int = 20, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((128, 256))
    t0 = time.perf_counter()
    program_weights(board, w, MatrixPlacement(0, 0, 0, 128, 256))
    program_s = time.perf_counter() - t0
    board.wait(1800.0)
    x = rng.integers(-7, 8, (1, batch, 128)).astype(np.int16)
    req = MVMRequest(cores=(0,), inputs=x, input_lines=np.arange(128), output_lines=np.arange(256),
                     input_bits=4, output_bits=6)
    t0 = time.perf_counter()
    board.mvm(req)  # first call: conductance snapshot and the network solve
    first_s = time.perf_counter() - t0
    factor_s = (getattr(board, "last_mvm", None) or {}).get("factor_s", float("nan"))
    xf = x[0].astype(np.float32)
    wf = w.astype(np.float32)
    sim, mm = [], []
    for _ in range(repeats):  # interleaved, so both see the same machine load
        t0 = time.perf_counter()
        board.mvm(req)
        sim.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        _ = xf @ wf
        mm.append(time.perf_counter() - t0)
    sim_rate = batch / float(np.median(sim))
    mm_rate = batch / float(np.median(mm))
    return {
        "batch": batch,
        "repeats": repeats,
        "shape": [128, 256],
        "input_bits": 4,
        "output_bits": 6,
        "sim_mvm_per_s": sim_rate,
        "matmul_per_s": mm_rate,
        "ratio": sim_rate / mm_rate,
        "factor_s": factor_s,
        "first_call_s": first_s,
        "program_s": program_s,
        "blas": blas_info(),
        "twin_threads": _twin_threads(),
    }


def _twin_threads() -> int:
    """Threads the twin's blocks ran on at the end (``sim_backend._parallel``: 1 while the machine is
    busier than its CPUs, whatever the CPUs), so a ratio measured under load says so."""
    from neurram_lab.sim_backend._parallel import n_threads

    return n_threads()


def main(args, ctx) -> dict:
    with ctx.open_board() as board:
        out = run_bench(board, args.batch, args.repeats, args.seed or 0)
    ctx.say(f"simulated MVM: {out['sim_mvm_per_s']:.0f}/s, numpy float32 matmul: {out['matmul_per_s']:.0f}/s, "
            f"ratio {out['ratio']:.3f}; network solve {out['factor_s']:.3f} s")
    b = out["blas"]
    env = ", ".join(f"{k}={v}" for k, v in b["env"].items()) or "no OPENBLAS_*/OMP_* variables set"
    ctx.say(f"BLAS: {b['library']} {b['version']}, kernel {b['kernel']}, {b['threads']} threads ({env}); "
            f"twin threads {out['twin_threads']}")
    return out
