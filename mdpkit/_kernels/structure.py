"""Numba kernels for structural quantities (private): array in, array out, no validation.

* :func:`hitting_times` -- minimal expected hitting times of every target (the diameter's
  inner problem), one stochastic-shortest-path value iteration per target with a certified
  bracket.  Serial: a ``prange`` over targets would be bitwise safe (targets are independent) and
  about 2x faster on 2 cores, but compiling it took 10 s more than the serial kernel on the
  test machine, which the test-time budget cannot afford.
* :func:`det_backup` -- one finite-horizon backup pass of a deterministic next-state table
  (the k-QVI iteration of :mod:`mdpkit.effective_horizon`).
* :func:`det_carry_max` -- the GORP variance bound carried one step back.
* :func:`det_backward` -- backward induction of a deterministic next-state table for the
  uniform-random, optimal and worst values at once.

One type signature per kernel (DESIGN.md "Kernels"): int64 index arrays, float64 value arrays,
bool masks, int64/float64 scalars; callers normalise at the API boundary.  Plain-numpy twins
live in ``tests/structure`` as oracles.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["det_backup", "det_backward", "det_carry_max", "hitting_times"]


@njit(cache=True)
def hitting_times(indptr, indices, data, mask1, S, A, targets, rtol, max_iter, lower, upper, iters):
    """Minimal expected hitting times ``h_t(s) = min_pi E[tau_t | s_0 = s]`` for each target.

    Value iteration ``h <- 1 + min_a P_a h`` (``h(t) = 0``) from ``h = 0``: every iterate is a
    lower bound on ``h_t`` (monotone operator, ``T h_t = h_t``).  With ``c = max_s (h_{k+1} -
    h_k)(s) < 1`` the policy greedy for ``h_k`` satisfies ``P_pi h_k <= h_k - (1 - c)`` off the
    target, so ``h_k`` is a Lyapunov function: the policy is proper and
    ``h_t <= h_pi <= h_k / (1 - c)`` elementwise.  A target stops when the bracket's width is at
    most ``rtol * max(1, max lower)``; ``iters[j]`` is then the number of sweeps, or
    ``-max_iter`` when the budget ran out first.

    Parameters: CSR rows ``s*A + a`` of ``P`` (``indptr`` int64 (S*A+1,), ``indices`` int64,
    ``data`` float64), ``mask1`` bool (S*A,), ``targets`` int64 (n,), ``rtol`` float64,
    ``max_iter`` int64; outputs ``lower``, ``upper`` float64 (n, S), ``iters`` int64 (n,).
    The model must be communicating (every target reachable w.p. 1 from every state).
    """
    n = targets.shape[0]
    for j in range(n):
        t = targets[j]
        h = np.zeros(S)
        hn = np.zeros(S)
        up = np.full(S, np.inf)
        done = False
        k = 0
        while k < max_iter:
            k += 1
            c = 0.0
            for s in range(S):
                if s == t:
                    hn[s] = 0.0
                    continue
                best = np.inf
                for a in range(A):
                    r = s * A + a
                    if not mask1[r]:
                        continue
                    acc = 1.0
                    for p in range(indptr[r], indptr[r + 1]):
                        acc += data[p] * h[indices[p]]
                    if acc < best:
                        best = acc
                hn[s] = best
                d = best - h[s]
                if d > c:
                    c = d
            if c < 1.0:
                scale = 1.0 / (1.0 - c)
                for s in range(S):
                    u = h[s] * scale
                    if u < up[s]:
                        up[s] = u
            for s in range(S):
                h[s] = hn[s]
            width = 0.0
            top = 1.0
            for s in range(S):
                if up[s] - h[s] > width:
                    width = up[s] - h[s]
                if h[s] > top:
                    top = h[s]
            if width <= rtol * top:
                done = True
                break
        for s in range(S):
            lower[j, s] = h[s]
            upper[j, s] = up[s] if up[s] > h[s] else h[s]
        iters[j] = k if done else -k


@njit(cache=True)
def det_backup(ns, R, Q, t_stop):
    """One k-QVI step in place: ``Q[t] <- R + max_a' Q[t+1][ns]`` for ``t = 0 .. t_stop - 1``.

    ``ns`` int64 (S, A) with ``-1`` for episode end; ``R`` float64 (S, A); ``Q`` float64
    (H, S, A).  Rows ``t`` are updated in increasing order, so row ``t`` reads row ``t+1``
    before it is overwritten (the step is a Jacobi sweep).  ``t_stop`` int64.
    """
    S, A = ns.shape
    for t in range(t_stop):
        for s in range(S):
            for a in range(A):
                j = ns[s, a]
                if j < 0:
                    Q[t, s, a] = R[s, a]
                else:
                    m = -np.inf
                    for b in range(A):
                        if Q[t + 1, j, b] > m:
                            m = Q[t + 1, j, b]
                    Q[t, s, a] = R[s, a] + m


@njit(cache=True)
def det_backward(ns, R, Qrand, Qopt, Qworst):
    """Backward induction on a deterministic next-state table for three values at once.

    Fills ``Qrand`` (uniformly random continuation), ``Qopt`` (optimal continuation) and
    ``Qworst`` (worst continuation), each float64 (H, S, A), from ``t = H-1`` down to 0;
    ``ns`` int64 (S, A) with ``-1`` for episode end (value 0 afterwards).
    """
    H = Qrand.shape[0]
    S, A = ns.shape
    for t in range(H - 1, -1, -1):
        for s in range(S):
            for a in range(A):
                j = ns[s, a]
                r = R[s, a]
                if j < 0 or t == H - 1:
                    Qrand[t, s, a] = r
                    Qopt[t, s, a] = r
                    Qworst[t, s, a] = r
                else:
                    sr = 0.0
                    mx = -np.inf
                    mn = np.inf
                    for b in range(A):
                        sr += Qrand[t + 1, j, b]
                        if Qopt[t + 1, j, b] > mx:
                            mx = Qopt[t + 1, j, b]
                        if Qworst[t + 1, j, b] < mn:
                            mn = Qworst[t + 1, j, b]
                    Qrand[t, s, a] = r + sr / A
                    Qopt[t, s, a] = r + mx
                    Qworst[t, s, a] = r + mn


@njit(cache=True)
def det_carry_max(ns, V, t_stop):
    """In place: ``V[t, s, a] <- max_b V[t+1, ns[s, a], b]`` (0 if the episode ends) for ``t < t_stop``.

    Carries the GORP variance bound one step back (increasing ``t``, like :func:`det_backup`).
    ``ns`` int64 (S, A); ``V`` float64 (H, S, A); ``t_stop`` int64.
    """
    S, A = ns.shape
    for t in range(t_stop):
        for s in range(S):
            for a in range(A):
                j = ns[s, a]
                if j < 0:
                    V[t, s, a] = 0.0
                else:
                    m = V[t + 1, j, 0]
                    for b in range(1, A):
                        if V[t + 1, j, b] > m:
                            m = V[t + 1, j, b]
                    V[t, s, a] = m
