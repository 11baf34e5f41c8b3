"""A headless Chromium (Debian's ``chromium``) driven over the DevTools protocol on a pipe, for the watch tests.

``--remote-debugging-pipe``: Chromium reads commands from its fd 3 and writes
replies and events to its fd 4, each a JSON message ending in a NUL byte; no
websocket and no extra package. :func:`chromium_path` says where the browser
is, or why there is none (the tests skip with that reason).
"""

from __future__ import annotations

import base64
import json
import os
import queue
import shutil
import subprocess
import threading
import time


def chromium_path() -> tuple[str | None, str]:
    """(path of the chromium executable or None, why not)."""
    for name in ("chromium", "chromium-browser"):
        p = shutil.which(name)
        if p:
            return p, ""
    return None, "no headless Chromium on this machine (Debian: apt-get install chromium; .ci/run installs it)"


class Browser:
    """One headless Chromium with one page; ``evaluate`` runs JavaScript in it, ``screenshot`` saves a PNG."""

    def __init__(self, exe: str, profile_dir, width: int = 1400, height: int = 1800):
        r_cmd, w_cmd = os.pipe()
        r_out, w_out = os.pipe()

        def fds():  # the child's fd 3 reads our commands, its fd 4 writes its replies
            os.dup2(r_cmd, 3)
            os.dup2(w_out, 4)

        args = [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--remote-debugging-pipe",
                f"--user-data-dir={profile_dir}", f"--window-size={width},{height}", "about:blank"]
        self.proc = subprocess.Popen(args, pass_fds=(3, 4), preexec_fn=fds, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(r_cmd)
        os.close(w_out)
        self._w = os.fdopen(w_cmd, "wb", buffering=0)
        self._r = os.fdopen(r_out, "rb", buffering=0)
        self._replies: dict[int, queue.Queue] = {}
        self._lock = threading.Lock()
        self._next = 0
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call("Page.enable", session=True)
        self.call("Emulation.setDeviceMetricsOverride", session=True, width=width, height=height,
                  deviceScaleFactor=1, mobile=False)

    def _read_loop(self) -> None:
        buf = b""
        while True:
            chunk = self._r.read(65536)
            if not chunk:
                return
            buf += chunk
            while b"\0" in buf:
                msg, buf = buf.split(b"\0", 1)
                m = json.loads(msg)
                if "id" in m:
                    with self._lock:
                        q = self._replies.setdefault(m["id"], queue.Queue())
                    q.put(m)

    def call(self, method: str, session: bool = False, timeout_s: float = 30.0, **params) -> dict:
        with self._lock:
            self._next += 1
            i = self._next
            q = self._replies.setdefault(i, queue.Queue())
        msg = {"id": i, "method": method, "params": params}
        if session:
            msg["sessionId"] = self.session
        self._w.write(json.dumps(msg).encode() + b"\0")
        try:
            m = q.get(timeout=timeout_s)
        except queue.Empty:
            raise TimeoutError(f"chromium did not answer {method} within {timeout_s} s") from None
        if "error" in m:
            raise RuntimeError(f"chromium: {method}: {m['error']}")
        return m.get("result", {})

    def goto(self, url: str, timeout_s: float = 30.0) -> None:
        """Navigate to ``url`` and wait until its document has loaded (not the page before it)."""
        self.call("Page.navigate", session=True, url=url)
        self.wait_for(f"location.href === {json.dumps(url)} && document.readyState === 'complete'", timeout_s)

    def evaluate(self, expression: str):
        """The value of a JavaScript expression in the page (promises awaited)."""
        r = self.call("Runtime.evaluate", session=True, expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"page script error: {r['exceptionDetails']}")
        return r["result"].get("value")

    def wait_for(self, expression: str, timeout_s: float, every_s: float = 0.1):
        """Poll ``expression`` until it is truthy; returns its value (TimeoutError otherwise)."""
        end = time.monotonic() + timeout_s
        while True:
            v = self.evaluate(expression)
            if v:
                return v
            if time.monotonic() > end:
                raise TimeoutError(f"page: {expression!r} still false after {timeout_s} s")
            time.sleep(every_s)

    def screenshot(self, path) -> None:
        data = self.call("Page.captureScreenshot", session=True, format="png", captureBeyondViewport=True)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout_s=5)
        except (TimeoutError, RuntimeError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for f in (self._w, self._r):
            try:
                f.close()
            except OSError:
                pass
