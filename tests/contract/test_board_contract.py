"""The Board contract: every board in BOARD_SPECS must pass every test here unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from neurram_lab import BoardError, BoardInfo, CapabilityError, InputError, LimitError, open_board

ROWS = np.arange(8)
COLS = np.arange(8) * 3


def _cells(core=1, n=8):
    return np.full(n, core), ROWS[:n], COLS[:n]


def test_info_describes_the_chip(board):
    info = board.info()
    assert isinstance(info, BoardInfo)
    assert (info.n_cores, info.n_rows, info.n_cols) == (48, 256, 256)
    assert info.serial and info.firmware
    if not getattr(board, "replay_of", None):  # a replay answers with the recorded board's info
        assert info.to_dict()["spec"] == board.spec


def test_rails_round_trip_and_limits(board):
    board.set_rails(v_read=0.25)
    assert board.get_rails()["v_read"] == pytest.approx(0.25)
    before = board.get_rails()
    with pytest.raises(LimitError) as e:
        board.set_rails(v_read=0.2, v_wl_set=9.0)  # second one breaks the limit
    assert "v_wl_set" in str(e.value) and "9.0" in str(e.value)
    assert board.get_rails() == before, "a rejected rail update must set nothing"
    with pytest.raises(LimitError):
        board.set_rails(v_bogus=1.0)


def test_power_gating(board):
    assert board.powered_cores().all()
    if not board.capabilities().power_gating:  # refused, and the cores stay powered
        with pytest.raises(CapabilityError, match="power_gating"):
            board.power_cores([5, 6], on=False)
        assert board.powered_cores().all()
        board.power_cores([5, 6], on=True)
        assert board.read([5], [0], [0]).shape == (1,)
        return
    board.power_cores([5, 6], on=False)
    p = board.powered_cores()
    assert not p[5] and not p[6] and p[4]
    with pytest.raises(BoardError, match="core 5"):
        board.read([5], [0], [0])
    board.power_cores(5, on=True)
    assert board.read([5], [0], [0]).shape == (1,)


def test_read_shape_dtype_and_units(board):
    g = board.read(*_cells())
    assert g.dtype == np.float32 and g.shape == (8,)
    assert np.all((g >= 0) & (g < 200e-6)), "conductances are siemens, below 200 uS"


def test_form_then_set_raises_and_reset_lowers_conductance(board):
    c, r, k = _cells(core=2)
    board.pulse("form", c, r, k, 4.8, 2e-6)
    board.pulse("reset", c, r, k, 2.6, 1e-6)
    low = board.read(c, r, k)
    board.pulse("set", c, r, k, 2.2, 1e-6)
    high = board.read(c, r, k)
    assert np.median(high - low) > 5e-6
    board.pulse("reset", c, r, k, 2.6, 1e-6)
    assert np.median(board.read(c, r, k)) < np.median(high) - 5e-6


def test_bad_requests_send_nothing(board):
    c, r, k = _cells()
    before = board.counters()
    t0 = board.now()
    bad = [
        lambda: board.pulse("set", c, r, k, 4.5, 1e-6),  # only FORM may exceed 4 V
        lambda: board.pulse("form", c, r, k, 5.5, 1e-6),
        lambda: board.pulse("set", c, r, k, 1.0, 1e-12),
        lambda: board.pulse("set", [48], [0], [0], 1.0, 1e-6),
        lambda: board.pulse("set", [0], [256], [0], 1.0, 1e-6),
        lambda: board.pulse("set", [0], [0], [-1], 1.0, 1e-6),
        lambda: board.pulse("zap", c, r, k, 1.0, 1e-6),
        lambda: board.pulse("set", c, r, k, [1.0, 2.0], 1e-6),
        lambda: board.read([0, 1], [0, 1, 2], [0]),
        lambda: board.read([0.5], [0], [0]),
        lambda: board.wait(-1.0),
    ]
    for call in bad:
        with pytest.raises((LimitError, InputError)):
            call()
    assert board.counters() == before
    assert board.now() == t0


def test_clock_advances_with_work_and_wait(board):
    t0 = board.now()
    board.read(*_cells())
    t1 = board.now()
    assert t1 > t0
    board.wait(2.5)
    assert board.now() >= t1 + 2.5


def test_closed_board_refuses_calls(board_spec):
    b = open_board(board_spec)
    b.close()
    with pytest.raises(BoardError, match="closed"):
        b.read([0], [0], [0])
    b.close()  # idempotent


def test_context_manager_closes(board_spec):
    with open_board(board_spec) as b:
        b.info()
    assert b.closed


def test_same_seed_same_results(board_spec):
    def run(spec):
        with open_board(spec) as b:
            c, r, k = _cells(core=3)
            b.pulse("form", c, r, k, 4.8, 1e-6)
            b.pulse("set", c, r, k, np.linspace(1.5, 2.2, 8), 1e-6)
            b.wait(10.0)
            return b.read(c, r, k), b.now()

    (g1, t1), (g2, t2) = run(board_spec), run(board_spec)
    assert np.array_equal(g1, g2) and t1 == t2


def test_mvm_and_neuron_test_codes(board):
    from neurram_lab import MVMRequest

    caps = board.capabilities()
    x = np.random.default_rng(0).integers(-7, 8, (2, 5, 8)).astype(np.int16)
    nb = caps.pick_output_bits(None, 5)  # 5, or what the board can do nearest to it
    req = MVMRequest(cores=(1, 2), inputs=x, input_lines=np.arange(8), output_lines=np.arange(16), output_bits=nb)
    codes = board.mvm(req)
    assert codes.shape == (2, 5, 16) and codes.dtype == np.int16
    assert codes.min() >= -(2 ** (nb - 1)) and codes.max() <= 2 ** (nb - 1) - 1
    if "backward" in caps.directions:
        nb = caps.pick_output_bits(None, 3)
        back = board.mvm(MVMRequest(cores=(1,), inputs=x[:1], input_lines=np.arange(8), output_lines=np.arange(4),
                                    direction="backward", output_bits=nb))
        assert back.shape == (1, 5, 4) and back.min() >= -(2 ** (nb - 1)) and back.max() <= 2 ** (nb - 1) - 1
    # one voltage for every neuron of a vector: what every board can do
    nb = caps.pick_output_bits(None, 6)
    nt = board.neuron_test(1, np.full((3, 256), board.get_rails()["v_ref"]), output_bits=nb)
    assert nt.shape == (3, 256) and nt.dtype == np.int16
    assert nt.min() >= -(2 ** (nb - 1)) and nt.max() <= 2 ** (nb - 1) - 1
    t = board.now()
    with pytest.raises(LimitError):
        board.mvm(MVMRequest(cores=(1,), inputs=np.full((1, 2, 8), 9), input_lines=np.arange(8),
                             output_lines=np.arange(4)))
    with pytest.raises(LimitError):
        board.mvm(MVMRequest(cores=(1,), inputs=x[:1], input_lines=np.arange(8), output_lines=np.arange(4),
                             output_bits=11))
    assert board.now() == t, "a rejected MVM must do nothing"


def _binary_pattern(board, core=4, n_in=16, n_out=8):
    """Weights +-1 written with single pulses (no write-verify): each pair's G+ or G- SET high, the other RESET."""
    from neurram_lab.program.weights import MatrixPlacement, ProgrammedMatrix

    w = np.random.default_rng(3).choice([-1.0, 1.0], (n_in, n_out))
    place = MatrixPlacement(core, 0, 0, n_in, n_out)
    c, r, k = place.cells()
    high = np.zeros((2 * n_in, n_out), bool)
    high[0::2], high[1::2] = w > 0, w < 0
    board.pulse("form", c, r, k, 4.8, 2e-6)
    board.pulse("reset", c, r, k, 2.6, 1e-6)
    h = high.ravel()
    board.pulse("set", c[h], r[h], k[h], 2.2, 1e-6)
    g = board.read(c, r, k).astype(np.float64).reshape(2 * n_in, n_out)
    assert np.median(g[high]) > np.median(g[~high]) + 10e-6, "SET cells conduct more than RESET ones"
    return ProgrammedMatrix(weights=w, placement=place, gmin_s=1e-6, gmax_s=40e-6, w_max=1.0, g_target_s=g,
                            g_measured_s=g, dead=np.zeros_like(g, bool), info={})


def test_mvm_of_a_programmed_pattern_gives_its_product(board):
    """The MVM's values: x @ W of the cells as read, within a result LSB (rms) after the paper's calibration."""
    from neurram_lab.mvm.calibration import calibrate
    from neurram_lab.mvm.mvm import result_lsb, run_mvm
    from neurram_lab.program.weights import conductance_to_weights

    pm = _binary_pattern(board)
    x = np.random.default_rng(1).integers(-7, 8, (32, 16))
    cal = calibrate(board, pm, x, input_bits=4)
    y = run_mvm(board, pm, x, input_bits=4, calibration=cal)
    ideal = x @ conductance_to_weights(pm.g_measured_s, pm.gmin_s, pm.gmax_s, pm.w_max)
    err = (y - ideal) / result_lsb(pm, cal, float_inputs=False)
    assert np.sqrt(np.mean(err**2)) < 1.0 and np.abs(err).max() < 3.0, "MVM values off their product"
    assert np.corrcoef(y.ravel(), ideal.ravel())[0, 1] > 0.99


def test_neuron_test_codes_follow_their_input(board):
    """A voltage v into the neurons converts to (v - v_ref) / v_decr * 2**(bits-2) codes, within 1.5 codes."""
    caps = board.capabilities()
    nb = caps.pick_output_bits(None, 6)
    rails = board.get_rails()
    frac = np.linspace(-0.75, 0.75, 7)  # of the conversion's full scale, v_decr
    v = rails["v_ref"] + frac[:, None] * rails["v_decr"]  # one voltage per vector: what every board can do
    codes = board.neuron_test(1, v, output_bits=nb)
    got = np.median(codes + 0.5, axis=1)
    np.testing.assert_allclose(got, frac * 2 ** (nb - 2), atol=1.5)
    assert np.all(np.diff(got) > 0)
