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

from ..runlog.verify import BAD, verify_run

COMMAND = (None, "verify")
HELP = "check every part of run files (record, stop record, tables, checks, journal); exit 0 only when all are intact"


def add_arguments(parser) -> None:
    parser.add_argument("runs", metavar="RUN.h5", nargs="+", help="run files to check")


def main(args, ctx) -> dict:
    files = [verify_run(p) for p in args.runs]
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
