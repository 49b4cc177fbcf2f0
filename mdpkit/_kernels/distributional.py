"""Numba kernels for distributional dynamic programming (private): array in, array out, no validation.

The transition structure of a policy is passed as a flat list of *entries*, one per
``(s, a, s')`` with ``pi(a|s) P(s'|s, a) > 0``, grouped by ``s`` in CSR style:

``indptr (S+1,) int64``, ``nxt (E,) int64`` (next state), ``w (E,) float64``
(``pi(a|s) P(s'|s, a)``), ``rew (E,) float64`` (realised reward ``r(s, a, s')``).

The same arrays serve dense and sparse models (built in Python from either storage form).
Control kernels take the same arrays per state-action row ``s*A + a`` (``sa_indptr (S*A+1,)``,
built by :func:`mdpkit.solvers.distributional.state_action_entries`) and pick, per state, the
action whose projected law has the largest mean (ties to the lowest index).
The plain-numpy twins are in ``mdpkit/_reference_distributional.py``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .bellman import N_CHUNKS

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


# ============================================================================ fast sweeps
# Performance notes (measured on a 2-core machine, Garnet S=1000, A=4, b=10, K=m=51):
#
# * categorical: entries of one row with the *same reward* are mixed first
#   (``mix = sum_e w_e eta[s'_e]``, a vectorisable axpy over K atoms) and the mixture is projected
#   once, instead of projecting every (entry, atom) pair.  With rewards R[s, a] (no R_sas) that is
#   one projection of K atoms per state-action pair instead of b*K.  Equal rewards are grouped
#   only when consecutive (entries are ordered by (s, a, s')); the result is the same
#   mathematically, only the floating-point summation order changes.  On an evenly spaced support
#   the cell of r + gamma z_j is found from its fractional position t0 + j*gamma (no search).
# * quantile: the target atoms of a row are b sorted runs of m atoms (r + gamma theta[s'] is
#   sorted because gamma >= 0); they are merged bottom-up (log2(b) linear passes between two
#   scratch buffers) instead of argsort, which allocated and cost O(bm log(bm)).
# * sweeps above PAR_MIN_WORK_CAT / PAR_MIN_WORK_QUANT (entries x atoms) run over N_CHUNKS fixed blocks of rows
#   with prange, each block with its own scratch row; every row is computed by the same serial
#   code, so results are bitwise independent of the number of threads.  Residuals are max
#   reductions (exact).

#: Categorical sweeps touching at least this many (entry, atom) pairs run in parallel over state
#: blocks.  After mixing, a pair costs one multiply-add, so a Garnet(1000, 4, 10) sweep with
#: K = 51 (510,000 pairs) takes ~0.4 ms serially; with other processes on the cores its parallel
#: version was 19x *slower* (7 ms), hence the high threshold (~3 ms of serial work).
PAR_MIN_WORK_CAT = 1 << 22
#: Quantile sweeps (a few merge steps per atom, ~30 ns) go parallel from this many (entry, atom)
#: pairs (~30 ms of serial work; below it the parallel path did not pay on a shared 2-core machine).
PAR_MIN_WORK_QUANT = 1 << 20


@njit(cache=True, inline="always")
def _project_shifted(r, gamma, z, inv_dz, mix, out, row):
    """Add the Cramer projection of ``sum_j mix[j] delta_{r + gamma z_j}`` to ``out[row]``."""
    K = z.shape[0]
    if inv_dz > 0.0:
        t0 = (r + gamma * z[0] - z[0]) * inv_dz
        last = K - 1
        for j in range(K):
            m = mix[j]
            if m == 0.0:
                continue
            t = t0 + j * gamma
            if t <= 0.0:
                out[row, 0] += m
            elif t >= last:
                out[row, last] += m
            else:
                i = int(t)
                if i > last - 1:
                    i = last - 1
                frac = t - i
                out[row, i] += m * (1.0 - frac)
                out[row, i + 1] += m * frac
    else:
        for j in range(K):
            m = mix[j]
            if m != 0.0:
                _project_one(r + gamma * z[j], m, z, inv_dz, out, row)


@njit(cache=True)
def _categorical_row(lo, hi, nxt, w, rew, z, gamma, inv_dz, eta, mix, out, row):
    """``out[row] = Pi_C`` of the mixture of entries ``lo:hi`` (``mix`` is a scratch of length K)."""
    K = z.shape[0]
    for k in range(K):
        out[row, k] = 0.0
    e = lo
    while e < hi:
        r = rew[e]
        for k in range(K):
            mix[k] = 0.0
        while e < hi and rew[e] == r:
            we = w[e]
            sp = nxt[e]
            for k in range(K):
                mix[k] += we * eta[sp, k]
            e += 1
        _project_shifted(r, gamma, z, inv_dz, mix, out, row)


@njit(cache=True)
def _categorical_block(lo_s, hi_s, indptr, nxt, w, rew, z, gamma, inv_dz, eta, mix, out):
    for s in range(lo_s, hi_s):
        _categorical_row(indptr[s], indptr[s + 1], nxt, w, rew, z, gamma, inv_dz, eta, mix, out, s)


@njit(cache=True, parallel=True)
def _categorical_sweep_par(indptr, nxt, w, rew, z, gamma, inv_dz, eta, mix, out):
    S = indptr.shape[0] - 1
    for c in prange(N_CHUNKS):
        _categorical_block(c * S // N_CHUNKS, (c + 1) * S // N_CHUNKS, indptr, nxt, w, rew, z, gamma,
                           inv_dz, eta, mix[c], out)


@njit(cache=True)
def categorical_sweep(indptr, nxt, w, rew, z, gamma, inv_dz, eta, mix, out):
    """``out = Pi_C T^pi eta`` over all rows; ``mix (N_CHUNKS, K)`` scratch; parallel when large."""
    if nxt.shape[0] * z.shape[0] >= PAR_MIN_WORK_CAT:
        _categorical_sweep_par(indptr, nxt, w, rew, z, gamma, inv_dz, eta, mix, out)
    else:
        _categorical_block(0, indptr.shape[0] - 1, indptr, nxt, w, rew, z, gamma, inv_dz, eta, mix[0], out)


@njit(cache=True)
def _merge_runs(src_y, src_m, dst_y, dst_m, lo, mid, hi):
    """Merge the sorted runs ``src[lo:mid]`` and ``src[mid:hi]`` into ``dst[lo:hi]`` (left first on ties)."""
    i, j, k = lo, mid, lo
    while i < mid and j < hi:
        if src_y[j] < src_y[i]:
            dst_y[k] = src_y[j]
            dst_m[k] = src_m[j]
            j += 1
        else:
            dst_y[k] = src_y[i]
            dst_m[k] = src_m[i]
            i += 1
        k += 1
    while i < mid:
        dst_y[k] = src_y[i]
        dst_m[k] = src_m[i]
        i += 1
        k += 1
    while j < hi:
        dst_y[k] = src_y[j]
        dst_m[k] = src_m[j]
        j += 1
        k += 1


@njit(cache=True)
def _quantile_row(lo, hi, nxt, w, rew, gamma, theta, ys, ms, ys2, ms2, out, row):
    """``out[row] = Pi_Q`` of the mixture of entries ``lo:hi``; ys, ms, ys2, ms2 scratch >= (hi-lo)*m."""
    m = theta.shape[1]
    cnt = 0
    for e in range(lo, hi):
        sp = nxt[e]
        we = w[e] / m
        r = rew[e]
        for j in range(m):
            ys[cnt] = r + gamma * theta[sp, j]
            ms[cnt] = we
            cnt += 1
    src_y, src_m, dst_y, dst_m = ys, ms, ys2, ms2
    run = m
    while run < cnt:
        a = 0
        while a < cnt:
            mid = min(a + run, cnt)
            b = min(a + 2 * run, cnt)
            _merge_runs(src_y, src_m, dst_y, dst_m, a, mid, b)
            a = b
        src_y, dst_y = dst_y, src_y
        src_m, dst_m = dst_m, src_m
        run *= 2
    cum = 0.0
    i = 0
    level = 1.0 / (2.0 * m) - QUANTILE_LEVEL_ATOL  # threshold of level tau_i, i = 0
    for t in range(cnt):
        cum += src_m[t]
        while cum >= level:
            out[row, i] = src_y[t]
            i += 1
            if i == m:
                return
            level = (2.0 * i + 1.0) / (2.0 * m) - QUANTILE_LEVEL_ATOL
    while i < m:  # only reachable through rounding of the total mass
        out[row, i] = src_y[cnt - 1]
        i += 1


@njit(cache=True)
def _quantile_block(lo_s, hi_s, indptr, nxt, w, rew, gamma, theta, scratch, out):
    for s in range(lo_s, hi_s):
        _quantile_row(indptr[s], indptr[s + 1], nxt, w, rew, gamma, theta, scratch[0], scratch[1],
                      scratch[2], scratch[3], out, s)


@njit(cache=True, parallel=True)
def _quantile_sweep_par(indptr, nxt, w, rew, gamma, theta, scratch, out):
    S = indptr.shape[0] - 1
    for c in prange(N_CHUNKS):
        _quantile_block(c * S // N_CHUNKS, (c + 1) * S // N_CHUNKS, indptr, nxt, w, rew, gamma, theta, scratch[c], out)


@njit(cache=True)
def quantile_sweep(indptr, nxt, w, rew, gamma, theta, scratch, out):
    """``out = Pi_Q T^pi theta`` over all rows; ``scratch (N_CHUNKS, 4, n_max)``; parallel when large."""
    if nxt.shape[0] * theta.shape[1] >= PAR_MIN_WORK_QUANT:
        _quantile_sweep_par(indptr, nxt, w, rew, gamma, theta, scratch, out)
    else:
        _quantile_block(0, indptr.shape[0] - 1, indptr, nxt, w, rew, gamma, theta, scratch[0], out)


# ============================================================================ evaluation loops
@njit(cache=True)
def categorical_evaluation_loop(indptr, nxt, w, rew, z, gamma, eta, buf, mix, tol, max_iter, residuals):
    """Iterate ``eta <- Pi_C T^pi eta`` until ``sup_s l2(eta_k, eta_{k-1}) <= tol``.

    ``eta`` (S, K) holds the start on entry and the last iterate on return (``buf`` is scratch of
    the same shape, ``mix (N_CHUNKS, K)`` scratch); ``residuals (max_iter,)`` receives the
    sup-Cramer step sizes.  Returns the number of iterations.
    """
    S, K = eta.shape
    inv_dz = uniform_inverse_step(z)
    n = 0
    while n < max_iter:
        categorical_sweep(indptr, nxt, w, rew, z, gamma, inv_dz, eta, mix, buf)
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
def quantile_evaluation_loop(indptr, nxt, w, rew, gamma, theta, buf, scratch, tol, max_iter, residuals):
    """Iterate ``theta <- Pi_Q T^pi theta`` until ``max_{s,i} |theta_k - theta_{k-1}| <= tol``.

    The step ``max_{s,i}|.|`` is the sup-w_inf distance between the iterates (sorted atoms of equal
    mass).  ``scratch (N_CHUNKS, 4, n_max)``.  Returns the number of iterations; ``theta`` holds
    the last iterate.
    """
    S, m = theta.shape
    n = 0
    while n < max_iter:
        quantile_sweep(indptr, nxt, w, rew, gamma, theta, scratch, buf)
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


# ============================================================================ control
# State-action entries: ``sa_indptr (S*A+1,)`` indexes rows ``s*A + a`` (entries of masked rows are
# absent); ``mask (S*A,)`` bool.  ``eta_sa`` / ``theta_sa`` are (S*A, K) and rows of masked actions
# are never written (the caller fills them).  Greedy: the largest mean, ties to the lowest action.
@njit(cache=True)
def _categorical_control_block(lo_s, hi_s, A, sa_indptr, nxt, w, rew, mask, z, gamma, inv_dz, eta, mix, eta_sa,
                               q, pi, out):
    K = z.shape[0]
    for s in range(lo_s, hi_s):
        best = -np.inf
        ba = -1
        for a in range(A):
            row = s * A + a
            if not mask[row]:
                q[row] = -np.inf
                continue
            _categorical_row(sa_indptr[row], sa_indptr[row + 1], nxt, w, rew, z, gamma, inv_dz, eta, mix, eta_sa, row)
            acc = 0.0
            for k in range(K):
                acc += z[k] * eta_sa[row, k]
            q[row] = acc
            if ba < 0 or acc > best:
                best = acc
                ba = a
        pi[s] = ba
        r0 = s * A + ba
        for k in range(K):
            out[s, k] = eta_sa[r0, k]


@njit(cache=True, parallel=True)
def _categorical_control_par(A, sa_indptr, nxt, w, rew, mask, z, gamma, inv_dz, eta, mix, eta_sa, q, pi, out):
    S = eta.shape[0]
    for c in prange(N_CHUNKS):
        _categorical_control_block(c * S // N_CHUNKS, (c + 1) * S // N_CHUNKS, A, sa_indptr, nxt, w, rew, mask, z,
                                   gamma, inv_dz, eta, mix[c], eta_sa, q, pi, out)


@njit(cache=True)
def categorical_control_sweep(A, sa_indptr, nxt, w, rew, mask, z, gamma, inv_dz, eta, mix, eta_sa, q, pi, out):
    """State-action laws ``eta_sa = Pi_C T eta`` (S*A, K), their means ``q``, the greedy ``pi``, and
    ``out[s] = eta_sa[s, pi[s]]``: one application of the categorical optimality operator."""
    if nxt.shape[0] * z.shape[0] >= PAR_MIN_WORK_CAT:
        _categorical_control_par(A, sa_indptr, nxt, w, rew, mask, z, gamma, inv_dz, eta, mix, eta_sa, q, pi, out)
    else:
        _categorical_control_block(0, eta.shape[0], A, sa_indptr, nxt, w, rew, mask, z, gamma, inv_dz, eta, mix[0],
                                   eta_sa, q, pi, out)


@njit(cache=True)
def _quantile_control_block(lo_s, hi_s, A, sa_indptr, nxt, w, rew, mask, gamma, theta, scratch, theta_sa, q, pi, out):
    m = theta.shape[1]
    for s in range(lo_s, hi_s):
        best = -np.inf
        ba = -1
        for a in range(A):
            row = s * A + a
            if not mask[row]:
                q[row] = -np.inf
                continue
            _quantile_row(sa_indptr[row], sa_indptr[row + 1], nxt, w, rew, gamma, theta, scratch[0], scratch[1],
                          scratch[2], scratch[3], theta_sa, row)
            acc = 0.0
            for i in range(m):
                acc += theta_sa[row, i]
            acc /= m
            q[row] = acc
            if ba < 0 or acc > best:
                best = acc
                ba = a
        pi[s] = ba
        r0 = s * A + ba
        for i in range(m):
            out[s, i] = theta_sa[r0, i]


@njit(cache=True, parallel=True)
def _quantile_control_par(A, sa_indptr, nxt, w, rew, mask, gamma, theta, scratch, theta_sa, q, pi, out):
    S = theta.shape[0]
    for c in prange(N_CHUNKS):
        _quantile_control_block(c * S // N_CHUNKS, (c + 1) * S // N_CHUNKS, A, sa_indptr, nxt, w, rew, mask, gamma,
                                theta, scratch[c], theta_sa, q, pi, out)


@njit(cache=True)
def quantile_control_sweep(A, sa_indptr, nxt, w, rew, mask, gamma, theta, scratch, theta_sa, q, pi, out):
    """Quantile twin of :func:`categorical_control_sweep` (``q`` = mean of the m atoms)."""
    if nxt.shape[0] * theta.shape[1] >= PAR_MIN_WORK_QUANT:
        _quantile_control_par(A, sa_indptr, nxt, w, rew, mask, gamma, theta, scratch, theta_sa, q, pi, out)
    else:
        _quantile_control_block(0, theta.shape[0], A, sa_indptr, nxt, w, rew, mask, gamma, theta, scratch[0],
                                theta_sa, q, pi, out)


@njit(cache=True)
def _mean_step(A, q, pi, v, v_new, dmm):
    """``v_new[s] = q[s, pi[s]]``; ``dmm = (min, max)`` of ``v_new - v``; returns ``max|v_new - v|``."""
    dmin = np.inf
    dmax = -np.inf
    for s in range(v.shape[0]):
        v_new[s] = q[s * A + pi[s]]
        d = v_new[s] - v[s]
        if d < dmin:
            dmin = d
        if d > dmax:
            dmax = d
    dmm[0] = dmin
    dmm[1] = dmax
    return max(abs(dmin), abs(dmax))


@njit(cache=True)
def categorical_value_iteration_loop(A, sa_indptr, nxt, w, rew, mask, z, gamma, eta, buf, mix, eta_sa, q, pi, v, v_new,
                                     tol, max_iter, residuals, spans, dmm, pis):
    """Categorical distributional VI: ``eta_{k+1}(s) = eta_sa_k(s, pi_k(s))`` with ``pi_k`` greedy for the means.

    Stops when ``max|v_{k+1} - v_k| < tol`` (``v_k`` = means of ``eta_k``, given in ``v`` on entry).
    On return ``eta``/``v`` hold ``eta_k``/``v_k``, ``buf``/``v_new`` hold ``eta_{k+1}``/``v_{k+1}``,
    ``pi``, ``q`` and ``eta_sa`` belong to the last sweep and ``dmm`` holds min/max of
    ``v_{k+1} - v_k``; ``pis (max_iter,)`` counts greedy-policy changes per sweep.  Returns n_iter.
    """
    S, K = eta.shape
    inv_dz = uniform_inverse_step(z)
    prev = np.empty(S, dtype=np.int64)
    n = 0
    while True:
        for s in range(S):
            prev[s] = pi[s]
        categorical_control_sweep(A, sa_indptr, nxt, w, rew, mask, z, gamma, inv_dz, eta, mix, eta_sa, q, pi, buf)
        res = _mean_step(A, q, pi, v, v_new, dmm)
        changes = 0
        for s in range(S):
            if pi[s] != prev[s]:
                changes += 1
        pis[n] = changes
        residuals[n] = res
        spans[n] = dmm[1] - dmm[0]
        n += 1
        if res < tol or n >= max_iter:
            break
        for s in range(S):
            v[s] = v_new[s]
            for k in range(K):
                eta[s, k] = buf[s, k]
    return n


@njit(cache=True)
def quantile_value_iteration_loop(A, sa_indptr, nxt, w, rew, mask, gamma, theta, buf, scratch, theta_sa, q, pi, v,
                                  v_new, tol, max_iter, residuals, steps, dmm, pis):
    """Quantile distributional VI (greedy for the means of the quantile state-action laws).

    Stops when the greedy policy did not change in the sweep and the sup-w_inf step
    ``max_{s,i}|theta_{k+1} - theta_k|`` is ``< tol`` (no convergence theorem: see the solver).
    ``residuals`` gets the sup-w_inf steps, ``steps`` the sup-norm change of the means.  Buffers
    as in :func:`categorical_value_iteration_loop`.  Returns n_iter.
    """
    S, m = theta.shape
    prev = np.empty(S, dtype=np.int64)
    n = 0
    while True:
        for s in range(S):
            prev[s] = pi[s]
        quantile_control_sweep(A, sa_indptr, nxt, w, rew, mask, gamma, theta, scratch, theta_sa, q, pi, buf)
        steps[n] = _mean_step(A, q, pi, v, v_new, dmm)
        d = 0.0
        changes = 0
        for s in range(S):
            if pi[s] != prev[s]:
                changes += 1
            for i in range(m):
                x = abs(buf[s, i] - theta[s, i])
                if x > d:
                    d = x
        pis[n] = changes
        residuals[n] = d
        n += 1
        if (d < tol and changes == 0) or n >= max_iter:
            break
        for s in range(S):
            v[s] = v_new[s]
            for i in range(m):
                theta[s, i] = buf[s, i]
    return n


# ============================================================================ one-off sweeps
def categorical_backup(indptr, nxt, w, rew, z, gamma, eta, out):
    """One application of the projected operator: ``out = Pi_C T^pi eta``; eta, out (S, K)."""
    mix = np.empty((N_CHUNKS, z.shape[0]))
    categorical_sweep(indptr, nxt, w, rew, z, gamma, uniform_inverse_step(z), eta, mix, out)


def quantile_scratch(indptr, m):
    """Scratch ``(N_CHUNKS, 4, max entries per row * m)`` for the quantile sweeps."""
    n_max = max(int(np.max(np.diff(indptr))) if indptr.shape[0] > 1 else 1, 1) * m
    return np.empty((N_CHUNKS, 4, n_max))


def quantile_backup(indptr, nxt, w, rew, gamma, theta, out):
    """``out = Pi_Q T^pi theta``; theta, out (S, m)."""
    quantile_sweep(indptr, nxt, w, rew, gamma, theta, quantile_scratch(indptr, theta.shape[1]), out)
