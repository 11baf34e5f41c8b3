"""``neurram bench hil``: wall time of the HIL driver stack over the twin alone, same work, same seed.

ratio = wall time on ``hil://`` / wall time on ``sim://`` for the same batch
(goal <= 1.3), as the median over interleaved pairs of runs (each pair back
to back on the same chip state, so machine load and the twin's own state
hit both alike; who goes first alternates); ``ratio_of_minima`` compares the
fastest runs. The workload is an MVM batch when the twin implements MVM, else a large pulse + read batch (the JSON says which). Both boards are opened
untimed.
The results are checked bit-identical, so the ratio compares equal work.
"""

from __future__ import annotations

import platform
import time

import numpy as np

from neurram_lab.board import MVMRequest
from neurram_lab.errors import BoardError

COMMAND = ("bench", "hil")
HELP = "hil:// over sim:// wall-time ratio for one MVM batch (or a big pulse+read batch until MVM exists)"


def _mvm_request(rng, n_cores: int, batch: int) -> MVMRequest:
    x = rng.integers(-7, 8, size=(n_cores, batch, 128), dtype=np.int16)
    return MVMRequest(cores=tuple(range(n_cores)), inputs=x, input_lines=np.arange(128), output_lines=np.arange(256),
                      input_bits=4, output_bits=6)


def _has_mvm(seed: int) -> bool:
    from neurram_lab import open_board

    with open_board(f"sim://?seed={seed}") as b:
        try:
            b.mvm(_mvm_request(np.random.default_rng(0), 1, 1))
            return True
        except BoardError:
            return False


def _workload(b, workload: str, n: int, seed: int):
    """A callable running the workload once on board ``b`` (set-up done here, untimed)."""
    rng = np.random.default_rng(seed)
    if workload == "mvm":
        req = _mvm_request(rng, n_cores=2, batch=n)
        return lambda: b.mvm(req)
    cells = np.arange(n)
    c, r, k = cells // 65536, (cells // 256) % 256, cells % 256
    v = rng.uniform(1.2, 2.2, n)
    b.pulse("form", c, r, k, 4.8, 2e-6)

    def once():
        b.pulse("set", c, r, k, v, 1e-6)
        b.pulse("reset", c, r, k, v + 0.3, 1e-6)
        return b.read(c, r, k)

    return once


def _time_both(workload: str, n: int, repeats: int, seed: int):
    """Fastest wall time of each board, runs interleaved so machine load hits both alike."""
    from neurram_lab import open_board

    times = {"sim": [], "hil": []}
    outs = {"sim": [], "hil": []}
    with open_board(f"sim://?seed={seed}") as s, open_board(f"hil://?seed={seed}") as h:
        jobs = {"sim": _workload(s, workload, n, seed), "hil": _workload(h, workload, n, seed)}
        for i in range(repeats):
            for name in (("sim", "hil") if i % 2 == 0 else ("hil", "sim")):  # alternate who goes first
                job = jobs[name]
                t0 = time.perf_counter()
                outs[name].append(job())
                times[name].append(time.perf_counter() - t0)
    return np.array(times["sim"]), np.array(times["hil"]), outs


def call_overhead_s(seed: int = 0, calls: int = 200) -> float:
    """Extra wall time per small Board call on hil:// (one-cell reads), the cost write-verify rounds pay."""
    from neurram_lab import open_board

    best = {}
    with open_board(f"sim://?seed={seed}") as s, open_board(f"hil://?seed={seed}") as h:
        for name, b in (("sim", s), ("hil", h), ("sim", s), ("hil", h)):
            t0 = time.perf_counter()
            for i in range(calls):
                b.read([0], [i % 256], [0])
            best[name] = min(best.get(name, float("inf")), (time.perf_counter() - t0) / calls)
    return best["hil"] - best["sim"]


def run(seed: int = 0, n: int | None = None, repeats: int = 7, workload: str | None = None) -> dict:
    """Measure; returns the summary (ratio, both wall times, workload, identical)."""
    if workload is None:
        workload = "mvm" if _has_mvm(seed) else "pulse+read"
    if n is None:
        n = 1000 if workload == "mvm" else 4 * 65536
    t_sim, t_hil, outs = _time_both(workload, n, repeats, seed)
    paired = t_hil / t_sim  # each pair ran back to back on the same chip state
    identical = all(a.tobytes() == b.tobytes() for a, b in zip(outs["sim"], outs["hil"]))
    return {
        "workload": workload,
        "batch": n if workload == "mvm" else None,
        "cells": n if workload != "mvm" else None,
        "repeats": repeats,
        "sim_wall_s": float(t_sim.min()),
        "hil_wall_s": float(t_hil.min()),
        "ratio": float(np.median(paired)),
        "ratio_of_minima": float(t_hil.min() / t_sim.min()),
        "goal": 1.3,
        "identical": identical,
        "call_overhead_us": call_overhead_s(seed) * 1e6,
        "machine": f"{platform.machine()} {platform.processor() or ''} python {platform.python_version()}".strip(),
    }


def add_arguments(parser) -> None:
    parser.add_argument("--n", type=int, default=None, help="MVM batch size, or cells for the pulse+read workload")
    parser.add_argument("--repeats", type=int, default=7, help="interleaved runs per board (default 7)")
    parser.add_argument("--workload", choices=("mvm", "pulse+read"), default=None, help="default: mvm when the twin has it")


def main(args, ctx) -> dict:
    summary = run(seed=args.seed or 0, n=args.n, repeats=args.repeats, workload=args.workload)
    ctx.say(
        f"{summary['workload']}: sim:// {summary['sim_wall_s'] * 1e3:.1f} ms, hil:// {summary['hil_wall_s'] * 1e3:.1f} ms, "
        f"ratio {summary['ratio']:.3f} (goal <= 1.3), identical={summary['identical']}; "
        f"per small call +{summary['call_overhead_us']:.0f} us"
    )
    return summary
