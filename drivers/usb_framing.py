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
    payload: bytes
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


def _crc(head: bytes, payload) -> int:
    return zlib.crc32(payload, zlib.crc32(head)) & 0xFFFFFFFF


def encode(frame: Frame) -> bytes:
    """Bytes of ``frame`` (header with CRC, then payload)."""
    payload = bytes(frame.payload)
    if not 0 <= frame.op <= 0xFF or not 0 <= frame.endpoint <= 0xFF or not 0 <= frame.flags <= 0xFF:
        raise FrameError(f"op/endpoint/flags out of range in {frame!r:.80}")
    if len(payload) > MAX_PAYLOAD:
        raise FrameError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    head = HEADER.pack(MAGIC, VERSION, frame.op, frame.endpoint, frame.flags, frame.seq & 0xFFFF, len(payload), 0)[:12]
    return head + struct.pack("<I", _crc(head, payload)) + payload


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
        if len(self._buf) < HEADER_BYTES or self._buf[:2] != MAGIC:
            return None
        length = struct.unpack_from("<I", self._buf, 8)[0]
        return max(HEADER_BYTES + length - len(self._buf), 0) if length <= MAX_PAYLOAD else None

    def feed(self, data) -> tuple[list[Frame], int, int]:
        """Add ``data``; returns (complete frames, bytes still pending, damaged frames dropped).

        A frame whose CRC fails is dropped as a whole (its length field is
        trusted only if it is sane); bytes before a magic are skipped.
        """
        self._buf += data
        frames: list[Frame] = []
        damaged = 0
        buf = self._buf
        pos = 0
        while True:
            start = buf.find(MAGIC, pos)
            if start < 0:
                # keep a trailing b"N" that may start a magic
                pos = len(buf) - 1 if buf.endswith(MAGIC[:1]) else len(buf)
                break
            if start != pos:
                damaged += 1
            pos = start
            if len(buf) - pos < HEADER_BYTES:
                break
            magic, version, op, endpoint, flags, seq, length, crc = HEADER.unpack_from(buf, pos)
            if version != VERSION or length > MAX_PAYLOAD:
                damaged += 1
                pos += 1
                continue
            end = pos + HEADER_BYTES + length
            if len(buf) < end:
                break
            head = bytes(buf[pos:pos + 12])
            payload = bytes(buf[pos + HEADER_BYTES:end])
            if _crc(head, payload) != crc:
                damaged += 1
                pos += 1  # resynchronise: the length field may be the damaged part
                continue
            frames.append(Frame(op, endpoint, seq, payload, flags))
            pos = end
        del buf[:pos]
        return frames, len(buf), damaged
