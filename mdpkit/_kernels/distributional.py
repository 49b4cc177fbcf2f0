"""Numba kernels for distributional dynamic programming (private): array in, array out, no validation.

The transition structure of a policy is passed as a flat list of *entries*, one per
``(s, a, s')`` with ``pi(a|s) P(s'|s, a) > 0``, grouped by ``s`` in CSR style:

``indptr (S+1,) int64``, ``nxt (E,) int64`` (next state), ``w (E,) float64``
(``pi(a|s) P(s'|s, a)``), ``rew (E,) float64`` (realised reward ``r(s, a, s')``).

The same arrays serve dense and sparse models (built in Python from either storage form).  The
kernels take them as one tuple ``ent = (indptr, nxt, w, rew)`` built by :func:`entries`.

One type signature per kernel (DESIGN.md, Kernels): every array is normalised at the Python
boundary.  *Inputs* (entries, the support ``z``, the action mask) are read-only C-contiguous
int64/float64/bool arrays (:func:`entries`, :func:`ro`); *state and outputs* (iterates, scratch,
``out`` buffers) are writable C-contiguous float64/int64 arrays owned by the caller (:func:`wr`
makes a writable copy of user data).  Scalars are Python ``float``/``int``.
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
def _categorical_row(lo, hi, ent, z, gamma, inv_dz, eta, mix, out, row):
    """``out[row] = Pi_C`` of the mixture of entries ``lo:hi`` (``mix`` is a scratch of length K)."""
    _, nxt, w, rew = ent
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
def _categorical_block(lo_s, hi_s, ent, z, gamma, inv_dz, eta, mix, out):
    indptr = ent[0]
    for s in range(lo_s, hi_s):
        _categorical_row(indptr[s], indptr[s + 1], ent, z, gamma, inv_dz, eta, mix, out, s)


@njit(cache=True, parallel=True)
def _categorical_sweep_par(ent, z, gamma, inv_dz, eta, mix, out):
    S = ent[0].shape[0] - 1
    for c in prange(N_CHUNKS):
        _categorical_block(c * S // N_CHUNKS, (c + 1) * S // N_CHUNKS, ent, z, gamma, inv_dz, eta, mix[c], out)


@njit(cache=True)
def categorical_sweep(ent, z, gamma, inv_dz, eta, mix, out):
    """``out = Pi_C T^pi eta`` over all rows; ``mix (N_CHUNKS, K)`` scratch; parallel when large."""
    if ent[1].shape[0] * z.shape[0] >= PAR_MIN_WORK_CAT:
        _categorical_sweep_par(ent, z, gamma, inv_dz, eta, mix, out)
    else:
        _categorical_block(np.int64(0), ent[0].shape[0] - 1, ent, z, gamma, inv_dz, eta, mix[0], out)


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
def _quantile_row(lo, hi, ent, gamma, theta, scratch, out, row):
    """``out[row] = Pi_Q`` of the mixture of entries ``lo:hi``; ``scratch (4, n)``, n >= (hi-lo)*m."""
    _, nxt, w, rew = ent
    ys, ms, ys2, ms2 = scratch[0], scratch[1], scratch[2], scratch[3]
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
        a = np.int64(0)  # np.int64(0), not the literal 0 (typed Literal[int](0)): one signature per callee
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
def _quantile_block(lo_s, hi_s, ent, gamma, theta, scratch, out):
    indptr = ent[0]
    for s in range(lo_s, hi_s):
        _quantile_row(indptr[s], indptr[s + 1], ent, gamma, theta, scratch, out, s)


@njit(cache=True, parallel=True)
def _quantile_sweep_par(ent, gamma, theta, scratch, out):
    S = ent[0].shape[0] - 1
    for c in prange(N_CHUNKS):
        _quantile_block(c * S // N_CHUNKS, (c + 1) * S // N_CHUNKS, ent, gamma, theta, scratch[c], out)


@njit(cache=True)
def quantile_sweep(ent, gamma, theta, scratch, out):
    """``out = Pi_Q T^pi theta`` over all rows; ``scratch (N_CHUNKS, 4, n_max)``; parallel when large."""
    if ent[1].shape[0] * theta.shape[1] >= PAR_MIN_WORK_QUANT:
        _quantile_sweep_par(ent, gamma, theta, scratch, out)
    else:
        _quantile_block(np.int64(0), ent[0].shape[0] - 1, ent, gamma, theta, scratch[0], out)


# ============================================================================ evaluation loops
@njit(cache=True)
def categorical_evaluation_loop(ent, z, gamma, eta, work, tol, max_iter, residuals):
    """Iterate ``eta <- Pi_C T^pi eta`` until ``sup_s l2(eta_k, eta_{k-1}) <= tol``.

    ``eta`` (S, K) holds the start on entry and the last iterate on return; ``work = (buf, mix)``
    is scratch (``buf`` the shape of ``eta``, ``mix (N_CHUNKS, K)``); ``residuals (max_iter,)``
    receives the sup-Cramer step sizes.  Returns the number of iterations.
    """
    buf, mix = work
    S, K = eta.shape
    inv_dz = uniform_inverse_step(z)
    n = 0
    while n < max_iter:
        categorical_sweep(ent, z, gamma, inv_dz, eta, mix, buf)
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
def quantile_evaluation_loop(ent, gamma, theta, work, tol, max_iter, residuals):
    """Iterate ``theta <- Pi_Q T^pi theta`` until ``max_{s,i} |theta_k - theta_{k-1}| <= tol``.

    The step ``max_{s,i}|.|`` is the sup-w_inf distance between the iterates (sorted atoms of equal
    mass).  ``work = (buf, scratch)``, ``buf`` the shape of ``theta``, ``scratch (N_CHUNKS, 4,
    n_max)``.  Returns the number of iterations; ``theta`` holds the last iterate.
    """
    buf, scratch = work
    S, m = theta.shape
    n = 0
    while n < max_iter:
        quantile_sweep(ent, gamma, theta, scratch, buf)
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
# State-action entries: ``ent = (sa_indptr (S*A+1,), nxt, w, rew)`` indexes rows ``s*A + a``
# (entries of masked rows are absent); ``mask (S*A,)`` bool.  ``sa_out = (law_sa, q, pi)``:
# ``law_sa`` (S*A, K) or (S*A, m) state-action laws (rows of masked actions are never written: the
# caller fills them), ``q (S*A,)`` their means, ``pi (S,)`` int64 the greedy actions.  Greedy: the
# largest mean, ties to the lowest action.
@njit(cache=True)
def _categorical_control_block(lo_s, hi_s, A, ent, mask, z, gamma, inv_dz, eta, mix, sa_out, out):
    eta_sa, q, pi = sa_out
    sa_indptr = ent[0]
    K = z.shape[0]
    for s in range(lo_s, hi_s):
        best = -np.inf
        ba = -1
        for a in range(A):
            row = s * A + a
            if not mask[row]:
                q[row] = -np.inf
                continue
            _categorical_row(sa_indptr[row], sa_indptr[row + 1], ent, z, gamma, inv_dz, eta, mix, eta_sa, row)
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
def _categorical_control_par(A, ent, mask, z, gamma, inv_dz, eta, mix, sa_out, out):
    S = eta.shape[0]
    for c in prange(N_CHUNKS):
        _categorical_control_block(c * S // N_CHUNKS, (c + 1) * S // N_CHUNKS, A, ent, mask, z, gamma, inv_dz, eta,
                                   mix[c], sa_out, out)


@njit(cache=True)
def categorical_control_sweep(A, ent, mask, z, gamma, inv_dz, eta, mix, sa_out, out):
    """State-action laws ``eta_sa = Pi_C T eta`` (S*A, K), their means ``q``, the greedy ``pi`` (all
    in ``sa_out``), and ``out[s] = eta_sa[s, pi[s]]``: one application of the categorical
    optimality operator."""
    if ent[1].shape[0] * z.shape[0] >= PAR_MIN_WORK_CAT:
        _categorical_control_par(A, ent, mask, z, gamma, inv_dz, eta, mix, sa_out, out)
    else:
        _categorical_control_block(np.int64(0), eta.shape[0], A, ent, mask, z, gamma, inv_dz, eta, mix[0], sa_out, out)


@njit(cache=True)
def _quantile_control_block(lo_s, hi_s, A, ent, mask, gamma, theta, scratch, sa_out, out):
    theta_sa, q, pi = sa_out
    sa_indptr = ent[0]
    m = theta.shape[1]
    for s in range(lo_s, hi_s):
        best = -np.inf
        ba = -1
        for a in range(A):
            row = s * A + a
            if not mask[row]:
                q[row] = -np.inf
                continue
            _quantile_row(sa_indptr[row], sa_indptr[row + 1], ent, gamma, theta, scratch, theta_sa, row)
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
def _quantile_control_par(A, ent, mask, gamma, theta, scratch, sa_out, out):
    S = theta.shape[0]
    for c in prange(N_CHUNKS):
        _quantile_control_block(c * S // N_CHUNKS, (c + 1) * S // N_CHUNKS, A, ent, mask, gamma, theta, scratch[c],
                                sa_out, out)


@njit(cache=True)
def quantile_control_sweep(A, ent, mask, gamma, theta, scratch, sa_out, out):
    """Quantile twin of :func:`categorical_control_sweep` (``q`` = mean of the m atoms)."""
    if ent[1].shape[0] * theta.shape[1] >= PAR_MIN_WORK_QUANT:
        _quantile_control_par(A, ent, mask, gamma, theta, scratch, sa_out, out)
    else:
        _quantile_control_block(np.int64(0), theta.shape[0], A, ent, mask, gamma, theta, scratch[0], sa_out, out)


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
def categorical_value_iteration_loop(A, ent, mask, z, gamma, state, tol, max_iter, trace):
    """Categorical distributional VI: ``eta_{k+1}(s) = eta_sa_k(s, pi_k(s))`` with ``pi_k`` greedy for the means.

    ``state = (eta, buf, mix, eta_sa, q, pi, v, v_new)``, ``trace = (residuals, spans, dmm, pis)``.
    Stops when ``max|v_{k+1} - v_k| < tol`` (``v_k`` = means of ``eta_k``, given in ``v`` on entry).
    On return ``eta``/``v`` hold ``eta_k``/``v_k``, ``buf``/``v_new`` hold ``eta_{k+1}``/``v_{k+1}``,
    ``pi``, ``q`` and ``eta_sa`` belong to the last sweep and ``dmm`` holds min/max of
    ``v_{k+1} - v_k``; ``pis (max_iter,)`` counts greedy-policy changes per sweep.  Returns n_iter.
    """
    eta, buf, mix, eta_sa, q, pi, v, v_new = state
    residuals, spans, dmm, pis = trace
    sa_out = (eta_sa, q, pi)
    S, K = eta.shape
    inv_dz = uniform_inverse_step(z)
    prev = np.empty(S, dtype=np.int64)
    n = 0
    while True:
        for s in range(S):
            prev[s] = pi[s]
        categorical_control_sweep(A, ent, mask, z, gamma, inv_dz, eta, mix, sa_out, buf)
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
def quantile_value_iteration_loop(A, ent, mask, gamma, state, tol, max_iter, trace):
    """Quantile distributional VI (greedy for the means of the quantile state-action laws).

    ``state = (theta, buf, scratch, theta_sa, q, pi, v, v_new)``, ``trace = (residuals, steps, dmm,
    pis)``.  Stops when the greedy policy did not change in the sweep and the sup-w_inf step
    ``max_{s,i}|theta_{k+1} - theta_k|`` is ``< tol`` (no convergence theorem: see the solver).
    ``residuals`` gets the sup-w_inf steps, ``steps`` the sup-norm change of the means.  Buffers
    as in :func:`categorical_value_iteration_loop`.  Returns n_iter.
    """
    theta, buf, scratch, theta_sa, q, pi, v, v_new = state
    residuals, steps, dmm, pis = trace
    sa_out = (theta_sa, q, pi)
    S, m = theta.shape
    prev = np.empty(S, dtype=np.int64)
    n = 0
    while True:
        for s in range(S):
            prev[s] = pi[s]
        quantile_control_sweep(A, ent, mask, gamma, theta, scratch, sa_out, buf)
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


# ============================================================================ Python boundary
# The only place arrays are normalised before they reach a kernel (one signature per kernel).
def ro(a, dtype=np.float64) -> np.ndarray:
    """A read-only C-contiguous ``dtype`` view of ``a`` (a copy only when dtype or layout differ).

    The caller's array keeps its own flags: a view is marked read-only, not the original.
    """
    a = np.ascontiguousarray(a, dtype=dtype)
    if a.flags.writeable:
        a = a.view()
        a.flags.writeable = False
    return a


def wr(a, dtype=np.float64) -> np.ndarray:
    """A fresh writable C-contiguous ``dtype`` copy of ``a`` (for kernel state and ``out`` buffers)."""
    return np.array(a, dtype=dtype, order="C", copy=True)


def entries(indptr, nxt, w, rew) -> tuple:
    """The kernels' entry tuple ``(indptr int64, nxt int64, w float64, rew float64)``, read-only."""
    return ro(indptr, np.int64), ro(nxt, np.int64), ro(w), ro(rew)


def quantile_scratch(indptr, m):
    """Scratch ``(N_CHUNKS, 4, max entries per row * m)`` for the quantile sweeps."""
    n_max = max(int(np.max(np.diff(indptr))) if indptr.shape[0] > 1 else 1, 1) * m
    return np.empty((N_CHUNKS, 4, n_max))


def categorical_backup(ent, z, gamma, eta, out):
    """One application of the projected operator: ``out = Pi_C T^pi eta``; eta, out (S, K) float64.

    ``ent`` from :func:`entries`; ``eta`` is copied (the kernels take their state writable), ``out``
    must be a writable C-contiguous float64 array.
    """
    z = ro(z)
    mix = np.empty((N_CHUNKS, z.shape[0]))
    categorical_sweep(ent, z, float(gamma), float(uniform_inverse_step(z)), wr(eta), mix, out)


def quantile_backup(ent, gamma, theta, out):
    """``out = Pi_Q T^pi theta``; theta, out (S, m) float64 (``theta`` is copied, ``out`` writable)."""
    quantile_sweep(ent, float(gamma), wr(theta), quantile_scratch(ent[0], theta.shape[1]), out)


def sup_cramer(p1, p2, z) -> float:
    """``max_s l2(p1[s], p2[s])`` for categorical rows (S, K) on the common support ``z (K,)``."""
    return float(sup_cramer_same_support(wr(p1), wr(p2), ro(z)))


def project(x, p, z, out) -> None:
    """``out = Pi_C`` of the rows ``x, p (B, n)`` onto ``z (K,)`` (``out (B, K)`` writable)."""
    categorical_project(ro(x), ro(p), ro(z), out)
