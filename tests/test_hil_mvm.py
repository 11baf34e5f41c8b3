"""MVM and neuron test through the authors' bitstream: the host encoding (drivers._mvm_host) against the
emulated FPGA (drivers.hil._mvm_fsm), pinned bytes, and hil:// against sim:// within the readout's quantisation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers import _mvm_host as host
from drivers.hil import _mvm_fsm as fsm
from neurram_lab.board import MVMRequest

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
    assert host.run_groups([0, 6, 12, 1, 7, 13, 18]) == [[0, 1, 2, 6], [3, 4, 5]]
    assert host.run_groups([0, 3]) == [[0], [1]]  # same core row, two columns: two runs
