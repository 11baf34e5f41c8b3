"""DC bench supply feeding the test board's barrel input: rails on/off and power readback."""

from __future__ import annotations

from ._scpi import ScpiInstrument, check_range


class DcSupply(ScpiInstrument):
    """Single-output SCPI DC supply (``VOLT``, ``CURR``, ``OUTP``, ``MEAS:CURR?``).

    Parameters
    ----------
    resource, visa_library : see :class:`ScpiInstrument`
    v_max_v : float
        Highest output voltage this driver will set (V); the board's input rating.
    i_limit_max_a : float
        Highest current limit this driver will set (A).
    """

    def __init__(self, resource, visa_library: str = "", v_max_v: float = 5.5, i_limit_max_a: float = 3.0):
        super().__init__(resource, visa_library)
        self.v_max_v = float(v_max_v)
        self.i_limit_max_a = float(i_limit_max_a)

    def configure(self, v_out_v: float, i_limit_a: float) -> None:
        """Set output voltage (V) and current limit (A); both checked before anything is sent."""
        v = check_range("v_out_v", v_out_v, 0.0, self.v_max_v, "volts")
        i = check_range("i_limit_a", i_limit_a, 0.0, self.i_limit_max_a, "amperes")
        self.write(f"CURR {i:.4f}")
        self.write(f"VOLT {v:.4f}")

    def rails_on(self) -> None:
        """Power the board (output on)."""
        self.write("OUTP 1")

    def rails_off(self) -> None:
        """Cut the board's power (output off)."""
        self.write("OUTP 0")

    @property
    def is_on(self) -> bool:
        return self.query("OUTP?").strip() == "1"

    def voltage_v(self) -> float:
        return self.query_float("VOLT?")

    def current_a(self) -> float:
        """Measured output current (A)."""
        return self.query_float("MEAS:CURR?")

    def power_w(self) -> float:
        """Output power (W): set voltage times measured current; 0 when the output is off."""
        return self.voltage_v() * self.current_a() if self.is_on else 0.0

    def snapshot(self) -> dict:
        return {"idn": self.idn, "v_out_v": self.voltage_v(), "i_limit_a": self.query_float("CURR?"), "on": self.is_on}
