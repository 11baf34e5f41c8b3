"""The authors' design under Icarus Verilog with the project's vendor and board models (drivers.rtl)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from neurram_lab.drivers import neurram_top as nt
from neurram_lab.drivers.rtl import _build
from neurram_lab.drivers.rtl._board_side import EV_DAC, decode
from neurram_lab.errors import InputError


def test_default_and_voltage_mode_tops_elaborate(hdl_dir):
    for top in ("neurram_top", "neurram_top_voltage_mode"):
        assert _build.build(hdl_dir, top).is_file()


def test_sar_top_does_not_elaborate_as_published(hdl_dir):
    # neurram_top_sar.v's instance neurram_spi (line 552) connects .state(spi_state[i]) (line 576) to
    # neurram_spi_control, whose published port list (neurram_spi_control.v:10-40) has no such port:
    # iverilog's first error, in one line, at the instance's line
    with pytest.raises(InputError, match=r"neurram_top_sar\.v:552: error: port ``state'' is not a port"):
        _build.build(hdl_dir, "neurram_top_sar")


def test_bad_inputs_are_one_line_input_errors(hdl_dir, tmp_path):
    with pytest.raises(InputError, match="is not a folder"):
        _build.sources(tmp_path / "nope")
    with pytest.raises(InputError, match="has no neurram_top.v"):
        _build.sources(tmp_path)
    with pytest.raises(InputError, match="is not one of"):
        _build.sources(hdl_dir, "neurram_top_fast")
    for f in hdl_dir.iterdir():  # links, not copies, of the authors' files; one replaced by binary bytes
        (tmp_path / f.name).symlink_to(f)
    (tmp_path / "resistance_read.v").unlink()
    (tmp_path / "resistance_read.v").write_bytes(b"\x00\x01\x02binary")
    with pytest.raises(InputError, match="resistance_read.v' is not Verilog"):
        _build.sources(tmp_path)


def test_cli_bad_input_exits_2(hdl_dir, tmp_path):
    cases = [["--hdl", str(tmp_path / "nope")], ["--hdl", str(tmp_path)], ["--hdl", str(hdl_dir), "--top", "x"],
             ["--hdl", str(hdl_dir), "--ops", "0"], ["--hdl", str(hdl_dir), "--top", "neurram_top_sar"]]
    for argv in cases:
        p = subprocess.run([sys.executable, "-m", "neurram_lab.cli", "rtl-check", *argv, "--out", str(tmp_path)],
                           capture_output=True, text=True, env=dict(os.environ), timeout=120)
        assert p.returncode == 2, (argv, p.stderr)
        assert len(p.stderr.strip().splitlines()) == 1 and p.stderr.startswith("neurram: error: "), p.stderr
    assert "neurram_top_sar.v:552: error: port ``state'' is not a port of neurram_spi" in p.stderr, p.stderr


@pytest.fixture(scope="module")
def sim(hdl_dir):
    from neurram_lab.drivers.rtl.sim import RtlSim

    events = []
    s = RtlSim(_build.build(hdl_dir), on_events=events.extend)
    s.events = events
    yield s
    s.close()


def _wi(sim, wi, ep, value):
    wi[ep] = value
    sim.request("wi", wi)


def test_wirein_wireout_trigger_round_trip_through_the_design(sim):
    wi = [0] * 32
    _wi(sim, wi, nt.WI_RESET, nt.RESET_DAC_ADC | nt.RESET_CHIP)
    _wi(sim, wi, nt.WI_RESET, 0)
    st = sim.request("wo")[nt.WO_STATUS - 0x20]
    # dac_daisy_control after reset: FIFO empty (0x20 bit 3), shifter idle (bit 5), nothing else
    assert st == nt.ST_DAC_FIFO_EMPTY | nt.ST_DAC_IDLE
    # manual range (0x12 bit 18): 0x2B shows the 0x02 timing (neurram_top.v rram_t_shld/t_delta muxes)
    _wi(sim, wi, nt.WI_AUTORANGE_VREF, nt.AUTORANGE_MANUAL)
    _wi(sim, wi, nt.WI_READ_TIMING, 0x0123_0456)
    assert sim.request("wo")[nt.WO_AR_TIMING - 0x20] == 0x0123_0456
    # one DAC group: four words through WireIn 0x01 + trigger 0x40 bit 1, then the update trigger 0x41 bit 0
    sim.events.clear()
    code = 0x8A5C
    for word in nt.dac_group(1, 6, code):
        _wi(sim, wi, nt.WI_DAC, word)
        sim.request("trig", nt.TI_SYS, nt.T_DAC_PUSH)
        assert sim.request("wo")[0] & nt.ST_DAC_ACK  # fifo_wr_done
    for _ in range(200):
        if sim.request("wo")[0] & nt.ST_DAC_FIFO_EMPTY:
            break
    sim.request("trig", nt.TI_DAC, nt.T_DAC_UPDATE)
    for _ in range(200):
        if sim.request("wo")[0] & nt.ST_DAC_IDLE:
            break
    assert sim.request("wo")[0] & nt.ST_DAC_IDLE
    dacs = [decode(w)[1:] for w, _ in sim.events if decode(w)[0] == EV_DAC]
    assert dacs == [(1, 6, nt.CMD_WRITE_UPDATE, code)]  # decoded from dac_cs_b/dac_sck/dac_sdi
    frames = [decode(w)[1] for w, _ in sim.events if w >> 60 == 8]
    assert frames == [128]  # one CS-low frame of four 32-bit words
