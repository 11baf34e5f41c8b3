"""``neurram watch``: the live view of a run file (issue 21 items 1-2, issue 26 item 2's live view).

A real ``neurram characterize write-verify`` subprocess writes the run file
while the watch follows it: in this process with a tight poll loop, and in
headless Chromium (Debian's ``chromium``; those tests skip, saying why, where
there is none). Reading never changes the writer's file: each watched run
equals an unwatched one with the same seed, table by table and in its
record. A damaged file shows its typed error (``RunLogDamaged``) on the
page, and the server keeps answering. Bad input is one line and exit 2.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import h5py
import numpy as np
import pytest

from neurram_lab import read_run
from neurram_lab.cli import cli
from neurram_lab.experiments._common import is_run_specific
from neurram_lab.watch import Follower, WatchServer

from tests._cdp import Browser, chromium_path

# big enough that the run writes for a few seconds after its file appears, small enough for CI
WV_ARGS = ["characterize", "write-verify", "--cores", "0-1", "--cells-per-core", "2048", "--iterations", "3",
           "--settle-s", "1", "--seed", "5", "--target-seed", "3"]
ARTIFACTS = os.environ.get("NEURRAM_TEST_ARTIFACTS")  # CI may name a folder that keeps the screenshots


def _start_writer(out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "neurram_lab.cli", *WV_ARGS, "--out", str(out), "--quiet", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def _wait_readable(path: Path, proc: subprocess.Popen, timeout_s: float = 120.0) -> None:
    """Until the run file opens as a run (the writer has switched SWMR on)."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        assert proc.poll() is None or path.exists(), proc.stderr.read()
        if path.exists():
            try:
                read_run(path, tables=False, verify=False)
                return
            except Exception:  # noqa: BLE001 - not yet a run file: the writer is creating it
                pass
        time.sleep(0.05)
    raise TimeoutError(f"{path} never became readable")


def _same_run(a: Path, b: Path) -> None:
    """The two run files hold the same tables, parameters, status and summary (times and paths aside)."""
    ra, rb = read_run(a, journal=True), read_run(b, journal=True)
    assert ra.record["parameters"] == rb.record["parameters"]
    assert ra.status == rb.status == "success"
    sa = {k: v for k, v in ra.record["summary"].items() if not is_run_specific(k)}
    sb = {k: v for k, v in rb.record["summary"].items() if not is_run_specific(k)}
    assert sa == sb
    assert set(ra.tables) == set(rb.tables)
    for name in ra.tables:
        ta, tb = ra.tables[name], rb.tables[name]
        assert list(ta.columns) == list(tb.columns) and len(ta) == len(tb), name
        for c in ta.columns:
            np.testing.assert_array_equal(ta[c].to_numpy(), tb[c].to_numpy(), err_msg=f"{name}/{c}")
    assert len(ra.journal) == len(rb.journal)
    assert ra.journal.summary()["calls_by_op"] == rb.journal.summary()["calls_by_op"]


@pytest.fixture(scope="module")
def unwatched(tmp_path_factory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("unwatched") / "run.h5"
    return path, _finish(_start_writer(path))


def _cli_err(argv) -> tuple[int, list[str]]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            rc = cli.main(argv)
        except SystemExit as exc:
            rc = exc.code
    return rc, [ln for ln in err.getvalue().splitlines() if ln.strip()]


def _get(url: str, timeout_s: float = 10.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout_s) as r:
        assert r.status == 200
        return r.read()


# ---------------------------------------------------------------- bad input

def test_bad_input_is_one_line_and_exit_2(tmp_path, unwatched):
    run, _ = unwatched
    text = tmp_path / "notes.h5"
    text.write_text("not HDF5")
    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as f:
        f["x"] = np.arange(3)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        used = busy.getsockname()[1]
        cases = {
            "missing": ([str(tmp_path / "nope.h5")], "no such file"),
            "not hdf5": ([str(text)], "not a readable HDF5 run file"),
            "not a run": ([str(plain)], "not a neurram run log"),
            "port in use": ([str(run), "--port", str(used)], "already in use"),
            "port 0": ([str(run), "--port", "0"], "port"),
            "port 65536": ([str(run), "--port", "65536"], "65535"),
            "port text": ([str(run), "--port", "http"], "integer 1..65535"),
            "refresh": ([str(run), "--refresh-s", "0"], "refresh_s"),
        }
        for label, (argv, needle) in cases.items():
            rc, lines = _cli_err(["watch", *argv])
            assert rc == 2, (label, rc, lines)
            assert len(lines) == 1 and lines[0].startswith("neurram: error: ") and needle in lines[0], (label, lines)
            assert "Traceback" not in lines[0]


# ---------------------------------------------------------------- following a live run

def test_watched_run_equals_unwatched_and_snapshots_follow_it(tmp_path, unwatched):
    """A poll loop 5 times a second while the run writes: the file equals the unwatched one; the snapshots grow."""
    path = tmp_path / "watched.h5"
    proc = _start_writer(path)
    _wait_readable(path, proc)
    follower, snaps, stop = Follower(path), [], threading.Event()

    def loop():
        while not stop.wait(0.2):  # five polls a second, the page's default is one per 2 s
            snaps.append((proc.poll() is None, follower.poll()))

    t = threading.Thread(target=loop)
    t.start()
    try:
        summary = _finish(proc)
    finally:
        stop.set()
        t.join(timeout=60)
    final = follower.poll()
    _same_run(path, unwatched[0])
    live = [s for running, s in snaps if running and s["state"] == "running"]
    assert len(live) >= 3, f"only {len(live)} snapshots while the run wrote"
    rows = [s["tables"]["wv_cells"] for s in live]
    assert rows == sorted(rows) and rows[-1] > rows[0], rows  # the map fills in, never shrinks
    assert all(s["damage"] == [] and s["read_error"] is None for _, s in snaps if s["state"] != "unreadable")
    fractions = [s["progress"]["fraction"] for s in live if s["progress"]]
    assert fractions and fractions == sorted(fractions) and fractions[0] < 0.5 and fractions[-1] <= 1.0
    assert final["frozen"] and final["state"] == "success"
    assert final["summary"] == read_run(path).record["summary"]
    assert {k: v for k, v in final["summary"].items() if not is_run_specific(k)} == \
        {k: v for k, v in summary.items() if not is_run_specific(k) and k != "run_file_bytes"}
    ids = [f["id"] for f in final["figures"]]
    assert ids == ["conductance_map", "pulses", "in_window", "spread"]
    fig = {f["id"]: f["figure"] for f in final["figures"]}
    settled = [tr for tr in fig["in_window"]["data"] if tr["name"] == "in window after settling"][0]["y"]
    assert settled == summary["settled_in_window_by_iteration"]
    sigma = [tr for tr in fig["spread"]["data"]][0]["y"]
    np.testing.assert_allclose(sigma, summary["sigma_us_by_iteration"], rtol=1e-6)
    heat = [np.array(tr["z"], dtype=float) for tr in fig["conductance_map"]["data"]]
    assert len(heat) == 2 and all(np.isfinite(h).any() for h in heat)  # cores 0 and 1


# ---------------------------------------------------------------- damage on the page

def _flip_stop_record(path: Path) -> None:
    with h5py.File(path, "r+") as f:
        ds = f["run/stop_json"]
        ds[10] = ds[10] ^ 0x04


def test_damaged_while_watched_shows_the_typed_error_and_keeps_serving(tmp_path, unwatched):
    copy = tmp_path / "copy.h5"
    shutil.copy(unwatched[0], copy)
    with WatchServer(copy, port=None, refresh_s=0.1) as server:
        first = json.loads(_get(server.url + "snapshot.json"))
        assert first["state"] == "success" and first["damage"] == [] and first["damage_error"] is None
        _flip_stop_record(copy)
        end = time.monotonic() + 20
        while time.monotonic() < end:
            snap = json.loads(_get(server.url + "snapshot.json"))
            if snap["damage_error"]:
                break
            time.sleep(0.1)
        assert snap["damage_error"].startswith("RunLogDamaged: ") and "stop record" in snap["damage_error"]
        assert any(d.startswith("stop record") for d in snap["damage"])
        with pytest.raises(Exception) as exc:  # the page says what read_run raises
            read_run(copy)
        assert snap["damage_error"] == f"RunLogDamaged: {exc.value}"
        assert snap["status"] == "damaged" and snap["tables"]["wv_cells"] > 0  # what can be read, still shown
        with open(copy, "r+b") as f:  # now cut the file short: unreadable, the server answers all the same
            f.truncate(2048)
        end = time.monotonic() + 20
        while time.monotonic() < end:
            snap = json.loads(_get(server.url + "snapshot.json"))
            if snap["state"] == "unreadable" or (snap["damage_error"] and "file" in snap["damage_error"]):
                break
            time.sleep(0.1)
        assert snap["read_error"] or snap["damage_error"]
        assert (snap["read_error"] or snap["damage_error"]).split(":")[0] in ("RunLogDamaged", "RunLogError")
        copy.unlink()
        time.sleep(0.3)
        snap = json.loads(_get(server.url + "snapshot.json"))
        assert snap["state"] == "unreadable" and "no run file" in snap["read_error"]
        assert b"<html" in _get(server.url)


def test_cli_serves_page_bundle_and_snapshot_on_localhost(tmp_path, unwatched):
    """``neurram watch`` as a user runs it: 127.0.0.1 only, no asset from the internet, Ctrl-C stops it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "neurram_lab.cli", "watch", str(unwatched[0]), "--port", str(port),
                             "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/" in line, (line, proc.stderr.read() if proc.poll() is not None else "")
        page = _get(f"http://127.0.0.1:{port}/").decode()
        assert '<script src="plotly.min.js">' in page
        assert "http://" not in page and "https://" not in page and "//cdn" not in page
        js = _get(f"http://127.0.0.1:{port}/plotly.min.js")
        assert len(js) > 1_000_000 and b"plotly" in js[:2000].lower()
        snap = json.loads(_get(f"http://127.0.0.1:{port}/snapshot.json"))
        assert snap["experiment"] == "characterize-write-verify" and snap["frozen"]
        assert snap["board"]["spec"] == "sim://" and snap["parameters"]["iterations"] == 3
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1])["state"] == "success"


# ---------------------------------------------------------------- in a real browser

CHROMIUM, NO_CHROMIUM = chromium_path()
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM)


def _shot(browser: Browser, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    browser.screenshot(path)
    if ARTIFACTS:
        Path(ARTIFACTS).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(ARTIFACTS) / name)
    print(f"screenshot: {path}")
    return path


def _parsed(text: str):
    """A value as the page shows it (JavaScript's String of a number, JSON of a list), read back."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


@needs_chromium
def test_browser_follows_a_live_write_verify_and_freezes_on_its_summary(tmp_path, unwatched):
    path = tmp_path / "live.h5"
    proc = _start_writer(path)
    browser = None
    try:
        _wait_readable(path, proc)
        with WatchServer(path, port=None, refresh_s=0.3) as server:
            browser = Browser(CHROMIUM, tmp_path / "profile")
            browser.goto(server.url)
            state = "JSON.stringify(window.neurramWatch && window.neurramWatch.polls > 0 ? " \
                    "{polls: neurramWatch.polls, points: neurramWatch.points, state: neurramWatch.snapshot.state, " \
                    "rows: neurramWatch.snapshot.tables.wv_cells, progress: document.getElementById('progress').textContent} : null)"
            seen = []
            end = time.monotonic() + 120
            while time.monotonic() < end and proc.poll() is None:
                v = browser.evaluate(state)
                running = proc.poll() is None
                if v and running:
                    s = json.loads(v)
                    if s and s["state"] == "running" and (not seen or s["rows"] != seen[-1]["rows"]):
                        seen.append(s)
                        if len(seen) == 2:
                            _shot(browser, tmp_path, "watch-live.png")
                time.sleep(0.1)
            assert len(seen) >= 2, f"the page showed {len(seen)} states of the live run: {seen}"
            first, last = seen[0], seen[-1]
            assert last["polls"] > first["polls"] and last["rows"] > first["rows"]
            # every cell is written in the first pass, so the map is whole from the first live state on;
            # later passes re-write cells: the map never loses a cell while the per-pass figures grow
            assert last["points"]["conductance_map"] >= first["points"]["conductance_map"] > 0
            assert sum(last["points"].values()) > sum(first["points"].values())
            assert all("pass" in s["progress"] for s in seen)
            summary = _finish(proc)
            browser.wait_for("window.neurramWatch.snapshot.frozen && document.getElementById('state').textContent"
                             " === 'success (frozen)'", 30)
            rows = browser.evaluate("JSON.stringify(Array.from(document.querySelectorAll('#summary tr'))"
                                    ".map(tr => [tr.dataset.key, tr.cells[1].textContent]))")
            final_points = json.loads(browser.evaluate("JSON.stringify(neurramWatch.points)"))
            progress_text = browser.evaluate("document.getElementById('progress').textContent")
            _shot(browser, tmp_path, "watch-final.png")
        recorded = read_run(path).record["summary"]
        shown = dict(json.loads(rows))
        assert set(shown) == set(recorded)
        for k, v in recorded.items():  # the page's summary is the run's, value for value
            assert _parsed(shown[k]) == v, (k, shown[k], v)
        assert _parsed(shown["in_window_fraction"]) == summary["in_window_fraction"]
        assert progress_text.startswith("100.0 %") and final_points["conductance_map"] >= last["points"]["conductance_map"]
    finally:
        if browser is not None:
            browser.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    _same_run(path, unwatched[0])
