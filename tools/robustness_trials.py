"""Run-file robustness trials, run by hand and by tests/runlog/test_runlog_robustness.py (as a subprocess).

    python tools/robustness_trials.py kill [N]      # N writers SIGKILLed at random moments
    python tools/robustness_trials.py damage        # truncated and corrupted copies of a run file

Each trial runs in a forked child (imports paid once); the parent waits with a
timeout, so a hang is reported as a failure instead of hanging the suite. Prints
one JSON line of counts and exits non-zero on any failure.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neurram_lab.experiments._common import start_run  # noqa: E402
from neurram_lab import ReplayInterrupted, RunLogError, read_run  # noqa: E402
from neurram_lab.runlog.replay import ReplayBoard  # noqa: E402
from neurram_lab.sim_backend.board import SimBoard  # noqa: E402

TABLES = {"rows": {"i": ("i8", ""), "g_s": ("f4", "S")}}


def session(board, rng, log, report=None, steps=10**9):
    """A small experiment: reads and pulses random cells, now and then a table append (which flushes)."""
    i = 0
    for _ in range(steps):
        n = int(rng.integers(1, 6000))  # above 4096 cell lists are stored deflated (store z)
        cells = rng.choice(65536, n, replace=False)
        row, col = cells // 256, cells % 256
        g = board.read(0, row, col)
        board.pulse("set", 0, row, col, 1.2, 1e-6)
        board.now()
        if rng.random() < 0.4:
            log.append("rows", i=np.arange(i, i + n), g_s=g)
            i += n
            if report:
                report(i, log.journal.n_written)
    return i


_BOARD = None  # made (and its die drawn) in the parent, shared by the forked writers


def _child_write(path: Path, seed: int, wfd: int) -> None:
    board = _BOARD
    log = start_run(board, path.parent, "kill-trial", {"seed": seed}, TABLES)
    os.write(wfd, f"path {log.path}\n".encode())

    def report(rows, calls):
        os.write(wfd, f"flushed {rows} {calls}\n".encode())

    session(log.board, np.random.default_rng(seed), log, report)


def kill_trial(seed: int, workdir: Path) -> str:
    """Kill a writer at a random moment, then check what the file holds; returns a failure or ''."""
    d = workdir / f"k{seed}"
    d.mkdir()
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: write until killed
        os.close(rfd)
        try:
            _child_write(d / "x.h5", seed, wfd)
        finally:
            os._exit(0)
    os.close(wfd)
    delay = np.random.default_rng(1000 + seed).uniform(0.0, 1.2)
    time.sleep(delay)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    out = b""
    while chunk := os.read(rfd, 65536):
        out += chunk
    os.close(rfd)
    lines = out.decode().splitlines()
    files = list(d.glob("*.h5"))
    flushed = [tuple(map(int, ln.split()[1:])) for ln in lines if ln.startswith("flushed ")]
    rows_flushed, calls_flushed = flushed[-1] if flushed else (0, 0)
    if not files:
        return "" if not flushed else f"seed {seed}: no file although {rows_flushed} rows were flushed"
    path = files[0]
    try:
        run = read_run(path, journal=True)
    except RunLogError as exc:
        if not any(ln.startswith("path ") for ln in lines):
            return ""  # killed while creating the file, before its first flush: a typed error is right
        return f"seed {seed}: {exc}"
    if run.status != "interrupted":
        return f"seed {seed}: status {run.status}"
    df = run.tables["rows"]
    if len(df) < rows_flushed or df["i"].tolist() != list(range(len(df))):
        return f"seed {seed}: {len(df)} rows for {rows_flushed} flushed, or out of order"
    STATS.append(len(run.journal))
    if len(run.journal) < calls_flushed:
        return f"seed {seed}: journal has {len(run.journal)} calls, {calls_flushed} were flushed"
    # the run replays up to its interruption and then says so
    rb = ReplayBoard(path)
    with tempfile.TemporaryDirectory() as tmp:
        log = None
        try:
            log = start_run(rb, tmp, "kill-trial-replay", {"seed": seed}, TABLES)  # call 0: the start snapshot
            session(log.board, np.random.default_rng(seed), log)
            return f"seed {seed}: replay of an interrupted run did not stop"
        except ReplayInterrupted as exc:
            if exc.index != len(run.journal):
                return f"seed {seed}: replay stopped at {exc.index}, journal has {len(run.journal)}"
        if log is None:
            return ""
        log.close("aborted")
        replayed = read_run(log.path).tables["rows"]
    # rows reported flushed were journaled too, and the replay reads back what the table holds
    m = min(len(df), len(replayed))
    if len(replayed) < rows_flushed or not np.array_equal(replayed["g_s"].to_numpy()[:m], df["g_s"].to_numpy()[:m]):
        return f"seed {seed}: replay gave {len(replayed)} rows ({rows_flushed} flushed) or reads that differ from the table"
    return ""


STATS: list[int] = []  # calls found in each killed run


def kill(n: int) -> dict:
    global _BOARD
    _BOARD = SimBoard(seed=0)
    _BOARD.read(0, np.arange(256), 0)
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(n):
            f = kill_trial(seed, Path(tmp))
            if f:
                failures.append(f)
    return {"trials": n, "files_checked": len(STATS), "calls_recovered_min_median_max": [min(STATS, default=0),
            int(np.median(STATS)) if STATS else 0, max(STATS, default=0)], "failures": failures}


# ------------------------------------------------------------------ damage
def _fingerprint(path: Path) -> str:
    run = read_run(path, journal=True)
    parts = [json.dumps(run.record, sort_keys=True, default=str)]
    for name, df in sorted(run.tables.items()):
        parts.append(name + df.to_csv())
    for call in run.journal:
        parts.append(f"{call.op}|{call.t_board_s!r}|{_fp(call.args)}|{_fp(call.response)}|{call.error!r}")
    return "\n".join(parts)


def _fp(v) -> str:
    if isinstance(v, np.ndarray):
        return f"{v.dtype}{v.shape}{v.tobytes().hex()}"
    if isinstance(v, dict):
        return "{" + ",".join(f"{k}:{_fp(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(_fp(x) for x in v) + "]"
    return repr(v)


def _in_child(fn, timeout_s: float = 20.0) -> str:
    """Run ``fn() -> str`` in a forked child; returns its result, or 'hang'/'crash'."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rfd)
        try:
            res = fn()
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            res = f"untyped {type(exc).__name__}: {exc}"
        os.write(wfd, res.encode()[:4000])
        os._exit(0)
    os.close(wfd)
    t0 = time.time()
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.time() - t0 > timeout_s:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(rfd)
            return "hang"
        time.sleep(0.005)
    out = b""
    while chunk := os.read(rfd, 65536):
        out += chunk
    os.close(rfd)
    if os.WIFSIGNALED(status):
        return f"crash (signal {os.WTERMSIG(status)})"
    return out.decode()


def _check_copy(path: Path, reference: str) -> str:
    """'typed' (RunLogError everywhere), 'same' (reads back identical) or a failure."""
    try:
        fp = _fingerprint(path)
    except RunLogError:
        fp = None
    try:
        rb = ReplayBoard(path)
        rb.close()
    except RunLogError:
        if fp is not None:
            return "read_run read it but ReplayBoard did not"
    if fp is None:
        return "typed"
    return "same" if fp == reference else "read back DIFFERENT data without an error"


def damage() -> dict:
    rng = np.random.default_rng(7)
    counts = {"typed": 0, "same": 0}
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        board = SimBoard(seed=0)
        with start_run(board, tmp, "damage", {}, TABLES) as log:
            session(log.board, np.random.default_rng(0), log, steps=12)
        src = log.path
        reference = _fingerprint(src)
        size = src.stat().st_size
        cases = [("truncate", int(k)) for k in np.unique(np.r_[np.linspace(0, size - 1, 24).astype(int), rng.integers(0, size, 16)])]
        cases += [("flip", int(k)) for k in rng.integers(0, size, 160)]
        cases += [("flip", int(k)) for k in range(0, 64, 4)]  # the superblock
        for kind, pos in cases:
            p = tmp / f"{kind}-{pos}.h5"
            shutil.copy(src, p)
            with open(p, "r+b") as f:
                if kind == "truncate":
                    f.truncate(pos)
                else:
                    f.seek(pos)
                    b = f.read(1)
                    f.seek(pos)
                    f.write(bytes([b[0] ^ 0xFF]))
            res = _in_child(lambda p=p: _check_copy(p, reference))
            if res in counts:
                counts[res] += 1
            else:
                failures.append(f"{kind} at byte {pos} of {size}: {res}")
            p.unlink()
    return {"cases": len(cases), "file_bytes": size, **counts, "failures": failures}


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "kill"
    t0 = time.time()
    result = kill(int(sys.argv[2]) if len(sys.argv) > 2 else 20) if what == "kill" else damage()
    result["wall_s"] = round(time.time() - t0, 1)
    print(json.dumps(result))
    sys.exit(1 if result["failures"] else 0)
