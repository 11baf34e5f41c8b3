"""``neurram verify RUN.h5 [...]``: check every part of run files, one line per part.

Parts: the file (HDF5, not truncated), the record, the table layout, the stop
record, the checks, each table column and the journal; each is ``intact``,
``damaged``, ``missing`` (its format version requires it), ``not verifiable``
(an older format has no checksum for it) or ``interrupted`` (a run whose writer
never closed it: its other parts are checked up to its last intact append).
Exit status 0 only when every part of every file is intact, 1 when any part
is damaged, missing or a file unreadable, 3 otherwise (interrupted or not
fully verifiable).
"""

from __future__ import annotations

from ..errors import RunLogDamaged, RunLogError

COMMAND = (None, "verify")
HELP = "check every part of run files (record, stop record, tables, checks, journal); exit 0 only when all are intact"
BAD = ("damaged", "missing", "unreadable")


def add_arguments(parser) -> None:
    parser.add_argument("runs", metavar="RUN.h5", nargs="+", help="run files to check")


def verify_file(path) -> dict:
    """``{"path", "status", "format_version", "state", "parts": [{"part", "state", "detail"}, ...]}`` of one file.

    ``state`` is the worst part state: ``damaged`` (or missing, unreadable), then
    ``interrupted``, ``not verifiable``, ``intact``.
    """
    from ..runlog.runlog import read_run

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


def main(args, ctx) -> dict:
    files = [verify_file(p) for p in args.runs]
    lines = []
    for r in files:
        head = f"{r['path']}: {r['state']}"
        if r["format_version"] is not None:
            head += f" (format {r['format_version']}, status {r['status']})"
        lines.append(head)
        lines += [f"  {p['state']:15} {p['part']}" + (f"  {p['detail']}" if p["detail"] else "") for p in r["parts"]]
    ctx.say("\n".join(lines))
    counts: dict = {}
    for r in files:
        counts[r["state"]] = counts.get(r["state"], 0) + 1
    return {"files": files, "by_state": counts, "intact": all(r["state"] == "intact" for r in files)}


def exit_status(summary: dict) -> int:
    """0: every part of every file intact; 1: a part damaged or missing, or a file unreadable; 3: otherwise."""
    if summary["intact"]:
        return 0
    return 1 if any(r["state"] in BAD for r in summary["files"]) else 3
