"""``neurram characterize write-verify`` on the emulated neurram_top_wv engine: the run log journals each pass's
engine call as one ``write_verify_engine`` call, and ``neurram replay`` serves it from the journal."""

import contextlib
import io
import json

import numpy as np
import pytest

from neurram_lab import open_board, read_run
from neurram_lab.cli import main
from neurram_lab.errors import InputError, ReplayDivergence
from neurram_lab.experiments import write_verify as wv_exp
from neurram_lab.runlog.replay import ReplayBoard

CELLS = 96


def _cli(capsys, *args):
    assert main(list(args)) == 0
    out = capsys.readouterr().out
    return out, json.loads(out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def engine_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("wvcli")
    trace = d / "trace.jsonl"
    spec = f"hil://?seed=1&bitstream=neurram_top_wv&trace={trace}"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):  # the command itself, in this process
        assert main(["characterize", "write-verify", "--board", spec, "--cores", "0", "--cells-per-core", str(CELLS),
                     "--iterations", "1", "--settle-s", "0", "--json", "--out", str(d / "engine.h5")]) == 0
    s = json.loads(buf.getvalue().strip().splitlines()[-1])
    return dict(dir=d, summary=s, path=d / "engine.h5",
                trace=[json.loads(line) for line in trace.read_text().splitlines()])


def test_cli_runs_on_the_engine_with_per_cell_results(engine_run):
    s, run = engine_run["summary"], read_run(engine_run["path"], journal=True)
    assert s["write_verify_engine"] is True and s["engine_cells"] == s["cells_programmed_by_iteration"][0] > 80
    assert s["in_window_fraction"] >= 0.9
    ops = run.journal.calls["op"].tolist()
    assert ops.count("write_verify_engine") == 1  # one journaled call for the whole pass
    i = ops.index("write_verify_engine")
    assert "pulse" not in ops[i:] and ops[i + 1:].count("read") == 1  # after it: only the verify re-read
    assert len(run.tables["wv_events"]) == 0  # no per-pulse events on the engine
    call = run.journal.call(i)
    cells = run.tables["wv_cells"]
    assert len(cells) == s["engine_cells"]
    flat = (call.args["core"].astype(np.int64) << 16) | (call.args["row"] << 8) | call.args["col"]
    order = np.argsort(flat)
    by_cell = cells.sort_values("cell")
    assert np.array_equal(by_cell["cell"].to_numpy(), flat[order])
    assert np.array_equal(by_cell["pulses"].to_numpy(), call.response["pulses"][order])
    assert np.array_equal(by_cell["outcome"].to_numpy(), call.response["outcome"][order])
    assert np.allclose(by_cell["g_final_s"].to_numpy(), call.response["g_final_s"][order])
    assert s["mean_pulses_per_cell"] == pytest.approx(call.response["pulses"].mean())


def test_engine_pass_takes_at_most_two_frontpanel_calls_per_cell(engine_run):
    s, tr = engine_run["summary"], engine_run["trace"]
    wv_calls = sum(1 for rec in tr if rec.get("board_op") == "write_verify")
    assert 0 < wv_calls <= 2 * s["engine_cells"]
    assert s["engine_frontpanel_calls_per_cell"] == pytest.approx(wv_calls / s["engine_cells"])


def test_engine_statistics_match_the_twin_on_sim(engine_run, tmp_path):
    e = engine_run["summary"]
    with open_board("sim://?seed=1") as board:
        h = wv_exp.run(board, tmp_path / "sim.h5", cores=(0,), cells_per_core=CELLS, iterations=1, settle_s=0.0)
    assert "write_verify_engine" not in h  # the host loop on a board without the engine: summary as before
    assert len(read_run(tmp_path / "sim.h5").tables["wv_events"]) > 0  # ... and per-pulse events
    assert abs(e["mean_pulses_per_cell"] - h["mean_pulses_per_cell"]) <= 0.15 * h["mean_pulses_per_cell"]
    assert abs(e["in_window_fraction"] - h["in_window_fraction"]) <= 0.02


def test_replay_serves_the_engine_call_identically(engine_run, capsys, tmp_path):
    out, s = _cli(capsys, "replay", str(engine_run["path"]), "--json", "--out", str(tmp_path / "r.h5"))
    assert "summary identical to the recording" in out
    assert s["engine_cells"] == engine_run["summary"]["engine_cells"]
    a, b = read_run(engine_run["path"], journal=True), read_run(tmp_path / "r.h5", journal=True)
    for t in ("wv_cells", "wv_verify"):
        assert a.tables[t].equals(b.tables[t])
    assert b.journal.calls["op"].tolist() == a.journal.calls["op"].tolist()  # the replay journals the call again


def test_replay_with_other_targets_diverges_at_the_engine_call(engine_run, tmp_path):
    params = dict(read_run(engine_run["path"]).record["parameters"], target_seed=1)
    with ReplayBoard(engine_run["path"]) as board, pytest.raises(ReplayDivergence, match="target_s"):
        wv_exp.run(board, tmp_path, **params)


def test_engine_refusal_is_journaled_and_replayed(tmp_path):
    with open_board("hil://?seed=1&bitstream=neurram_top_wv") as board, \
            pytest.raises(InputError, match="window_s"):  # no read code of the engine in a 1 pS window
        wv_exp.run(board, tmp_path / "bad.h5", cores=(0,), cells_per_core=8, iterations=1, settle_s=0.0,
                   window_s=1e-12)
    run = read_run(tmp_path / "bad.h5", journal=True)
    last = run.journal.call(len(run.journal) - 1)
    assert last.op == "write_verify_engine" and isinstance(last.error, InputError)
    params = run.record["parameters"]
    with ReplayBoard(tmp_path / "bad.h5") as rb, pytest.raises(InputError, match="window_s"):
        wv_exp.run(rb, tmp_path / "again.h5", **params)
