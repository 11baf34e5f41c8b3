"""Thermal stage over a serial line (pyserial), for bake and retention tests.

ASCII protocol, one command per line (``\\n``), one answer line each:
``*IDN?`` → identity; ``TEMP?`` → ``+025.00`` (°C); ``SETP 85.00`` → ``OK``;
``SETP?`` → set point; ``RATE 10.0`` (°C/min) → ``OK``; errors come back as
``ERR <n> <text>``. Works on any pyserial URL: a device path, ``loop://``,
``socket://host:port`` or a pty.
"""

from __future__ import annotations

import time

from neurram_lab.errors import InputError

from ._scpi import InstrumentError, check_range


class ThermalStage:
    """Heated chip stage.

    Parameters
    ----------
    url : str
        pyserial port or URL.
    t_min_c, t_max_c : float
        Set-point limits (°C); the default 150 °C is a usual retention-bake ceiling.
    rate_max_c_per_min : float
        Fastest ramp this driver will ask for (°C/min).
    timeout_s : float
        Read timeout of one answer (s).
    """

    def __init__(self, url: str, baudrate: int = 9600, t_min_c: float = -20.0, t_max_c: float = 150.0,
                 rate_max_c_per_min: float = 30.0, timeout_s: float = 1.0):
        import serial

        self.t_min_c, self.t_max_c = float(t_min_c), float(t_max_c)
        self.rate_max_c_per_min = float(rate_max_c_per_min)
        try:
            self.port = serial.serial_for_url(url, baudrate=baudrate, timeout=timeout_s)
        except (serial.SerialException, ValueError) as exc:
            raise InstrumentError(f"cannot open thermal stage at {url!r}: {exc}") from exc

    def ask(self, command: str) -> str:
        """Send one command line; return its answer line (raises on silence or ``ERR``)."""
        self.port.reset_input_buffer()
        self.port.write((command + "\n").encode("ascii"))
        line = self.port.readline()
        if not line.endswith(b"\n"):
            raise InstrumentError(f"thermal stage did not answer {command!r} within {self.port.timeout} s")
        text = line.decode("ascii", "replace").strip()
        if text.startswith("ERR"):
            raise InstrumentError(f"thermal stage refused {command!r}: {text}")
        return text

    def identify(self) -> str:
        return self.ask("*IDN?")

    def temperature_c(self) -> float:
        """Stage temperature now (°C)."""
        text = self.ask("TEMP?")
        try:
            return float(text)
        except ValueError as exc:
            raise InstrumentError(f"TEMP? answered {text!r}") from exc

    def set_temperature(self, t_c: float, rate_c_per_min: float = 10.0) -> None:
        """Ramp to ``t_c`` (°C) at ``rate_c_per_min``; both checked before anything is sent."""
        t = check_range("t_c", t_c, self.t_min_c, self.t_max_c, "degC")
        r = check_range("rate_c_per_min", rate_c_per_min, 0.1, self.rate_max_c_per_min, "degC/min")
        for cmd in (f"RATE {r:.1f}", f"SETP {t:.2f}"):
            if self.ask(cmd) != "OK":
                raise InstrumentError(f"thermal stage did not acknowledge {cmd!r}")

    def wait_stable(self, t_c: float, tol_c: float = 0.5, timeout_s: float = 600.0, poll_s: float = 1.0) -> float:
        """Poll until within ``tol_c`` of ``t_c``; returns the temperature, or raises after ``timeout_s``."""
        if tol_c <= 0 or timeout_s <= 0:
            raise InputError("tol_c and timeout_s must be positive")
        deadline = time.monotonic() + timeout_s
        while True:
            t = self.temperature_c()
            if abs(t - t_c) <= tol_c:
                return t
            if time.monotonic() > deadline:
                raise InstrumentError(f"stage at {t:.2f} degC did not reach {t_c:.2f} +- {tol_c} degC within {timeout_s} s")
            time.sleep(poll_s)

    def close(self) -> None:
        self.port.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
