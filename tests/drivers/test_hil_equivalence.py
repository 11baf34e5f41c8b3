"""hil:// (the real driver on the emulated neurram_top bitstream) programs like sim:// (the twin alone):
same seed, same targets, write-verify statistics within the issue's bounds; info, clock and snapshot."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from neurram_lab import open_board
from neurram_lab.program.writeverify import WriteVerifyConfig, form_cells, write_verify


def _program(board, n=256):
    r, k = np.divmod(np.arange(n), 16)
    c = np.zeros(n, np.int64)
    formed = form_cells(board, c, r, k)
    target = np.random.default_rng(5).uniform(2e-6, 38e-6, n)
    res = write_verify(board, c[formed], r[formed], k[formed], target[formed], WriteVerifyConfig(max_reversals=12))
    return formed, res


def test_write_verify_on_hil_matches_sim_for_256_cells():
    with open_board("sim://?seed=21") as s, open_board("hil://?seed=21") as h:
        fs, rs = _program(s)
        fh, rh = _program(h)
        assert h.emulator.violations == []
    assert abs(fs.mean() - fh.mean()) <= 0.02
    assert abs(rh.mean_pulses_per_cell - rs.mean_pulses_per_cell) <= 0.15 * rs.mean_pulses_per_cell
    assert abs(rh.in_window_fraction - rs.in_window_fraction) <= 0.02


def test_hil_reads_agree_with_the_twins_conductance():
    with open_board("hil://?seed=3") as h:
        c, r, k = np.full(64, 5), np.arange(64), np.arange(64)
        h.pulse("form", c, r, k, 4.7, 2e-6)
        h.pulse("set", c, r, k, np.linspace(1.2, 2.4, 64), 1e-6)
        truth = h.emulator.twin.true_conductance_s(c, r, k)
        g = h.read(c, r, k)
    formed = truth > 1e-6
    assert formed.sum() > 32
    # one read carries the twin's read noise; the 18-bit ADC and auto-ranging add well under 1 %
    assert np.median(np.abs(g[formed] / truth[formed] - 1)) < 0.05


def test_read_cycles_average_as_the_authors_do():
    with open_board("hil://?seed=3&read_cycles=10&ignore_cycles=5") as h:
        n0 = h.emulator.counts["reads"]
        h.read([0], [0], [0])
        assert h.emulator.counts["reads"] - n0 == 10
        assert h.counters()["reads"] == 1


def test_info_clock_and_snapshot():
    with open_board("hil://?seed=2") as b:
        info = b.info()
        assert info.kind == "hil" and info.serial == "HIL-2" and info.extra["seed"] == 2
        assert info.firmware == "neurram_top" and info.extra["bitstream"] == "neurram_top"
        caps = b.capabilities()
        assert caps.clock == "virtual" and caps.power_gating is False and caps.output_bits[1] <= 7
        assert "v_wl_read" not in caps.rails and caps.pulse_width_tick_s == 10e-9
        t0 = b.now()
        b.wait(12.5)
        assert b.now() == t0 + 12.5 == b.emulator.twin._t_s
        b.pulse("set", [0], [0], [0], 1.5, 1e-6)
        assert b.now() > t0 + 12.5  # the pulse took twin time
        snap = b.snapshot()
        assert snap["twin"]["seed"] == 2 and snap["fpga"]["bitstream"] == "neurram_top"
        cnt = b.counters()
        assert cnt["pulses"] == 1 and cnt["frontpanel_calls"]["by_board_op"]["pulse"] > 0
        assert b.powered_cores().all()


def test_characterize_write_verify_runs_on_hil(tmp_path):
    p = subprocess.run([sys.executable, "-m", "neurram_lab.cli", "characterize", "write-verify", "--board", "hil://",
                        "--cores", "0", "--cells-per-core", "64", "--iterations", "1", "--settle-s", "1",
                        "--out", str(tmp_path / "wv.h5"), "--json"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout.strip().splitlines()[-1])
    assert s["in_window_fraction"] > 0.9 and s["mean_pulses_per_cell"] > 1
