"""The chip's LFSR block through the authors' bitstream (lfsr_control.v): the host side (drivers._lfsr_host)
against the emulated FPGA (drivers.hil._mvm_fsm) and the twin's LFSR chains behind it."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from neurram_lab.drivers import _lfsr_host as lfsr
from neurram_lab.drivers import neurram_top as nt
from neurram_lab.drivers.hil import connect, make_emulated_board
from neurram_lab.errors import InputError


def _hil(seed=7):
    ok, emu = make_emulated_board(seed=seed)
    trace = []
    board = connect(ok, spec=f"hil://?seed={seed}", observers=[trace.append])
    return board, emu, trace


def test_lfsr_word_is_the_authors_layout_and_refuses_fields_that_do_not_fit():
    # lfsr_control.py setup_lfsr: cycle << 12 | pulse width; the sample time stays in [11:4]
    assert lfsr.lfsr_word(256, 3, 0) == 256 << 12 | 3
    assert lfsr.lfsr_word(256) == 256 << 12 | 2 << 4
    for bad in ({"shift_cycles": 0}, {"shift_cycles": 512}, {"shift_cycles": 256, "pulse_width": 16},
                {"shift_cycles": 2.5}, {"shift_cycles": True}):
        with pytest.raises(InputError, match="0x10"):
            lfsr.lfsr_word(**{"pulse_width": 0, **bad})
    with pytest.raises(InputError, match="64 bytes"):
        lfsr.decode_state(bytes(63))


def test_lfsr_read_on_hil_gives_the_twins_chains_and_advances_them():
    board, emu, trace = _hil()
    with board:
        chain = emu.twin.circuit.core(9).lfsr
        a0, b0 = chain.a.copy(), chain.b.copy()
        want = copy.deepcopy(chain).shift_out(2 * 256)  # what the next two reads must give
        got = lfsr.read_bits(board, 9, reads=2)
        assert got.shape == (2, 2, 256)
        # bit i of each register is the bit the chain gave at clock i: chain A's state read from its end
        assert np.array_equal(got[0, 0], a0[::-1]) and np.array_equal(got[0, 1], b0)
        assert np.array_equal(got[:, 0].reshape(-1), want[:, 0]) and np.array_equal(got[:, 1].reshape(-1), want[:, 1])
        assert chain.steps == 512 and not np.array_equal(got[0], got[1])
        calls = [(r["op"], r.get("ep")) for r in trace]
        assert calls.count(("ActivateTriggerIn", nt.TI_SPI)) == 2 and calls.count(("ReadFromPipeOut", nt.PO_LFSR)) == 2
        assert emu.wire_in[nt.WI_DEBUG] == lfsr.lfsr_word(256)
        # the preset sets every flip-flop: the next read is all ones, and the one after is not
        lfsr.preset(board)
        assert emu.wire_in[nt.WI_LFSR] == 0
        after = lfsr.read_bits(board, 9, reads=2)
        assert after[0].all() and not after[1].all()
        assert not emu.violations


def test_lfsr_fsm_edge_cases_follow_the_hdl():
    ok, emu = make_emulated_board(seed=3)
    f = emu.mvm_fsm
    emu.core_enable[4] = True
    emu.wire_in[nt.WI_DEBUG] = 8 << 12  # 8 clocks: the bits land at the top of each register
    f.lfsr_shift_trigger()
    regs = lfsr.decode_state(f.pipe_out_lfsr(64))
    assert not regs[:, :248].any()
    emu.wire_in[nt.WI_DEBUG] = 0  # never ends on hardware: refused, nothing written
    f.lfsr_shift_trigger()
    assert f.lfsr_fifo.size == 0 and "never leaves" in emu.violations[-1]
    emu.wire_in[nt.WI_DEBUG] = 256 << 12
    for _ in range(3):  # a 32-word FIFO holds two reads; the third is lost
        f.lfsr_shift_trigger()
    assert f.lfsr_fifo.size == 32
    assert f.pipe_out_lfsr(200)[128:] == bytes(72)  # zeros past the FIFO's end
