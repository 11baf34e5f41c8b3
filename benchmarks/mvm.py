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
the two rates is the figure of merit (goal >= 0.3).

The conductances are loaded straight into the twin's cell state (a
twin-only shortcut that skips ~1 minute of write-verify for 65 536 cells);
the MVM path is the one every MVM takes.
"""

from __future__ import annotations

import time

import numpy as np

from neurram_lab.board import MVMRequest
from neurram_lab.weights import weights_to_conductance

COMMAND = ("bench", "mvm")
HELP = "simulated 256x256 MVMs per second (all non-idealities on) vs numpy float32 matmul"


def add_arguments(parser) -> None:
    parser.add_argument("--batch", type=int, default=2048, help="vectors per MVM call (default 2048)")
    parser.add_argument("--repeats", type=int, default=10, help="timed calls (default 10)")


def load_matrix(board, core: int, weights) -> None:
    """Put the differential conductances of ``weights`` (128 x 256) into the twin's cells (twin-only)."""
    from sim_backend.cells import CELLS_PER_CORE
    from sim_backend.defects import CellKind

    g, _ = weights_to_conductance(weights, 1e-6, 40e-6)
    cells = board.cells
    cells.ensure_cores(np.array([core]))
    sl = slice(core * CELLS_PER_CORE, (core + 1) * CELLS_PER_CORE)
    cells.g_s[sl] = g.ravel().astype(np.float32)
    cells.g0_s[sl] = cells.g_s[sl]
    cells.kind[sl] = CellKind.NORMAL
    cells.t_prog_s[sl] = board.now()
    cells.t_eval_s[sl] = board.now()
    cells.version[core] += 1


def run_bench(board, batch: int = 2048, repeats: int = 10, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((128, 256))
    load_matrix(board, 0, w)
    board.wait(1800.0)
    x = rng.integers(-7, 8, (1, batch, 128)).astype(np.int16)
    req = MVMRequest(cores=(0,), inputs=x, input_lines=np.arange(128), output_lines=np.arange(256),
                     input_bits=4, output_bits=6)
    t0 = time.perf_counter()
    board.mvm(req)  # first call: conductance snapshot and the network solve
    first_s = time.perf_counter() - t0
    factor_s = board.last_mvm["factor_s"]
    sim = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        board.mvm(req)
        sim.append(time.perf_counter() - t0)
    xf = x[0].astype(np.float32)
    wf = w.astype(np.float32)
    mm = []
    for _ in range(repeats):
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
    }


def main(args, ctx) -> dict:
    with ctx.open_board() as board:
        if not hasattr(board, "cells"):
            from neurram_lab.errors import InputError

            raise InputError(f"bench mvm needs the twin (sim://), got {board.spec}")
        out = run_bench(board, args.batch, args.repeats, args.seed or 0)
    ctx.say(f"simulated MVM: {out['sim_mvm_per_s']:.0f}/s, numpy float32 matmul: {out['matmul_per_s']:.0f}/s, "
            f"ratio {out['ratio']:.3f}; network solve {out['factor_s']:.3f} s")
    return out
