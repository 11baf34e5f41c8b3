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

from ..board.contract import Board, BoardCapabilities, BoardInfo, MVMRequest
from ..errors import BoardError, InputError, ReplayDivergence, ReplayInterrupted, RunLogError
from ..board.limits import SafetyLimits
from ._journal_codec import first_difference
from .journal_board import expand_applied
from .runlog import read_run

_END = "<end of recording>"


class ReplayBoard(Board):
    """Serve the recorded calls of a run file, in order.

    Parameters
    ----------
    path : str or Path
        The run file.
    spec : str, optional

    Attributes
    ----------
    record : dict
        The run record (experiment, parameters, status, summary ...).
    journal : Journal
        The recorded calls.
    cursor : int
        Index of the next call to serve.

    Raises
    ------
    RunLogError
        The file is not a readable run file.
    ReplayDivergence
        A call differs from the recorded one (operation or arguments), or
        comes after the end of a complete recording.
    ReplayInterrupted
        A call after the last one an interrupted (or aborted) run recorded.
    """

    def __init__(self, path, spec: str | None = None):
        self.path = Path(path)
        run = read_run(self.path, tables=False, journal=True)
        if not run.has_journal:
            raise RunLogError(f"{self.path} has no journal of board calls (written before format 2): it cannot be replayed")
        self.record = run.record
        self.journal = run.journal
        limits = self.record.get("board", {}).get("limits")
        super().__init__(spec or f"replay://{self.path}", SafetyLimits.from_dict(limits) if limits else None)
        self.cursor = 0
        self._t_board_s = float(self.record.get("board", {}).get("time_s", 0.0))
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
    def _serve(self, op: str, args: dict):
        self._check_open()
        i = self.cursor
        if i >= len(self.journal):
            status = self.record["status"]
            if status in ("interrupted", "aborted"):
                raise ReplayInterrupted(i, op, status)
            raise ReplayDivergence(i, _END, op, f"the {status} run made {len(self.journal)} calls")
        call = self.journal.call(i)
        if call.op != op:
            raise ReplayDivergence(i, call.op, op)
        diff = first_difference(args, call.args)
        if diff:
            raise ReplayDivergence(i, call.op, op, diff)
        self.cursor = i + 1
        self._t_board_s = call.t_board_s
        if call.error is not None:
            raise call.error
        return call.response

    def __getattr__(self, name: str):
        if name.startswith("_") or name in ("journal", "record", "cursor", "path"):
            raise AttributeError(name)
        if "journal" not in self.__dict__ or name not in set(self.journal.calls["op"]):
            raise AttributeError(f"{type(self).__name__} has no attribute {name!r} (and the run never called it)")

        def replayed(*args, **kwargs):
            return self._serve(name, {"args": tuple(args), "kwargs": dict(kwargs)})

        replayed.__name__ = name
        return replayed

    # ------------------------------------------------------------ contract
    def info(self) -> BoardInfo:
        return self._serve("info", {})

    def set_rails(self, volts: dict | None = None, **more: float) -> None:
        return self._serve("set_rails", {"volts": dict(volts or {}, **more)})

    def get_rails(self) -> dict:
        return self._serve("get_rails", {})

    def rail_range_v(self, name: str) -> tuple:
        """The recorded answer; runs recorded before boards had ``rail_range_v`` used the safety limits."""
        i = self.cursor
        if i < len(self.journal) and self.journal.call(i).op != "rail_range_v":
            return tuple(self.limits.rails_v[name])
        return self._serve("rail_range_v", {"name": name})

    def power_cores(self, cores, on: bool = True) -> None:
        return self._serve("power_cores", {"cores": cores, "on": on})

    def powered_cores(self):
        return self._serve("powered_cores", {})

    def pulse(self, kind: str, core, row, col, v_pulse, width_s, v_gate=None):
        args = {"kind": kind, "core": core, "row": row, "col": col, "v_pulse": v_pulse, "width_s": width_s,
                "v_gate": v_gate}
        out = self._serve("pulse", args)
        return expand_applied(args, out, np.broadcast(np.asarray(core), np.asarray(row), np.asarray(col)).size)

    def read(self, core, row, col):
        return self._serve("read", {"core": core, "row": row, "col": col})

    def mvm(self, request: MVMRequest):
        return self._serve("mvm", {"request": request})

    def neuron_test(self, core: int, v_in_v, output_bits: int | None = None):
        return self._serve("neuron_test", {"core": core, "v_in_v": v_in_v, "output_bits": output_bits})

    def now(self) -> float:
        return self._serve("now", {})

    def wait(self, seconds: float) -> None:
        return self._serve("wait", {"seconds": seconds})

    def counters(self) -> dict:
        return self._serve("counters", {})

    def snapshot(self) -> dict:
        return self._serve("snapshot", {})

    # ----------------------------------------------- hooks: nothing beyond the recording
    def _capabilities(self) -> BoardCapabilities:
        """Those of the recorded board (its start snapshot); the full set for runs recorded before boards
        declared capabilities."""
        caps = self.record.get("board", {}).get("capabilities")
        return BoardCapabilities.from_dict(caps) if caps else BoardCapabilities()

    def _info(self) -> BoardInfo:
        info = dict(self.record.get("board", {}).get("info", {}))
        extra = dict(info.get("extra", {}), replay_of=str(self.path))
        return BoardInfo(kind="replay", spec=self.spec, serial=str(info.get("serial", "")),
                         firmware=str(info.get("firmware", "")), extra=extra)

    def _get_rails(self):
        return dict(self.record.get("board", {}).get("rails_v", {}))

    def _powered_cores(self):
        mask = np.zeros(self.limits.n_cores, bool)
        mask[self.record.get("board", {}).get("powered_cores", [])] = True
        return mask

    def _now(self) -> float:
        return self._t_board_s

    def _not_recorded(self, *_args):
        raise BoardError("a replay board only serves the recorded calls through the public Board methods")

    _set_rails = _power_cores = _pulse = _wait = _read = _not_recorded
