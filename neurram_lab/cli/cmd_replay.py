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

import math

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
        try:
            summary = mod.run(board, ctx.out, progress=ctx.progress, **record["parameters"])  # today's terms (migrate)
        except ReplayDivergence as exc:
            raise ReplayDivergence(exc.index, exc.recorded, exc.requested, _recorded_when(exc.detail, record)) from exc
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

    recorded = record.get("summary") or {}
    # keys today's experiment reports that the run's version did not: nothing to compare them with
    unrecorded = set(unrecorded_summary_keys(board.recorded)) | (set(summary) - set(recorded))
    differ = [k for k in differing_keys(recorded, summary, rel_tol=ROUNDING_REL_TOL) if k not in unrecorded]
    rounded = [k for k in differing_keys(recorded, summary) if k not in unrecorded and k not in differ]
    if record["status"] == "success":
        if differ:
            verdict = f"summary differs from the recording in {differ}."
        else:
            verdict = "summary identical to the recording (wall time and paths aside)"
            if rounded:
                verdict += (f" but for the last digits of {rounded}: equal to {ROUNDING_DIGITS} significant digits,"
                            f" the host's arithmetic rounding differently from the version that recorded the run")
            new = sorted(unrecorded & set(summary))
            if new:
                verdict += f"; not in the recording (added since): {new}"
            verdict += "."
        ctx.say(f"Replayed {len(board.journal)} recorded calls of {args.run}: {verdict}")
    return summary


#: Significant digits to which a replayed summary's floats must equal the recording's. Every board call of the
#: replay has matched its recorded request exactly and got the recorded response, so the summary can differ
#: only through the host's own arithmetic, where it changed since the run was recorded (sums in another order,
#: scales folded, float32 where float64 was: about 1e-7 relative on an output, 2e-6 on a per-layer RMS error);
#: anything beyond 5 digits is reported as a difference.
ROUNDING_DIGITS = 5
ROUNDING_REL_TOL = 10.0 ** -ROUNDING_DIGITS


def _recorded_when(detail: str, record: dict) -> str:
    """``detail`` with when and by which version the run was recorded: an experiment whose code changed since
    (another mapping, another calibration) asks for other calls than the recording holds."""
    when = (f"the run was recorded {record.get('start_time_iso', '(time unknown)')} by neurram-lab "
            f"{record.get('software_version', '(version unknown)')}; an experiment changed since then asks for "
            f"other calls (docs/runlog.md, 'Runs of earlier versions')")
    return f"{detail}; {when}" if detail else when


def differing_keys(recorded: dict, replayed: dict, rel_tol: float = 0.0) -> list[str]:
    """Summary keys whose values differ, wall times and written paths aside (``is_run_specific``).

    ``rel_tol``: floats (also inside lists and dicts) count as equal within this relative tolerance
    (0: exactly equal); any other value must be equal.
    """
    from neurram_lab.experiments._common import is_run_specific

    keys = {k for k in set(recorded) | set(replayed) if not is_run_specific(k)}
    return sorted(k for k in keys if not _same(recorded.get(k), replayed.get(k), rel_tol))


def _same(a, b, rel_tol: float) -> bool:
    if a == b:
        return True
    if rel_tol and isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=rel_tol)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y, rel_tol) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k], rel_tol) for k in a)
    return False


def _generic_report(summary: dict) -> str:  # an experiment without a report() (tests register such)
    return "\n".join(f"{k}: {v}" for k, v in summary.items())
