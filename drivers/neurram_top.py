"""The chip authors' FPGA design ``neurram_top.v`` as the host sees it: endpoints, bits, DACs, ADC.

Facts re-implemented from weierwan/Neurram_48core (HDL/ and python/, commit
2ed5f8d); each constant names the HDL line it comes from. Only what exists in
``neurram_top.v`` is here: wire-ins 0x00-0x15, wire-outs 0x20-0x22 and
0x28-0x2B (0x23-0x27 are commented out in every top level), trigger-ins 0x40,
0x41, 0x43, 0x44, 0x45 (0x42 is commented out), pipe-in 0x80/0x81, pipe-out
0xA0-0xA2. The SAR (``neurram_top_sar.v``) and voltage-mode
(``neurram_top_voltage_mode.v``) top levels share this map; :data:`BITSTREAMS`
says what each adds.

Also here: the board's rail table (:data:`RAIL_TABLE`: which DAC channel drives
which physical node for each Board rail), the daisy-chain DAC word helpers
(``dac_control.py``), the ADC code <-> volts conversion (18 bits over
2.048 V, ``adc_control.py``) and the host conversion of an auto-ranged read to
siemens. Nothing here talks to hardware: the driver (:mod:`drivers.fpga_board`)
and the emulated bitstream (:mod:`drivers.hil.emulator`) both read these names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Callable, Mapping

from neurram_lab.errors import InputError, LimitError

# ------------------------------------------------------------------ clocks
# neurram_top.v:95-118: a 100 MHz system clock divided by a 4-bit counter.
SYS_CLK_HZ = 100e6
TICK_S = 1.0 / SYS_CLK_HZ  # SET/RESET pulse width unit (wupdate_control.py: SYS_CLK_PERIOD)
DAC_CLK_HZ = SYS_CLK_HZ / 16  # clk_6MHz
ADC_CLK_HZ = SYS_CLK_HZ / 8  # clk_12MHz: resistance_read / auto_ranging / neuron control
SPI_CLK_HZ = SYS_CLK_HZ / 4  # clk_25MHz
READ_UNIT_S = 16 / ADC_CLK_HZ  # t_shld / t_delta count counter[20:4]: 16 ADC clocks = 1.28 us (resistance_read.v:129)

# ------------------------------------------------------------- wire-ins
WI_RESET = 0x00  # [0] DAC + ADC reset (dac_rst, adc_rram_rst), [1] chip logic reset (neurram_rst)  (neurram_top.v:287,317,472)
WI_DAC = 0x01  # DAC word shifted into the daisy chain (dac_din, neurram_top.v:290)
WI_READ_TIMING = 0x02  # [15:0] t_shld init, [31:16] t_delta init, READ_UNIT_S each (neurram_top.v:373-374)
WI_CLEAR = 0x03  # [0] clear horizontal, [1] clear vertical registers (neurram_top.v:393-394)
WI_RANDOM_ACCESS = 0x04  # [7:0] address, [9:8] data, [10] vertical (neurram_top.v:392,432; neurram_reg_control)
WI_MODE = 0x05  # [0] inference, [1] IFAT, [2] LFSR, [4] weight update, [5] forward (neurram_top.v:374-378, 402)
WI_CONTROL = 0x06  # [5] register-controlled WL, [6] OTA enable (neurram_top.v:395,423)
WI_PULSE_WIDTH = 0x07  # SET/RESET pulse width, TICK_S (neurram_top.v:577)
WI_EXT = 0x08  # external override lines: EXT_* (neurram_top.v:359-369, 396)
WI_NEURON = 0x09  # neuron configuration: NEURON_* (neurram_top.v:654-666)
WI_LFSR = 0x0A  # [0] LFSR set: the chip's lfsrhorz_set_b = ~[0] (neurram_top.v:404)
WI_WRITE_MUX = 0x0B  # [1:0] write-voltage mux, vupdate_config (neurram_top.v:597)
WI_WL_PULSE_WIDTH = 0x0C  # WL-only pulse width, TICK_S (neurram_top.v:578)
WI_SPI = 0x0D  # SPI read/write configuration: SPI_* (neurram_top.v:499-508)
WI_MATMUL = 0x0E  # bit-serial MVM: MATMUL_* (neurram_top.v:881-884, 891, 911)
WI_READOUT = 0x0F  # multi-level readout: READOUT_* (neurram_top.v:743, 805, 809)
WI_DEBUG = 0x10  # [3:0] LFSR pulse width, [11:4] t_sample, [20:12] LFSR shift cycles (neurram_top.v:615-616,660)
WI_ENERGY = 0x11  # energy-test cycles (neurram_top.v:738)
WI_AUTORANGE_VREF = 0x12  # [17:0] auto-range vref ADC code, [18] manual range (neurram_top.v:371-372)
WI_CORE_ADDRESS = 0x13  # [2:0] horizontal, [5:3] vertical, [6]/[7] decoder enables (neurram_top.v:450-453)
WI_CORE_ENABLE = 0x14  # core-enable shift register: [0] reset, [1] clock, [2] data (neurram_top.v:454-456)
WI_SPI_MASK = 0x15  # [7:0] core-row select, [17:8] write words, [25:18] read words (neurram_top.v:473-474,502)

# bits / fields
RESET_DAC_ADC = 1 << 0
RESET_CHIP = 1 << 1
CLEAR_HORZ = 1 << 0
CLEAR_VERT = 1 << 1
RA_VERTICAL = 1 << 10
RA_DATA_SHIFT = 8
RA_SELECT = 0b01  # data the authors write to select one row / column (wupdate_control.py:20-21)
CE_RESET, CE_CLOCK, CE_DATA = 1 << 0, 1 << 1, 1 << 2
CA_DEC_HORZ, CA_DEC_VERT = 1 << 6, 1 << 7
MUX_IDLE, MUX_RESET, MUX_SET, MUX_READ = 0b00, 0b01, 0b10, 0b11  # wupdate_control.py:77,98; adc_control.py:115
AUTORANGE_MANUAL = 1 << 18
CONTROL_REG_WL, CONTROL_OTA = 1 << 5, 1 << 6  # 0x06: the host writes both (0b01100000, matmul.py)


@dataclass(frozen=True)
class Field:
    """Bits ``[lsb + width - 1 : lsb]`` of a wire-in word, as the HDL slices it."""

    lsb: int
    width: int

    @property
    def mask(self) -> int:
        """The field's bits in place."""
        return ((1 << self.width) - 1) << self.lsb

    def put(self, value: int) -> int:
        """``value`` (cut to the field's width) in place."""
        return (int(value) & ((1 << self.width) - 1)) << self.lsb

    def get(self, word: int) -> int:
        """The field's value in ``word``."""
        return (int(word) >> self.lsb) & ((1 << self.width) - 1)


# 0x05, operating modes (neurram_top.v:374-378, 402)
MODE_INFERENCE = 1 << 0  # inference_mode, unless another mode bit is set (:376)
MODE_IFAT = 1 << 1  # ifat_mode (:375)
MODE_LFSR = 1 << 2  # lfsr_mode (:378)
MODE_WEIGHT_UPDATE = 1 << 4  # wupdate_mode (:402)
MODE_FORWARD = 1 << 5  # forward: MVM direction (:374)

# 0x08, external override lines (neurram_top.v; neurram_top_voltage_mode.v where it differs)
EXT_3N = 1 << 0  # ext_3n: forced off in neurram_top (`& ~ep08wire[0]`, :362), on in neurram_top_voltage_mode.v:361
EXT_3N_BL, EXT_3N_SL = 1 << 1, 1 << 2  # ext_3n_bl_sel, ext_3n_sl_sel (:363-364)
EXT_1N = 1 << 3  # ext_1n: the neurons' inputs on the shared external 1n line (:359)
EXT_1N_BL, EXT_1N_SL = 1 << 4, 1 << 5  # ext_1n_bl_sel, ext_1n_sl_sel: from the bit-line / source-line side (:360-361)
EXT_PRECHARGE_BL, EXT_PRECHARGE_SL = 1 << 6, 1 << 7  # ext_precharge_bl / _sl (:367-368)
EXT_INF_BL, EXT_INF_SL = 1 << 8, 1 << 9  # ext_inference_enable_bl / _sl (:365-366)
EXT_TURN_ON_WL = 1 << 10  # ext_turn_on_wl (:369)
EXT_PRECHARGE_OFF = 1 << 11  # turn_off_precharge (:396)

# 0x09, neuron configuration (neurram_top.v:654-666; the voltage-mode top's extras: neurram_top_voltage_mode.v)
NEURON_RUN_ALL = 1 << 0  # neuron_run_all (:654)
NEURON_RUN_ALL_RESET = 1 << 1  # neuron_run_all_reset: partial reset between steps (:655)
NEURON_USE_EXT_1N, NEURON_USE_EXT_3N = 1 << 2, 1 << 3  # use_ext_1n, use_ext_3n (:657-658)
NEURON_T_OPAMP = Field(4, 8)  # t_opamp, 80 ns clocks (:659)
NEURON_PHASE = Field(12, 2)  # neuron_comparison_phase = neuron_partial_reset_phase (:661-662)
NEURON_PULSES = Field(14, 8)  # neuron_num_pulses while the bit-serial MVM is idle (:666)
NEURON_KEEP_WL_ON = 1 << 22  # voltage mode: keep_wl_on (neurram_top_voltage_mode.v:652)
NEURON_MULTI_SAMPLING = 1 << 23  # voltage mode: neuron_multi_sampling (:653)
NEURON_RESET_LATCH_ON = 1 << 24  # voltage mode: reset_latch_on (:679)
NEURON_T_CDS = Field(25, 7)  # voltage mode: t_cds (:684)

# 0x10, debugging controls (neurram_top.v:615-616, 660; the voltage-mode top's extras: neurram_top_voltage_mode.v)
DEBUG_LFSR_PULSE_WIDTH = Field(0, 4)  # lfsr_pulse_width, 40 ns clocks - 1 (:615)
DEBUG_T_SAMPLE = Field(4, 8)  # t_sample, 80 ns clocks (:660)
DEBUG_LFSR_SHIFT_CYCLES = Field(12, 9)  # lfsr_shift_cycle (:616)
# 0x10 on neurram_top_voltage_mode: [3:0] and [11:4] as above (neurram_top_voltage_mode.v:613, 655); [27:12] go
# to its neuron controller, not to the LFSR block (whose shift_cycle is unconnected there, see lfsr_readout_unavailable)
VM_DEBUG_T_COMP = Field(12, 8)  # t_comp (neurram_top_voltage_mode.v:686): compare time (neuron_control_voltage_mode.v:1064)
VM_DEBUG_T_RESET = Field(20, 8)  # t_reset (:687): partial-reset time (neuron_control_voltage_mode.v:1159)
VM_DEBUG_FIELDS = (DEBUG_LFSR_PULSE_WIDTH, DEBUG_T_SAMPLE, VM_DEBUG_T_COMP, VM_DEBUG_T_RESET)

# 0x0D, SPI read/write configuration (neurram_top.v:499-508)
SPI_CONFIG = Field(0, 2)  # spi_config: [1] write (pipe-fed), [0] read (:499)
SPI_SHIFT_MULTIPLIER = Field(2, 4)  # spi_shift_multiplier: 256-bit shifts per operation (:500)
SPI_PIPE_IN_STEPS = Field(6, 4)  # spi_pipe_in_steps: planes popped per operation (:501)
SPI_PIPE_OUT_STEPS = Field(10, 4)  # spi_pipe_out_steps (:502)
SPI_SHIFT_FORWARD = 1 << 14  # shift_fwd (:508)
SPI_EXTRA_SHIFT_CYCLES = Field(15, 4)  # spi_extra_shift_cycles (:503)

# 0x0E, bit-serial MVM (neurram_top.v:881-911)
MATMUL_CDS = 1 << 0  # matmul_unsigned_cds (:881)
MATMUL_RESET = 1 << 1  # the helper's register reset after each cycle (.reset, :891)
MATMUL_NUM_BITS = Field(2, 3)  # matmul_unsigned_num_bits: magnitude bits - 1 (:883)
MATMUL_PULSE_MULTIPLIER = Field(5, 5)  # matmul_unsigned_pulse_mult: base pulses (:884)
MATMUL_BATCH = Field(10, 8)  # the batched helper's iteration count (.iteration, :911)

# 0x0F, multi-level readout (neurram_top.v:743-809; the voltage-mode top's extras: neurram_top_voltage_mode.v)
READOUT_NUM_CORE = Field(0, 3)  # nmlo_num_core (:743)
READOUT_SHIFT_MULTIPLIER = Field(3, 4)  # nmlo_shift_multiplier (:805)
READOUT_SINGLE_CORE = 1 << 7  # nmlo_single_core (:809)
READOUT_ENERGY_STEPS = Field(8, 8)  # voltage mode: out_energy_steps (neurram_top_voltage_mode.v:725)
READOUT_CDS = 1 << 16  # voltage mode: the output energy test's cds (:748)

_MODE_BITS = MODE_INFERENCE | MODE_IFAT | MODE_LFSR | MODE_WEIGHT_UPDATE | MODE_FORWARD
_DEBUG_BITS = DEBUG_LFSR_PULSE_WIDTH.mask | DEBUG_T_SAMPLE.mask | DEBUG_LFSR_SHIFT_CYCLES.mask
_VM_DEBUG_BITS = DEBUG_LFSR_PULSE_WIDTH.mask | DEBUG_T_SAMPLE.mask | VM_DEBUG_T_COMP.mask | VM_DEBUG_T_RESET.mask
_EXT_BITS = (EXT_3N | EXT_3N_BL | EXT_3N_SL | EXT_1N | EXT_1N_BL | EXT_1N_SL | EXT_PRECHARGE_BL | EXT_PRECHARGE_SL
             | EXT_INF_BL | EXT_INF_SL | EXT_TURN_ON_WL | EXT_PRECHARGE_OFF)
_NEURON_BITS = (NEURON_RUN_ALL | NEURON_RUN_ALL_RESET | NEURON_USE_EXT_1N | NEURON_USE_EXT_3N | NEURON_T_OPAMP.mask
                | NEURON_PHASE.mask | NEURON_PULSES.mask)
_SPI_BITS = (SPI_CONFIG.mask | SPI_SHIFT_MULTIPLIER.mask | SPI_PIPE_IN_STEPS.mask | SPI_PIPE_OUT_STEPS.mask
             | SPI_SHIFT_FORWARD | SPI_EXTRA_SHIFT_CYCLES.mask)
_MATMUL_BITS = MATMUL_CDS | MATMUL_RESET | MATMUL_NUM_BITS.mask | MATMUL_PULSE_MULTIPLIER.mask | MATMUL_BATCH.mask
_READOUT_BITS = READOUT_NUM_CORE.mask | READOUT_SHIFT_MULTIPLIER.mask | READOUT_SINGLE_CORE
# what neurram_top_voltage_mode.v reads of them: 0x08 without the 3n/1n side selects and ext_1n_sl
# (voltage_mode.v:358-368, 395); 0x09 without use_ext_1n/3n, with the four extras (:650-684); 0x0F with two extras
_VM_EXT_BITS = EXT_3N | EXT_1N | EXT_PRECHARGE_BL | EXT_PRECHARGE_SL | EXT_INF_BL | EXT_INF_SL | EXT_TURN_ON_WL \
    | EXT_PRECHARGE_OFF
_VM_NEURON_BITS = (_NEURON_BITS & ~(NEURON_USE_EXT_1N | NEURON_USE_EXT_3N)) | NEURON_KEEP_WL_ON \
    | NEURON_MULTI_SAMPLING | NEURON_RESET_LATCH_ON | NEURON_T_CDS.mask
_VM_READOUT_BITS = _READOUT_BITS | READOUT_ENERGY_STEPS.mask | READOUT_CDS

# Bits of each wire-in that neurram_top reads (every ``epXXwire[..]`` slice outside comments, the whole word
# where it is used whole: 0x01 -> dac_din, 0x11 -> net_cycles), from the authors' HDL at 2ed5f8d. Writing other
# bits does nothing on the board; the trace summary lists any it sees. Each :class:`Bitstream` carries its own.
WORD = 0xFFFFFFFF
WIRE_IN_READ_BITS: dict[int, int] = {
    WI_RESET: RESET_DAC_ADC | RESET_CHIP, WI_DAC: WORD, WI_READ_TIMING: WORD, WI_CLEAR: CLEAR_HORZ | CLEAR_VERT,
    WI_RANDOM_ACCESS: 0x7FF, WI_MODE: _MODE_BITS, WI_CONTROL: CONTROL_REG_WL | CONTROL_OTA, WI_PULSE_WIDTH: WORD,
    WI_EXT: _EXT_BITS, WI_NEURON: _NEURON_BITS, WI_LFSR: 0x1, WI_WRITE_MUX: 0x3, WI_WL_PULSE_WIDTH: WORD,
    WI_SPI: _SPI_BITS, WI_MATMUL: _MATMUL_BITS, WI_READOUT: _READOUT_BITS, WI_DEBUG: _DEBUG_BITS, WI_ENERGY: WORD, WI_AUTORANGE_VREF: 0x7FFFF,
    WI_CORE_ADDRESS: 0xFF, WI_CORE_ENABLE: CE_RESET | CE_CLOCK | CE_DATA, WI_SPI_MASK: 0x3FFFFFF,
}

# ------------------------------------------------------------ wire-outs
WO_STATUS = 0x20  # DAC / ADC / program status (neurram_top.v:293-296,319,376,582)
WO_ADC_START = 0x21  # raw ADC code at t_shld (manual read)
WO_ADC_END = 0x22  # raw ADC code at t_shld + t_delta
WO_NEURON_STATUS = 0x28  # neuron / SPI / readout / MVM idle and FIFO bits (owned by the MVM emulation)
WO_AR_START = 0x29  # [17:0] auto-ranged start code
WO_AR_END = 0x2A  # [17:0] auto-ranged end code, [26:18] iterations
WO_AR_TIMING = 0x2B  # [15:0] final t_shld, [31:16] final t_delta

ST_DAC_FIFO_FULL = 1 << 0
ST_DAC_ACK = 1 << 1  # fifo_wr_done
ST_AR_VALID = 1 << 2
ST_DAC_FIFO_EMPTY = 1 << 3
ST_PULSE_DONE = 1 << 4  # program_done
ST_DAC_IDLE = 1 << 5
ST_READ_VALID = 1 << 8  # adc_rram_valid (manual read)

# bits of wire-out 0x28 (WO_NEURON_STATUS; neurram_top.v:663-680, 880, 910; arbiter FIFO flags)
NS_NEURON_IDLE = 1 << 0  # neuron_control idle (neuron phases, LFSR pulse integrated)
NS_ENERGY_IDLE = 1 << 1
NS_SPI_IDLE = 1 << 2
NS_READOUT_IDLE = 1 << 3  # neuron_multi_level_output idle (readout, mask load)
NS_MATMUL_IDLE = 1 << 4  # matmul_unsigned_helper idle (neurram_top.v:880)
NS_SPI_ARB_IDLE = 1 << 5  # arbiter_pipein2fifo idle
NS_SPI_OUT_ARB_IDLE = 1 << 6  # arbiter_fifo2pipeout idle (SPI read-back)
NS_MASK_ARB_IDLE = 1 << 7
NS_OUT_ARB_IDLE = 1 << 8
NS_BATCH_IDLE = 1 << 9  # batched bit-serial MVM with readout idle
NS_SPI_IN_FULL = 1 << 10  # SPI pipe-in FIFO full
NS_SPI_OUT_EMPTY = 1 << 11  # SPI read-back pipe-out FIFO empty
NS_MASK_IN_FULL = 1 << 12  # readout mask pipe-in full
NS_READOUT_EMPTY = 1 << 13  # readout pipe-out 0xA2 empty
NS_TOP_IDLE = 1 << 14  # undriven in neurram_top; SAR idle (neurram_top_sar), out_energy_idle (voltage mode, :727)

# ---------------------------------------------------------- trigger-ins
TI_SYS = 0x40  # sys_clk triggers (neurram_top.v:288,575-577)
TI_DAC = 0x41  # dac_clk trigger (neurram_top.v:289)
TI_ADC = 0x43  # adc_rram_clk triggers (neurram_top.v:318-319,369-370)
TI_SPI = 0x44  # spi_ctrl_clk triggers (neurram_top.v:530-531,610-611)
TI_NEURON = 0x45  # neurram_clk triggers (neurram_top.v:680-691,738,813-814,873,909)

T_DAC_PUSH = 1  # 0x40: dac_program
T_SET = 2  # 0x40: program_trigger (either bit; the mux 0x0B decides SET or RESET)
T_RESET = 3
T_PULSE_ACK = 4  # 0x40: program_ack
T_WL_PULSE = 5  # 0x40: wupdate_mode_trigger
T_DAC_UPDATE = 0  # 0x41
T_READ, T_READ_ACK, T_AUTORANGE, T_AUTORANGE_ACK = 0, 1, 2, 3  # 0x43
T_SPI_SHIFT, T_RANDOM_ACCESS, T_LFSR_SHIFT, T_LFSR_PULSE = 0, 1, 4, 5  # 0x44 (LFSR: neurram_top.v:613-614)
# 0x45: neuron phases (neurram_top.v:680-691), readout and mask (:813-814), bit-serial MVM (:873, :909)
T_CDS, T_SAMPLE, T_COMPARE, T_INTEGRATE, T_PARTIAL_RESET = 0, 1, 2, 3, 4
T_READOUT, T_LOAD_MASK, T_MATMUL, T_BATCH_MATMUL = 5, 6, 7, 8
T_SAR = 9  # neurram_top_sar only
T_ENERGY_IN = 10  # energy test (neurram_top, :738); input energy test in neurram_top_voltage_mode
T_ENERGY_OUT = 11  # neurram_top_voltage_mode only: output energy test
NEURON_PHASE_TRIGGERS = (T_CDS, T_SAMPLE, T_COMPARE, T_INTEGRATE, T_PARTIAL_RESET)

# ------------------------------------- the write-verify engine (neurram_top_wv only)
# gateware/hdl/wv_top_engine.vh; the command and record formats are in drivers._wv_engine
WI_ENGINE_LIM_SET = 0x18  # SET ceilings: VSET_BL code [15:0], VSET_WL code [31:16]
WI_ENGINE_LIM_RESET = 0x19  # RESET ceilings: VRESET_SL code [15:0], VRESET_WL code [31:16]
WI_ENGINE_LIM_WIDTH = 0x1A  # pulse-width ceiling, TICK_S
WO_ENGINE_STATUS = 0x23  # [0] busy, [1] command FIFO empty, [2] result FIFO full, [3] fault, [4] guard, [31:16] refused
WO_ENGINE_RECORDS, WO_ENGINE_PULSES, WO_ENGINE_CELL = 0x24, 0x25, 0x26  # records written, pulses, current cell
WO_ENGINE_DAC = 0x27  # DAC high-water [15:0] / blocked code [31:16]
TI_ENGINE = 0x46
T_ENGINE_START, T_ENGINE_ABORT, T_ENGINE_CLEAR = 0, 1, 2
PI_ENGINE_COMMANDS = 0x82
PO_ENGINE_RESULTS = 0xA4  # 4 words a record

# ----------------------------------------------------------------- pipes
PI_SPI = 0x80  # SPI register data, 2 bits a line
PI_OUTPUT_MASK = 0x81  # output-neuron mask
PO_SPI = 0xA0  # SPI readback
PO_LFSR = 0xA1  # LFSR state: 16 words from lfsr_control.v (neurram_top.v:237)
PO_READOUT = 0xA2  # multi-level readout codes


@dataclass(frozen=True)
class Bitstream:
    """One of the authors' top levels: the endpoints it has beyond the common map.

    Attributes
    ----------
    name : str
    wire_ins, wire_outs : frozenset of int
    triggers : frozenset of (int, int)
        (trigger-in endpoint, bit) pairs wired to logic.
    pipes_in, pipes_out : frozenset of int
    note : str
        What differs from ``neurram_top`` (with the HDL file).
    wire_in_bits : mapping of int to int
        Wire-in -> the bits of it the top level reads (:data:`WIRE_IN_READ_BITS` and what differs); empty
        where not tabulated (the trace summary then checks no bits).
    """

    name: str
    wire_ins: frozenset
    wire_outs: frozenset
    triggers: frozenset
    pipes_in: frozenset
    pipes_out: frozenset
    note: str = ""
    wire_in_bits: Mapping[int, int] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    # why the LFSR state readout (trigger 0x44 bit 4, pipe 0xA1) cannot work on this top; "" where it can
    lfsr_readout_unavailable: str = ""

    def __post_init__(self):
        object.__setattr__(self, "wire_in_bits", MappingProxyType(dict(self.wire_in_bits)))

    def has(self, kind: str, ep: int, bit: int | None = None) -> bool:
        """True when endpoint ``ep`` (and ``bit`` for triggers) exists in this top level."""
        if kind == "trigger":
            return (ep, bit) in self.triggers
        return ep in {"wire_in": self.wire_ins, "wire_out": self.wire_outs,
                      "pipe_in": self.pipes_in, "pipe_out": self.pipes_out}[kind]


_COMMON_WI = frozenset(range(0x00, 0x16))
_COMMON_WO = frozenset((0x20, 0x21, 0x22, 0x28, 0x29, 0x2A, 0x2B))
_COMMON_TI = frozenset(
    [(TI_SYS, b) for b in (T_DAC_PUSH, T_SET, T_RESET, T_PULSE_ACK, T_WL_PULSE)] + [(TI_DAC, T_DAC_UPDATE)]
    + [(TI_ADC, b) for b in (T_READ, T_READ_ACK, T_AUTORANGE, T_AUTORANGE_ACK)]
    + [(TI_SPI, b) for b in (T_SPI_SHIFT, T_RANDOM_ACCESS, T_LFSR_SHIFT, T_LFSR_PULSE)]
    + [(TI_NEURON, b) for b in NEURON_PHASE_TRIGGERS + (T_READOUT, T_LOAD_MASK, T_MATMUL, T_BATCH_MATMUL,
                                                        T_ENERGY_IN)]
)
# the LFSR state readout on a top whose lfsr_control instance leaves shift_cycle unconnected: the shift's end
# test clk_counter == shift_cycle-1 (lfsr_control.v:371) never holds, so the first read never ends, pipe 0xA1
# stays empty and the block ignores later shift and pulse triggers until neurram_rst (neurram_top.v:611-624
# wires it from 0x10[20:12])
_LFSR_NO_SHIFT_CYCLE = ("its lfsr_control instance ({top}.v:{lines}) leaves shift_cycle unconnected, so the shift's "
                        "end test (lfsr_control.v:371) never holds: the read never ends, pipe 0xA1 stays empty and "
                        "the LFSR block is dead until neurram_rst")
BITSTREAMS: dict[str, Bitstream] = {
    "neurram_top": Bitstream("neurram_top", _COMMON_WI, _COMMON_WO, _COMMON_TI,
                             frozenset((PI_SPI, PI_OUTPUT_MASK)), frozenset((PO_SPI, PO_LFSR, PO_READOUT)),
                             wire_in_bits=WIRE_IN_READ_BITS),
    "neurram_top_sar": Bitstream(
        "neurram_top_sar", (_COMMON_WI - {0x11}) | {0x16, 0x17}, _COMMON_WO,
        (_COMMON_TI - {(TI_NEURON, T_ENERGY_IN)}) | {(TI_NEURON, T_SAR)},
        frozenset((PI_SPI, PI_OUTPUT_MASK)), frozenset((PO_SPI, PO_LFSR, PO_READOUT, 0xA3)),
        note="neurram_top_sar.v adds wire-ins 0x16/0x17 (SAR bits, DAC settle; vreset/vref codes), "
             "trigger 0x45 bit 9 (SAR conversion), 0x28 bit 14 (SAR idle) and pipe-out 0xA3 (SAR codes), and "
             "drops wire-in 0x11 and trigger 0x45 bit 10 (energy test commented out); this driver uses none of them",
        # 0x11 left out: its okWireIn is commented out in neurram_top_sar.v (:143, :211, :732)
        wire_in_bits={**{ep: b for ep, b in WIRE_IN_READ_BITS.items() if ep != 0x11}, WI_DEBUG: 0xFFF, 0x16: 0x17FFFF,
                      0x17: WORD},
        lfsr_readout_unavailable=_LFSR_NO_SHIFT_CYCLE.format(top="neurram_top_sar", lines="630-649"),
    ),
    "neurram_top_voltage_mode": Bitstream(
        "neurram_top_voltage_mode", _COMMON_WI, _COMMON_WO, _COMMON_TI | {(TI_NEURON, T_ENERGY_OUT)},
        frozenset((PI_SPI, PI_OUTPUT_MASK)), frozenset((PO_SPI, PO_LFSR, PO_READOUT)),
        note="neurram_top_voltage_mode.v uses trigger 0x45 bits 10/11 for the input/output energy tests, "
             "drives 0x28 bit 14 (output energy test idle) and runs the neurons in voltage mode "
             "(neuron_control_voltage_mode.v); the endpoints and cell sequences this driver uses are as neurram_top; "
             "its MVM and neuron test are refused (fpga_board.UNMODELLED_NEURON_BITSTREAMS)",
        wire_in_bits={**WIRE_IN_READ_BITS, WI_EXT: _VM_EXT_BITS, WI_NEURON: _VM_NEURON_BITS, WI_READOUT: _VM_READOUT_BITS,
                      WI_DEBUG: _VM_DEBUG_BITS, WI_AUTORANGE_VREF: 0x3FFFF},
        lfsr_readout_unavailable=_LFSR_NO_SHIFT_CYCLE.format(top="neurram_top_voltage_mode", lines="615-634"),
    ),
}
BITSTREAMS["neurram_top_wv"] = Bitstream(
    "neurram_top_wv", _COMMON_WI | {WI_ENGINE_LIM_SET, WI_ENGINE_LIM_RESET, WI_ENGINE_LIM_WIDTH},
    _COMMON_WO | {WO_ENGINE_STATUS, WO_ENGINE_RECORDS, WO_ENGINE_PULSES, WO_ENGINE_CELL, WO_ENGINE_DAC},
    _COMMON_TI | {(TI_ENGINE, b) for b in (T_ENGINE_START, T_ENGINE_ABORT, T_ENGINE_CLEAR)},
    frozenset((PI_SPI, PI_OUTPUT_MASK, PI_ENGINE_COMMANDS)),
    frozenset((PO_SPI, PO_LFSR, PO_READOUT, PO_ENGINE_RESULTS)),
    note="neurram_top with the write-verify engine patched in (gateware/, docs/gateware.md): wire-ins 0x18-0x1A "
         "(ceilings), trigger 0x46 (start/abort/clear), pipe-in 0x82 (commands), pipe-out 0xA4 (results), "
         "wire-outs 0x23-0x27 (status, diagnostics)",
)
DEFAULT_BITSTREAM = "neurram_top"
# the tops whose LFSR state can be read (drivers._lfsr_host.read_bits)
LFSR_READOUT_BITSTREAMS = tuple(sorted(n for n, b in BITSTREAMS.items() if not b.lfsr_readout_unavailable))


def bitstream(name: str) -> Bitstream:
    """The :class:`Bitstream` named ``name``; :class:`InputError` listing the known ones otherwise."""
    try:
        return BITSTREAMS[name]
    except KeyError:
        raise InputError(f"bitstream {name!r} is not one of {sorted(BITSTREAMS)}") from None


# ------------------------------------------------------------------ DACs
# Four daisy-chained 8-channel 16-bit DACs (dac_control.py:7-8, dac_daisy_control.v). Words shift
# through the chain while CS is low and every DAC executes the word it holds when the update
# trigger returns the shifter to idle (CS high). The host sends DAC 3 first, DAC 0 last.
N_DACS, DAC_CHANNELS, DAC_CODE_BITS = 4, 8, 16
DAC_CODE_MAX = (1 << DAC_CODE_BITS) - 1
DAC_VREF_V = (2.048, 2.048, 2.048, 5.0)  # dac_control.py:32 has 3.3 V for DAC 3; the notebooks set 5.0 V
CMD_WRITE_UPDATE = 0b0011  # write channel n and update its output
CMD_NOP = 0b1111
CMD_WRITE = 0b0000  # write input register n (output unchanged)
CMD_UPDATE = 0b0001  # update output n from its input register
CMD_WRITE_UPDATE_ALL = 0b0010  # write n, update all
DAC_FIFO_WORDS = 16  # FIFO32x16
RAMP_STEP_V = 0.1  # dac_control.py:137-139 / wupdate_control.py:52-54
READ_REF_V = 0.9  # VREF_TIA: TIA reference of single-cell reads (adc_control.py:109, read calls with vref=0.9)

# (dac, channel) -> physical node, from the authors' host code (file:line in the comment)
NODES: dict[tuple[int, int], str] = {
    (0, 0): "VCOMP1",  # neuron_control.py:18 (comparator reference 1)
    (0, 1): "VCOMP2",  # neuron_control.py:20
    (0, 2): "VREF",  # neuron_control.py:12 (neuron reference)
    (0, 4): "VRESET_PLUS",  # neuron_control.py:28 (VREF + vreset_plus)
    (0, 5): "VPLFSR",  # neuron_control.py:24
    (0, 6): "VNLFSR",  # neuron_control.py:26
    (1, 0): "VNEG_BL",  # neuron_control.py:36, matmul.py:30 (BL input level VREF - v)
    (1, 1): "BIAS10_BL",  # neuron_control.py:13, matmul.py:22 (BL mid level)
    (1, 2): "VPOS_BL",  # neuron_control.py:39, matmul.py:32
    (1, 3): "VNEG_SL",  # neuron_control.py:42, matmul.py:34
    (1, 4): "BIAS10_SL",  # neuron_control.py:14, matmul.py:23
    (1, 5): "VPOS_SL",  # neuron_control.py:45, matmul.py:37
    (1, 6): "VREAD",  # adc_control.py:105 (TIA read voltage)
    (1, 7): "VREF_TIA",  # adc_control.py:106 (TIA reference)
    (2, 0): "IGATE_BIAS",  # neuron_control.py:22, matmul.py:24
    (2, 1): "VWL_ONLY_A",  # wupdate_control.py:118 (WL level of the WL-only pulse)
    (2, 2): "VRESET_MINUS",  # neuron_control.py:30 (VREF - vreset_minus)
    (2, 3): "VWL_ONLY_B",  # wupdate_control.py:116
    (3, 0): "VSET_BL",  # wupdate_control.py:58,71
    (3, 1): "VSET_WL",  # wupdate_control.py:59,72
    (3, 2): "VRESET_SL",  # wupdate_control.py:60,92
    (3, 3): "VRESET_WL",  # wupdate_control.py:61,93
}
NODE_CHANNEL: dict[str, tuple[int, int]] = {n: dc for dc, n in NODES.items()}


@dataclass(frozen=True)
class RailWrite:
    """One DAC channel a Board rail drives.

    Attributes
    ----------
    dac, channel : int
    vref_v : float
        The DAC's reference (full scale, V).
    node : str
        Physical node on the board.
    formula : str
        Node voltage in terms of the rails.
    volts : callable
        ``volts(rails) -> float``: the formula, on a mapping of every rail (V).
    """

    dac: int
    channel: int
    vref_v: float
    node: str
    formula: str
    volts: Callable[[dict], float] = field(default=None, compare=False, repr=False)


def _w(dac: int, ch: int, formula: str, volts=None) -> RailWrite:
    return RailWrite(dac, ch, DAC_VREF_V[dac], NODES[(dac, ch)], formula, volts)


# Output bits the decrement levels are set for until the first MVM or neuron test: at 2 bits one step is
# v_decr itself (the binary search's MSB level).
DECR_BITS_AT_OPEN = 2


def decrement_v(v_decr_v: float, output_bits: int) -> float:
    """Per-step decrement level (V) above/below v_ref for ``output_bits``: ``v_decr * 2**(2 - b)``.

    The twin's ``v_decr`` is the full scale of its binary search (``sim_backend.neuron.lsb_v``: one LSB of
    ``b`` bits is ``(Cs/Ci) v_decr / 2**(b - 2)``); the multi-level readout (``neuron_multi_level_output.v``)
    decrements by one LSB a step, so the DAC levels ``VREF +- step`` carry one LSB.
    """
    return float(v_decr_v) / 2.0 ** max(int(output_bits) - 2, 0)


def _decr(r) -> float:
    return decrement_v(r["v_decr"], r["output_bits"])


# Board rail -> the DAC channels it drives; ``node_targets`` evaluates each formula on the rails and ``b``,
# the output bits the neurons are set for. One truth for set_rails and the MVM:
# - v_read: each input magnitude bit is two bipolar planes (drivers._mvm_host), so a digit's integrated
#   charge is twice a plane's; the twin's v_read is the amplitude per unit digit, so a plane drives its
#   line to v_ref -+ v_read / 2. set_rails ramps both sides there; an MVM whose request carries its own
#   v_read_v ramps the driven side to that level (steps of at most 0.1 V) and leaves it there;
# - v_decr: the decrement levels depend on the output bits, so an MVM or neuron test with other output
#   bits than the last one ramps them to its own (steps of at most 0.1 V); set_rails sets them for the
#   bits of the last MVM or neuron test (DECR_BITS_AT_OPEN before any).
RAIL_TABLE: dict[str, tuple[RailWrite, ...]] = {
    "v_ref": (_w(0, 2, "v_ref", lambda r: r["v_ref"]), _w(1, 1, "v_ref", lambda r: r["v_ref"]),
              _w(1, 4, "v_ref", lambda r: r["v_ref"])),
    "v_read": (_w(1, 0, "v_ref - v_read / 2", lambda r: r["v_ref"] - 0.5 * r["v_read"]),
               _w(1, 2, "v_ref + v_read / 2", lambda r: r["v_ref"] + 0.5 * r["v_read"]),
               _w(1, 3, "v_ref - v_read / 2", lambda r: r["v_ref"] - 0.5 * r["v_read"]),
               _w(1, 5, "v_ref + v_read / 2", lambda r: r["v_ref"] + 0.5 * r["v_read"])),
    "v_decr": (_w(0, 4, "v_ref + v_decr * 2**(2 - b)", lambda r: r["v_ref"] + _decr(r)),
               _w(2, 2, "v_ref - v_decr * 2**(2 - b)", lambda r: r["v_ref"] - _decr(r))),
    "v_cell_read": (_w(1, 6, "0.9 + v_cell_read", lambda r: READ_REF_V + r["v_cell_read"]),
                    _w(1, 7, "0.9", lambda r: READ_REF_V)),
}
RAIL_DEPENDS = {"v_ref": ("v_read", "v_decr")}  # rails whose nodes move with another rail
# Pulse-time quantities: written at each pulse (no ramp), as apply_set_pulse does.
PULSE_NODES: dict[str, dict[str, RailWrite]] = {
    "set": {"amplitude": _w(3, 0, "v_pulse"), "gate": _w(3, 1, "v_gate")},
    "form": {"amplitude": _w(3, 0, "v_pulse"), "gate": _w(3, 1, "v_gate")},
    "reset": {"amplitude": _w(3, 2, "v_pulse"), "gate": _w(3, 3, "v_gate")},
}
GATE_RAILS = ("v_wl_set", "v_wl_reset", "v_wl_form")  # host mirrors only: written at pulse time
BOARD_RAILS = tuple(RAIL_TABLE) + GATE_RAILS  # v_wl_read: no DAC on this board
MUX_OF_KIND = {"set": MUX_SET, "form": MUX_SET, "reset": MUX_RESET}
TRIGGER_OF_KIND = {"set": T_SET, "form": T_SET, "reset": T_RESET}


def node_targets(rails: dict[str, float], names=None, output_bits: int = DECR_BITS_AT_OPEN) -> dict[tuple[int, int], float]:
    """Voltage (V) of each DAC channel the rails ``names`` drive (all by default), from :data:`RAIL_TABLE`,
    given every rail in ``rails`` and the neurons' ``output_bits`` (``b``). A rail that feeds other rails'
    nodes (``v_ref``) brings those along."""
    names = list(RAIL_TABLE) if names is None else [n for n in names if n in RAIL_TABLE]
    for n in list(names):
        names += [d for d in RAIL_DEPENDS.get(n, ()) if d not in names]
    ctx = dict(rails)
    ctx["output_bits"] = int(output_bits)
    out: dict[tuple[int, int], float] = {}
    for n in names:
        for w in RAIL_TABLE[n]:
            out[(w.dac, w.channel)] = w.volts(ctx)
    return out


def dac_code(volts: float, dac: int, what: str = "DAC voltage") -> int:
    """16-bit code of ``volts`` on DAC ``dac``: round(V / vref * 2**16).

    Raises
    ------
    LimitError
        The voltage is outside 0 .. (2**16 - 1) / 2**16 * vref (the DAC cannot make it).
    """
    vref = DAC_VREF_V[dac]
    code = int(round(volts / vref * 65536.0))
    if not 0 <= code <= DAC_CODE_MAX:
        raise LimitError(what, float(volts), (0.0, DAC_CODE_MAX * vref / 65536.0), f"DAC {dac} reference {vref} V")
    return code


def code_volts(code: int, dac: int) -> float:
    """Output voltage (V) of DAC ``dac`` at ``code``."""
    return code * DAC_VREF_V[dac] / 65536.0


def dac_word(cmd: int, channel: int, code: int) -> int:
    """One daisy-chain word: cmd[23:20] channel[19:16] code[15:0] (dac_control.py:119-134)."""
    return ((cmd & 0xF) << 20) | ((channel & 0xF) << 16) | (code & 0xFFFF)


def split_word(word: int) -> tuple[int, int, int]:
    """(cmd, channel, code) of a daisy-chain word."""
    return (word >> 20) & 0xF, (word >> 16) & 0xF, word & 0xFFFF


NOP_WORD = dac_word(CMD_NOP, 0, 0)


def dac_group(dac: int, channel: int, code: int) -> tuple[int, int, int, int]:
    """The four words of one channel update, in sending order (DAC 3 first): the target gets
    write+update, the other three the no-op (dac_control.py:50-55)."""
    return tuple(dac_word(CMD_WRITE_UPDATE, channel, code) if i == dac else NOP_WORD
                 for i in range(N_DACS - 1, -1, -1))


def dac_frame(steps: dict[int, tuple[int, int]]) -> tuple[int, int, int, int]:
    """The four words of one daisy-chain frame, in sending order (DAC 3 first): DAC ``d`` gets write+update
    of ``steps[d] = (channel, code)``, a DAC not in ``steps`` the no-op. One frame moves up to four
    channels, one on each DAC, at the same update (every DAC executes the word it holds when CS rises:
    dac_daisy_control.v:152-161, :200-201); :func:`dac_group` is the frame of one channel."""
    for d, (ch, code) in steps.items():
        if not (0 <= d < N_DACS and 0 <= ch < DAC_CHANNELS and 0 <= code <= DAC_CODE_MAX):
            raise InputError(f"DAC frame step {d}: {(ch, code)} is not a DAC 0-{N_DACS - 1}, channel "
                             f"0-{DAC_CHANNELS - 1}, code 0-{DAC_CODE_MAX}")
    return tuple(dac_word(CMD_WRITE_UPDATE, *steps[i]) if i in steps else NOP_WORD
                 for i in range(N_DACS - 1, -1, -1))


def ramp(now_v: float, target_v: float, step_v: float = RAMP_STEP_V) -> list[float]:
    """Intermediate and final voltages from ``now_v`` to ``target_v``, each step at most ``step_v``."""
    import math

    n = max(1, math.ceil(abs(target_v - now_v) / step_v - 1e-9))
    return [now_v + (target_v - now_v) * i / n for i in range(1, n)] + [target_v]


# ------------------------------------------------------------------- ADC
ADC_BITS = 18
ADC_VREF_V = 2.048  # adc_control.py:10
ADC_CODE_MAX = (1 << ADC_BITS) - 1
C_INTEG_F = 1e-9  # integrating capacitor: 1 nF as the notebooks set it (adc_control.py:13 has 100 pF)
T_DELTA_MIN, T_DELTA_MAX = 10, 30000  # auto_ranging.v:130: ranging stops outside 10 < t_delta < 30000
READ_T_SHLD, READ_T_DELTA = 10, 20  # first guess of each read (READ_UNIT_S); the FPGA ranges from there


def adc_code(volts: float) -> int:
    """18-bit ADC code of ``volts`` (clipped to the ADC's range), int(V * 2**18 / 2.048) (adc_control.py:32-33)."""
    code = int(volts * 262144.0 / ADC_VREF_V)
    return 0 if code < 0 else ADC_CODE_MAX if code > ADC_CODE_MAX else code


def adc_volts(code: int) -> float:
    """Volts of an 18-bit ADC code (adc_control.py:28-29)."""
    return (code & ADC_CODE_MAX) * ADC_VREF_V / 262144.0


def read_siemens(code_start: int, code_end: int, t_delta: int, v_read_v: float, v_ref_v: float = READ_REF_V,
                 c_integ_f: float = C_INTEG_F) -> float:
    """Conductance (S) of one auto-ranged read: I = C (V_start - V_end) / (t_delta 1.28 us), G = I / (vread - vref)
    (adc_control.py:86-92, 142)."""
    if t_delta <= 0:
        return 0.0
    dv = (code_start - code_end) * ADC_VREF_V / 262144.0
    return c_integ_f * dv / (t_delta * READ_UNIT_S) / (v_read_v - v_ref_v)


def width_ticks(width_s: float) -> int:
    """Pulse width in TICK_S, at least one."""
    return max(1, int(round(width_s / TICK_S)))


# neurram_wupdate_control.v: the FSM stays in PROGRAM while clk_counter runs 0 .. pulse_width, so the
# pulse lasts pulse_width + 1 system clocks; the driver writes ticks - 1 to get ticks.
PULSE_EXTRA_TICKS = 1


# ------------------------------------------------------- core addressing
CORE_ROWS, CORE_COLS = 8, 6  # core = horizontal address * 6 + vertical address


def swap_addr(addr: int) -> int:
    """Decoder address of logical core row/column ``addr`` (spi_control.py:313-317: 3->0, 7->4, else +1)."""
    return addr - 3 if addr in (3, 7) else addr + 1


def unswap_addr(addr: int) -> int:
    """Inverse of :func:`swap_addr`."""
    return addr + 3 if addr in (0, 4) else addr - 1


def core_address(core: int) -> tuple[int, int]:
    """(horizontal, vertical) logical address of ``core``."""
    return divmod(int(core), CORE_COLS)
