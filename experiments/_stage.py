"""The thermal stage in an experiment: hold a temperature, read it along the run, record it in the run file.

An experiment that takes ``stage`` (an open
:class:`drivers.instruments.LakeShore335`, or anything with its methods) and
``temperature_k``:

- :func:`check_stage` before its first board call (a set point outside the
  stage's limits, or a temperature without a stage, is refused then);
- :func:`hold` before :func:`~._common.start_run`: sets the set point and waits
  until the stage has settled;
- declares :data:`STAGE_TABLE` and appends :func:`reading` rows (board time,
  temperature, set point, heater) as it goes;
- puts :func:`summary` under the summary's ``"stage"`` key (identity, set
  point, settled, lowest, highest and last temperature, heater range, ramp).

The run's ``parameters`` carry ``temperature_k``, ``stage_tolerance_k`` and
``stage_timeout_s``, not the instrument: ``neurram replay`` drives no
instrument, it serves the recorded readings (:class:`RecordedStage`) as it
serves the board's.
"""

from __future__ import annotations

import math

from neurram_lab.validate import number
from neurram_lab.errors import InputError, LimitError

STAGE_TABLE = {"t_board_s": ("f8", "s"), "temperature_k": ("f8", "K"), "setpoint_k": ("f8", "K"),
               "heater_pct": ("f4", "%")}


def check_stage(board, stage, temperature_k, tolerance_k: float, timeout_s: float):
    """The stage to use (``stage``, or the recording's on a replay), or None; raises before anything is sent."""
    number("stage_tolerance_k", tolerance_k, 0.0, 50.0, "K", lo_open=True)  # NaN and infinities refused too
    number("stage_timeout_s", timeout_s, 0.0, 86400.0, "seconds")
    if temperature_k is None:
        if stage is not None:
            raise InputError("a stage was given without temperature_k (the temperature to hold, K)")
        return None
    try:
        t = float(temperature_k)
    except (TypeError, ValueError) as exc:
        raise InputError(f"temperature_k must be a number (K), got {temperature_k!r}") from exc
    if not math.isfinite(t) or t <= 0:
        raise LimitError("temperature_k", t, "> 0", "K")
    if stage is None:
        if getattr(board, "replay_of", None) is None:
            raise InputError(f"temperature_k={t:g} K needs a thermal stage (--stage VISA_RESOURCE)")
        return RecordedStage(board)
    if not stage.t_min_k <= t <= stage.t_max_k:
        raise LimitError("temperature_k", t, (stage.t_min_k, stage.t_max_k), "K")
    return stage


def hold(stage, temperature_k: float, tolerance_k: float, timeout_s: float) -> float:
    """Set the stage to ``temperature_k`` (K) and wait until it settled; returns the settled reading (K)."""
    stage.set_temperature(float(temperature_k))
    return stage.wait_stable(float(temperature_k), tol_k=tolerance_k, timeout_s=timeout_s)


def reading(stage, t_board_s: float) -> dict:
    """One :data:`STAGE_TABLE` row: board time (s), temperature (K), set point (K), heater (%)."""
    return {"t_board_s": float(t_board_s), "temperature_k": stage.temperature_k(),
            "setpoint_k": stage.setpoint_k(), "heater_pct": stage.heater_pct()}


def summary(stage, temperature_k: float, tolerance_k: float, settled_k: float, rows: list) -> dict:
    """The run summary's ``"stage"`` entry: identity, settings and readings (units in the keys)."""
    snap = stage.snapshot()
    temps = [r["temperature_k"] for r in rows]
    return {"idn": snap["idn"], "resource": snap["resource"], "setpoint_k": float(temperature_k),
            "tolerance_k": float(tolerance_k), "temperature_k_settled": float(settled_k),
            "temperature_k_min": min(temps), "temperature_k_max": max(temps), "temperature_k_last": temps[-1],
            "heater_range": snap["heater_range"], "ramp_k_per_min": snap["ramp_k_per_min"], "readings": len(rows)}


class RecordedStage:
    """The stage of a run being replayed: its recorded readings, in order, instead of an instrument."""

    def __init__(self, board):
        from neurram_lab.runlog.runlog import read_run

        rec = board.record.get("summary", {}).get("stage")
        run = read_run(board.path)
        if rec is None or "stage" not in run.tables:
            raise InputError(f"{board.path} records no stage readings to replay")
        self._snap = {k: rec[k] for k in ("idn", "resource", "heater_range", "ramp_k_per_min")}
        self._settled = rec["temperature_k_settled"]
        self._rows = run.tables["stage"].to_dict("records")
        self._next = 0

    def set_temperature(self, t_k: float) -> None:
        pass

    def wait_stable(self, t_k: float, **_kw) -> float:
        return self._settled

    def _row(self) -> dict:
        if self._next >= 3 * len(self._rows):
            raise InputError("the replay asks for more stage readings than the run recorded")
        return self._rows[self._next // 3]

    def temperature_k(self) -> float:
        v = float(self._row()["temperature_k"])
        self._next += 1
        return v

    def setpoint_k(self) -> float:
        v = float(self._row()["setpoint_k"])
        self._next += 1
        return v

    def heater_pct(self) -> float:
        v = float(self._row()["heater_pct"])
        self._next += 1
        return v

    def snapshot(self) -> dict:
        return dict(self._snap)
