"""Run files a sweep can afford: large integer arrays deflated in the journal, repeats stored once, old files still read."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import h5py
import numpy as np

from neurram_lab import FORMAT_VERSION, MVMRequest, open_board, read_run
from neurram_lab.experiments._common import start_run
from neurram_lab.runlog.replay import ReplayBoard

FIXTURES = Path(__file__).parent / "fixtures"


def _request(x):
    return MVMRequest(cores=(0,), inputs=x, input_lines=np.arange(x.shape[-1]), output_lines=np.arange(8))


def test_large_integer_arrays_are_deflated_repeats_stored_once_and_replay_bit_identical(tmp_path):
    board = open_board("sim://?seed=5")
    log = start_run(board, tmp_path, "deflate", {}, {"t": {"x": ("f8", "")}})
    b = log.board
    rng = np.random.default_rng(0)
    x = (rng.random((1, 6000, 64)) < 0.3) * rng.integers(1, 8, (1, 6000, 64))  # sparse 3-bit codes, int64
    cells = np.arange(5000)
    g = b.read(0, cells // 256, cells % 256)
    y1 = b.mvm(_request(x))
    log.append("t", x=g.astype(float))  # flushes: the repeat below points into an earlier flush
    y2 = b.mvm(_request(x.copy()))
    log.close("success", {"n": 2})
    with h5py.File(log.path, "r") as f:
        z = f["journal/store/z"]
        assert int(f.attrs["neurram_format_version"]) == FORMAT_VERSION == 3
        assert 0 < z.shape[0] < x.size // 2  # codes, cell lists and ADC codes deflated: under half a byte per code
        assert f["journal/store/u1"].shape[0] < 1000 and f["journal/store/i8"].shape[0] < 1000  # small arrays only
    run = read_run(log.path, journal=True)
    calls = list(run.journal)
    mvms = [c for c in calls if c.op == "mvm"]
    assert run.journal._metas[mvms[1].index]["a"]["request"]["$c"][1]["inputs"]["$a"].endswith(" =")
    for c, y in zip(mvms, (y1, y2)):
        assert c.args["request"].inputs.dtype == x.dtype and np.array_equal(c.args["request"].inputs, x)
        assert c.response.dtype == y.dtype and np.array_equal(c.response, y)
    assert (y1 < 0).any()  # signed ADC codes narrowed to int8 and back
    rb = ReplayBoard(log.path)
    rb.snapshot()
    assert np.array_equal(rb.read(0, cells // 256, cells % 256), g)
    assert np.array_equal(rb.mvm(_request(x)), y1) and np.array_equal(rb.mvm(_request(x)), y2)


def test_format_2_run_file_still_reads_and_replays(tmp_path):
    path = tmp_path / "run_v2.h5"
    with gzip.open(FIXTURES / "run_v2.h5.gz") as src, open(path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    with h5py.File(path, "r") as f:
        assert int(f.attrs["neurram_format_version"]) == 2 and "z" not in f["journal/store"]
    run = read_run(path, journal=True)
    assert run.status == "success"
    mvm = [c for c in run.journal if c.op == "mvm"][0]
    x = mvm.args["request"].inputs
    assert x.shape == (1, 5000, 4)
    rb = ReplayBoard(path)
    calls = list(run.journal)
    rb.snapshot()
    for c in calls[1:]:
        if c.op == "mvm":
            assert np.array_equal(rb.mvm(c.args["request"]), c.response)
        elif c.op in ("pulse", "read"):
            getattr(rb, c.op)(**c.args)
