"""Faults the virtual USB device can inject, to prove the driver never returns a silent wrong result.

A :class:`Fault` hits request frames the device receives: those of one
:class:`~drivers.usb_framing.Op` (or all), numbered from 0 in arrival order,
from ``at`` for ``count`` frames (retransmissions count too, so ``count``
larger than the host's retry budget makes a fault persistent).

Kinds
-----
``timeout``          the device executes the request but its response is lost
``short_read``       only the first half of the response reaches the host
``corrupt``          one byte of the response is flipped (CRC catches it)
``corrupt_request``  one byte of the request is flipped on the way in (the device drops it)
``corrupt_header``   the request's length field is damaged on the way in: the device waits
                     for bytes that never come until it drops the partial frame (idle timeout)
``disconnect``       the device vanishes halfway through receiving the frame
Stuck status bits are not frame faults: see ``VirtualNeurramDevice.stick``.
"""

from __future__ import annotations

from dataclasses import dataclass

FAULT_KINDS = ("timeout", "short_read", "corrupt", "corrupt_request", "corrupt_header", "disconnect")


@dataclass
class Fault:
    """One injected fault (see the module docstring)."""

    kind: str
    at: int = 0
    count: int = 1
    op: int | None = None
    fired: int = 0

    def __post_init__(self):
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"fault kind {self.kind!r} is not one of {FAULT_KINDS}")


class FaultPlan:
    """The faults of one device and the frame counters that trigger them."""

    def __init__(self, faults=()):
        self.faults = list(faults)
        self._seen_all = 0
        self._seen_op: dict[int, int] = {}

    def add(self, kind: str, at: int = 0, count: int = 1, op: int | None = None) -> Fault:
        f = Fault(kind, at, count, op)
        self.faults.append(f)
        return f

    def next_frame(self, op: int) -> list[Fault]:
        """Count one arriving request of ``op``; return the faults that hit it."""
        n_all = self._seen_all
        n_op = self._seen_op.get(op, 0)
        self._seen_all += 1
        self._seen_op[op] = n_op + 1
        hits = []
        for f in self.faults:
            n = n_all if f.op is None else (n_op if f.op == op else None)
            if n is not None and f.at <= n < f.at + f.count:
                f.fired += 1
                hits.append(f)
        return hits

    def frames_seen(self, op: int | None = None) -> int:
        return self._seen_all if op is None else self._seen_op.get(op, 0)
