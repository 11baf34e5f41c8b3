"""JournalBoard: a Board frontend over another board's backend that journals every public call.

``neurram_lab.experiments._common.start_run`` wraps the experiment's board in one, so each
logged run records every call (arguments, response or error, wall and board
time) in its run file, and :class:`~neurram_lab.runlog.replay.ReplayBoard` can serve
the run again.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from ..board.contract import AppliedPulse, Board
from .journal import JournalWriter


@dataclass
class JournalTimings:
    """What journaling costs, call by call: CPU time of the process (``time.process_time``) in journaled calls.

    Set one as :attr:`JournalBoard.timings` (or use :func:`timed_journal`) and every call of the Board
    contract the journal records (pulse, read, mvm, wait, snapshot, ...) adds to it; the optional engine
    calls (``write_verify_on_engine``, ``form_on_engine``, ``scale_stochastic_noise``) are not timed.
    Timing changes nothing in the journal.

    Attributes
    ----------
    calls : int
        Journaled calls timed.
    total_s : float
        CPU seconds in those calls, from the journal's entry to its return (the call's checks, the board's
        work, the journal's record and its flushes).
    board_s : float
        CPU seconds of those spent in the board's part of each call (the contract's path on the inner
        board's backend).
    """

    calls: int = 0
    total_s: float = 0.0
    board_s: float = 0.0

    @property
    def journal_s(self) -> float:
        """CPU seconds the journal itself spent: ``total_s - board_s``."""
        return self.total_s - self.board_s


@contextmanager
def timed_journal(timings: JournalTimings | None = None):
    """Time every :class:`JournalBoard`'s journaled calls inside the block; yields the :class:`JournalTimings`
    (``timings``, or a new one). Sets :attr:`JournalBoard.timings` on the class (a board's own attribute, if
    set, wins) and restores it on exit; meant for benchmarks (``benchmarks/bench_journal.py``)."""
    t = JournalTimings() if timings is None else timings
    before = JournalBoard.timings
    JournalBoard.timings = t
    try:
        yield t
    finally:
        JournalBoard.timings = before


class JournalBoard(Board):
    """A Board frontend over ``inner``'s backend, journaling each public call.

    Parameters
    ----------
    inner : Board
        The board that does the work.
    journal : JournalWriter
        Where calls go (``RunLog.journal``).

    Notes
    -----
    This board is a frontend over the inner board's backend (``Board(...,
    backend=inner)``) with the journal as its outermost observer: every public
    call runs the contract's own path (limits and capabilities, the inner
    board's, checked before any hook) on the inner board's hooks, seen by the
    inner board's observers too (a replay's), and the journal records the call
    as the caller made it, with its response or the error it raised (a refused
    request included), so the journal reads the same whatever the board. No
    hook is forwarded: the frontend calls the backend's. Only the Board
    contract is journaled: twin-only views (``true_conductance_s``) belong to
    the inner board. ``close()`` closes this board only; the inner board
    belongs to whoever opened it. Calls made after the run log is closed run
    but are not journaled.

    ``capabilities()`` are the inner board's (not journaled: they are fixed
    while it is open, and the run record's start snapshot holds them).
    ``pulse`` returns the :class:`~neurram_lab.board.contract.AppliedPulse`;
    the journal keeps it compactly (:func:`compact_applied`). The optional calls
    (:data:`~neurram_lab.board.backend.EXTENSIONS`) are the inner board's,
    journaled each as one call.
    """

    #: :class:`JournalTimings` that every journaled public call adds its CPU time to (journal and board
    #: apart), or None (the default: nothing timed). Set on a board, or on the class for every board
    #: (:func:`timed_journal`).
    timings: JournalTimings | None = None

    def __init__(self, inner: Board, journal: JournalWriter):
        super().__init__(inner.spec, inner.limits, backend=inner, observe=self._call)
        self.inner = inner
        self.journal = journal

    @property
    def limits(self):
        """The inner board's limits: this board checks against them, and ``set_limits`` changes them there."""
        return self.inner.limits

    @limits.setter
    def limits(self, limits) -> None:
        self.set_limits(limits)

    def set_limits(self, limits):
        """Replace the inner board's limits (see ``Board.set_limits``)."""
        self._check_open()
        return self.inner.set_limits(limits)

    @property
    def replay_of(self):
        """The run the inner board replays (``ReplayBoard.replay_of``), else None."""
        return getattr(self.inner, "replay_of", None)

    # ------------------------------------------------------------ journaling
    def _call(self, op: str, args: dict, run, *run_args, **run_kwargs):
        """``run(*run_args, **run_kwargs)`` (the rest of a public call's path), journaled as ``op`` with the
        call's ``args``: its response (a pulse's compacted) or the error it raised; timed into
        :attr:`timings` when that is set."""
        timings = self.timings
        if timings is None:
            return self._journaled(op, args, run, *run_args, **run_kwargs)
        start = time.process_time()

        def board_part(*a, **k):
            t = time.process_time()
            try:
                return run(*a, **k)
            finally:
                timings.board_s += time.process_time() - t

        try:
            return self._journaled(op, args, board_part, *run_args, **run_kwargs)
        finally:
            timings.calls += 1
            timings.total_s += time.process_time() - start

    def _journaled(self, op: str, args: dict, run, *run_args, **run_kwargs):
        self._check_open()
        if op == "wait":
            self.journal.flush_if_pending()  # a long call: nothing recorded waits in memory meanwhile
        t0 = time.time()
        c0 = time.perf_counter()
        try:
            out = run(*run_args, **run_kwargs)
        except Exception as exc:
            self._record(op, args, t0, c0, error=exc)
            raise
        self._record(op, args, t0, c0, compact_applied(args, out) if op == "pulse" else out)
        return out

    def _record(self, op: str, args: dict, t0: float, c0: float, response=None, error=None) -> None:
        """Journal a call that started at wall time ``t0`` (``time.time()``), ``c0`` (``perf_counter``)."""
        self.journal.record(op, args, response, error=error, t_wall_s=t0, dt_wall_s=time.perf_counter() - c0,
                            t_board_s=self._board_time())

    def _board_time(self) -> float:
        try:
            return self._backend_time_s()
        except Exception:  # noqa: BLE001 - a closed or failing board has no time to give
            return float("nan")

    def journal_call(self, op: str, args: dict, response, t_wall_s: float, dt_wall_s: float) -> None:
        """Journal a call made on the inner board before this one existed (the start snapshot)."""
        self.journal.record(op, args, response, t_wall_s=t_wall_s, dt_wall_s=dt_wall_s, t_board_s=self._board_time())

    # ------------------------------------------------------------ optional: a write-verify engine
    def write_verify_engine_fits(self, cfg) -> bool:
        """Whether the inner board runs tier-2 write-verify with ``cfg`` on its engine
        (:func:`~neurram_lab.board.capabilities.engine_fits`)."""
        from ..board.capabilities import engine_fits

        return engine_fits(self.inner, cfg)

    def write_verify_on_engine(self, res, cfg, progress=None, on_done=None) -> bool:
        """Tier 2's engine hook, on the inner board's, journaled as one call (:data:`ENGINE_OP`).

        The call records the cells, targets and config as its arguments and the per-cell results
        (:func:`engine_response`) as its response, or the error it raised; a False answer (nothing sent:
        the host loop runs and journals its own reads and pulses) is not recorded.
        """
        hook = getattr(self.inner, "write_verify_on_engine", None)
        if hook is None:
            return False
        self._check_open()
        args = {"core": res.core, "row": res.row, "col": res.col, "target_s": res.target_s, "config": cfg}
        batches: list[np.ndarray] = []

        def done(cells, r):
            batches.append(np.array(cells, np.int64))
            if on_done is not None:
                on_done(cells, r)

        t0 = time.time()
        c0 = time.perf_counter()
        try:
            ran = hook(res, cfg, progress, done)
        except Exception as exc:
            if batches:  # the batches done before the failure, then the error: replay repeats both
                self._record(ENGINE_OP, args, t0, c0, dict(engine_response(res, batches), partial=np.ones(1, bool)))
            self._record(ENGINE_OP, args, t0, c0, error=exc)
            raise
        if ran:
            self._record(ENGINE_OP, args, t0, c0, engine_response(res, batches))
        return bool(ran)

    def form_on_engine(self, core, row, col, v_form_v, width_s, g_formed_s):
        """Tier 2's forming hook on the inner board's, journaled as one call (:data:`FORM_ENGINE_OP`): the
        cells and ramp as arguments, the formed mask as response (or the error); None (nothing sent, the
        host ramp runs and journals its reads and pulses) is not recorded."""
        hook = getattr(self.inner, "form_on_engine", None)
        if hook is None:
            return None
        self._check_open()
        args = {"core": core, "row": row, "col": col, "v_form_v": np.asarray(v_form_v, float),
                "width_s": float(width_s), "g_formed_s": float(g_formed_s)}
        t0 = time.time()
        c0 = time.perf_counter()
        try:
            got = hook(core, row, col, v_form_v, width_s, g_formed_s)
        except Exception as exc:
            self._record(FORM_ENGINE_OP, args, t0, c0, error=exc)
            raise
        if got is not None:
            self._record(FORM_ENGINE_OP, args, t0, c0, np.asarray(got, bool))
        return got

    # ------------------------------------------------------------ optional: the stochastic neurons' noise level
    def scale_stochastic_noise(self, factor, min_pulses=1):
        """The inner board's ``scale_stochastic_noise`` (the LFSR noise level of the ``stochastic`` activation),
        journaled as one call (:data:`NOISE_OP`): factor and pulse floor as arguments, the injection it set
        (``amplitude_v``, ``pulses``, ``pulse_width``) as response, or the error. None, nothing recorded, where
        the inner board has no such hook or answers None (its noise level is fixed)."""
        hook = getattr(self.inner, "scale_stochastic_noise", None)
        if hook is None:
            return None
        self._check_open()
        args = {"factor": float(factor), "min_pulses": int(min_pulses)}
        t0 = time.time()
        c0 = time.perf_counter()
        try:
            inj = hook(factor, min_pulses)
        except Exception as exc:
            self._record(NOISE_OP, args, t0, c0, error=exc)
            raise
        if inj is not None:  # None: a replay of a run whose board had a fixed level
            self._record(NOISE_OP, args, t0, c0, injection_dict(inj))
        return inj


#: Journal op of one tier-2 write-verify call run on a board's engine (``write_verify_on_engine``).
ENGINE_OP = "write_verify_engine"
#: Journal op of one tier-2 forming call run on a board's engine (``form_on_engine``).
FORM_ENGINE_OP = "form_engine"
# the journal op of JournalBoard.scale_stochastic_noise (the RBM's noise calibration on boards that set it)
NOISE_OP = "scale_stochastic_noise"


def injection_dict(inj) -> dict:
    """A noise injection (the driver's NoiseInjection, or its journaled dict) as a plain dict: amplitude_v (V),
    pulses, pulse_width (clocks)."""
    get = inj.get if isinstance(inj, dict) else (lambda k: getattr(inj, k))
    return {"amplitude_v": float(get("amplitude_v")), "pulses": int(get("pulses")),
            "pulse_width": int(get("pulse_width"))}
_ENGINE_FIELDS = ("g_final_s", "pulses", "reversals", "success", "outcome")


def engine_response(res, batches: list) -> dict:
    """What the journal keeps of an engine call: the per-cell results of ``res``
    (:class:`~neurram_lab.program.writeverify.ProgramResult`) and the order the cells finished in
    (``done``: positions, ``batch_cells``: how many per ``on_done`` call)."""
    out = {name: getattr(res, name).copy() for name in _ENGINE_FIELDS}
    out["done"] = np.concatenate(batches) if batches else np.zeros(0, np.int64)
    out["batch_cells"] = np.array([b.size for b in batches], np.int64)
    return out


def apply_engine_response(res, response: dict, progress=None, on_done=None) -> None:
    """Fill ``res`` from a recorded :func:`engine_response`, calling ``on_done`` and ``progress`` per batch
    as the engine did."""
    for name in _ENGINE_FIELDS:
        getattr(res, name)[...] = response[name]
    done, a = response["done"], 0
    for m in response["batch_cells"].tolist():
        if on_done is not None:
            on_done(done[a:a + m].copy(), res)
        a += m
        if progress is not None:
            progress(a)


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
