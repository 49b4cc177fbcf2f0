r"""Numba kernels of policy optimization: exact-gradient softmax policy gradient on a contextual
bandit (one epoch of dynamic PG, Klein, Weissmann & Döring 2024), and the row-wise FTRL step with
a Tsallis or log-barrier regularizer (the policy update of best-of-both-worlds PO).

Conventions (DESIGN.md "Kernels"): raw arrays in, preallocated output, no validation; one type
signature per kernel.  :func:`softmax_bandit_steps`: ``Q (S, A)`` and ``nu (S,)`` C-contiguous
float64, ``eta``, ``tol`` and ``power`` float64, ``max_steps`` int64, ``pi_out (S, A)`` float64
(written); every action available (the callers check).  :func:`ftrl_newton_rows`: ``x (N, A)``
float64 with each row's minimum 0, ``eta (N,)`` float64 > 0, ``power`` float64 (2 Tsallis, 1
log-barrier), ``out (N, A)`` float64.  The ``*_plain`` functions are the plain-NumPy twins (test
oracles).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["ftrl_newton_rows", "ftrl_newton_rows_plain", "softmax_bandit_steps", "softmax_bandit_steps_plain"]


@njit(cache=True)
def softmax_bandit_steps(Q, nu, eta, tol, power, max_steps, pi_out):
    r"""Steps of :math:`\theta(s,\cdot)\mathrel{+}=\eta_t\nu(s)\pi(\cdot|s)\circ(Q(s,\cdot)-\pi(\cdot|s)^\top Q(s,\cdot))`
    from :math:`\theta=0`, :math:`\eta_t=\eta/(t+1)^{power}`, until
    :math:`\max_s(\max_aQ(s,a)-\pi(\cdot|s)^\top Q(s,\cdot))\le` ``tol``.  Returns the number of
    steps (-1 when ``max_steps`` steps did not reach ``tol``); ``pi_out`` holds the last policy."""
    S, A = Q.shape
    th = np.zeros((S, A))
    best = np.empty(S)
    for s in range(S):
        m = Q[s, 0]
        for a in range(1, A):
            if Q[s, a] > m:
                m = Q[s, a]
        best[s] = m
    vq = np.empty(S)
    t = 0
    while True:
        gap = 0.0
        for s in range(S):
            m = th[s, 0]
            for a in range(1, A):
                if th[s, a] > m:
                    m = th[s, a]
            z = 0.0
            for a in range(A):
                pi_out[s, a] = np.exp(th[s, a] - m)
                z += pi_out[s, a]
            v = 0.0
            for a in range(A):
                pi_out[s, a] /= z
                v += pi_out[s, a] * Q[s, a]
            vq[s] = v
            if best[s] - v > gap:
                gap = best[s] - v
        if gap <= tol:
            return t
        if t >= max_steps:
            return -1
        e = eta / (t + 1.0) ** power
        for s in range(S):
            for a in range(A):
                th[s, a] += e * nu[s] * pi_out[s, a] * (Q[s, a] - vq[s])
        t += 1


def softmax_bandit_steps_plain(Q, nu, eta, tol, power, max_steps, pi_out):
    """Plain-NumPy twin of :func:`softmax_bandit_steps` (test oracle; slow)."""
    th = np.zeros_like(Q)
    best = Q.max(axis=1)
    t = 0
    while True:
        z = np.exp(th - th.max(axis=1, keepdims=True))
        pi_out[:] = z / z.sum(axis=1, keepdims=True)
        vq = np.sum(pi_out * Q, axis=1)
        if np.max(best - vq) <= tol:
            return t
        if t >= max_steps:
            return -1
        th += eta / (t + 1.0) ** power * nu[:, None] * pi_out * (Q - vq[:, None])
        t += 1


@njit(cache=True)
def ftrl_newton_rows(x, eta, power, out):
    r"""Row-wise :math:`p_a=(\eta(x_a-\lambda))^{-power}` with :math:`\lambda<0` chosen so that
    :math:`\sum_ap_a=1` (rows of ``x`` have minimum 0).  Newton's method from :math:`\lambda=-1/\eta`,
    the right of the root: the normalizing sum is convex and increasing in :math:`\lambda`, so the
    iterates decrease monotonically to the root (never crossing the pole at 0).  Rows of ``out``
    are renormalized by their sum (removes the last ulps)."""
    N, A = x.shape
    for i in range(N):
        e = eta[i]
        lam = -1.0 / e
        for _ in range(100):
            f = -1.0
            fp = 0.0
            for a in range(A):
                u = e * (x[i, a] - lam)
                f += u ** (-power)
                fp += power * e * u ** (-power - 1.0)
            step = f / fp
            lam -= step
            if abs(step) <= 1e-15 * max(1.0, abs(lam)):
                break
        z = 0.0
        for a in range(A):
            out[i, a] = (e * (x[i, a] - lam)) ** (-power)
            z += out[i, a]
        for a in range(A):
            out[i, a] /= z


def ftrl_newton_rows_plain(x, eta, power, out):
    """Plain-NumPy twin of :func:`ftrl_newton_rows` (vectorized over rows; test oracle)."""
    e = eta[:, None]
    lam = -1.0 / eta
    for _ in range(100):
        u = e * (x - lam[:, None])
        f = np.sum(u ** -power, axis=1) - 1.0
        fp = power * np.sum(e * u ** (-power - 1.0), axis=1)
        step = f / fp
        lam = lam - step
        if np.all(np.abs(step) <= 1e-15 * np.maximum(1.0, np.abs(lam))):
            break
    p = (e * (x - lam[:, None])) ** -power
    out[:] = p / p.sum(axis=1, keepdims=True)
