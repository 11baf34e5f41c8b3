"""``neurram show RUN.h5``: the run record, its tables and its journal of board calls, summarised."""

from __future__ import annotations

import numpy as np

from ..runlog.runlog import read_run, to_json

COMMAND = (None, "show")
HELP = "print a run file's record and summaries of its tables and board-call journal (or summarise a .jsonl trace)"


def add_arguments(parser) -> None:
    parser.add_argument("run", metavar="RUN.h5", help="run file, or a FrontPanel call trace TRACE.jsonl (as neurram trace)")
    parser.add_argument("--no-verify", action="store_true",
                        help="show what can be read of a damaged run file, with a banner naming the damage")


def describe_run(path, verify: bool = True) -> dict:
    """Record, table summaries (rows, columns with units, numeric ranges) and journal summary of a run file.

    ``experiment`` is the experiment's current name; an old run file's stored name stays in ``record``.
    ``verify=False``: what can be read of a damaged file, ``damage`` naming each damaged part.
    ``unverifiable``: the parts an older format has no checksum for.
    """
    from neurram_lab.experiments._registry import canonical_name

    run = read_run(path, tables=True, journal=True, verify=verify)
    tables = {}
    for name, df in run.tables.items():
        cols = {}
        for c in df.columns:
            col = {"units": df.attrs.get("units", {}).get(c, ""), "dtype": str(df[c].dtype)}
            v = df[c].to_numpy()
            if len(v) and v.dtype.kind in "iuf":
                col.update(min=float(np.nanmin(v)), max=float(np.nanmax(v)))
            cols[c] = col
        tables[name] = {"rows": int(len(df)), "columns": cols}
    rec = dict(run.record)
    unverifiable = [k for k, v in run.parts.items() if v["state"] == "not verifiable"]
    experiment = canonical_name(rec["experiment"]) if rec["experiment"] else None
    return {"path": str(run.path), "status": rec["status"], "experiment": experiment, "record": rec,
            "tables": tables, "journal": run.journal.summary(), "format_version": run.format_version,
            "damage": run.damage, "unverifiable": unverifiable}


def main(args, ctx) -> dict:
    if str(args.run).endswith(".jsonl"):
        from .cmd_trace import show_trace

        return show_trace(args.run, ctx)
    d = describe_run(args.run, verify=not args.no_verify)
    rec = d["record"]
    info = rec.get("board", {}).get("info", {})
    shown = str(d["experiment"]) + (f" (recorded as {rec['experiment']})" if d["experiment"] != rec["experiment"] else "")
    lines = [f"DAMAGED    {x}" for x in d["damage"]]
    if d["damage"]:
        lines.append("           (read with --no-verify: what follows is what could be read; `neurram verify` lists every part)")
    if d["unverifiable"]:
        lines.append(f"format {d['format_version']}   not fully verifiable: no checksum for {', '.join(d['unverifiable'])}")
    lines += [
        f"run file   {d['path']}",
        f"experiment {shown}   status {rec['status']}   uid {rec['uid']}",
        f"started    {rec['start_time_iso']}   stopped {rec.get('stop_time_iso') or '-'}",
        f"board      {info.get('spec', '?')} ({info.get('kind', '?')}, serial {info.get('serial', '?')}, "
        f"firmware {info.get('firmware', '?')})   software {rec['software_version']}",
        f"parameters {to_json(rec['parameters'])}",
    ]
    if rec.get("error"):
        lines.append(f"error      {rec['error']}")
    for i, (k, v) in enumerate((rec.get("summary") or {}).items()):
        lines.append(f"{'summary' if i == 0 else '':10} {k}: {to_json(v)}")
    for name, t in d["tables"].items():
        lines.append(f"table {name}: {t['rows']} rows")
        for c, col in t["columns"].items():
            rng = f"  [{col['min']:.4g} .. {col['max']:.4g}]" if "min" in col else ""
            lines.append(f"    {c:22} {col['dtype']:8} {col['units'] or '-':4}{rng}")
    j = d["journal"]
    ops = ", ".join(f"{k} {v}" for k, v in j["calls_by_op"].items())
    lines.append(f"journal: {j['calls']} board calls ({ops}); {j['errors']} raised; "
                 f"{j['stored_array_bytes'] / 2**20:.2f} MiB of arrays")
    ctx.say("\n".join(lines))
    return d
