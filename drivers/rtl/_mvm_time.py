"""FPGA time of an MVM batch in ``neurram_top`` as the RTL spends it (the reference ``tests/rtl`` holds
``drivers.board_time`` to; checked there against the design's own busy clocks, ``hdl/board.v``
``mvm_cycle_clk`` / ``readout_clk``).

Read from the authors' HDL (file:line in weierwan/Neurram_48core HDL/):

- bit-serial cycles (``matmul_unsigned_helper.v:196-291``): per vector ``2 (bits + 1)`` cycles; each is an
  SPI write (``neurram_spi_control.v``: 16 pipe words in STATE_PIPE_IN, then STATE_SHIFT / STATE_SHIFT2 per
  bit, two 25 MHz clocks a bit, 256 bits per shift-multiplier unit, :179-265), about 14 FSM states of the
  12.5 MHz neuron clock, a CDS before the first cycle when 0x0E bit 0 is set (``neuron_control.v`` CDS1
  waits t_opamp, then 3 states), and ``num_pulses`` samples of SAMPLING, SAMPLING1 (t_sample),
  SAMPLING2 and INTEG1 (t_opamp), ``num_pulses`` doubling after every second cycle;
- multi-level readout (``neuron_multi_level_output.v:357-599``), per step: a compare-and-write
  (``neuron_control.v`` COMPARE_WRITE_MINUS1 waits t_opamp, ~12 more states) and a partial reset (MINUS2-5
  and RESET_MINUS_DONE wait t_opamp twice, ~6 more states), about 12 states of the readout FSM, and one SPI
  shift of 256 x the 0x0F multiplier bits (two 25 MHz clocks a bit); steps = the last neuron's flip + 1,
  at most 101.
"""

from __future__ import annotations

NEURON_CLK_S = 80e-9  # neurram_clk = clk_cnt[2] (neurram_top.v:107,117)
SPI_CLK_S = 40e-9  # spi_ctrl_clk = clk_cnt[1] (neurram_top.v:106,118)
PLANE_WORDS = 16
CYCLE_FSM_CLOCKS = 14  # matmul_unsigned_helper states around one cycle (neuron clocks)
SAMPLE_EXTRA_CLOCKS = 4  # SAMPLING, SAMPLING1's last, SAMPLING2, INTEG1's last
CDS_EXTRA_CLOCKS = 4
STEP_EXTRA_CLOCKS = 31  # compare (13), partial reset (6), readout FSM (12) beyond 3 t_opamp


def spi_write_s(multiplier: int, extra: int = 0) -> float:
    """One pipe-fed SPI write of one plane: its words, then 256 x ``multiplier`` + ``extra`` bits."""
    return (PLANE_WORDS + 2 * (256 * max(int(multiplier), 1) + int(extra))) * SPI_CLK_S


def cycles_s(bits_field: int, pulse_multiplier: int, spi_multiplier: int, t_opamp: int, t_sample: int,
             cds: bool = True) -> float:
    """One vector's bit-serial cycles (0x0E[4:2] = ``bits_field``, 0x0E[9:5] = ``pulse_multiplier``)."""
    total = (t_opamp + CDS_EXTRA_CLOCKS) * NEURON_CLK_S if cds else 0.0
    pulses = int(pulse_multiplier)
    for c in range(2 * (int(bits_field) + 1)):
        total += spi_write_s(spi_multiplier) + CYCLE_FSM_CLOCKS * NEURON_CLK_S
        total += pulses * (t_sample + t_opamp + SAMPLE_EXTRA_CLOCKS) * NEURON_CLK_S
        if c % 2 == 1:
            pulses = (pulses << 1) & 0xFF
    return total


def readout_step_s(readout_multiplier: int, t_opamp: int) -> float:
    """One step of the multi-level readout: compare and write, partial reset, the SPI shift out."""
    return (3 * t_opamp + STEP_EXTRA_CLOCKS) * NEURON_CLK_S + 2 * 256 * max(int(readout_multiplier), 1) * SPI_CLK_S
