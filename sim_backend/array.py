"""Exact settling of the RRAM array as a resistive network (voltage-mode MVM).

During an MVM input pulse the driven lines sit behind their drivers, the
output lines float, and every cell whose word line is on connects its two
lines. With the conductances fixed, the node voltages are a linear function
of the driver voltages, so the whole array reduces to one matrix ``M``
(tap voltage per volt of each input): factor once per conductance state,
then every batch is ``x @ M.T``.

Two layers of lines cross. The *drive layer* holds the lines that carry
drivers (BLs in forward MVM); each is a chain of ``B`` nodes, one per
crossing, with wire conductance ``g_w`` between neighbours and its driver at
node ``drive_pos``. The *sense layer* holds the lines that cross them (SLs in
forward MVM); each is a chain of ``P`` nodes (physical positions 0..P-1),
and drive line ``a`` crosses it at position ``chain_pos[a]``.

The solve (derived in docs/mvm_model.md):

1. every sense chain is eliminated exactly (batched tridiagonal solves),
   leaving a dense ``A x A`` block ``C_b`` that couples the drive lines
   through sense line ``b``, and the row ``a_b`` giving the voltage of the
   neuron tap of sense line ``b`` from the drive-line voltages at crossing b;
2. what is left is block-tridiagonal along the drive lines (block ``b`` =
   the ``A`` drive-line nodes at crossing ``b``, off-diagonal ``-g_w I``);
   a block LU sweep gives the drive-line voltages as linear maps of the
   inputs, and the taps follow.

Cost: ``B`` inversions of ``A x A`` plus ``2 B`` products ``(A x A)(A x n)``.
With zero wire resistance every line is one node and the solve is one
``A x A`` system; with zero driver resistance too it is the ideal weighted mean.
"""

from __future__ import annotations

import contextlib
import functools

import numpy as np
from scipy.linalg import cho_factor, cho_solve, lapack

G_DRIVER_CAP_S = 1e3  # an ideal driver on a wired line: 1 mOhm



def _one_blas_thread():
    """Small dense factorisations run fastest on one BLAS thread (and do not fight other work)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def settle_map(g_s, drive_g_s, drive_pos, chain_pos, n_chain, mix, sense_taps=(), drive_taps=(),
               r_wire_ohm=0.0, g_leak_s=0.0, cells_per_node=1) -> np.ndarray:
    """Linear map from input voltages to neuron-tap voltages of one array state.

    Parameters
    ----------
    g_s : ndarray (A, B)
        Cell conductance (S) between drive line ``a`` and sense line ``b``
        (zero where the word line is off or no cell).
    drive_g_s : ndarray (A,)
        Driver conductance (S): 0 for a floating line, ``inf`` for an ideal driver.
    drive_pos : ndarray of int (A,)
        Crossing (sense-line index) where each drive line's driver sits.
    chain_pos : ndarray of int (A,)
        Position of each drive line along the sense lines (distinct, < n_chain).
    n_chain : int
        Number of node positions along a sense line.
    mix : ndarray (A, n)
        Driver voltage of each drive line per unit input: ``V = mix @ x``.
    sense_taps : sequence of (b, position)
        Output taps on sense lines.
    drive_taps : sequence of (a, b)
        Output taps on drive lines (recurrent MVM), at crossing ``b``.
    r_wire_ohm : float
        Wire resistance between adjacent nodes of any line (ohm).
    g_leak_s : float
        Conductance from every tap to the reference (S).
    cells_per_node : int
        Cells that share one wire node (must divide both line lengths):
        1 is the full per-cell network; 16 puts one node per corelet.

    Returns
    -------
    ndarray (len(sense_taps) + len(drive_taps), n)
        Tap voltage (relative to the reference) per unit input.
    """
    g = np.asarray(g_s, np.float64)
    gd = np.asarray(drive_g_s, np.float64)
    mix = np.asarray(mix, np.float64)
    st = np.asarray(sense_taps, np.int64).reshape(-1, 2)
    dt = np.asarray(drive_taps, np.int64).reshape(-1, 2)
    if r_wire_ohm <= 0.0:
        return _settle_lumped(g, gd, mix, st, dt, g_leak_s)
    gd = np.minimum(gd, G_DRIVER_CAP_S)
    with _one_blas_thread():
        return _settle_wires(g, gd, np.asarray(drive_pos, np.int64), np.asarray(chain_pos, np.int64),
                             int(n_chain), mix, st, dt, float(r_wire_ohm), float(g_leak_s),
                             int(cells_per_node))


def weighted_mean_map(g_s, mix, sense_lines) -> np.ndarray:
    """The ideal settling: each sensed line at the conductance-weighted mean of the inputs.

    ``g_s`` (A, B), ``mix`` (A, n); returns (len(sense_lines), n).
    """
    g = np.asarray(g_s, np.float64)[:, np.asarray(sense_lines, np.int64)]
    tot = g.sum(axis=0)
    return (g.T @ mix) / np.where(tot > 0, tot, 1.0)[:, None]


class _LumpedSolver:
    """One node per line: drive-line voltages U and sense-line voltages W from the
    driver voltages and extra per-cell source voltages ``e`` (the wire drops).

    Cell currents are ``g_ab (U_a - W_b + e_ab)``; drivers ``gd_a (V_a - U_a)``;
    leaks ``leak (0 - node)``. Factorised once (Cholesky of the Schur complement
    on the drive lines); each solve is two matrix products.
    """

    def __init__(self, g, gd, leak_a, leak_b):
        A, _ = g.shape
        self.g = g
        col = g.sum(axis=0) + leak_b
        self.inv_col = np.where(col > 0, 1.0 / np.where(col > 0, col, 1.0), 0.0)
        self.fixed = np.isinf(gd)
        self.free = ~self.fixed
        self.gd = np.where(self.fixed, 0.0, gd)
        K = np.diag(g.sum(axis=1) + leak_a + self.gd) - (g * self.inv_col) @ g.T
        self.k_free_fixed = K[np.ix_(self.free, self.fixed)]
        self.chol = cho_factor(K[np.ix_(self.free, self.free)]) if self.free.any() else None
        self.A = A

    def solve(self, v, r=None, c=None):
        """``v`` (A, n) driver voltages; ``r`` (A, n), ``c`` (B, n) wire-drop sources."""
        u = np.empty_like(v)
        u[self.fixed] = v[self.fixed]
        if self.chol is not None:
            rhs = self.gd[self.free, None] * v[self.free] - self.k_free_fixed @ v[self.fixed]
            if r is not None:
                rhs += (self.g[self.free] @ (c * self.inv_col[:, None])) - r[self.free]
            u[self.free] = cho_solve(self.chol, rhs)
        w = self.g.T @ u
        if c is not None:
            w += c
        w *= self.inv_col[:, None]
        return u, w


def _settle_lumped(g, gd, mix, st, dt, g_leak):
    """Zero wire resistance: one node per line, solved exactly."""
    A, B = g.shape
    leak_b = np.zeros(B)
    leak_b[st[:, 0]] += g_leak
    leak_a = np.zeros(A)
    leak_a[dt[:, 0]] += g_leak
    u, w = _LumpedSolver(g, gd, leak_a, leak_b).solve(mix)
    return np.vstack([w[st[:, 0]], u[dt[:, 0]]])


def _settle_wires(g, gd, drive_pos, chain_pos, n_chain, mix, st, dt, r_wire, g_leak, cells_per_node):
    """Block elimination of the wired network (see the module docstring).

    Node ``k`` of a drive line gathers the cells of crossings
    ``k*c .. (k+1)*c - 1`` (c = ``cells_per_node``), node ``i`` of a sense
    line those of positions ``i*c ..``; adjacent nodes are joined by the wire
    of c cell pitches. ``cells_per_node = 1`` is the per-cell network.
    """
    A, B = g.shape
    P = int(n_chain)
    gsz_d = gsz_s = int(cells_per_node)
    if B % gsz_d or P % gsz_s:
        raise ValueError(f"cells_per_node={gsz_d} must divide the line lengths {B} and {P}")
    N, Ns = B // gsz_d, P // gsz_s
    g_wd = 1.0 / (r_wire * gsz_d)  # wire between adjacent drive-line nodes
    g_ws = 1.0 / (r_wire * gsz_s)
    node_a = chain_pos // gsz_s  # sense-line node of each drive line
    block_b = np.arange(B) // gsz_d  # drive-line node (block) of each crossing
    n = mix.shape[1]
    # 1. sense chains: Z_b = (g_ws Lap + diag(d_b))^-1, d_b[i] = sum of the cells at node i
    d = np.zeros((B, Ns))
    np.add.at(d.T, node_a, g)  # d[b, node_a[a]] += g[a, b]
    tap_node = np.full(B, -1)
    tap_node[st[:, 0]] = st[:, 1] // gsz_s
    has_tap = tap_node >= 0
    d[np.flatnonzero(has_tap), tap_node[has_tap]] += g_leak
    empty = d.sum(axis=1) <= 0
    d[empty, 0] = 1.0  # a line touching nothing (its blocks are zero anyway)
    # Z_b restricted to the crossings (and the tap), folded into the diagonal blocks
    if Ns <= 64:
        kc, a_rows = _blocks_short(g, d, g_ws, node_a, tap_node, block_b, N)
    else:
        kc, a_rows = _blocks_long(g, d, g_ws, node_a, tap_node, block_b, N)
    a_rows[~has_tap] = 0.0
    # 2. diagonal blocks: K_k = sum_{b in k} (diag(g_b) - (g_b g_b^T) * Z_b[node_a, node_a]) + wires + drivers
    ref_node = drive_pos // gsz_d
    deg = np.full(N, 2.0)
    deg[0] -= 1.0
    deg[-1] -= 1.0
    drv = np.zeros((N, A))
    np.add.at(drv, (ref_node, np.arange(A)), gd)
    leak_blk = np.zeros((N, A))
    np.add.at(leak_blk, (dt[:, 1] // gsz_d, dt[:, 0]), g_leak)
    gsum_blk = np.zeros((N, A))
    np.add.at(gsum_blk, block_b, g.T)  # gsum_blk[block_b[b], a] += g[a, b]
    sinv = np.empty((N, A, A))
    y = np.empty((N, A, n))
    prev = None
    diag = np.diag_indices(A)
    for k in range(N):
        K = kc[k]
        K[diag] += gsum_blk[k] + g_wd * deg[k] + drv[k] + leak_blk[k]
        rhs = y[k]
        np.multiply(drv[k][:, None], mix, out=rhs)
        if prev is not None:
            K -= (g_wd * g_wd) * prev
            rhs += g_wd * (prev @ y[k - 1])
        prev = sinv[k]
        prev[...] = _spd_inverse(K)
    # 3. back substitution; read the taps of every block
    out = np.zeros((st.shape[0] + dt.shape[0], n))
    sense_rows = {}
    for j, b in enumerate(st[:, 0]):
        sense_rows.setdefault(int(block_b[b]), []).append(j)
    drive_rows = {}
    for j, (a, b) in enumerate(dt):
        drive_rows.setdefault(int(b // gsz_d), []).append((j, int(a)))
    u = None
    for k in range(N - 1, -1, -1):
        u = sinv[k] @ (y[k] if u is None else y[k] + g_wd * u)
        for j in sense_rows.get(k, ()):
            out[j] = a_rows[st[j, 0]] @ u
        for j, a in drive_rows.get(k, ()):
            out[st.shape[0] + j] = u[a]
    return out


def _spd_inverse(K: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive definite block: Cholesky (about half the work of LU's
    ``np.linalg.inv``, which stays the fallback where the factorisation finds it not positive definite)."""
    c, info = lapack.dpotrf(K, lower=1, clean=0)
    if info == 0:
        inv, info = lapack.dpotri(c, lower=1, overwrite_c=1)
        if info == 0:  # dpotri fills the lower triangle; the upper one is its mirror
            np.copyto(inv, inv.T, where=_upper_mask(K.shape[0]))
            return inv
    return np.linalg.inv(K)


@functools.lru_cache(maxsize=8)
def _upper_mask(n: int) -> np.ndarray:
    return np.triu(np.ones((n, n), bool), 1)


def _chain_green(d, g_w, nodes, taps):
    """Inverse of floating chains ``g_w Lap + diag(d)`` restricted to ``nodes``, and its tap rows.

    ``d`` (nb, Ns) node conductances to the outside; ``nodes`` (U,) the node
    indices wanted; ``taps`` (nb,) each line's tap node (-1: none).
    Returns ``Z[:, nodes][:, :, nodes]`` (nb, U, U) and ``Z[tap, nodes]`` (nb, U).
    A Thomas sweep with unit right-hand sides at the wanted nodes (Z is symmetric).
    """
    nb, ns = d.shape
    tp = np.where(taps >= 0, taps, 0)
    deg = np.full(ns, 2.0)
    deg[0] = deg[-1] = 1.0
    diag = g_w * deg[None, :] + d
    col_of = np.full(ns, -1)
    col_of[nodes] = np.arange(nodes.size)
    y = np.empty((ns, nb, nodes.size))
    cprime = np.empty((nb, ns))
    prev = np.zeros((nb, nodes.size))
    cp = np.zeros(nb)
    for i in range(ns):
        m = diag[:, i] + g_w * cp
        cp = -g_w / m
        cprime[:, i] = cp
        cur = g_w * prev
        if col_of[i] >= 0:
            cur[:, col_of[i]] += 1.0
        cur /= m[:, None]
        y[i] = cur
        prev = cur
    zu = np.empty((nb, nodes.size, nodes.size))
    ztap = np.zeros((nb, nodes.size))
    x = y[ns - 1]
    for i in range(ns - 1, -1, -1):
        if i < ns - 1:
            x = y[i] - cprime[:, i, None] * x
        if col_of[i] >= 0:
            zu[:, col_of[i], :] = x
        hit = tp == i
        if hit.any():
            ztap[hit] = x[hit]
    return zu, ztap


def _blocks_short(g, d, g_w, node_a, tap_node, block_b, n_blocks):
    """Coupling blocks ``-sum_b (g_b g_b^T) * Z_b[n(a), n(a')]`` for short sense chains.

    ``Z_b`` as a batch of small dense inverses; each block is one matrix
    product ``(A, m Ns) @ (m Ns, A)`` over its ``m`` sense lines.
    """
    A, B = g.shape
    ns = d.shape[1]
    lap = np.zeros((ns, ns))
    if ns > 1:
        i = np.arange(ns - 1)
        lap[i, i] += g_w
        lap[i + 1, i + 1] += g_w
        lap[i, i + 1] -= g_w
        lap[i + 1, i] -= g_w
    z = np.linalg.inv(lap[None] + d[:, :, None] * np.eye(ns)[None])  # (B, Ns, Ns)
    a_rows = np.zeros((B, A))
    tb = np.flatnonzero(tap_node >= 0)
    a_rows[tb] = z[tb, tap_node[tb]][:, node_a] * g[:, tb].T
    kc = np.empty((n_blocks, A, A))
    m = B // n_blocks
    if B % n_blocks or not np.array_equal(block_b, np.arange(B) // m):  # pragma: no cover - not how callers cut
        for k in range(n_blocks):
            bs = np.flatnonzero(block_b == k)
            gk = g[:, bs]  # (A, m)
            h = gk.T[:, :, None] * z[bs][:, :, node_a].transpose(0, 2, 1)  # (m, A, Ns): g_ab Z_b[n(a), i]
            h = h.transpose(1, 0, 2).reshape(A, -1)
            e = np.zeros((bs.size, ns, A))  # (m, Ns, A): g_a'b at the node of a'
            e[np.arange(bs.size)[:, None], node_a[None, :], np.arange(A)[None, :]] = gk.T
            kc[k] = -(h @ e.reshape(-1, A))
        return kc, a_rows
    # kc[k][a, a'] = -sum_{b in k} g_ab Z_b[n(a), n(a')] g_a'b (symmetric): for the drive lines a at node i,
    # one batched product over the blocks, (N, |a at i|, m) @ (N, m, A): A^2 m per block instead of A^2 m Ns
    if np.all(np.diff(node_a) >= 0):  # drive lines in node order (forward MVMs): a repeat, not a gather
        za = np.repeat(z, np.bincount(node_a, minlength=ns), axis=2)
    else:
        za = z[:, :, node_a]
    za *= g.T[:, None, :]
    h = za.reshape(n_blocks, m, ns, A)  # (N, m, Ns, A): Z_b[i, n(a')] g_a'b
    gbt = g.reshape(A, n_blocks, m).transpose(1, 0, 2)  # (N, A, m)
    for i in np.unique(node_a):
        at = np.flatnonzero(node_a == i)
        sl = slice(at[0], at[-1] + 1) if at[-1] - at[0] + 1 == at.size else at
        kc[:, sl, :] = np.matmul(gbt[:, sl, :], h[:, :, i, :])
    np.negative(kc, out=kc)
    return kc, a_rows


def _blocks_long(g, d, g_w, node_a, tap_node, block_b, n_blocks):
    """The same blocks for long sense chains (per-cell nodes): Thomas sweeps in chunks of lines."""
    A, B = g.shape
    ns = d.shape[1]
    kc = np.zeros((n_blocks, A, A))
    a_rows = np.zeros((B, A))
    uniq, inv = np.unique(node_a, return_inverse=True)
    chunk = max(1, (1 << 22) // max(A * A, ns * uniq.size, 1))
    for b0 in range(0, B, chunk):
        bs = np.arange(b0, min(B, b0 + chunk))
        zu, ztap = _chain_green(d[bs], g_w, uniq, tap_node[bs])  # (nb, U, U), (nb, U)
        gb = g[:, bs].T  # (nb, A)
        contrib = zu[:, inv][:, :, inv]
        contrib *= gb[:, :, None]
        contrib *= gb[:, None, :]
        for k in np.unique(block_b[bs]):
            kc[k] -= contrib[block_b[bs] == k].sum(axis=0)
        a_rows[bs] = ztap[:, inv] * gb
    return kc, a_rows
