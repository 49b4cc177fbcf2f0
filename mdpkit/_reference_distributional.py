"""Plain-numpy twins of the distributional kernels (``mdpkit/_kernels/distributional.py``), test oracles only.

They compute the same quantities by a different route: the categorical projection through the
"hat function" weights ``max(0, 1 - |y - z_i| / gap)`` on the full support (no search), the
operators on dense ``(S, A, S)`` arrays, and the quantile step with a full sort of all target atoms
of a state.  No code is shared with the kernels.
"""

from __future__ import annotations

import numpy as np

QUANTILE_LEVEL_ATOL = 1e-12


def categorical_project(x, p, z):
    """Rows of atoms x (B, n), masses p (B, n) -> probabilities (B, K) on the support z (K,)."""
    y = np.clip(x, z[0], z[-1])[..., None]  # (B, n, 1): mass outside goes to the end atoms
    K = z.shape[0]
    left = np.concatenate(([np.inf], np.diff(z)))  # gap to the left neighbour of atom i
    right = np.concatenate((np.diff(z), [np.inf]))
    d = y - z  # (B, n, K)
    h = np.where(d >= 0, np.maximum(0.0, 1.0 - d / right), np.maximum(0.0, 1.0 + d / left))
    if K == 1:
        h = np.ones_like(d)
    return np.einsum("bn,bnk->bk", p, h)


def categorical_backup(P, R_sas, pi, gamma, z, eta):
    """Pi_C T^pi eta with dense P (S, A, S), R_sas (S, A, S), stochastic pi (S, A), eta (S, K)."""
    S, A, _ = P.shape
    K = z.shape[0]
    out = np.zeros((S, K))
    for s in range(S):
        xs, ps = [], []
        for a in range(A):
            for s2 in range(S):
                wgt = pi[s, a] * P[s, a, s2]
                if wgt > 0:
                    xs.append(R_sas[s, a, s2] + gamma * z)
                    ps.append(wgt * eta[s2])
        out[s] = categorical_project(np.concatenate(xs)[None], np.concatenate(ps)[None], z)[0]
    return out


def sup_cramer_same_support(p1, p2, z):
    F1, F2 = np.cumsum(p1, axis=1)[:, :-1], np.cumsum(p2, axis=1)[:, :-1]
    return float(np.sqrt(np.max(((F1 - F2) ** 2 * np.diff(z)).sum(axis=1))))


def categorical_evaluation(P, R_sas, pi, gamma, z, eta0, tol, max_iter):
    eta = np.array(eta0, dtype=float)
    res = []
    for _ in range(max_iter):
        new = categorical_backup(P, R_sas, pi, gamma, z, eta)
        res.append(sup_cramer_same_support(new, eta, z))
        eta = new
        if res[-1] <= tol:
            break
    return eta, np.array(res)


def quantile_backup(P, R_sas, pi, gamma, theta):
    """Pi_Q T^pi theta with dense arrays; theta (S, m)."""
    S, A, _ = P.shape
    m = theta.shape[1]
    tau = (2.0 * np.arange(1, m + 1) - 1.0) / (2.0 * m)
    out = np.zeros((S, m))
    for s in range(S):
        wgt = pi[s][:, None] * P[s]  # (A, S)
        ys = (R_sas[s][:, :, None] + gamma * theta[None, :, :])  # (A, S, m)
        ms = np.broadcast_to((wgt / m)[:, :, None], ys.shape)
        keep = ms > 0
        y, mm = ys[keep], ms[keep]
        order = np.argsort(y, kind="stable")
        y, cum = y[order], np.cumsum(mm[order])
        for i in range(m):
            k = np.nonzero(cum >= tau[i] - QUANTILE_LEVEL_ATOL)[0]
            out[s, i] = y[k[0]] if k.size else y[-1]
    return out


def quantile_evaluation(P, R_sas, pi, gamma, theta0, tol, max_iter):
    theta = np.array(theta0, dtype=float)
    res = []
    for _ in range(max_iter):
        new = quantile_backup(P, R_sas, pi, gamma, theta)
        res.append(float(np.abs(new - theta).max()))
        theta = new
        if res[-1] <= tol:
            break
    return theta, np.array(res)
