"""``rtl://``: the unchanged driver over the authors' Verilog, simulated cycle by cycle (Icarus Verilog + cocotb).

``open_board("rtl://?hdl=DIR&top=neurram_top&seed=N")`` compiles the authors' design (read by path, default
``$NEURRAM_SHARED/authors/HDL``) with this package's behavioural models of the vendor modules and of the
board around the FPGA (``hdl/``), runs it in a child process (:mod:`drivers.rtl.sim`), and opens
:class:`~drivers.fpga_board.FpgaBoard` on an ``ok``-module look-alike (:mod:`drivers.rtl.okmodule`) whose
calls drive it; the twin (seed N) is the chip's physics. :mod:`drivers.rtl.diff` runs the same FrontPanel
call sequences on ``hil://`` and here and names every difference. Slow (a few thousand FrontPanel calls a
minute); the time is the twin's virtual clock, as on ``hil://``.
"""

from __future__ import annotations

from neurram_lab.errors import InputError

from . import _build
from ._build import DEFAULT_TOP, TOPS, build, default_hdl_dir, iverilog_path

__all__ = ["open_rtl", "register", "make_rtl_ok", "build", "TOPS", "DEFAULT_TOP", "default_hdl_dir", "iverilog_path",
           "RTL_VERSION"]
RTL_VERSION = "rtl-cocotb-icarus-1"
POLL_TIMEOUT_S = 600.0  # wall seconds a status poll may take: the simulation is slow


def register() -> None:
    """Make ``open_board`` know ``rtl://``."""
    from neurram_lab.board.registry import register_board

    register_board("rtl", "neurram_lab.drivers.rtl:open_rtl")


def make_rtl_ok(hdl=None, top: str = DEFAULT_TOP, seed: int = 0, params=None):
    """An ``ok``-module look-alike over a fresh simulation of ``top`` with a twin of ``seed`` as chip."""
    from neurram_lab.sim_backend.board import SimBoard

    from .okmodule import RtlOk
    from .sim import RtlSim

    if top == "neurram_top_wv":  # a bitstream of this project (gateware/), not one of the authors' tops
        raise InputError(f"rtl:// top 'neurram_top_wv' is not simulated here (tops: {', '.join(TOPS)}): the "
                         "write-verify engine runs on its own cocotb bench (neurram_lab.gateware.sim, "
                         "tests/gateware) and emulated on hil://?bitstream=neurram_top_wv")
    hdl = hdl or default_hdl_dir()
    if hdl is None:
        raise InputError("rtl:// needs the authors' HDL: give hdl=DIR or set NEURRAM_SHARED")
    vvp = build(hdl, top)
    twin = SimBoard(seed=seed, params=params)
    def sim_factory(on_events, current_fn, conversion_fn, lfsr_fn=None):
        return RtlSim(vvp, on_events, current_fn, conversion_fn, lfsr_fn)

    ok = RtlOk(sim_factory, twin, serial=f"RTL-{int(seed)}")
    ok.top, ok.hdl = top, str(hdl)
    ok.chip.top = top
    return ok


def connect(ok, spec: str = "rtl://", limits=None, observers=(), **board_opts):
    """Open an :class:`~drivers.fpga_board.FpgaBoard` on ``ok`` (a :class:`~drivers.rtl.okmodule.RtlOk`)."""
    from ..fpga_board import FpgaBoard
    from ..hil import TwinClock

    board_opts.setdefault("poll_timeout_s", POLL_TIMEOUT_S)
    info = {"seed": ok.twin.seed, "hdl": ok.hdl, "top": ok.top, "rtl": RTL_VERSION}
    bitstream = ok.top if ok.top in _bitstreams() else "neurram_top"
    try:
        board = FpgaBoard(ok.okCFrontPanel(), spec, limits, kind="rtl", serial=ok.serial, bitstream=bitstream,
                          clock=TwinClock(ok.twin), observers=observers, info_extra=info,
                          snapshot_extra=ok.twin.twin_snapshot, on_close=ok.close, **board_opts)
    except BaseException:
        ok.close()
        raise
    board.rtl = ok
    return board


def _bitstreams():
    from .. import neurram_top as nt

    return nt.BITSTREAMS


def open_rtl(target: str = "", spec: str = "rtl://", hdl=None, top=DEFAULT_TOP, seed=0, params=None, limits=None,
             trace=None, read_cycles=1, ignore_cycles=0, **extra):
    """Factory for ``rtl://[?hdl=DIR&top=neurram_top&seed=N&params=F&limits=F&trace=F.jsonl&read_cycles=&ignore_cycles=]``."""
    if target not in ("", "/"):
        raise InputError(f"rtl:// takes no target, got {target!r} in {spec!r}")
    if extra:
        raise InputError(f"unknown rtl:// options {sorted(extra)}; known: hdl, top, seed, params, limits, trace, "
                         "read_cycles, ignore_cycles")
    from neurram_lab.board._options import option_seed, writable_file
    from neurram_lab.board.limits import as_limits

    from ..fpga_board import read_options

    seed = option_seed(seed)  # checked as hil:// checks them: no truncation, before the simulator starts
    opts = read_options(read_cycles, ignore_cycles)
    limits = as_limits(limits)
    trace = writable_file("trace", trace) if trace is not None else None
    ok = make_rtl_ok(hdl, top, seed, params)
    observers = []
    if trace:
        from ..trace import TraceWriter

        observers.append(TraceWriter(trace))
    return connect(ok, spec, limits, observers=observers, **opts)
