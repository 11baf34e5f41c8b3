"""DC bench supply feeding the test board's input: a Keysight E36312A, one output channel.

Command set: Keysight E36300 Series Triple Output Programmable DC Power
Supplies, Programming Guide (SCPI): ``[SOURce:]VOLTage <v>,(@<ch>)``,
``[SOURce:]CURRent <i>,(@<ch>)``, ``OUTPut[:STATe] 1|0,(@<ch>)`` (SCPI booleans; ``OUTP?`` answers 1 or 0),
``MEASure[:SCALar]:CURRent[:DC]? (@<ch>)``, ``MEASure:VOLTage? (@<ch>)`` and
the ``SYSTem:ERRor?`` queue; the same command forms as PyMeasure's
``KeysightE36312A`` driver. Channel 1 is the 6 V / 5 A output, channels 2 and 3
the 25 V / 1 A ones. Emulated for pyvisa-sim in ``data/instruments.yaml``
(``GPIB0::5::INSTR``, channel 1).
"""

from __future__ import annotations

from ._scpi import InstrumentError, ScpiInstrument, check_range

# (volts, amperes) each channel can deliver (E36312A data sheet)
CHANNEL_RATINGS = {1: (6.0, 5.0), 2: (25.0, 1.0), 3: (25.0, 1.0)}


class KeysightE36312A(ScpiInstrument):
    """One channel of a Keysight E36312A triple-output supply.

    Parameters
    ----------
    resource, visa_library : see :class:`~drivers.instruments._scpi.ScpiInstrument`
    channel : int
        Output channel, 1-3 (1: 6 V / 5 A).
    v_max_v : float
        Highest output voltage this driver will set (V): the board's input rating,
        at most the channel's.
    i_limit_max_a : float
        Highest current limit this driver will set (A), at most the channel's.
    """

    MODELS = ("E36312A",)

    def __init__(self, resource, visa_library: str = "", channel: int = 1, v_max_v: float = 5.5,
                 i_limit_max_a: float = 3.0):
        if channel not in CHANNEL_RATINGS:
            raise InstrumentError(f"E36312A channel must be 1, 2 or 3, got {channel!r}")
        super().__init__(resource, visa_library)
        self.channel = int(channel)
        v_rated, i_rated = CHANNEL_RATINGS[self.channel]
        self.v_max_v = check_range("v_max_v", v_max_v, 0.0, v_rated, "volts")
        self.i_limit_max_a = check_range("i_limit_max_a", i_limit_max_a, 0.0, i_rated, "amperes")
        self._ch = f"(@{self.channel})"

    def configure(self, v_out_v: float, i_limit_a: float) -> None:
        """Set output voltage (V) and current limit (A); both checked before anything is sent."""
        v = check_range("v_out_v", v_out_v, 0.0, self.v_max_v, "volts")
        i = check_range("i_limit_a", i_limit_a, 0.0, self.i_limit_max_a, "amperes")
        self.write(f"CURR {i:.4f},{self._ch}")
        self.write(f"VOLT {v:.4f},{self._ch}")

    def rails_on(self) -> None:
        """Power the board (output on)."""
        self.write(f"OUTP 1,{self._ch}")

    def rails_off(self) -> None:
        """Cut the board's power (output off)."""
        self.write(f"OUTP 0,{self._ch}")

    @property
    def is_on(self) -> bool:
        return self.query(f"OUTP? {self._ch}") in ("1", "ON")

    def voltage_setting_v(self) -> float:
        """Programmed output voltage (V)."""
        return self.query_float(f"VOLT? {self._ch}")

    def current_limit_a(self) -> float:
        """Programmed current limit (A)."""
        return self.query_float(f"CURR? {self._ch}")

    def voltage_v(self) -> float:
        """Measured output voltage (V)."""
        return self.query_float(f"MEAS:VOLT? {self._ch}")

    def current_a(self) -> float:
        """Measured output current (A)."""
        return self.query_float(f"MEAS:CURR? {self._ch}")

    def power_w(self) -> float:
        """Output power (W): measured voltage times measured current; 0 when the output is off."""
        return self.voltage_v() * self.current_a() if self.is_on else 0.0

    def snapshot(self) -> dict:
        """Identity, settings and readings, units in the keys (for a run record)."""
        on = self.is_on
        return {"idn": self.idn, "resource": self.resource_name, "channel": self.channel, "on": on,
                "v_set_v": self.voltage_setting_v(), "i_limit_a": self.current_limit_a(),
                "v_measured_v": self.voltage_v(), "i_measured_a": self.current_a() if on else 0.0}
