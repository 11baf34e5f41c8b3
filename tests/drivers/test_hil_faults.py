"""Faults injected between the host and the emulated bitstream end in a typed error, never a wrong result;
the board recovers for the next operation and the chip survives a disconnect."""

from __future__ import annotations

import numpy as np
import pytest

from neurram_lab.drivers import neurram_top as nt
from neurram_lab.drivers.hil import FaultPlan, connect, make_emulated_board, open_hil
from neurram_lab import FrontPanelError, InputError, open_board

FAST = dict(poll_timeout_s=0.05)
CELLS = (np.full(8, 2), np.arange(8), np.arange(8) * 3)


def _board(seed=9, **opts):
    plan = FaultPlan()
    ok, emu = make_emulated_board(seed, faults=plan)
    return connect(ok, **{**FAST, **opts}), plan, emu


def _work(b):
    c, r, k = CELLS
    b.pulse("form", c, r, k, 4.6, 2e-6)
    b.pulse("set", c, r, k, np.linspace(1.3, 2.2, 8), 1e-6)
    return b.read(c, r, k)


def test_a_status_bit_that_never_sets_is_a_timeout_and_the_next_pulse_recovers():
    b, plan, emu = _board()
    with b:
        f = plan.add("timeout", ep=nt.WO_STATUS, mask=nt.ST_PULSE_DONE)
        with pytest.raises(FrontPanelError, match="Timeout.*pulse done"):
            b.pulse("set", [0], [1], [1], 1.5, 1e-6)
        assert f.fired > 0
        plan.clear()
        b.pulse("set", [0], [1], [2], 1.5, 1e-6)  # acks the hung pulse first, then runs
        assert emu.last_pulse[1] == [(0, 1, 2)] and not emu._program_done


def test_a_short_lived_missing_bit_only_costs_polls():
    clean, _, _ = _board(seed=4)
    with clean:
        g0 = _work(clean)
    b, plan, _ = _board(seed=4, poll_timeout_s=5.0)
    with b:
        for _ in range(3):  # the valid bit reads 0 on a few polls now and then
            plan.add("timeout", at=plan.calls + 400, count=3, ep=nt.WO_STATUS, mask=nt.ST_AR_VALID | nt.ST_PULSE_DONE)
        g1 = _work(b)
    assert g1.tobytes() == g0.tobytes()
    assert all(f.fired for f in plan.faults)


def test_a_stuck_valid_bit_never_hands_back_stale_codes():
    b, plan, _ = _board()
    with b:
        b.read([0], [0], [0])
        plan.add("stuck", ep=nt.WO_STATUS, mask=nt.ST_AR_VALID)
        with pytest.raises(FrontPanelError, match="auto-range valid cleared"):
            b.read([0], [0], [1])


def test_a_stuck_done_bit_never_lets_a_pulse_go_missing():
    b, plan, _ = _board()
    with b:
        plan.add("stuck", ep=nt.WO_STATUS, mask=nt.ST_PULSE_DONE)
        with pytest.raises(FrontPanelError, match="pulse done cleared"):
            b.pulse("set", [0], [0], [0], 1.5, 1e-6)


def test_a_stuck_fifo_full_bit_stops_the_rails_and_the_mirror_stays_honest():
    b, plan, emu = _board()
    with b:
        before = dict(b.get_rails()), dict(emu.node_v)
        plan.add("stuck", ep=nt.WO_STATUS, mask=nt.ST_DAC_FIFO_FULL)
        with pytest.raises(FrontPanelError, match="DAC FIFO not full"):
            b.set_rails(v_cell_read=0.3)
        assert b.get_rails() == before[0] and emu.node_v == before[1]
        plan.clear()
        b.set_rails(v_cell_read=0.3)
        assert emu.node_v["VREAD"] == pytest.approx(1.2, abs=1e-4)


def test_a_short_pipe_read_is_a_transfer_error():
    b, plan, _ = _board()
    with b:
        plan.add("short_read")
        with pytest.raises(FrontPanelError, match="TransferError.*0xA2.*128 of 256"):
            b.link.pipe_out(nt.PO_READOUT, 256)


def test_disconnect_is_a_typed_error_and_the_chip_survives():
    plan = FaultPlan()
    ok, emu = make_emulated_board(12, faults=plan)
    b = connect(ok, **FAST)
    c, r, k = CELLS
    b.pulse("form", c, r, k, 4.6, 2e-6)
    plan.add("disconnect", at=plan.calls + 120)  # after the DAC groups, during the pulses
    with pytest.raises(FrontPanelError, match="DeviceNotOpen"):
        b.pulse("set", c, r, k, 1.8, 1e-6)
    with pytest.raises(FrontPanelError, match="DeviceNotOpen"):
        b.read(c, r, k)
    b.close()
    plan.clear()
    with open_hil(ok=ok, **FAST) as b2:  # plugged in again: same chip, its state kept
        g = b2.read(c, r, k)
        truth = emu.twin.true_conductance_s(c, r, k)
        assert np.allclose(g, truth, rtol=0.2, atol=1e-6)
        assert emu.counts["pulses"] > 8  # the forming and part of the SET call reached the chip


def test_faults_from_the_spec_string():
    with open_board("hil://?seed=1&poll_timeout_s=0.05&faults=timeout:ep=0x20,mask=0x10") as b:
        with pytest.raises(FrontPanelError, match="Timeout"):
            b.pulse("set", [0], [0], [0], 1.5, 1e-6)
    with pytest.raises(InputError, match="fault kind"):
        open_board("hil://?faults=meteor")
    with pytest.raises(InputError, match="fault option"):
        open_board("hil://?faults=stuck:bit=3")
