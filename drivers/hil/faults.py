"""Faults the emulated board injects between the host and the FPGA, to prove the driver never returns
a silent wrong result.

Every FrontPanel call that reaches the board (``GetWireOutValue`` reads the
host-side snapshot and is not counted) advances the plan's call counter
:attr:`FaultPlan.calls`; a :class:`Fault` is active for calls ``at`` ..
``at + count - 1``.

Kinds
-----
``timeout``     status bits ``mask`` of wire-out ``ep`` read 0 (a status bit that never sets: the host's
                poll runs into its deadline)
``stuck``       status bits ``mask`` of wire-out ``ep`` read 1 (e.g. DAC FIFO full, a valid bit that never clears)
``short_read``  ``ReadFromPipeOut`` moves only half the bytes asked for
``disconnect``  the board vanishes: this and every later call of the handle return DeviceNotOpen
                (the emulated chip survives; a new handle opens it again)

Spec strings (``hil://?faults=...``): faults separated by ``;``, each
``kind[:key=value,...]`` with keys ``ep``, ``mask`` (ints, ``0x`` allowed),
``at``, ``count``; e.g. ``timeout:ep=0x20,mask=0x10,at=0,count=1000000``.
Checked when the board opens: ``at`` >= 0, ``count`` >= 1, ``mask`` a
non-zero 32-bit value for ``timeout``/``stuck``, and ``ep`` a wire-out the
bitstream has (:meth:`FaultPlan.check`).
"""

from __future__ import annotations

from dataclasses import dataclass

from neurram_lab.validate import choice, integer
from neurram_lab.errors import InputError

FAULT_KINDS = ("timeout", "stuck", "short_read", "disconnect")
STATUS_KINDS = ("timeout", "stuck")  # the kinds acting on a wire-out's status bits
FOREVER = 1 << 62
WIRE_OUTS = (0x20, 0x3F)  # FrontPanel's wire-out endpoints; a bitstream has some of them


@dataclass
class Fault:
    """One injected fault (see the module docstring)."""

    kind: str
    at: int = 0
    count: int = FOREVER
    ep: int = 0x20
    mask: int = 0
    fired: int = 0

    def __post_init__(self):
        choice("fault kind", self.kind, FAULT_KINDS)
        self.at = integer("fault at", self.at, 0, FOREVER, "index of the first FrontPanel call it acts on")
        self.count = integer("fault count", self.count, 1, FOREVER, "FrontPanel calls it acts on")
        self.ep = integer("fault ep", self.ep, *WIRE_OUTS, "a wire-out endpoint")
        self.mask = integer("fault mask", self.mask, 0, 0xFFFFFFFF, "status bits of the 32-bit wire-out")
        if self.kind in STATUS_KINDS and self.mask == 0:
            raise InputError(f"a {self.kind} fault needs mask= (the status bits of wire-out 0x{self.ep:02X} "
                             "it acts on); mask=0 would act on none")

    def check(self, bitstream) -> None:
        """Refuse a status fault on a wire-out that ``bitstream`` (a :class:`~drivers.neurram_top.Bitstream`) lacks."""
        if self.kind in STATUS_KINDS and not bitstream.has("wire_out", self.ep):
            have = ", ".join(f"0x{e:02X}" for e in sorted(bitstream.wire_outs))
            raise InputError(f"fault ep=0x{self.ep:02X}: bitstream {bitstream.name} has no such wire-out "
                             f"(it has {have})")

    def active(self, n: int) -> bool:
        return self.at <= n < self.at + self.count


class FaultPlan:
    """The faults of one emulated board and the call counter that triggers them."""

    def __init__(self, faults=()):
        self.faults = list(faults)
        for f in self.faults:
            if not isinstance(f, Fault):
                raise InputError(f"a FaultPlan holds Fault objects, got {type(f).__name__} {f!r}")
        self.calls = 0
        self.bitstream = None  # set by check(): the top level the plan's board runs

    def check(self, bitstream) -> "FaultPlan":
        """Check every fault against ``bitstream`` (and later :meth:`add` calls too); returns ``self``."""
        for f in self.faults:
            f.check(bitstream)
        self.bitstream = bitstream
        return self

    def add(self, kind: str, at: int | None = None, count: int = FOREVER, ep: int = 0x20, mask: int = 0) -> Fault:
        """Add a fault starting at call ``at`` (default: the next call)."""
        f = Fault(kind, self.calls if at is None else at, count, ep, mask)
        if self.bitstream is not None:
            f.check(self.bitstream)
        self.faults.append(f)
        return f

    def clear(self) -> None:
        self.faults.clear()

    def tick(self, what: str) -> bool:
        """Count one call; True when a disconnect fires on it."""
        n = self.calls
        self.calls = n + 1
        gone = False
        for f in self.faults:
            if f.kind == "disconnect" and f.active(n):
                f.fired += 1
                gone = True
        return gone

    def status_faults(self, wo: list) -> None:
        """Apply timeout / stuck faults to a wire-out snapshot (index ep - 0x20), for the call just counted."""
        n = self.calls - 1
        for f in self.faults:
            if f.kind in ("timeout", "stuck") and f.active(n):
                i = f.ep - 0x20
                wo[i] = (wo[i] & ~f.mask) if f.kind == "timeout" else (wo[i] | f.mask)
                f.fired += 1

    def pipe_out_bytes(self, n: int) -> int:
        """Bytes a pipe-out read really moves (half under a short_read fault)."""
        k = self.calls - 1
        for f in self.faults:
            if f.kind == "short_read" and f.active(k):
                f.fired += 1
                return n // 2
        return n

    @classmethod
    def parse(cls, spec: str) -> "FaultPlan":
        """Plan from a spec string (module docstring)."""
        if not isinstance(spec, str):
            raise InputError(f"faults must be a spec string, got {type(spec).__name__} {spec!r}")
        plan = cls()
        for item in filter(None, (s.strip() for s in str(spec).split(";"))):
            kind, _, rest = item.partition(":")
            kw = {}
            for pair in filter(None, rest.split(",")):
                key, eq, val = (s.strip() for s in pair.partition("="))
                if not eq or key not in ("ep", "mask", "at", "count"):
                    raise InputError(f"fault option {pair!r} in {item!r}: expected ep=, mask=, at= or count=")
                if key in kw:
                    raise InputError(f"fault option {key}= is given twice in {item!r}")
                try:
                    kw[key] = int(val, 0)
                except ValueError:
                    raise InputError(f"fault option {pair!r} in {item!r} is not an integer") from None
            plan.faults.append(Fault(kind.strip(), **kw))
        return plan


def fault_plan(faults, bitstream) -> FaultPlan | None:
    """The ``faults`` option (None, a spec string or a :class:`FaultPlan`) as a plan checked against ``bitstream``."""
    if faults is None:
        return None
    if isinstance(faults, str):
        faults = FaultPlan.parse(faults)
    if not isinstance(faults, FaultPlan):
        raise InputError(f"faults must be a FaultPlan or a spec string, got {type(faults).__name__} {faults!r}")
    return faults.check(bitstream)
