"""The FrontPanel endpoint interface every test-board transport implements.

Opal Kelly's FrontPanel host API moves data through six kinds of endpoints
(SPEC §1): wire-ins (0x00–0x1F, 32-bit registers written as a group by
``update_wire_ins``), wire-outs (0x20–0x3F, read as a group by
``update_wire_outs``), trigger-ins (0x40–0x5F, one-shot bits), trigger-outs
(0x60–0x7F), pipe-ins (0x80–0x9F) and pipe-outs (0xA0–0xBF, byte streams).
Every call returns an integer: non-negative on success (pipes return the
byte count), a negative FrontPanel error code on failure.

:class:`FrontPanel` keeps the wire-in and wire-out caches and checks endpoint
ranges and pipe block sizes, so a transport implements only the five moves
(``_push_wire_ins``, ``_pull_wire_outs``, ``_trigger``, ``_pipe_in``,
``_pipe_out``). :func:`check` turns a negative code into
:class:`~neurram_lab.errors.FrontPanelError` carrying the code's name.
"""

from __future__ import annotations

import abc

import numpy as np

from neurram_lab.errors import FrontPanelError

from . import endpoints as ep

# FrontPanel return codes and their names in the FrontPanel API.
NO_ERROR = 0
FAILED = -1
TIMEOUT = -2
DONE_NOT_HIGH = -3
TRANSFER_ERROR = -4
COMMUNICATION_ERROR = -5
INVALID_BITSTREAM = -6
FILE_ERROR = -7
DEVICE_NOT_OPEN = -8
INVALID_ENDPOINT = -9
INVALID_BLOCK_SIZE = -10
I2C_RESTRICTED_ADDRESS = -11
I2C_BIT_ERROR = -12
I2C_NACK = -13
I2C_UNKNOWN_STATUS = -14
UNSUPPORTED_FEATURE = -15
FIFO_UNDERFLOW = -16
FIFO_OVERFLOW = -17
DATA_ALIGNMENT_ERROR = -18
INVALID_RESET_PROFILE = -19
INVALID_PARAMETER = -20

ERROR_NAMES: dict[int, str] = {
    NO_ERROR: "NoError",
    FAILED: "Failed",
    TIMEOUT: "Timeout",
    DONE_NOT_HIGH: "DoneNotHigh",
    TRANSFER_ERROR: "TransferError",
    COMMUNICATION_ERROR: "CommunicationError",
    INVALID_BITSTREAM: "InvalidBitstream",
    FILE_ERROR: "FileError",
    DEVICE_NOT_OPEN: "DeviceNotOpen",
    INVALID_ENDPOINT: "InvalidEndpoint",
    INVALID_BLOCK_SIZE: "InvalidBlockSize",
    I2C_RESTRICTED_ADDRESS: "I2CRestrictedAddress",
    I2C_BIT_ERROR: "I2CBitError",
    I2C_NACK: "I2CNack",
    I2C_UNKNOWN_STATUS: "I2CUnknownStatus",
    UNSUPPORTED_FEATURE: "UnsupportedFeature",
    FIFO_UNDERFLOW: "FIFOUnderflow",
    FIFO_OVERFLOW: "FIFOOverflow",
    DATA_ALIGNMENT_ERROR: "DataAlignmentError",
    INVALID_RESET_PROFILE: "InvalidResetProfile",
    INVALID_PARAMETER: "InvalidParameter",
}

PIPE_BLOCK_BYTES = 16  # USB 3.0 FrontPanel pipes move multiples of 16 bytes


def error_name(code: int) -> str:
    """Name of a FrontPanel return code (``"Unknown(-99)"`` for codes the API does not list)."""
    return ERROR_NAMES.get(int(code), f"Unknown({int(code)})")


def check(code: int, call: str) -> int:
    """Return ``code`` if non-negative, else raise :class:`FrontPanelError` naming it and ``call``."""
    code = int(code)
    if code < 0:
        raise FrontPanelError(code, error_name(code), call)
    return code


def endpoints_kind(address: int) -> str:
    """Kind of endpoint ``address`` (see :func:`drivers.endpoints.endpoint_kind`)."""
    return ep.endpoint_kind(address)


def pad_block(data):
    """Zero-pad ``data`` to a whole number of 16-byte pipe blocks (returned as is when it is one)."""
    extra = (-len(data)) % PIPE_BLOCK_BYTES
    return bytes(data) + b"\0" * extra if extra else data


class FrontPanel(abc.ABC):
    """One open test board seen through its FrontPanel endpoints.

    Methods mirror the FrontPanel API (``SetWireInValue`` → :meth:`set_wire_in`
    ...) and return FrontPanel codes; they never raise for a board-side failure.
    """

    def __init__(self):
        self._wire_in = np.zeros(ep.N_WIRE_INS, np.uint32)
        self._wire_out = np.zeros(ep.N_WIRE_INS, np.uint32)
        self._open = True

    # ------------------------------------------------------------ lifecycle
    @property
    def is_open(self) -> bool:
        return self._open

    def close(self) -> None:
        """Release the device; later calls return DeviceNotOpen."""
        if self._open:
            self._open = False
            self._close()

    def _close(self) -> None:
        """Transport-specific release."""

    def device_info(self) -> dict:
        """Transport facts (serial, USB ids, ...), JSON-able."""
        return {}

    # ---------------------------------------------------------------- wires
    def set_wire_in(self, address: int, value: int, mask: int = 0xFFFFFFFF) -> int:
        """Stage ``value`` (under ``mask``) in wire-in ``address``; sent by :meth:`update_wire_ins`."""
        if not self._open:
            return DEVICE_NOT_OPEN
        if ep.endpoint_kind(address) != "wire_in":
            return INVALID_ENDPOINT
        old = int(self._wire_in[address])
        self._wire_in[address] = (old & ~mask | int(value) & mask) & 0xFFFFFFFF
        return NO_ERROR

    def update_wire_ins(self) -> int:
        """Send every staged wire-in to the board at once."""
        if not self._open:
            return DEVICE_NOT_OPEN
        return self._push_wire_ins(self._wire_in.copy())

    def update_wire_outs(self) -> int:
        """Fetch every wire-out from the board at once into the cache."""
        if not self._open:
            return DEVICE_NOT_OPEN
        code, values = self._pull_wire_outs()
        if code >= 0:
            self._wire_out[:] = values
        return code

    def get_wire_out(self, address: int) -> int:
        """Cached value of wire-out ``address`` (from the last :meth:`update_wire_outs`), or a negative code."""
        if not self._open:
            return DEVICE_NOT_OPEN
        if ep.endpoint_kind(address) != "wire_out":
            return INVALID_ENDPOINT
        return int(self._wire_out[address - ep.WIRE_OUT_RANGE[0]])

    # ------------------------------------------------------------- triggers
    def activate_trigger_in(self, address: int, bit: int) -> int:
        """Fire bit ``bit`` (0..31) of trigger-in ``address``."""
        if not self._open:
            return DEVICE_NOT_OPEN
        if ep.endpoint_kind(address) != "trigger_in" or not 0 <= bit < 32:
            return INVALID_ENDPOINT
        return self._trigger(address, bit)

    # ---------------------------------------------------------------- pipes
    def write_to_pipe_in(self, address: int, data: bytes) -> int:
        """Write ``data`` (a multiple of 16 bytes) to pipe-in ``address``; returns bytes written."""
        if not self._open:
            return DEVICE_NOT_OPEN
        if ep.endpoint_kind(address) != "pipe_in":
            return INVALID_ENDPOINT
        if len(data) % PIPE_BLOCK_BYTES:
            return INVALID_BLOCK_SIZE
        return self._pipe_in(address, data)

    def read_from_pipe_out(self, address: int, buffer: bytearray) -> int:
        """Fill ``buffer`` (a multiple of 16 bytes) from pipe-out ``address``; returns bytes read."""
        if not self._open:
            return DEVICE_NOT_OPEN
        if ep.endpoint_kind(address) != "pipe_out":
            return INVALID_ENDPOINT
        if len(buffer) % PIPE_BLOCK_BYTES:
            return INVALID_BLOCK_SIZE
        code, data = self._pipe_out(address, len(buffer))
        if code < 0:
            return code
        if len(data) != len(buffer):
            return TRANSFER_ERROR
        buffer[:] = data
        return len(data)

    # ------------------------------------------------------------ pipelining
    def pipeline(self, *calls) -> list[int]:
        """Run endpoint calls in order; one code each.

        ``calls`` are ``("pipe_in", address, data)``, ``("trigger", address, bit)``
        and ``("wire_outs",)``. This default makes them one by one and stops at
        the first failure (later calls get ``Failed``); a transport that can
        overlap round trips overrides it.
        """
        codes = []
        for kind, *args in calls:
            if codes and codes[-1] < 0:
                codes.append(FAILED)
                continue
            if kind == "pipe_in":
                codes.append(self.write_to_pipe_in(*args))
            elif kind == "trigger":
                codes.append(self.activate_trigger_in(*args))
            elif kind == "wire_outs":
                codes.append(self.update_wire_outs())
            else:
                raise ValueError(f"cannot pipeline {kind!r}")
        return codes

    # ------------------------------------------------------- transport hooks
    @abc.abstractmethod
    def _push_wire_ins(self, values: np.ndarray) -> int: ...

    @abc.abstractmethod
    def _pull_wire_outs(self) -> tuple[int, np.ndarray]: ...

    @abc.abstractmethod
    def _trigger(self, address: int, bit: int) -> int: ...

    @abc.abstractmethod
    def _pipe_in(self, address: int, data) -> int: ...

    @abc.abstractmethod
    def _pipe_out(self, address: int, n_bytes: int) -> tuple[int, bytes]: ...
