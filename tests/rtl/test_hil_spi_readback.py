"""The emulator's SPI read-back (0x0D bit 0 to pipe 0xA0), which the RTL check holds equal to the authors'
neurram_spi_control.v on rtl:// (drivers.rtl._scenario spi_round_trip); here on hil:// alone, no simulator:
a plane shifted through a core row's whole chain (12 registers) comes back, word for word, both ways."""

from __future__ import annotations

import numpy as np

from neurram_lab.drivers import _mvm_host as mh
from neurram_lab.drivers import neurram_top as nt
from neurram_lab.drivers.hil import connect, make_emulated_board
from neurram_lab.drivers.rtl._scenario import run_op


def test_round_trip_returns_the_plane_and_the_status_bits_follow():
    ok, emu = make_emulated_board(0)
    b = connect(ok)
    try:
        out = run_op(b, ("spi_round_trip", 3, True, 0))
        planes = np.random.default_rng(11).integers(-1, 2, size=(2, 256)).astype(np.int8)
        assert out == [mh.encode_planes(p, True) for p in planes]
        back = run_op(b, ("spi_round_trip", 3, False, 0))
        assert back == [mh.encode_planes(p, False) for p in planes]  # backward: in at V5, H0 line 0 leaves first
        st = emu.status_bits[nt.WO_NEURON_STATUS]
        assert st & (1 << 11) and st & (1 << 6)  # 0xA0 FIFO empty, its arbiter idle after the reads
        assert emu.violations == []
    finally:
        b.close()
