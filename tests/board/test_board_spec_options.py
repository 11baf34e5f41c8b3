"""Board-spec options are checked when the board opens, as query strings and as keywords alike (issue 24, item 4).

Each refusal is a typed NeuRRAMError naming the option and the value, raised
before the board exists: no FrontPanel call reaches the emulated FPGA and no
trace file is made.
"""

from __future__ import annotations

import math
import time

import pytest

from neurram_lab.drivers.fpga_board import MAX_READ_CYCLES, FpgaBoard
from neurram_lab.drivers.hil import FaultPlan, connect, make_emulated_board, open_hil
from neurram_lab import open_board, parse_spec
from neurram_lab.errors import InputError, LimitError, NeuRRAMError

NAN, INF = float("nan"), float("inf")


def _refused(spec: str, kind=NeuRRAMError, match: str | None = None, **kw):
    with pytest.raises(kind, match=match) as e:
        open_board(spec, **kw)
    return e.value


# ------------------------------------------------------------------ duplicated options
@pytest.mark.parametrize("spec", ["sim://?seed=1&seed=2", "sim://?seed=1&seed=1", "hil://?read_cycles=2&read_cycles=3",
                                  "replay://run.h5?limits=a.toml&limits=b.toml", "sim://?params=a.toml&seed=1&params=b"])
def test_an_option_given_twice_is_refused(spec):
    key = spec.split("?")[1].split("=")[0]
    with pytest.raises(InputError, match=f"option '{key}' is given twice"):
        parse_spec(spec)
    _refused(spec, InputError, "given twice")


def test_keywords_still_override_the_query():
    with open_board("sim://?seed=3", seed=4) as b:
        assert b.info().serial == "TWIN-4"


# ------------------------------------------------------------------ seeds, counts: integers, no truncation
SEEDS = [("1.7", InputError), ("1e3x", InputError), ("nan", InputError), ("inf", InputError), ("", InputError),
         ("-1", InputError), ("True", InputError), (str(2**64), InputError)]


@pytest.mark.parametrize("scheme", ["sim", "hil"])
@pytest.mark.parametrize("text, kind", SEEDS)
def test_seed_must_be_an_integer_as_query_text(scheme, text, kind):
    err = _refused(f"{scheme}://?seed={text}", kind)
    assert "seed" in str(err)


@pytest.mark.parametrize("scheme", ["sim", "hil"])
@pytest.mark.parametrize("value", [1.7, -3, True, NAN, INF, "1.5", [1], 2**64])
def test_seed_must_be_an_integer_as_keyword(scheme, value):
    err = _refused(f"{scheme}://", InputError, seed=value)
    assert "seed" in str(err)


@pytest.mark.parametrize("scheme", ["sim", "hil"])
def test_integral_seeds_open(scheme):
    with open_board(f"{scheme}://?seed=7") as a, open_board(f"{scheme}://", seed=7.0) as b:
        assert a.info().extra["seed"] == b.info().extra["seed"] == 7


@pytest.mark.parametrize("opts, kind, name", [
    ({"read_cycles": "10000000"}, LimitError, "read_cycles"),  # used to hang in the read loop
    ({"read_cycles": 10**7}, LimitError, "read_cycles"),
    ({"read_cycles": MAX_READ_CYCLES + 1}, LimitError, "read_cycles"),
    ({"read_cycles": "0"}, LimitError, "read_cycles"),
    ({"read_cycles": 2.5}, InputError, "read_cycles"),
    ({"read_cycles": "2.5"}, InputError, "read_cycles"),
    ({"read_cycles": True}, InputError, "read_cycles"),
    ({"read_cycles": "nan"}, InputError, "read_cycles"),
    ({"ignore_cycles": "-1"}, LimitError, "ignore_cycles"),
    ({"ignore_cycles": 0.5}, InputError, "ignore_cycles"),
    ({"read_cycles": 3, "ignore_cycles": 3}, InputError, "read_cycles"),
])
def test_read_counts_no_lab_would_use_are_refused(opts, kind, name):
    q = "&".join(f"{k}={v}" for k, v in opts.items())
    for spec, kw in ((f"hil://?{q}", {}), ("hil://", opts)):
        err = _refused(spec, kind, **kw)
        assert name in str(err)
        if isinstance(err, LimitError):
            assert err.name == name and err.limit == (1, MAX_READ_CYCLES) or err.name == "ignore_cycles"


def test_the_authors_read_counts_open():
    with open_board("hil://?seed=2&read_cycles=10&ignore_cycles=5") as b:
        assert (b.read_cycles, b.ignore_cycles) == (10, 5)
    with open_board("hil://", seed=2, read_cycles=MAX_READ_CYCLES, ignore_cycles=MAX_READ_CYCLES - 1) as b:
        assert b.read_cycles == MAX_READ_CYCLES


# ------------------------------------------------------------------ timeouts
@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "-1", "0", "1e9", "abc", ""])
def test_bad_poll_timeouts_are_refused_as_text(value):
    err = _refused(f"hil://?poll_timeout_s={value}", NeuRRAMError)
    assert "poll_timeout_s" in str(err)


@pytest.mark.parametrize("value", [NAN, INF, -INF, -0.5, 0.0, 1e9, True, "soon"])
def test_bad_poll_timeouts_are_refused_as_keywords(value):
    err = _refused("hil://", NeuRRAMError, poll_timeout_s=value)
    assert "poll_timeout_s" in str(err)
    if isinstance(err, LimitError) and not isinstance(value, str):
        assert err.name == "poll_timeout_s" and (math.isnan(err.value) or err.value == float(value))


def test_a_nan_timeout_never_reaches_a_poll():
    """Built directly on an emulated board (no factory in between), a NaN deadline is refused before any call;
    a poll that never succeeds still ends at its (finite) deadline."""
    plan = FaultPlan()
    ok, _ = make_emulated_board(3, faults=plan)
    for bad in (NAN, INF, -1.0):
        with pytest.raises(LimitError, match="poll_timeout_s"):
            connect(ok, poll_timeout_s=bad)
        with pytest.raises(LimitError, match="poll_timeout_s"):
            open_hil(ok=ok, poll_timeout_s=bad)
    assert plan.calls == 0
    with pytest.raises(LimitError):
        FpgaBoard(ok.okCFrontPanel(), "hil://", poll_timeout_s=NAN)
    assert plan.calls == 0
    with connect(ok, poll_timeout_s=0.05) as b:
        plan.add("timeout", ep=0x20, mask=0x10)  # pulse-done never sets
        t0 = time.monotonic()
        with pytest.raises(NeuRRAMError, match="Timeout"):
            b.pulse("form", 0, 0, 0, 4.0, 1e-6)
        assert time.monotonic() - t0 < 5.0


# ------------------------------------------------------------------ trace files
def test_a_trace_that_cannot_be_written_is_refused_before_anything(tmp_path):
    a_file = tmp_path / "plain.txt"
    a_file.write_text("x")
    for bad in (tmp_path, a_file / "t.jsonl", a_file / "deeper" / "t.jsonl", ""):
        plan = FaultPlan()
        ok, _ = make_emulated_board(1, faults=plan)
        with pytest.raises(InputError, match="trace"):
            open_hil(ok=ok, trace=bad)
        assert plan.calls == 0
        err = _refused(f"hil://?trace={bad}", InputError)
        assert "trace" in str(err)
    assert a_file.read_text() == "x"


def test_refused_options_leave_no_trace_file(tmp_path):
    t = tmp_path / "sub" / "t.jsonl"
    for bad in ("read_cycles=10000000", "poll_timeout_s=nan", "seed=1.5", "faults=timeout:ep=0x30,mask=1"):
        _refused(f"hil://?trace={t}&{bad}")
        assert not t.exists() and not t.parent.exists()
    with open_board(f"hil://?seed=1&trace={t}") as b:  # a folder that does not exist yet is made
        b.read(0, 0, 0)
    assert t.stat().st_size > 0


# ------------------------------------------------------------------ faults
@pytest.mark.parametrize("faults, kind, match", [
    ("timeout:ep=0x30,mask=0x10", InputError, "no such wire-out"),  # 0x30 is a FrontPanel wire-out, not this bitstream's
    ("stuck:ep=0x23,mask=1", InputError, "no such wire-out"),
    ("timeout:ep=0x05,mask=1", LimitError, "fault ep"),  # a wire-in
    ("timeout:ep=0x20,mask=0x10,count=-1", LimitError, "fault count"),
    ("disconnect:count=0", LimitError, "fault count"),
    ("short_read:at=-5", LimitError, "fault at"),
    ("timeout:ep=0x20,mask=0x1FFFFFFFF", LimitError, "fault mask"),
    ("stuck:ep=0x20", InputError, "mask"),
    ("timeout:ep=0x20,mask=1,at=2,at=3", InputError, "given twice"),
    ("timeout:ep=0x20,mask=1.5", InputError, "not an integer"),
    ("meteor", InputError, "fault kind"),
])
def test_bad_faults_are_refused_at_open(faults, kind, match):
    _refused(f"hil://?faults={faults}", kind, match)
    _refused("hil://", kind, match, faults=faults)
    with pytest.raises(kind, match=match):
        make_emulated_board(1, faults=faults)


def test_fault_plans_are_checked_against_the_bitstream():
    plan = FaultPlan()
    plan.faults.append(FaultPlan.parse("timeout:ep=0x2F,mask=1").faults[0])
    with pytest.raises(InputError, match="0x2F"):
        open_board("hil://", faults=plan)
    with pytest.raises(InputError, match="FaultPlan"):
        open_board("hil://", faults=42)
    plan = FaultPlan()
    with open_board("hil://?seed=1", faults=plan) as b:
        with pytest.raises(InputError, match="no such wire-out"):
            plan.add("stuck", ep=0x24, mask=1)  # added later: still checked
        with pytest.raises(LimitError, match="fault count"):
            plan.add("timeout", ep=0x20, mask=1, count=-3)
        with pytest.raises(InputError, match="fault at"):
            plan.add("disconnect", at=2.5)
        assert plan.faults == []
        b.read(0, 0, 0)


# ------------------------------------------------------------------ other options, every scheme
@pytest.mark.parametrize("spec, kw, match", [
    ("sim://?colour=red", {}, "unknown sim:// options"),
    ("hil://?colour=red", {}, "unknown hil:// options"),
    ("replay://run.h5?seed=1", {}, "replay:// takes no options"),
    ("replay://run.h5", {"seed": 1}, "replay:// takes no options"),
    ("sim://?params=", {}, "params"),
    ("hil://", {"params": 3}, "params"),
    ("sim://", {"params": ["a.toml"]}, "params"),
    ("hil://?bitstream=", {}, "bitstream"),
    ("hil://", {"bitstream": "neurram_top_v2"}, "bitstream"),
    ("sim://?limits=", {}, "limits"),
])
def test_other_bad_options_are_typed(spec, kw, match):
    _refused(spec, InputError, match, **kw)
