"""Checks that need a real NeuRRAM test board: run with ``--board okusb://SERIAL``."""

from __future__ import annotations

import numpy as np
import pytest

from neurram_lab import open_board


def _real_specs(config):
    return [s for s in config.getoption("--board") if s.startswith("okusb://")]


@pytest.mark.hardware
def test_real_board_answers_and_reads(request):
    for spec in _real_specs(request.config):
        with open_board(spec) as b:
            info = b.info()
            assert info.kind == "fpga" and info.firmware
            g = b.read([0], [0], [0])
            assert g.dtype == np.float32 and 0 <= g[0] < 200e-6
            t0 = b.now()
            b.wait(0.01)
            assert b.now() >= t0 + 0.01
