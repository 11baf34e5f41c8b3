"""The twin's interface for an emulated bitstream keeps the chip's absolute ratings."""

from __future__ import annotations

import numpy as np
import pytest

from neurram_lab import open_board
from neurram_lab.board.limits import RATED_V_MAX
from neurram_lab.errors import LimitError


@pytest.mark.parametrize("field", ["v_pulse_v", "v_gate_v"])
def test_pulse_cells_beyond_the_rating_is_refused_and_applies_nothing(field):
    twin = open_board("sim://?seed=3")
    cell = (np.array([0]), np.array([5]), np.array([7]))
    before = twin.true_conductance_s(*cell).copy()
    t0 = twin.time_s
    args = {"v_pulse_v": np.array([2.0]), "width_s": np.array([1e-6]), "v_gate_v": np.array([1.5])}
    args[field] = np.array([RATED_V_MAX + 0.5])
    with pytest.raises(LimitError, match=str(RATED_V_MAX)):
        twin.pulse_cells("form", *cell, args["v_pulse_v"], args["width_s"], args["v_gate_v"])
    assert twin.time_s == t0
    assert np.array_equal(twin.true_conductance_s(*cell), before)
    twin.pulse_cells("form", *cell, np.array([RATED_V_MAX]), args["width_s"], np.array([1.5]))  # at the rating: runs
    assert twin.time_s > t0
    twin.close()
