"""``neurram replay RUN.h5``: run a logged run's experiment again, against its recording.

The experiment module is found by the record's ``experiment`` name and called
as ``run(ReplayBoard, OUT, **record["parameters"])``; every board call gets
the recorded response, so the summary (and ``--json``) equals the original's
but for the keys that are not results (wall times and the paths written,
:func:`neurram_lab.experiments._common.is_run_specific`). It prints what the
experiment prints at the end of a run (its ``report``). The replay writes its
own run file (``--out X.h5``: that file).
"""

from __future__ import annotations

from ..errors import ReplayDivergence

COMMAND = (None, "replay")
HELP = "re-run a logged run's experiment against its recorded board calls"
OUT_RUN_FILE = True  # --out X.h5 is the replay's run file


def add_arguments(parser) -> None:
    parser.add_argument("run", metavar="RUN.h5", help="run file to replay")


def main(args, ctx) -> dict:
    from neurram_lab.experiments._registry import find_experiment

    from ..runlog.replay import ReplayBoard

    board = ReplayBoard(args.run)
    try:
        record = board.record
        mod = find_experiment(record["experiment"])
        summary = mod.run(board, ctx.out, progress=ctx.progress, **record["parameters"])  # today's terms (migrate)
        if board.remaining and record["status"] == "success":
            nxt = board.journal.call(board.cursor)
            raise ReplayDivergence(board.cursor, nxt.op, "<end of experiment>",
                                   f"the experiment stopped with {board.remaining} recorded calls left")
    finally:
        board.close()
    spec = record.get("board", {}).get("info", {}).get("spec", "?")
    report = getattr(mod, "report", None)
    ctx.say(report(summary, spec) if callable(report) else _generic_report(summary))
    from ..runlog.migrate import unrecorded_summary_keys

    same = [k for k in differing_keys(record.get("summary") or {}, summary)
            if k not in unrecorded_summary_keys(board.recorded)]
    if record["status"] == "success":
        ctx.say(f"Replayed {len(board.journal)} recorded calls of {args.run}: "
                + ("summary identical to the recording (wall time and paths aside)." if not same
                   else f"summary differs from the recording in {same}."))
    return summary


def differing_keys(recorded: dict, replayed: dict) -> list[str]:
    """Summary keys whose values differ, wall times and written paths aside (``is_run_specific``)."""
    from neurram_lab.experiments._common import is_run_specific

    keys = {k for k in set(recorded) | set(replayed) if not is_run_specific(k)}
    return sorted(k for k in keys if recorded.get(k) != replayed.get(k))


def _generic_report(summary: dict) -> str:  # an experiment without a report() (tests register such)
    return "\n".join(f"{k}: {v}" for k, v in summary.items())
