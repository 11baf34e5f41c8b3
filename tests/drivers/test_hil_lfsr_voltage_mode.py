"""The LFSR block of the voltage-mode top on hil://, as its HDL has it: its ``lfsr_control`` instance leaves
``shift_cycle`` unconnected (neurram_top_voltage_mode.v:615-636 against neurram_top.v:616/624), so the end test
``clk_counter == shift_cycle-1`` (lfsr_control.v:371) never holds: the first shift never ends, nothing
reaches pipe 0xA1 (reads give zeros, as the RTL shows) and later shift and pulse triggers go unseen until
the chip reset. The emulator says so in its violations; neurram_top is unchanged."""

from __future__ import annotations

import numpy as np

from neurram_lab.drivers import _lfsr_host as lfsr
from neurram_lab.drivers import neurram_top as nt
from neurram_lab.drivers.hil import connect, make_emulated_board


def _board(top):
    ok, emu = make_emulated_board(seed=3, bitstream=top)
    return connect(ok), emu


def test_voltage_mode_lfsr_shift_never_ends_and_reads_zeros():
    board, emu = _board("neurram_top_voltage_mode")
    with board:
        lfsr.preset(board)
        chain = emu.twin.circuit.core(0).lfsr
        a0 = chain.a.copy()
        bits = lfsr.read_bits(board, 0, 2)
        assert not np.any(bits)  # the 0xA1 FIFO is never written
        assert np.array_equal(chain.a, a0)  # no shift event: the twin's chains are where the preset left them
        assert emu.mvm_fsm.lfsr_stuck
        assert sum("never ends" in v for v in emu.violations) == 1  # the second read's trigger is not seen
        pulses = emu.mvm_fsm.counts["lfsr_pulses"]
        board._link.trigger(nt.TI_SPI, nt.T_LFSR_PULSE)  # ignored while the FSM shifts
        assert emu.mvm_fsm.counts["lfsr_pulses"] == pulses and not emu.mvm_fsm.lfsr_noise_v
        emu.mvm_fsm.reset(True)  # neurram_rst: idle again
        assert not emu.mvm_fsm.lfsr_stuck


def test_default_top_lfsr_read_is_unchanged():
    board, emu = _board("neurram_top")
    with board:
        lfsr.preset(board)
        assert np.any(lfsr.read_bits(board, 0, 1))
        assert not emu.mvm_fsm.lfsr_stuck and not [v for v in emu.violations if "never ends" in v]
