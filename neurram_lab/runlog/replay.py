"""ReplayBoard (``replay://RUN.h5``): a logged run served back from its journal.

Each call must be the one the run made at that point, with equal arguments;
it then gets the recorded response (or the recorded exception), so experiment
code runs unchanged and reproduces its analysis bit for bit, with no hardware.

    with open_board("replay://runs/demo-20260101-120000-ab12cd.h5") as board:
        summary = demo.run(board, "replayed", **board.record["parameters"])
"""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np

from ..board.backend import CALLS, BoardBackend
from ..board.contract import Board, BoardCapabilities, BoardInfo
from ..errors import BoardError, InputError, ReplayDivergence, ReplayInterrupted, RunLogError
from ..board.limits import SafetyLimits
from ._journal_codec import first_difference
from .journal_board import ENGINE_OP, FORM_ENGINE_OP, NOISE_OP, apply_engine_response
from .migrate import board_capabilities, current_record, recorded_without
from ._mvm_codec import Predicted
from .runlog import read_run

_END = "<end of recording>"


_WHOLE = tuple(op for op, c in CALLS.items() if c.hook is None and c.observed)  # no hook of their own: served whole


class _Pending:
    """The public call being replayed until the hook that carries it (``CALLS[op].hook``) serves it."""

    __slots__ = ("op", "args", "hook", "served")

    def __init__(self, op: str, args: dict):
        self.op, self.args, self.hook, self.served = op, args, CALLS[op].hook, False


class ReplayBoard(Board):
    """Serve the recorded calls of a run file, in order.

    The board is its own backend, and its own observer. The observer makes
    each public call pending (``_Pending``) and runs the contract's own path
    (the recorded run's limits and capabilities checked first); the hook that
    carries the call (:data:`~neurram_lab.board.backend.CALLS`) then serves the
    recorded call, which must be the one the run made at that point with equal
    arguments. A request the checks refuse must be one the run's board refused
    too (its recorded error is raised). Any other hook the checks consult
    (powered cores, rails for a pulse's default gate) answers from the run's
    start snapshot, followed through the replayed calls. The hooks are made
    from that table (``_hook``), not written one by one.

    Parameters
    ----------
    path : str or Path
        The run file.
    spec : str, optional

    Attributes
    ----------
    record : dict
        The run record (experiment, parameters, status, summary ...) in today's terms
        (:func:`~neurram_lab.runlog.migrate.current_record`): an experiment repeats the run with its
        ``parameters``.
    recorded : dict
        The run record as the file holds it.
    journal : Journal
        The recorded calls.
    cursor : int
        Index of the next call to serve.

    Raises
    ------
    RunLogError
        The file is not a readable run file.
    ReplayDivergence
        A call differs from the recorded one (operation or arguments), comes
        after the end of a complete recording, or is refused here where the
        run's board took it.
    ReplayInterrupted
        A call after the last one an interrupted (or aborted) run recorded.
    """

    def __init__(self, path, spec: str | None = None):
        self.path = Path(path)
        run = read_run(self.path, tables=False, journal=True)
        if not run.has_journal:
            raise RunLogError(f"{self.path} has no journal of board calls (written before format 2): it cannot be replayed")
        self.recorded = run.record
        self.record = current_record(run.record)
        self.journal = run.journal
        board = self.record.get("board", {})
        limits = board.get("limits")
        super().__init__(spec or f"replay://{self.path}", SafetyLimits.from_dict(limits) if limits else None,
                         observe=self._replay_call)
        self.cursor = 0
        self._t_board_s = float(board.get("time_s", 0.0))
        self._rails = dict(board.get("rails_v", {}))
        self._powered = np.zeros(self.limits.n_cores, bool)
        self._powered[board.get("powered_cores", [])] = True
        self._pending: _Pending | None = None
        self.replay_of = {"path": str(self.path), "uid": self.record["uid"]}

    @classmethod
    def from_spec(cls, target: str, spec: str = "replay://", **extra):
        """Factory for ``replay://RUN.h5`` (no options)."""
        if extra:
            raise InputError(f"replay:// takes no options, got {sorted(extra)}")
        if not target:
            raise InputError(f"replay:// needs a run file, e.g. replay://runs/demo-...h5 (got {spec!r})")
        return cls(target, spec=spec)

    @property
    def remaining(self) -> int:
        """Recorded calls not served yet."""
        return len(self.journal) - self.cursor

    # ------------------------------------------------------------ serving
    def _replay_call(self, op: str, args: dict, proceed):
        """Observer of each public call: the contract's path (``proceed``) with the call pending, served by
        its hook, or served here when no hook had to run (no cells); a refusal of the checks must be recorded."""
        self._check_open()
        if op in _WHOLE:
            return self._serve_whole(op, args)
        pending = self._pending = _Pending(op, args)
        try:
            out = proceed()
        except Exception as exc:
            self._pending = None
            if pending.served:  # raised by the recorded call or the replay itself
                raise
            self._refused(op, args, exc)
        self._pending = None
        if not pending.served:  # nothing for a hook to do (no cells): the recorded call is served all the same
            self._serve(op, args)
        return out

    def _next(self, op: str):
        i = self.cursor
        if i >= len(self.journal):
            status = self.record["status"]
            if status in ("interrupted", "aborted"):
                raise ReplayInterrupted(i, op, status)
            raise ReplayDivergence(i, _END, op, f"the {status} run made {len(self.journal)} calls")
        return i, self.journal.call(i)

    def _serve(self, op: str, args: dict):
        i, call = self._next(op)
        if call.op != op:
            raise ReplayDivergence(i, call.op, op)
        diff = first_difference(args, call.args)
        if diff:
            raise ReplayDivergence(i, call.op, op, diff)
        self.cursor = i + 1
        self._t_board_s = call.t_board_s
        if call.error is not None:
            raise call.error
        if type(call.response) is Predicted:  # ADC codes kept as a residual from the inputs (format 4)
            return call.response.values(args["request"].inputs)
        return call.response

    def _refused(self, op: str, args: dict, exc: Exception):
        """The contract's checks refused a call: the run's board must have refused it too; raises its error."""
        i, call = self._next(op)
        if call.op == op and call.error is None and not first_difference(args, call.args):
            raise ReplayDivergence(i, call.op, op, f"the run's board took it, the replay refuses it: {exc}") from exc
        try:
            self._serve(op, args)  # the recorded refusal, raised again
        except ReplayDivergence as div:
            raise div from exc
        raise exc  # not reached: a recorded call with an error raises it

    def _serve_whole(self, op: str, args: dict):
        i = self.cursor
        if i < len(self.journal) and recorded_without(op, self.journal.calls["op"].iat[i]):  # a run from before the call
            return tuple(self.limits.rails_v[args["name"]])
        return self._serve(op, args)

    # ------------------------------------------------------------ optional: a write-verify engine
    def write_verify_engine_fits(self, cfg) -> bool:
        """True when the run wrote cells on its board's engine (its journal holds an ``ENGINE_OP`` call)."""
        return bool((self.journal.calls["op"].to_numpy()[:len(self.journal)] == ENGINE_OP).any())

    def write_verify_on_engine(self, res, cfg, progress=None, on_done=None) -> bool:
        """Serve a recorded engine call (:class:`~neurram_lab.runlog.journal_board.JournalBoard`'s
        ``write_verify_on_engine``) when it is the next call: same cells, targets and config, then the
        recorded per-cell results, ``on_done`` and ``progress`` per batch as recorded. False (nothing
        served) when the next recorded call is another: the run used the host loop here."""
        self._check_open()
        i = self.cursor
        if i >= len(self.journal) or self.journal.calls["op"].iat[i] != ENGINE_OP:
            return False
        args = {"core": res.core, "row": res.row, "col": res.col, "target_s": res.target_s, "config": cfg}
        response = self._serve(ENGINE_OP, args)
        apply_engine_response(res, response, progress, on_done)
        if "partial" in response:  # the engine failed after these batches: its error is the next call
            self._serve(ENGINE_OP, args)
            raise ReplayDivergence(self.cursor - 1, ENGINE_OP, ENGINE_OP, "a partial engine call has no error after it")
        return True

    def form_on_engine(self, core, row, col, v_form_v, width_s, g_formed_s):
        """Serve a recorded engine FORM call (:data:`FORM_ENGINE_OP`) when it is the next call (same cells and
        ramp, else :class:`ReplayDivergence`); None when the next call is another (the run formed on the host)."""
        self._check_open()
        i = self.cursor
        if i >= len(self.journal) or self.journal.calls["op"].iat[i] != FORM_ENGINE_OP:
            return None
        args = {"core": core, "row": row, "col": col, "v_form_v": np.asarray(v_form_v, float),
                "width_s": float(width_s), "g_formed_s": float(g_formed_s)}
        return np.asarray(self._serve(FORM_ENGINE_OP, args), bool)

    def scale_stochastic_noise(self, factor, min_pulses=1):
        """Serve a recorded noise-level call (:data:`NOISE_OP`) when it is the next call (same factor and pulse
        floor, else :class:`ReplayDivergence`): the injection dict it recorded. None when the next call is
        another (the recorded board's noise level was fixed)."""
        self._check_open()
        i = self.cursor
        if i >= len(self.journal) or self.journal.calls["op"].iat[i] != NOISE_OP:
            return None
        return dict(self._serve(NOISE_OP, {"factor": float(factor), "min_pulses": int(min_pulses)}))

    # ------------------------------------------------------------ hooks
    def _serves(self, hook: str):
        """The pending call when ``hook`` carries it (marked served), else None: the checks' own question."""
        p = self._pending
        if p is None or p.served or p.hook != hook:
            return None
        p.served = True
        return p

    def _capabilities(self) -> BoardCapabilities:
        """Those of the recorded board (its start snapshot); the full set for runs recorded before boards
        declared capabilities."""
        return board_capabilities(self.record)

    # the state the checks consult, as the recorded run's board had it: (answer to a check, state kept after
    # the recorded call was served with ``response``) per hook; a hook with no answer serves only its call
    def _recorded_info(self) -> BoardInfo:
        info = dict(self.record.get("board", {}).get("info", {}))
        extra = dict(info.get("extra", {}), replay_of=str(self.path))
        return BoardInfo(kind="replay", spec=self.spec, serial=str(info.get("serial", "")),
                         firmware=str(info.get("firmware", "")), extra=extra)

    def _keep_powered(self, response, *_):
        self._powered = np.asarray(response, bool).copy()

    def _keep_power(self, response, cores, on):
        self._powered[cores] = on

    def _keep_rails(self, response, *_):
        self._rails = dict(response)


def _hook(name: str, answer=None, keep=None):
    """The replay's hook ``name``: serve the pending call it carries (then ``keep(self, response, *args)``
    follow the state), else ``answer(self, *args)``, the state's answer to the checks' question."""
    op = next(op for op, c in CALLS.items() if c.hook == name)

    def hook(self, *args):
        pending = self._serves(name)
        if pending is None:
            if answer is None:
                raise BoardError(f"a replay board only serves {op} as a public Board call")
            return answer(self, *args)
        response = self._serve(pending.op, pending.args)
        if keep is not None:
            keep(self, response, *args)
        return response

    hook.__name__, hook.__qualname__ = name, f"ReplayBoard.{name}"
    hook.__signature__ = inspect.signature(getattr(BoardBackend, name))
    hook.__doc__ = f"Serve the recorded ``{op}`` call{'' if answer is None else ', else the recorded state'}."
    return hook


_HOOKS = {
    "_info": (ReplayBoard._recorded_info, None),
    "_get_rails": (lambda self: dict(self._rails), ReplayBoard._keep_rails),
    "_set_rails": (None, lambda self, response, volts: self._rails.update(volts)),
    "_power_cores": (None, ReplayBoard._keep_power),
    "_powered_cores": (lambda self: self._powered.copy(), ReplayBoard._keep_powered),
    "_now": (lambda self: self._t_board_s, None),
    "_counters": (lambda self: dict(self.record.get("board", {}).get("counters", {})), None),
}
for _name in (c.hook for c in CALLS.values() if c.observed and c.hook is not None):
    setattr(ReplayBoard, _name, _hook(_name, *_HOOKS.get(_name, (None, None))))
del _name
