"""The twin's compiled cell kernels read one parameter record per cell array and one record per call,
both by field name (issue 23 item 6)."""

from __future__ import annotations

import hashlib
from collections import namedtuple

import numpy as np
import pytest

from neurram_lab.board.registry import open_board
from neurram_lab.program.writeverify import form_cells, write_verify
from neurram_lab.sim_backend import _kernels
from neurram_lab.sim_backend.cells import CellArray, CellKernelRecord, PulseCall, ReadCall, kernel_record
from neurram_lab.sim_backend.params import TwinParams

pytestmark = pytest.mark.skipif(not _kernels.available(), reason="numba is a dependency; absent only on odd platforms")

# sha256 of (write-verify's final G, its pulse counts, a read after 30 min) of the run below, recorded
# at b68e6be, when the kernels still took 35 and 22 positional arguments (x86-64 Linux, numba 0.68):
# the record changed how the kernels receive their parameters, not one bit of what they compute.
BEFORE_RECORD = "06803ce2427c40d6464896ac36ff5ead8c93110690b2859ad995fbe9dcebf17a"


def test_seeded_programming_run_is_bit_identical_to_the_positional_kernels():
    board = open_board("sim://?seed=11")
    i = np.arange(40000)
    c, r, k = i >> 14, (i >> 6) & 255, (i & 63) * 3
    ok = form_cells(board, c, r, k)
    tgt = np.random.default_rng(3).uniform(1e-6, 40e-6, i.size)[ok]
    res = write_verify(board, c[ok], r[ok], k[ok], tgt)
    board.wait(1800.0)
    g = board.read(c, r, k)
    h = hashlib.sha256()
    for a in (res.g_final_s, res.pulses, np.asarray(g)):
        h.update(np.ascontiguousarray(a).tobytes())
    assert res.in_window_fraction > 0.99  # the run did program (compiled SET/RESET rounds and reads)
    assert h.hexdigest() == BEFORE_RECORD


def _cells() -> CellArray:
    ca = CellArray(TwinParams(), 2)
    ca.ensure_cores(np.array([0]))
    return ca


def test_the_record_views_the_cell_state_and_carries_the_parameters():
    ca = _cells()
    rec = ca._kernel_record
    p = ca.params.device
    assert rec.g_s is ca.g_s and rec.rec is ca._rec and rec.kind is ca.kind  # written in place by the kernels
    assert rec.set_slope_inv == 1.0 / p.set_v_slope_v and rec.reset_tau0_s == p.reset_tau0_s
    assert rec.read_floor_sq_s2 == np.float32(ca.params.read.noise_floor_s ** 2)


def test_a_wrong_or_missing_field_name_is_an_error():
    fields = kernel_record(_cells())._asdict()
    fields["set_tau_s"] = fields.pop("set_tau0_s")  # misspelt
    with pytest.raises(TypeError, match="set_tau_s"):
        CellKernelRecord(**fields)
    fields.pop("set_tau_s")  # missing
    with pytest.raises(TypeError, match="set_tau0_s"):
        CellKernelRecord(**fields)
    with pytest.raises(ValueError, match="g_sx"):
        kernel_record(_cells())._replace(g_sx=None)


def test_a_kernel_given_a_record_without_its_field_refuses_to_compile():
    import numba

    ca = _cells()
    names = [("read_noise_sigma" if f == "read_noise_rel" else f) for f in CellKernelRecord._fields]
    Renamed = namedtuple("Renamed", names)
    bad = Renamed(*ca._kernel_record)
    idx = np.arange(8, dtype=np.int64)
    z = np.zeros(8, np.float32)
    call = ReadCall(idx=idx, t_s=np.ones(8), t_start_s=0.0, g_then=ca.g_s[idx], z_relax=z, z_leaky=z,
                    use_leaky=False, z_read=z, dur_s=np.zeros(0, np.float32), out=np.empty(8, np.float32))
    _kernels.kernel("read_cells")(call, ca._kernel_record)  # the record it was built for compiles and runs
    with pytest.raises(numba.core.errors.TypingError, match="read_noise_rel"):
        _kernels.kernel("read_cells")(call, bad)


def test_a_call_is_built_by_field_name():
    fields = dict(idx=None, t_s=None, t_start_s=0.0, g_then=None, z_relax=None, z_leaky=None, use_leaky=False,
                  z_read=None, dur_s=None, out=None)
    ReadCall(**fields)
    with pytest.raises(TypeError, match="z_noise"):
        ReadCall(**{**fields, "z_noise": None})  # a misspelt draw
    with pytest.raises(TypeError, match="gate_v"):
        PulseCall(idx=None, v=None, width_s=None, t_end=None, t0=0.0, t_step=-1.0, z_relax=None, c2c=None, out=None)
