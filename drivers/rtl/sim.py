"""The RTL simulation as a child process: ``vvp`` with cocotb running :mod:`drivers.rtl._bench`.

:class:`RtlSim` starts the simulator on a compiled design (:func:`drivers.rtl._build.build`), waits for its
bench to connect back, and offers one method per request of the bench's protocol. Every answer brings the
board's pin events, which :attr:`on_events` (a callable) gets as ``[(word, time_ps), ...]``.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Listener
from pathlib import Path

from neurram_lab.errors import BoardError

START_TIMEOUT_S = 60.0
SYS_CLK_NS = 10.0  # the board's oscillator (board.v)


def _gpi_env() -> dict:
    import cocotb_tools.config as cfg
    import find_libpython

    env = dict(os.environ)
    libpython = find_libpython.find_libpython()
    if libpython is None:
        raise BoardError("cocotb cannot find libpython for this Python; rtl:// needs a shared libpython")
    env["GPI_USERS"] = ";".join([libpython, cfg.pygpi_entry_point()])
    env["PYGPI_PYTHON_BIN"] = sys.executable
    env["PATH"] = env.get("PATH", "") + os.pathsep + str(cfg.libs_dir)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    env["COCOTB_TOPLEVEL"] = "rtl_tb"
    env["COCOTB_TEST_MODULES"] = "neurram_lab.drivers.rtl._bench"
    env["TOPLEVEL_LANG"] = "verilog"
    env["COCOTB_LOG_LEVEL"] = env.get("NEURRAM_RTL_LOG_LEVEL", "WARNING")
    env["COCOTB_REDUCED_LOG_FMT"] = "1"
    return env, cfg.lib_entry("vpi", "icarus")


class RtlSim:
    """One running simulation of the authors' design on the simulated board.

    Parameters
    ----------
    vvp : path
        The compiled simulation.
    on_events : callable, optional
        Gets each answer's pin events.
    current_fn : callable, optional
        ``current_fn() -> (i_a, v0_v)``: the cell current out of the integrator and its start voltage, asked
        when the read voltage reaches the cell.
    conversion_fn : callable, optional
        ``conversion_fn(snapshots, y_addr) -> {core: (sign, flip)}``: the neurons' comparator tables, asked at
        their first write after a sample burst (see :mod:`drivers.rtl._bench`).
    lfsr_fn : callable, optional
        ``lfsr_fn() -> (a_bits, b_bits)``: the next 512 bits the chip's two LFSR chains put on ``lfsr_out``
        (bit k after k clocks, as ints), asked at each LFSR shift trigger.
    """

    def __init__(self, vvp, on_events=None, current_fn=None, conversion_fn=None, lfsr_fn=None):
        self.on_events = on_events
        self.lfsr_fn = lfsr_fn
        self.current_fn = current_fn
        self.conversion_fn = conversion_fn
        self.sim_ns = 0.0
        self.requests = 0
        self._wall_s = 0.0
        key = secrets.token_bytes(16)
        self._dir = tempfile.TemporaryDirectory(prefix="neurram-rtl-")
        self._listener = Listener(("127.0.0.1", 0), authkey=key)
        env, vpi = _gpi_env()
        env["NEURRAM_RTL_ADDRESS"] = f"{self._listener.address[0]}:{self._listener.address[1]}"
        env["NEURRAM_RTL_KEY"] = key.hex()
        env["COCOTB_RESULTS_FILE"] = str(Path(self._dir.name) / "results.xml")
        self._log = open(Path(self._dir.name) / "sim.log", "w+")
        self.proc = subprocess.Popen(["vvp", "-m", vpi, str(vvp), "-none"], env=env, cwd=self._dir.name, stdout=self._log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self._conn = None
        self._accept()
        try:
            res, events, ns = self._conn.recv()
        except (EOFError, OSError):
            tail = self.log_tail()
            self.close()
            raise BoardError(f"the RTL simulator stopped before it served a call: {tail}") from None
        self.sim_ns = float(ns)  # the power-up events (undriven X settling before any reset) are dropped

    def _accept(self) -> None:
        import socket

        sock = self._listener._listener._socket
        sock.settimeout(1.0)
        deadline = time.monotonic() + START_TIMEOUT_S
        while self._conn is None:
            try:
                self._conn = self._listener.accept()
            except (socket.timeout, TimeoutError):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    tail = self.log_tail()
                    self.close()
                    raise BoardError(f"the RTL simulator did not start: {tail}") from None
        sock.settimeout(None)

    def log_tail(self, n: int = 5) -> str:
        try:
            self._log.flush()
            self._log.seek(0)
            lines = [ln.strip() for ln in self._log.read().splitlines() if ln.strip()]
        except (OSError, ValueError):
            return ""
        return " | ".join(lines[-n:]) or "no output"

    def _take(self, events, ns) -> None:
        self.sim_ns = float(ns)
        if events and self.on_events is not None:
            self.on_events(events)

    def request(self, *req):
        """Send one request; its result (events go to :attr:`on_events` first)."""
        if self._conn is None:
            raise BoardError("the RTL simulation is closed")
        t0 = time.perf_counter()
        try:
            self._conn.send(req)
            while True:
                res, events, ns = self._conn.recv()
                ask = res[0] if isinstance(res, tuple) and res else None
                if ask == "need_current":
                    self._take(events, ns)
                    self._conn.send(self.current_fn() if self.current_fn is not None else (0.0, 0.9))
                elif ask == "need_lfsr":
                    self._take(events, ns)
                    try:
                        bits = self.lfsr_fn() if self.lfsr_fn is not None else (0, 0)
                    except BaseException:
                        self._conn.send((0, 0))
                        raise
                    self._conn.send(bits)
                elif ask == "need_conversion":
                    self._take(events, ns)
                    try:
                        tables = self.conversion_fn(res[1], res[2]) if self.conversion_fn is not None else {}
                    except BaseException:
                        self._conn.send({})  # the bench waits for an answer: keep the protocol in step
                        raise
                    self._conn.send(tables)
                else:
                    break
        except (EOFError, OSError) as exc:
            raise BoardError(f"the RTL simulator went away ({exc}): {self.log_tail()}") from None
        self._wall_s += time.perf_counter() - t0
        self.requests += 1
        self._take(events, ns)
        if isinstance(res, tuple) and res and res[0] == "error":
            raise BoardError(f"RTL simulation request {req[0]!r} failed: {res[1]}")
        return res

    @property
    def cycles(self) -> int:
        """System clock cycles simulated so far."""
        return int(self.sim_ns / SYS_CLK_NS)

    @property
    def wall_s(self) -> float:
        return self._wall_s

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.send(("close",))
                res, events, ns = self._conn.recv()
                self._take(events, ns)
            except (EOFError, OSError):
                pass
            self._conn.close()
            self._conn = None
        if self.proc.poll() is None:
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._listener.close()
        self._log.close()
        self._dir.cleanup()
