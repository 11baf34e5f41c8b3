"""``neurram watch``: the live view of a run file (issue 21 items 1-2, issue 26 item 2's live view).

A real ``neurram characterize write-verify`` subprocess writes the run file
while the watch follows it: in this process with a tight poll loop, and in
headless Chromium (Debian's ``chromium``; one browser for the module's
tests; where there is none they skip, saying why, unless
NEURRAM_REQUIRE_CHROMIUM=1, as .ci/run sets, makes that a failure).
Reading never changes the writer's file: each watched run equals an
unwatched one with the same seed, byte for byte in every dataset and
attribute except the wall-clock times, the run's uid and path and the
CRC-32s over them (:func:`_same_run` says exactly what is compared). A
damaged file shows its typed error (``RunLogDamaged``) in the rendered page
(checked in Chromium's DOM) and in snapshot.json, and the server keeps
answering. Bad input is one line and exit 2.
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
from neurram_lab.watch import WatchServer

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


# What two runs of the same command and seeds may differ in: wall-clock times, the run's random uid, its path,
# and the CRC-32s that cover them. Everything else in the file must be the same bytes.
CLOCK_ATTRS = {"/@start_time_iso", "/@start_time_unix_s", "/@uid", "/@record_crc32", "/@layout_crc32"}
CLOCK_DATASETS = {"journal/calls/t_wall_s", "journal/calls/dt_wall_s", "journal/calls/crc",
                  "run/stop_json", "run/stop_crc32"}
CLOCK_STOP_KEYS = {"stop_time_iso", "stop_time_unix_s"}
CLOCK_SUMMARY_KEYS = {"wall_s", "figure", "run_file"}


def _raw_items(f: h5py.File) -> dict[str, bytes]:
    """Every attribute (``group@name``) and dataset of an HDF5 file, as its raw bytes (a dataset's after its dtype
    and shape)."""
    out = {}

    def raw(v) -> bytes:
        return v.encode() if isinstance(v, str) else np.asarray(v).tobytes()

    def visit(name, obj):
        for k, a in obj.attrs.items():
            out[f"{name}@{k}"] = raw(a)
        if isinstance(obj, h5py.Dataset):
            out[name] = f"{obj.dtype.str}{obj.shape}".encode() + b"\0" + obj[()].tobytes()

    for k, a in f.attrs.items():
        out[f"/@{k}"] = raw(a)
    f.visititems(visit)
    return out


def _same_run(a: Path, b: Path) -> None:
    """The two run files are the same, byte for byte, in every dataset and attribute but the clock's.

    Not the whole file's bytes: a run file holds wall-clock times (start and stop times, each journaled call's
    ``t_wall_s``/``dt_wall_s``), a random run ``uid``, its own path and CRC-32s over those; HDF5 places them
    in the file among the rest. Those are the only items let differ (CLOCK_*), and the stop record is then
    compared as parsed JSON with only its stop time and the summary's ``wall_s``, ``figure`` and ``run_file``
    let differ. Every other attribute and dataset (all tables, the journal's arguments and responses, the
    column checks) has the same names, dtypes, shapes and bytes.
    """
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        ra, rb = _raw_items(fa), _raw_items(fb)
        assert set(ra) == set(rb), set(ra) ^ set(rb)
        exempt = {k for k in ra if k in CLOCK_ATTRS | CLOCK_DATASETS}
        assert len(exempt) == len(CLOCK_ATTRS) + len(CLOCK_DATASETS), exempt  # each named item exists
        differ = sorted(k for k in ra if k not in exempt and ra[k] != rb[k])
        assert differ == [], f"{a} and {b} differ in {differ}"
        sa, sb = (json.loads(bytes(f["run/stop_json"][()]).decode()) for f in (fa, fb))
    assert {k: v for k, v in sa.items() if k not in CLOCK_STOP_KEYS | {"summary"}} == \
        {k: v for k, v in sb.items() if k not in CLOCK_STOP_KEYS | {"summary"}}
    assert {k: v for k, v in sa["summary"].items() if k not in CLOCK_SUMMARY_KEYS} == \
        {k: v for k, v in sb["summary"].items() if k not in CLOCK_SUMMARY_KEYS}
    assert read_run(a).status == read_run(b).status == "success"  # both intact (read_run verifies every part)


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


# ---------------------------------------------------------------- in a real browser

CHROMIUM, NO_CHROMIUM = chromium_path()
# .ci/run installs Chromium and sets NEURRAM_REQUIRE_CHROMIUM=1: there a missing browser fails the browser tests
# instead of skipping them; elsewhere (a laptop without Chromium) they skip, saying why
REQUIRE_CHROMIUM = os.environ.get("NEURRAM_REQUIRE_CHROMIUM", "") not in ("", "0")
needs_chromium = pytest.mark.skipif(CHROMIUM is None and not REQUIRE_CHROMIUM, reason=NO_CHROMIUM)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """One headless Chromium for the module's browser tests (each navigates its own page)."""
    if CHROMIUM is None:
        pytest.fail(f"NEURRAM_REQUIRE_CHROMIUM is set and {NO_CHROMIUM}")
    b = Browser(CHROMIUM, tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield b
    finally:
        b.close()


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


# ---------------------------------------------------------------- following a live run

_BROWSER_STATE = "JSON.stringify(window.neurramWatch && window.neurramWatch.polls > 0 ? " \
    "{polls: neurramWatch.polls, points: neurramWatch.points, state: neurramWatch.snapshot.state, " \
    "rows: neurramWatch.snapshot.tables.wv_cells, progress: document.getElementById('progress').textContent} : null)"


@pytest.fixture(scope="module")
def live(tmp_path_factory, request) -> dict:
    """One live write-verify followed by the watch server (its one SWMR reader polling 5 times a second; the
    page's default is once per 2 s), its snapshots fetched as often, and, where there is Chromium, its page in
    the browser (one writer run for both: the suite's time); what each saw.

    One reader only: two SWMR readers of a live file in one process (two Followers in two threads) were seen
    to read a table shorter than the poll before (rows going back), which one reader per process never did.
    """
    tmp = tmp_path_factory.mktemp("live")
    path = tmp / "watched.h5"
    browser = request.getfixturevalue("browser") if (CHROMIUM is not None or REQUIRE_CHROMIUM) else None
    proc = _start_writer(path)
    out: dict = {"path": path, "tmp": tmp, "browser": browser is not None, "seen": []}
    try:
        _wait_readable(path, proc)
        snaps, stop = [], threading.Event()
        server = WatchServer(path, port=None, refresh_s=0.2)

        def loop():
            while not stop.wait(0.2):
                snaps.append((proc.poll() is None, json.loads(_get(server.url + "snapshot.json"))))

        t = threading.Thread(target=loop)
        with server:
            t.start()
            try:
                if browser is not None:
                    browser.goto(server.url)
                    end = time.monotonic() + 120
                    while time.monotonic() < end and proc.poll() is None:
                        v = browser.evaluate(_BROWSER_STATE)
                        if v and proc.poll() is None:
                            st = json.loads(v)
                            seen = out["seen"]
                            if st and st["state"] == "running" and (not seen or st["rows"] != seen[-1]["rows"]):
                                seen.append(st)
                                if len(seen) == 2:
                                    _shot(browser, tmp, "watch-live.png")
                        time.sleep(0.1)
                out["summary"] = _finish(proc)
                if browser is not None:
                    browser.wait_for("window.neurramWatch.snapshot.frozen && "
                                     "document.getElementById('state').textContent === 'success (frozen)'", 30)
                    out["page_summary"] = browser.evaluate(
                        "JSON.stringify(Array.from(document.querySelectorAll('#summary tr'))"
                        ".map(tr => [tr.dataset.key, tr.cells[1].textContent]))")
                    out["final_points"] = json.loads(browser.evaluate("JSON.stringify(neurramWatch.points)"))
                    out["progress_text"] = browser.evaluate("document.getElementById('progress').textContent")
                    _shot(browser, tmp, "watch-final.png")
            finally:  # the snapshot loop ends before the server does
                stop.set()
                t.join(timeout=60)
        out["snaps"], out["final"] = snaps, server.follower.poll()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return out


def test_watched_run_equals_unwatched_and_snapshots_follow_it(live, unwatched):
    """Polled 5 times a second (and watched in the browser) while the run writes: the file equals the unwatched
    one (:func:`_same_run`); the snapshots grow; the final one is the run's summary and figures."""
    path, summary, snaps, final = live["path"], live["summary"], live["snaps"], live["final"]
    _same_run(path, unwatched[0])
    running = [s for run_on, s in snaps if run_on and s["state"] == "running"]
    assert len(running) >= 3, f"only {len(running)} snapshots while the run wrote"
    rows = [s["tables"]["wv_cells"] for s in running]
    assert rows == sorted(rows) and rows[-1] > rows[0], rows  # the map fills in, never shrinks
    assert all(s["damage"] == [] and s["read_error"] is None for _, s in snaps if s["state"] != "unreadable")
    fractions = [s["progress"]["fraction"] for s in running if s["progress"]]
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sigint_default():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _sigint_ignored():
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _start_watch(run: Path, port: int, sigint: str = "default") -> subprocess.Popen:
    """``neurram watch RUN --port P --json`` in a child whose SIGINT is at its default (as a terminal's foreground
    job has it: Ctrl-C stops it) or ``"ignored"`` (as a ``&`` job of a script has it), whatever this process has.

    Not inherited: the CI flake where the watch never exited within 30 s of SIGINT was a suite run as a background
    job of a shell (suites side by side: the machine's load ~7), whose children all start with SIGINT ignored;
    Python then never raises KeyboardInterrupt, so the child of a plain Popen ignored the test's Ctrl-C.
    """
    pre = {"default": _sigint_default, "ignored": _sigint_ignored}[sigint]
    return subprocess.Popen([sys.executable, "-m", "neurram_lab.cli", "watch", str(run), "--port", str(port), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=pre)


def _stop_watch(proc: subprocess.Popen, sig: int = signal.SIGINT, timeout_s: float = 30.0) -> tuple[str, str]:
    """Send ``sig`` and wait for the exit (killed, and a failure that says so, if it does not stop in time)."""
    proc.send_signal(sig)
    try:
        return proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"neurram watch did not exit within {timeout_s:g} s of {signal.Signals(sig).name}; "
                    f"stdout {out!r}, stderr {err[-2000:]!r}")


def test_cli_serves_page_bundle_and_snapshot_on_localhost(tmp_path, unwatched):
    """``neurram watch`` as a user runs it: 127.0.0.1 only, no asset from the internet, Ctrl-C stops it."""
    port = _free_port()
    proc = _start_watch(unwatched[0], port)
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
        out, err = _stop_watch(proc)
    assert proc.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1])["state"] == "success"


_UNDER_IGNORED_SIGINT = """
import json, signal, sys
from pathlib import Path
from tests.watch.test_watch import _free_port, _get, _start_watch
assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN  # as in a `pytest ... &` job of a script
port = _free_port()
proc = _start_watch(Path(sys.argv[1]), port)
proc.stdout.readline()
_get(f"http://127.0.0.1:{port}/snapshot.json")
proc.send_signal(signal.SIGINT)
try:
    out, _ = proc.communicate(timeout=20)
    print(json.dumps({"rc": proc.returncode, "last": out.strip().splitlines()[-1]}))
except Exception:
    proc.kill()
    proc.communicate()
    print(json.dumps({"rc": None}))
"""


def test_ctrl_c_of_the_cli_test_reaches_the_watch_where_the_suite_ignores_sigint(unwatched):
    """The CI flake: run from a process that ignores SIGINT (a suite in a ``&`` job), the CLI test's Ctrl-C still
    stops ``neurram watch`` (:func:`_start_watch` gives the child SIGINT at its default); before, it hung."""
    root = Path(__file__).resolve().parents[2]
    r = subprocess.run([sys.executable, "-c", _UNDER_IGNORED_SIGINT, str(unwatched[0])], cwd=root, timeout=120,
                       capture_output=True, text=True, preexec_fn=_sigint_ignored)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res["rc"] == 0, res
    assert json.loads(res["last"])["state"] == "success"


def test_sigterm_stops_a_watch_that_ignores_sigint(unwatched):
    """A watch started in the background of a script inherits SIGINT ignored (kept, as the shell means it):
    Ctrl-C leaves it serving, and SIGTERM (``kill PID``) stops it cleanly, exit 0 with its summary line."""
    port = _free_port()
    proc = _start_watch(unwatched[0], port, sigint="ignored")
    try:
        assert f"http://127.0.0.1:{port}/" in proc.stdout.readline()
        proc.send_signal(signal.SIGINT)
        time.sleep(0.5)
        assert proc.poll() is None and json.loads(_get(f"http://127.0.0.1:{port}/snapshot.json"))["frozen"]
    finally:
        out, err = _stop_watch(proc, signal.SIGTERM)
    assert proc.returncode == 0, (proc.returncode, err)
    assert json.loads(out.strip().splitlines()[-1])["state"] == "success"


@needs_chromium
def test_browser_follows_a_live_write_verify_and_freezes_on_its_summary(live):
    """The page in Chromium during the run: its figures and progress update; once the run ends it freezes on
    the run's summary, value for value (screenshots: watch-live.png, watch-final.png)."""
    assert live["browser"]
    seen = live["seen"]
    assert len(seen) >= 2, f"the page showed {len(seen)} states of the live run: {seen}"
    first, last = seen[0], seen[-1]
    assert last["polls"] > first["polls"] and last["rows"] > first["rows"], seen
    # the map fills in during the first pass (the page may first show it before any cell is written) and
    # later passes re-write cells: the map never loses a cell while the per-pass figures grow
    maps = [s["points"].get("conductance_map", 0) for s in seen]
    assert maps == sorted(maps) and maps[-1] > 0, maps
    assert sum(last["points"].values()) > sum(first["points"].values()), seen
    assert all("pass" in s["progress"] for s in seen), seen
    recorded = read_run(live["path"]).record["summary"]
    shown = dict(json.loads(live["page_summary"]))
    assert set(shown) == set(recorded)
    for k, v in recorded.items():  # the page's summary is the run's, value for value
        assert _parsed(shown[k]) == v, (k, shown[k], v)
    assert _parsed(shown["in_window_fraction"]) == live["summary"]["in_window_fraction"]
    assert live["progress_text"].startswith("100.0 %")
    assert live["final_points"]["conductance_map"] >= last["points"]["conductance_map"]


_PAGE_STATE = """JSON.stringify((() => {
  const shown = id => { const e = document.getElementById(id); return e.offsetParent !== null && e.offsetHeight > 0; };
  const W = window.neurramWatch;
  return {polls: W ? W.polls : 0, errors: W ? W.errors : 0, state: document.getElementById('state').textContent,
          damage: document.getElementById('damage').innerText, damage_shown: shown('damage'),
          read_error: document.getElementById('read_error').innerText, read_error_shown: shown('read_error'),
          summary_rows: document.querySelectorAll('#summary tr').length,
          cells_rows: (document.querySelector('#tables tr[data-key="wv_cells"]') || {cells: [0, {textContent: ''}]})
                      .cells[1].textContent};
})())"""


def _page_until(browser: Browser, done, timeout_s: float = 20.0) -> dict:
    """The page's rendered state (what the DOM shows) once ``done(state)`` holds."""
    end = time.monotonic() + timeout_s
    while True:
        s = json.loads(browser.evaluate(_PAGE_STATE))
        if done(s):
            return s
        if time.monotonic() > end:
            raise AssertionError(f"the page never reached the state waited for; it shows {s}")
        time.sleep(0.1)


@needs_chromium
def test_browser_shows_the_damage_of_a_file_damaged_while_watched(tmp_path, unwatched, browser):
    """Issue 26's live view: the rendered page (not only snapshot.json) shows RunLogDamaged and what can be read."""
    copy = tmp_path / "watched-then-damaged.h5"
    shutil.copy(unwatched[0], copy)
    with WatchServer(copy, port=None, refresh_s=0.2) as server:
        browser.goto(server.url)
        intact = _page_until(browser, lambda s: s["state"] == "success (frozen)")
        assert not intact["damage_shown"] and intact["damage"] == "" and not intact["read_error_shown"]
        assert intact["summary_rows"] > 0
        _flip_stop_record(copy)
        with pytest.raises(Exception) as exc:
            read_run(copy)
        assert type(exc.value).__name__ == "RunLogDamaged"
        damaged = _page_until(browser, lambda s: s["damage_shown"])
        _shot(browser, tmp_path, "watch-damaged.png")
        lines = damaged["damage"].splitlines()
        assert lines[0] == f"RunLogDamaged: {exc.value}"  # the page says what read_run raises, word for word
        assert any(ln.startswith("damaged: stop record") for ln in lines[1:]), lines
        assert damaged["state"].startswith("damaged"), damaged["state"]  # the badge, not "success"
        assert int(damaged["cells_rows"]) == len(read_run(unwatched[0]).tables["wv_cells"])  # what can be read, shown
        with open(copy, "r+b") as f:  # cut short: nothing readable; the page says why and keeps polling
            f.truncate(2048)
        cut = _page_until(browser, lambda s: s["state"] == "unreadable" or "file" in s["damage"].split("\n")[0])
        shown = cut["read_error"] if cut["state"] == "unreadable" else cut["damage"]
        assert shown.split(":")[0] in ("RunLogDamaged", "RunLogError"), cut
        copy.unlink()
        gone = _page_until(browser, lambda s: "no run file" in s["read_error"])
        assert gone["read_error_shown"] and gone["state"] == "unreadable" and gone["errors"] == 0
        assert gone["polls"] > damaged["polls"] > intact["polls"]


def test_progress_before_the_first_pass_says_so():
    """A write-verify run still forming its cells (no pass planned yet) is at 0 % of pass 1, not "not counted"."""
    import pandas as pd

    from neurram_lab.watch._snapshot import progress

    empty = {"wv_plan": pd.DataFrame({"iteration": [], "cell": []}),
             "wv_cells": pd.DataFrame({"iteration": [], "cell": []})}
    p = progress(empty, {"iterations": 3}, "interrupted")
    assert p["fraction"] == 0.0 and p["what"] == "pass 1 of 3 not started yet"
    started = {"wv_plan": pd.DataFrame({"iteration": [1, 1], "cell": [0, 1]}),
               "wv_cells": pd.DataFrame({"iteration": [1], "cell": [0]})}
    p = progress(started, {"iterations": 3}, "interrupted")
    assert p["what"] == "pass 1 of 3: 1 of 2 cells written" and abs(p["fraction"] - 0.5 / 3) < 1e-12
    assert progress(empty, {}, "interrupted") is None  # a run that does not say its passes: not counted
