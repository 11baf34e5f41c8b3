"""RunLog.append stores a value exactly or refuses it, typed, before anything is written (issue 26 item 4)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurram_lab import InputError, LimitError, NeuRRAMError, RunLog, RunLogError, read_run

INT_DTYPES = ["i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8"]
FLOAT_DTYPES = ["f2", "f4", "f8"]
TABLES = {"t": {dt: (dt, "") for dt in INT_DTYPES + FLOAT_DTYPES + ["?"]}}
GOOD_ROW = {dt: 1 for dt in INT_DTYPES + FLOAT_DTYPES} | {"?": True}


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    lg = RunLog(tmp_path_factory.mktemp("append") / "a.h5", "append-types", {}, TABLES)
    yield lg
    lg.close()


def _rows(log) -> int:
    return log._lengths["t"]


def _try(log, column, value):
    """Append ``value`` to ``column`` (the others 1): the value stored, or the typed error raised."""
    before = _rows(log)
    try:
        log.append("t", **(GOOD_ROW | {column: value}))
    except NeuRRAMError as exc:
        assert _rows(log) == before and log._f["tables/t"][column].shape[0] == before  # nothing written
        return exc
    return log._f["tables/t"][column][before:]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(dt=st.sampled_from(INT_DTYPES), value=st.one_of(st.integers(-2**70, 2**70),
                                                        st.floats(allow_nan=True, allow_infinity=True)))
def test_integer_columns_store_exactly_or_refuse(log, dt, value):
    info = np.iinfo(dt)
    if isinstance(value, int):
        fits = info.min <= value <= info.max
    else:
        fits = bool(np.isfinite(value)) and value == int(value) and info.min <= int(value) <= info.max
    got = _try(log, dt, value)
    if fits:
        assert not isinstance(got, Exception), got
        assert int(got[0]) == int(value)
    else:
        assert isinstance(got, LimitError) and got.name == f"t.{dt}" and got.limit == (int(info.min), int(info.max))
        assert str(np.dtype(dt)) in str(got)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(dt=st.sampled_from(FLOAT_DTYPES), value=st.floats(allow_nan=True, allow_infinity=True, width=64))
def test_float_columns_round_or_refuse_overflow(log, dt, value):
    got = _try(log, dt, value)
    fmax = float(np.finfo(dt).max)
    if np.isfinite(value) and abs(value) > fmax * (1 + 2.0 ** -np.finfo(dt).nmant):
        assert isinstance(got, LimitError) and got.name == f"t.{dt}", got
    elif not isinstance(got, Exception):
        want = np.asarray(value).astype(dt)
        assert (np.isnan(want) and np.isnan(got[0])) or got[0] == want


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(dt=st.sampled_from(INT_DTYPES + FLOAT_DTYPES + ["?"]),
       value=st.one_of(st.text(min_size=1, max_size=5), st.just(object()), st.just({"a": 1}), st.just(1 + 2j)))
def test_strings_and_objects_are_refused_in_numeric_columns(log, dt, value):
    got = _try(log, dt, value)
    assert isinstance(got, InputError) and f"t.{dt}" in str(got)


def test_the_issues_silent_losses_are_refused(tmp_path):
    lg = RunLog(tmp_path / "b.h5", "x", {}, {"t": {"a": ("i2", ""), "b": ("u1", ""), "c": ("i4", "")}})
    for kw, name, val in [({"a": 70000}, "t.a", 70000), ({"b": -1}, "t.b", -1), ({"c": 3.7}, "t.c", 3.7)]:
        with pytest.raises(LimitError) as exc:
            lg.append("t", **({"a": 1, "b": 1, "c": 1} | kw))
        assert exc.value.name == name and exc.value.value == val
    with pytest.raises(LimitError, match="finite whole numbers only"):
        lg.append("t", a=1, b=1, c=float("nan"))
    with pytest.raises(RunLogError, match="unequal lengths"):
        lg.append("t", a=[1, 2], b=[1, 2, 3], c=1)
    lg.append("t", a=[1, 2], b=np.uint8(200), c=np.array([2.0, -3.0]))  # scalars broadcast, whole floats fit
    lg.close()
    df = read_run(tmp_path / "b.h5").tables["t"]
    assert df["a"].tolist() == [1, 2] and df["b"].tolist() == [200, 200] and df["c"].tolist() == [2, -3]


@pytest.mark.parametrize("summary", [{"x": object()}, {"x": {1, 2}}, "not a dict", {1: "a", "b": 2}])
def test_a_bad_summary_closes_the_file_as_failed_with_the_error(tmp_path, summary):
    lg = RunLog(tmp_path / "s.h5", "x", {}, {"t": {"a": ("i2", "")}})
    lg.append("t", a=1)
    with pytest.raises(InputError, match="summary"):
        lg.close(summary=summary)
    run = read_run(tmp_path / "s.h5")
    assert run.status == "failed" and "summary" in run.record["error"] and run.record["summary"] == {}
    assert run.parts["stop record"]["state"] == "intact" and len(run.tables["t"]) == 1
    json.dumps(run.record)  # the record stays JSON


def test_a_bad_status_closes_the_file_as_failed(tmp_path):
    lg = RunLog(tmp_path / "s.h5", "x", {}, {})
    with pytest.raises(InputError, match="status 'done'"):
        lg.close("done", summary={"a": 1})
    run = read_run(tmp_path / "s.h5")
    assert run.status == "failed" and "'done'" in run.record["error"]
