"""How much of full-chip programming runs in the twin's multi-block phases (the part two cores can share).

Runs ``iterative_program`` over ``N`` cores (argument, default 48) on one
twin thread and times the calls of ``run_blocks`` that have several blocks
and may run in parallel; prints their share of the wall time and the wall
time two cores would give if those phases scaled perfectly (Amdahl bound).

    python benchmarks/program_parallel_share.py 48
"""
import sys, os, time
sys.path.insert(0, os.getcwd())
os.environ["NEURRAM_TWIN_THREADS"] = "1"
import numpy as np
import neurram_lab.sim_backend.board as B
orig = B.run_blocks
acc = [0.0]
def rb(fn, n, parallel=True):
    t = time.perf_counter(); r = orig(fn, n, parallel)
    if parallel and n > 1: acc[0] += time.perf_counter() - t
    return r
B.run_blocks = rb
from neurram_lab.board.registry import open_board
from neurram_lab.program.programming import iterative_program
from neurram_lab.program.writeverify import form_cells
n = int(sys.argv[1]) if len(sys.argv) > 1 else 48
b = open_board("sim://?seed=0")
i = np.arange(65536 * n); c = i >> 16; r, k = (i >> 8) & 255, i & 255
tgt = np.random.default_rng(0).uniform(1e-6, 40e-6, i.size)
f = np.flatnonzero(form_cells(b, c, r, k))
acc[0] = 0.0
t0 = time.perf_counter(); c0 = time.process_time()
iterative_program(b, c[f], r[f], k[f], tgt[f], 3, 1800.0, spread_range_s=(1e-6, 40e-6))
w = time.perf_counter() - t0
print(f"cores {n}: wall {w:.2f} cpu {time.process_time()-c0:.2f}; in multi-block twin phases {acc[0]:.2f} s = {acc[0]/w:.0%}; ideal 2-core wall {w - acc[0]/2:.2f}")
