"""Checks that need a real NeuRRAM test board running the authors' neurram_top bitstream:
run with ``--board okusb://SERIAL[?bitfile=neurram_top.bit]``."""

from __future__ import annotations

import numpy as np
import pytest

from neurram_lab import open_board


def _real_specs(config):
    return [s for s in config.getoption("--board") if s.startswith("okusb://")]


@pytest.mark.hardware
def test_real_board_answers_reads_and_keeps_time(request):
    for spec in _real_specs(request.config):
        with open_board(spec) as b:
            info = b.info()
            assert info.kind == "okusb" and info.firmware.startswith("neurram_top")
            caps = b.capabilities()
            assert caps.clock == "host" and caps.output_bits[1] <= 7
            assert b.get_rails()["v_cell_read"] > 0
            g = b.read([0], [0], [0])
            assert g.dtype == np.float32 and 0 <= g[0] < 300e-6
            calls = b.counters()["frontpanel_calls"]
            assert calls["by_board_op"]["read"] > 0
            t0 = b.now()
            b.wait(0.01)
            assert b.now() >= t0 + 0.01
