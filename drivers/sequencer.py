"""Blocks of the firmware's batch sequencer: one vectorised Board call per block.

The host writes one block to pipe-in 0x80, fires trigger 0x45 bit 12, polls
wire-out 0x28 for ``NS_SEQ_DONE`` and reads the results from pipe-out 0xA0
(cell results) or 0xA2 (neuron codes). The firmware runs a block only once it
holds all of it, so a Board call reaches the chip as one batch however the
transport splits it.

Block layout (little-endian)::

    header  magic u32 "NRSQ" | op u16 | flags u16 | n u32 | length u32 (header + body, unpadded)
    body    op-specific arrays (below), then zero padding to 16 bytes

Numbers cross the link losslessly: voltages, widths and times as float64,
conductances as float32 (the Board contract's dtype), codes as int16.
"""

from __future__ import annotations

import enum
import json
import struct
from dataclasses import dataclass

import numpy as np

from neurram_lab.board import ACTIVATIONS, MVM_DIRECTIONS, MVMRequest

from .frontpanel import PIPE_BLOCK_BYTES

MAGIC = 0x5153524E  # b"NRSQ"
HEADER = struct.Struct("<IHHII")
PULSE_KINDS = ("set", "reset", "form")
JSON_BYTES = 16384  # JSON results (INFO, COUNTERS) come zero-padded to this size


class SeqOp(enum.IntEnum):
    """Sequencer operations."""

    PULSE = 1  # flags: kind [1:0], scalar v/width/gate bits 2/3/4; body: v, width, gate f64[n] (or [1]), core, row, col u8[n]
    READ = 2  # body: core u8[n], row u8[n], col u8[n]; result: f32[n] on pipe-out 0xA0
    WAIT = 3  # body: seconds f64
    POWER = 4  # flags: 1 on / 0 off; body: core mask u64
    MVM = 5  # body: see encode_mvm; result: int16 (n_cores, batch, n_out) on pipe-out 0xA2
    NEURON_TEST = 6  # flags: output bits; n: batch; body: core u32, pad, v f64[n*256]; result int16 on 0xA2
    INFO = 7  # result: JSON (zero-padded to JSON_BYTES) on pipe-out 0xA0
    COUNTERS = 8  # result: JSON of the running counters, as INFO


class SeqError(enum.IntEnum):
    """Codes the sequencer leaves in wire-out 0x23 when a block fails."""

    NONE = 0
    BAD_MAGIC = 1
    INCOMPLETE = 2  # ran before the whole block arrived
    BAD_OP = 3
    BAD_BODY = 4  # body length does not match the header
    CORE_GATED = 5
    OVERFLOW = 6  # more bytes than the block declared
    FAILED = 7  # the chip model raised


@dataclass(frozen=True)
class Block:
    """One decoded block."""

    op: int
    flags: int
    n: int
    body: memoryview


def encode(op: int, body=b"", flags: int = 0, n: int = 0) -> bytearray:
    """A whole block, padded to 16 bytes."""
    return encode_arrays(op, [np.frombuffer(bytes(body), np.uint8)], flags, n)


def encode_arrays(op: int, arrays, flags: int = 0, n: int = 0) -> bytearray:
    """A block whose body is ``arrays`` back to back, each written once into the block (no temporaries)."""
    arrays = [np.ascontiguousarray(a) for a in arrays]
    length = HEADER.size + sum(a.nbytes for a in arrays)
    out = bytearray(length + (-length) % PIPE_BLOCK_BYTES)
    HEADER.pack_into(out, 0, MAGIC, int(op), int(flags), int(n), length)
    off = HEADER.size
    for a in arrays:
        np.frombuffer(out, a.dtype, a.size, off)[...] = a.ravel()
        off += a.nbytes
    return out


def declared_length(data) -> int | None:
    """Unpadded length a block announces in its header, or None before the header is in."""
    if len(data) < HEADER.size:
        return None
    return HEADER.unpack_from(data)[4]


def decode(data) -> Block:
    """Split a complete block into header fields and body; raises ValueError(SeqError) when malformed."""
    if len(data) < HEADER.size:
        raise ValueError(SeqError.INCOMPLETE)
    magic, op, flags, n, length = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise ValueError(SeqError.BAD_MAGIC)
    if len(data) < length:
        raise ValueError(SeqError.INCOMPLETE)
    return Block(op, flags, n, memoryview(data)[HEADER.size:length])


# ---------------------------------------------------------------- cells
def _addresses(core, row, col) -> list[np.ndarray]:
    return [np.asarray(a).astype(np.uint8) for a in (core, row, col)]  # validated: core < 48, row/col < 256


def _split(body, n: int, off: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return tuple(np.frombuffer(body, np.uint8, n, off + i * n).astype(np.int64) for i in range(3))


PULSE_KIND_MASK = 0x3
PULSE_SCALAR_BITS = (1 << 2, 1 << 3, 1 << 4)  # v_pulse, width_s, v_gate sent as one value


def _uniform(a: np.ndarray) -> bool:
    """True when every element has the same bits as the first (so one value stands for all, losslessly)."""
    bits = a.view(np.uint64)
    return bits.size > 0 and bool(np.all(bits == bits[0]))


def encode_pulse(kind: str, core, row, col, v_pulse, width_s, v_gate) -> bytearray:
    """PULSE block; a float array whose elements are all bit-identical goes as one value (flag bit)."""
    n = len(core)
    flags = PULSE_KINDS.index(kind)
    arrays = []
    for bit, a in zip(PULSE_SCALAR_BITS, (v_pulse, width_s, v_gate)):
        a = np.ascontiguousarray(np.broadcast_to(np.asarray(a, "<f8"), (n,)))
        if _uniform(a):
            flags |= bit
            a = a[:1]
        arrays.append(a)
    return encode_arrays(SeqOp.PULSE, [*arrays, *_addresses(core, row, col)], flags=flags, n=n)


def decode_pulse(block: Block):
    """(kind, core, row, col, v_pulse, width_s, v_gate) of a PULSE block."""
    n, b, flags = block.n, block.body, block.flags
    kind = flags & PULSE_KIND_MASK
    sizes = [1 if flags & bit else n for bit in PULSE_SCALAR_BITS]
    if kind >= len(PULSE_KINDS) or len(b) != 8 * sum(sizes) + 3 * n:
        raise ValueError(SeqError.BAD_BODY)
    out, off = [], 0
    for size in sizes:
        a = np.frombuffer(b, "<f8", size, off).astype(np.float64)
        out.append(np.full(n, a[0]) if size == 1 and n != 1 else a)
        off += 8 * size
    c, r, k = _split(b, n, off)
    return PULSE_KINDS[kind], c, r, k, *out


def encode_read(core, row, col) -> bytearray:
    return encode_arrays(SeqOp.READ, _addresses(core, row, col), n=len(core))


def decode_read(block: Block):
    if len(block.body) != 3 * block.n:
        raise ValueError(SeqError.BAD_BODY)
    return _split(block.body, block.n, 0)


# ------------------------------------------------------------------ MVM
_MVM_HEAD = struct.Struct("<HIHHBBBBBBdxxxxxx")  # n_cores batch n_in n_out dir in_bits out_bits act flags pad v_read
MVM_SIGNED, MVM_DIFFERENTIAL, MVM_TWO_PHASE, MVM_PARALLEL, MVM_HAS_V_READ = 1, 2, 4, 8, 16


def encode_mvm(req: MVMRequest) -> bytes:
    """Block of a validated :class:`MVMRequest`."""
    x = np.asarray(req.inputs)
    n_cores, batch, n_in = x.shape
    n_out = len(req.output_lines)
    flags = (
        (MVM_SIGNED if req.signed_inputs else 0)
        | (MVM_DIFFERENTIAL if req.differential else 0)
        | (MVM_TWO_PHASE if req.two_phase else 0)
        | (MVM_PARALLEL if req.parallel else 0)
        | (MVM_HAS_V_READ if req.v_read_v is not None else 0)
    )
    head = _MVM_HEAD.pack(
        n_cores, batch, n_in, n_out, MVM_DIRECTIONS.index(req.direction), int(req.input_bits),
        int(req.output_bits), ACTIVATIONS.index(req.activation), flags, 0,
        float(req.v_read_v) if req.v_read_v is not None else 0.0,
    )
    arrays = [
        np.frombuffer(head, np.uint8),
        np.asarray(req.cores, "<u2"),
        np.asarray(req.input_lines, "<u2"),
        np.asarray(req.output_lines, "<u2"),
        x.astype("<i2", copy=False),
    ]
    return encode_arrays(SeqOp.MVM, arrays, n=batch)


def decode_mvm(block: Block) -> MVMRequest:
    """The :class:`MVMRequest` of an MVM block, with the dtypes ``validate_mvm`` gives."""
    b = block.body
    if len(b) < _MVM_HEAD.size:
        raise ValueError(SeqError.BAD_BODY)
    n_cores, batch, n_in, n_out, d, ib, ob, act, flags, _, v_read = _MVM_HEAD.unpack_from(b)
    off = _MVM_HEAD.size
    need = off + 2 * (n_cores + n_in + n_out + n_cores * batch * n_in)
    if len(b) != need or d >= len(MVM_DIRECTIONS) or act >= len(ACTIVATIONS):
        raise ValueError(SeqError.BAD_BODY)
    cores = np.frombuffer(b, "<u2", n_cores, off)
    off += 2 * n_cores
    in_lines = np.frombuffer(b, "<u2", n_in, off).astype(np.int64)
    off += 2 * n_in
    out_lines = np.frombuffer(b, "<u2", n_out, off).astype(np.int64)
    off += 2 * n_out
    x = np.frombuffer(b, "<i2", n_cores * batch * n_in, off).astype(np.int16).reshape(n_cores, batch, n_in)
    return MVMRequest(
        cores=tuple(int(c) for c in cores),
        inputs=x,
        input_lines=in_lines,
        output_lines=out_lines,
        direction=MVM_DIRECTIONS[d],
        input_bits=int(ib),
        output_bits=int(ob),
        signed_inputs=bool(flags & MVM_SIGNED),
        differential=bool(flags & MVM_DIFFERENTIAL),
        two_phase=bool(flags & MVM_TWO_PHASE),
        activation=ACTIVATIONS[act],
        parallel=bool(flags & MVM_PARALLEL),
        v_read_v=float(v_read) if flags & MVM_HAS_V_READ else None,
    )


# ---------------------------------------------------------- neuron test
def encode_neuron_test(core: int, v_in_v: np.ndarray, output_bits: int) -> bytes:
    v = np.asarray(v_in_v, "<f8")
    head = np.array([int(core), v.shape[1]], "<u4")
    return encode_arrays(SeqOp.NEURON_TEST, [head, v], flags=int(output_bits), n=v.shape[0])


def decode_neuron_test(block: Block):
    """(core, v_in_v (batch, width), output_bits)."""
    b = block.body
    if len(b) < 8:
        raise ValueError(SeqError.BAD_BODY)
    core, width = struct.unpack_from("<II", b)
    if len(b) != 8 + 8 * block.n * width:
        raise ValueError(SeqError.BAD_BODY)
    v = np.frombuffer(b, "<f8", block.n * width, 8).astype(np.float64).reshape(block.n, width)
    return int(core), v, int(block.flags)


# ------------------------------------------------------------ the rest
def encode_wait(seconds: float) -> bytes:
    return encode(SeqOp.WAIT, struct.pack("<d", float(seconds)))


def encode_power(cores, on: bool) -> bytes:
    mask = 0
    for c in np.asarray(cores, np.int64).ravel():
        mask |= 1 << int(c)
    return encode(SeqOp.POWER, struct.pack("<Q", mask), flags=int(bool(on)))


def mask_to_cores(mask: int, n_cores: int = 48) -> np.ndarray:
    """Bool array (n_cores,) from a core bit mask."""
    return np.array([(mask >> i) & 1 for i in range(n_cores)], bool)


def encode_json_result(obj: dict) -> bytes:
    """JSON result zero-padded to JSON_BYTES (Python's JSON floats round-trip exactly)."""
    raw = json.dumps(obj).encode()
    if len(raw) > JSON_BYTES:
        raise ValueError("result does not fit its pipe-out block")
    return raw + b"\0" * (JSON_BYTES - len(raw))


def decode_json_result(data: bytes) -> dict:
    return json.loads(bytes(data).rstrip(b"\0").decode())
