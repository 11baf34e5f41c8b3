"""MVM and neuron test through the authors' bitstream: the host encoding (drivers._mvm_host) against the
emulated FPGA (drivers.hil._mvm_fsm), pinned bytes, and hil:// against sim:// within the readout's quantisation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurram_lab.drivers import _mvm_host as host
from neurram_lab.drivers.hil import _mvm_fsm as fsm
from neurram_lab.board.contract import MVMRequest

# ------------------------------------------------------------------ pure parts


def _request(x, lines, bits=3, signed=True, direction="forward", differential=True, **kw):
    x = np.asarray(x, np.int16)
    return MVMRequest(cores=(0,), inputs=x[None], input_lines=np.asarray(lines), output_lines=np.arange(4),
                      input_bits=bits, signed_inputs=signed, direction=direction, differential=differential, **kw)


def test_pipe_bytes_of_a_small_input_are_pinned():
    # x = (3, -2) on differential row pairs 0 and 1, 3-bit signed: two magnitude bits, four planes,
    # written to core column 0's vertical register (shift multiplier 2, forward: each plane reversed)
    req = _request([[3, -2]], [0, 1])
    planes = host.bit_planes(host.line_values(req, 0), host.driven_lines(req), 2)
    mult, fwd = host.spi_write_setup(0, vertical=True)
    assert (mult, fwd) == (2, True)
    data = host.encode_planes(planes, fwd)
    assert len(data) == 4 * 64
    zeros = "00" * 63
    assert [data[i * 64:(i + 1) * 64].hex() for i in range(4)] == [zeros + "95", zeros + "9a", zeros + "96", zeros + "96"]
    # the same planes shifted backward are not reversed: lines 0..3 in the first byte
    back = host.encode_planes(planes, False)
    assert back[0] == 0b01_01_01_10 and back[64] == 0b10_10_01_10 and back[63] == 0


def test_wire_words_are_pinned():
    assert host.matmul_word(1, 2) == 0x427  # CDS, reset, 2 bits, 1 pulse, 1 vector
    assert host.matmul_word(255, 8) == (255 << 10) | (1 << 5) | (7 << 2) | 0b11
    assert host.spi_write_word(2, True) == 0x404A
    assert host.readout_word(host.readout_multiplier(0, True)) == 0x89
    assert host.readout_word(host.readout_multiplier(5, False)) == 1 | 12 << 3 | 1 << 7
    assert host.mode_word(True) == 0b100001 and host.mode_word(False) == 1
    assert host.mask_bytes([0, 5]).hex() == "21" + "00" * 47
    assert host.spi_mask_word([1, 3]) == 0b1010 | 16 << 8
    with pytest.raises(Exception):
        host.matmul_word(256, 1)


@given(st.data())
@settings(max_examples=60, deadline=None)
def test_bit_planes_carry_twice_the_input(data):
    bits = data.draw(st.integers(1, 8))
    signed = data.draw(st.booleans())
    m = host.magnitude_bits(bits, signed)
    lo, hi = (-(2 ** (bits - 1) - 1), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    x = np.array(data.draw(st.lists(st.integers(lo, hi), min_size=1, max_size=8)))
    driven = np.zeros(256, bool)
    driven[: x.size] = True
    values = np.zeros((1, 256), np.int64)
    values[0, : x.size] = x
    p = host.bit_planes(values, driven, m)
    assert set(np.unique(p[:, :, : x.size])) <= {-1, 1}  # every input line driven in every plane
    assert not p[:, :, x.size:].any()  # the rest not driven
    charge = sum(2**b * (p[0, 2 * b].astype(int) + p[0, 2 * b + 1]) for b in range(m))
    assert np.array_equal(charge[: x.size], 2 * x)


class _Emu:
    """The registers the SPI part of the FSM reads (no twin needed)."""

    def __init__(self):
        self.wire_in = [0] * 32
        self.status_bits = {0x28: 0}
        self.on_trigger, self.on_pipe_in, self.on_pipe_out, self.on_reset = {}, {}, {}, []
        self.violations = []

    def enabled_cores(self):
        return []


@given(st.data())
@settings(max_examples=60, deadline=None)
def test_a_plane_lands_on_the_register_the_host_aims_at(data):
    col = data.draw(st.integers(0, 5))
    vertical = data.draw(st.booleans())
    row = data.draw(st.integers(0, 7))
    vals = np.array(data.draw(st.lists(st.sampled_from([-1, 0, 1]), min_size=256, max_size=256)), np.int8)
    emu = _Emu()
    f = fsm.MvmFsm(emu)
    mult, fwd = host.spi_write_setup(col, vertical)
    emu.wire_in[0x15] = host.spi_mask_word([row])
    emu.wire_in[0x0D] = host.spi_write_word(mult, fwd)
    f.pipe_in_spi(host.encode_planes(vals[None], fwd))
    assert f.rows[row].spi_fifo.size == 16
    assert f._spi_write([row])
    reg = 2 * col + (1 if vertical else 0)  # chain H0 V0 H1 V1 ... from the H0 end
    assert np.array_equal(f.rows[row].chain[reg], vals)
    others = np.delete(np.arange(12), reg)
    assert not f.rows[row].chain[others].any()
    # and the readout reads the other register of the same core for the matching direction
    assert host.readout_multiplier(col, forward=vertical) - 1 == reg ^ 1


# the chip's SPI clock pins (neurram_top.v:529-534), written out here rather than taken from the module
CLOCK_GROUP = {0: (0,), 1: (1, 2, 3), 2: (1, 2, 3), 3: (1, 2, 3), 4: (4, 5, 6, 7), 5: (4, 5, 6, 7),
               6: (4, 5, 6, 7), 7: (4, 5, 6, 7)}


def _reference_ops(f, rows, n_ops, sample, clear, also=None):
    """The SPI operations register by register (one _shift per register), as neurram_spi_control.v steps;
    the rows sharing a selected row's clock pin shift with it, zeros in (their idle controllers' output)."""
    cfg = f.emu.wire_in[0x0D]
    write, mult, fwd, extra = bool(cfg >> 1 & 1), cfg >> 2 & 0xF, bool(cfg >> 14 & 1), cfg >> 15 & 0xF
    steps = max(cfg >> 6 & 0xF, 1) if write else 1
    got = {r: [] for r in sample}
    also = also or {}
    got.update({(r, g): [] for r, regs in also.items() for g in regs})
    clocked = sorted({m for r in rows for m in CLOCK_GROUP[r]})
    for _ in range(n_ops):
        if write and any(f.rows[r].spi_fifo.size < steps * 16 for r in rows):
            break
        for r in clocked:
            row = f.rows[r]
            for _ in range(steps):
                plane = np.zeros(256, np.int8)
                if write and r in rows:
                    plane, row.spi_fifo = fsm.plane_of_words(row.spi_fifo[:16]), row.spi_fifo[16:]
                f._shift(row, plane, fwd)
                for _ in range(max(mult - 1, 0)):
                    f._shift(row, np.zeros(256, np.int8), fwd)
            for _ in range(extra):
                f._shift(row, np.zeros(256, np.int8), fwd)
        for r, reg in sample.items():
            got[r].append(f.rows[r].chain[reg].copy())
        for r, regs in also.items():
            for g in regs:
                got[(r, g)].append(f.rows[r].chain[g].copy())
        if clear:
            for row in f.rows:
                row.chain[:] = 0
    return got


@given(st.data())
@settings(max_examples=80, deadline=None)
def test_a_run_of_spi_operations_at_once_equals_shifting_register_by_register(data):
    rows = sorted(data.draw(st.sets(st.integers(0, 7), min_size=1, max_size=3)))
    cfg = (data.draw(st.integers(0, 1)) << 1 | data.draw(st.integers(0, 15)) << 2 | data.draw(st.integers(0, 3)) << 6
           | data.draw(st.integers(0, 1)) << 14 | data.draw(st.sampled_from([0, 0, 1, 5])) << 15)
    n_ops = data.draw(st.integers(1, 12))
    clear = data.draw(st.booleans())
    seed = data.draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    fs = []
    for _ in range(2):  # the same start twice: random chains, FIFOs of random planes (some short: a stall)
        emu = _Emu()
        emu.wire_in[0x0D] = cfg
        fs.append(fsm.MvmFsm(emu))
    for r in range(8):
        chain = rng.integers(-1, 2, (12, 256)).astype(np.int8)
        fifo = rng.integers(0, 2**32, 16 * int(rng.integers(0, 30)), dtype=np.uint64).astype(np.uint32)
        for f in fs:
            f.rows[r].chain, f.rows[r].spi_fifo = chain.copy(), fifo.copy()
    sample = {r: data.draw(st.integers(0, 11)) for r in rows}
    # further registers of any row (an enabled core no selected row reads: clocked by a group mate or not)
    also = {r: sorted(data.draw(st.sets(st.integers(0, 11), min_size=1, max_size=2)))
            for r in data.draw(st.sets(st.integers(0, 7), max_size=3))}
    want = _reference_ops(fs[0], rows, n_ops, sample, clear, also)
    done, got = fs[1]._spi_ops(rows, n_ops, sample, clear, also)
    assert done == len(want[rows[0]])
    for r in rows:
        assert np.array_equal(got[r], np.array(want[r], np.int8).reshape(-1, 256)), r
    for key in want:
        if isinstance(key, tuple):
            assert np.array_equal(got[key], np.array(want[key], np.int8).reshape(-1, 256)), key
    for a, b in zip(fs[0].rows, fs[1].rows):
        assert np.array_equal(a.chain, b.chain) and np.array_equal(a.spi_fifo, b.spi_fifo)


@given(st.integers(-128, 127), st.integers(1, 7))
def test_readout_bytes_decode_to_the_twin_code(code, bits):
    sign, flip = fsm.codes_to_flips(np.array([code]))
    if flip[0] > fsm.MAX_STEPS:
        return  # beyond the readout: the HDL keeps a stale count (tested below)
    byte = fsm.readout_byte(sign, flip)
    s, n = host.decode_readout(byte.tobytes())
    assert host.readout_value(s, n)[0] == code + 0.5  # the authors' reading is code + 0.5 steps
    top = 2 ** (bits - 1) - 1
    assert host.steps_to_codes(s, n, bits)[0] == min(max(code, -top - 1), top)


def test_a_count_cleared_by_the_mask_reads_as_full_scale():
    s, n = np.array([0, 1], np.uint8), np.array([0, 0], np.uint8)
    assert host.steps_to_codes(s, n, 6).tolist() == [31, -32]


def test_run_limits_follow_the_fifos():
    assert host.run_batch_limit(2, 1) == 64  # 2048 words / 32 per vector in; 4096 / 64 out
    assert host.run_batch_limit(16, 1) == 8
    assert host.run_batch_limit(2, 8) == 8
    # cores 0, 6, 12, 18 sit in rows 0-3 of column 0 and 1, 7, 13 in rows 0-2 of column 1; rows 1-3 share one SPI
    # clock (neurram_top.v:531-534), so a run takes at most one of them: row 0 + row 1, then row 2, then row 3
    assert host.run_groups([0, 6, 12, 1, 7, 13, 18]) == [[0, 1], [2], [6], [3, 4], [5]]
    assert host.run_groups([0, 6, 24]) == [[0, 1, 2]]  # rows 0, 1, 4: one core per clock group, one run
    assert host.run_groups([24, 30, 36, 42]) == [[0], [1], [2], [3]]  # rows 4-7 share spi_clock_4_7
    assert host.run_groups([0, 3]) == [[0], [1]]  # same core row, two columns: two runs


def test_words_beyond_the_fifos_are_lost_and_flagged():
    emu = _Emu()
    f = fsm.MvmFsm(emu)
    emu.wire_in[0x15] = host.spi_mask_word([2])
    f.pipe_in_spi(bytes(64 * 300))  # 4800 words: 2048 in the row FIFO, 2048 in the arbiter's
    assert f.rows[2].spi_fifo.size == 2048 and f.spi_arb.size == 2048
    assert f.counts["lost_words"] == 4800 - 4096
    assert emu.status_bits[0x28] & nt.NS_SPI_IN_FULL and not emu.status_bits[0x28] & nt.NS_SPI_ARB_IDLE


# ------------------------------------------------------- through hil:// (FpgaBoard on the emulator)
from neurram_lab.drivers.hil import connect, make_emulated_board  # noqa: E402
from neurram_lab.drivers import neurram_top as nt  # noqa: E402
from neurram_lab import open_board  # noqa: E402
from neurram_lab.errors import CapabilityError  # noqa: E402
from neurram_lab.mvm.mvm import run_mvm  # noqa: E402
from neurram_lab.program.programming import program_weights  # noqa: E402
from neurram_lab.program.weights import MatrixPlacement  # noqa: E402
from neurram_lab.program.writeverify import WriteVerifyConfig  # noqa: E402


def _hil(seed=13):
    ok, emu = make_emulated_board(seed=seed)
    trace = []
    board = connect(ok, spec=f"hil://?seed={seed}", observers=[trace.append])
    return board, emu, trace


def _program(twin, cores, seed=3):
    """Program a known matrix into the twin behind a board (the cells the MVM reads)."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(16, 8))
    return [program_weights(twin, w, MatrixPlacement(c, 0, 0, 16, 8), config=WriteVerifyConfig(max_reversals=4))
            for c in cores]


def _calls(trace, board_op):
    return [r for r in trace if r.get("board_op") == board_op]


def test_tier2_mvm_on_hil_matches_sim_within_the_readout_quantisation():
    rng = np.random.default_rng(5)
    x = rng.uniform(-1, 1, size=(40, 16))
    with open_board("sim://?seed=13") as sim:
        pm_s = _program(sim, [1])[0]
        y_s, c_s = run_mvm(sim, pm_s, x, input_bits=4, output_bits=6, return_codes=True)
    board, emu, trace = _hil()
    with board:
        pm_h = _program(emu.twin, [1])[0]
        assert np.array_equal(pm_h.g_measured_s, pm_s.g_measured_s)  # the same chip behind both
        y_h, c_h = run_mvm(board, pm_h, x, input_bits=4, output_bits=6, return_codes=True)
        v_read = board.get_rails()["v_read"]
    d = np.abs(c_h.astype(int) - c_s.astype(int))
    assert d.max() <= 2 and d.mean() < 0.6  # independent noise draws; the LSB is the same
    assert np.corrcoef(c_h.ravel(), c_s.ravel())[0, 1] > 0.99
    # the request the emulator rebuilt from the bit planes is the one tier 2 sent
    req = emu.mvm_fsm.last_request
    assert req.differential and req.direction == "forward" and np.array_equal(req.input_lines, np.arange(16))
    assert req.input_bits == 4 and np.isclose(req.v_read_v, v_read, atol=1e-4)
    # only neurram_top endpoints, 0x45 bits 6 and 8 for the run, no invented sequencer
    top = nt.BITSTREAMS["neurram_top"]
    for r in _calls(trace, "mvm"):
        if r["op"] == "ActivateTriggerIn":
            assert top.has("trigger", r["ep"], r["bit"]), r
        elif r["op"] in ("SetWireInValue",):
            assert top.has("wire_in", r["ep"]), r
        elif r["op"] == "GetWireOutValue":
            assert top.has("wire_out", r["ep"]), r
        elif r["op"] == "WriteToPipeIn":
            assert top.has("pipe_in", r["ep"]), r
        elif r["op"] == "ReadFromPipeOut":
            assert r["ep"] == 0xA2
    runs = [r for r in _calls(trace, "mvm") if r["op"] == "ActivateTriggerIn" and r["bit"] == 8]
    assert len(runs) == -(-40 // host.run_batch_limit(6, 1))


def test_one_run_in_pipe_order():
    board, emu, trace = _hil()
    with board:
        _program(emu.twin, [0])
        req = MVMRequest(cores=(0,), inputs=np.array([[[3, -2]]], np.int16), input_lines=np.array([0, 1]),
                         output_lines=np.arange(8), input_bits=3)
        n0 = len(trace)
        board.mvm(req)
        ops = [(r["op"], r.get("ep"), r.get("bit", r.get("bytes"))) for r in trace[n0:]
               if r["op"] in ("ActivateTriggerIn", "WriteToPipeIn", "ReadFromPipeOut")]
        pipe80 = [r for r in trace[n0:] if r["op"] == "WriteToPipeIn" and r["ep"] == 0x80]
    # DAC groups (0x40 bit 1, 0x41 bit 0) first, then the run
    run = [o for o in ops if o[1] not in (0x40, 0x41)]
    assert run == [("WriteToPipeIn", 0x80, 256), ("WriteToPipeIn", 0x81, 48), ("ActivateTriggerIn", 0x45, 6),
                   ("ActivateTriggerIn", 0x45, 8), ("ReadFromPipeOut", 0xA2, 256)]
    assert len(pipe80) == 1
    sets = {r["ep"]: r["value"] for r in trace[n0:] if r["op"] == "SetWireInValue"}
    assert sets[0x0E] == host.matmul_word(1, 2) and sets[0x0D] == host.spi_write_word(2, True)
    assert sets[0x0F] == host.readout_word(1) and sets[0x15] & 0xFF == 1
    assert sets[0x05] == 0  # inference off again after the run


def test_a_batch_beyond_255_is_split_into_runs_and_parallel_rows_share_one():
    rng = np.random.default_rng(1)
    x = rng.integers(-1, 2, size=(2, 300, 16)).astype(np.int16)
    req = MVMRequest(cores=(1, 7), inputs=x, input_lines=np.arange(16), output_lines=np.arange(8), input_bits=2,
                     output_bits=5)
    with open_board("sim://?seed=13") as sim:
        _program(sim, [1, 7])
        c_s = sim.mvm(req)
    board, emu, trace = _hil()
    with board:
        _program(emu.twin, [1, 7])
        c_h = board.mvm(req)
    limit = host.run_batch_limit(2, 2)
    runs = [r for r in _calls(trace, "mvm") if r["op"] == "ActivateTriggerIn" and r["bit"] == 8]
    assert len(runs) == -(-300 // limit) and limit <= 255  # cores 1 and 7: one column, rows 0 and 1, together
    assert emu.mvm_fsm.counts["mvm_vectors"] == 300 and emu.mvm_fsm.counts["lost_readout_bytes"] == 0
    d = np.abs(c_h.astype(int) - c_s.astype(int))
    assert c_h.shape == (2, 300, 8) and d.max() <= 2 and d.mean() < 0.5


@pytest.mark.parametrize("change, capability", [
    (dict(output_bits=8), "output_bits"),
    (dict(two_phase=True, input_bits=6), "two_phase"),
    (dict(direction="recurrent_bl", differential=False, output_lines=np.arange(20, 28)), "directions"),
    (dict(activation="tanh"), "activations"),
    (dict(cores=tuple(range(9)), inputs=np.zeros((9, 1, 16), np.int16)), "max_parallel_cores"),
])
def test_what_the_bitstream_cannot_do_is_refused_before_any_call(change, capability):
    board, emu, trace = _hil()
    with board:
        kw = dict(cores=(1,), inputs=np.zeros((1, 1, 16), np.int16), input_lines=np.arange(16),
                  output_lines=np.arange(8), input_bits=4, output_bits=6)
        kw.update(change)
        n0 = len(trace)
        with pytest.raises(CapabilityError) as err:
            board.mvm(MVMRequest(**kw))
        assert err.value.capability == capability
        assert len(trace) == n0


def test_neuron_test_follows_its_input_and_matches_sim():
    v = np.repeat(np.linspace(0.6, 1.2, 9)[:, None], 256, axis=1)
    with open_board("sim://?seed=13") as sim:
        c_s = sim.neuron_test(4, v, output_bits=6)
    board, emu, trace = _hil()
    with board:
        n0 = len(trace)
        with pytest.raises(CapabilityError):
            board.neuron_test(4, np.linspace(0.8, 1.0, 256)[None], output_bits=6)  # one voltage per vector only
        assert len(trace) == n0
        c_h = board.neuron_test(4, v[:, :1], output_bits=6)
    assert c_h.shape == (9, 256)
    med = np.median(c_h, axis=1)
    assert np.all(np.diff(med) > 0)  # codes rise with the input voltage
    d = np.abs(c_h.astype(int) - c_s.astype(int))
    assert d.max() <= 2 and d.mean() < 0.6


def test_a_neuron_past_100_steps_keeps_the_previous_count_as_the_hdl_does():
    # 7 output bits at a low v_decr: a step is small, a full-scale input runs past the readout's 100 steps
    x = np.zeros((1, 2, 16), np.int16)
    x[0, 1] = 7  # vector 1: every input at full scale; vector 0: zero
    req = MVMRequest(cores=(2,), inputs=x, input_lines=np.arange(16), output_lines=np.arange(8), input_bits=4,
                     output_bits=7)
    with open_board("sim://?seed=13") as sim:
        _program(sim, [2])
        sim.set_rails(v_decr=0.2)
        c_s = sim.mvm(req)[0]
    board, emu, trace = _hil()
    with board:
        _program(emu.twin, [2])
        board.set_rails(v_decr=0.2)
        c_h = board.mvm(req)[0]
    stale = (np.abs(c_s[1]) >= 63) & (np.abs(c_h[1]) < 63)  # saturated on the twin, not read as such
    assert stale.any()
    same_sign = (c_h[0] < 0) == (c_h[1] < 0)
    assert np.array_equal(c_h[1][stale & same_sign], c_h[0][stale & same_sign])  # the previous vector's count
    ok = ~stale
    assert np.abs(c_h[1][ok].astype(int) - c_s[1][ok]).max() <= 2


def test_a_multi_row_run_reads_each_row_out_in_ascending_order_whatever_ran_before():
    """arbiter_fifo2pipeout.v:107-150: after a run's last vector the 0xA2 arbiter is idle and the next run
    starts at its own lowest row. Before, hil:// kept a turn count across runs, so after a one-row run a
    run of rows 0, 2 and 5 came out rotated (each core given another's codes), where the RTL did not."""
    from neurram_lab.drivers.hil import connect, make_emulated_board
    from neurram_lab.drivers.rtl import _scenario as sc
    from neurram_lab.drivers.rtl.diff import check_params

    plan = sc.ci_plan(0, 8)
    cells = next(op[2] for op in plan if op[0] == "form")[:8]

    def board():
        ok, _emu = make_emulated_board(0, params=check_params())
        b = connect(ok)
        for op in plan[:6] + [("form", c, cells) for c in (0, 12)]:  # core 30 left unformed: other codes
            sc.run_op(b, op)
        return b

    mvm = (2, 4, 3, "backward", 3, True, None)
    b = board()
    sc.run_op(b, ("mvm", 12) + (cells,) + mvm)  # one row (2): a turn count would now be off by one
    got = sc.run_op(b, ("mvm_rows", (0, 12, 30), cells) + mvm)
    b.close()
    for k, core in enumerate((0, 12, 30)):
        alone = board()
        want = sc.run_op(alone, ("mvm", core, cells) + mvm[:4] + (mvm[4] + k,) + mvm[5:])
        alone.close()
        assert got[k] == want[0], core
    assert got[0] != got[2]  # formed and unformed cores differ, so a rotation would show
