"""MVM and neuron test over hil:// equal sim:// bit for bit: raw requests, tier-2 run_mvm, calibration."""

from __future__ import annotations

import numpy as np

from neurram_lab.programming import program_weights
from neurram_lab import open_board
from neurram_lab.board import MVMRequest
from neurram_lab.calibration import calibrate
from neurram_lab.mvm import run_mvm
from neurram_lab.weights import MatrixPlacement
from neurram_lab.writeverify import WriteVerifyConfig


def _session(board):
    rng = np.random.default_rng(3)
    w = rng.normal(size=(24, 12))
    pms = [program_weights(board, w, MatrixPlacement(core, 0, 0, 24, 12), config=WriteVerifyConfig(max_reversals=6))
           for core in (1, 2)]
    board.wait(60.0)
    out = {}
    x = rng.uniform(-1, 1, size=(40, 24))
    cal = calibrate(board, pms, [x, x], input_bits=4, output_bits=6, offset_vectors=16)
    y, codes = run_mvm(board, pms, [x, x], input_bits=4, output_bits=6, calibration=cal, return_codes=True)
    out["run_mvm"] = [np.asarray(a) for a in y] + [np.asarray(c) for c in codes]
    xi = rng.integers(-31, 32, size=(2, 16, 24)).astype(np.int16)
    for direction, two_phase, act in (("forward", True, "none"), ("backward", False, "relu")):
        lines_in = np.arange(24) if direction == "forward" else np.arange(12)
        lines_out = np.arange(12) if direction == "forward" else np.arange(48)
        req = MVMRequest(cores=(1, 2), inputs=xi[..., : lines_in.size], input_lines=lines_in, output_lines=lines_out,
                         direction=direction, input_bits=6, output_bits=8, two_phase=two_phase, activation=act,
                         parallel=direction == "forward", v_read_v=0.25)
        out[direction] = board.mvm(req)
    out["neuron_test"] = board.neuron_test(3, rng.uniform(0.5, 1.3, size=(5, 256)), output_bits=7)
    out["cal"] = np.array([cal.v_read_v, cal.v_decr_v])
    out["now"] = np.array([board.now()])
    return out, board.counters()


def test_mvm_over_hil_is_bit_identical_to_sim():
    with open_board("sim://?seed=13") as s, open_board("hil://?seed=13") as h:
        a, ca = _session(s)
        b, cb = _session(h)
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], list):
            for u, v in zip(a[k], b[k]):
                assert u.dtype == v.dtype and u.tobytes() == v.tobytes(), k
        else:
            assert a[k].dtype == b[k].dtype and a[k].tobytes() == b[k].tobytes(), k
    assert ca == cb
