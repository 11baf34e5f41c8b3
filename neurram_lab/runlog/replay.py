"""ReplayBoard (``replay://RUN.h5``): a logged run served back from its journal.

Each call must be the one the run made at that point, with equal arguments;
it then gets the recorded response (or the recorded exception), so experiment
code runs unchanged and reproduces its analysis bit for bit, with no hardware.

    with open_board("replay://runs/demo-20260101-120000-ab12cd.h5") as board:
        summary = demo.run(board, "replayed", **board.record["parameters"])
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..board.contract import Board, BoardCapabilities, BoardInfo, call_args
from ..errors import BoardError, InputError, ReplayDivergence, ReplayInterrupted, RunLogError
from ..board.limits import SafetyLimits
from ._journal_codec import first_difference
from .journal_board import ENGINE_OP, FORM_ENGINE_OP, NOISE_OP, apply_engine_response
from .migrate import board_capabilities, current_record, recorded_without
from ._mvm_codec import Predicted
from .runlog import read_run

_END = "<end of recording>"


_WHOLE = ("snapshot", "rail_range_v")  # compound calls with no hook of their own: served whole
_INTERNAL = object()  # a hook's answer to the contract's own checks (not a recorded call)


class ReplayBoard(Board):
    """Serve the recorded calls of a run file, in order.

    Every public call runs the contract's own path (the recorded run's limits
    and capabilities checked first); its hook then serves the recorded call,
    which must be the one the run made at that point with equal arguments. A
    request the checks refuse must be one the run's board refused too (its
    recorded error is raised). The state the checks consult (powered cores,
    rails for a pulse's default gate) is the run's start snapshot, followed
    through the replayed calls.

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
        super().__init__(spec or f"replay://{self.path}", SafetyLimits.from_dict(limits) if limits else None)
        self.cursor = 0
        self._t_board_s = float(board.get("time_s", 0.0))
        self._rails = dict(board.get("rails_v", {}))
        self._powered = np.zeros(self.limits.n_cores, bool)
        self._powered[board.get("powered_cores", [])] = True
        self._current = None  # (op, args) of the public call being replayed, until a hook serves it
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
    def _observe(self, op: str, method, args: tuple, kwargs: dict):
        """Run the public ``method`` on this board: the contract's checks, then the hook that serves it."""
        self._check_open()
        rec = call_args(method, args, kwargs)
        if op in _WHOLE:
            return self._serve_whole(op, rec)
        self._current = (op, rec)
        try:
            out = method(self, *args, **kwargs)
        except Exception as exc:
            if self._current is None:  # raised by the recorded call or the replay itself
                raise
            self._current = None
            self._refused(op, rec, exc)
        if self._current is not None:  # nothing for a hook to do (no cells): the recorded call is served all the same
            self._current = None
            self._serve(op, rec)
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

    def _main(self, op: str):
        """The recorded response when the public call being replayed is ``op``; else ``_INTERNAL`` (the hook
        answers the contract's own checks)."""
        cur = self._current
        if cur is None or cur[0] != op:
            return _INTERNAL
        self._current = None
        return self._serve(*cur)

    def _action(self, op: str):
        out = self._main(op)
        if out is _INTERNAL:
            raise BoardError(f"a replay board only serves {op} as a public Board call")
        return out

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
    def _capabilities(self) -> BoardCapabilities:
        """Those of the recorded board (its start snapshot); the full set for runs recorded before boards
        declared capabilities."""
        return board_capabilities(self.record)

    def _info(self) -> BoardInfo:
        out = self._main("info")
        if out is not _INTERNAL:
            return out
        info = dict(self.record.get("board", {}).get("info", {}))
        extra = dict(info.get("extra", {}), replay_of=str(self.path))
        return BoardInfo(kind="replay", spec=self.spec, serial=str(info.get("serial", "")),
                         firmware=str(info.get("firmware", "")), extra=extra)

    def _get_rails(self):
        out = self._main("get_rails")
        if out is _INTERNAL:
            return dict(self._rails)
        self._rails = dict(out)
        return out

    def _set_rails(self, volts):
        self._action("set_rails")
        self._rails.update(volts)

    def _power_cores(self, cores, on):
        self._action("power_cores")
        self._powered[cores] = on

    def _powered_cores(self):
        out = self._main("powered_cores")
        if out is _INTERNAL:
            return self._powered.copy()
        self._powered = np.asarray(out, bool).copy()
        return out

    def _pulse(self, kind, core, row, col, v_pulse, width_s, v_gate):
        self._action("pulse")  # the contract returns the AppliedPulse, from the same values and steps

    def _read(self, core, row, col):
        return self._action("read")

    def _mvm(self, request):
        return self._action("mvm")

    def _neuron_test(self, core, v_in_v, output_bits):
        return self._action("neuron_test")

    def _now(self) -> float:
        out = self._main("now")
        return self._t_board_s if out is _INTERNAL else out

    def _wait(self, seconds):
        self._action("wait")

    def _counters(self):
        out = self._main("counters")
        return dict(self.record.get("board", {}).get("counters", {})) if out is _INTERNAL else out
