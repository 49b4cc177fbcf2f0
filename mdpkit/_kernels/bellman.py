"""Numba kernels for Bellman backups and the DP loops built on them.

Conventions (see DESIGN.md "Kernels"): raw float64/int64 C-contiguous arrays in, preallocated
outputs, no validation, no defaults.  The transition matrix arrives in both forms at once:
``sparse`` selects dense rows ``P2 (S*A, S)`` or CSR ``(indptr, indices, data)``; the unused
form is a dummy array.  Row ``s*A + a`` holds ``P[s, a, :]``.  Argmax ties go to the lowest action
index (strict ``>``).  Masked actions (``mask[s*A + a] == False``) are skipped.
"""

import numpy as np
from numba import njit

NEG_INF = -np.inf


@njit(cache=True, inline="always")
def _row_dot(sparse, P2, indptr, indices, data, i, v):
    """sum_s' P[i, s'] v[s'] for one state-action row ``i``."""
    if sparse:
        acc = 0.0
        for k in range(indptr[i], indptr[i + 1]):
            acc += data[k] * v[indices[k]]
        return acc
    n = P2.shape[1]
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    a3 = 0.0
    j = 0
    # four independent accumulators break the floating-point dependency chain
    while j + 4 <= n:
        a0 += P2[i, j] * v[j]
        a1 += P2[i, j + 1] * v[j + 1]
        a2 += P2[i, j + 2] * v[j + 2]
        a3 += P2[i, j + 3] * v[j + 3]
        j += 4
    while j < n:
        a0 += P2[i, j] * v[j]
        j += 1
    return (a0 + a1) + (a2 + a3)


@njit(cache=True)
def bellman_q(sparse, P2, indptr, indices, data, R1, gamma, v, q_out):
    """q_out[s*A + a] = R[s, a] + gamma * sum_s' P[s, a, s'] v[s'] for every row."""
    for i in range(R1.shape[0]):
        q_out[i] = R1[i] + gamma * _row_dot(sparse, P2, indptr, indices, data, i, v)


@njit(cache=True)
def greedy_max(q, mask1, S, A, v_out, pi_out):
    """v_out[s] = max_a q[s, a] over available actions; pi_out the lowest maximiser."""
    for s in range(S):
        best = NEG_INF
        arg = -1
        for a in range(A):
            i = s * A + a
            if mask1[i] and (arg < 0 or q[i] > best):
                best = q[i]
                arg = a
        v_out[s] = best
        pi_out[s] = arg


@njit(cache=True)
def policy_backup(sparse, P2, indptr, indices, data, R1, gamma, pi, A, v, v_out):
    """v_out[s] = R[s, pi[s]] + gamma * sum_s' P[s, pi[s], s'] v[s'] (deterministic pi)."""
    for s in range(v.shape[0]):
        i = s * A + pi[s]
        v_out[s] = R1[i] + gamma * _row_dot(sparse, P2, indptr, indices, data, i, v)


@njit(cache=True)
def value_iteration_loop(
    sparse, P2, indptr, indices, data, R1, mask1, S, A, gamma, v, tol, use_span, max_iter,
    q, v_new, pi_out, residuals, spans, dminmax
):
    """Jacobi value iteration v_{k+1} = T v_k, in place on ``v``.

    Stops after the first iteration whose difference d = v_{k+1} - v_k has
    ``span(d) < tol`` (``use_span``) or ``max|d| < tol``.  On return ``v`` holds the last iterate
    v_{n}, ``pi_out`` the greedy policy of v_{n-1} (so T_pi v_{n-1} = v_n), ``dminmax`` the
    min and max of the last d, ``residuals``/``spans`` the per-iteration max|d| and span(d).
    Returns ``(n_iter, converged)``.
    """
    n = 0
    converged = False
    while n < max_iter:
        bellman_q(sparse, P2, indptr, indices, data, R1, gamma, v, q)
        greedy_max(q, mask1, S, A, v_new, pi_out)
        dmin = np.inf
        dmax = -np.inf
        res = 0.0
        for s in range(S):
            d = v_new[s] - v[s]
            if d < dmin:
                dmin = d
            if d > dmax:
                dmax = d
            ad = abs(d)
            if ad > res:
                res = ad
            v[s] = v_new[s]
        residuals[n] = res
        spans[n] = dmax - dmin
        dminmax[0] = dmin
        dminmax[1] = dmax
        n += 1
        crit = dmax - dmin if use_span else res
        if crit < tol:
            converged = True
            break
    return n, converged


@njit(cache=True)
def gauss_seidel_loop(sparse, P2, indptr, indices, data, R1, mask1, S, A, gamma, v, tol, max_iter, residuals):
    """Gauss-Seidel value iteration: states updated in order 0..S-1, in place on ``v``.

    Each state's backup uses the values already updated in the same sweep.  Stops after the
    first sweep whose max change is below ``tol``.  Returns ``(n_iter, converged)``.
    """
    n = 0
    converged = False
    while n < max_iter:
        res = 0.0
        for s in range(S):
            best = NEG_INF
            found = False
            for a in range(A):
                i = s * A + a
                if mask1[i]:
                    val = R1[i] + gamma * _row_dot(sparse, P2, indptr, indices, data, i, v)
                    if not found or val > best:
                        best = val
                        found = True
            d = abs(best - v[s])
            if d > res:
                res = d
            v[s] = best
        residuals[n] = res
        n += 1
        if res < tol:
            converged = True
            break
    return n, converged


@njit(cache=True)
def modified_policy_iteration_loop(
    sparse, P2, indptr, indices, data, R1, mask1, S, A, gamma, v, tol, m, max_iter,
    q, v_new, pi_out, residuals, spans, dminmax
):
    """Modified policy iteration (Puterman 1994, Sec. 6.5), in place on ``v``.

    Each iteration is one improvement sweep u = T v (greedy pi) followed by ``m`` partial
    evaluation sweeps u <- T_pi u.  The stopping test is applied to d = T v - v at the
    improvement step: ``span(d) < tol``; then ``pi_out`` is greedy for ``v``, ``dminmax`` holds
    min/max of d and ``v`` is left equal to T v.  Returns ``(n_iter, converged)``.
    """
    n = 0
    converged = False
    while n < max_iter:
        bellman_q(sparse, P2, indptr, indices, data, R1, gamma, v, q)
        greedy_max(q, mask1, S, A, v_new, pi_out)
        dmin = np.inf
        dmax = -np.inf
        res = 0.0
        for s in range(S):
            d = v_new[s] - v[s]
            if d < dmin:
                dmin = d
            if d > dmax:
                dmax = d
            if abs(d) > res:
                res = abs(d)
            v[s] = v_new[s]
        residuals[n] = res
        spans[n] = dmax - dmin
        dminmax[0] = dmin
        dminmax[1] = dmax
        n += 1
        if dmax - dmin < tol:
            converged = True
            break
        for _ in range(m):
            policy_backup(sparse, P2, indptr, indices, data, R1, gamma, pi_out, A, v, v_new)
            for s in range(S):
                v[s] = v_new[s]
    return n, converged


@njit(cache=True)
def relative_value_iteration_loop(
    sparse, P2, indptr, indices, data, R1, mask1, S, A, tau, ref, v, tol, max_iter,
    q, v_new, pi_out, spans, dminmax
):
    """Relative value iteration on the aperiodicity-transformed model (Puterman 1994, Sec. 8.5.5).

    The transformed kernel is ``tau * P + (1 - tau) * I`` with unchanged rewards, so
    (T v)(s) = max_a R[s, a] + tau * P[s, a] . v + (1 - tau) * v[s].  After each backup the
    value at state ``ref`` is subtracted.  Stops when span(T v - v) < tol; ``dminmax`` then
    holds min and max of T v - v (they bracket the optimal gain) and ``pi_out`` is greedy for
    ``v``.  Returns ``(n_iter, converged)``.
    """
    n = 0
    converged = False
    while n < max_iter:
        bellman_q(sparse, P2, indptr, indices, data, R1, tau, v, q)
        for s in range(S):
            for a in range(A):
                q[s * A + a] += (1.0 - tau) * v[s]
        greedy_max(q, mask1, S, A, v_new, pi_out)
        dmin = np.inf
        dmax = -np.inf
        for s in range(S):
            d = v_new[s] - v[s]
            if d < dmin:
                dmin = d
            if d > dmax:
                dmax = d
        spans[n] = dmax - dmin
        dminmax[0] = dmin
        dminmax[1] = dmax
        n += 1
        if dmax - dmin < tol:
            converged = True
            break
        off = v_new[ref]
        for s in range(S):
            v[s] = v_new[s] - off
    return n, converged
