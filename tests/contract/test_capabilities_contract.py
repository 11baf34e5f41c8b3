"""Board capabilities, on every board of the contract suite: declared, recorded, enforced before anything is sent.

Each test derives what it asks for from the board's own ``capabilities()``:
the twin declares the full set (nothing to refuse), a board on the authors'
bitstream (``restricted://``, ``hil://``) refuses what its FPGA cannot do.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from neurram_lab.experiments._common import start_run
from neurram_lab import (ACTIVATIONS, MVM_DIRECTIONS, AppliedPulse, BoardCapabilities, CapabilityError, MVMRequest,
                         open_board, parse_spec, read_run)
from neurram_lab.runlog.replay import ReplayBoard

CELLS = (np.full(8, 2), np.arange(8), np.arange(8) * 5)


def test_capabilities_are_declared_and_in_the_snapshot(board, board_spec):
    caps = board.capabilities()
    assert isinstance(caps, BoardCapabilities)
    d = json.loads(json.dumps(caps.to_dict()))
    assert BoardCapabilities.from_dict(d) == caps
    assert board.snapshot()["capabilities"] == d
    lo, hi = caps.output_bits
    assert 1 <= lo <= hi <= 10 and caps.clock in ("virtual", "host")
    if parse_spec(board_spec)[0] == "sim":
        assert caps == BoardCapabilities(), "the twin keeps the full set"


def _beyond(board, caps):
    """(capability, call) for every request this board's capabilities refuse."""
    z = dict(input_lines=np.arange(8), output_lines=np.arange(4))
    x1 = np.zeros((1, 2, 8), np.int16)

    def mvm(**kw):
        kw = dict(dict(cores=(1,), inputs=x1, **z), **kw)
        return lambda: board.mvm(MVMRequest(**kw))

    v_ref = board.get_rails()["v_ref"]
    cases = []
    lo, hi = caps.output_bits
    for bad in ([hi + 1] if hi < 10 else []) + ([lo - 1] if lo > 1 else []):
        cases.append(("output_bits", mvm(output_bits=bad)))
        cases.append(("output_bits", lambda bad=bad: board.neuron_test(1, np.full((1, 256), v_ref), output_bits=bad)))
    lo, hi = caps.input_bits
    for bad in ([hi + 1] if hi < 8 else []) + ([lo - 1] if lo > 1 else []):
        cases.append(("input_bits", mvm(input_bits=bad)))
    cases += [("directions", mvm(direction=d)) for d in MVM_DIRECTIONS if d not in caps.directions]
    cases += [("activations", mvm(activation=a)) for a in ACTIVATIONS if a not in caps.activations]
    if not caps.two_phase:
        cases.append(("two_phase", mvm(two_phase=True, input_bits=6)))
    n = caps.max_parallel_cores + 1
    if n <= board.limits.n_cores:
        cases.append(("max_parallel_cores", mvm(cores=tuple(range(n)), inputs=np.zeros((n, 2, 8), np.int16))))
    if not caps.neuron_test_per_neuron:
        v = v_ref + np.linspace(-0.02, 0.02, 256)[None]
        cases.append(("neuron_test_per_neuron", lambda: board.neuron_test(1, v, output_bits=caps.output_bits[1])))
    if not caps.power_gating:
        cases.append(("power_gating", lambda: board.power_cores([5], on=False)))
    if caps.rails is not None:
        for rail, (r_lo, _) in board.limits.rails_v.items():
            if rail not in caps.rails:  # with a settable rail first: neither is set
                cases.append(("rails", lambda rail=rail, r_lo=r_lo: board.set_rails(v_read=0.31, **{rail: r_lo})))
    return cases


def test_requests_beyond_capabilities_raise_and_send_nothing(board):
    caps = board.capabilities()
    cases = _beyond(board, caps)
    full = caps.output_bits == (1, 10) and caps.input_bits == (1, 8) and set(caps.directions) == set(MVM_DIRECTIONS) \
        and set(caps.activations) == set(ACTIVATIONS) and caps.two_phase and caps.neuron_test_per_neuron \
        and caps.power_gating and caps.max_parallel_cores >= board.limits.n_cores \
        and (caps.rails is None or set(board.limits.rails_v) <= set(caps.rails))
    assert full or cases, "a board that declares restrictions must refuse something"
    before = (board.counters(), board.now(), board.get_rails(), board.powered_cores().tolist())
    hooks = list(getattr(board, "hooks", []))
    for capability, call in cases:
        with pytest.raises(CapabilityError) as e:
            call()
        err = e.value
        assert err.capability == capability, str(err)
        assert capability in str(err) and repr(err.value) in str(err) and repr(err.limit) in str(err)
    assert (board.counters(), board.now(), board.get_rails(), board.powered_cores().tolist()) == before
    assert list(getattr(board, "hooks", [])) == hooks, "a refused request must reach no board hook"


def _check_applied(board, kind, applied, v, w, g):
    caps, lim = board.capabilities(), board.limits
    assert isinstance(applied, AppliedPulse)
    v_max = lim.form_v_max if kind == "form" else lim.pulse_v_max
    for got, asked, step, lo, hi in ((applied.v_pulse_v, v, caps.pulse_v_step_v, 0.0, v_max),
                                     (applied.width_s, w, caps.pulse_width_tick_s, *lim.width_s),
                                     (applied.v_gate_v, g, caps.pulse_v_step_v, 0.0, lim.gate_v_max)):
        assert got.dtype == np.float64 and got.shape == (8,)
        asked = np.broadcast_to(np.asarray(asked, np.float64), (8,))
        assert np.all((got >= lo) & (got <= hi)), "quantising must never cross a safety limit"
        if step is None:
            np.testing.assert_array_equal(got, asked)
        else:
            assert np.all(np.abs(got - asked) <= step * (1 + 1e-9)), "applied within one step of the request"
            n = got / step
            assert np.allclose(n, np.rint(n), rtol=0, atol=1e-6) or np.all((got == lo) | (got == hi))


def test_applied_pulse_is_within_one_step_and_inside_the_limits(board):
    c, r, k = CELLS
    v, w, g = np.linspace(1.5, 2.2, 8) + 1.234e-5, 1.23456e-6, 1.987654
    _check_applied(board, "set", board.pulse("set", c, r, k, v, w, g), v, w, g)
    rail = board.get_rails()["v_wl_reset"]
    _check_applied(board, "reset", board.pulse("reset", c, r, k, 2.6, 1e-6), 2.6, 1e-6, rail)
    lim = board.limits  # at the limits themselves: nothing may land beyond them
    _check_applied(board, "form", board.pulse("form", c, r, k, lim.form_v_max, lim.width_s[0], lim.gate_v_max),
                   lim.form_v_max, lim.width_s[0], lim.gate_v_max)
    _check_applied(board, "set", board.pulse("set", c, r, k, lim.pulse_v_max, lim.width_s[1], 0.0),
                   lim.pulse_v_max, lim.width_s[1], 0.0)


def test_journal_and_replay_carry_capabilities_and_applied_pulses(board_spec, tmp_path):
    with open_board(board_spec) as board:
        caps = board.capabilities()
        with start_run(board, tmp_path, "caps", {}, {}) as log:
            jb = log.board
            assert jb.capabilities() == caps
            applied = jb.pulse("set", *CELLS, np.linspace(1.5, 2.2, 8) + 1e-5, 1.23456e-6)
            assert isinstance(applied, AppliedPulse)
            log.close()
    assert read_run(log.path).record["board"]["capabilities"] == caps.to_dict()
    with ReplayBoard(log.path) as rb:
        assert rb.capabilities() == caps
        with start_run(rb, tmp_path / "again", "caps", {}, {}) as log2:
            again = log2.board.pulse("set", *CELLS, np.linspace(1.5, 2.2, 8) + 1e-5, 1.23456e-6)
            log2.close()
    for f in ("v_pulse_v", "width_s", "v_gate_v"):
        np.testing.assert_array_equal(getattr(again, f), getattr(applied, f))
