"""hil:// (FpgaBoard + pyusb + virtual device + emulated firmware) gives bit-identical results to sim://."""

from __future__ import annotations

import numpy as np
import pytest

from drivers.hil import connect, make_virtual_device
from neurram_lab import open_board
from neurram_lab.writeverify import WriteVerifyConfig, form_cells, write_verify


def _patch(core, n=20):
    r, k = np.divmod(np.arange(n * n), n)
    return np.full(r.size, core), r, k


def _program(board, seed_targets=5):
    c, r, k = _patch(4)
    board.set_rails(v_cell_read=0.15)
    form_cells(board, c, r, k)
    target = np.random.default_rng(seed_targets).uniform(2e-6, 40e-6, c.size)
    res = write_verify(board, c, r, k, target, WriteVerifyConfig(max_reversals=8))
    board.wait(30.0)
    return res, board.read(c, r, k), board.now(), board.counters()


def test_write_verify_is_bit_identical_to_sim():
    with open_board("sim://?seed=21") as s, open_board("hil://?seed=21") as h:
        rs, gs, ts, cs = _program(s)
        rh, gh, th, ch = _program(h)
    assert gs.tobytes() == gh.tobytes()
    assert ts == th and cs == ch
    for name in vars(rs):
        a, b = getattr(rs, name), getattr(rh, name)
        if isinstance(a, np.ndarray):
            assert np.array_equal(a, b, equal_nan=True), name
        elif not isinstance(a, (list, dict)):
            assert a == b or (a != a and b != b), name


@pytest.mark.parametrize("opts", [dict(max_chunk=4096, write_packet=1000), dict(max_chunk=1 << 24)])
def test_same_batches_however_the_transport_chunks(opts):
    """The firmware buffers a whole block before running it, so chunking cannot change the noise draws."""
    c = np.repeat(np.arange(3), 2000)
    r = np.tile(np.arange(2000) % 256, 3)
    k = np.tile(np.arange(2000) // 256, 3)
    out = []
    for b in (open_board("sim://?seed=4"), connect(make_virtual_device(4), **opts)):
        with b:
            b.pulse("form", c, r, k, 4.8, 2e-6)
            b.pulse("set", c, r, k, np.linspace(1.2, 2.4, c.size), 1e-6)
            out.append((b.read(c, r, k), b.now()))
    assert out[0][0].tobytes() == out[1][0].tobytes() and out[0][1] == out[1][1]


def test_rails_ramp_in_safe_steps_and_land_exactly():
    dev = make_virtual_device(1)
    with connect(dev) as b:
        twin = dev.firmware.twin
        steps0 = b.rail_steps
        b.set_rails(v_wl_reset=3.05)  # from 4.5 V: 1.45 V -> 15 steps of <= 0.1 V
        assert b.rail_steps - steps0 == 15
        assert twin._rails["v_wl_reset"] == 3.05 == b.get_rails()["v_wl_reset"]
        b.set_rails(v_read=0.123456789)
        assert twin._rails["v_read"] == 0.123456789


def test_info_power_and_clock_cross_the_link():
    dev = make_virtual_device(2)
    with connect(dev, spec="hil://?seed=2") as b:
        info = b.info()
        assert info.kind == "hil" and info.serial == "HIL-2" and info.extra["seed"] == 2
        assert info.extra["transport"]["vid"] == "0x151f"
        b.power_cores([3, 40], on=False)
        assert not dev.firmware.twin._powered[[3, 40]].any()
        b2 = connect(dev)  # a second host sees the board's own state, not a cached one
        assert np.array_equal(b2.powered_cores(), b.powered_cores())
        b.wait(12.5)
        assert b.now() == dev.firmware.twin._t_s == b2.now()
        snap = b.snapshot()
        assert snap["twin"]["seed"] == 2 and snap["fpga"]["firmware"]
