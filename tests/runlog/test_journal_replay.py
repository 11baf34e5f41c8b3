"""The journal of board calls and ReplayBoard: every contract call round-trips, divergence and interruption are typed."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neurram_lab.experiments._common import start_run
from neurram_lab import (
    AppliedPulse,
    BoardError,
    InputError,
    JournalBoard,
    LimitError,
    MVMRequest,
    ReplayDivergence,
    ReplayInterrupted,
    RunLogError,
    open_board,
    read_run,
)
from neurram_lab.cli import main as cli_main
from neurram_lab.cli.cmd_replay import differing_keys
from neurram_lab.runlog.replay import ReplayBoard

TABLES = {"t": {"x": ("f8", "")}}


def _session(board) -> list:
    """Every public Board call; returns what each gave, exceptions included."""
    out = []

    def call(fn, *args, **kwargs):
        try:
            out.append(fn(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001 - the exception is the result
            out.append(exc)

    cells = (np.zeros(300, int), np.arange(300) % 256, np.arange(300) // 256)
    call(board.info)
    call(board.get_rails)
    call(board.set_rails, {"v_read": 0.3}, v_ref=0.9)
    call(board.set_rails, v_read=9.0)  # LimitError, recorded and raised again
    call(board.power_cores, [3, 4], False)
    call(board.powered_cores)
    call(board.read, 3, 0, 0)  # BoardError: core 3 is power-gated
    call(board.power_cores, [3, 4])
    call(board.pulse, "form", *cells, np.linspace(3.5, 4.5, 300), 1e-6)
    call(board.pulse, "set", 0, [1, 2], 5, 1.5, 1e-6, v_gate=2.0)
    call(board.read, *cells)
    call(board.read, 0, 1, 5)
    call(board.wait, 10.0)
    call(board.now)
    req = MVMRequest(cores=(0,), inputs=np.ones((1, 2, 4), np.int16), input_lines=np.arange(4), output_lines=np.arange(8))
    call(board.mvm, req)
    call(board.neuron_test, 0, np.full((2, 256), 0.1))
    call(board.counters)
    call(board.snapshot)
    return out


def _same(a, b) -> bool:
    if isinstance(a, Exception) or isinstance(b, Exception):
        return type(a) is type(b) and str(a) == str(b) and vars(a) == vars(b)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, AppliedPulse):  # what a pulse applied: arrays per cell
        return type(b) is AppliedPulse and all(_same(getattr(a, f), getattr(b, f)) for f in vars(a))
    return type(a) is type(b) and a == b


def test_every_contract_call_replays_bit_identically(tmp_path):
    with open_board("sim://?seed=5") as sim:
        with start_run(sim, tmp_path / "orig", "contract", {}, TABLES) as log:
            board = log.board
            assert isinstance(board, JournalBoard)
            recorded = _session(board)
    assert any(isinstance(r, LimitError) for r in recorded) and any(isinstance(r, BoardError) for r in recorded)
    run = read_run(log.path, journal=True)
    assert run.journal.calls["op"].tolist()[:3] == ["snapshot", "info", "get_rails"]
    assert not hasattr(board, "true_conductance_s"), "the journal is of the Board contract, twin-only views stay out"
    assert run.journal.calls["error"].sum() >= 2
    with ReplayBoard(log.path) as rb:
        with start_run(rb, tmp_path / "replayed", "contract", {}, TABLES) as log2:
            replayed = _session(log2.board)
        assert rb.remaining == 0
    assert len(replayed) == len(recorded)
    for i, (a, b) in enumerate(zip(recorded, replayed)):
        assert _same(a, b), f"call {i}: {a!r} != {b!r}"
    lim = next(r for r in replayed if isinstance(r, LimitError))
    assert lim.name == "v_read" and lim.value == 9.0  # attributes of the typed error come back too
    assert read_run(log2.path).record["board"]["replay_of"]["uid"] == run.record["uid"]


def test_replay_runs_the_contract_checks_first(tmp_path):
    """ReplayBoard is a Board: its limits (the run's) refuse a request before anything is served."""
    log, g = _small_run(tmp_path)
    with ReplayBoard(log.path) as rb:
        rb.snapshot()
        with pytest.raises(ReplayDivergence) as exc:
            rb.read(0, np.arange(20), 300)  # no column 300: refused where the run's board read
        assert isinstance(exc.value.__cause__, LimitError) and rb.cursor == 1
        assert np.array_equal(rb.read(0, np.arange(20), 3), g)
        with pytest.raises(ReplayDivergence, match="v_pulse") as exc:
            rb.pulse("set", 0, np.arange(20), 3, 9.0, 1e-6)  # beyond the pulse limit
        assert isinstance(exc.value.__cause__, LimitError) and rb.cursor == 2, "a refused request serves nothing"


def _small_run(tmp_path, close=True):
    sim = open_board("sim://?seed=1")
    log = start_run(sim, tmp_path, "small", {}, TABLES)
    b = log.board
    g = b.read(0, np.arange(20), 3)
    b.pulse("set", 0, np.arange(20), 3, 1.4, 1e-6)
    b.wait(1.0)
    log.append("t", x=g)
    if close:
        log.close()
    return log, g


def test_divergence_names_the_call_and_both_operations(tmp_path):
    log, g = _small_run(tmp_path)
    with ReplayBoard(log.path) as rb:
        rb.snapshot()
        assert np.array_equal(rb.read(0, np.arange(20), 3), g)
        with pytest.raises(ReplayDivergence) as exc:
            rb.read(0, np.arange(20), 3)
        assert (exc.value.index, exc.value.recorded, exc.value.requested) == (2, "pulse", "read")
        assert "call 2" in str(exc.value)
    with ReplayBoard(log.path) as rb:
        rb.snapshot()
        with pytest.raises(ReplayDivergence, match="row") as exc:
            rb.read(0, np.arange(1, 21), 3)  # same op, other cells
        assert exc.value.index == 1 and exc.value.recorded == exc.value.requested == "read"
    with ReplayBoard(log.path) as rb:  # past the end of a complete recording
        rb.snapshot(), rb.read(0, np.arange(20), 3), rb.pulse("set", 0, np.arange(20), 3, 1.4, 1e-6), rb.wait(1.0)
        with pytest.raises(ReplayDivergence, match="end of recording"):
            rb.now()


def test_interrupted_run_replays_up_to_its_interruption_then_says_so(tmp_path):
    log, g = _small_run(tmp_path, close=False)  # the writer is still open: nothing after the last flush
    try:
        assert read_run(log.path).status == "interrupted"
        with ReplayBoard(log.path) as rb:
            rb.snapshot()
            assert np.array_equal(rb.read(0, np.arange(20), 3), g)
            rb.pulse("set", 0, np.arange(20), 3, 1.4, 1e-6)
            rb.wait(1.0)
            with pytest.raises(ReplayInterrupted, match="interrupted after 4 calls") as exc:
                rb.read(0, 0, 0)
            assert exc.value.index == 4 and exc.value.requested == "read"
    finally:
        log.close()


def test_journal_copies_arrays_and_flushes_before_a_wait(tmp_path):
    sim = open_board("sim://?seed=2")
    log = start_run(sim, tmp_path, "copy", {}, TABLES)
    log.journal.flush_interval_s = 1e9  # only explicit flushes
    rows = np.arange(2000) % 256
    log.board.read(0, rows, 7)
    rows[:] = 0  # the caller reuses its buffer: the journal keeps what was asked
    assert len(read_run(log.path, journal=True).journal) == 1  # the start snapshot; the read is still buffered
    log.board.wait(5.0)  # a long call: buffered calls are written first
    j = read_run(log.path, journal=True).journal
    assert len(j) == 2 and np.array_equal(j.call(1).args["row"], np.arange(2000) % 256)
    log.close()
    assert len(read_run(log.path, journal=True).journal) == 3


def test_replay_spec_errors(tmp_path):
    with pytest.raises(RunLogError, match="no run file"):
        open_board(f"replay://{tmp_path}/missing.h5")
    log, _ = _small_run(tmp_path)
    with pytest.raises(InputError, match="no options"):
        open_board(f"replay://{log.path}?seed=3")
    with open_board(f"replay://{log.path}") as rb:
        assert rb.record["experiment"] == "small" and len(rb.journal) == 4


def _cli_json(capsys, argv):
    rc = cli_main(argv)
    out = capsys.readouterr().out.strip().splitlines()
    return rc, json.loads(out[-1]) if rc == 0 else None


def test_demo_replays_to_identical_json_and_runs_show_list_it(tmp_path, capsys):
    rc, orig = _cli_json(capsys, ["demo", "--cores", "5", "--out", str(tmp_path / "runs"), "--json", "--quiet", "--seed", "4"])
    assert rc == 0
    rc, again = _cli_json(capsys, ["replay", orig["run_file"], "--out", str(tmp_path / "replays"), "--json", "--quiet"])
    assert rc == 0
    assert differing_keys(orig, again) == [] and set(orig) == set(again)
    assert again["run_file"] != orig["run_file"]
    rc, shown = _cli_json(capsys, ["show", orig["run_file"], "--json", "--quiet"])
    assert shown["status"] == "success" and shown["experiment"] == "demo"
    assert shown["tables"]["program"]["rows"] > 4000 and shown["journal"]["calls"] > 100
    rc, listed = _cli_json(capsys, ["runs", str(tmp_path), "--json", "--quiet"])
    assert listed["count"] == 2 and listed["by_status"] == {"success": 2}
    assert {r["board"] for r in listed["runs"]} == {"sim://"}
    assert sum(bool(r["replay_of"]) for r in listed["runs"]) == 1


def test_cli_replay_of_an_interrupted_run_says_so(tmp_path, capsys):
    log, _ = _small_run(tmp_path, close=False)
    try:
        from neurram_lab.experiments import _registry

        _registry.EXTRA_MODULES.append("tests.runlog.test_journal_replay")
        rc = cli_main(["replay", str(log.path), "--out", str(tmp_path / "r"), "--quiet"])
        err = capsys.readouterr().err
        assert rc == 1 and "interrupted after 4 calls" in err
    finally:
        _registry.EXTRA_MODULES.remove("tests.runlog.test_journal_replay")
        log.close()


# tests.runlog.test_journal_replay doubles as the experiment module of the "small" runs above
EXPERIMENT = "small"


def run(board, out_dir, progress=None):
    with start_run(board, out_dir, EXPERIMENT, {}, TABLES) as log:
        b = log.board
        g = b.read(0, np.arange(20), 3)
        b.pulse("set", 0, np.arange(20), 3, 1.4, 1e-6)
        b.wait(1.0)
        log.append("t", x=g)
        b.now()
        log.close("success", {"n": 20})
    return {"n": 20}


def test_journal_staging_keeps_every_dtype_across_flushes_and_runs(tmp_path):
    from neurram_lab.runlog.runlog import RunLog

    idx = np.arange(5000) % 256
    values = [idx, idx.astype(">i4"), np.arange(-100, 100), idx % 2 == 0, np.linspace(0, 1, 3000).astype(np.float32),
              np.arange(70000, 70100, dtype=np.uint32), np.arange(600).reshape(20, 30)[:, ::2], np.arange(3)]
    for r in range(2):  # the second run starts from the first one's staging buffers
        with RunLog(tmp_path / f"r{r}.h5", "probe", {}, TABLES, {}) as log:
            log.journal.flush_interval_s = 1e9
            for i in range(3):
                for v in values:
                    buf = v.copy()
                    log.journal.record("probe", {"v": buf, "same": buf}, {"nested": buf})
                    buf[...] = 1  # the caller reuses its buffer
                if i == 1:
                    log.flush()
        j = read_run(log.path, journal=True).journal
        assert len(j) == 3 * len(values)
        for c in j:
            v = values[c.index % len(values)]
            for got in (c.args["v"], c.args["same"], c.response["nested"]):
                assert got.dtype == v.dtype and got.shape == v.shape and got.tobytes() == np.ascontiguousarray(v).tobytes()
        raw = sum(3 * 3 * v.nbytes for v in values)
        assert j.summary()["stored_array_bytes"] < raw / 4  # repeats referenced, indices narrowed


def test_journal_written_before_the_package_move_still_decodes():
    """Files written when the twin and drivers were top-level packages name ``sim_backend.*`` / ``drivers.*``."""
    import dataclasses

    from neurram_lab.runlog._journal_codec import decode, encode
    from neurram_lab.sim_backend.params import DeviceParams

    class _Sink:
        def keep(self, a):
            raise AssertionError("no arrays in this record")

        def crc(self, data):
            pass

    tree = encode(DeviceParams(set_v_th_v=1.8), _Sink())
    assert tree["$c"][0] == "DeviceParams"  # a stable type tag now (runlog._type_tags)
    old = {"$c": ["sim_backend.params:DeviceParams", tree["$c"][1]]}
    back = decode(old, None)
    assert dataclasses.is_dataclass(back) and back == DeviceParams(set_v_th_v=1.8)
    assert type(decode({"$c": ["elsewhere.params:DeviceParams", tree["$c"][1]]}, None)).__name__ == "Unencodable"
