"""An emulated thermal stage on the far end of a pty, so the serial driver runs against a real tty."""

from __future__ import annotations

import os
import threading
import time


class StageEmulator:
    """Serve the :mod:`thermal_stage` protocol on a pseudo-terminal.

    Parameters
    ----------
    t_start_c : float
        Initial temperature (°C).
    speedup : float
        Model time runs this many times faster than wall time (tests bake in seconds).
    t_range_c : (float, float)
        What the stage itself can reach; set points outside give ``ERR 2``.

    Attributes
    ----------
    port : str
        tty path to open with pyserial.
    received : list of str
        Every command line received, in order.
    """

    def __init__(self, t_start_c: float = 25.0, speedup: float = 1.0, t_range_c=(-40.0, 200.0)):
        import tty

        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self.t_c = float(t_start_c)
        self.setpoint_c = float(t_start_c)
        self.rate_c_per_s = 10.0 / 60.0
        self.speedup = float(speedup)
        self.t_range_c = t_range_c
        self.received: list[str] = []
        self._t_wall = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _advance(self) -> None:
        now = time.monotonic()
        dt = (now - self._t_wall) * self.speedup
        self._t_wall = now
        step = self.rate_c_per_s * dt
        d = self.setpoint_c - self.t_c
        self.t_c = self.setpoint_c if abs(d) <= step else self.t_c + step * (1 if d > 0 else -1)

    def _answer(self, line: str) -> str:
        self.received.append(line)
        self._advance()
        parts = line.split()
        if not parts:
            return "ERR 1 empty"
        cmd = parts[0].upper()
        if cmd == "*IDN?":
            return "NEURRAM-SIM,STAGE,SIM0003,1.0"
        if cmd == "TEMP?":
            return f"{self.t_c:+07.2f}"
        if cmd == "SETP?":
            return f"{self.setpoint_c:+07.2f}"
        try:
            value = float(parts[1]) if len(parts) == 2 else None
        except ValueError:
            value = None
        if cmd == "SETP" and value is not None:
            if not self.t_range_c[0] <= value <= self.t_range_c[1]:
                return "ERR 2 setpoint out of range"
            self.setpoint_c = value
            return "OK"
        if cmd == "RATE" and value is not None and value > 0:
            self.rate_c_per_s = value / 60.0
            return "OK"
        return "ERR 1 unknown command"

    def _serve(self) -> None:
        import select

        buf = b""
        while not self._stop.is_set():
            r, _, _ = select.select([self._master], [], [], 0.05)
            if not r:
                continue
            try:
                chunk = os.read(self._master, 1024)
            except OSError:
                return
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                reply = self._answer(line.decode("ascii", "replace").strip())
                os.write(self._master, (reply + "\n").encode("ascii"))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1.0)
        for fd in (self._master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
