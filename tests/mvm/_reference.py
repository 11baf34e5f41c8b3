"""Dense reference for the array solve: the full node equations, solved by scipy's sparse LU."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla


def reference_map(g, drive_g, drive_pos, chain_pos, n_chain, mix, sense_taps, drive_taps, r_wire, g_leak):
    """Tap voltages per unit input from the full nodal analysis (every node of every line)."""
    g = np.asarray(g, float)
    A, B = g.shape
    P = n_chain
    gw = 1.0 / r_wire
    nd = A * B

    def dn(a, b):
        return a * B + b

    def sn(b, p):
        return nd + b * P + p

    rows, cols, vals = [], [], []

    def conn(i, j, c):
        rows.extend([i, j, i, j])
        cols.extend([i, j, j, i])
        vals.extend([c, c, -c, -c])

    for a in range(A):
        for b in range(B - 1):
            conn(dn(a, b), dn(a, b + 1), gw)
    for b in range(B):
        for p in range(P - 1):
            conn(sn(b, p), sn(b, p + 1), gw)
    for a in range(A):
        for b in range(B):
            if g[a, b] > 0:
                conn(dn(a, b), sn(b, chain_pos[a]), g[a, b])
    diag = np.zeros(nd + B * P)
    rhs = np.zeros((nd + B * P, mix.shape[1]))
    for a in range(A):
        diag[dn(a, drive_pos[a])] += drive_g[a]
        rhs[dn(a, drive_pos[a])] += drive_g[a] * mix[a]
    for b, p in sense_taps:
        diag[sn(b, p)] += g_leak
    for a, b in drive_taps:
        diag[dn(a, b)] += g_leak
    n = nd + B * P
    K = sp.coo_matrix((vals, (rows, cols)), shape=(n, n)).tocsc() + sp.diags(diag)
    x = spla.splu(K.tocsc()).solve(rhs)
    out = [x[sn(b, p)] for b, p in sense_taps] + [x[dn(a, b)] for a, b in drive_taps]
    return np.array(out)
