"""What a user gets for the SAR top level (neurram_top_sar.v), which does not elaborate as published: its
neurram_spi instances (neurram_top_sar.v:552-576) connect a `state` port (:576) that neurram_spi_control.v
(ports :10-40) lacks. The RTL build refuses it in one line naming the defect and leaves nothing behind;
hil:// opens it, but refuses the LFSR state read (its lfsr_control instance, :630-649, has no shift_cycle)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from neurram_lab.drivers import _lfsr_host as lfsr
from neurram_lab.drivers import neurram_top as nt
from neurram_lab.drivers.hil import connect, make_emulated_board
from neurram_lab.errors import CapabilityError, InputError


def _hdl() -> Path:
    shared = os.environ.get("NEURRAM_SHARED")
    hdl = Path(shared or "/nonexistent") / "authors" / "HDL"
    if not (hdl / "neurram_top_sar.v").is_file():
        pytest.skip("the authors' HDL is not here ($NEURRAM_SHARED/authors/HDL/neurram_top_sar.v missing)")
    if shutil.which("iverilog") is None:
        pytest.skip("Icarus Verilog (iverilog) is not installed")
    return hdl


def test_sar_build_refusal_names_the_authors_defect_and_leaves_no_files(tmp_path, monkeypatch):
    from neurram_lab.drivers.rtl import _build

    hdl = _hdl()
    monkeypatch.setenv("NEURRAM_RTL_CACHE", str(tmp_path / "cache"))
    with pytest.raises(InputError) as err:
        _build.build(hdl, "neurram_top_sar")
    msg = str(err.value)
    assert "\n" not in msg
    assert "neurram_top_sar.v:552: error: port ``state'' is not a port of neurram_spi" in msg
    assert "defect of the published HDL" in msg and "neurram_spi_control.v:10-40" in msg
    cache = tmp_path / "cache"
    assert not cache.exists() or not any(p.is_file() for p in cache.rglob("*"))  # nothing half-written


def test_sar_board_on_hil_declares_and_refuses_the_lfsr_read():
    ok, emu = make_emulated_board(seed=1, bitstream="neurram_top_sar")
    with connect(ok) as board:
        why = board.info().extra["lfsr_readout"]
        assert "neurram_top_sar.v:630-649" in why and "shift_cycle" in why
        with pytest.raises(CapabilityError, match="neurram_top_sar"):
            lfsr.read_bits(board, 0)
        assert not emu.mvm_fsm.lfsr_stuck
    ok, _ = make_emulated_board(seed=1, bitstream="neurram_top")
    with connect(ok) as board:
        assert board.info().extra["lfsr_readout"] == "available"
    assert "neurram_top_sar" not in nt.LFSR_READOUT_BITSTREAMS and "neurram_top" in nt.LFSR_READOUT_BITSTREAMS


def test_every_fpga_board_declares_its_lfsr_readout_as_hil_does():
    """FpgaBoard.info() itself says whether the top's LFSR state can be read (a real board, rtl://), not only
    what hil:// adds: the bitstream's reason where it cannot, "available" where it can."""
    from neurram_lab.drivers import fpga_board

    for top in nt.BITSTREAMS:
        ok, _ = make_emulated_board(seed=1, bitstream=top)
        serial = sorted(ok.boards)[0]
        board = fpga_board.FpgaBoard(ok.okCFrontPanel(), f"okusb://{serial}", kind="okusb", serial=serial,
                                     bitstream=top)
        with board:
            want = nt.BITSTREAMS[top].lfsr_readout_unavailable or "available"
            assert board.info().extra["lfsr_readout"] == want, top
            assert (want == "available") == (top in nt.LFSR_READOUT_BITSTREAMS)
