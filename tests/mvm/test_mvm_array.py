"""The array solve: exact against the full node equations, ideal in the ideal limit."""

from __future__ import annotations

import numpy as np
import pytest
from _reference import reference_map

from neurram_lab.sim_backend.array import settle_map, weighted_mean_map
from neurram_lab.sim_backend.core import CoreCircuit, network
from neurram_lab.sim_backend.params import CircuitParams


def _random_network(seed, A=6, B=8, P=12, floating=(1,)):
    rng = np.random.default_rng(seed)
    g = rng.uniform(1e-6, 40e-6, (A, B))
    g[rng.random((A, B)) < 0.2] = 0.0
    gd = np.full(A, 1.0 / 30.0)
    gd[list(floating)] = 0.0
    drive_pos = rng.integers(0, B, A)
    chain_pos = rng.choice(P, A, replace=False)
    mix = rng.standard_normal((A, 3))
    sense_taps = [(b, int(rng.integers(0, P))) for b in range(B)]
    drive_taps = [(floating[0], int(rng.integers(0, B)))]
    return g, gd, drive_pos, chain_pos, P, mix, sense_taps, drive_taps


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("r_wire", [0.2, 5.0])
@pytest.mark.parametrize("cells_per_node", [1, 2, 4])
def test_exact_solve_matches_sparse_reference(seed, r_wire, cells_per_node):
    g, gd, dp, cp, P, mix, st, dt = _random_network(seed)
    m = settle_map(g, gd, dp, cp, P, mix, st, dt, r_wire, 1e-12, cells_per_node)
    ref = reference_map(g, gd, dp, cp, P, mix, st, dt, r_wire, 1e-12, cells_per_node)
    assert np.abs(m - ref).max() <= 1e-6 * np.abs(ref).max()
    # and the wires matter: far from the ideal weighted mean
    ideal = weighted_mean_map(g[gd > 0], mix[gd > 0], range(g.shape[1]))
    assert np.abs(m[: g.shape[1]] - ideal).max() > 1e-3 * np.abs(ideal).max()


@pytest.mark.parametrize("cells_per_node", [2, 4])
def test_drive_lines_in_node_order_match_sparse_reference(cells_per_node):
    """Forward MVMs give the drive lines in node order (the coupling blocks then repeat Z instead of gathering
    it, and take the lines of a node as one slice); the sparse reference agrees there too."""
    g, gd, dp, _, P, mix, st, dt = _random_network(7)
    cp = np.sort(np.random.default_rng(7).choice(P, g.shape[0], replace=False))
    m = settle_map(g, gd, dp, cp, P, mix, st, dt, 1.0, 1e-12, cells_per_node)
    ref = reference_map(g, gd, dp, cp, P, mix, st, dt, 1.0, 1e-12, cells_per_node)
    assert np.abs(m - ref).max() <= 1e-6 * np.abs(ref).max()


def test_block_inverse_is_cholesky_with_an_lu_fallback():
    """The sweep's block inverse: Cholesky for symmetric positive definite blocks (the usual case), and
    ``np.linalg.inv`` where the factorisation fails (not positive definite)."""
    from neurram_lab.sim_backend.array import _spd_inverse

    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 40))
    spd = x @ x.T + 40 * np.eye(40)
    assert np.allclose(_spd_inverse(spd.copy()), np.linalg.inv(spd), rtol=1e-10, atol=1e-14)
    q, _ = np.linalg.qr(x)
    indefinite = (q * np.r_[np.linspace(-5, -1, 20), np.linspace(1, 5, 20)]) @ q.T
    assert np.allclose(_spd_inverse(indefinite.copy()) @ indefinite, np.eye(40), atol=1e-10)


def test_lumped_solve_matches_reference_with_tiny_wires():
    g, gd, dp, cp, P, mix, st, dt = _random_network(5)
    m = settle_map(g, gd, dp, cp, P, mix, st, dt, 0.0, 1e-12)
    ref = reference_map(g, gd, dp, cp, P, mix, st, dt, 1e-4, 1e-12)  # (smaller is ill-conditioned)
    assert np.abs(m - ref).max() <= 1e-6 * np.abs(ref).max()


def test_zero_wire_and_driver_resistance_is_the_weighted_mean():
    rng = np.random.default_rng(3)
    g = rng.uniform(1e-6, 40e-6, (10, 7))
    mix = rng.standard_normal((10, 4))
    m = settle_map(g, np.full(10, np.inf), np.zeros(10, int), np.arange(10), 10, mix, [(b, 0) for b in range(7)],
                   (), 0.0, 0.0)
    assert np.allclose(m, weighted_mean_map(g, mix, range(7)), rtol=1e-12, atol=0)
    want = (g.T @ mix) / g.sum(axis=0)[:, None]
    assert np.allclose(m, want, rtol=1e-12, atol=0)


def test_core_map_without_resistance_is_ideal():
    rng = np.random.default_rng(4)
    g = rng.uniform(0.05e-6, 0.2e-6, (256, 256))
    g[:32, :16] = rng.uniform(1e-6, 40e-6, (32, 16))
    p = CircuitParams(r_driver_ohm=0.0, r_wire_ohm=0.0, coupling_frac=0.0, g_leak_s=0.0)
    cc = CoreCircuit(0, 0, p)
    il, ol = np.arange(16), np.arange(16)
    m = cc.array_map(g, 1, "forward", il, ol, True).m
    net = network("forward", g, il, ol, True)
    want = weighted_mean_map(net["g_s"], net["mix"], net["sense_lines"])
    assert np.allclose(m, want, rtol=1e-9, atol=1e-15)
    # the same map, by definition: the switch for the ideal weighted mean
    ideal = CoreCircuit(0, 0, CircuitParams(ideal_settling=1.0, coupling_frac=0.0)).array_map(g, 1, "forward", il, ol, True)
    assert np.allclose(ideal.m, want, rtol=1e-12, atol=0)


def test_full_core_refactor_is_fast_and_cached():
    rng = np.random.default_rng(5)
    g = rng.uniform(1e-6, 40e-6, (256, 256))
    cc = CoreCircuit(0, 0, CircuitParams())
    amap = cc.array_map(g, 1, "forward", np.arange(128), np.arange(256), True)
    assert amap.m.shape == (256, 128)
    assert amap.factor_s < 5.0  # ~0.2-0.5 s here; loose for loaded CI machines
    assert cc.array_map(g, 1, "forward", np.arange(128), np.arange(256), True) is amap
    assert cc.array_map(g, 2, "forward", np.arange(128), np.arange(256), True) is not amap


def test_long_sense_chains_per_cell_match_reference():
    """Sense lines longer than 64 nodes take the Thomas-sweep path."""
    rng = np.random.default_rng(1)
    A, B, P = 10, 70, 80
    g = rng.uniform(1e-6, 40e-6, (A, B))
    gd = np.full(A, 1 / 30.0)
    gd[2] = 0.0
    dp, cp = rng.integers(0, B, A), rng.choice(P, A, replace=False)
    mix = rng.standard_normal((A, 2))
    st, dt = [(b, int(rng.integers(0, P))) for b in range(0, B, 3)], [(2, 5)]
    m = settle_map(g, gd, dp, cp, P, mix, st, dt, 0.3, 1e-12, 1)
    ref = reference_map(g, gd, dp, cp, P, mix, st, dt, 0.3, 1e-12, 1)
    assert np.abs(m - ref).max() <= 1e-6 * np.abs(ref).max()
