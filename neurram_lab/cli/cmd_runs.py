"""``neurram runs DIR``: list the run files under a folder (status, experiment, start, board)."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError, RunLogError
from ..runlog.runlog import read_run

COMMAND = (None, "runs")
HELP = "list the run files under a folder: status, experiment, start time, board"


def add_arguments(parser) -> None:
    parser.add_argument("dir", metavar="DIR", nargs="?", default="runs", help="folder to search (default ./runs)")


def list_runs(folder) -> list[dict]:
    """One entry per ``*.h5`` under ``folder`` (recursively), oldest first; damaged files say so."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"{root} is not a folder")
    rows = []
    for p in sorted(root.rglob("*.h5")):
        try:
            rec = read_run(p, tables=False).record
        except RunLogError as exc:
            rows.append({"path": str(p), "status": "unreadable", "experiment": None, "start_time_iso": None,
                         "board": None, "error": str(exc)})
            continue
        info = rec.get("board", {}).get("info", {})
        rows.append({"path": str(p), "status": rec["status"], "experiment": rec["experiment"],
                     "start_time_iso": rec["start_time_iso"], "board": info.get("spec"),
                     "replay_of": (rec.get("board", {}).get("replay_of") or {}).get("path"), "uid": rec["uid"]})
    rows.sort(key=lambda r: (r["start_time_iso"] or "", r["path"]))
    return rows


def main(args, ctx) -> dict:
    rows = list_runs(args.dir)
    if rows:
        lines = [f"{'start (UTC)':25} {'status':12} {'experiment':18} {'board':18} file"]
        for r in rows:
            board = r["board"] or "-"
            if r.get("replay_of"):
                board = "replay"
            lines.append(f"{r['start_time_iso'] or '-':25} {r['status']:12} {r['experiment'] or '-':18} {board:18} {r['path']}")
        ctx.say("\n".join(lines))
    else:
        ctx.say(f"no run files under {args.dir}")
    counts = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return {"dir": str(args.dir), "count": len(rows), "by_status": counts, "runs": rows}
