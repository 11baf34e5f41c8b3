"""Faults injected in the virtual USB device end in a typed error or a bounded retry, never a wrong result."""

from __future__ import annotations

import time

import numpy as np
import pytest

from drivers import endpoints as ep
from drivers.hil import FaultPlan, connect, make_virtual_device
from drivers.usb_framing import Op
from neurram_lab import BoardError, FrontPanelError, InputError, LimitError, open_board

FAST = dict(timeout_ms=30, retries=2, poll_timeout_s=0.2)


def _work(b):
    """A short script touching every kind of call; returns everything it observed."""
    c, r, k = np.full(64, 2), np.arange(64), np.arange(64) * 2
    b.pulse("form", c, r, k, 4.8, 2e-6)
    b.set_rails(v_read=0.3)
    b.pulse("set", c, r, k, np.linspace(1.3, 2.2, 64), 1e-6)
    b.wait(5.0)
    g = b.read(c, r, k)
    return g.tobytes(), b.now(), b.counters(), b.get_rails()


@pytest.fixture(scope="module")
def reference():
    with open_board("sim://?seed=9") as s:
        return _work(s)


@pytest.mark.parametrize("kind", ["timeout", "short_read", "corrupt", "corrupt_request", "corrupt_header"])
@pytest.mark.parametrize("op", [Op.PIPE_IN, Op.TRIGGER, Op.WIRE_OUTS, Op.PIPE_OUT])
def test_transient_fault_is_retried_to_the_same_result(kind, op, reference):
    dev = make_virtual_device(9, faults=FaultPlan())
    with connect(dev, **FAST) as b:
        fault = dev.faults.add(kind, at=dev.faults.frames_seen(op) + 1, count=1, op=op)
        got = _work(b)
        assert fault.fired == 1 and b.fp.stats["retries"] == 1, "exactly one bounded retry"
        # a pipelined run trigger never overtook its lost pipe-in: no block ever ran incomplete
        assert dev.firmware.blocks_failed == 0
    assert got == reference


def test_rejected_requests_send_no_usb_traffic():
    dev = make_virtual_device(9)
    with connect(dev, **FAST) as b:
        n = dev.faults.frames_seen()
        for call in (
            lambda: b.pulse("set", [0], [0], [0], 4.5, 1e-6),
            lambda: b.set_rails(v_read=0.2, v_wl_set=9.0),
            lambda: b.read([48], [0], [0]),
            lambda: b.wait(-1.0),
        ):
            with pytest.raises((LimitError, InputError)):
                call()
        assert dev.faults.frames_seen() == n


def test_retransmission_never_runs_a_block_twice(reference):
    dev = make_virtual_device(9, faults=FaultPlan())
    with connect(dev, **FAST) as b:
        runs0 = dev.firmware.blocks_run
        dev.faults.add("timeout", at=dev.faults.frames_seen(Op.TRIGGER), count=2, op=Op.TRIGGER)  # the run trigger's response is lost twice
        c, r, k = np.full(8, 2), np.arange(8), np.arange(8)
        b.pulse("form", c, r, k, 4.8, 2e-6)
        assert dev.firmware.blocks_run - runs0 == 1
        assert b.counters()["pulses"] == 8


@pytest.mark.parametrize("kind", ["timeout", "short_read", "corrupt", "corrupt_request", "corrupt_header"])
def test_persistent_fault_ends_in_a_typed_error(kind):
    dev = make_virtual_device(9, faults=FaultPlan())
    with connect(dev, **FAST) as b:
        dev.faults.add(kind, at=dev.faults.frames_seen(Op.PIPE_OUT), count=100, op=Op.PIPE_OUT)
        t0 = time.monotonic()
        with pytest.raises(FrontPanelError) as e:
            b.read([1, 1], [0, 1], [0, 0])
        assert e.value.name in ("Timeout", "TransferError") and e.value.code in (-2, -4)
        assert "ReadFromPipeOut(0xA0)" in str(e.value)
        assert time.monotonic() - t0 < 2.0, "bounded"
        # the board recovers once the fault is gone (the half-read block is cleared first)
        dev.faults.faults.clear()
        assert b.read([1], [0], [0]).shape == (1,)


def test_disconnect_mid_transfer_is_a_communication_error_and_the_chip_survives():
    dev = make_virtual_device(9, faults=FaultPlan())
    b = connect(dev, max_chunk=1024, **FAST)
    c, r, k = np.full(500, 5), np.arange(500) % 256, np.arange(500) // 256
    b.pulse("form", c, r, k, 4.8, 2e-6)
    g_before = dev.firmware.twin.cells.g_s.copy()
    dev.faults.add("disconnect", at=dev.faults.frames_seen(Op.PIPE_IN) + 3, op=Op.PIPE_IN)  # 4th of 16 chunks
    with pytest.raises(FrontPanelError) as e:
        b.pulse("set", c, r, k, np.linspace(1.5, 2.2, c.size), 1e-6)  # a ~6 kB block: 6 frames
    assert e.value.name == "CommunicationError"
    assert np.array_equal(dev.firmware.twin.cells.g_s, g_before), "half a block never reaches the chip"
    with pytest.raises(FrontPanelError) as e:
        b.read([0], [0], [0])
    assert e.value.name == "DeviceNotOpen"
    b.close()
    with pytest.raises(BoardError):
        connect(dev, **FAST)  # unplugged: not on the bus
    dev.replug()
    with connect(dev, **FAST) as b2:  # same chip: what was formed is still formed
        assert np.all(b2.read(c, r, k) > 1e-6)


def test_stuck_sequencer_done_bit_times_out():
    dev = make_virtual_device(9)
    with connect(dev, **FAST) as b:
        dev.stick(ep.WO_NEURON_STATUS, ep.NS_SEQ_DONE, 0)
        t0 = time.monotonic()
        with pytest.raises(FrontPanelError) as e:
            b.read([0], [0], [0])
        assert e.value.name == "Timeout" and "sequencer done" in str(e.value)
        assert 0.2 <= time.monotonic() - t0 < 1.5


def test_stuck_dac_idle_bit_times_out_and_the_rail_mirror_stays_honest():
    dev = make_virtual_device(9)
    with connect(dev, **FAST) as b:
        dev.stick(ep.WO_DAC_ADC_STATUS, ep.DAC_IDLE, 0)
        with pytest.raises(FrontPanelError, match="DAC idle"):
            b.set_rails(v_read=0.2)
        assert b.get_rails()["v_read"] == 0.5, "no step was confirmed, so none is claimed"


def test_stuck_error_bit_is_reported_not_ignored():
    dev = make_virtual_device(9)
    with connect(dev, **FAST) as b:
        dev.stick(ep.WO_NEURON_STATUS, ep.NS_SEQ_ERROR, ep.NS_SEQ_ERROR)
        with pytest.raises(BoardError, match="sequencer rejected"):
            b.read([0], [0], [0])


def test_firmware_refuses_a_gated_core_the_host_thought_powered():
    dev = make_virtual_device(9)
    with connect(dev, **FAST) as b, connect(dev, **FAST) as other:
        other.power_cores([6], on=False)  # behind b's back
        with pytest.raises(BoardError, match="CORE_GATED"):
            b.pulse("set", [6], [0], [0], 1.5, 1e-6)
        assert b.read([7], [0], [0]).shape == (1,)
