"""The host side of the engine refuses bad jobs with typed errors before any word exists."""

from __future__ import annotations

import numpy as np
import pytest

from neurram_lab.drivers import _wv_engine as wv
from neurram_lab.errors import InputError, LimitError, NeuRRAMError

CEIL = wv.Ceilings.from_volts(3.5, 4.6, 1e-3)
GOOD = dict(lo_s=19e-6, hi_s=21e-6, v_cell_v=0.2, set_v_start_v=1.2, set_v_max_v=3.0, reset_v_start_v=1.5,
            reset_v_max_v=3.5, v_gate_set_v=2.0, v_gate_reset_v=4.5, v_step_v=0.1, width_s=1e-6, max_pulses=200,
            max_reversals=30, max_at_ceiling=8, ceilings=CEIL)


def test_level_words_round_trip_the_settings():
    lv = wv.level_from_volts(**GOOD)
    w = lv.words()
    assert len(w) == 8 and all(0 <= x < 2 ** 32 for x in w)
    assert w[2] & 0xFFFF == lv.set_start and w[2] >> 16 == lv.set_max
    assert w[5] >> 16 == 100  # 1 us = 100 ticks of 10 ns
    # the window, back in siemens, is inside the asked window and within one code of it
    lo_s, hi_s = wv.code_to_siemens([lv.lo, lv.hi], 0.2)
    one = wv.code_to_siemens(1, 0.2)
    assert 19e-6 <= lo_s < 19e-6 + one and 21e-6 - one < hi_s <= 21e-6


@pytest.mark.parametrize("change, err, word", [
    (dict(lo_s=22e-6), InputError, "window low"),
    (dict(lo_s=20e-6, hi_s=20e-6), InputError, "holds no read code"),
    (dict(set_v_max_v=3.6), LimitError, "set_v_max_v"),
    (dict(reset_v_max_v=3.6), LimitError, "reset_v_max_v"),
    (dict(v_gate_reset_v=4.8), LimitError, "v_gate_reset_v"),
    (dict(set_v_start_v=3.1), LimitError, "v_max_v"),
    (dict(width_s=2e-3), LimitError, "width_s"),
    (dict(max_pulses=0), InputError, "max_pulses"),
    (dict(max_reversals=256), InputError, "max_reversals"),
    (dict(max_pulses=True), InputError, "max_pulses"),
    (dict(v_cell_v=0.0), InputError, "v_cell_v"),
    (dict(set_v_max_v=6.0), LimitError, "set_v_max_v"),
])
def test_bad_levels_are_typed_errors(change, err, word):
    with pytest.raises(err) as e:
        wv.level_from_volts(**{**GOOD, **change})
    assert isinstance(e.value, NeuRRAMError) and word in str(e.value)


@pytest.mark.parametrize("args, word", [
    ((48, 0, 0), "core 48"), ((0, 256, 0), "row 256"), ((0, 0, -1), "col -1"), ((0.5, 0, 0), "core must be integers"),
])
def test_cells_outside_the_chip_are_refused(args, word):
    with pytest.raises(InputError, match=word):
        wv.cell_commands(*args)


def test_cell_and_range_words():
    w = wv.cell_commands(np.array([0, 47]), np.array([3, 255]), np.array([4, 255]), 2)
    assert w == [2 << 28 | 2 << 24 | 0 << 18 | 3 << 8 | 4, 2 << 28 | 2 << 24 | 47 << 18 | 255 << 8 | 255]
    assert wv.range_command(5, 1, 2, 3, 4, 1) == [3 << 28 | 1 << 24 | 5 << 18 | 1 << 8 | 2, 3 << 8 | 4]
    with pytest.raises(InputError, match="before the first"):
        wv.range_command(0, 4, 0, 3, 0)
    with pytest.raises(InputError, match="level 16"):
        wv.level_command(16, wv.level_from_volts(**GOOD))
    assert len(wv.pad16([1, 2, 3, 4, 5])) == 8


def test_records_decode():
    words = [1 << 28 | 3 << 24 | 7 << 18 | 9 << 8 | 11, 12345, 2 << 16 | 9, 100 << 16 | 777]
    r = wv.decode_records(words)
    assert (r["status"][0], r["level"][0], r["core"][0], r["row"][0], r["col"][0]) == (1, 3, 7, 9, 11)
    assert (r["code"][0], r["pulses"][0], r["reversals"][0], r["last_code"][0]) == (12345, 9, 2, 777)
    assert r["cell_time_s"][0] == pytest.approx(100 * 128e-8)
