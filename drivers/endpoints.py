"""The FrontPanel endpoint map of the NeuRRAM test-board firmware, as named constants.

Addresses and bit fields follow the authors' firmware (SPEC §1: wire-ins
0x00–0x17, wire-outs 0x20–0x2B, trigger-ins 0x40–0x45, pipe-ins 0x80/0x81,
pipe-outs 0xA0–0xA3). Where this project's firmware adds something the
authors' design does not have — the batch sequencer that runs a whole
vectorised Board call from one pipe-in block — the constant says so
(``# ext``) and lives in an endpoint the authors left unused.

Nothing here talks to hardware; :mod:`drivers.fpga_board` and the emulated
firmware (:mod:`drivers.hil.firmware`) both read these names, so the host and
the device can never disagree about an address.
"""

from __future__ import annotations

# ----------------------------------------------------------- FrontPanel ranges
WIRE_IN_RANGE = (0x00, 0x1F)
WIRE_OUT_RANGE = (0x20, 0x3F)
TRIGGER_IN_RANGE = (0x40, 0x5F)
TRIGGER_OUT_RANGE = (0x60, 0x7F)
PIPE_IN_RANGE = (0x80, 0x9F)
PIPE_OUT_RANGE = (0xA0, 0xBF)
N_WIRE_INS = 32  # FrontPanel keeps 32 wire-in and 32 wire-out registers of 32 bits

# ------------------------------------------------------------------ wire-ins
WI_RESET = 0x00  # bit 0: DAC/ADC reset, bit 1: NeuRRAM logic reset
WI_DAC_DATA = 0x01  # DAC command word: cmd[23:20] channel[19:16] code[15:0]; ext: DAC index[25:24]
WI_RRAM_ADC_TIMING = 0x02  # RRAM TIA/ADC t_shld[15:0], t_delta[31:16]
WI_REG_CONTROL = 0x03  # I/O register control (clear horizontal / vertical)
WI_REG_RANDOM_ACCESS = 0x04  # random-access port: addr[7:0], select_write_reg[9:8], vert[10]
WI_MODES = 0x05  # operating modes, see MODE_* bits
WI_CONTROL = 0x06  # other NeuRRAM controls (reg_controlled_wl bit 5, enable_ota bit 6)
WI_PULSE_WIDTH = 0x07  # SET/RESET pulse width in 10 ns ticks
WI_EXT_CONTROL = 0x08  # external control signals (precharge, inference enable ...)
WI_NEURON_CONFIG = 0x09  # neuron configuration (t_opamp, phases, number of pulses)
WI_LFSR_CONFIG = 0x0A
WI_WUPDATE_MUX = 0x0B  # weight-update voltage mux configuration [1:0]
WI_WUPDATE_MODE_WIDTH = 0x0C
WI_SPI_CONFIG = 0x0D
WI_MATMUL_CONTROL = 0x0E  # unsigned matmul helper: cds[0], reset[1], num_bits[4:2], pulse_mult[9:5]
WI_MULTI_LEVEL_CONTROL = 0x0F  # number of cores [2:0], shift multiplier [6:3]
WI_DEBUG = 0x10
WI_ENERGY_CYCLES = 0x11
WI_AUTORANGE_VREF = 0x12
WI_CORE_ADDRESS = 0x13  # addr_horz[2:0], addr_vert[5:3], dec_enable_horz[6], dec_enable_vert[7]
WI_CORE_SELECT = 0x14  # core-enable shift register: reset[0], clk[1], data in[2]
WI_SPI_MASK = 0x15  # core_select[7:0], write words[17:8], read words[25:18]
WI_RAIL_EXACT_LO = 0x16  # ext: float64 bits of the rail voltage being set, low word
WI_RAIL_EXACT_HI = 0x17  # ext: ... high word (the emulated firmware drives the twin with it)

# bits of WI_RESET
RESET_DAC_ADC = 1 << 0
RESET_NEURRAM = 1 << 1

# bits of WI_MODES
MODE_INFERENCE = 1 << 0
MODE_IFAT = 1 << 1
MODE_LFSR = 1 << 2
MODE_REGISTER = 1 << 3
MODE_WUPDATE = 1 << 4
MODE_FORWARD = 1 << 5

# ----------------------------------------------------------------- wire-outs
WO_DAC_ADC_STATUS = 0x20  # see DAC_* / ADC_* bits
WO_RRAM_ADC_1 = 0x21
WO_RRAM_ADC_2 = 0x22
WO_SEQ_ERROR = 0x23  # ext: sequencer error code of the last block (0 = none)
WO_CLOCK_LO = 0x24  # ext: board clock, float64 seconds, low word
WO_CLOCK_HI = 0x25  # ext: ... high word
WO_POWER_LO = 0x26  # ext: powered-core mask, cores 0..31
WO_POWER_HI = 0x27  # ext: powered-core mask, cores 32..47
WO_NEURON_STATUS = 0x28  # see NS_* bits
WO_AUTORANGE_1 = 0x29
WO_AUTORANGE_2 = 0x2A
WO_AUTORANGE_TIMING = 0x2B

# bits of WO_DAC_ADC_STATUS
DAC_FIFO_FULL = 1 << 0
DAC_FIFO_ACK = 1 << 1
AUTORANGE_VALID = 1 << 2
DAC_FIFO_EMPTY = 1 << 3
PROGRAM_DONE = 1 << 4
DAC_IDLE = 1 << 5
RRAM_ADC_VALID = 1 << 8

# bits of WO_NEURON_STATUS
NS_NEURON_IDLE = 1 << 0
NS_ENERGY_TEST_IDLE = 1 << 1
NS_SPI_IDLE = 1 << 2
NS_MULTI_LEVEL_IDLE = 1 << 3
NS_MATMUL_IDLE = 1 << 4
NS_PIPE_IN_IDLE = 1 << 5
NS_PIPE_OUT_IDLE = 1 << 6
NS_MULTI_LEVEL_PIPE_IN_IDLE = 1 << 7
NS_MULTI_LEVEL_PIPE_OUT_IDLE = 1 << 8
NS_MATMUL_D2A_IDLE = 1 << 9
NS_PIPE_IN_FULL = 1 << 10
NS_PIPE_OUT_EMPTY = 1 << 11
NS_SEQ_DONE = 1 << 14  # ext: the batch sequencer finished its block
NS_SEQ_ERROR = 1 << 15  # ext: the block failed; WO_SEQ_ERROR says why

# --------------------------------------------------------------- trigger-ins
TI_SYS = 0x40  # bit 1: DAC program, bits 2/3: program (SET/RESET), 4: program ack, 5: wupdate mode
TI_DAC = 0x41  # bit 0: DAC update (latch all channels)
TI_RRAM_ADC = 0x43  # bit 0: ADC trigger, 1: ack, 2: auto-range trigger, 3: auto-range ack
TI_SPI = 0x44  # bit 0: register SPI, 1: random access, 4/5: LFSR shift/pulse
TI_NEURON = 0x45  # bit 0: CDS, 1: sample, 2: compare-write, 5: multi-level read, 7: matmul, 8: dac2adc

TI_SYS_DAC_PROGRAM = 1
TI_DAC_UPDATE = 0
TI_NEURON_SEQ_RUN = 12  # ext: run the block waiting in the sequencer FIFO
TI_NEURON_SEQ_CLEAR = 13  # ext: drop a partial block and clear the error flag

# ---------------------------------------------------------------------- pipes
PI_SPI = 0x80  # NeuRRAM SPI data; the batch sequencer's command FIFO (ext)
PI_OUTPUT_MASK = 0x81  # neuron multi-level output address mask
PO_SPI = 0xA0  # SPI read-back; sequencer cell results (ext)
PO_LFSR = 0xA1
PO_MULTI_LEVEL = 0xA2  # neuron multi-level outputs; sequencer MVM / neuron-test codes (ext)
PO_SAR = 0xA3

# ------------------------------------------------------------------------ DAC
DAC_CMD_WRITE_UPDATE = 0b0011  # write the channel's input register
DAC_CMD_NOP = 0b1111
N_DACS, DAC_CHANNELS = 4, 8
DAC_CODE_BITS = 16

# rail -> (dac index, channel, full-scale volts). The board buffers and scales the
# DAC outputs; full scale here is the rail's largest reachable value.
RAIL_DACS: dict[str, tuple[int, int, float]] = {
    "v_ref": (0, 0, 2.048),
    "v_read": (0, 1, 2.048),
    "v_decr": (0, 2, 2.048),
    "v_cell_read": (1, 0, 2.048),
    "v_wl_set": (3, 0, 5.0),
    "v_wl_reset": (3, 1, 5.0),
    "v_wl_form": (3, 2, 5.0),
    "v_wl_read": (3, 3, 5.0),
}
RAIL_RAMP_STEP_V = 0.1  # largest change of a rail in one DAC step (authors ramp at 0.1 V)

# ------------------------------------------------------------ timing & chip
FPGA_TICK_S = 10e-9  # pulse widths count 10 ns ticks (100 MHz)
N_CORES = 48
CORE_ROWS, CORE_COLS = 8, 6  # core row 0-7 x core column 0-5


def dac_word(dac: int, channel: int, code: int, cmd: int = DAC_CMD_WRITE_UPDATE) -> int:
    """DAC command word for ``WI_DAC_DATA``: dac[25:24] (ext), cmd[23:20], channel[19:16], code[15:0].

    The authors' firmware shifts one word per DAC through the daisy chain
    (no-ops for the others); this firmware takes the DAC index in the word.
    """
    return ((dac & 0x3) << 24) | ((cmd & 0xF) << 20) | ((channel & 0xF) << 16) | (code & 0xFFFF)


def split_dac_word(word: int) -> tuple[int, int, int, int]:
    """(dac, cmd, channel, code) of a DAC command word."""
    return (word >> 24) & 0x3, (word >> 20) & 0xF, (word >> 16) & 0xF, word & 0xFFFF


def dac_code(volts: float, full_scale_v: float) -> int:
    """16-bit DAC code of ``volts`` on a channel of full scale ``full_scale_v``."""
    code = int(round(volts / full_scale_v * (1 << DAC_CODE_BITS)))
    return min(max(code, 0), (1 << DAC_CODE_BITS) - 1)


def width_ticks(width_s: float) -> int:
    """Pulse width in FPGA ticks (10 ns), at least one."""
    return max(1, int(round(width_s / FPGA_TICK_S)))


def endpoint_kind(ep: int) -> str:
    """``"wire_in"``, ``"wire_out"``, ``"trigger_in"``, ``"trigger_out"``, ``"pipe_in"`` or ``"pipe_out"``."""
    for kind, (lo, hi) in (
        ("wire_in", WIRE_IN_RANGE),
        ("wire_out", WIRE_OUT_RANGE),
        ("trigger_in", TRIGGER_IN_RANGE),
        ("trigger_out", TRIGGER_OUT_RANGE),
        ("pipe_in", PIPE_IN_RANGE),
        ("pipe_out", PIPE_OUT_RANGE),
    ):
        if lo <= ep <= hi:
            return kind
    return "invalid"
