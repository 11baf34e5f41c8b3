"""The voltage-mode top's neuron samples on rtl://: not converted (the twin has no model of them), said so.

``neurram_top_voltage_mode.v`` ties ``inference_mode`` low (:375) and its neuron controller samples the line's
settled voltage with the word lines on (``neuron_control_voltage_mode.v:265-350``): the board model records
each such burst as ``unconverted_sample`` and every comparator reads 0, where on ``neurram_top`` the same burst
pins (inference off, ext_1n with the bit-line select) are the neuron test and are converted. No simulator needed.
"""

from __future__ import annotations

import pytest

from neurram_lab.drivers import neurram_top as nt
from neurram_lab.drivers.rtl import diff
from neurram_lab.drivers.rtl._board_side import UNCONVERTED_TOPS, ChipSide

PINS_NEURON_TEST_BL = 0b00110  # board.v smp_pins: inference_mode 0, forward 0, ext_1n 1, ext_1n_bl_sel 1, sl_sel 0


def _chip(top):
    from neurram_lab.sim_backend.board import SimBoard

    chip = ChipSide(SimBoard(seed=0, params=diff.check_params()), top=top)
    chip.core_enable[0] = True
    chip.dac_code[(1, 2)] = nt.dac_code(0.3, 1)  # the bit-line input level the neuron test samples
    chip.dac_code[(0, 2)] = nt.dac_code(0.1, 0)
    chip.dac_code[(0, 4)] = nt.dac_code(1.1, 0)  # VREF + vreset_plus and VREF - vreset_minus: the readout step
    chip.dac_code[(2, 2)] = nt.dac_code(0.9, 2)
    chip.bursts[0] = (4, PINS_NEURON_TEST_BL)
    return chip


def _snaps():
    return [(0, [(0, 0)] * nt.CORE_ROWS)]


def _y_addr_all():
    return [(1 << 256) - 1] + [0] * (nt.CORE_ROWS - 1)


def test_default_top_converts_the_neuron_test_burst():
    chip = _chip("neurram_top")
    tables = chip.convert(_snaps(), _y_addr_all())
    assert list(tables) == [0]
    assert not [e for e in chip.effects if e[0] == "unconverted_sample"]


def test_voltage_mode_burst_is_not_converted_and_says_so():
    chip = _chip("neurram_top_voltage_mode")
    assert chip.convert(_snaps(), _y_addr_all()) == {}  # cmp_valid stays 0: every comparator reads 0
    assert chip.effects[0] == ("unconverted_sample", "neurram_top_voltage_mode", 4, PINS_NEURON_TEST_BL)
    # and the enabled core's input register, digital on either top (backward: the forward pin is low)
    assert chip.effects[1:] == [("input_plane", 0, "backward", 4, bytes(256))]
    assert chip.bursts == {}


@pytest.mark.parametrize("top", sorted(UNCONVERTED_TOPS))
def test_unconverted_tops_leave_mvms_and_the_neuron_test_out(top):
    assert diff.NO_MVM_TOPS == UNCONVERTED_TOPS
    kinds = {op[0] for op in diff.scenario_ops(2, 0, 64, True, top)}
    assert "mvm" not in kinds and "neuron_test" not in kinds
    # the driver's MVM sequence with codes and planes masked, and the LFSR preset / reads
    # (the reads refused on both with the same CapabilityError)
    assert {"mvm_codes_masked", "lfsr_preset", "lfsr_read"} <= kinds and diff.MASKED_OPS == {"mvm_codes_masked"}
    assert {"mvm", "neuron_test"} <= {op[0] for op in diff.scenario_ops(2, 0, 64, True, "neurram_top")}


def test_masked_compare_leaves_out_only_the_readout_words_and_the_samples():
    plane = ("input_plane", 0, "forward", 1, bytes(256))
    hil = [["ActivateTriggerIn", (0x45, 8), None, [plane]], ["ReadFromPipeOut", (0xA2, 256), (256, bytes(256)), []]]
    rtl = [["ActivateTriggerIn", (0x45, 8), None, [("unconverted_sample", "neurram_top_voltage_mode", 1, 14),
                                                   plane[:4] + (b"\x01" * 256,)]],
           ["ReadFromPipeOut", (0xA2, 256), (256, b"\x80" * 256), []]]
    assert diff.compare(hil, rtl, mask=True).mismatches == []
    assert diff.compare(hil, rtl).mismatches  # unmasked, the words differ
    other = [list(c) for c in rtl]
    other[0][1] = (0x45, 7)  # a different trigger is never masked
    assert diff.compare(hil, other, mask=True).mismatches
    shorter = [c for c in rtl if c[0] != "ReadFromPipeOut"]
    assert diff.compare(hil, shorter, mask=True).mismatches  # nor a missing read
