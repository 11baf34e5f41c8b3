"""Tier 2 and 3 adapt to a board's capabilities, and refuse up front what it cannot do.

The boards are the twin declaring a real board's restrictions
(``tests/_restricted_board.py``): the physics is real, only the declared
capabilities differ, and ``hooks`` shows what reached the board; and
``hil://``, the driver on the emulated authors' bitstream, whose counters
include every FrontPanel call.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from neurram_lab import CapabilityError, MatrixPlacement, open_board, register_board
from neurram_lab.mvm.calibration import calibrate
from neurram_lab.cli import main as cli_main
from neurram_lab.deploy import load_model, map_model
from neurram_lab.deploy.network import ChipNetwork
from neurram_lab.deploy.rbm import RBM, ChipRBM
from neurram_lab.mvm.mvm import run_mvm
from neurram_lab.program.programming import program_weights
from tests._restricted_board import RestrictedBoard

SHARED = Path(os.environ["NEURRAM_SHARED"])  # set by tests/conftest.py
CNN = SHARED / "models" / "mnist_cnn_7layer_3bit_wnoise0.15.npz"


def _programmed(board, cores=(0,), n_in=16, n_out=8, seed=0):
    rng = np.random.default_rng(seed)
    pms = [program_weights(board, rng.standard_normal((n_in, n_out)), MatrixPlacement(c, 0, 0, n_in, n_out))
           for c in cores]
    board.wait(60.0)
    return pms


def _state(board):
    """Everything that moves when a request reaches the board (hil://: its FrontPanel call counts)."""
    return board.counters(), board.now(), board.get_rails(), list(getattr(board, "hooks", []))


BITSTREAM_LIKE = ["restricted://?seed=2", "hil://?seed=2"]  # at most 7 output bits, no two-phase mode


@pytest.fixture(params=BITSTREAM_LIKE)
def bitstream(request):
    with open_board(request.param) as b:
        yield b


def _spy_mvm(board) -> list:
    """Record every MVMRequest tier 2 sends (the board's own method still runs)."""
    sent, inner = [], board.mvm

    def mvm(req):
        sent.append(req)
        return inner(req)

    board.mvm = mvm
    return sent


def test_calibrate_and_run_pick_output_bits_in_the_boards_range():
    with RestrictedBoard(seed=1, profile="narrow") as b:  # 2..5 output bits
        pm = _programmed(b)[0]
        x = np.random.default_rng(1).uniform(-1, 1, (64, 16))
        cal = calibrate(b, pm, x)
        assert cal.output_bits == 5
        y, codes = run_mvm(b, pm, x, calibration=cal, return_codes=True)  # the calibration's bits
        assert codes.min() >= -16 and codes.max() <= 15
        assert np.corrcoef(y.ravel(), (x @ pm.weights).ravel())[0, 1] > 0.9


@pytest.mark.parametrize("call", ["calibrate", "run_mvm"])
def test_explicit_output_bits_beyond_the_board_are_refused_before_any_call(bitstream, call):
    b = bitstream  # at most 7 output bits
    pm = _programmed(b)[0]
    before = _state(b)
    fn = calibrate if call == "calibrate" else run_mvm
    with pytest.raises(CapabilityError) as e:
        fn(b, pm, np.zeros((4, 16)), output_bits=8)
    assert e.value.capability == "output_bits" and e.value.limit == (1, 7) and "(1, 7)" in str(e.value)
    assert _state(b) == before


def test_backward_on_a_forward_only_board_is_refused_up_front():
    with RestrictedBoard(seed=1, profile="narrow") as b:
        pm = _programmed(b)[0]
        before = _state(b)
        with pytest.raises(CapabilityError, match="backward") as e:
            run_mvm(b, pm, np.zeros((4, 8)), direction="backward")
        assert e.value.capability == "directions" and e.value.limit == ("forward",)
        with pytest.raises(CapabilityError, match="directions"):
            calibrate(b, pm, np.zeros((4, 8)), direction="backward")
        assert _state(b) == before


def test_two_phase_runs_as_two_requests_on_a_board_without_it(bitstream):
    x = np.random.default_rng(4).uniform(-1, 1, (200, 16))
    out = {}
    for name, board in (("native", open_board("sim://?seed=2")), ("split", bitstream)):
        b = board
        pm = _programmed(b)[0]
        cal = calibrate(b, pm, x[:64], input_bits=6, two_phase=True)
        sent = _spy_mvm(b)
        out[name] = (run_mvm(b, pm, x, input_bits=6, two_phase=True, calibration=cal), cal.output_bits, pm)
        if name == "split":  # MSB and LSB phases as two single-phase requests, the MSB one at 7 bits
            assert [(r.two_phase, r.input_bits, r.output_bits) for r in sent] == [(False, 4, 7), (False, 3, 4)]
            with pytest.raises(CapabilityError, match=r"output_bits=8 .*\(1, 7\)"):
                run_mvm(b, pm, x, input_bits=6, two_phase=True, output_bits=6)  # MSB phase at 8 bits
            assert len(sent) == 2
        else:
            assert [r.two_phase for r in sent] == [True]
            b.close()
    (y_native, bits_native, pm_n), (y_split, bits_split, pm_s) = out["native"], out["split"]
    assert bits_native == 6 and bits_split == 5  # the MSB phase converts at 7 bits: what the board has
    xq = np.rint(x * 31) / 31
    for y, pm in ((y_native, pm_n), (y_split, pm_s)):
        assert np.corrcoef(y.ravel(), (xq @ pm.weights).ravel())[0, 1] > 0.95


@pytest.mark.parametrize("spec", ["restricted://?seed=1&profile=narrow", "hil://?seed=1"])
def test_requests_are_cut_to_max_parallel_cores(spec):
    with open_board(spec) as b:  # 2 (narrow) or 8 (hil) cores per request
        n_max = b.capabilities().max_parallel_cores
        cores = tuple(range(0, 6 * n_max, 6)) + (1,)  # one core per core row in column 0, then one more
        pms = _programmed(b, cores=cores, n_in=8, n_out=4)
        x = [np.random.default_rng(k).uniform(-1, 1, (10, 8)) for k in range(len(cores))]
        sent = _spy_mvm(b)
        ys = run_mvm(b, pms, x, parallel=True)
        assert [len(r.cores) for r in sent] == [n_max, 1] and [y.shape for y in ys] == [(10, 4)] * len(cores)


def test_neuron_test_with_one_voltage_per_vector(bitstream):
    v_ref = bitstream.get_rails()["v_ref"]
    shared = bitstream.neuron_test(0, np.array([[v_ref], [v_ref + 0.05]]), output_bits=7)
    assert shared.shape == (2, 256) and shared[1].mean() > shared[0].mean()


def test_deployments_resolve_output_bits_at_construction(bitstream):
    model = load_model(CNN)
    b = bitstream
    before = _state(b)
    assert ChipNetwork(b, map_model(model)).output_bits == 7
    with pytest.raises(CapabilityError, match=r"output_bits=8 .*\(1, 7\)"):
        ChipNetwork(b, map_model(model), output_bits=8)
    assert ChipNetwork(b, map_model(model), mvm="measured-weights", output_bits=8).output_bits == 8
    rbm = RBM(np.zeros((20, 6)), np.zeros(6), np.zeros(20), 1.0)
    assert ChipRBM(b, rbm).output_bits == 7
    assert _state(b) == before


def test_rbm_needs_backward_mvms():
    rbm = RBM(np.zeros((20, 6)), np.zeros(6), np.zeros(20), 1.0)
    with RestrictedBoard(seed=1, profile="narrow") as b:
        with pytest.raises(CapabilityError, match="backward"):
            ChipRBM(b, rbm)
        ChipRBM(b, rbm, mvm="exact")  # no board MVM: nothing to refuse
        assert b.hooks == []


_OPENED: list = []


def _probe(target, spec="", board="restricted", **opts):
    """Open the board the CLI asks for and remember it, with its state right after opening."""
    b = open_board(f"{board}://?" + "&".join(f"{k}={v}" for k, v in opts.items()))
    entry = {"board": b, "opened": _state(b)}
    close = b.close

    def closing():
        if not b.closed:
            entry["closed"] = _state(b)
        close()

    b.close = closing
    _OPENED.append(entry)
    return b


_REFUSALS = [
    (["characterize", "mvm", "--output-bits", "8"], "output_bits"),
    (["characterize", "mvm", "--input-bits", "6", "--two-phase", "--output-bits", "6"], "output_bits"),
    (["deploy", "mnist-cnn", "--output-bits", "8", "--limit", "5"], "output_bits"),
]
_NARROW_REFUSALS = [  # restricted:// only: the hil:// board runs backward MVMs
    (["characterize", "mvm", "--direction", "backward"], "directions"),
    (["deploy", "rbm-recovery", "--limit", "5"], "directions"),
]


@pytest.mark.parametrize("board, argv, capability",
                         [(b, a, c) for b in ("restricted", "hil") for a, c in _REFUSALS]
                         + [("restricted&profile=narrow", a, c) for a, c in _NARROW_REFUSALS])
def test_cli_refuses_in_one_line_before_anything_is_sent(tmp_path, capsys, argv, capability, board):
    register_board("probe", _probe)
    _OPENED.clear()
    spec = f"probe://?board={board}&seed=1"
    rc = cli_main(argv + ["--board", spec, "--out", str(tmp_path / "runs"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc != 0 and len(err) == 1 and err[0].startswith("neurram: error:") and capability in err[0]
    assert len(_OPENED) == 1 and _OPENED[0]["closed"] == _OPENED[0]["opened"], "nothing may reach the board"
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir()), "no run file"
