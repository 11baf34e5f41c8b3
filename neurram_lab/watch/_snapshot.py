"""Following a run file as it grows: one JSON-able snapshot per poll (:class:`Follower`).

Each poll reads the file as an SWMR reader with :func:`~neurram_lab.runlog.read_run`
(``verify=False``: what can be read, the damage listed), so a second process
follows a run while it writes without blocking or changing it. A poll never
raises: a file that cannot be read at all gives a snapshot that says why.
Progress is counted in the tables' rows; the estimated time left is measured
by the follower itself (progress gained per wall-clock second over its last
polls). Once a run is closed and the file stops changing, the snapshot is
``frozen`` and later polls only check that the file is unchanged.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from ..errors import RunLogDamaged, RunLogError
from ..runlog.runlog import read_run
from . import _figures

ETA_WINDOW_S = 120.0  # the progress rate is measured over the last this many seconds of polls
RUNNING_QUIET_S = 120.0  # no stop record and no write for this long: "running or interrupted"


def _board(record: dict) -> dict:
    info = (record.get("board") or {}).get("info", {}) or {}
    return {k: info.get(k) for k in ("spec", "kind", "serial", "firmware")}


def progress(tables: dict, parameters: dict, status: str) -> dict | None:
    """``{"done", "total", "fraction", "what"}`` from the tables' rows, or None when the run's size is unknown."""
    if status == "success":
        return {"done": 1, "total": 1, "fraction": 1.0, "what": "finished"}
    if "wv_cells" in tables and "wv_plan" in tables:
        n_pass = int(parameters.get("iterations") or 0)
        plan, cells = tables["wv_plan"], tables["wv_cells"]
        verified = set(tables["wv_verify"]["iteration"].tolist()) if "wv_verify" in tables else set()
        if not n_pass:
            return None
        if not len(plan):  # the run is forming or reading its cells before the first pass
            return {"done": 0, "total": 0, "fraction": 0.0, "what": f"pass 1 of {n_pass} not started yet"}
        current = int(plan["iteration"].max())
        planned = int((plan["iteration"] == current).sum())
        done = int((cells["iteration"] == current).sum())
        within = 1.0 if current in verified else (done / planned if planned else 1.0)
        fraction = min(1.0, (current - 1 + within) / n_pass)
        return {"done": done, "total": planned, "fraction": fraction,
                "what": f"pass {current} of {n_pass}: {done} of {planned} cells written"
                        + (", re-read" if current in verified else "")}
    if "relax" in tables and "program" in tables and parameters.get("n_times"):
        cells = len(tables["program"])
        total = cells * int(parameters["n_times"])
        done = len(tables["relax"])
        if not cells:
            return None
        return {"done": done, "total": total, "fraction": min(1.0, done / total),
                "what": f"{done // cells} of {parameters['n_times']} reads of {cells} cells"}
    for table in ("predictions", "images"):
        if table in tables and parameters.get("limit"):
            total, done = int(parameters["limit"]), len(tables[table])
            return {"done": done, "total": total, "fraction": min(1.0, done / total),
                    "what": f"{done} of {total} images"}
    return None


class Follower:
    """Polls one run file; :meth:`poll` returns the page's snapshot (a JSON-able dict)."""

    def __init__(self, path):
        self.path = Path(path)
        self.polls = 0
        self._history: list[tuple[float, float]] = []  # (wall time, progress fraction) of live polls
        self._stat = None
        self._last: dict | None = None

    def _stat_now(self):
        try:
            st = os.stat(self.path)
            return (st.st_size, st.st_mtime_ns)
        except OSError:
            return None

    def poll(self) -> dict:
        """Read the file (unless it is frozen and unchanged) and return its snapshot; never raises."""
        now = time.time()
        stat = self._stat_now()
        if self._last is not None and self._last.get("frozen") and stat == self._stat:
            self._last["checked_unix_s"] = now
            return self._last
        self.polls += 1
        t0 = time.perf_counter()
        try:
            snap = self._read(now, stat)
        except Exception as exc:  # noqa: BLE001 - the page must show whatever went wrong, never stop
            snap = self._unreadable(exc, now)
        snap["read_s"] = time.perf_counter() - t0
        snap["poll"] = self.polls
        snap["checked_unix_s"] = now
        self._stat = stat
        self._last = snap
        return snap

    def _unreadable(self, exc: Exception, now: float) -> dict:
        typed = isinstance(exc, RunLogError)
        text = f"{type(exc).__name__}: {exc}" if typed else f"unexpected {type(exc).__name__} while reading: {exc}"
        old = dict(self._last or {})
        old.update({"path": str(self.path), "read_error": text, "damage": old.get("damage", []) if old else [],
                    "frozen": False, "state": "unreadable", "polled_unix_s": now})
        old.setdefault("figures", [])
        return old

    def _read(self, now: float, stat) -> dict:
        if stat is None:
            raise RunLogError(f"no run file at {self.path} (it was there when the watch started)")
        run = read_run(self.path, tables=True, journal=False, verify=False)
        rec = run.record
        status = rec["status"]
        damaged = [(k, v) for k, v in run.parts.items() if v["state"] in ("damaged", "missing")]
        typed = None
        if damaged:
            part, info = damaged[0]
            typed = f"RunLogDamaged: {RunLogDamaged(self.path, part, info['detail'], info.get('row'))}"
        age_s = now - stat[1] / 1e9
        closed = status != "interrupted"
        if closed:
            state = status
        elif age_s < RUNNING_QUIET_S:
            state = "running"
        else:
            state = "running or interrupted"
        from ..experiments._registry import canonical_name

        prog = progress(run.tables, rec["parameters"] or {}, status)
        eta_s = self._eta(now, prog) if not closed else None
        return {
            "path": str(self.path),
            "experiment": canonical_name(rec["experiment"]) if rec["experiment"] else None,
            "uid": rec["uid"],
            "status": status,
            "state": state,
            "frozen": closed,
            "last_write_age_s": age_s,
            "board": _board(rec),
            "replay_of": (rec.get("board") or {}).get("replay_of"),
            "parameters": rec["parameters"],
            "start_time_iso": rec["start_time_iso"],
            "stop_time_iso": rec.get("stop_time_iso"),
            "error": rec.get("error"),
            "summary": rec.get("summary") or {},
            "tables": {name: int(len(df)) for name, df in run.tables.items()},
            "progress": prog,
            "eta_s": eta_s,
            "damage": run.damage,
            "damage_error": typed,
            "read_error": None,
            "format_version": run.format_version,
            "polled_unix_s": now,
            "figures": _figures.figures(run.tables, rec["parameters"] or {}),
        }

    def _eta(self, now: float, prog: dict | None) -> float | None:
        """Seconds left at the progress rate of the last ETA_WINDOW_S seconds of polls (None until it moves)."""
        if prog is None:
            return None
        f = prog["fraction"]
        self._history = [(t, x) for t, x in self._history if now - t <= ETA_WINDOW_S] + [(now, f)]
        t0, f0 = self._history[0]
        if now - t0 <= 0 or f <= f0:
            return None
        return (1.0 - f) * (now - t0) / (f - f0)
