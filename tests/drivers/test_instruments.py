"""Bench instruments: the real pyvisa stack against pyvisa-sim (data/instruments.yaml), exact command strings pinned.

Each emulated device answers the command forms of the product its driver
names (Keysight E36312A, Keithley 2400, Lake Shore 335); a command outside
those forms is an error on the emulated instrument, so a driver that drifts
from the manual's command set fails here.
"""

from __future__ import annotations

import numpy as np
import pytest

from neurram_lab.drivers.instruments import InstrumentError, Keithley2400, KeysightE36312A, LakeShore335
from neurram_lab._data import data_path
from neurram_lab.errors import InputError, LimitError

SIM = f"{data_path('instruments.yaml')}@sim"


@pytest.fixture(autouse=True)
def emulated_335_at_room_temperature():
    """pyvisa keeps one pyvisa-sim library per file in a process: put the emulated 335 back after each test."""
    yield
    import pyvisa

    inst = pyvisa.ResourceManager(SIM).open_resource("ASRL1::INSTR", read_termination="\r\n", write_termination="\r\n")
    for cmd in ("SIM:KRDG A,295.000", "SIM:HTR 1,0.0", "SETP 1,295.000", "RANGE 1,0", "RAMP 1,1,0.0"):
        inst.write(cmd)
    inst.query("*ESR?")
    inst.close()


class Recording:
    """The real pyvisa-sim resource, with every written line kept (expected-protocol style)."""

    def __init__(self, name, **kw):
        import pyvisa

        self.inst = pyvisa.ResourceManager(SIM).open_resource(name, **kw)
        self.sent: list[str] = []

    def write(self, cmd):
        self.sent.append(cmd)
        return self.inst.write(cmd)

    def query(self, cmd):
        self.sent.append(cmd)
        return self.inst.query(cmd)

    def __getattr__(self, name):
        return getattr(self.inst, name)

    def commands(self):
        """What was sent, error-queue reads left out."""
        return [c for c in self.sent if c not in ("SYST:ERR?", ":SYST:ERR?", "*ESR?")]


def test_e36312a_commands_limits_and_power():
    res = Recording("GPIB0::5::INSTR", read_termination="\n", write_termination="\n")
    psu = KeysightE36312A(res, v_max_v=5.5, i_limit_max_a=2.0)
    assert psu.model == "E36312A" and psu.idn.startswith("Keysight Technologies,E36312A,")
    psu.configure(5.0, 1.5)
    psu.rails_on()
    assert res.commands() == ["*IDN?", "CURR 1.5000,(@1)", "VOLT 5.0000,(@1)", "OUTP 1,(@1)"]
    assert res.sent.count("SYST:ERR?") == 3, "every setting is followed by an error-queue read"
    assert psu.is_on and psu.voltage_setting_v() == 5.0 and psu.current_limit_a() == 1.5
    res.inst.write("SIM:VOLT 4.990000,(@1)")  # script what the supply measures
    res.inst.write("SIM:CURR 0.640000,(@1)")
    assert psu.current_a() == pytest.approx(0.64)
    assert psu.power_w() == pytest.approx(4.99 * 0.64)
    assert res.sent[-3:] == ["OUTP? (@1)", "MEAS:VOLT? (@1)", "MEAS:CURR? (@1)"]
    snap = psu.snapshot()
    assert snap["v_set_v"] == 5.0 and snap["i_measured_a"] == pytest.approx(0.64) and snap["channel"] == 1
    psu.rails_off()
    assert res.sent[-2:] == ["OUTP 0,(@1)", "SYST:ERR?"] and psu.power_w() == 0.0
    n = len(res.sent)
    with pytest.raises(LimitError, match="v_out_v"):
        psu.configure(12.0, 1.0)
    with pytest.raises(LimitError, match="i_limit_a"):
        psu.configure(5.0, 4.0)
    with pytest.raises(LimitError, match="v_out_v"):
        psu.configure(float("nan"), 1.0)
    assert len(res.sent) == n, "a rejected setting sends nothing"
    with pytest.raises(InstrumentError, match="Command error"):
        psu.write("VOLT 5")  # no channel list: not a form the emulation (or this driver) uses
    with pytest.raises(LimitError, match="v_max_v"):
        KeysightE36312A(res, v_max_v=7.0)  # above channel 1's 6 V rating
    psu.close()


def test_keithley_2400_sweep_and_forming_with_compliance():
    res = Recording("GPIB0::24::INSTR", read_termination="\n", write_termination="\n")
    smu = Keithley2400(res, v_max_v=2.0, form_v_max_v=5.0, compliance_max_a=1e-3)
    assert smu.model == "MODEL 2400"
    res.inst.write("SIM:CURR 1.500000E-05")
    v, i = smu.iv_sweep(np.linspace(0, 0.5, 3), compliance_a=1e-4, delay_s=1e-3)
    assert v.shape == i.shape == (3,) and np.all(i == pytest.approx(1.5e-5))
    assert res.commands() == [
        "*IDN?", ":SOUR:FUNC VOLT", ":SOUR:VOLT:MODE FIX", ':SENS:FUNC "CURR"', ":SENS:CURR:PROT 1.0000E-04",
        ":FORM:ELEM CURR", ":SOUR:DEL 1.0000E-03", ":OUTP 1",
        ":SOUR:VOLT 0.0000", ":READ?", ":SOUR:VOLT 0.2500", ":READ?", ":SOUR:VOLT 0.5000", ":READ?",
        ":SOUR:VOLT 0.0000", ":OUTP 0"]
    assert smu.query(":OUTP?") == "0", "output left off"
    n = len(res.sent)
    with pytest.raises(LimitError, match="v_sweep_v"):
        smu.iv_sweep([0.0, -2.5])
    with pytest.raises(InputError):
        smu.iv_sweep([])
    with pytest.raises(LimitError, match="compliance_a"):
        smu.form(4.5, 5e-3)
    with pytest.raises(LimitError, match="v_form_v"):
        smu.form(5.5, 1e-4)
    assert len(res.sent) == n
    assert smu.form(4.5, 1e-4, width_s=1e-4) == pytest.approx(1.5e-5)
    sent = res.commands()[res.commands().index(":OUTP?") + 1:]
    assert sent[-6:] == [":SOUR:DEL 1.0000E-04", ":OUTP 1", ":SOUR:VOLT 4.5000", ":READ?", ":SOUR:VOLT 0.0000", ":OUTP 0"]
    snap = smu.snapshot()
    assert snap["compliance_a"] == pytest.approx(1e-4) and snap["on"] is False


def test_lakeshore_335_setpoint_ramp_heater_and_errors():
    import pyvisa

    with LakeShore335("ASRL1::INSTR", SIM) as stage:  # opened by name: the 335's serial settings
        assert stage.inst.baud_rate == 57600 and stage.inst.data_bits == 7
        assert stage.inst.parity == pyvisa.constants.Parity.odd
        assert stage.inst.read_termination == stage.inst.write_termination == "\r\n"
        assert stage.model == "MODEL335"
    res = Recording("ASRL1::INSTR", read_termination="\r\n", write_termination="\r\n")
    stage = LakeShore335(res)
    assert stage.temperature_k() == pytest.approx(295.0)
    stage.set_temperature(358.0, rate_k_per_min=5.0, heater_range=3)
    assert res.commands() == ["*IDN?", "KRDG? A", "RAMP 1,1,5.0", "SETP 1,358.000", "RANGE 1,3"]
    assert res.sent.count("*ESR?") == 3, "every command is followed by a *ESR? read"
    snap = stage.snapshot()
    assert snap == {"idn": stage.idn, "resource": "ASRL1::INSTR", "output": 1, "sensor_input": "A",
                    "setpoint_k": 358.0, "temperature_k": 295.0, "heater_pct": 0.0, "heater_range": "high",
                    "ramp_k_per_min": 5.0}
    assert res.sent[-5:] == ["SETP? 1", "KRDG? A", "HTR? 1", "RANGE? 1", "RAMP? 1"]
    n = len(res.sent)
    with pytest.raises(LimitError, match="t_k"):
        stage.set_temperature(500.0)
    with pytest.raises(LimitError, match="rate_k_per_min"):
        stage.set_temperature(358.0, rate_k_per_min=60.0)
    with pytest.raises(InputError, match="heater_range"):
        stage.set_temperature(358.0, heater_range=0)
    assert len(res.sent) == n, "a rejected setting sends nothing"
    with pytest.raises(InstrumentError, match=r"command error \(\*ESR\? 32\) after 'SETP 1,2000.000'"):
        stage.write("SETP 1,2000.000")  # beyond what the controller takes
    with pytest.raises(InstrumentError, match="did not settle at 358.000 K"):
        stage.wait_stable(358.0, tol_k=0.5, timeout_s=0.05, poll_s=0.01)
    res.inst.write("SIM:KRDG A,357.800")
    assert stage.wait_stable(358.0, tol_k=0.5, timeout_s=1.0, poll_s=0.0) == pytest.approx(357.8)
    stage.heater_off()
    assert res.commands()[-1] == "RANGE 1,0" and stage.heater_range() == 0


def test_a_driver_refuses_another_instrument():
    with pytest.raises(InstrumentError, match="not a MODEL335"):
        LakeShore335(Recording("GPIB0::24::INSTR", read_termination="\n", write_termination="\n"))
    with pytest.raises(InstrumentError, match="cannot open VISA resource"):
        KeysightE36312A("GPIB0::5::INSTR", "/nonexistent/instruments.yaml@sim")


# --- an experiment with the stage: characterize relaxation at a held temperature, on the twin --------------

SMALL = dict(levels_s=[10e-6, 20e-6], until_s=2.0, n_times=3, cells_per_level=8, cores=(0,))


def test_relaxation_holds_and_records_the_stage_temperature(tmp_path):
    from neurram_lab import open_board, read_run
    from neurram_lab.experiments import relaxation

    res = Recording("ASRL1::INSTR", read_termination="\r\n", write_termination="\r\n")
    stage = LakeShore335(res, poll_s=0.0)
    res.inst.write("SIM:KRDG A,358.120")  # the emulated stage has reached its set point
    res.inst.write("SIM:HTR 1,41.5")
    with open_board("sim://", seed=5) as board:
        s = relaxation.run(board, tmp_path, stage=stage, temperature_k=358.0, stage_tolerance_k=0.5, **SMALL)
    sent = res.commands()
    assert sent[1:7] == ["RAMP 1,1,10.0", "SETP 1,358.000", "RANGE 1,3", "KRDG? A", "KRDG? A", "KRDG? A"]
    run = read_run(s["run_file"])
    assert run.record["parameters"]["temperature_k"] == 358.0
    rec = run.record["summary"]["stage"]
    assert rec == s["stage"]
    assert rec["idn"].startswith("LSCI,MODEL335,") and rec["resource"] == "ASRL1::INSTR"
    assert rec["setpoint_k"] == 358.0 and rec["temperature_k_settled"] == pytest.approx(358.12)
    assert rec["temperature_k_last"] == pytest.approx(358.12) and rec["heater_range"] == "high"
    assert rec["ramp_k_per_min"] == 10.0
    tab = run.tables["stage"]
    assert len(tab) == 1 + len(s["times_s"]) == rec["readings"], "one reading at the start, one per read time"
    assert np.all(tab["temperature_k"] == 358.12) and np.all(tab["setpoint_k"] == 358.0)
    assert np.allclose(tab["heater_pct"], 41.5) and np.all(np.diff(tab["t_board_s"]) > 0)
    import h5py

    with h5py.File(s["run_file"], "r") as f:
        assert f["tables/stage/temperature_k"].attrs["units"] == "K"


def test_relaxation_refuses_a_stage_temperature_before_any_board_call(tmp_path):
    from neurram_lab import open_board
    from neurram_lab.experiments import relaxation

    res = Recording("ASRL1::INSTR", read_termination="\r\n", write_termination="\r\n")
    stage = LakeShore335(res, poll_s=0.0)
    with open_board("sim://", seed=5) as board:
        with pytest.raises(LimitError, match="temperature_k"):
            relaxation.run(board, tmp_path, stage=stage, temperature_k=500.0, **SMALL)
        with pytest.raises(InputError, match="needs a thermal stage"):
            relaxation.run(board, tmp_path, temperature_k=358.0, **SMALL)
        with pytest.raises(InstrumentError, match="did not settle"):  # the emulated stage stays at 295 K
            relaxation.run(board, tmp_path, stage=stage, temperature_k=358.0, stage_timeout_s=0.0, **SMALL)
        assert board.counters()["pulses"] == 0 and board.counters()["reads"] == 0
    assert not list(tmp_path.glob("*.h5")), "no run file when the stage did not settle"


def test_relaxation_cli_with_the_emulated_stage_and_its_replay(tmp_path, capsys):
    import json

    from neurram_lab import read_run
    from neurram_lab.cli import main as cli_main

    args = ["characterize", "relaxation", "--levels-us", "10,20", "--until-s", "2", "--n-times", "3",
            "--cells-per-level", "8", "--stage", "ASRL1::INSTR", "--visa-library", SIM,
            "--temperature-k", "358", "--stage-timeout-s", "30", "--seed", "2", "--out", str(tmp_path), "--json"]
    # the CLI opens its own resource on the same (per-process) pyvisa-sim library: script the sensor there
    Recording("ASRL1::INSTR", read_termination="\r\n", write_termination="\r\n").inst.write("SIM:KRDG A,358.040")
    assert cli_main(args) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    run = read_run(out["run_file"])
    assert run.record["summary"]["stage"]["temperature_k_settled"] == 358.04
    assert run.record["summary"]["stage"]["setpoint_k"] == 358.0
    assert len(run.tables["stage"]) == 1 + len(out["times_s"])
    assert cli_main(["replay", out["run_file"], "--out", str(tmp_path / "replay")]) == 0
    said = capsys.readouterr().out
    assert "summary identical" in said and "Stage (MODEL335): held 358 K, read 358.04-358.04 K" in said
    assert cli_main(["characterize", "relaxation", "--temperature-k", "358", "--out", str(tmp_path)]) != 0
    assert "go together" in capsys.readouterr().err
