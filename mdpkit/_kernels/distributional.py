"""Numba kernels for distributional dynamic programming (private): array in, array out, no validation.

The transition structure of a policy is passed as a flat list of *entries*, one per
``(s, a, s')`` with ``pi(a|s) P(s'|s, a) > 0``, grouped by ``s`` in CSR style:

``indptr (S+1,) int64``, ``nxt (E,) int64`` (next state), ``w (E,) float64``
(``pi(a|s) P(s'|s, a)``), ``rew (E,) float64`` (realised reward ``r(s, a, s')``).

The same arrays serve dense and sparse models (built in Python from either storage form).
The plain-numpy twins are in ``mdpkit/_reference_distributional.py``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Quantile levels are compared as ``cum >= tau - QUANTILE_LEVEL_ATOL`` so that a cumulative mass
#: equal to ``tau`` up to rounding selects the lower atom (any point between the two atoms is
#: W1-optimal there; this fixes one).
QUANTILE_LEVEL_ATOL = 1e-12


@njit(cache=True)
def _cell(y, z, inv_dz):
    """Index ``i`` with ``z[i] <= y < z[i+1]`` for ``z[0] < y < z[-1]``.

    ``inv_dz > 0`` means the support is evenly spaced with step ``1/inv_dz``: the index is computed
    directly and then corrected by at most a step for rounding; otherwise binary search.
    """
    K = z.shape[0]
    if inv_dz > 0.0:
        i = int((y - z[0]) * inv_dz)
        if i > K - 2:
            i = K - 2
        if i < 0:
            i = 0
        while i > 0 and y < z[i]:
            i -= 1
        while i < K - 2 and y >= z[i + 1]:
            i += 1
        return i
    return np.searchsorted(z, y, side="right") - 1


@njit(cache=True)
def _project_one(y, mass, z, inv_dz, out, row):
    """Add ``mass`` at location ``y`` to ``out[row]`` by the categorical (Cramer) projection."""
    K = z.shape[0]
    if y <= z[0]:
        out[row, 0] += mass
    elif y >= z[K - 1]:
        out[row, K - 1] += mass
    else:
        i = _cell(y, z, inv_dz)
        frac = (y - z[i]) / (z[i + 1] - z[i])
        out[row, i] += mass * (1.0 - frac)
        out[row, i + 1] += mass * frac


@njit(cache=True)
def uniform_inverse_step(z):
    """``1/step`` when ``z`` is evenly spaced (relative deviation <= 1e-12), else 0."""
    K = z.shape[0]
    if K < 2:
        return 0.0
    dz = (z[K - 1] - z[0]) / (K - 1)
    for i in range(K - 1):
        if abs((z[i + 1] - z[i]) - dz) > 1e-12 * dz:
            return 0.0
    return 1.0 / dz


@njit(cache=True)
def categorical_project(x, p, z, out):
    """Project rows of atoms ``x (B, n)`` with masses ``p (B, n)`` onto the support ``z (K,)``.

    ``out (B, K)`` is overwritten.  Mass outside ``[z[0], z[-1]]`` goes to the nearest end.
    """
    B, n = x.shape
    inv_dz = uniform_inverse_step(z)
    for b in range(B):
        for k in range(z.shape[0]):
            out[b, k] = 0.0
        for j in range(n):
            if p[b, j] != 0.0:
                _project_one(x[b, j], p[b, j], z, inv_dz, out, b)


@njit(cache=True)
def categorical_backup(indptr, nxt, w, rew, z, gamma, eta, out):
    """One application of the projected operator: ``out = Pi_C T^pi eta``; eta, out (S, K)."""
    S = indptr.shape[0] - 1
    K = z.shape[0]
    inv_dz = uniform_inverse_step(z)
    for s in range(S):
        for k in range(K):
            out[s, k] = 0.0
        for e in range(indptr[s], indptr[s + 1]):
            sp = nxt[e]
            we = w[e]
            r = rew[e]
            for j in range(K):
                m = we * eta[sp, j]
                if m != 0.0:
                    _project_one(r + gamma * z[j], m, z, inv_dz, out, s)


@njit(cache=True)
def sup_cramer_same_support(p1, p2, z):
    """``max_s l2(p1[s], p2[s])`` for categorical rows on the common support ``z``."""
    S, K = p1.shape
    best = 0.0
    for s in range(S):
        c1 = 0.0
        c2 = 0.0
        acc = 0.0
        for k in range(K - 1):
            c1 += p1[s, k]
            c2 += p2[s, k]
            d = c1 - c2
            acc += d * d * (z[k + 1] - z[k])
        if acc > best:
            best = acc
    return np.sqrt(best)


@njit(cache=True)
def categorical_evaluation_loop(indptr, nxt, w, rew, z, gamma, eta, buf, tol, max_iter, residuals):
    """Iterate ``eta <- Pi_C T^pi eta`` until ``sup_s l2(eta_k, eta_{k-1}) <= tol``.

    ``eta`` (S, K) holds the start on entry and the last iterate on return (``buf`` is scratch of
    the same shape); ``residuals (max_iter,)`` receives the sup-Cramer step sizes.  Returns the
    number of iterations.
    """
    S, K = eta.shape
    n = 0
    while n < max_iter:
        categorical_backup(indptr, nxt, w, rew, z, gamma, eta, buf)
        d = sup_cramer_same_support(buf, eta, z)
        for s in range(S):
            for k in range(K):
                eta[s, k] = buf[s, k]
        residuals[n] = d
        n += 1
        if d <= tol:
            break
    return n


@njit(cache=True)
def quantile_backup(indptr, nxt, w, rew, gamma, theta, out, ys, ms):
    """``out = Pi_Q T^pi theta``; theta, out (S, m); ys, ms scratch of length >= max entries*m.

    The new atom ``i`` is the smallest target atom whose cumulative mass reaches
    ``tau_i = (2i+1)/(2m)`` (0-based ``i``), i.e. the generalised inverse CDF at ``tau_i``.
    """
    S, m = theta.shape
    for s in range(S):
        cnt = 0
        for e in range(indptr[s], indptr[s + 1]):
            sp = nxt[e]
            we = w[e] / m
            r = rew[e]
            for j in range(m):
                ys[cnt] = r + gamma * theta[sp, j]
                ms[cnt] = we
                cnt += 1
        order = np.argsort(ys[:cnt])  # ties hold equal values, so order among them is irrelevant
        cum = 0.0
        i = 0
        for t in range(cnt):
            k = order[t]
            cum += ms[k]
            while i < m and cum >= (2.0 * i + 1.0) / (2.0 * m) - QUANTILE_LEVEL_ATOL:
                out[s, i] = ys[k]
                i += 1
            if i == m:
                break
        while i < m:  # only reachable through rounding of the total mass
            out[s, i] = ys[order[cnt - 1]]
            i += 1


@njit(cache=True)
def quantile_evaluation_loop(indptr, nxt, w, rew, gamma, theta, buf, ys, ms, tol, max_iter, residuals):
    """Iterate ``theta <- Pi_Q T^pi theta`` until ``max_{s,i} |theta_k - theta_{k-1}| <= tol``.

    The step ``max_{s,i}|.|`` is the sup-w_inf distance between the iterates (sorted atoms of equal
    mass).  Returns the number of iterations; ``theta`` holds the last iterate.
    """
    S, m = theta.shape
    n = 0
    while n < max_iter:
        quantile_backup(indptr, nxt, w, rew, gamma, theta, buf, ys, ms)
        d = 0.0
        for s in range(S):
            for i in range(m):
                x = abs(buf[s, i] - theta[s, i])
                if x > d:
                    d = x
                theta[s, i] = buf[s, i]
        residuals[n] = d
        n += 1
        if d <= tol:
            break
    return n
