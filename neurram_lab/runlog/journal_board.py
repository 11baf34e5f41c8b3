"""JournalBoard: a Board that forwards every call to another board and journals it.

``neurram_lab.experiments._common.start_run`` wraps the experiment's board in one, so each
logged run records every call (arguments, response or error, wall and board
time) in its run file, and :class:`~neurram_lab.runlog.replay.ReplayBoard` can serve
the run again.
"""

from __future__ import annotations

import time

import numpy as np

from ..board.contract import AppliedPulse, Board, BoardInfo, MVMRequest
from .journal import JournalWriter


class JournalBoard(Board):
    """Forward the Board contract to ``inner``, journaling each call.

    Parameters
    ----------
    inner : Board
        The board that does the work (validation included).
    journal : JournalWriter
        Where calls go (``RunLog.journal``).

    Notes
    -----
    ``close()`` closes this proxy only; the inner board belongs to whoever
    opened it. Public attributes the contract does not define are looked up on
    the inner board; its methods are journaled under their own name (so a
    twin-only view such as ``true_conductance_s`` replays too), plain
    attributes are returned as they are. Calls made after the run log is
    closed are forwarded but not journaled.

    ``capabilities()`` are the inner board's (not journaled: they are fixed
    while it is open, and the run record's start snapshot holds them).
    ``pulse`` returns the inner board's :class:`~neurram_lab.board.contract.AppliedPulse`;
    the journal keeps it compactly (:func:`compact_applied`).
    """

    def __init__(self, inner: Board, journal: JournalWriter):
        super().__init__(inner.spec, inner.limits)
        self.inner = inner
        self.journal = journal

    # ------------------------------------------------------------ plumbing
    def _call(self, op: str, args: dict, fn, *fargs, recorded=None, **fkwargs):
        """Forward ``fn(*fargs, **fkwargs)`` and journal it; ``recorded(args, out)`` is what the journal keeps
        of the response (default the response itself)."""
        if self._closed:
            self._check_open()
        if op == "wait":
            self.journal.flush_if_pending()  # a long call: nothing recorded waits in memory meanwhile
        t0 = time.time()
        c0 = time.perf_counter()
        try:
            out = fn(*fargs, **fkwargs)
        except Exception as exc:
            self.journal.record(op, args, error=exc, t_wall_s=t0, dt_wall_s=time.perf_counter() - c0,
                                t_board_s=self._board_time())
            raise
        self.journal.record(op, args, out if recorded is None else recorded(args, out), t_wall_s=t0, dt_wall_s=time.perf_counter() - c0, t_board_s=self._board_time())
        return out

    def _board_time(self) -> float:
        try:
            return float(self.inner._now())
        except Exception:  # noqa: BLE001 - a closed or failing board has no time to give
            return float("nan")

    def journal_call(self, op: str, args: dict, response, t_wall_s: float, dt_wall_s: float) -> None:
        """Journal a call made on the inner board before this proxy existed (the start snapshot)."""
        self.journal.record(op, args, response, t_wall_s=t_wall_s, dt_wall_s=dt_wall_s, t_board_s=self._board_time())

    def __getattr__(self, name: str):
        if name.startswith("_") or name in ("inner", "journal"):
            raise AttributeError(name)
        target = getattr(self.inner, name)
        if not callable(target):
            return target

        def journaled(*args, **kwargs):
            return self._call(name, {"args": tuple(args), "kwargs": dict(kwargs)}, target, *args, **kwargs)

        journaled.__name__ = name
        journaled.__doc__ = getattr(target, "__doc__", None)
        return journaled

    # ------------------------------------------------------------ contract
    def info(self) -> BoardInfo:
        return self._call("info", {}, self.inner.info)

    def set_rails(self, volts: dict | None = None, **more: float) -> None:
        req = dict(volts or {}, **more)
        return self._call("set_rails", {"volts": req}, self.inner.set_rails, req)

    def get_rails(self) -> dict:
        return self._call("get_rails", {}, self.inner.get_rails)

    def rail_range_v(self, name: str) -> tuple:
        return self._call("rail_range_v", {"name": name}, self.inner.rail_range_v, name)

    def power_cores(self, cores, on: bool = True) -> None:
        return self._call("power_cores", {"cores": cores, "on": on}, self.inner.power_cores, cores, on)

    def powered_cores(self):
        return self._call("powered_cores", {}, self.inner.powered_cores)

    def pulse(self, kind: str, core, row, col, v_pulse, width_s, v_gate=None) -> None:
        args = {"kind": kind, "core": core, "row": row, "col": col, "v_pulse": v_pulse, "width_s": width_s, "v_gate": v_gate}
        return self._call("pulse", args, self.inner.pulse, kind, core, row, col, v_pulse, width_s, v_gate,
                          recorded=compact_applied)

    def read(self, core, row, col):
        return self._call("read", {"core": core, "row": row, "col": col}, self.inner.read, core, row, col)

    def mvm(self, request: MVMRequest):
        return self._call("mvm", {"request": request}, self.inner.mvm, request)

    def neuron_test(self, core: int, v_in_v, output_bits: int | None = None):
        args = {"core": core, "v_in_v": v_in_v, "output_bits": output_bits}
        return self._call("neuron_test", args, self.inner.neuron_test, core, v_in_v, output_bits)

    def now(self) -> float:
        return self._call("now", {}, self.inner.now)

    def wait(self, seconds: float) -> None:
        return self._call("wait", {"seconds": seconds}, self.inner.wait, seconds)

    def counters(self) -> dict:
        return self._call("counters", {}, self.inner.counters)

    def snapshot(self) -> dict:
        return self._call("snapshot", {}, self.inner.snapshot)

    # ------------------------------------------------------- hooks (unjournaled)
    def _capabilities(self):
        return self.inner.capabilities()

    def _info(self):
        return self.inner._info()

    def _set_rails(self, volts):
        return self.inner._set_rails(volts)

    def _get_rails(self):
        return self.inner._get_rails()

    def _check_rails(self, volts):
        return self.inner._check_rails(volts)

    def _power_cores(self, cores, on):
        return self.inner._power_cores(cores, on)

    def _powered_cores(self):
        return self.inner._powered_cores()

    def _pulse(self, kind, core, row, col, v_pulse, width_s, v_gate):
        return self.inner._pulse(kind, core, row, col, v_pulse, width_s, v_gate)

    def _read(self, core, row, col):
        return self.inner._read(core, row, col)

    def _mvm(self, request):
        return self.inner._mvm(request)

    def _neuron_test(self, core, v_in_v, output_bits):
        return self.inner._neuron_test(core, v_in_v, output_bits)

    def _now(self):
        return self.inner._now()

    def _wait(self, seconds):
        return self.inner._wait(seconds)

    def _counters(self):
        return self.inner._counters()

    def _snapshot_extra(self):
        return self.inner._snapshot_extra()


_PULSE_ARGS = (("v_pulse_v", "v_pulse"), ("width_s", "width_s"), ("v_gate_v", "v_gate"))


def compact_applied(args: dict, applied):
    """What the journal keeps of a pulse's :class:`AppliedPulse`: per field, a float when every cell got
    the same value, the name of the request argument when the cells got exactly what was asked, else the
    array. :func:`expand_applied` turns it back into the AppliedPulse."""
    if not isinstance(applied, AppliedPulse):
        return applied
    fields = {}
    for field, arg in _PULSE_ARGS:
        a = getattr(applied, field)
        asked = args.get(arg)
        if a.size and _same_memory(a, asked):
            fields[field] = arg  # the request's own values (a view of its array): applied exactly as asked
        elif a.size and (a.strides == (0,) or a.min() == a.max()):
            fields[field] = float(a[0])
        elif asked is not None and a.size and np.shape(asked) == a.shape and np.array_equal(np.asarray(asked, float), a):
            fields[field] = arg
        else:
            fields[field] = a
    return AppliedPulse(**fields)


def _same_memory(a: np.ndarray, b) -> bool:
    """``a`` views exactly the values of array ``b`` (same start, shape, strides and dtype)."""
    return (type(b) is np.ndarray and a.dtype == b.dtype and a.shape == b.shape and a.strides == b.strides
            and a.__array_interface__["data"][0] == b.__array_interface__["data"][0])


def expand_applied(args: dict, recorded, n: int):
    """The :class:`AppliedPulse` that :func:`compact_applied` kept, for a call on ``n`` cells (the request
    ``args`` as recorded); other responses (None, from runs older than AppliedPulse) pass through."""
    if not isinstance(recorded, AppliedPulse):
        return recorded
    fields = {}
    for field, arg in _PULSE_ARGS:
        val = getattr(recorded, field)
        if isinstance(val, str):
            val = np.asarray(args[val], np.float64)
        elif not isinstance(val, np.ndarray):
            val = np.float64(val)
        fields[field] = np.broadcast_to(np.asarray(val, np.float64), (n,)) if np.ndim(val) == 0 else val
    return AppliedPulse(**fields)
