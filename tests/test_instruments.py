"""Bench instruments: real pyvisa against pyvisa-sim (data/instruments.yaml), pyserial against a pty peer."""

from __future__ import annotations

import numpy as np
import pytest
import serial

from drivers.instruments import DcSupply, InstrumentError, Smu, StageEmulator, ThermalStage
from neurram_lab.errors import LimitError
from neurram_lab._data import data_path

SIM = f"{data_path('instruments.yaml')}@sim"


class Recording:
    """The real pyvisa-sim resource, with every written line kept (expected-protocol style)."""

    def __init__(self, name):
        import pyvisa

        self.inst = pyvisa.ResourceManager(SIM).open_resource(name, read_termination="\n", write_termination="\n")
        self.sent: list[str] = []

    def write(self, cmd):
        self.sent.append(cmd)
        return self.inst.write(cmd)

    def __getattr__(self, name):
        return getattr(self.inst, name)


def test_dc_supply_protocol_limits_and_power():
    res = Recording("GPIB0::5::INSTR")
    psu = DcSupply(res, v_max_v=5.5, i_limit_max_a=2.0)
    assert psu.idn.startswith("NEURRAM-SIM,DC-SUPPLY")
    psu.configure(5.0, 1.5)
    psu.rails_on()
    assert res.sent == ["CURR 1.5000", "VOLT 5.0000", "OUTP 1"]
    assert psu.is_on and psu.voltage_v() == 5.0
    res.inst.write("SIM:CURR 0.640000")  # script what the supply measures
    assert psu.current_a() == pytest.approx(0.64)
    assert psu.power_w() == pytest.approx(3.2)
    psu.rails_off()
    assert psu.power_w() == 0.0
    n = len(res.sent)
    with pytest.raises(LimitError, match="v_out_v"):
        psu.configure(12.0, 1.0)
    with pytest.raises(LimitError, match="i_limit_a"):
        psu.configure(5.0, 4.0)
    assert len(res.sent) == n, "a rejected setting sends nothing"
    with pytest.raises(InstrumentError, match="Command error"):
        psu.write("BOGUS")
    assert psu.snapshot()["v_out_v"] == 5.0
    psu.close()


def test_smu_sweep_and_forming_with_compliance():
    res = Recording("GPIB0::24::INSTR")
    smu = Smu(res, v_max_v=2.0, form_v_max_v=5.0, compliance_max_a=1e-3)
    res.inst.write("SIM:CURR 1.500000E-05")
    v, i = smu.iv_sweep(np.linspace(0, 0.5, 6), compliance_a=1e-4)
    assert v.shape == i.shape == (6,) and np.all(i == pytest.approx(1.5e-5))
    assert res.sent[:3] == [":SOUR:FUNC VOLT", ":SENS:CURR:PROT 1.0000E-04", ":OUTP 1"]
    assert [s for s in res.sent if s.startswith(":SOUR:VOLT")][:6] == [f":SOUR:VOLT {x:.4f}" for x in np.linspace(0, 0.5, 6)]
    assert res.sent[-2:] == [":SOUR:VOLT 0.0000", ":OUTP 0"], "output left safe"
    assert smu.query(":OUTP?") == "0"
    n = len(res.sent)
    with pytest.raises(LimitError, match="v_sweep_v"):
        smu.iv_sweep([0.0, -2.5])
    with pytest.raises(LimitError, match="compliance_a"):
        smu.form(4.5, 5e-3)
    with pytest.raises(LimitError, match="v_form_v"):
        smu.form(5.5, 1e-4)
    assert len(res.sent) == n
    assert smu.form(4.5, 1e-4, width_s=1e-4) == pytest.approx(1.5e-5)
    assert ":SENS:CURR:PROT 1.0000E-04" in res.sent[n:] and ":SOUR:VOLT 4.5000" in res.sent[n:]
    assert smu.snapshot()["compliance_a"] == pytest.approx(1e-4)


def test_thermal_stage_bytes_on_loop():
    """loop:// echoes: pins the exact bytes the driver sends."""
    stage = ThermalStage("loop://", timeout_s=0.2)
    port = stage.port
    port.write(b"")  # loop is open
    with pytest.raises(InstrumentError):  # an echo is not an answer it accepts
        stage.set_temperature(85.0, rate_c_per_min=10.0)
    stage.close()
    raw = serial.serial_for_url("loop://", timeout=0.1)
    raw.write(b"RATE 10.0\n")
    assert raw.readline() == b"RATE 10.0\n"


def test_thermal_stage_over_a_pty_peer():
    with StageEmulator(t_start_c=25.0, speedup=600.0) as emu, ThermalStage(emu.port, timeout_s=1.0) as stage:
        assert stage.identify().startswith("NEURRAM-SIM,STAGE")
        assert stage.temperature_c() == pytest.approx(25.0, abs=0.5)
        stage.set_temperature(85.0, rate_c_per_min=30.0)  # 2 min of model time = 0.2 s wall
        t = stage.wait_stable(85.0, tol_c=0.5, timeout_s=5.0, poll_s=0.02)
        assert abs(t - 85.0) <= 0.5
        assert emu.received[:4] == ["*IDN?", "TEMP?", "RATE 30.0", "SETP 85.00"]
        n = len(emu.received)
        with pytest.raises(LimitError, match="t_c"):
            stage.set_temperature(300.0)
        assert len(emu.received) == n
        emu.t_range_c = (-40.0, 100.0)  # the stage itself refuses
        with pytest.raises(InstrumentError, match="ERR 2"):
            stage.set_temperature(120.0)
        with pytest.raises(InstrumentError, match="did not reach"):
            stage.wait_stable(-10.0, tol_c=0.1, timeout_s=0.1, poll_s=0.02)
