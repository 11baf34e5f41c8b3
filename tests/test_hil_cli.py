"""neurram info / bench hil as a user runs them, board discovery by vendor id, the okusb:// factory without a board."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from drivers.discovery import usb_boards
from drivers.hil import VirtualBackend, make_virtual_device
from neurram_lab import BoardError, InputError, open_board


def neurram(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "neurram_lab.cli", *args], capture_output=True, text=True, timeout=timeout)


def test_info_runs_without_any_board():
    p = neurram("info", "--json")
    assert p.returncode == 0, p.stderr
    found = json.loads(p.stdout.strip().splitlines()[-1])
    assert isinstance(found["usb"]["boards"], list)
    assert set(found["visa"]["simulated"]) == {"GPIB0::5::INSTR", "GPIB0::24::INSTR"}
    assert found["twin"]["hil"]["spec"].startswith("hil://")
    assert "Opal Kelly VID 0x151f" in p.stdout


def test_discovery_finds_boards_by_opal_kelly_vendor_id():
    found = usb_boards(backend=VirtualBackend([make_virtual_device(5)]))
    assert found["note"] is None
    assert found["boards"] == [{"vid": "0x151f", "pid": "0x4e52", "bus": 1, "address": 7, "serial": "HIL-5"}]


def test_bench_hil_prints_a_ratio():
    p = neurram("bench", "hil", "--json", "--workload", "pulse+read", "--n", "2048", "--repeats", "1")
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout.strip().splitlines()[-1])
    assert s["identical"] is True and s["ratio"] > 0 and s["workload"] == "pulse+read"


def test_okusb_without_the_vendor_sdk_says_how_to_install_it():
    with pytest.raises(BoardError, match="not on PyPI.*FrontPanel SDK"):
        open_board("okusb://1234ABCD")
    with pytest.raises(BoardError, match="no Opal Kelly USB board"):
        open_board("okusb://1234ABCD?transport=usb")
    with pytest.raises(InputError, match="transport"):
        open_board("okusb://1234ABCD?transport=carrier-pigeon")


def test_hil_spec_options_are_checked():
    with pytest.raises(InputError, match="unknown hil:// options"):
        open_board("hil://?sed=3")
    with pytest.raises(InputError, match="takes no target"):
        open_board("hil://board7")
    with open_board("hil://?seed=3&timeout_ms=200&retries=1") as b:
        assert b.fp.timeout_ms == 200 and b.fp.retries == 1


def test_vendor_transport_drives_the_same_firmware_bit_identically():
    """OkFrontPanel (the okusb:// transport) against a stand-in of the vendor ``ok`` module."""
    import numpy as np

    from drivers import FpgaBoard
    from drivers._okfp import OkFrontPanel, list_serials
    from tests._ok_standin import ok_module

    dev = make_virtual_device(8)
    ok = ok_module({"1740000ABC": dev.firmware})
    assert list_serials(ok) == ["1740000ABC"]
    from neurram_lab import FrontPanelError

    with pytest.raises(FrontPanelError, match="DeviceNotOpen"):
        OkFrontPanel("NOPE", ok=ok)
    c, r, k = np.full(16, 1), np.arange(16), np.arange(16)
    out = []
    for b in (FpgaBoard(OkFrontPanel("1740000ABC", ok=ok), "okusb://1740000ABC"), open_board("sim://?seed=8")):
        with b:
            b.set_rails(v_wl_set=1.9)
            b.pulse("form", c, r, k, 4.8, 2e-6)
            b.pulse("set", c, r, k, 2.0, 1e-6)
            out.append((b.read(c, r, k).tobytes(), b.now()))
    assert out[0] == out[1]
