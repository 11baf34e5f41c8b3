"""Fingerprint of the twin's MVM results, to check that a speed change of the MVM path keeps them.

``python benchmarks/mvm_codes_hash.py`` (or ``python -m benchmarks.mvm_codes_hash``) programs two cores of
``sim://?seed=7`` (a full 128-pair x 256 matrix and a 64 x 48 one, two write-verify passes), waits 30 min of
twin time, then runs seeded MVMs with every noise source on: batches of 2048 (the ``bench mvm`` path, product
in row blocks), 300 and 7 vectors; 1-, 2-, 4-, 6- and 8-bit inputs (signed and unsigned, single and
two-phase), forward and backward; two cores with ``none``, ``relu``, ``sigmoid`` and ``stochastic`` activations.
It prints two sha256 prefixes, of the codes alone and of the codes with each call's total energy (``repr``)
and the final counters, once on 1 twin thread and once on 2: the results must not depend on the threads, and
an optimisation must leave both hashes as they were. The product uses numpy's BLAS, so the hashes belong to
the BLAS kernel that ran (printed): compare before and after on the same machine and environment.
"""

from __future__ import annotations

import hashlib

import numpy as np

from neurram_lab import MVMRequest, open_board
from neurram_lab.program.programming import program_weights
from neurram_lab.program.weights import MatrixPlacement
from neurram_lab.sim_backend._parallel import threads


def fingerprint(n_threads: int) -> tuple[str, str]:
    """(codes hash, codes + energies + counters hash), 16 hex digits each, on ``n_threads`` twin threads."""
    h_all, h_codes = hashlib.sha256(), hashlib.sha256()

    def run(b, req):
        c = np.asarray(b.mvm(req))
        h_codes.update(c.tobytes())
        h_all.update(c.tobytes())
        h_all.update(repr(b.last_mvm["energy_total_j"]).encode())

    with threads(n_threads), open_board("sim://?seed=7") as b:
        rng = np.random.default_rng(1)
        program_weights(b, rng.standard_normal((128, 256)), MatrixPlacement(0, 0, 0, 128, 256), iterations=2,
                        settle_s=0.0)
        program_weights(b, rng.standard_normal((64, 48)), MatrixPlacement(1, 0, 0, 64, 48), iterations=2,
                        settle_s=0.0)
        b.wait(1800.0)
        for batch in (2048, 300, 7):
            for bits, out_bits, signed in ((4, 6, True), (1, 3, False), (8, 8, True), (8, 8, False), (2, 2, True),
                                           (6, 10, True)):
                lo, hi = (-(2 ** (bits - 1) - 1), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
                for two in ((False, True) if bits >= 6 else (False,)):
                    x = rng.integers(lo, hi + 1, (1, batch, 128)).astype(np.int16)
                    run(b, MVMRequest(cores=(0,), inputs=x, input_lines=np.arange(128), output_lines=np.arange(256),
                                      input_bits=bits, output_bits=out_bits, signed_inputs=signed, two_phase=two))
                x = rng.integers(lo, hi + 1, (1, batch, 256)).astype(np.int16)
                run(b, MVMRequest(cores=(0,), inputs=x, input_lines=np.arange(256), output_lines=np.arange(256),
                                  input_bits=bits, output_bits=out_bits, signed_inputs=signed, direction="backward"))
            x = rng.integers(-7, 8, (2, batch, 64)).astype(np.int16)
            for act in ("none", "relu", "sigmoid", "stochastic"):
                run(b, MVMRequest(cores=(0, 1), inputs=x, input_lines=np.arange(64), output_lines=np.arange(3, 51),
                                  input_bits=4, output_bits=5, activation=act))
        h_all.update(repr(sorted(b.counters().items())).encode())
    return h_codes.hexdigest()[:16], h_all.hexdigest()[:16]


def main() -> int:
    try:
        from benchmarks.mvm import blas_info
    except ModuleNotFoundError:  # run as a script: the repository root is not on the path
        import sys
        from pathlib import Path

        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from benchmarks.mvm import blas_info

    got = {n: fingerprint(n) for n in (1, 2)}
    b = blas_info()
    print(f"BLAS: {b['library']} {b['version']}, kernel {b['kernel']}, {b['threads']} threads")
    for n, (codes, full) in got.items():
        print(f"twin threads {n}: codes {codes}  codes+energy {full}")
    same = got[1] == got[2]
    print("same on 1 and 2 threads" if same else "DIFFERENT on 1 and 2 threads")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
