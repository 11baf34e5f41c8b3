"""Source-measure unit for single-cell work (I-V sweeps, forming under compliance): a Keithley 2400.

Command set: Keithley Series 2400 SourceMeter User's Manual (2400S-900-01),
SCPI command reference: ``:SOURce:FUNCtion VOLTage``, ``:SOURce:VOLTage:MODE
FIXed``, ``:SOURce:VOLTage[:LEVel] <v>``, ``:SOURce:DELay <s>``,
``:SENSe:FUNCtion "CURRent"``, ``:SENSe:CURRent:PROTection <a>`` (compliance),
``:FORMat:ELEMents CURRent`` (so ``:READ?`` returns the current alone),
``:OUTPut 1|0``, ``:READ?`` and ``:SYSTem:ERRor?``; the same forms as
PyMeasure's ``Keithley2400``. Emulated for pyvisa-sim in
``data/instruments.yaml`` (``GPIB0::24::INSTR``, the 2400's factory address).
"""

from __future__ import annotations

import numpy as np

from neurram_lab.errors import InputError

from ._scpi import ScpiInstrument, check_range


class Keithley2400(ScpiInstrument):
    """Keithley 2400 SourceMeter sourcing voltage and measuring current.

    Parameters
    ----------
    resource, visa_library : see :class:`~drivers.instruments._scpi.ScpiInstrument`
    v_max_v : float
        Largest |voltage| of a sweep (V): the chip's 4 V pulse limit by default.
    form_v_max_v : float
        Largest forming voltage (V), 5 V (the thick-oxide device limit).
    compliance_max_a : float
        Largest current compliance this driver will set (A).
    """

    MODELS = ("MODEL 2400", "MODEL 2401")
    ERROR_QUERY = ":SYST:ERR?"

    def __init__(self, resource, visa_library: str = "", v_max_v: float = 4.0, form_v_max_v: float = 5.0,
                 compliance_max_a: float = 1e-3):
        super().__init__(resource, visa_library)
        self.v_max_v = check_range("v_max_v", v_max_v, 0.0, 21.0, "volts")  # the 2400's 20 V range
        self.form_v_max_v = check_range("form_v_max_v", form_v_max_v, 0.0, 21.0, "volts")
        self.compliance_max_a = check_range("compliance_max_a", compliance_max_a, 1e-9, 1.05, "amperes")

    def _source_voltage(self, compliance_a: float, delay_s: float) -> None:
        for cmd in (":SOUR:FUNC VOLT", ":SOUR:VOLT:MODE FIX", ':SENS:FUNC "CURR"',
                    f":SENS:CURR:PROT {compliance_a:.4E}", ":FORM:ELEM CURR", f":SOUR:DEL {delay_s:.4E}"):
            self.write(cmd)

    def _output_off(self) -> None:
        self.inst.write(":SOUR:VOLT 0.0000")
        self.inst.write(":OUTP 0")

    def iv_sweep(self, v_points_v, compliance_a: float = 1e-4, delay_s: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
        """Step the voltage through ``v_points_v`` (V), reading the current (A) at each; output off after.

        Every point, the compliance and the settling delay (s) are checked before
        anything is sent. Returns (v_v, i_a) float64 arrays.
        """
        v = np.atleast_1d(np.asarray(v_points_v, np.float64))
        if v.ndim != 1 or v.size == 0 or not np.all(np.isfinite(v)):
            raise InputError("v_points_v must be a non-empty 1-D array of finite volts")
        worst = float(v[np.argmax(np.abs(v))])
        check_range("v_sweep_v", worst, -self.v_max_v, self.v_max_v, "volts")
        c = check_range("compliance_a", compliance_a, 1e-9, self.compliance_max_a, "amperes")
        d = check_range("delay_s", delay_s, 0.0, 10.0, "seconds")
        self._source_voltage(c, d)
        i = np.empty_like(v)
        self.write(":OUTP 1")
        try:
            for n, vn in enumerate(v):
                self.write(f":SOUR:VOLT {vn:.4f}")
                i[n] = self.query_float(":READ?")
        finally:
            self._output_off()
        return v, i

    def form(self, v_form_v: float, compliance_a: float, width_s: float = 1e-3) -> float:
        """One forming step of ``v_form_v`` (V) under ``compliance_a`` (A).

        The 2400 holds the level for its source delay ``width_s`` (s) before the
        reading (plus the reading's integration time), then the output goes off.
        Returns the current (A) read at the level.
        """
        v = check_range("v_form_v", v_form_v, 0.0, self.form_v_max_v, "volts")
        c = check_range("compliance_a", compliance_a, 1e-9, self.compliance_max_a, "amperes")
        w = check_range("width_s", width_s, 0.0, 1.0, "seconds")
        self._source_voltage(c, w)
        self.write(":OUTP 1")
        try:
            self.write(f":SOUR:VOLT {v:.4f}")
            return self.query_float(":READ?")
        finally:
            self._output_off()

    def snapshot(self) -> dict:
        """Identity and settings, units in the keys (for a run record)."""
        return {"idn": self.idn, "resource": self.resource_name, "on": self.query(":OUTP?") == "1",
                "v_source_v": self.query_float(":SOUR:VOLT?"), "compliance_a": self.query_float(":SENS:CURR:PROT?")}
