"""The watch server: one thread polls the run file, an HTTP server on 127.0.0.1 serves the page and the snapshot.

Routes: ``/`` the page, ``/plotly.min.js`` the plotly.js bundle of the
installed ``plotly`` package, ``/snapshot.json`` the last snapshot (served
from memory: however many pages are open, the file is read once per poll).
"""

from __future__ import annotations

import errno
import json
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ..validate import number, path_like
from ..errors import InputError, LimitError, RunLogDamaged, RunLogError
from ..runlog.runlog import read_run, to_json
from . import _page
from ._snapshot import Follower

DEFAULT_PORT = 8765
DEFAULT_REFRESH_S = 2.0


def check_port(port) -> int:
    """A TCP port 1..65535 (an int, or text of one: ``--port``).

    Raises
    ------
    InputError, LimitError
        Not an integer, or outside 1..65535.
    """
    if isinstance(port, str):
        try:
            port = int(port.strip(), 10)
        except ValueError:
            raise InputError(f"port must be an integer 1..65535, got {port!r}") from None
    if isinstance(port, bool) or not isinstance(port, int):
        raise InputError(f"port must be an integer 1..65535, got {port!r}")
    if not 1 <= port <= 65535:
        raise LimitError("port", port, (1, 65535), "a TCP port")
    return port


def check_run_file(path):
    """The path of a run file that exists and is one (damage is shown on the page, not refused).

    Raises
    ------
    InputError
        Nothing at ``path``, or a folder.
    RunLogError
        Not an HDF5 file, or not a neurram run log.
    """
    p = path_like("run", path)
    if not p.exists():
        raise InputError(f"run file {p}: no such file")
    if not p.is_file():
        raise InputError(f"run file {p}: not a file")
    try:
        read_run(p, tables=False, journal=False, verify=False)
    except RunLogDamaged:
        pass  # a run file, damaged: the page shows what can be read and the damage
    return p


def _interrupt(signum, frame):
    """SIGTERM handler of :meth:`WatchServer.serve_forever`: stop as Ctrl-C does."""
    raise KeyboardInterrupt(f"signal {signum}")


def _plotly_js() -> bytes:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs().encode("utf-8")


class WatchServer:
    """Serve the live view of one run file.

    Parameters
    ----------
    path : str or Path
        The run file (checked: :func:`check_run_file`).
    port : int or None
        TCP port 1..65535 (default 8765); ``None``: any free port (see :attr:`url`).
    host : str
        Address to bind (default ``127.0.0.1``: this machine only).
    refresh_s : float
        Seconds between polls of the file and between the page's fetches (0.1..60, default 2).

    Raises
    ------
    InputError
        The port is in use or cannot be bound, or the run file is missing.
    LimitError
        The port or ``refresh_s`` is out of range.
    RunLogError
        The file is not a run file.
    """

    def __init__(self, path, port: int | None = DEFAULT_PORT, host: str = "127.0.0.1",
                 refresh_s: float = DEFAULT_REFRESH_S):
        self.refresh_s = number("refresh_s", refresh_s, 0.1, 60.0, "seconds")
        port = 0 if port is None else check_port(port)
        self.path = check_run_file(path)
        self.follower = Follower(self.path)
        self._snapshot = self._encode(self.follower.poll())
        self._page = _page.page(self.refresh_s).encode("utf-8")
        self._stop = threading.Event()
        try:
            self.httpd = ThreadingHTTPServer((host, port), self._handler())
        except OSError as exc:
            what = "is already in use" if exc.errno == errno.EADDRINUSE else "cannot be bound"
            raise InputError(f"port {port}: {host}:{port} {what} ({exc.strerror}); give another --port") from None
        self.httpd.daemon_threads = True
        self._threads: list[threading.Thread] = []

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.httpd.server_address[0]}:{self.port}/"

    @staticmethod
    def _encode(snap: dict) -> bytes:
        return to_json(snap).encode("utf-8")

    def _poll_loop(self) -> None:
        while not self._stop.wait(self.refresh_s):
            self._snapshot = self._encode(self.follower.poll())

    def _handler(self):
        server = self
        js: list = []

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet: the terminal shows the run, not the requests
                pass

            def _send(self, body: bytes, ctype: str, cache: bool = False) -> None:
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "max-age=3600" if cache else "no-store")
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):  # noqa: N802 - http.server's name
                route = self.path.split("?", 1)[0]
                if route in ("/", "/index.html"):
                    self._send(server._page, "text/html; charset=utf-8")
                elif route == "/snapshot.json":
                    self._send(server._snapshot, "application/json")
                elif route == "/plotly.min.js":
                    if not js:
                        js.append(_plotly_js())
                    self._send(js[0], "text/javascript; charset=utf-8", cache=True)
                else:
                    self.send_error(404, "not found")

        return Handler

    def start(self) -> "WatchServer":
        """Serve and poll in background threads; returns self."""
        for target in (self.httpd.serve_forever, self._poll_loop):
            t = threading.Thread(target=target, daemon=True, name=f"neurram-watch-{target.__name__}")
            t.start()
            self._threads.append(t)
        return self

    def serve_forever(self) -> None:
        """Serve until interrupted, then shut down.

        Ctrl-C (SIGINT) stops it; so does SIGTERM (``kill PID``) when called from the main thread, which is the
        way to stop a watch started in the background of a script: such a job inherits SIGINT ignored (the
        shell's rule for ``&`` jobs, which Python keeps), so Ctrl-C and ``kill -INT`` never reach it.
        """
        main = threading.current_thread() is threading.main_thread()  # signal handlers: the main thread's only
        previous = signal.signal(signal.SIGTERM, _interrupt) if main else None
        try:
            self.start()
            while True:
                self._stop.wait(3600)
        finally:
            try:
                self.close()
            finally:
                if main:
                    signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)

    def snapshot(self) -> dict:
        """The last snapshot served."""
        return json.loads(self._snapshot)

    def close(self) -> None:
        """Stop polling and serving; closes the socket."""
        self._stop.set()
        if any(t.is_alive() for t in self._threads):
            self.httpd.shutdown()
        self.httpd.server_close()
        for t in self._threads:
            t.join(timeout=5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()
        return False
