"""Reference for the array solve: the full node equations, solved by scipy's sparse LU.

Every line is a chain of nodes; node ``k`` of a drive line holds the cells of
crossings ``k*c .. k*c + c - 1`` and node ``i`` of a sense line those at
positions ``i*c ..`` (``c = cells_per_node``, 1 for the per-cell network);
adjacent nodes are joined by ``c`` wire segments. Drivers and taps sit at the
node of their crossing or position.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla


def reference_map(g, drive_g, drive_pos, chain_pos, n_chain, mix, sense_taps, drive_taps, r_wire, g_leak,
                  cells_per_node=1):
    """Tap voltages per unit input from nodal analysis of the whole network."""
    g = np.asarray(g, float)
    A, B = g.shape
    c = int(cells_per_node)
    nd_per, ns_per = B // c, n_chain // c
    gw = 1.0 / (r_wire * c)
    n_drive = A * nd_per

    def dn(a, b):  # drive node of line a holding crossing b
        return a * nd_per + b // c

    def sn(b, p):  # sense node of line b holding position p
        return n_drive + b * ns_per + p // c

    rows, cols, vals = [], [], []

    def conn(i, j, cond):
        rows.extend([i, j, i, j])
        cols.extend([i, j, j, i])
        vals.extend([cond, cond, -cond, -cond])

    for a in range(A):
        for k in range(nd_per - 1):
            conn(a * nd_per + k, a * nd_per + k + 1, gw)
    for b in range(B):
        for k in range(ns_per - 1):
            conn(n_drive + b * ns_per + k, n_drive + b * ns_per + k + 1, gw)
    for a in range(A):
        for b in range(B):
            if g[a, b] > 0:
                conn(dn(a, b), sn(b, chain_pos[a]), g[a, b])
    n = n_drive + B * ns_per
    diag = np.zeros(n)
    rhs = np.zeros((n, mix.shape[1]))
    for a in range(A):
        diag[dn(a, drive_pos[a])] += drive_g[a]
        rhs[dn(a, drive_pos[a])] += drive_g[a] * mix[a]
    for b, p in sense_taps:
        diag[sn(b, p)] += g_leak
    for a, b in drive_taps:
        diag[dn(a, b)] += g_leak
    K = sp.coo_matrix((vals, (rows, cols)), shape=(n, n)).tocsc() + sp.diags(diag)
    x = spla.splu(K.tocsc()).solve(rhs)
    out = [x[sn(b, p)] for b, p in sense_taps] + [x[dn(a, b)] for a, b in drive_taps]
    return np.array(out).reshape(len(out), mix.shape[1])
