"""Bad input, everywhere, the same way (issue 13 item 5).

Generated bad arguments thrown at the public entry points must give a typed
NeuRRAMError (or a valid result), never a raw traceback, and nothing may
reach the board before the refusal. ``tools/bad_input_probe.py`` is the
broader hand-run probe (every entry point and CLI option, with counts).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import neurram_lab as nl
from neurram_lab import InputError, LimitError, NeuRRAMError, SafetyLimits
from neurram_lab.cli.cli import main

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# anything a confused caller might pass where a number is expected
junk = st.one_of(
    st.none(), st.booleans(), st.text(max_size=4),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-10**12, max_value=10**12),
    st.lists(st.floats(allow_nan=True), max_size=3),
    st.just(object()), st.just({}),
)


@pytest.fixture(scope="module")
def board():
    with nl.open_board("sim://?seed=5") as b:
        yield b


def _work(board) -> tuple:
    c = board.counters()
    return c["pulses"], c["reads"], c["mvms"], c["neuron_tests"]


def _finite_values(value) -> np.ndarray:
    """``value`` as float64 values, asserting they are finite and not booleans (an accepted number)."""
    assert not isinstance(value, bool) and not (isinstance(value, list) and any(isinstance(x, bool) for x in value))
    a = np.asarray(value, np.float64).ravel()
    assert a.size and np.all(np.isfinite(a)), value
    return a


def typed_or_valid(board, call):
    """Run ``call``: a NeuRRAMError is fine; anything else raised is not. Returns (ok, result-or-error)."""
    try:
        return True, call()
    except NeuRRAMError as exc:
        assert str(exc), "typed errors carry a message"
        return False, exc


@SETTINGS
@given(value=junk)
def test_limits_from_dict_typed(value):
    for key in ("pulse_v_max", "form_v_max", "gate_v_max", "width_s", "g_cell_s", "n_cores", "rails_v"):
        ok, res = typed_or_valid(None, lambda: SafetyLimits.from_dict({key: value}))
        if ok:  # accepted: then within the chip's ratings
            assert res.pulse_v_max <= 5.0 and res.form_v_max <= 5.0 and res.gate_v_max <= 5.0
            assert 10e-9 <= res.width_s[0] <= res.width_s[1] <= 1e-3
            assert res.n_cores <= 48


@SETTINGS
@given(v=st.floats(min_value=5.0, max_value=1e6, exclude_min=True))
def test_no_limits_file_raises_the_ratings(v, tmp_path_factory):
    path = tmp_path_factory.mktemp("lim") / "hot.toml"
    path.write_text(f"pulse_v_max = {v!r}\nform_v_max = {v!r}\n")
    with pytest.raises(LimitError):
        nl.open_board(f"sim://?limits={path}")


@pytest.mark.parametrize("text", ['pulse_v_max = "high"\n', "pulse_v_maxx = 3.0\n", "", "pulse_v_max = true\n",
                                  "[rails_v]\nv_bogus = [0.0, 1.0]\n", "n_cores = 100\n"])
def test_limits_files_refused(tmp_path, text):
    path = tmp_path / "limits.toml"
    path.write_text(text)
    with pytest.raises(NeuRRAMError):
        SafetyLimits.from_file(path)


@SETTINGS
@given(v=junk, w=junk)
@example(v=1.2, w=1e-6)  # the accepted branch runs at least once
def test_pulse_typed_and_nothing_sent(board, v, w):
    before = _work(board)
    ok, applied = typed_or_valid(board, lambda: board.pulse("set", 0, 0, 0, v, w))
    if not ok:
        assert _work(board) == before
        return
    # accepted: one pulse, applied as asked, inside the limits
    lim = board.limits
    assert _work(board)[0] == before[0] + 1
    assert np.allclose(applied.v_pulse_v, _finite_values(v)) and np.allclose(applied.width_s, _finite_values(w))
    assert 0.0 <= applied.v_pulse_v.min() and applied.v_pulse_v.max() <= lim.pulse_v_max
    assert lim.width_s[0] <= applied.width_s.min() and applied.width_s.max() <= lim.width_s[1]


@SETTINGS
@given(target=junk)
@example(target=10e-6)
def test_write_verify_targets(board, target):
    before = _work(board)
    ok, res = typed_or_valid(board, lambda: nl.write_verify(board, 0, [0], [0], target,
                                                            nl.WriteVerifyConfig(max_rounds=20)))
    if not ok:
        assert _work(board) == before
        return
    # accepted: a finite target inside the limits' conductance range, one cell worked on
    t = _finite_values(target)
    assert board.limits.g_cell_s[0] <= t.min() and t.max() <= board.limits.g_cell_s[1]
    assert res.g_final_s.shape == (1,) and np.isfinite(res.g_final_s).all()
    assert _work(board)[1] > before[1]  # it read the cell


@SETTINGS
@given(gmax=st.one_of(junk, st.floats(min_value=100e-6, max_value=1.0, exclude_min=True)),
       iterations=st.one_of(junk, st.integers(-5, 0)))
def test_program_weights_refuses_before_any_call(board, gmax, iterations):
    place = nl.MatrixPlacement(core=1, row0=0, col0=0, n_in=2, n_out=2)
    before = _work(board)
    with pytest.raises(NeuRRAMError):
        nl.program_weights(board, np.ones((2, 2)), place, gmax_s=gmax, iterations=iterations)
    assert _work(board) == before


@SETTINGS
@given(settle=junk, iterations=junk)
@example(settle=1.0, iterations=1)
def test_iterative_program_typed(board, settle, iterations):
    before = _work(board)
    ok, res = typed_or_valid(board, lambda: nl.iterative_program(board, 2, [0], [0], [10e-6], iterations, settle,
                                                                 nl.WriteVerifyConfig(max_rounds=20)))
    if not ok:
        assert _work(board) == before
        return
    # accepted: a whole number of passes (at least one) and a finite, non-negative settle
    n = _finite_values(iterations)
    assert n.size == 1 and n[0] == int(n[0]) >= 1
    s = _finite_values(settle)
    assert s.size == 1 and s[0] >= 0
    assert np.isfinite(res.g_read_s).all() and res.g_read_s.shape == (1,) and len(res.iterations) >= 1
    assert _work(board)[1] > before[1]


@SETTINGS
@given(core=junk, row0=junk, n_in=junk)
@example(core=5, row0=2.0, n_in=3)
def test_matrix_placement_typed(core, row0, n_in):
    ok, p = typed_or_valid(None, lambda: nl.MatrixPlacement(core=core, row0=row0, col0=0, n_in=n_in, n_out=2))
    if ok:  # accepted: whole numbers, kept as ints, the matrix inside one core
        assert (p.core, p.row0, p.n_in) == (core, row0, n_in)
        assert all(type(x) is int for x in (p.core, p.row0, p.n_in))
        assert 0 <= p.core < nl.N_CORES and p.row0 % 2 == 0 and p.n_in >= 1
        assert 0 <= p.row0 and p.row0 + 2 * p.n_in <= nl.N_ROWS


@SETTINGS
@given(bits=junk, x=st.one_of(junk, st.just(np.full((1, 4), np.nan)), st.just(np.zeros((0, 4)))))
@example(bits=4, x=np.ones((2, 4)))
def test_run_mvm_typed(board, bits, x):
    place = nl.MatrixPlacement(core=3, row0=0, col0=0, n_in=4, n_out=3)
    w = np.full((4, 3), 0.5)
    g, wmax = nl.weights_to_conductance(w, 1e-6, 40e-6)
    pm = nl.ProgrammedMatrix(w, place, 1e-6, 40e-6, wmax, g, g_measured_s=g)
    before = _work(board)
    ok, y = typed_or_valid(board, lambda: nl.run_mvm(board, pm, x, input_bits=bits))
    if not ok:
        assert _work(board) == before
        return
    # accepted: a whole number of input bits and finite vectors of the matrix's 4 inputs; 3 finite outputs each
    b = _finite_values(bits)
    assert b.size == 1 and b[0] == int(b[0]) >= 1
    xs = np.asarray(x, np.float64)
    assert xs.shape[-1] == 4 and np.isfinite(xs).all()
    y = np.asarray(y)
    assert y.shape[-1] == 3 and y.size * 4 == xs.size * 3 and np.isfinite(y).all()


@SETTINGS
@given(seconds=junk)
@example(seconds=0.25)
def test_wait_typed(board, seconds):
    t0 = board.now()
    ok, _ = typed_or_valid(board, lambda: board.wait(seconds))
    if not ok:
        assert board.now() == t0
        return
    # accepted: a finite, non-negative number of seconds, by which the twin's clock moved on
    s = _finite_values(seconds)
    assert s.size == 1 and s[0] >= 0 and isinstance(seconds, (int, float))
    assert board.now() == pytest.approx(t0 + s[0], rel=1e-9)


@SETTINGS
@given(g=junk, lo=junk, hi=junk, w_max=junk)
@example(g=np.full((2, 3), 10e-6), lo=1e-6, hi=40e-6, w_max=1.0)
def test_conductance_weights_typed(g, lo, hi, w_max):
    ok, w = typed_or_valid(None, lambda: nl.conductance_to_weights(g, lo, hi, w_max))
    if ok:  # accepted: a 2-D finite array, a range 0 <= lo < hi and a positive w_max
        assert np.asarray(g).ndim == 2 and np.isfinite(w).all()
        assert 0 <= lo < hi and w_max > 0
    ok, res = typed_or_valid(None, lambda: nl.weights_to_conductance(g, lo, hi, w_max))
    if ok:
        gs, wm = res
        assert np.isfinite(gs).all() and lo <= gs.min() and gs.max() <= hi + 1e-12 and wm > 0


# --------------------------------------------------------------------- CLI
CLI_CASES = [
    ("demo", "--gmax-us", "-5"),
    ("demo", "--gmax-us", "5000"),
    ("characterize", "write-verify", "--iterations", "0"),
    ("characterize", "write-verify", "--gmax-us", "5000"),
    ("characterize", "mvm", "--input-bits", "0"),
    ("characterize", "mvm", "--output-bits", "11"),
    ("deploy", "mnist-cnn", "--output-bits", "11"),
    ("deploy", "rbm-recovery", "--steps", "-3"),
    ("deploy", "train-small", "--epochs", "0"),
    ("deploy", "train-small", "--noise", "-1"),
]


@pytest.fixture
def counted_boards(monkeypatch):
    """Every board the CLI opens, kept to read its counters after the command."""
    from neurram_lab.cli import cli as climod

    opened = []
    orig = climod.CliContext.open_board

    def open_board(self, **opt):
        b = orig(self, **opt)
        opened.append(b)
        return b

    monkeypatch.setattr(climod.CliContext, "open_board", open_board)
    return opened


@pytest.mark.parametrize("argv", CLI_CASES, ids=" ".join)
def test_cli_refuses_before_any_work(argv, tmp_path, capsys, counted_boards):
    out = tmp_path / "runs"
    rc = main([*argv, "--out", str(out), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc != 0
    assert len(err) == 1 and err[0].startswith("neurram: error: "), err
    assert not any(t in err[0] for t in ("Traceback", "ValueError:", "TypeError:")), err
    assert not out.exists() or not any(out.rglob("*.h5"))
    for b in counted_boards:
        c = b._counters()  # the board is closed by now: read its counts through the hook
        assert (c["pulses"], c["reads"], c["mvms"]) == (0, 0, 0), (argv, c)


def test_cli_hot_limits_file_refused(tmp_path, capsys):
    hot = tmp_path / "hot.toml"
    hot.write_text("pulse_v_max = 100.0\n")
    rc = main(["demo", "--board", f"sim://?limits={hot}", "--out", str(tmp_path / "runs"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc != 0 and len(err) == 1 and "pulse_v_max" in err[0]
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").rglob("*.h5"))


def test_input_error_names_the_argument():
    with pytest.raises(InputError, match="iterations"):
        from neurram_lab.validate import integer

        integer("iterations", "3")
    with pytest.raises(LimitError) as exc:
        from neurram_lab.validate import number

        number("gmax_s", 5e-3, 0.0, 100e-6)
    assert exc.value.name == "gmax_s" and exc.value.value == 5e-3 and exc.value.limit == (0.0, 100e-6)


# --------------------------------------------------------------- deploy/
DEPLOY = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
maps = st.one_of(junk, st.just(np.ones((5, 5))), st.just(np.ones((1, 5, 5, 2), np.float32)),
                 st.just(np.full((1, 4, 4, 1), np.nan)), st.just(np.ones((0, 4, 4, 1))))


@DEPLOY
@given(x=maps, k=st.one_of(junk, st.tuples(st.integers(-2, 7), st.integers(-2, 7))), stride=junk,
       max_value=junk, bits=junk)
def test_deploy_digital_typed(x, k, stride, max_value, bits):
    from neurram_lab import deploy as dp

    ok, res = typed_or_valid(None, lambda: dp.im2col(x, k, stride))
    if ok:
        cols, (oh, ow) = res
        assert cols.shape[1:3] == (oh, ow) and oh >= 1 and ow >= 1
    ok, pooled = typed_or_valid(None, lambda: dp.pool(x, k if isinstance(k, int) else 2, stride, kind="avg"))
    if ok:  # accepted: a non-empty finite NHWC map comes back NHWC with the same batch and channels
        xs = np.asarray(x)
        assert xs.ndim == 4 and xs.size and np.isfinite(xs).all()
        assert pooled.ndim == 4 and pooled.shape[0] == xs.shape[0] and pooled.shape[3] == xs.shape[3]
        assert np.isfinite(pooled).all()
    ok, res = typed_or_valid(None, lambda: dp.act_quant(np.linspace(-1, 2, 7), max_value, bits))
    if ok:
        assert np.all(np.isfinite(res)) and res.min() >= 0 and res.max() <= float(max_value) + 1e-6


@DEPLOY
@given(n=junk, seed=junk, bits=junk)
@example(n=3, seed=7, bits=8)
def test_lfsr_typed(n, seed, bits):
    from neurram_lab.deploy import LFSRNoise
    from neurram_lab.deploy.lfsr import MAX_STREAMS

    ok, noise = typed_or_valid(None, lambda: LFSRNoise(n, seed, bits))
    if not ok:
        return
    # accepted: whole numbers in range (streams, a non-negative seed, 1-32 steps per draw), kept as given
    n_, seed_, bits_ = (_finite_values(v) for v in (n, seed, bits))
    assert all(v.size == 1 and v[0] == int(v[0]) for v in (n_, seed_, bits_))
    assert 1 <= n_[0] <= MAX_STREAMS and seed_[0] >= 0 and 1 <= bits_[0] <= 32
    assert noise.a.size == int(n_[0]) and noise.bits == int(bits_[0])
    if int(n_[0]) <= 64:  # draws of the declared shape, in [0, 1)
        u = noise.uniform((2, int(n_[0])))
        assert u.shape == (2, int(n_[0])) and u.min() >= 0 and u.max() < 1


@DEPLOY
@given(w_max=junk, a_len=st.integers(0, 5), rng=junk, flip=junk, v_bits=junk, gmax=junk)
def test_rbm_typed_and_nothing_sent(board, w_max, a_len, rng, flip, v_bits, gmax):
    from neurram_lab import deploy as dp

    ok, made = typed_or_valid(None, lambda: dp.RBM(np.ones((4, 3)), np.ones(a_len), np.ones(4), w_max=w_max))
    if ok:  # accepted: the hidden bias matches the 3 hidden units, w_max a positive finite number
        assert a_len == 3 and made.w_max == _finite_values(w_max)[0] > 0
    ok, flipped = typed_or_valid(None, lambda: dp.corrupt(np.ones((2, 9)), "flip", rng, flip_fraction=flip))
    if ok:  # accepted: a fraction in [0, 1]; binary images of the same shape come back, with the intact mask
        assert 0.0 <= _finite_values(flip)[0] <= 1.0
        flipped, known = flipped
        assert flipped.shape == known.shape == (2, 9) and set(np.unique(flipped)) <= {0.0, 1.0}
        assert known.dtype == bool and (flipped[known] == 1.0).all()
    rbm = dp.RBM(np.full((4, 3), 0.5), np.zeros(3), np.zeros(4))
    before = _work(board)
    ok, chip = typed_or_valid(board, lambda: dp.ChipRBM(board, rbm, gmax_s=gmax, visible_bits=v_bits))
    assert _work(board) == before  # construction never touches the board
    if ok:
        assert 0 < chip.gmax_s <= board.limits.g_cell_s[1] and 1 <= chip.visible_bits <= 8


@DEPLOY
@given(n_in=st.integers(0, 4), hidden=st.integers(0, 3), h_rows=st.integers(0, 4), xs_shape=st.sampled_from(
    [(2, 3), (2, 3, 4), (2, 3, 5), (0, 3, 4), (2, 3, 4, 1)]), bits=junk)
def test_lstm_typed(board, n_in, hidden, h_rows, xs_shape, bits):
    from neurram_lab import deploy as dp

    w_x, w_h, bias = np.ones((n_in, 4 * hidden)), np.ones((h_rows, 4 * hidden)), np.ones(4 * hidden)
    ok, hs = typed_or_valid(None, lambda: dp.lstm_reference(np.ones(xs_shape), w_x, w_h, bias))
    if ok:
        assert hs.shape == (xs_shape[0], xs_shape[1], hidden)
    before = _work(board)
    ok, _ = typed_or_valid(board, lambda: dp.ChipLSTMCell(board, w_x, w_h, bias, input_bits=bits))
    assert _work(board) == before
    if ok:  # accepted: a whole number of input bits and consistent weight shapes
        b = _finite_values(bits)
        assert b.size == 1 and b[0] == int(b[0]) >= 1 and hidden >= 1 and h_rows == hidden


@DEPLOY
@given(data=st.binary(max_size=64))
def test_deploy_files_typed(tmp_path_factory, data):
    from neurram_lab import deploy as dp

    d = tmp_path_factory.mktemp("files")
    (d / "m.npz").write_bytes(data)
    (d / "x.idx").write_bytes(data)
    # 64 random bytes are never a model, an RBM or a valid IDX file: each is refused, typed
    assert not typed_or_valid(None, lambda: dp.load_model(d / "m.npz"))[0]
    ok, arr = typed_or_valid(None, lambda: dp.read_idx(d / "x.idx"))
    if ok:  # a header that happens to parse: the array it declares, nothing more
        assert isinstance(arr, np.ndarray) and arr.size * arr.itemsize <= len(data)
    assert not typed_or_valid(None, lambda: dp.RBM.load(d / "m.npz"))[0]
    with pytest.raises(InputError):
        dp.load_model(d / "none.npz")


# ---------------------------------------------------------------- runlog
@DEPLOY
@given(experiment=st.one_of(junk, st.just("x")), parameters=st.one_of(junk, st.just({"a": 1}), st.just({"f": object()})),
       dtype=st.one_of(st.sampled_from(["f8", "i4", "zz", "", "U3"]), junk))
@example(experiment="x", parameters={"a": 1}, dtype="f8")
def test_runlog_typed_and_no_file_on_refusal(tmp_path_factory, experiment, parameters, dtype):
    path = tmp_path_factory.mktemp("run") / "r.h5"
    ok, log = typed_or_valid(None, lambda: nl.RunLog(path, experiment, parameters, {"t": {"a": (dtype, "")}}))
    if ok:
        log.close()
        assert nl.read_run(path).record["experiment"] == experiment
    else:
        assert not path.exists()
    assert not typed_or_valid(None, lambda: nl.read_run(experiment))[0]  # no run file has such a name
