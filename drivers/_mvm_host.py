"""MVM and neuron test through the chip authors' bitstream (``neurram_top.v``): the host side.

What the host sends, in the order the authors' ``matmul.matmul`` sends it
(re-implemented from the HDL and their host code, not copied):

1. bias levels on the DACs, as the board's rail table
   (:data:`drivers.neurram_top.RAIL_TABLE`) gives them: the input levels
   ``v_ref -+ v_read / 2`` on the bit-line (forward) or source-line
   (backward) input nodes, and the multi-level readout's decrement levels
   ``v_ref +- v_decr * 2**(2 - b)`` (one LSB of a ``b``-bit output per step),
   ramped in steps of at most 0.1 V where they are not there already (a
   request's own ``v_read_v``, other output bits than the last run's);
2. the core enabled through the 0x13/0x14 shift register;
3. every input bit plane of every vector into pipe 0x80 after 0x15 (core-row
   mask, words per row turn) and 0x0D (SPI write, shift multiplier, shift
   direction): two bits a line, bit ``2i`` drives -1 and bit ``2i + 1`` drives
   +1, little-endian, each 256-line plane reversed when the SPI shifts forward;
4. 0x06, 0x09, 0x10, 0x0F, 0x0E, then 0x05 = inference | forward << 5;
5. the output mask on pipe 0x81, trigger 0x45 bit 6, poll 0x28 bit 3;
6. trigger 0x45 bit 8 (batched bit-serial MVM with readout), poll 0x28 bit 9;
7. pipe 0xA2 (once 0x28 bit 13 clears): one byte a neuron, bit 7 the
   initial sign, bits 6:0 the step at which the neuron flipped.

Input encoding: each magnitude bit ``b`` of a signed digit ``d`` in {-1, 0, 1}
is two bipolar planes, ``+1 if d > 0 else -1`` and ``+1 if d >= 0 else -1``
(the authors' signed encoding; for unsigned inputs it equals their 0/1
encoding), integrated with ``2**b`` pulses each: their sum is ``2 d``, so
the input nodes sit at ``v_ref +- v_read / 2`` for the integrated charge of
the twin's ``v_read`` per unit digit. Lines outside the request stay 0 (not
driven).

Readout limits: a neuron still positive (or negative) after 100 steps keeps
the step count of the previous vector of the run (``neuron_multi_level_output.v``
never clears it; the mask load clears it to 0, which this module reads as full
scale). With ``b`` output bits the integrator's headroom (about 0.35 V) is
``0.35 / ((Cs/Ci) v_decr 2**(2-b))`` steps: below 100 for ``b <= 6`` at any
``v_decr`` above 0.35 V, but for 7 bits only when ``v_decr >= 0.69 V``; below
that, outputs saturated past 1.56x full scale can read a stale count.

Stochastic neurons (``activation="stochastic"``): per vector, trigger 0x45
bit 7 (one bit-serial MVM without readout), poll 0x28 bit 4, the board's
LFSR pulses (trigger 0x44 bit 5 each, VPLFSR / VNLFSR on DAC 0 channels 5/6,
0x09's pulse count held at 0), then the multi-level readout (0x45 bit 5,
poll 0x28 bit 3, pipe 0xA2). The sequence, the HDL behind it and the lab
parameters (:class:`drivers._lfsr_host.NoiseInjection`) are in
:mod:`drivers._lfsr_host`.

The pure parts (encoding, decoding, wire words) sit at the top and are what
the tests pin; :func:`run_mvm` and :func:`neuron_test` drive an
:class:`~drivers.fpga_board.FpgaBoard`.
"""

from __future__ import annotations

import numpy as np

from neurram_lab.board.capabilities import BoardCapabilities
from neurram_lab.board.limits import N_ROWS
from neurram_lab.errors import CapabilityError, InputError

from . import neurram_top as nt

# ------------------------------------------------------------- the bitstream
N_LINES = N_ROWS  # lines of a core, rows and columns alike
N_CORE_ROWS = 8  # one SPI chain, pipe FIFO and readout block per core row
N_CORE_COLS = 6
PLANE_BYTES = N_LINES * 2 // 8  # 64: 2 bits a line
PLANE_WORDS = PLANE_BYTES // 4  # 16 pipe words of 32 bits
MASK_BYTES = 48  # NMLO_LENGTH * NMLO_CORE / 8: the output mask of one core row
READOUT_BYTES = N_LINES  # single-core readout: one byte a neuron
MAX_STEPS = 100  # the readout gives up after 100 decrement steps (neuron_multi_level_output.v)
MAX_OUTPUT_BITS = 7  # 2**(7-1) = 64 steps fit in 100; 8 bits would need 128
MAX_BATCH_FIELD = 255  # 0x0E[17:10]
# FIFO depths (32-bit words) the host must not overrun: the run's planes sit in
# the core row's SPI pipe-in FIFO (FIFO32x2048) before the run starts, and its
# readout waits in the 0xA2 arbiter FIFO (FIFO32x4096) until the host reads it.
SPI_FIFO_WORDS = 2048
READOUT_FIFO_WORDS = 4096
READOUT_WORDS_PER_VECTOR = READOUT_BYTES // 4  # 64 per core row
RUNS_PER_BLOCK = 64  # runs whose planes the host encodes, and whose readout it decodes, together

# endpoints, status and trigger bits: drivers.neurram_top (nt), the one endpoint map

# neuron timing (80 ns clocks), as the authors run it
T_OPAMP, T_SAMPLE, T_COMPARE = 63, 2, 2

# DAC channels (dac, channel) of the MVM and neuron nodes (matmul.py dac_setup)
DAC_VPOS_BL, DAC_VNEG_BL = (1, 2), (1, 0)
DAC_VPOS_SL, DAC_VNEG_SL = (1, 5), (1, 3)
DAC_DECR_PLUS, DAC_DECR_MINUS = (0, 4), (2, 2)
DAC_NEURON_TEST = DAC_VPOS_BL  # the external 1n line takes the bit-line input level


ACTIVATIONS = ("none", "relu", "stochastic")


def capabilities(**overrides) -> BoardCapabilities:
    """What this bitstream's MVM and neuron test can do (the MVM part of an FpgaBoard's capabilities).

    At most 7 output bits (the 100-step readout); forward and backward only
    (no recurrent placement in the HDL or the authors' host code); no
    two-phase split; ``none``, ``relu`` (the ReLU clips the decoded codes
    on the host, as the authors' notebooks do) and ``stochastic`` (the LFSR
    pulse of ``lfsr_control.v``, in all three top levels); one core per core row in a
    run, so at most 8 cores; one neuron-test voltage per vector (the
    external line is shared).
    """
    kw = dict(output_bits=(1, MAX_OUTPUT_BITS), input_bits=(1, 8), directions=("forward", "backward"),
              activations=ACTIVATIONS, two_phase=False, max_parallel_cores=N_CORE_ROWS,
              neuron_test_per_neuron=False)
    kw.update(overrides)
    return BoardCapabilities(**kw)


def core_row_col(core: int) -> tuple[int, int]:
    """(core row 0-7, core column 0-5) of a core numbered ``6 * row + col``."""
    return int(core) // N_CORE_COLS, int(core) % N_CORE_COLS


# ------------------------------------------------------------ input planes
def magnitude_bits(input_bits: int, signed: bool) -> int:
    """Bit-serial cycles pairs the FSM runs: magnitude bits, at least 1 (0x0E[4:2] + 1)."""
    m = int(input_bits) - 1 if signed else int(input_bits)
    return max(m, 1)


def line_values(request, i: int, vectors=slice(None)) -> np.ndarray:
    """Signed integer input per physical line (batch, 256) int32 of core ``i`` of a validated request
    (the vectors ``vectors`` of its batch).

    Forward differential: logical line ``l`` drives row ``2l`` with +x and
    ``2l + 1`` with -x. Lines not driven are marked by :func:`driven_lines`.
    """
    x = np.asarray(request.inputs[i][vectors], np.int32)
    lines = np.asarray(request.input_lines, np.int64)
    out = np.zeros((x.shape[0], N_LINES), np.int32)
    if request.direction == "forward" and request.differential:
        out[:, 2 * lines] = x
        out[:, 2 * lines + 1] = -x
    else:
        out[:, lines] = x
    return out


def driven_lines(request) -> np.ndarray:
    """Bool (256,): the physical lines a request drives."""
    lines = np.asarray(request.input_lines, np.int64)
    d = np.zeros(N_LINES, bool)
    if request.direction == "forward" and request.differential:
        d[2 * lines] = True
        d[2 * lines + 1] = True
    else:
        d[lines] = True
    return d


def bit_planes(values: np.ndarray, driven: np.ndarray, m_bits: int) -> np.ndarray:
    """Bipolar planes (batch, 2 * m_bits, 256) int8 in {-1, 0, +1}, LSB first, two per bit.

    For digit ``d = sign(x) * bit_b(|x|)``: ``+1 if d > 0 else -1``, then
    ``+1 if d >= 0 else -1``; 0 on lines not driven.
    """
    v = np.asarray(values)
    cols = np.flatnonzero(driven)
    span = slice(cols[0], cols[-1] + 1) if cols.size and cols[-1] - cols[0] + 1 == cols.size else cols
    x = v[:, span]  # the driven lines only
    mag, neg = np.abs(x), x < 0
    bit = ((mag[:, None, :] >> np.arange(m_bits)[None, :, None]) & 1).astype(bool)  # (batch, m_bits, lines)
    dense = np.empty((v.shape[0], m_bits, 2, x.shape[1]), np.int8)
    dense[:, :, 0] = np.where(bit & ~neg[:, None, :], 1, -1)
    dense[:, :, 1] = np.where(bit & neg[:, None, :], -1, 1)
    planes = np.zeros((v.shape[0], 2 * m_bits, v.shape[1]), np.int8)
    planes[:, :, span] = dense.reshape(v.shape[0], 2 * m_bits, x.shape[1])
    return planes


def encode_planes(planes: np.ndarray, shift_forward: bool) -> bytes:
    """Pipe 0x80 bytes of 256-line planes (..., 256) in {-1, 0, 1}: 64 bytes a plane.

    Bit ``2i`` of the little-endian bit stream drives line ``i`` to -1, bit
    ``2i + 1`` to +1; a plane is reversed first when the SPI shifts forward
    (0x0D bit 14), so that line ``i`` lands on register position ``i`` either way.
    """
    p = np.asarray(planes).reshape(-1, N_LINES)
    if shift_forward:
        p = p[:, ::-1]
    bits = np.empty((p.shape[0], 2 * N_LINES), bool)
    bits[:, 0::2] = p == -1
    bits[:, 1::2] = p == 1
    return np.packbits(bits, axis=1, bitorder="little").tobytes()


# ----------------------------------------------------------- SPI geometry
def spi_write_setup(col: int, vertical: bool) -> tuple[int, bool]:
    """(shift multiplier, shift forward) that lands a plane in core column ``col``'s
    vertical (bit-line inputs) or horizontal (source-line inputs) register.

    The 12 registers of a core row form one chain, H0 V0 H1 V1 ... H5 V5;
    columns 0-2 are reached shifting forward from the H0 end, 3-5 backward
    from the V5 end.
    """
    col = int(col)
    if col <= 2:
        return (2 * (col + 1) if vertical else 2 * col + 1), True
    return (2 * (5 - col) + 1 if vertical else 2 * (6 - col)), False


def readout_multiplier(col: int, forward: bool) -> int:
    """0x0F shift multiplier that reads core column ``col``'s output register
    (horizontal for a forward MVM, vertical for backward); the readout shifts backward."""
    return 2 * int(col) + 1 if forward else 2 * (int(col) + 1)


# ------------------------------------------------------------- wire words
def spi_mask_word(rows, words_per_turn: int = PLANE_WORDS) -> int:
    """0x15: core-row mask [7:0] and the words each selected row takes per turn [17:8]."""
    mask = 0
    for r in rows:
        mask |= 1 << int(r)
    return mask | (int(words_per_turn) & 0x3FF) << 8


def spi_write_word(multiplier: int, shift_forward: bool) -> int:
    """0x0D for a pipe-fed SPI write of one plane per trigger."""
    return (nt.SPI_CONFIG.put(0b10) | nt.SPI_SHIFT_MULTIPLIER.put(multiplier) | nt.SPI_PIPE_IN_STEPS.put(1)
            | (nt.SPI_SHIFT_FORWARD if shift_forward else 0))


def neuron_word(pulses: int = 1) -> int:
    """0x09: partial reset between steps, external 1n/3n, OTA time, compare phase, pulses."""
    return (nt.NEURON_RUN_ALL_RESET | nt.NEURON_USE_EXT_1N | nt.NEURON_USE_EXT_3N | nt.NEURON_T_OPAMP.put(T_OPAMP)
            | nt.NEURON_PHASE.put(0b01) | nt.NEURON_PULSES.put(pulses))


def timing_word() -> int:
    """0x10: sample time [11:4] (and the compare time the authors put in [19:12])."""
    return nt.DEBUG_T_SAMPLE.put(T_SAMPLE) | (T_COMPARE & 0xFF) << 12  # [19:12]: read as LFSR shift cycles


def readout_word(multiplier: int) -> int:
    """0x0F: one core, its shift multiplier, single-core readout."""
    return nt.READOUT_NUM_CORE.put(1) | nt.READOUT_SHIFT_MULTIPLIER.put(multiplier) | nt.READOUT_SINGLE_CORE


def matmul_word(batch: int, m_bits: int, pulse_multiplier: int = 1) -> int:
    """0x0E: CDS, register reset after each cycle, magnitude bits - 1, base pulses, batch count."""
    if not 1 <= int(batch) <= MAX_BATCH_FIELD:
        raise InputError(f"a bitstream run takes 1..{MAX_BATCH_FIELD} vectors, got {batch}")
    if not 1 <= int(m_bits) <= 8:
        raise InputError(f"the bit-serial FSM runs 1..8 magnitude bits, got {m_bits}")
    return (nt.MATMUL_CDS | nt.MATMUL_RESET | nt.MATMUL_NUM_BITS.put(int(m_bits) - 1)
            | nt.MATMUL_PULSE_MULTIPLIER.put(pulse_multiplier) | nt.MATMUL_BATCH.put(batch))


def mode_word(forward: bool) -> int:
    """0x05: inference mode, direction."""
    return nt.MODE_INFERENCE | (nt.MODE_FORWARD if forward else 0)


def mask_bytes(lines) -> bytes:
    """Pipe 0x81 bytes for one core row: bit ``y`` of the 384-bit mask enables neuron ``y``."""
    bits = np.zeros(MASK_BYTES * 8, bool)
    bits[np.asarray(lines, np.int64)] = True
    return np.packbits(bits, bitorder="little").tobytes()


# ---------------------------------------------------------------- readout
def decode_readout(data) -> tuple[np.ndarray, np.ndarray]:
    """(initial sign bit, step count) of readout bytes, uint8 arrays of the input's shape."""
    b = np.frombuffer(bytes(data), np.uint8) if not isinstance(data, np.ndarray) else np.asarray(data, np.uint8)
    return b >> 7, b & 0x7F


def readout_value(sign: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """The authors' reading: ``(steps - 0.5) * (1 - 2 * sign)``, in decrement steps."""
    return (steps.astype(np.float64) - 0.5) * (1.0 - 2.0 * sign)


def steps_to_codes(sign: np.ndarray, steps: np.ndarray, output_bits: int) -> np.ndarray:
    """Two's-complement codes of ``output_bits`` (sign included) from readout bytes.

    ``code = value - 0.5``: ``steps - 1`` when the neuron started positive,
    ``-steps`` when negative, clipped to ``[-2**(b-1), 2**(b-1) - 1]``.
    A step count of 0 means the neuron never flipped within the readout (its
    count was cleared with the mask): full scale in the sign's direction.
    """
    b = int(output_bits)
    top = 2 ** (b - 1) - 1
    s = sign.astype(np.int16)
    n = steps.astype(np.int16)
    code = np.where(s == 0, n - 1, -n)
    code = np.where(n == 0, np.where(s == 0, top, -top - 1), code)
    return np.clip(code, -top - 1, top).astype(np.int16)


decrement_v = nt.decrement_v  # per-step decrement level: v_decr * 2**(2 - b) (the rail table's formula)


# ---------------------------------------------------------------- batches
def run_batch_limit(n_planes: int, n_rows: int) -> int:
    """Most vectors one run can take without overrunning a FIFO (and 0x0E's 8-bit count)."""
    by_input = SPI_FIFO_WORDS // (int(n_planes) * PLANE_WORDS)
    by_output = READOUT_FIFO_WORDS // (int(n_rows) * READOUT_WORDS_PER_VECTOR)
    return max(1, min(MAX_BATCH_FIELD, by_input, by_output))


def check_request(request) -> None:
    """What the bitstream cannot run though the contract let it through (typed, before any call)."""
    if request.two_phase:
        raise CapabilityError("two_phase", True, False, "this bitstream runs one phase")
    if request.output_bits > MAX_OUTPUT_BITS:
        raise CapabilityError("output_bits", request.output_bits, (1, MAX_OUTPUT_BITS), "100-step readout")
    if request.direction not in ("forward", "backward"):
        raise CapabilityError("directions", request.direction, ("forward", "backward"), "MVM direction")
    if request.activation not in ACTIVATIONS:
        raise CapabilityError("activations", request.activation, ACTIVATIONS, "neuron activation")


# The chip's SPI clocks per core row: row 0 has its own; rows 1-3 share spi_clock_1_3 and rows 4-7 share
# spi_clock_4_7, each the OR of its rows' state clocks (neurram_top.v:531-534). Two cores of one group in a run
# would each be shifted by the other's readout clocks, which end at different steps (the RTL returns their codes
# swapped), so a run holds at most one core per clock group.
SPI_CLOCK_GROUP_OF_ROW = (0, 1, 1, 1, 2, 2, 2, 2)


def run_groups(cores) -> list[list[int]]:
    """Indices of a request's cores grouped into runs: same core column, at most one core per SPI clock group
    (row 0, rows 1-3, rows 4-7: :data:`SPI_CLOCK_GROUP_OF_ROW`)."""
    groups: dict = {}
    for i, c in enumerate(cores):
        r, col = core_row_col(c)
        g = SPI_CLOCK_GROUP_OF_ROW[r]
        runs = groups.setdefault(col, [])
        for run in runs:
            if all(SPI_CLOCK_GROUP_OF_ROW[core_row_col(cores[j])[0]] != g for j in run):
                run.append(i)
                break
        else:
            runs.append([i])
    return [run for col in sorted(groups) for run in groups[col]]


# ===================================================================== host
# The board object is an FpgaBoard, driven through its sequencer primitives (drivers.fpga_board):
# ``link`` (the checked FrontPanel call layer), ``stage_wire_ins({ep: value})`` (unchanged values are not
# re-sent; one UpdateWireIns when any changed), ``poll_wire_out``, ``ramp_dac_nodes({(dac, channel): volts})``
# (interleaved ramps of at most 0.1 V a step; channels already there send nothing), ``decrement_bits``,
# ``rails_v``, ``enable_core(core)`` / ``enable_core_column(col)`` and ``forget_cell()``.

def _link(board):
    return board.link


class _Wires:
    """Stage wire-ins through the board (unchanged values are not re-sent), then one UpdateWireIns."""

    def __init__(self, board):
        self.board = board

    def set(self, values: dict) -> None:
        self.board.stage_wire_ins(values)


def _poll(board, mask: int, want_set: bool, what: str) -> int:
    """Poll 0x28 until ``mask`` is set (or clear); FrontPanelError(Timeout) past the board's deadline."""
    return board.poll_wire_out(nt.WO_NEURON_STATUS, mask, what, clear=not want_set)


def _trigger_wait(board, bit: int, mask: int, what: str) -> None:
    _link(board).trigger(nt.TI_NEURON, bit)
    _poll(board, mask, True, what)


def _rails(board) -> dict:
    return board.rails_v


def enable_cores(board, cores) -> None:
    """Enable one core (the board's own single-core sequence), or a core column for cores in
    several core rows (:meth:`~drivers.fpga_board.FpgaBoard.enable_core_column`)."""
    cores = [int(c) for c in cores]
    link = _link(board)
    op = link.board_op
    if len(cores) == 1:
        board.enable_core(cores[0])
        link.op(op)  # the board counts its enable under "select"; the calls after it are this operation's
        return
    board.enable_core_column(core_row_col(cores[0])[1])


def _dac_plan(rails: dict, node_v: dict) -> dict:
    """Check every DAC voltage of a plan before anything is sent (typed LimitError naming the node)."""
    for (dac, ch), v in node_v.items():
        nt.dac_code(v, dac, f"{nt.NODES.get((dac, ch), 'DAC')} voltage")
    return node_v


def mvm_dac_plan(rails: dict, v_read_v: float, forward: bool, output_bits: int) -> dict:
    """DAC voltages (V) an MVM needs, from the rail table: the driven side's input levels
    ``v_ref -+ v_read / 2`` at ``v_read_v``, decrement levels ``v_ref +- v_decr * 2**(2 - b)``."""
    driven = (DAC_VPOS_BL, DAC_VNEG_BL) if forward else (DAC_VPOS_SL, DAC_VNEG_SL)
    r = dict(rails)
    r["v_read"] = float(v_read_v)
    t = nt.node_targets(r, ["v_read", "v_decr"], output_bits)
    return _dac_plan(rails, {dc: t[dc] for dc in driven + (DAC_DECR_PLUS, DAC_DECR_MINUS)})


def decr_plan(rails: dict, output_bits: int) -> dict:
    """DAC voltages (V) of the decrement levels for ``output_bits`` (the rail table's v_decr formula)."""
    return _dac_plan(rails, nt.node_targets(rails, ["v_decr"], output_bits))


def _apply_dacs(board, plan: dict, output_bits: int) -> None:
    """Ramp the plan's channels (steps of at most 0.1 V; those already there send nothing)."""
    board.ramp_dac_nodes(plan)
    board.decrement_bits = int(output_bits)


def _load_run(board, wires: _Wires, rows, col: int, forward: bool, planes: np.ndarray, m_bits: int,
              out_lines: np.ndarray, pulses: int, pulse_width: int = 0):
    """A run's set-up on cores (row, col) for rows: the input planes through the SPI pipe, the neuron,
    timing (0x10[3:0] = ``pulse_width``), readout, MVM and mode words (0x09 with ``pulses``), and the
    output mask loaded; returns the link."""
    link = _link(board)
    mult, shift_fwd = spi_write_setup(col, vertical=forward)
    wires.set({nt.WI_SPI_MASK: spi_mask_word(rows), nt.WI_SPI: spi_write_word(mult, shift_fwd)})
    link.pipe_in(nt.PI_SPI, encode_planes(planes, shift_fwd))
    wires.set({nt.WI_CONTROL: nt.CONTROL_REG_WL | nt.CONTROL_OTA, nt.WI_NEURON: neuron_word(pulses),
               nt.WI_DEBUG: timing_word() | pulse_width, nt.WI_READOUT: readout_word(readout_multiplier(col, forward)),
               nt.WI_MATMUL: matmul_word(planes.shape[0], m_bits)})
    wires.set({nt.WI_MODE: mode_word(forward)})
    link.pipe_in(nt.PI_OUTPUT_MASK, mask_bytes(out_lines) * len(rows))
    _trigger_wait(board, nt.T_LOAD_MASK, nt.NS_READOUT_IDLE, "output mask loaded (0x28 bit 3)")
    return link


def _run_once(board, wires: _Wires, rows, col: int, forward: bool, planes: np.ndarray, m_bits: int,
              out_lines: np.ndarray) -> np.ndarray:
    """One batched run on cores (row, col) for rows: planes (batch, n_planes, n_rows, 256);
    returns readout bytes (batch, n_rows, 256)."""
    link = _load_run(board, wires, rows, col, forward, planes, m_bits, out_lines, pulses=1)
    batch = planes.shape[0]
    _trigger_wait(board, nt.T_BATCH_MATMUL, nt.NS_BATCH_IDLE, "batched MVM done (0x28 bit 9)")
    _poll(board, nt.NS_READOUT_EMPTY, False, "readout data (0x28 bit 13 clear)")
    data = link.pipe_out(nt.PO_READOUT, batch * len(rows) * READOUT_BYTES)
    return np.frombuffer(bytes(data), np.uint8).reshape(batch, len(rows), READOUT_BYTES)


def _run_stochastic(board, wires: _Wires, rows, col: int, forward: bool, planes: np.ndarray, m_bits: int,
                    out_lines: np.ndarray, inj) -> np.ndarray:
    """:func:`_run_once` with LFSR noise: per vector the bit-serial MVM alone (0x45 bit 7), the
    injection's LFSR pulses, then the readout (0x45 bit 5); returns readout bytes (batch, n_rows, 256)."""
    from . import _lfsr_host as lfsr

    # 0x09's pulse count 0: the integration an LFSR pulse triggers must not go on sampling (neuron_control.v:1319)
    link = _load_run(board, wires, rows, col, forward, planes, m_bits, out_lines, pulses=0,
                     pulse_width=int(inj.pulse_width))
    batch = planes.shape[0]
    out = np.empty((batch, len(rows), READOUT_BYTES), np.uint8)
    n = len(rows) * READOUT_BYTES
    for v in range(batch):
        _trigger_wait(board, nt.T_MATMUL, nt.NS_MATMUL_IDLE, "bit-serial MVM done (0x28 bit 4)")
        lfsr.pulse(board, inj.pulses)
        _trigger_wait(board, nt.T_READOUT, nt.NS_READOUT_IDLE, "readout (0x28 bit 3)")
        _poll(board, nt.NS_READOUT_EMPTY, False, "readout data (0x28 bit 13 clear)")
        out[v] = np.frombuffer(bytes(link.pipe_out(nt.PO_READOUT, n)), np.uint8).reshape(len(rows), READOUT_BYTES)
    return out


def run_mvm(board, request) -> np.ndarray:
    """Run a validated :class:`~neurram_lab.board.contract.MVMRequest` through the bitstream.

    Cores in one core column and distinct core rows run together; the rest in
    turn. Each run takes at most :func:`run_batch_limit` vectors. Returns
    codes int16 (n_cores, batch, n_out) of ``request.output_bits``.
    """
    check_request(request)
    forward = request.direction == "forward"
    m_bits = magnitude_bits(request.input_bits, request.signed_inputs)
    rails = _rails(board)
    v_read = rails["v_read"] if request.v_read_v is None else float(request.v_read_v)
    plan = mvm_dac_plan(rails, v_read, forward, request.output_bits)  # checked before any call
    stochastic = request.activation == "stochastic"
    if stochastic:
        from . import _lfsr_host as lfsr

        inj = lfsr.injection(board)
        plan = {**plan, **lfsr.injection_dac_plan(rails, inj, board.limits)}
    cores = list(request.cores)
    n_cores, batch = len(cores), int(np.shape(request.inputs)[1])
    out_lines = np.asarray(request.output_lines, np.int64)
    driven = driven_lines(request)
    codes = np.zeros((n_cores, batch, out_lines.size), np.int16)
    wires = _Wires(board)
    _apply_dacs(board, plan, request.output_bits)
    try:
        for group in run_groups(cores):
            rows = [core_row_col(cores[i])[0] for i in group]
            col = core_row_col(cores[group[0]])[1]
            order = np.argsort(rows)
            group = [group[k] for k in order]
            rows = [rows[k] for k in order]
            enable_cores(board, [cores[i] for i in group])
            limit = run_batch_limit(2 * m_bits, len(rows))
            block = limit * RUNS_PER_BLOCK
            for b0 in range(0, batch, block):  # planes and decoding a block of runs at a time (bounded memory)
                b1 = min(batch, b0 + block)
                planes = np.stack([bit_planes(line_values(request, i, slice(b0, b1)), driven, m_bits)
                                   for i in group], axis=2)
                got = np.empty((b1 - b0, len(rows), READOUT_BYTES), np.uint8)
                for lo in range(0, b1 - b0, limit):
                    if stochastic:
                        got[lo:lo + limit] = _run_stochastic(board, wires, rows, col, forward, planes[lo:lo + limit],
                                                             m_bits, out_lines, inj)
                    else:
                        got[lo:lo + limit] = _run_once(board, wires, rows, col, forward, planes[lo:lo + limit],
                                                       m_bits, out_lines)
                sign, steps = decode_readout(got[:, :, out_lines])
                for j, i in enumerate(group):
                    codes[i, b0:b1] = steps_to_codes(sign[:, j], steps[:, j], request.output_bits)
    finally:
        wires.set({nt.WI_MODE: 0})  # inference off: weight updates need 0x05 bit 0 low (neurram_top.v:402)
        board.forget_cell()  # the bit-serial cycles and the readout pulse the register clears (neurram_top.v:353-354)
    if request.activation == "relu":
        np.maximum(codes, 0, out=codes)
    return codes


def neuron_test(board, core: int, v_in_v: np.ndarray, output_bits: int) -> np.ndarray:
    """Neuron test through the shared external line: one voltage per vector (``v_in_v[:, 0]``).

    Per vector: the line's DAC (VPOS_BL, ramped in steps of at most 0.1 V), CDS
    (0x45 bit 0), sample (bit 1), the multi-level readout (bit 5) and 256 bytes
    from pipe 0xA2; afterwards VPOS_BL is ramped back to the v_read rail's level.
    Returns codes int16 (batch, 256) of ``output_bits``.
    """
    if int(output_bits) > MAX_OUTPUT_BITS:
        raise CapabilityError("output_bits", int(output_bits), (1, MAX_OUTPUT_BITS), "100-step readout")
    v = np.atleast_2d(np.asarray(v_in_v, np.float64))
    if v.size and float(np.max(np.ptp(v, axis=-1))) > 0:
        raise CapabilityError("neuron_test_per_neuron", "different voltages in a vector", False,
                              "one voltage is shared by all neurons of a vector")
    rails = _rails(board)
    levels = v[:, 0]
    plan = decr_plan(rails, output_bits)
    for x in np.unique(levels):  # every level checked before any call
        _dac_plan(rails, {DAC_NEURON_TEST: float(x)})
    rest = {DAC_NEURON_TEST: nt.node_targets(rails, ["v_read"])[DAC_NEURON_TEST]}  # the rail's level, after
    link = _link(board)
    wires = _Wires(board)
    row, col = core_row_col(core)
    out = np.zeros((v.shape[0], N_LINES), np.int16)
    _apply_dacs(board, plan, output_bits)
    enable_cores(board, [int(core)])
    try:
        wires.set({nt.WI_SPI_MASK: spi_mask_word([row]), nt.WI_CONTROL: nt.CONTROL_REG_WL | nt.CONTROL_OTA,
                   nt.WI_NEURON: neuron_word(1), nt.WI_DEBUG: timing_word(),
                   nt.WI_READOUT: readout_word(readout_multiplier(col, True)),
                   nt.WI_EXT: nt.EXT_1N | nt.EXT_1N_BL | nt.EXT_INF_BL, nt.WI_MODE: mode_word(True) & ~nt.MODE_INFERENCE})
        link.pipe_in(nt.PI_OUTPUT_MASK, mask_bytes(np.arange(N_LINES)))
        _trigger_wait(board, nt.T_LOAD_MASK, nt.NS_READOUT_IDLE, "output mask loaded (0x28 bit 3)")
        for k, x in enumerate(levels):
            board.ramp_dac_nodes({DAC_NEURON_TEST: float(x)})
            _trigger_wait(board, nt.T_CDS, nt.NS_NEURON_IDLE, "neuron CDS (0x28 bit 0)")
            _trigger_wait(board, nt.T_SAMPLE, nt.NS_NEURON_IDLE, "neuron sample (0x28 bit 0)")
            _trigger_wait(board, nt.T_READOUT, nt.NS_READOUT_IDLE, "readout (0x28 bit 3)")
            _poll(board, nt.NS_READOUT_EMPTY, False, "readout data (0x28 bit 13 clear)")
            data = link.pipe_out(nt.PO_READOUT, READOUT_BYTES)
            sign, steps = decode_readout(bytes(data))
            out[k] = steps_to_codes(sign, steps, output_bits)
    finally:
        wires.set({nt.WI_EXT: 0, nt.WI_MODE: 0})
        board.forget_cell()  # each readout step pulses the register clears (neurram_top.v:353-354)
        board.ramp_dac_nodes(rest)  # the bit-line input level back where the v_read rail puts it
    return out
