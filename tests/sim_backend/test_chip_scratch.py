"""The twin's MVM work array: one per core index, reused across shapes (issue 19/22 speed)."""

from __future__ import annotations

import numpy as np


def test_scratch_is_one_buffer_per_core_index_reused_across_shapes():
    """A network's layers change shapes every call: the work array is one per core index, grown to the
    largest size and viewed in the shape asked, not a new array per shape."""
    from neurram_lab.sim_backend.chip import ChipCircuit
    from neurram_lab.sim_backend.params import CircuitParams

    chip = ChipCircuit(CircuitParams(), 1)
    a = chip._scratch(0, (100, 76))
    b = chip._scratch(0, (50, 64))
    assert a.shape == (100, 76) and b.shape == (50, 64) and a.dtype == np.float32
    assert np.shares_memory(a, b)
    c = chip._scratch(1, (50, 64))
    assert not np.shares_memory(b, c)
    d = chip._scratch(0, (200, 76))  # larger: grown
    assert d.shape == (200, 76) and len(chip._buffers) == 2
