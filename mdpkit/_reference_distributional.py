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


# ----------------------------------------------------------------------------- control (dense, loops)
def categorical_control_backup(P, R_sas, mask, gamma, z, eta):
    """State-action laws (S, A, K), their means q (S, A; -inf masked), greedy pi, new state laws (S, K)."""
    S, A, _ = P.shape
    K = z.shape[0]
    eta_sa = np.zeros((S, A, K))
    q = np.full((S, A), -np.inf)
    for s in range(S):
        for a in range(A):
            if not mask[s, a]:
                continue
            keep = P[s, a] > 0
            x = (R_sas[s, a, keep][:, None] + gamma * z[None, :]).ravel()
            p = (P[s, a, keep][:, None] * eta[keep]).ravel()
            eta_sa[s, a] = categorical_project(x[None], p[None], z)[0]
            q[s, a] = eta_sa[s, a] @ z
    pi = np.argmax(q, axis=1)
    return eta_sa, q, pi, eta_sa[np.arange(S), pi]


def quantile_control_backup(P, R_sas, mask, gamma, theta):
    """Quantile twin: theta_sa (S, A, m), q (S, A) atom means, greedy pi, new atoms (S, m)."""
    S, A, _ = P.shape
    m = theta.shape[1]
    tau = (2.0 * np.arange(1, m + 1) - 1.0) / (2.0 * m)
    th_sa = np.zeros((S, A, m))
    q = np.full((S, A), -np.inf)
    for s in range(S):
        for a in range(A):
            if not mask[s, a]:
                continue
            keep = P[s, a] > 0
            y = (R_sas[s, a, keep][:, None] + gamma * theta[keep]).ravel()
            mm = np.repeat(P[s, a, keep] / m, m)
            order = np.argsort(y, kind="stable")
            ys, cum = y[order], np.cumsum(mm[order])
            for i in range(m):
                k = np.nonzero(cum >= tau[i] - QUANTILE_LEVEL_ATOL)[0]
                th_sa[s, a, i] = ys[k[0]] if k.size else ys[-1]
            q[s, a] = th_sa[s, a].mean()
    pi = np.argmax(q, axis=1)
    return th_sa, q, pi, th_sa[np.arange(S), pi]


# ----------------------------------------------------------------------------- vectorised numpy sweeps
def categorical_sweep_vectorized(indptr, nxt, w, rew, z, gamma, eta):
    """``Pi_C T^pi eta`` for policy entries (CSR by state), fully vectorised numpy (benchmark baseline).

    Every (entry, atom) target ``rew[e] + gamma z_j`` is split between its two neighbouring atoms
    with ``np.bincount`` (evenly spaced or not: cells by ``np.searchsorted``).
    """
    S, K = eta.shape
    state = np.repeat(np.arange(S), np.diff(indptr))
    y = np.clip(rew[:, None] + gamma * z[None, :], z[0], z[-1])  # (E, K)
    mass = w[:, None] * eta[nxt]  # (E, K)
    i = np.clip(np.searchsorted(z, y, side="right") - 1, 0, K - 2) if K > 1 else np.zeros(y.shape, np.int64)
    if K > 1:
        frac = (y - z[i]) / (z[i + 1] - z[i])
    else:
        frac = np.zeros_like(y)
    base = (state[:, None] * K + i).ravel()
    out = np.bincount(base, (mass * (1.0 - frac)).ravel(), minlength=S * K)
    if K > 1:
        out += np.bincount(base + 1, (mass * frac).ravel(), minlength=S * K)
    return out.reshape(S, K)


def quantile_sweep_vectorized(indptr, nxt, w, rew, gamma, theta):
    """``Pi_Q T^pi theta`` for policy entries, vectorised numpy: one lexsort of all (state, target) atoms."""
    S, m = theta.shape
    E = nxt.shape[0]
    state = np.repeat(np.repeat(np.arange(S), np.diff(indptr)), m)
    y = (rew[:, None] + gamma * theta[nxt]).ravel()
    mass = np.repeat(w / m, m)
    order = np.lexsort((y, state))
    st_s, y_s, m_s = state[order], y[order], mass[order]
    cum = np.cumsum(m_s)
    start = np.concatenate(([0], np.cumsum(np.diff(indptr)) * m))[:-1]  # first sorted index of each state
    offset = np.concatenate(([0.0], cum))[start]  # mass before the state's block
    cum_local = cum - offset[st_s]
    tau = (2.0 * np.arange(1, m + 1) - 1.0) / (2.0 * m)
    # first index in the state's block with cum_local >= tau - atol: search in the global key state + cum_local
    key = st_s * 4.0 + cum_local  # blocks separated (cum_local <= 1 + rounding)
    targets = (np.arange(S)[:, None] * 4.0 + tau[None, :] - QUANTILE_LEVEL_ATOL).ravel()
    idx = np.searchsorted(key, targets, side="left")
    last = (start + np.diff(indptr) * m - 1)[:, None]
    idx = np.minimum(idx.reshape(S, m), last)
    del E
    return y_s[idx]
