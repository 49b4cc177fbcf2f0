"""Plain-numpy twins of the Numba kernels, used only as test oracles.

Each function computes the same quantity as its kernel in ``mdpkit/_kernels/bellman.py`` in
the most direct numpy form (dense arrays, masked actions as ``-inf``), with no shared code.
"""

from __future__ import annotations

import numpy as np


def bellman_q(P, R, gamma, v):
    """q[s, a] = R[s, a] + gamma * P[s, a, :] @ v, with P dense (S, A, S)."""
    return R + gamma * np.einsum("ijk,k->ij", P, v)


def greedy_max(q, mask):
    """(max over available actions, lowest-index argmax)."""
    qm = np.where(mask, q, -np.inf)
    return qm.max(axis=1), qm.argmax(axis=1)


def value_iteration(P, R, mask, gamma, v0, tol, max_iter, use_span=False):
    """Returns (v_last, policy greedy for the previous iterate, n_iter, residuals)."""
    v = np.array(v0, dtype=float)
    res = []
    pi = None
    for _ in range(max_iter):
        Tv, pi = greedy_max(bellman_q(P, R, gamma, v), mask)
        d = Tv - v
        res.append(np.abs(d).max())
        v = Tv
        if (d.max() - d.min() if use_span else np.abs(d).max()) < tol:
            break
    return v, pi, len(res), np.array(res)


def gauss_seidel(P, R, mask, gamma, v0, tol, max_iter):
    """In-place sweeps in state order; returns (v, n_iter, residuals)."""
    v = np.array(v0, dtype=float)
    res = []
    for _ in range(max_iter):
        delta = 0.0
        for s in range(v.shape[0]):
            new = np.max(np.where(mask[s], R[s] + gamma * P[s] @ v, -np.inf))
            delta = max(delta, abs(new - v[s]))
            v[s] = new
        res.append(delta)
        if delta < tol:
            break
    return v, len(res), np.array(res)


def policy_backup(P, R, gamma, pi, v):
    """(T_pi v)(s) = R[s, pi[s]] + gamma * P[s, pi[s], :] @ v."""
    idx = np.arange(v.shape[0])
    return R[idx, pi] + gamma * P[idx, pi] @ v


def single_entry_policy_value(next_state, weight, r, gamma):
    """v = r + gamma * weight * v[next_state] by a dense linear solve."""
    S = r.shape[0]
    M = np.eye(S)
    M[np.arange(S), next_state] -= gamma * weight
    return np.linalg.solve(M, r)


def policy_rows_capacity(indptr, S, A):
    """sum_s max_a (stored entries of CSR row s*A + a)."""
    lens = np.diff(np.asarray(indptr)).reshape(S, A)
    return int(lens.max(axis=1).sum())


def gather_policy_rows(indptr, indices, data, R, pi):
    """Rows ``s*A + pi[s]`` of a CSR (S*A, S) matrix as a compact CSR (S, S), and ``r = R[s, pi[s]]``.

    Returns ``(c_ptr, c_idx, c_data, r)``; each row keeps its entries in storage order.
    """
    S, A = R.shape
    rows = np.arange(S) * A + np.asarray(pi)
    lens = indptr[rows + 1] - indptr[rows]
    c_ptr = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    take = np.concatenate([np.arange(indptr[i], indptr[i + 1]) for i in rows] + [np.zeros(0, np.int64)])
    return c_ptr, np.asarray(indices)[take], np.asarray(data)[take], R[np.arange(S), pi]


def compact_policy_sweep(c_ptr, c_idx, c_data, r, gamma, v):
    """(T_pi v)(s) = r[s] + gamma * sum over row s of the compact CSR of data * v[idx]."""
    S = r.shape[0]
    out = np.empty(S)
    for s in range(S):
        sl = slice(c_ptr[s], c_ptr[s + 1])
        out[s] = r[s] + gamma * float(np.dot(c_data[sl], v[c_idx[sl]]))
    return out
