"""Hardware in the loop: the real driver on an emulation of the authors' bitstream, with the twin as chip.

``open_board("hil://?seed=N")`` builds a twin chip (:class:`~sim_backend.SimBoard`,
seed N), the emulated FPGA on it (:class:`~drivers.hil.emulator.EmulatedBitstream`,
plus the MVM / neuron / readout emulation of :mod:`drivers.hil._mvm_fsm` and, on
``neurram_top_wv``, the write-verify engine of :mod:`drivers.hil._wv_fsm`), an
``ok``-module look-alike serving it (:class:`~drivers.hil.okmodule.EmulatedOk`),
and opens :class:`~drivers.fpga_board.FpgaBoard` through it: everything above the
FrontPanel calls is the code a real board runs. The board clock is the twin's
(virtual) time.
"""

from __future__ import annotations

from neurram_lab.validate import text
from neurram_lab.errors import InputError
from neurram_lab.board._options import option_seed, writable_file
from neurram_lab.board.limits import SafetyLimits

from .. import neurram_top as nt
from ..fpga_board import read_options
from . import _mvm_fsm, _wv_fsm
from .emulator import EmulatedBitstream
from .faults import FAULT_KINDS, Fault, FaultPlan, fault_plan
from .okmodule import EmulatedOk

__all__ = ["open_hil", "make_emulated_board", "connect", "EmulatedBitstream", "EmulatedOk", "TwinClock",
           "Fault", "FaultPlan", "FAULT_KINDS", "HIL_VERSION"]
HIL_VERSION = "hil-neurram_top-1"


class TwinClock:
    """Board time of ``hil://``: the twin's virtual clock (host-side, not a FrontPanel call)."""

    kind = "virtual"

    def __init__(self, twin):
        self.twin = twin

    def now(self) -> float:
        return self.twin.time_s

    def wait(self, seconds: float) -> None:
        self.twin.advance_s(seconds)


def make_emulated_board(seed: int = 0, params=None, bitstream: str = nt.DEFAULT_BITSTREAM, faults=None,
                        strict: bool = True) -> tuple[EmulatedOk, EmulatedBitstream]:
    """An emulated board on a fresh twin of ``seed``: (ok-module look-alike, emulated bitstream).

    ``faults`` is a :class:`FaultPlan` (or a spec string, see :mod:`drivers.hil.faults`).
    """
    from neurram_lab.sim_backend.board import SimBoard

    faults = fault_plan(faults, nt.bitstream(bitstream))
    twin = SimBoard(seed=seed, params=params)
    emu = EmulatedBitstream(twin, bitstream=bitstream, strict=strict)
    _mvm_fsm.attach(emu)
    if emu.bitstream.name == "neurram_top_wv":
        _wv_fsm.attach(emu)
    serial = f"HIL-{twin.seed}"
    ok = EmulatedOk({serial: emu}, {serial: faults} if faults is not None else None)
    ok.seed = twin.seed
    ok.params_file = str(params) if params is not None and not hasattr(params, "to_dict") else None
    return ok, emu


def connect(ok: EmulatedOk, spec: str = "hil://", limits=None, observers=(), **board_opts):
    """Open an :class:`~drivers.fpga_board.FpgaBoard` on the (first) board of ``ok``."""
    from ..fpga_board import FpgaBoard

    serial = sorted(ok.boards)[0]
    emu = ok.boards[serial]
    twin = emu.twin
    info = {"seed": getattr(ok, "seed", twin.seed), "params_file": getattr(ok, "params_file", None), "hil": HIL_VERSION}
    # what this top's LFSR block gives (drivers._lfsr_host.read_bits refuses where the readout cannot work)
    info["lfsr_readout"] = emu.bitstream.lfsr_readout_unavailable or "available"
    board = FpgaBoard(ok.okCFrontPanel(), spec, limits, kind="hil", serial=serial, bitstream=emu.bitstream.name,
                      clock=TwinClock(twin), observers=observers, info_extra=info,
                      snapshot_extra=twin.twin_snapshot, **board_opts)
    board.emulator = emu  # for tests and tools: the emulated FPGA (node voltages, registers, violations)
    return board


def open_hil(target: str = "", spec: str = "hil://", seed=0, params=None, limits=None, trace=None,
             bitstream=nt.DEFAULT_BITSTREAM, read_cycles=1, ignore_cycles=0, faults=None, poll_timeout_s=5.0,
             ok=None, **extra):
    """Factory for ``hil://[?seed=N&params=F&limits=F&trace=F.jsonl&bitstream=neurram_top&read_cycles=&ignore_cycles=&faults=...]``.

    ``ok=`` (keyword only) reuses an existing :class:`EmulatedOk`, e.g. to
    reconnect to the same chip after an injected disconnect.
    """
    if target not in ("", "/", "twin"):
        raise InputError(f"hil:// takes no target, got {target!r} in {spec!r}")
    if extra:
        raise InputError(f"unknown hil:// options {sorted(extra)}; known: seed, params, limits, trace, bitstream, "
                         "read_cycles, ignore_cycles, faults, poll_timeout_s")
    # every option checked before the twin is built, a file written or a call made
    seed = option_seed(seed)
    opts = read_options(read_cycles, ignore_cycles, poll_timeout_s)
    bs = nt.bitstream(text("bitstream", bitstream))
    faults = fault_plan(faults, bs)
    if trace is not None:
        trace = writable_file("trace", trace)
    if isinstance(limits, (str, bytes)) or hasattr(limits, "__fspath__"):
        limits = SafetyLimits.from_file(limits)
    if ok is None:  # the twin checks params (a TwinParams or a file) as it is built
        ok, _ = make_emulated_board(seed, params, bitstream=bs.name, faults=faults)
    observers = []
    if trace is not None:
        from ..trace import TraceWriter

        try:
            observers.append(TraceWriter(trace))
        except OSError as exc:
            raise InputError(f"trace: cannot write {str(trace)!r}: {exc.strerror or exc}") from exc
    return connect(ok, spec, limits, observers=observers, **opts)
