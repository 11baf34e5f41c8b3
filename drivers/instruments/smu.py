"""Source-measure unit for single-cell work: I-V sweeps and forming with compliance."""

from __future__ import annotations

import numpy as np

from neurram_lab.errors import InputError

from ._scpi import ScpiInstrument, check_range


class Smu(ScpiInstrument):
    """SCPI SMU sourcing voltage and measuring current (``:SOUR:VOLT``, ``:SENS:CURR:PROT``, ``:MEAS:CURR?``).

    Parameters
    ----------
    resource, visa_library : see :class:`ScpiInstrument`
    v_max_v : float
        Largest |voltage| of a sweep (V) — the chip's 4 V pulse limit by default.
    form_v_max_v : float
        Largest forming voltage (V), 5 V (the thick-oxide device limit, SPEC §1).
    compliance_max_a : float
        Largest current compliance this driver will set (A).
    """

    def __init__(self, resource, visa_library: str = "", v_max_v: float = 4.0, form_v_max_v: float = 5.0, compliance_max_a: float = 1e-3):
        super().__init__(resource, visa_library)
        self.v_max_v = float(v_max_v)
        self.form_v_max_v = float(form_v_max_v)
        self.compliance_max_a = float(compliance_max_a)

    def _source(self, compliance_a: float) -> None:
        self.write(":SOUR:FUNC VOLT")
        self.write(f":SENS:CURR:PROT {compliance_a:.4E}")

    def iv_sweep(self, v_points_v, compliance_a: float = 1e-4) -> tuple[np.ndarray, np.ndarray]:
        """Step the voltage through ``v_points_v`` (V), measuring current (A) at each; output off after.

        Every point and the compliance are checked before anything is sent.
        Returns (v_v, i_a) float64 arrays.
        """
        v = np.atleast_1d(np.asarray(v_points_v, np.float64))
        if v.ndim != 1 or v.size == 0 or not np.all(np.isfinite(v)):
            raise InputError("v_points_v must be a non-empty 1-D array of finite volts")
        worst = float(v[np.argmax(np.abs(v))])
        check_range("v_sweep_v", worst, -self.v_max_v, self.v_max_v, "volts")
        c = check_range("compliance_a", compliance_a, 1e-9, self.compliance_max_a, "amperes")
        self._source(c)
        i = np.empty_like(v)
        self.write(":OUTP 1")
        try:
            for n, vn in enumerate(v):
                self.write(f":SOUR:VOLT {vn:.4f}")
                i[n] = self.query_float(":MEAS:CURR?")
        finally:
            self.inst.write(":SOUR:VOLT 0.0000")
            self.inst.write(":OUTP 0")
        return v, i

    def form(self, v_form_v: float, compliance_a: float, width_s: float = 1e-3) -> float:
        """One forming pulse of ``v_form_v`` (V) for ``width_s`` (s) under ``compliance_a`` (A).

        Returns the current (A) read during the pulse; the output is off afterwards.
        """
        v = check_range("v_form_v", v_form_v, 0.0, self.form_v_max_v, "volts")
        c = check_range("compliance_a", compliance_a, 1e-9, self.compliance_max_a, "amperes")
        w = check_range("width_s", width_s, 1e-6, 1.0, "seconds")
        self._source(c)
        self.write(f":SOUR:PULS:WIDT {w:.4E}")
        self.write(":OUTP 1")
        try:
            self.write(f":SOUR:VOLT {v:.4f}")
            return self.query_float(":MEAS:CURR?")
        finally:
            self.inst.write(":SOUR:VOLT 0.0000")
            self.inst.write(":OUTP 0")

    def snapshot(self) -> dict:
        return {"idn": self.idn, "compliance_a": self.query_float(":SENS:CURR:PROT?"), "on": self.query(":OUTP?") == "1"}
