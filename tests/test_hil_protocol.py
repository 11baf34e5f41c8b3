"""Encode/decode round trips of the USB frames and sequencer blocks (property-tested), and pinned bytes."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers import endpoints as ep
from drivers import sequencer as sq
from drivers import usb_framing as fr
from drivers.frontpanel import FrontPanelError, check, error_name
from neurram_lab.board import ACTIVATIONS, MVM_DIRECTIONS, MVMRequest

frames = st.builds(
    fr.Frame,
    op=st.integers(0, 255),
    endpoint=st.integers(0, 255),
    seq=st.integers(0, 0xFFFF),
    payload=st.binary(max_size=600),
    flags=st.integers(0, 255),
)


def test_frame_bytes_are_pinned():
    raw = fr.encode(fr.Frame(fr.Op.TRIGGER, 0x45, 0x0102, struct.pack("<I", 12)))
    head = b"NR\x01\x04\x45\x00\x02\x01\x04\x00\x00\x00"
    assert raw[:12] == head
    assert raw[12:16] == struct.pack("<I", zlib.crc32(head + raw[16:]))
    assert raw[16:] == b"\x0c\x00\x00\x00"


@given(frames)
@settings(deadline=None)
def test_frame_round_trip(frame):
    assert fr.decode(fr.encode(frame)) == frame


@given(st.lists(frames, min_size=1, max_size=5), st.data())
@settings(max_examples=100, deadline=None)
def test_reader_reassembles_any_chunking(fs, data):
    stream = b"".join(fr.encode(f) for f in fs)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    reader, got = fr.FrameReader(), []
    for a, b in zip([0] + cuts, cuts + [len(stream)]):
        out, _pending, damaged = reader.feed(stream[a:b])
        assert damaged == 0
        got += out
    assert got == fs and reader.pending == 0


@given(frames, st.integers(0, 10_000), st.integers(1, 255))
@settings(deadline=None)
def test_any_flipped_byte_is_caught(frame, where, xor):
    raw = bytearray(fr.encode(frame))
    raw[where % len(raw)] ^= xor
    frames_out, _pending, _damaged = fr.FrameReader().feed(bytes(raw))
    assert all(f != frame for f in frames_out), "a damaged frame must never decode as the original"
    assert frames_out == [], "nor as anything else"


def test_reader_keeps_no_byte_of_a_finished_frame():
    """Regression (found by hypothesis): a payload ending in b"N" was kept as a possible magic."""
    f = fr.Frame(fr.Op.HELLO, 0, 0, b"N")
    out, pending, damaged = fr.FrameReader().feed(fr.encode(f))
    assert out == [f] and pending == 0 and damaged == 0


def test_reader_resyncs_after_garbage():
    f = fr.Frame(fr.Op.HELLO, 0, 9, b"abc")
    out, pending, damaged = fr.FrameReader().feed(b"\x00junkN" + fr.encode(f))
    assert out == [f] and pending == 0 and damaged >= 1


# ------------------------------------------------------------- sequencer
cells = st.integers(0, 64).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 47), min_size=n, max_size=n),
        st.lists(st.integers(0, 255), min_size=n, max_size=n),
        st.lists(st.integers(0, 255), min_size=n, max_size=n),
        st.lists(st.floats(allow_nan=False, width=64), min_size=n, max_size=n),
    )
)


@given(cells, st.sampled_from(sq.PULSE_KINDS))
@settings(max_examples=50, deadline=None)
def test_pulse_block_round_trip_is_lossless(cell, kind):
    c, r, k, v = (np.array(x) for x in cell)
    c, r, k = c.astype(np.int64), r.astype(np.int64), k.astype(np.int64)
    w = np.abs(v) * 1e-9
    block = sq.encode_pulse(kind, c, r, k, v, w, v[::-1].copy())
    assert len(block) % 16 == 0
    kind2, c2, r2, k2, v2, w2, g2 = sq.decode_pulse(sq.decode(block))
    assert kind2 == kind
    for a, b in ((c, c2), (r, r2), (k, k2), (v, v2), (w, w2), (v[::-1], g2)):
        assert a.tobytes() == b.astype(a.dtype).tobytes()  # bit-identical, not approx


@pytest.mark.parametrize("n", [0, 1, 5])
def test_uniform_pulse_arrays_go_as_one_value_losslessly(n):
    c = np.arange(n) % 48
    v = np.linspace(1.0, 2.0, n)
    w = np.full(n, 1e-6)
    g = np.full(n, -0.0)  # bit-exact: -0.0 must not come back as 0.0
    block = sq.encode_pulse("reset", c, c, c, v, w, g)
    if n > 1:
        assert len(block) < len(sq.encode_pulse("reset", c, c, c, v, v, v))
    kind, c2, r2, k2, v2, w2, g2 = sq.decode_pulse(sq.decode(block))
    assert kind == "reset" and v2.tobytes() == v.tobytes() and w2.tobytes() == w.tobytes()
    assert g2.tobytes() == g.tobytes() and np.array_equal(c2, c)
    mixed = np.full(n, 0.0)
    if n > 1:
        mixed[1] = -0.0
        assert sq.decode_pulse(sq.decode(sq.encode_pulse("set", c, c, c, v, w, mixed)))[6].tobytes() == mixed.tobytes()


@st.composite
def mvm_requests(draw):
    n_cores = draw(st.integers(1, 3))
    cores = tuple(draw(st.lists(st.integers(0, 47), min_size=n_cores, max_size=n_cores, unique=True)))
    batch = draw(st.integers(0, 5))
    n_in = draw(st.integers(1, 20))
    n_out = draw(st.integers(1, 20))
    bits = draw(st.integers(1, 8))
    lim = 2 ** (bits - 1) - 1
    x = np.array(draw(st.lists(st.integers(-lim, lim), min_size=n_cores * batch * n_in, max_size=n_cores * batch * n_in)), np.int16)
    return MVMRequest(
        cores=cores,
        inputs=x.reshape(n_cores, batch, n_in),
        input_lines=np.array(draw(st.lists(st.integers(0, 127), min_size=n_in, max_size=n_in, unique=True)), np.int64),
        output_lines=np.array(draw(st.lists(st.integers(0, 255), min_size=n_out, max_size=n_out, unique=True)), np.int64),
        direction=draw(st.sampled_from(MVM_DIRECTIONS)),
        input_bits=bits,
        output_bits=draw(st.integers(1, 10)),
        signed_inputs=draw(st.booleans()),
        differential=draw(st.booleans()),
        two_phase=draw(st.booleans()),
        activation=draw(st.sampled_from(ACTIVATIONS)),
        parallel=draw(st.booleans()),
        v_read_v=draw(st.none() | st.floats(0.0, 0.6)),
    )


@given(mvm_requests())
@settings(max_examples=60, deadline=None)
def test_mvm_block_round_trip(req):
    back = sq.decode_mvm(sq.decode(sq.encode_mvm(req)))
    for name in ("cores", "direction", "input_bits", "output_bits", "signed_inputs", "differential",
                 "two_phase", "activation", "parallel", "v_read_v"):
        assert getattr(back, name) == getattr(req, name), name
    assert back.inputs.dtype == np.int16 and np.array_equal(back.inputs, req.inputs)
    assert back.input_lines.dtype == np.int64 and np.array_equal(back.input_lines, req.input_lines)
    assert np.array_equal(back.output_lines, req.output_lines)


def test_truncated_or_garbled_blocks_are_refused():
    block = sq.encode_read([1, 2], [3, 4], [5, 6])
    with pytest.raises(ValueError) as e:
        sq.decode(block[:10])
    assert e.value.args[0] == sq.SeqError.INCOMPLETE
    with pytest.raises(ValueError) as e:
        sq.decode(b"XXXX" + block[4:])
    assert e.value.args[0] == sq.SeqError.BAD_MAGIC
    bad = bytearray(block)
    struct.pack_into("<I", bad, 8, 3)  # claims 3 cells, carries 2
    with pytest.raises(ValueError):
        sq.decode_read(sq.decode(bytes(bad)))


def test_endpoint_map_matches_spec_ranges():
    names = {k: v for k, v in vars(ep).items() if k[:3] in ("WI_", "WO_", "TI_", "PI_", "PO_") and isinstance(v, int)}
    for name, addr in names.items():
        kind = {"WI_": "wire_in", "WO_": "wire_out", "TI_": "trigger_in", "PI_": "pipe_in", "PO_": "pipe_out"}[name[:3]]
        if name.startswith("TI_") and addr < 0x40:
            continue  # trigger bit numbers, not addresses
        assert ep.endpoint_kind(addr) == kind, name
    assert ep.dac_word(3, 2, 0xBEEF) == (3 << 24) | (0b0011 << 20) | (2 << 16) | 0xBEEF
    assert ep.split_dac_word(ep.dac_word(1, 7, 123)) == (1, ep.DAC_CMD_WRITE_UPDATE, 7, 123)
    assert ep.width_ticks(1e-6) == 100


def test_return_codes_become_named_errors():
    assert check(5, "x") == 5
    with pytest.raises(FrontPanelError) as e:
        check(-2, "UpdateWireOuts")
    assert (e.value.code, e.value.name, e.value.call) == (-2, "Timeout", "UpdateWireOuts")
    assert error_name(-9) == "InvalidEndpoint" and error_name(-10) == "InvalidBlockSize"
    assert error_name(-99) == "Unknown(-99)"
