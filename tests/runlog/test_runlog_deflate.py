"""Run files a sweep can afford: large integer arrays deflated in the journal, repeats stored once, old files still read."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from neurram_lab import FORMAT_VERSION, MVMRequest, open_board, read_run
from neurram_lab.experiments._common import start_run
from neurram_lab.errors import ReplayDivergence
from neurram_lab.runlog._mvm_codec import Digest, Predicted, compact
from neurram_lab.runlog.replay import ReplayBoard

FIXTURES = Path(__file__).parent.parent / "fixtures"


def _request(x):
    return MVMRequest(cores=(0,), inputs=x, input_lines=np.arange(x.shape[-1]), output_lines=np.arange(8))


def test_large_mvm_calls_keep_input_digests_and_residual_codes_and_replay_bit_identical(tmp_path):
    board = open_board("sim://?seed=5")
    log = start_run(board, tmp_path, "deflate", {}, {"t": {"x": ("f8", "")}})
    b = log.board
    rng = np.random.default_rng(0)
    x = (rng.random((1, 6000, 64)) < 0.3) * rng.integers(1, 8, (1, 6000, 64))  # sparse 3-bit codes, int64
    cells = np.arange(5000)
    g = b.read(0, cells // 256, cells % 256)
    y1 = b.mvm(_request(x))
    log.append("t", x=g.astype(float))  # flushes between the two calls
    y2 = b.mvm(_request(x.copy()))
    small = x[:, :40]  # under MIN_VALUES: kept whole, as before
    y3 = b.mvm(_request(small))
    log.close("success", {"n": 3})
    with h5py.File(log.path, "r") as f:
        z = f["journal/store/z"]
        assert int(f.attrs["neurram_format_version"]) == FORMAT_VERSION == 5
        # inputs not stored at all; cell lists and residual ADC codes deflated: well under a byte per code
        assert 0 < z.shape[0] < y1.size // 2
        assert f["journal/store/u1"].shape[0] < 3000 and f["journal/store/i8"].shape[0] < 1000  # small arrays only
    run = read_run(log.path, journal=True)
    mvms = [c for c in run.journal if c.op == "mvm"]
    for c, y in zip(mvms[:2], (y1, y2)):
        d = c.args["request"].inputs
        assert isinstance(d, Digest) and d.matches(x) and not d.matches(x + (x == 0))
        assert isinstance(c.response, Predicted) and np.abs(c.response.residual).mean() < np.abs(y).mean() / 3
        got = c.response.values(x)
        assert got.dtype == y.dtype and np.array_equal(got, y)
    assert np.array_equal(mvms[2].args["request"].inputs, small) and np.array_equal(mvms[2].response, y3)
    assert (y1 < 0).any()  # signed ADC codes through the residual and back
    rb = ReplayBoard(log.path)
    rb.snapshot()
    assert np.array_equal(rb.read(0, cells // 256, cells % 256), g)
    assert np.array_equal(rb.mvm(_request(x)), y1) and np.array_equal(rb.mvm(_request(x)), y2)
    assert np.array_equal(rb.mvm(_request(small)), y3)
    rb2 = ReplayBoard(log.path)
    rb2.snapshot()
    rb2.read(0, cells // 256, cells % 256)
    changed = x.copy()
    changed[0, 5999, 63] += 1
    with pytest.raises(ReplayDivergence, match="digest"):
        rb2.mvm(_request(changed))


def test_prediction_is_exact_integer_arithmetic_whatever_the_batch_split():
    rng = np.random.default_rng(1)
    x = rng.integers(-127, 128, (2, 5000, 97))
    w = rng.normal(0, 0.02, (2, 97, 16))  # codes spread over ~±60, little clipping
    y = np.clip(np.rint(np.einsum("kni,kio->kno", x, w) + rng.normal(0, 1.5, (2, 5000, 16))), -128, 127).astype(np.int16)
    req = _request(x)
    d, p = compact(req, y)
    assert isinstance(d.inputs, Digest) and isinstance(p, Predicted)
    assert np.array_equal(p.values(x), y)
    # the same coefficients on the rows one by one give the same codes (no BLAS blocking or order effect)
    rows = [Predicted(p.residual[:, i : i + 1], p.coef, p.shift, p.lo, p.hi, p.dtype).values(x[:, i : i + 1])
            for i in range(0, 5000, 499)]
    assert all(np.array_equal(r, y[:, i : i + 1]) for r, i in zip(rows, range(0, 5000, 499)))
    assert np.abs(p.residual).max() <= 12 < np.abs(y).max()  # the noise is what remains
    few, y_few = x[:, :200], y[:, :200]  # 200 vectors of 97 inputs: the coefficients would outweigh the codes
    d, kept = compact(_request(few), y_few)
    assert isinstance(d.inputs, Digest) and kept is y_few


def test_format_3_run_file_still_reads_and_replays(tmp_path):
    path = tmp_path / "run_v3.h5"
    with gzip.open(FIXTURES / "run_v3.h5.gz") as src, open(path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    with h5py.File(path, "r") as f:
        assert int(f.attrs["neurram_format_version"]) == 3
    run = read_run(path, journal=True)
    mvm = [c for c in run.journal if c.op == "mvm"][0]
    x = mvm.args["request"].inputs
    assert type(x) is np.ndarray and x.shape == (1, 5000, 16) and type(mvm.response) is np.ndarray
    rb = ReplayBoard(path)
    rb.snapshot()
    assert np.array_equal(rb.mvm(mvm.args["request"]), mvm.response)


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
