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
    """One entry per ``*.h5`` under ``folder`` (recursively), oldest first; damaged files say so.

    Experiments are listed by their current names (an old run file's name goes through
    :data:`~neurram_lab.experiments._registry.OLD_NAMES`).
    """
    from neurram_lab.experiments._registry import canonical_name

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
        rows.append({"path": str(p), "status": rec["status"], "experiment": canonical_name(rec["experiment"]),
                     "start_time_iso": rec["start_time_iso"], "board": info.get("spec"),
                     "replay_of": (rec.get("board", {}).get("replay_of") or {}).get("path"), "uid": rec["uid"]})
    rows.sort(key=lambda r: (r["start_time_iso"] or "", r["path"]))
    return rows


def main(args, ctx) -> dict:
    rows = list_runs(args.dir)
    if rows:
        ctx.say(format_table(rows))
    else:
        ctx.say(f"no run files under {args.dir}")
    counts = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return {"dir": str(args.dir), "count": len(rows), "by_status": counts, "runs": rows}


def format_table(rows: list[dict]) -> str:
    """The rows of :func:`list_runs` as text columns, each as wide as its longest entry."""
    head = ("start (UTC)", "status", "experiment", "board", "file")
    cells = [(r["start_time_iso"] or "-", r["status"], r["experiment"] or "-",
              "replay" if r.get("replay_of") else (r["board"] or "-"), r["path"]) for r in rows]
    widths = [max(len(str(c[i])) for c in [head, *cells]) for i in range(len(head) - 1)]
    return "\n".join("  ".join(f"{str(v):{w}}" for v, w in zip(c, widths)) + "  " + str(c[-1])
                     for c in [head, *cells])
