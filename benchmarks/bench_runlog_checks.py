"""What the run file's checks cost: ``neurram verify`` against ``read_run``, and the checks' share of logging.

Run from the repository root::

    python benchmarks/bench_runlog_checks.py --run-file RUN.h5 [--repeats 7]
    python benchmarks/bench_runlog_checks.py --deploy-limit 10000 [--repeats 7]

With ``--run-file`` it times an existing file; with ``--deploy-limit N`` it
first runs ``deploy mnist-cnn --limit N`` on a fresh twin (N = 10000 is the
whole MNIST test set, the issue's ~155 MB file) with the logging timed by
wrappers, then times the file it wrote. Figures (medians of ``--repeats``):

- ``verify_s``: :func:`neurram_lab.runlog.verify_run` (every part, as
  ``neurram verify`` does) and ``read_run_s``: ``read_run(path, journal=True)``
  (a full read, journal included); ``ratio`` is the first over the second.
- ``logging_s``: time inside ``RunLog.append``, ``RunLog.flush``,
  ``RunLog.close`` and ``JournalWriter.record`` (the journal's encoding of
  each board call and its writes); ``new_checks_s``: the part spent on what
  format 5 added (each appended value checked against its column's dtype,
  the layout CRC, the summary checked, the stop record's CRC);
  ``all_checks_s``: those and the older checksums (the columns' and the
  journal rows' CRC-32s, writing ``/run/checks``; the journal's
  deduplication hash is counted too, so it is an upper bound); ``*_pct``:
  their share of ``logging_s``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import zlib
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import h5py  # noqa: E402

from neurram_lab import read_run  # noqa: E402
from neurram_lab.runlog import journal as _journal  # noqa: E402
from neurram_lab.runlog import verify_run  # noqa: E402
from neurram_lab.runlog import runlog as _runlog  # noqa: E402


class _Clock:
    """Seconds spent in wrapped callables, by label; a call nested in one of the same label counts once."""

    def __init__(self, labels):
        self.s = {k: 0.0 for k in labels}
        self._depth = {k: 0 for k in labels}

    def wrap(self, labels, fn, when=lambda *a, **k: True):
        labels = (labels,) if isinstance(labels, str) else labels

        def timed(*args, **kwargs):
            outer = [k for k in labels if not self._depth[k]] if when(*args, **kwargs) else []
            for k in outer:
                self._depth[k] += 1
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                dt = time.perf_counter() - t
                for k in outer:
                    self.s[k] += dt
                    self._depth[k] -= 1
        return timed


LABELS = ("logging", "new_checks", "all_checks")
NEW = ("new_checks", "all_checks")  # what format 5 added: value/dtype checks, the stop record's CRC, the layout CRC


@contextmanager
def timed_logging(clock: _Clock):
    """Wrap the run file's writing, the journal's recording and the checks for the duration of the block."""
    saved = []

    def patch(owner, name, labels, when=lambda *a, **k: True):
        orig = getattr(owner, name)
        saved.append((owner, name, orig))
        setattr(owner, name, clock.wrap(labels, orig, when))

    def in_checks(ds, *a, **k):
        return ds.name.startswith("/run/checks")

    def summary_check(name, *a, **k):
        return name == "summary"

    for name in ("__init__", "append", "flush", "close"):
        patch(_runlog.RunLog, name, "logging")
    patch(_journal.JournalWriter, "record", "logging")  # encoding and deflating each call's arrays
    patch(_runlog, "column_values", NEW)
    patch(_runlog, "stop_crc", NEW)
    patch(_runlog, "layout_crc", NEW)
    patch(_runlog, "json_able", NEW, summary_check)  # the summary checked before the stop record is written
    patch(h5py.Dataset, "__setitem__", "all_checks", in_checks)
    patch(h5py.Dataset, "resize", "all_checks", in_checks)
    crc_shim = type("zlib_shim", (), {"crc32": staticmethod(clock.wrap("all_checks", zlib.crc32)),
                                      "compress": staticmethod(zlib.compress),
                                      "decompress": staticmethod(zlib.decompress)})
    for module in (_runlog, _journal):  # the columns' and the journal rows' CRC-32s (and the journal's dedup key)
        saved.append((module, "zlib", module.zlib))
        module.zlib = crc_shim
    try:
        yield
    finally:
        for owner, name, orig in reversed(saved):
            setattr(owner, name, orig)


def deploy(limit: int, out_dir: Path) -> tuple[Path, dict, dict]:
    """``deploy mnist-cnn --limit N`` on ``sim://?seed=1`` with the logging timed; (run file, info, clock seconds)."""
    from neurram_lab import open_board
    from neurram_lab.experiments import deploy_mnist_cnn

    os.environ.setdefault("NEURRAM_SHARED", str(Path(__file__).resolve().parents[2] / "shared"))
    clock = _Clock(LABELS)
    t = time.perf_counter()
    with timed_logging(clock), open_board("sim://?seed=1") as board:
        summary = deploy_mnist_cnn.run(board, out_dir, limit=limit)
    wall = time.perf_counter() - t
    return Path(summary["run_file"]), {"deploy_wall_s": wall, "accuracy": summary["accuracy"]}, dict(clock.s)


def median_times(fns: dict, repeats: int) -> dict:
    """Median wall time of each callable, run in turn (interleaved, so that caches and load fall on all alike)."""
    for fn in fns.values():  # once untimed: the file in the page cache for every one
        fn()
    times: dict = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--run-file", type=Path, help="an existing run file to time")
    src.add_argument("--deploy-limit", type=int, help="run deploy mnist-cnn --limit N first, logging timed")
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args(argv)
    result: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = args.run_file
        if path is None:
            path, info, clock = deploy(args.deploy_limit, Path(tmp))
            result.update(info, logging_s=clock["logging"], new_checks_s=clock["new_checks"],
                          new_checks_pct=100 * clock["new_checks"] / clock["logging"],
                          all_checks_s=clock["all_checks"], all_checks_pct=100 * clock["all_checks"] / clock["logging"])
        verdict = verify_run(path)
        result.update(run_file_mb=path.stat().st_size / 1e6, verify_state=verdict["state"])
        t = median_times({"read_run_s": lambda: read_run(path, journal=True),
                          "read_run_tables_only_s": lambda: read_run(path),
                          "verify_s": lambda: verify_run(path)}, args.repeats)
        result.update(t, ratio=t["verify_s"] / t["read_run_s"])
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
