"""The LFSR block of the voltage-mode top on hil://, as its HDL has it: its ``lfsr_control`` instance leaves
``shift_cycle`` unconnected (neurram_top_voltage_mode.v:615-634 against neurram_top.v:616/624), so the end test
``clk_counter == shift_cycle-1`` (lfsr_control.v:371) never holds: the first shift never ends, nothing
reaches pipe 0xA1 (the RTL's zero words) and later shift and pulse triggers go unseen until the chip reset;
the SAR top's instance (neurram_top_sar.v:630-649) lacks it too. ``read_bits`` therefore refuses both tops
with a CapabilityError before anything is sent; the emulator still models the dead block for words sent by
hand (and says so in its violations); neurram_top is unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from neurram_lab.drivers import _lfsr_host as lfsr
from neurram_lab.drivers import neurram_top as nt
from neurram_lab.drivers.hil import connect, make_emulated_board
from neurram_lab.errors import CapabilityError


def _board(top):
    ok, emu = make_emulated_board(seed=3, bitstream=top)
    return connect(ok), emu


@pytest.mark.parametrize("top, lines", [("neurram_top_voltage_mode", "615-634"), ("neurram_top_sar", "630-649")])
def test_lfsr_read_is_refused_before_anything_is_sent_where_the_shift_never_ends(top, lines):
    board, emu = _board(top)
    with board:
        lfsr.preset(board)
        chain = emu.twin.circuit.core(0).lfsr
        a0 = chain.a.copy()
        staged = list(board._wi)
        counts = dict(emu.mvm_fsm.counts)
        with pytest.raises(CapabilityError) as err:
            lfsr.read_bits(board, 0, 2)
        msg = str(err.value)
        assert err.value.capability == "lfsr_readout" and err.value.value == top
        assert f"{top}.v:{lines}" in msg and "shift_cycle" in msg and "lfsr_control.v:371" in msg
        assert top not in err.value.limit and "neurram_top" in err.value.limit
        # nothing sent: no wire-in staged (cores, 0x10), no shift, the chains where the preset left them
        assert board._wi == staged and emu.mvm_fsm.counts == counts
        assert not emu.mvm_fsm.lfsr_stuck and not emu.violations
        assert np.array_equal(chain.a, a0)
        assert board.info().extra["lfsr_readout"] == nt.bitstream(top).lfsr_readout_unavailable
        assert board.read(np.array([0]), np.array([0]), np.array([0])).shape == (1,)  # the board still works


def test_voltage_mode_lfsr_shift_sent_by_hand_never_ends_and_reads_zeros():
    """The HDL's behaviour read_bits refuses to meet: the same words sent past it through the link."""
    board, emu = _board("neurram_top_voltage_mode")
    with board:
        lfsr.preset(board)
        chain = emu.twin.circuit.core(0).lfsr
        a0 = chain.a.copy()
        link = board.link
        if board.stage_wire_in(nt.WI_DEBUG, lfsr.lfsr_word(lfsr.N_CHAIN_BITS)):
            link.update_wire_ins()
        for _ in range(2):
            link.trigger(nt.TI_SPI, nt.T_LFSR_SHIFT)
            assert not np.any(lfsr.decode_state(link.pipe_out(nt.PO_LFSR, lfsr.LFSR_BYTES)))  # 0xA1 never written
        assert np.array_equal(chain.a, a0)  # no shift event: the twin's chains are where the preset left them
        assert emu.mvm_fsm.lfsr_stuck
        assert sum("never ends" in v for v in emu.violations) == 1  # the second read's trigger is not seen
        pulses = emu.mvm_fsm.counts["lfsr_pulses"]
        link.trigger(nt.TI_SPI, nt.T_LFSR_PULSE)  # ignored while the FSM shifts
        assert emu.mvm_fsm.counts["lfsr_pulses"] == pulses and not emu.mvm_fsm.lfsr_noise_v
        emu.mvm_fsm.reset(True)  # neurram_rst: idle again
        assert not emu.mvm_fsm.lfsr_stuck


def test_default_top_lfsr_read_is_unchanged():
    board, emu = _board("neurram_top")
    with board:
        lfsr.preset(board)
        assert np.any(lfsr.read_bits(board, 0, 1))
        assert not emu.mvm_fsm.lfsr_stuck and not [v for v in emu.violations if "never ends" in v]
