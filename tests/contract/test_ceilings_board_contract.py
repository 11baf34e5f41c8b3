"""The chip's absolute ratings hold on every board, whatever is done to its limits (issue 24, item 1).

The module name ends in ``board_contract``, so every test taking ``board``
runs on each board of the contract suite and on a replay of its own run.
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest

from neurram_lab import FrozenLimitsError, InputError, LimitError, SafetyLimits, write_verify
from neurram_lab.board.limits import RATED_V_MAX

# Each dangerous request of the issue, as (call, what a lab would have destroyed)
DANGEROUS = {
    "set pulse 7.5 V": lambda b: b.pulse("set", 0, 0, 0, 7.5, 1e-6),
    "rail v_wl_set 8.5 V": lambda b: b.set_rails(v_wl_set=8.5),
    "form 11 V": lambda b: b.pulse("form", 0, 0, 0, 11.0, 1e-6),
    "gate 8 V": lambda b: b.pulse("set", 0, 0, 0, 1.0, 1e-6, v_gate=8.0),
    "width 10 ms": lambda b: b.pulse("reset", 0, 0, 0, 1.0, 10e-3),
    "v_read rail 5.5 V": lambda b: b.set_rails(v_read=5.5),
    "conductance target 1 mS": lambda b: write_verify(b, [0], [0], [0], target_s=[1e-3]),
}


def _state(board):
    """What a hook having run would change: counters (pulses, reads, FrontPanel calls), rails and board time."""
    return board.counters(), board.get_rails()


def _refuse_all(board):
    before = _state(board)
    for name, call in DANGEROUS.items():
        with pytest.raises(LimitError) as e:
            call(board)
        assert e.value.value is not None, name
    assert _state(board) == before, "a refused request reached a hook"


def test_limits_cannot_be_changed_in_place(board):
    lim = board.limits
    for field in dataclasses.fields(SafetyLimits):
        with pytest.raises(FrozenLimitsError, match=field.name):
            setattr(lim, field.name, getattr(lim, field.name))
        with pytest.raises(FrozenLimitsError):
            delattr(lim, field.name)
    for rail in list(lim.rails_v):
        with pytest.raises(FrozenLimitsError, match=rail):
            lim.rails_v[rail] = (0.0, 9.0)
        with pytest.raises(FrozenLimitsError):
            del lim.rails_v[rail]
    with pytest.raises(FrozenLimitsError):
        lim.rails_v["v_new"] = (0.0, 1.0)
    for pair in ("width_s", "g_cell_s"):
        assert isinstance(getattr(lim, pair), tuple)  # no list to append to or assign into
    assert board.limits is lim and lim == SafetyLimits()
    _refuse_all(board)


RAISED = [{"pulse_v_max": 8.0}, {"form_v_max": 12.0}, {"gate_v_max": 9.0}, {"width_s": (10e-9, 1.0)},
          {"g_cell_s": (0.0, 1e-3)}, {"rails_v": {"v_wl_set": (0.0, 9.0)}}, {"n_cores": 49}]


def test_new_limits_above_the_ratings_are_refused(board):
    """``dataclasses.replace``, ``set_limits`` and assigning ``board.limits`` all validate; the old limits stay."""
    lim = board.limits
    for change in RAISED:
        with pytest.raises(LimitError):
            dataclasses.replace(lim, **change)
        raw = lim.to_dict()
        raw.update({k: (dict(raw["rails_v"], **v) if k == "rails_v" else v) for k, v in change.items()})
        with pytest.raises(LimitError):
            board.set_limits(raw)
        with pytest.raises(LimitError):
            board.limits = raw
        assert board.limits is lim, change
    _refuse_all(board)


def test_tampered_limits_object_is_caught(board):
    """Limits altered behind the frozen fields' back: swapping them in is re-validated, and even
    limits planted on the board's private attribute do not let anything past the ratings."""
    evil = copy.deepcopy(board.limits)
    for name, value in (("pulse_v_max", 8.0), ("form_v_max", 12.0), ("gate_v_max", 9.0),
                        ("width_s", (10e-9, 1.0)), ("g_cell_s", (0.0, 1e-3))):
        object.__setattr__(evil, name, value)
    evil.rails_v._d.update(v_wl_set=(0.0, 9.0), v_read=(0.0, 6.0))  # noqa: SLF001 (the attack under test)
    with pytest.raises(LimitError):
        board.set_limits(evil)
    with pytest.raises(LimitError):
        board.limits = evil
    assert board.limits != evil
    kept = board.limits
    try:
        object.__setattr__(board, "_limits", evil)
        if hasattr(board, "inner"):
            object.__setattr__(board.inner, "_limits", evil)
        _refuse_all(board)
    finally:
        object.__setattr__(board, "_limits", kept)


def test_tighter_limits_apply_at_once(board):
    tight = dataclasses.replace(board.limits, pulse_v_max=2.0)
    assert board.set_limits(tight) == tight and board.limits.pulse_v_max == 2.0
    before = _state(board)
    with pytest.raises(LimitError, match="2.0"):
        board.pulse("set", 0, 0, 0, 2.5, 1e-6)
    assert _state(board) == before
    board.limits = SafetyLimits()
    assert board.limits.pulse_v_max == 4.0
    with pytest.raises(InputError, match="SafetyLimits"):
        board.set_limits(4.0)
    assert board.limits == SafetyLimits()


def test_ratings_are_the_chip_s():
    assert RATED_V_MAX == 5.0
    assert np.isclose(SafetyLimits().form_v_max, RATED_V_MAX)
