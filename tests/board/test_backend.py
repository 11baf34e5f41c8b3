"""The Board frontend and its backend interface (neurram_lab/board/backend.py).

The table of public calls covers every hook the frontend calls; each backend (the twin, the
driver, the replay) implements exactly the hooks it claims and the journal none; the frontend
runs over a backend of its own kind with its checks first.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import numpy as np
import pytest

from neurram_lab.board import backend as bk
from neurram_lab.board.backend import CALLS, EXTENSIONS, HOOKS, OPTIONAL_HOOKS, REQUIRED_HOOKS, BoardBackend, hooks_defined
from neurram_lab.board.contract import Board, BoardInfo, MVMRequest
from neurram_lab.drivers.fpga_board import FpgaBoard
from neurram_lab.errors import BoardError, LimitError
from neurram_lab.runlog.journal_board import JournalBoard
from neurram_lab.runlog.replay import ReplayBoard
from neurram_lab.sim_backend.board import SimBoard

_ALL_OPTIONAL = set(OPTIONAL_HOOKS) - {"_check_rails", "_close"}

#: What each backend claims to implement itself (hooks and optional calls). A change here is a change of
#: the board's interface: the test fails until the claim is updated with it.
CLAIMS = {
    SimBoard: set(REQUIRED_HOOKS) | {"_capabilities", "_mvm", "_neuron_test", "_counters", "_snapshot_extra"},
    FpgaBoard: set(REQUIRED_HOOKS) | set(OPTIONAL_HOOKS) | {"write_verify_on_engine", "form_on_engine",
                                                            "scale_stochastic_noise"},
    ReplayBoard: set(REQUIRED_HOOKS) | {"_capabilities", "_mvm", "_neuron_test", "_counters"} | set(EXTENSIONS),
    JournalBoard: set(EXTENSIONS),  # a frontend over its inner board's backend: no hook of its own
}


def _public_calls() -> dict[str, object]:
    return {n: f for n, f in vars(Board).items() if not n.startswith("_") and callable(f)}


def test_table_lists_every_public_call_that_reaches_a_backend():
    public = _public_calls()
    observed = {n for n, f in public.items() if hasattr(f, "__wrapped__")}  # @_observed
    assert observed == {op for op, c in CALLS.items() if c.observed}
    assert set(CALLS) - set(public) == set()
    assert set(public) - set(CALLS) == {"set_limits"}  # sends nothing: no hook
    used = {h for c in CALLS.values() for h in (c.hook, *c.consults) if h}
    assert used == set(HOOKS)
    assert set(REQUIRED_HOOKS).isdisjoint(OPTIONAL_HOOKS)
    assert {n for n, f in vars(BoardBackend).items() if getattr(f, "__isabstractmethod__", False)} == set(REQUIRED_HOOKS)
    assert {n for n in vars(bk.OptionalHooks) if n.startswith("_") and not n.startswith("__")} == set(OPTIONAL_HOOKS)


def test_frontend_calls_only_hooks_of_the_table():
    """Every hook name the frontend's source calls on its backend is in the table (a renamed hook cannot
    leave a backend's method dead)."""
    src = Path(inspect.getsourcefile(Board)).read_text()
    called = set(re.findall(r"\b(?:_backend|b)\.(_[a-z_]+)\(", src))
    assert called and called <= set(HOOKS), called - set(HOOKS)


class _Recorder(BoardBackend):
    """A complete backend of its own, no twin: records each hook called, in order."""

    def __init__(self):
        self.calls: list[str] = []
        self.rails = {"v_wl_set": 2.0, "v_wl_reset": 3.0, "v_wl_form": 2.5, "v_read": 0.2}
        self.powered = np.ones(48, bool)
        self.t_s = 0.0
        self.closed = False

    def __getattribute__(self, name):
        if name in HOOKS:
            object.__getattribute__(self, "calls").append(name)
        return object.__getattribute__(self, name)

    def _info(self):
        return BoardInfo(kind="recorder", spec="rec://", serial="R-0", firmware="0")

    def _set_rails(self, volts):
        self.rails.update(volts)

    def _get_rails(self):
        return dict(self.rails)

    def _power_cores(self, cores, on):
        self.powered[cores] = on

    def _powered_cores(self):
        return self.powered.copy()

    def _pulse(self, kind, core, row, col, v_pulse, width_s, v_gate):
        pass

    def _read(self, core, row, col):
        return np.full(core.shape, 1e-5)

    def _mvm(self, request):
        return np.zeros((len(request.cores), request.inputs.shape[1], request.output_lines.size), np.int16)

    def _neuron_test(self, core, v_in_v, output_bits):
        return np.zeros(v_in_v.shape, np.int16)

    def _now(self):
        return self.t_s

    def _wait(self, seconds):
        self.t_s += seconds

    def _close(self):
        self.closed = True


_CALLS_MADE = {
    "info": lambda b: b.info(),
    "capabilities": lambda b: b.capabilities(),
    "set_rails": lambda b: b.set_rails(v_read=0.25),
    "rail_range_v": lambda b: b.rail_range_v("v_read"),
    "get_rails": lambda b: b.get_rails(),
    "power_cores": lambda b: b.power_cores([3], on=False),
    "powered_cores": lambda b: b.powered_cores(),
    "pulse": lambda b: b.pulse("set", [0, 1], [2, 3], [4, 5], 1.5, 1e-6),
    "read": lambda b: b.read([0], [1], [2]),
    "mvm": lambda b: b.mvm(MVMRequest(cores=(0,), inputs=np.ones((1, 2, 4), np.int16),
                                      input_lines=np.arange(4), output_lines=np.arange(8))),
    "neuron_test": lambda b: b.neuron_test(0, np.zeros((2, 1))),
    "now": lambda b: b.now(),
    "wait": lambda b: b.wait(1.5),
    "snapshot": lambda b: b.snapshot(),
    "counters": lambda b: b.counters(),
    "close": lambda b: b.close(),
}


@pytest.mark.parametrize("op", list(CALLS))
def test_each_call_uses_the_hooks_the_table_names(op):
    rec = _Recorder()
    board = Board("rec://", backend=rec)
    rec.calls.clear()
    _CALLS_MADE[op](board)
    c = CALLS[op]
    assert set(rec.calls) <= {c.hook, *c.consults}, rec.calls
    if c.hook is not None:
        assert rec.calls[-1] == c.hook, rec.calls  # the hook that carries it runs last, after the checks


def test_frontend_over_a_backend_checks_first_and_owns_it():
    rec = _Recorder()
    with Board("rec://", backend=rec) as board:
        assert board.info().kind == "recorder" and board.now() == 0.0
        rec.calls.clear()
        with pytest.raises(LimitError):
            board.pulse("set", 0, 0, 0, 9.0, 1e-6)  # above pulse_v_max: refused before any hook
        assert "_pulse" not in rec.calls
        board.wait(2.0)
        assert rec.t_s == 2.0
    assert rec.closed  # a backend handed to the frontend is the frontend's to release
    with pytest.raises(BoardError):
        board.now()


def test_a_wrapper_leaves_the_wrapped_board_open_and_adds_no_hooks():
    rec = _Recorder()
    inner = Board("rec://", backend=rec)
    seen = []
    outer = Board("rec://", backend=inner, observe=lambda op, args, proceed: (seen.append((op, args)), proceed())[1])
    assert outer.read([0], [0], [0]).dtype == np.float32
    outer.set_rails({"v_read": 0.3})
    assert [op for op, _ in seen] == ["read", "set_rails"] and seen[1][1] == {"volts": {"v_read": 0.3}}
    outer.close()
    assert not rec.closed and not inner.closed and inner.now() == 0.0


def test_a_backend_without_a_required_hook_is_refused():
    class Partial:
        def _info(self):
            return None

    with pytest.raises(TypeError, match="_pulse"):
        Board("x://", backend=Partial())
    with pytest.raises(TypeError, match="_read"):
        Board("x://")  # no backend and no hooks of its own


@pytest.mark.parametrize("cls", list(CLAIMS), ids=lambda c: c.__name__)
def test_each_backend_implements_exactly_what_it_claims(cls):
    assert hooks_defined(cls) == CLAIMS[cls]
    for name in CLAIMS[cls] & set(HOOKS):  # same parameters as the interface's hook
        mine = list(inspect.signature(getattr(cls, name)).parameters)
        want = list(inspect.signature(getattr(BoardBackend, name)).parameters)
        assert len(mine) == len(want), (cls.__name__, name, mine, want)


def test_journal_forwards_nothing_and_sees_the_inner_hooks(tmp_path):
    """A JournalBoard calls the inner board's own hooks (no hook methods of its own, none generated)."""
    from neurram_lab.experiments._common import start_run

    with SimBoard(seed=3) as sim, start_run(sim, tmp_path, "t", {}, {}) as log:
        j = log.board
        assert isinstance(j, JournalBoard) and not set(vars(JournalBoard)) & set(HOOKS)
        assert j._backend is sim  # noqa: SLF001 (the composition under test)
        before = sim.counters()
        j.pulse("form", 0, 0, 0, 4.0, 1e-6)
        j.read([0, 1], [0, 0], [0, 0])
        after = sim.counters()
        assert (after["pulses"] - before["pulses"], after["reads"] - before["reads"]) == (1, 2)
        log.close("success", {})
    from neurram_lab import read_run

    ops = read_run(log.path, tables=False, journal=True).journal.calls["op"].tolist()
    assert ops == ["snapshot", "pulse", "read"]


def test_replay_hooks_outside_a_call_answer_the_checks_or_refuse(tmp_path):
    from neurram_lab.experiments._common import start_run

    with SimBoard(seed=4) as sim, start_run(sim, tmp_path, "t", {}, {}) as log:
        log.board.set_rails(v_read=0.25)
        log.board.read([0, 1], [0, 0], [0, 0])
        log.close("success", {})
    with ReplayBoard(log.path) as rb:
        assert rb._get_rails() == rb.record["board"]["rails_v"]  # noqa: SLF001 (the start snapshot's)
        with pytest.raises(BoardError, match="only serves read"):
            rb._read(np.zeros(1, int), np.zeros(1, int), np.zeros(1, int))  # noqa: SLF001
        rb.snapshot()
        rb.set_rails(v_read=0.25)
        assert rb._get_rails()["v_read"] == 0.25  # noqa: SLF001 (the state followed through the replay)
        assert rb.read([0, 1], [0, 0], [0, 0]).shape == (2,) and rb.remaining == 0


def test_a_backend_without_the_gate_rail_is_named_before_any_pulse():
    rec = _Recorder()
    board = Board("rec://", backend=rec)
    del rec.rails["v_wl_reset"]
    rec.calls.clear()
    with pytest.raises(BoardError, match=r"reports no v_wl_reset rail.*reset pulses"):
        board.pulse("reset", [0], [1], [2], 1.5, 1e-6)
    assert "_pulse" not in rec.calls
    assert board.pulse("reset", [0], [1], [2], 1.5, 1e-6, v_gate=3.0).v_gate_v[0] == 3.0  # a given gate needs none
