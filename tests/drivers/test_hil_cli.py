"""neurram info as a user runs it, board discovery by vendor id, the okusb:// factory with and without the
vendor ``ok`` module, hil:// options, and a trace of what would be sent."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from neurram_lab.drivers import neurram_top as nt
from neurram_lab.drivers._okfp import list_serials
from neurram_lab.drivers.discovery import usb_boards
from neurram_lab import BoardError, FrontPanelError, InputError, open_board
from tests._ok_standin import UsbListing, install_ok


def neurram(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "neurram_lab.cli", *args], capture_output=True, text=True, timeout=timeout)


def test_info_runs_without_any_board():
    p = neurram("info", "--json")
    assert p.returncode == 0, p.stderr
    found = json.loads(p.stdout.strip().splitlines()[-1])
    assert isinstance(found["usb"]["boards"], list)
    assert set(found["visa"]["simulated"]) == {"GPIB0::5::INSTR", "GPIB0::24::INSTR", "ASRL1::INSTR"}
    assert found["twin"]["hil"]["spec"].startswith("hil://")
    assert "Opal Kelly VID 0x151f" in p.stdout


def test_discovery_finds_boards_by_opal_kelly_vendor_id():
    found = usb_boards(backend=UsbListing([(0x151F, 0x0020), (0x046D, 0xC077)]))
    assert found["note"] is None
    assert found["boards"] == [{"vid": "0x151f", "pid": "0x0020", "bus": 1, "address": 7, "serial": None}]


def test_okusb_without_the_vendor_sdk_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ok", None)  # import ok fails, as on a machine without the SDK
    with pytest.raises(BoardError, match="not on PyPI.*FrontPanel SDK"):
        open_board("okusb://1234ABCD")
    with pytest.raises(InputError, match="unknown okusb:// options"):
        open_board("okusb://1234ABCD?transport=usb")


def test_okusb_opens_through_the_vendor_module_and_runs_the_same_code(monkeypatch, tmp_path):
    ok = install_ok(monkeypatch, serials=("1740000ABC",), seed=8)
    assert list_serials(ok) == ["1740000ABC"]
    with pytest.raises(FrontPanelError, match="DeviceNotOpen"):
        open_board("okusb://NOPE")
    with pytest.raises(FrontPanelError, match="FileError"):
        open_board(f"okusb://1740000ABC?bitfile={tmp_path / 'missing.bit'}")
    bit = tmp_path / "neurram_top.bit"
    bit.write_bytes(b"\0" * 64)
    c, r, k = np.full(16, 1), np.arange(16), np.arange(16)
    with open_board(f"okusb://1740000ABC?bitfile={bit}&trace={tmp_path / 't.jsonl'}") as b:
        info = b.info()
        assert info.kind == "okusb" and info.serial == "1740000ABC" and info.firmware == "neurram_top"
        assert b.capabilities().clock == "host"
        b.pulse("form", c, r, k, 4.8, 2e-6)
        g = b.read(c, r, k)
        emu = ok.boards["1740000ABC"]
        assert emu.configured_from == str(bit) and emu.violations == []
        assert np.allclose(g, emu.twin.true_conductance_s(c, r, k), rtol=0.25, atol=1e-6)
        t0 = b.now()
        b.wait(0.01)
        assert b.now() >= t0 + 0.01
    lines = (tmp_path / "t.jsonl").read_text().splitlines()
    first = [json.loads(x) for x in lines[:6]]
    assert [x["op"] for x in first[:3]] == ["OpenBySerial", "ConfigureFPGA", "IsFrontPanelEnabled"]
    assert first[3] == {"op": "SetWireInValue", "ep": 0, "value": 3, "mask": 0xFFFFFFFF, "board_op": "open"}
    assert json.loads(lines[-1])["op"] == "Close"


def test_hil_spec_options_are_checked():
    with pytest.raises(InputError, match="unknown hil:// options"):
        open_board("hil://?sed=3")
    with pytest.raises(InputError, match="takes no target"):
        open_board("hil://board7")
    with pytest.raises(InputError, match="bitstream"):
        open_board("hil://?bitstream=neurram_top_v2")
    with pytest.raises(InputError, match="read_cycles"):
        open_board("hil://?read_cycles=2&ignore_cycles=2")
    with open_board("hil://?seed=3&bitstream=neurram_top_sar&read_cycles=3&ignore_cycles=1") as b:
        assert b.info().extra["bitstream"] == "neurram_top_sar" and b.read_cycles == 3


def test_hil_trace_shows_only_neurram_top_endpoints(tmp_path):
    path = tmp_path / "t.jsonl"
    with open_board(f"hil://?seed=1&trace={path}") as b:
        b.pulse("set", [0, 0], [1, 2], [3, 3], 1.5, 1e-6)
        b.read([0, 0], [1, 2], [3, 3])
    recs = [json.loads(x) for x in path.read_text().splitlines()]
    top = nt.BITSTREAMS["neurram_top"]
    for x in recs:
        if x["op"] == "SetWireInValue":
            assert top.has("wire_in", x["ep"])
        elif x["op"] == "ActivateTriggerIn":
            assert top.has("trigger", x["ep"], x["bit"])
        elif x["op"] == "GetWireOutValue":
            assert top.has("wire_out", x["ep"])
    assert {x["board_op"] for x in recs} >= {"open", "rails", "select", "pulse", "read", "close"}
    assert {"op": "ActivateTriggerIn", "ep": 64, "bit": 2, "board_op": "pulse"} in recs


def test_info_command_lives_in_the_cli_and_discovery_in_the_drivers():
    from neurram_lab.cli import cmd_info
    from neurram_lab.cli.cli import COMMAND_MODULES
    from neurram_lab.drivers import discovery

    assert cmd_info.COMMAND == (None, "info") and "neurram_lab.cli.cmd_info" in COMMAND_MODULES
    assert not hasattr(discovery, "COMMAND") and not hasattr(discovery, "main")
