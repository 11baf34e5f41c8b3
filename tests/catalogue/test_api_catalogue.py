"""The generated bad-input catalogue of the Python API (issue 24, item 7).

For every public function and class of ``neurram_lab`` (and ``neurram_lab.deploy``,
and the Board contract's methods), every parameter whose kind ``_kinds.kind_of``
can tell gets bad values drawn by hypothesis from that kind, swapped one at a
time into the function's valid example (``_examples.py``), on a sim:// board whose
hooks are tripwires. Each must be refused with a :class:`NeuRRAMError` naming the
parameter or the value, before the board is touched and before any file is
written. A new public function without an example fails
``test_every_public_function_has_an_example``; a new parameter is probed as soon
as it exists.
"""

from __future__ import annotations

import inspect
import signal

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import neurram_lab as nl
from neurram_lab import NeuRRAMError
from neurram_lab import deploy as dp

from ._examples import EXAMPLES, Ctx
from ._kinds import bad_values, kind_of, named

TIMEOUT_S = 20
_HOOKS = ("_pulse", "_read", "_mvm", "_neuron_test", "_wait", "_set_rails", "_power_cores")


class Reached(Exception):
    """A call got as far as the board's hooks."""


class Hang(Exception):
    pass


def tripwired_board():
    b = nl.open_board("sim://?seed=1")
    for name in _HOOKS:
        def trip(*a, _n=name, **k):
            raise Reached(f"board {_n.lstrip('_')} called")
        setattr(b, name, trip)
    return b


def target(name: str):
    """The function or class an example name stands for (whose signature gives the parameters)."""
    head, _, tail = name.partition(".")
    if head == "deploy":
        return getattr(dp, tail)
    if tail:
        return getattr({"Board": nl.Board, "Core": nl.Core, "Chip": nl.Chip, "Model": dp.Model, "Mapping": dp.Mapping,
                        "ChipNetwork": dp.ChipNetwork, "ChipRBM": dp.ChipRBM}[head], tail)
    return getattr(nl, name)


def public_names() -> list[str]:
    names = [n for n in nl.__all__ if not n.startswith("_") and n != "__version__"]
    names += [f"deploy.{n}" for n in dp.__all__]
    out = []
    for n in names:
        obj = target(n)
        if inspect.isclass(obj) and issubclass(obj, BaseException) or not callable(obj):
            continue
        out.append(n)
    board_methods = [f"Board.{m}" for m, f in vars(nl.Board).items()
                     if not m.startswith("_") and callable(f) and m not in ("close", "info", "capabilities", "now",
                                                                           "get_rails", "powered_cores", "snapshot",
                                                                           "counters")]
    return out + board_methods


def parameters(name: str) -> dict[str, inspect.Parameter]:
    return dict(inspect.signature(target(name)).parameters)


def cases():
    out = []
    for name, example in EXAMPLES.items():
        if example is None:
            continue
        params = parameters(name)
        for pname in _probe_names(name):
            kind = kind_of(params[pname])
            if kind is not None:
                out.append(pytest.param(name, pname, kind, id=f"{name}-{pname}"))
    return out


def _probe_names(name: str) -> list[str]:
    """The parameters an example passes (read from its source without building it)."""
    src = inspect.getsource(EXAMPLES[name])
    params = parameters(name)
    return [p for p in params if f"{p}=" in src]


def outcome(fn, kwargs):
    def alarm(*_):
        raise Hang()

    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(TIMEOUT_S)
    try:
        return "returned", fn(**kwargs)
    except Reached as exc:
        return "reached", exc
    except Hang:
        return "hang", None
    except NeuRRAMError as exc:
        if isinstance(exc.__context__, Reached) or isinstance(exc.__cause__, Reached):
            return "reached", exc
        return "typed", exc
    except Exception as exc:  # noqa: BLE001
        return "raw", exc
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def test_every_public_function_has_an_example():
    missing = [n for n in public_names() if n not in EXAMPLES]
    assert not missing, f"public functions with no catalogue example (tests/catalogue/_examples.py): {missing}"
    stale = [n for n in EXAMPLES if n not in public_names() and not n.startswith(("Core.", "Chip.", "Model.", "Mapping.", "ChipNetwork.", "ChipRBM."))]
    assert not stale, f"catalogue examples of names that are not public: {stale}"


@pytest.mark.parametrize("name", [n for n, e in EXAMPLES.items() if e is not None])
def test_examples_are_valid_calls(name, tmp_path):
    """The baseline of each probe is accepted (it returns or gets as far as the board), so a refusal of a
    bad value is due to that value."""
    with tripwired_board() as board:
        fn, kwargs = EXAMPLES[name](Ctx(board, tmp_path))
        if name == "deploy.read_idx":  # its example names a missing file: only its path is probed
            return
        what, value = outcome(fn, kwargs)
        assert what in ("returned", "reached"), f"{name} example refused: {value!r}"


@pytest.mark.parametrize("name,pname,kind", cases())
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
          phases=(Phase.explicit, Phase.generate))  # a failure is reported as drawn: its values are small already
@given(data=st.data())
def test_bad_value_refused_typed_before_anything_is_sent(name, pname, kind, data, tmp_path_factory):
    param = parameters(name)[pname]
    bad = data.draw(bad_values(kind, param), label=pname)
    tmp = tmp_path_factory.mktemp("cat")
    with tripwired_board() as board:
        fn, kwargs = EXAMPLES[name](Ctx(board, tmp))
        kwargs = dict(kwargs, **{pname: bad})
        what, value = outcome(fn, kwargs)
    made = [p for p in tmp.rglob("*") if p.is_file() and p.parent.name != "run"]
    assert what == "typed", f"{name}({pname}={bad!r}): {what} {value!r}"
    assert not made, f"{name}({pname}={bad!r}) wrote {made[0].name} before refusing"
    assert named(str(value), param, bad), f"{name}({pname}={bad!r}): the error does not name it: {value}"
