"""The voltage-mode bitstream's neurons sample the settled line voltage (neuron_control_voltage_mode.v:265-350),
which the driver's charge-mode MVM and neuron-test sequences do not handle: both are refused with a typed error
before anything is sent, while cell operations keep working on that bitstream. The SAR top level's readout
instances need a neurram_spi_control the published HDL does not have (neurram_top_sar.v:552-577, `.state` at
:576), so its neuron side cannot be proven against the RTL and is refused the same way."""

from __future__ import annotations

import numpy as np
import pytest

from neurram_lab import MVMRequest
from neurram_lab.drivers.fpga_board import UNMODELLED_NEURON_BITSTREAMS
from neurram_lab.drivers.hil import connect, make_emulated_board
from neurram_lab.errors import CapabilityError

TOP = "neurram_top_voltage_mode"


def _board(bitstream):
    ok, emu = make_emulated_board(seed=5, bitstream=bitstream)
    trace = []
    return connect(ok, spec=f"hil://?seed=5&bitstream={bitstream}", observers=[trace.append]), trace


def _request():
    return MVMRequest(cores=(0,), inputs=np.array([[[3, -2]]], np.int16), input_lines=np.array([0, 1]),
                      output_lines=np.arange(8), input_bits=3)


@pytest.mark.parametrize("top, mvm_reason, neuron_reason", [
    (TOP, "neuron_control_voltage_mode.v", "t_sample counts 10 ns"),
    ("neurram_top_sar", r"neurram_top_sar\.v:552-577\) connect a `state` port \(:576\)",
     "published neurram_spi_control.v"),
])
def test_mvm_and_neuron_test_on_unmodelled_bitstreams_are_refused_before_anything_is_sent(top, mvm_reason,
                                                                                           neuron_reason):
    assert top in UNMODELLED_NEURON_BITSTREAMS
    board, trace = _board(top)
    with board:
        n0 = len(trace)
        with pytest.raises(CapabilityError, match=mvm_reason) as exc:
            board.mvm(_request())
        assert exc.value.capability == "mvm" and exc.value.value == top
        with pytest.raises(CapabilityError, match=neuron_reason):
            board.neuron_test(0, np.full((1,), 0.5), output_bits=4)
        assert [r for r in trace[n0:] if r["op"] not in ("op",)] == []  # no FrontPanel call
        assert np.isfinite(board.read(0, [1], [1])).all()  # cell reads still run on that bitstream


def test_the_default_bitstream_runs_the_same_mvm():
    board, _ = _board("neurram_top")
    with board:
        codes = board.mvm(_request())
    assert np.shape(codes)[-1] == 8
