"""The chip's LFSR block through the authors' bitstream (``lfsr_control.v``): the host side.

What the host sends (re-implemented from the HDL and the authors' ``lfsr_control.py``, not copied):

- preset: ``0x0A`` bit 0 high, then low (the chip's active-low ``lfsrhorz_set_b``);
- read: ``0x10`` with the shift count in ``[20:12]`` (the sample time stays in
  ``[11:4]``, the LFSR pulse width in ``[3:0]``), trigger ``0x44`` bit 4, then
  64 bytes from pipe ``0xA1``: two 256-bit registers (words 0-7 and 8-15,
  little-endian) into which ``lfsr_control.v`` shifted the chip's two
  ``lfsr_out`` bits at bit 255 on every ``lfsr_clk``. After 256 clocks bit
  ``i`` of register ``k`` is the bit chain ``k`` gave at clock ``i``.

The LFSR pulse (``0x44`` bit 5, the stochastic neurons' noise injection) is
not driven here: which DAC levels (VPLFSR/VNLFSR) and pulse counts give the
paper's noise is in no published host code.
"""

from __future__ import annotations

import numpy as np

from neurram_lab.errors import InputError

from . import neurram_top as nt

N_CHAIN_BITS = 256
LFSR_BYTES = 64  # 16 pipe words
MAX_SHIFT = 0x1FF  # 0x10[20:12]
MAX_PULSE_WIDTH = 0xF  # 0x10[3:0]


def lfsr_word(shift_cycles: int, pulse_width: int = 0, t_sample: int = 2) -> int:
    """0x10: LFSR shift count [20:12], sample time [11:4], LFSR pulse width [3:0] (80 ns clocks)."""
    for name, v, hi in (("shift_cycles", shift_cycles, MAX_SHIFT), ("pulse_width", pulse_width, MAX_PULSE_WIDTH),
                        ("t_sample", t_sample, 0xFF)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not (name != "shift_cycles" or v >= 1) \
                or not 0 <= int(v) <= hi:
            lo = 1 if name == "shift_cycles" else 0
            raise InputError(f"{name} must be an integer in {lo}..{hi} (0x10 field), got {v!r}")
    return (int(shift_cycles) & MAX_SHIFT) << 12 | (int(t_sample) & 0xFF) << 4 | (int(pulse_width) & MAX_PULSE_WIDTH)


def decode_state(data) -> np.ndarray:
    """(2, 256) uint8 bits of the 64 bytes of pipe 0xA1: register ``k``'s bit ``i`` at ``[k, i]``."""
    raw = bytes(data)
    if len(raw) != LFSR_BYTES:
        raise InputError(f"pipe 0xA1 gives {LFSR_BYTES} bytes per LFSR read, got {len(raw)}")
    return np.unpackbits(np.frombuffer(raw, np.uint8), bitorder="little").reshape(2, N_CHAIN_BITS)


def preset(board) -> None:
    """Preset the chips' LFSR chains: 0x0A bit 0 high, then low."""
    link = board._link
    for v in (1, 0):
        if board._set(nt.WI_LFSR, v):
            link.update_wire_ins()


def read_bits(board, core: int, reads: int = 1) -> np.ndarray:
    """``reads`` LFSR reads of 256 clocks from ``core`` (enabled first): (reads, 2, 256) uint8.

    Each read clocks the chains 256 times, so successive reads give new bits.
    """
    from ._mvm_host import enable_cores

    if isinstance(reads, bool) or not isinstance(reads, (int, np.integer)) or not 1 <= int(reads) <= 1 << 20:
        raise InputError(f"reads must be an integer in 1..{1 << 20}, got {reads!r}")
    word = lfsr_word(N_CHAIN_BITS)
    enable_cores(board, [int(core)])
    link = board._link
    if board._set(nt.WI_DEBUG, word):
        link.update_wire_ins()
    out = np.empty((int(reads), 2, N_CHAIN_BITS), np.uint8)
    for k in range(int(reads)):
        link.trigger(nt.TI_SPI, nt.T_LFSR_SHIFT)
        out[k] = decode_state(link.pipe_out(nt.PO_LFSR, LFSR_BYTES))
    return out
