"""Check every part of a run file: what ``neurram verify`` prints, as data.

Parts: the file (HDF5, not truncated), the record, the table layout, the stop
record, the checks, each table column and the journal; each is ``intact``,
``damaged``, ``missing`` (its format version requires it), ``not verifiable``
(an older format has no checksum for it) or ``interrupted`` (a run whose writer
never closed it: its other parts are checked up to its last intact append).
"""

from __future__ import annotations

from ..errors import RunLogDamaged, RunLogError
from .runlog import read_run

BAD = ("damaged", "missing", "unreadable")  # part states that make a file fail


def verify_run(path) -> dict:
    """``{"path", "status", "format_version", "state", "parts": [{"part", "state", "detail"}, ...]}`` of one file.

    ``state`` is the worst part state: ``damaged`` (or missing, unreadable), then
    ``interrupted``, ``not verifiable``, ``intact``.
    """
    try:
        run = read_run(path, tables=True, journal=True, verify=False)
    except RunLogDamaged as exc:
        parts = [{"part": exc.part, "state": "damaged", "detail": exc.check}]
        return {"path": str(path), "status": None, "format_version": None, "state": "damaged", "parts": parts}
    except RunLogError as exc:
        parts = [{"part": "file", "state": "unreadable", "detail": str(exc)}]
        return {"path": str(path), "status": None, "format_version": None, "state": "unreadable", "parts": parts}
    parts = [{"part": k, "state": v["state"], "detail": v.get("detail", "")} for k, v in run.parts.items()]
    states = {p["state"] for p in parts}
    state = next((s for s in (*BAD, "interrupted", "not verifiable") if s in states), "intact")
    return {"path": str(path), "status": run.status, "format_version": run.format_version, "state": state,
            "parts": parts}
