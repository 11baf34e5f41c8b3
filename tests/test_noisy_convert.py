"""The fused noise-and-convert kernel gives the codes of drawing the noise first, bit for bit."""
import numpy as np
import pytest

from neurram_lab.sim_backend import _kernels, _normal


@pytest.mark.parametrize("rows, cols", [(300, 256), (5000, 256), (3, 64)])
def test_noisy_convert_matches_noise_then_convert(rows, cols):
    rng = np.random.default_rng(rows)
    integ = rng.normal(0, 50, (rows, cols)).astype(np.float32)
    row_scale = rng.uniform(0.5, 2, rows).astype(np.float32)
    offset = rng.normal(0, 1, cols).astype(np.float32)
    floors = np.full(cols, -128, np.float32)
    got = _kernels.noisy_convert(integ, row_scale, 1.0, offset, floors, 127, 12345, 3.0)
    z = np.asarray(_normal.normals(12345, 0, integ.size, 3.0)).reshape(integ.shape)
    want = _kernels.clip_convert(integ, row_scale, 1.0, offset, z, floors, 127)
    assert np.array_equal(got[0], want[0])
    assert got[1] == want[1]
    assert np.abs(got[0].astype(int) - _kernels.clip_convert(integ, row_scale, 1.0, offset, 0 * z, floors, 127)[0]).max() > 0


def test_noisy_convert_declines_rows_too_long_for_a_step():
    integ = np.zeros((4, 130), np.float32)  # 1024 rows per whole chunk * 130 > one block
    assert _kernels.noisy_convert(integ, np.ones(4, np.float32), 1.0, np.zeros(130, np.float32),
                                  np.full(130, -128, np.float32), 127, 1, 1.0) is None
