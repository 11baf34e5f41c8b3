"""Heated chip stage for bake and retention work: a Lake Shore Model 335 temperature controller.

The stage's heater is wired to output 1 and its sensor to input A; loop 1
controls input A with output 1 (set on the controller's front panel).

Command set: Lake Shore Model 335 Temperature Controller User's Manual,
chapter 6 (remote operation): ``SETP <output>,<value>`` / ``SETP? <output>``
(set point, in the loop's units, kelvin here), ``KRDG? <input>`` (kelvin
reading), ``RAMP <output>,<off/on>,<rate K/min>`` / ``RAMP? <output>``,
``RANGE <output>,<0 off|1 low|2 medium|3 high>`` / ``RANGE? <output>``,
``HTR? <output>`` (heater output, %), ``*IDN?`` (``LSCI,MODEL335,...``) and
``*ESR?`` (standard event status: bit 5 command error, bit 4 execution error,
bit 2 query error). Commands have no answer; errors are read from ``*ESR?``.
Serial (USB virtual COM port): 57 600 baud, 7 data bits, odd parity, 1 stop
bit, lines ended by CR LF. The same commands as Lake Shore's own Python
driver (``lakeshore.Model335``). Emulated for pyvisa-sim in
``data/instruments.yaml`` (``ASRL1::INSTR``); pyvisa-sim has no thermal model,
so its sensor reads what a test scripts (hidden ``SIM:KRDG A,<K>``).
"""

from __future__ import annotations

import time

from neurram_lab.errors import InputError

from ._scpi import InstrumentError, ScpiInstrument, check_range

HEATER_RANGES = {0: "off", 1: "low", 2: "medium", 3: "high"}
_ESR_BITS = {32: "command error", 16: "execution error", 4: "query error"}


class LakeShore335(ScpiInstrument):
    """A Lake Shore 335 holding the chip stage at a set temperature (kelvin).

    Parameters
    ----------
    resource, visa_library : see :class:`~drivers.instruments._scpi.ScpiInstrument`
        A serial resource (``ASRL/dev/ttyACM0::INSTR``, ``ASRL3::INSTR``) is
        opened at the 335's serial settings; a GPIB one as it is.
    output : int
        Heater output of the stage's loop (1 or 2).
    sensor_input : str
        Sensor input of the stage ("A" or "B").
    t_min_k, t_max_k : float
        Set-point limits (K); the default 423.15 K (150 °C) is a usual retention-bake ceiling.
    rate_max_k_per_min : float
        Fastest set-point ramp this driver will ask for (K/min; the 335 takes 0.1-100).
    poll_s : float
        Interval between readings while waiting for the stage to settle (s).
    """

    MODELS = ("MODEL335",)
    READ_TERMINATION = "\r\n"
    WRITE_TERMINATION = "\r\n"

    def __init__(self, resource, visa_library: str = "", output: int = 1, sensor_input: str = "A",
                 t_min_k: float = 253.15, t_max_k: float = 423.15, rate_max_k_per_min: float = 30.0,
                 poll_s: float = 1.0):
        if output not in (1, 2):
            raise InputError(f"output must be 1 or 2, got {output!r}")
        if sensor_input not in ("A", "B"):
            raise InputError(f"sensor_input must be 'A' or 'B', got {sensor_input!r}")
        self.output, self.sensor_input = int(output), sensor_input
        self.t_min_k = check_range("t_min_k", t_min_k, 0.0, 1505.0, "K")
        self.t_max_k = check_range("t_max_k", t_max_k, self.t_min_k, 1505.0, "K")
        self.rate_max_k_per_min = check_range("rate_max_k_per_min", rate_max_k_per_min, 0.1, 100.0, "K/min")
        self.poll_s = check_range("poll_s", poll_s, 0.0, 600.0, "seconds")
        super().__init__(resource, visa_library)

    def _open_options(self, resource: str) -> dict:
        if not resource.upper().startswith("ASRL"):
            return {}
        from pyvisa.constants import Parity, StopBits

        return {"baud_rate": 57600, "data_bits": 7, "parity": Parity.odd, "stop_bits": StopBits.one}

    def check_errors(self, after: str = "") -> None:
        """Read ``*ESR?``; raise naming the error bits set."""
        text = self.query("*ESR?")
        try:
            esr = int(text)
        except ValueError as exc:
            raise InstrumentError(f"*ESR? answered {text!r}" + (f" after {after!r}" if after else "")) from exc
        bad = [name for bit, name in _ESR_BITS.items() if esr & bit]
        if bad:
            raise InstrumentError(f"{self.model} reported {', '.join(bad)} (*ESR? {esr})"
                                  + (f" after {after!r}" if after else ""))

    def temperature_k(self) -> float:
        """Stage temperature now (K)."""
        return self.query_float(f"KRDG? {self.sensor_input}")

    def setpoint_k(self) -> float:
        """Loop set point (K)."""
        return self.query_float(f"SETP? {self.output}")

    def heater_pct(self) -> float:
        """Heater output (% of the range)."""
        return self.query_float(f"HTR? {self.output}")

    def heater_range(self) -> int:
        text = self.query(f"RANGE? {self.output}")
        try:
            return int(text)
        except ValueError as exc:
            raise InstrumentError(f"RANGE? answered {text!r}") from exc

    def ramp_k_per_min(self) -> float:
        """Set-point ramp rate (K/min); 0 when ramping is off."""
        text = self.query(f"RAMP? {self.output}")
        on, _, rate = text.partition(",")
        try:
            return float(rate) if int(on) else 0.0
        except ValueError as exc:
            raise InstrumentError(f"RAMP? answered {text!r}") from exc

    def set_temperature(self, t_k: float, rate_k_per_min: float = 10.0, heater_range: int = 3) -> None:
        """Ramp the set point to ``t_k`` (K) at ``rate_k_per_min`` with the heater on ``heater_range``.

        All three are checked before anything is sent.
        """
        t = check_range("t_k", t_k, self.t_min_k, self.t_max_k, "K")
        r = check_range("rate_k_per_min", rate_k_per_min, 0.1, self.rate_max_k_per_min, "K/min")
        if heater_range not in (1, 2, 3):
            raise InputError(f"heater_range must be 1 (low), 2 (medium) or 3 (high), got {heater_range!r}")
        self.write(f"RAMP {self.output},1,{r:.1f}")
        self.write(f"SETP {self.output},{t:.3f}")
        self.write(f"RANGE {self.output},{int(heater_range)}")

    def heater_off(self) -> None:
        """Switch the stage's heater off (``RANGE <output>,0``)."""
        self.write(f"RANGE {self.output},0")

    def wait_stable(self, t_k: float, tol_k: float = 0.5, timeout_s: float = 1800.0, poll_s: float | None = None,
                    n_stable: int = 3) -> float:
        """Poll every ``poll_s`` (s; default the driver's) until ``n_stable`` readings in a row are within ``tol_k`` of ``t_k`` (K).

        Returns the last reading (K); raises :class:`InstrumentError` after ``timeout_s`` (s).
        """
        tol = check_range("tol_k", tol_k, 1e-3, 50.0, "K")
        timeout = check_range("timeout_s", timeout_s, 0.0, 86400.0, "seconds")
        poll = self.poll_s if poll_s is None else check_range("poll_s", poll_s, 0.0, 600.0, "seconds")
        deadline = time.monotonic() + timeout
        in_band = 0
        while True:
            t = self.temperature_k()
            in_band = in_band + 1 if abs(t - t_k) <= tol else 0
            if in_band >= max(int(n_stable), 1):
                return t
            if time.monotonic() >= deadline:
                raise InstrumentError(f"stage at {t:.3f} K did not settle at {t_k:.3f} K +- {tol:g} K "
                                      f"within {timeout:g} s")
            time.sleep(poll)

    def snapshot(self) -> dict:
        """Identity, settings and readings, units in the keys (for a run record)."""
        return {"idn": self.idn, "resource": self.resource_name, "output": self.output,
                "sensor_input": self.sensor_input, "setpoint_k": self.setpoint_k(),
                "temperature_k": self.temperature_k(), "heater_pct": self.heater_pct(),
                "heater_range": HEATER_RANGES.get(self.heater_range(), "?"),
                "ramp_k_per_min": self.ramp_k_per_min()}
