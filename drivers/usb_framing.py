"""Frames that carry FrontPanel endpoint traffic over a pair of USB bulk endpoints.

Layout (little-endian; see ``docs/usb_framing.md``)::

    offset size field
    0      2    magic   b"NR"
    2      1    version 1
    3      1    op      Op (HELLO, WIRE_INS, WIRE_OUTS, TRIGGER, PIPE_IN, PIPE_OUT)
    4      1    endpoint FrontPanel address (0 where the op has none)
    5      1    flags   bit 0 response, bit 1 NAK (request frame arrived damaged)
    6      2    seq     sequence number of the request; a response echoes it
    8      4    length  payload bytes
    12     4    crc     CRC-32 (zlib) of bytes 0..11 followed by the payload
    16     ...  payload

A response payload always starts with the FrontPanel return code (int32).
:class:`FrameReader` reassembles frames from a byte stream however it was
chunked, and resynchronises on the magic after garbage.
"""

from __future__ import annotations

import array
import enum
import struct
import zlib
from dataclasses import dataclass

MAGIC = b"NR"
VERSION = 1
HEADER = struct.Struct("<2sBBBBHII")
HEADER_BYTES = HEADER.size  # 16
MAX_PAYLOAD = 1 << 28  # 256 MiB: a length above this is garbage, not a frame
FLAG_RESPONSE = 0x01
FLAG_NAK = 0x02
CODE = struct.Struct("<i")


class Op(enum.IntEnum):
    """What a frame asks the device to do."""

    HELLO = 1  # payload: none; response: code + JSON device facts
    WIRE_INS = 2  # payload: 32 x uint32 wire-in values; response: code
    WIRE_OUTS = 3  # payload: none; response: code + 32 x uint32 wire-out values
    TRIGGER = 4  # endpoint: trigger-in; payload: uint32 bit; response: code
    PIPE_IN = 5  # endpoint: pipe-in; payload: data; response: code (bytes accepted)
    PIPE_OUT = 6  # endpoint: pipe-out; payload: uint32 byte count; response: code + data


class FrameError(ValueError):
    """Bytes that are not a valid frame (bad magic, version, length or CRC)."""


@dataclass(frozen=True)
class Frame:
    """One decoded frame."""

    op: int
    endpoint: int
    seq: int
    payload: bytes  # or a memoryview of the bytes it was cut from
    flags: int = 0

    @property
    def is_response(self) -> bool:
        return bool(self.flags & FLAG_RESPONSE)

    @property
    def is_nak(self) -> bool:
        return bool(self.flags & FLAG_NAK)

    def code(self) -> int:
        """The FrontPanel return code at the head of a response payload."""
        if len(self.payload) < CODE.size:
            raise FrameError(f"response of {len(self.payload)} bytes has no return code")
        return CODE.unpack_from(self.payload)[0]

    def body(self) -> bytes:
        """A response payload after its return code."""
        return self.payload[CODE.size:]


def _crc(head, *parts) -> int:
    crc = zlib.crc32(head)
    for p in parts:
        crc = zlib.crc32(p, crc)
    return crc & 0xFFFFFFFF


def _head(op: int, endpoint: int, flags: int, seq: int, length: int) -> bytes:
    if not 0 <= op <= 0xFF or not 0 <= endpoint <= 0xFF or not 0 <= flags <= 0xFF:
        raise FrameError(f"op {op}, endpoint {endpoint} or flags {flags} out of range 0..255")
    if length > MAX_PAYLOAD:
        raise FrameError(f"payload of {length} bytes exceeds {MAX_PAYLOAD}")
    return HEADER.pack(MAGIC, VERSION, op, endpoint, flags, seq & 0xFFFF, length, 0)[:12]


def encode(frame: Frame) -> bytes:
    """Bytes of ``frame`` (header with CRC, then payload)."""
    return encode_parts(frame.op, frame.endpoint, frame.seq, (frame.payload,), frame.flags)


def encode_parts(op: int, endpoint: int, seq: int, parts, flags: int = 0) -> bytes:
    """Bytes of a frame whose payload is the concatenation of ``parts`` (one copy of each)."""
    parts = [memoryview(p).cast("B") for p in parts]
    head = _head(int(op), int(endpoint), int(flags), int(seq), sum(len(p) for p in parts))
    return b"".join([head, struct.pack("<I", _crc(head, *parts)), *parts])


def encode_array(op: int, endpoint: int, seq: int, payload, flags: int = 0) -> array.array:
    """A frame as ``array('B')``, which pyusb sends without another copy."""
    payload = memoryview(payload).cast("B")
    head = _head(int(op), int(endpoint), int(flags), int(seq), len(payload))
    out = array.array("B", head)
    out.frombytes(struct.pack("<I", _crc(head, payload)))
    out.frombytes(payload)
    return out


def response_bytes(request: Frame, code: int, body=b"", nak: bool = False) -> bytes:
    """Encoded response to ``request`` carrying ``code`` and ``body``."""
    flags = FLAG_RESPONSE | (FLAG_NAK if nak else 0)
    return encode_parts(request.op, request.endpoint, request.seq, (CODE.pack(int(code)), body), flags)


def response(request: Frame, code: int, body: bytes = b"", nak: bool = False) -> Frame:
    """The response frame to ``request`` carrying ``code`` and ``body``."""
    flags = FLAG_RESPONSE | (FLAG_NAK if nak else 0)
    return Frame(request.op, request.endpoint, request.seq, CODE.pack(int(code)) + bytes(body), flags)


def decode(data: bytes) -> Frame:
    """Decode exactly one frame from ``data``; raises :class:`FrameError` on any damage."""
    frames, rest, errors = FrameReader().feed(data)
    if errors or len(frames) != 1 or rest:
        raise FrameError(f"not exactly one valid frame ({len(frames)} frames, {rest} stray bytes, {errors} damaged)")
    return frames[0]


class FrameReader:
    """Reassemble frames from a byte stream delivered in arbitrary chunks."""

    def __init__(self):
        self._buf = bytearray()

    @property
    def pending(self) -> int:
        """Bytes held that do not yet make a whole frame."""
        return len(self._buf)

    def clear(self) -> None:
        self._buf.clear()

    def needed(self) -> int | None:
        """Bytes still missing from the frame in progress (None until its header is in)."""
        if len(self._buf) < HEADER_BYTES or bytes(self._buf[:2]) != MAGIC:
            return None
        length = struct.unpack_from("<I", self._buf, 8)[0]
        return max(HEADER_BYTES + length - len(self._buf), 0) if length <= MAX_PAYLOAD else None

    def feed(self, data) -> tuple[list[Frame], int, int]:
        """Add ``data``; returns (complete frames, bytes still pending, damaged frames dropped).

        A frame whose CRC fails is dropped (its length field is trusted only if
        sane); bytes before a magic are skipped. When nothing is pending, whole
        frames are cut from ``data`` without copying (their payloads are
        memoryviews of it), so large pipe transfers are not copied here.
        """
        if self._buf:
            self._buf += data
            src = bytes(self._buf)
            self._buf.clear()
            frames, pos, damaged = self._scan(memoryview(src))
            self._buf += src[pos:]
        else:
            src = memoryview(data).cast("B")
            frames, pos, damaged = self._scan(src)
            self._buf += src[pos:]
        return frames, len(self._buf), damaged

    @staticmethod
    def _scan(buf: memoryview) -> tuple[list[Frame], int, int]:
        frames: list[Frame] = []
        damaged = 0
        pos = 0
        n = len(buf)
        while True:
            start = _find_magic(buf, pos)
            if start < 0:
                if n > pos:  # no frame start up to the end; keep a last b"N" that may begin a magic
                    keep = n - 1 if buf[n - 1] == MAGIC[0] else n
                    damaged += keep > pos
                    pos = keep
                break
            if start != pos:
                damaged += 1
            pos = start
            if n - pos < HEADER_BYTES:
                break
            magic, version, op, endpoint, flags, seq, length, crc = HEADER.unpack_from(buf, pos)
            if version != VERSION or length > MAX_PAYLOAD:
                damaged += 1
                pos += 1
                continue
            end = pos + HEADER_BYTES + length
            if n < end:
                break
            payload = buf[pos + HEADER_BYTES:end]
            if _crc(buf[pos:pos + 12], payload) != crc:
                damaged += 1
                pos += 1  # resynchronise: the length field may be the damaged part
                continue
            frames.append(Frame(op, endpoint, seq, payload, flags))
            pos = end
        return frames, pos, damaged


def _find_magic(buf: memoryview, pos: int) -> int:
    """Index of the next magic at or after ``pos`` (-1 if none)."""
    if buf[pos:pos + 2] == MAGIC:
        return pos  # the usual case: a frame starts right here
    i = bytes(buf[pos:]).find(MAGIC)  # resynchronising after damage: rare, may copy
    return pos + i if i >= 0 else -1
