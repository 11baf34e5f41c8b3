"""The driver only ever runs the single-core readout: every value it writes to wire-in 0x0F has bit 7 set.

Wire-in 0x0F bit 7 is ``nmlo_single_core`` (neurram_top.v:809): set, neuron_multi_level_output reads one
core's 256 neurons (``spi_input_single_core``, neuron_multi_level_output.v:109, :545-546); clear, it reads
``0x0F[2:0]`` cores of the row through ``spi_from_neurram``, whose bytes hil:// and the RTL check do not
model (the differential plan never issues it: docs/board_protocol.md). This pins that the driver does not
start issuing the multi-core readout unchecked: a change that clears the bit in any MVM path (batched,
multi-row, stochastic) or in the neuron test fails here, before it would reach a board.
"""

from __future__ import annotations

from neurram_lab.drivers.hil import connect, make_emulated_board
from neurram_lab.drivers.rtl import _scenario as sc
from neurram_lab.drivers.rtl.diff import Recorder, check_params

WI_READOUT = 0x0F  # written out here, from the HDL (neurram_top.v:205), not taken from drivers.neurram_top
SINGLE_CORE_BIT = 1 << 7  # neurram_top.v:809


class _Watch:
    """The emulated FrontPanel handle, every 0x0F write checked as it is made (so a cleared bit 7 fails here,
    naming the value, not as the emulator's readout timeout after it)."""

    def __init__(self, dev):
        self._dev = dev
        self.readout_words: list[int] = []

    def __getattr__(self, name):
        return getattr(self._dev, name)

    def SetWireInValue(self, ep, value, *rest):  # noqa: N802 (FrontPanel's name)
        if ep == WI_READOUT:
            self.readout_words.append(int(value))
            assert value & SINGLE_CORE_BIT, f"0x0F = 0x{value:X} clears bit 7 (the multi-core readout)"
        return self._dev.SetWireInValue(ep, value, *rest)


def _recorded_board():
    ok, _emu = make_emulated_board(0, params=check_params())
    rec = {}
    orig = ok.okCFrontPanel
    ok.okCFrontPanel = lambda: rec.setdefault("r", Recorder(_Watch(orig()), lambda: []))
    return connect(ok), rec


def test_every_readout_word_the_driver_writes_asks_for_the_single_core_readout():
    board, rec = _recorded_board()
    plan = sc.ci_plan(0, 8)
    cells = next(op[2] for op in plan if op[0] == "form")[:8]
    ops = plan[:6] + [("form", c, cells) for c in (0, 6)] + [
        ("mvm", 0, cells, 2, 1, 2, "forward", 0, False, None),
        ("mvm", 0, cells, 1, 4, 3, "backward", 1, True, None),
        ("mvm_rows", (0, 6), cells, 2, 1, 2, "forward", 2, False, None),  # a run of two rows, column enabled
        ("neuron_test", 0, (0.85, 0.95), 4),
        ("stochastic_mvm", 0, cells) + sc.LFSR_MVM_CI[0],
    ]
    seen = []
    try:
        for op in ops:
            before = len(rec["r"].calls)
            assert sc.run_op(board, op) is not None or op[0] in ("rails", "form")
            seen += [(op[0], c[1][1]) for c in rec["r"].calls[before:]
                     if c[0] == "SetWireInValue" and c[1][0] == WI_READOUT]
    finally:
        board.close()
    # the driver writes 0x0F only when it changes: forward and backward read different registers, so the
    # plan gives at least two writes, the first with the first MVM
    assert len(seen) >= 2 and seen[0][0] == "mvm", seen
    for kind, w in seen:
        assert w & SINGLE_CORE_BIT, f"{kind}: 0x0F = 0x{w:X} clears bit 7 (the multi-core readout)"
        assert w & 0x7 == 1, f"{kind}: 0x0F[2:0] = {w & 7}"  # one core (what the single-core readout reads)
