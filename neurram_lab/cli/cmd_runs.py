"""``neurram runs DIR``: list the run files under a folder (status, experiment, start, board)."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError, RunLogDamaged, RunLogError
from ..runlog.runlog import read_run

COMMAND = (None, "runs")
HELP = "list the run files under a folder: status, experiment, start time, board"


def add_arguments(parser) -> None:
    parser.add_argument("dir", metavar="DIR", nargs="?", default="runs", help="folder to search (default ./runs)")
    parser.add_argument("--no-verify", action="store_true",
                        help="list a damaged file's record as far as it can be read (its damage beside it)")


def list_runs(folder, verify: bool = True) -> list[dict]:
    """One entry per ``*.h5`` under ``folder`` (recursively), oldest first; damaged files say so.

    A damaged file is listed with status ``damaged`` (``verify=False``: its record as far as it can
    be read, ``damage`` naming what is damaged); a file that is not a run file as ``unreadable``.

    Experiments are listed by their current names (an old run file's name goes through
    :data:`~neurram_lab.runlog.migrate.OLD_EXPERIMENT_NAMES`).
    """
    from neurram_lab.experiments._registry import canonical_name

    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"{root} is not a folder")
    rows = []
    for p in sorted(root.rglob("*.h5")):
        try:
            run = read_run(p, tables=False, verify=verify)
        except RunLogError as exc:
            rows.append({"path": str(p), "status": "damaged" if isinstance(exc, RunLogDamaged) else "unreadable",
                         "experiment": None, "start_time_iso": None, "board": None, "error": str(exc)})
            continue
        rec = run.record
        info = rec.get("board", {}).get("info", {})
        rows.append({"path": str(p), "status": rec["status"] + (" (damaged)" if run.damage and rec["status"] != "damaged" else ""),
                     "experiment": canonical_name(rec["experiment"]) if rec["experiment"] else None,
                     "start_time_iso": rec["start_time_iso"], "board": info.get("spec"),
                     "replay_of": (rec.get("board", {}).get("replay_of") or {}).get("path"), "uid": rec["uid"],
                     **({"damage": run.damage} if run.damage else {})})
    rows.sort(key=lambda r: (r["start_time_iso"] or "", r["path"]))
    return rows


def main(args, ctx) -> dict:
    rows = list_runs(args.dir, verify=not args.no_verify)
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
