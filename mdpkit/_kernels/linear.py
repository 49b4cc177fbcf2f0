"""Numba kernels for finite-horizon linear MDPs: Sherman-Morrison updates, optimistic LSVI
planning, exact policy evaluation and the whole LSVI-UCB episode loop.

Conventions (DESIGN.md "Kernels"): float64/int64 C-contiguous arrays, preallocated outputs,
no validation, exactly one type signature per kernel (scalars are passed as ``np.float64`` /
``np.int64``, never Python literals), argmax ties to the lowest action index.  Randomness comes
in as pre-drawn uniforms.  Layouts: ``phi2 (S*A, d)`` with row ``s*A + a``; per-stage model
``P3 (H, S*A, S)``, ``Pc3`` its row-wise cumulative sums, ``R2 (H, S*A)``.

Sufficient statistics of stage ``h`` (all the regression needs on a finite state space, so an
episode costs the same at episode 10 and 10^5):

* ``Linv[h] (d, d)``: the inverse Gram matrix :math:`\\Lambda_h^{-1}`,
  :math:`\\Lambda_h = \\lambda I + \\sum_i \\phi_i \\phi_i^\\top`, kept by Sherman-Morrison;
* ``br[h] (d,)``: :math:`\\sum_i \\phi_i r_i`;
* ``bM[h] (d, S)``: :math:`\\sum_i \\phi_i e_{s'_i}^\\top`, so the regression target vector for any
  next-stage value ``V`` is ``br[h] + bM[h] @ V``.

The plain-numpy twins used as test oracles live in ``tests/linear/test_linear_kernels.py``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["lsvi_ucb_loop", "policy_value", "sherman_morrison", "ucb_plan"]


@njit(cache=True)
def sherman_morrison(Linv, x, tmp):
    """In place: ``Linv <- (Linv^{-1} + x x^T)^{-1}`` for symmetric ``Linv (d, d)``; ``tmp (d,)`` scratch."""
    d = x.shape[0]
    for i in range(d):
        acc = 0.0
        for j in range(d):
            acc += Linv[i, j] * x[j]
        tmp[i] = acc
    den = 1.0
    for i in range(d):
        den += x[i] * tmp[i]
    for i in range(d):
        ti = tmp[i] / den
        for j in range(d):
            Linv[i, j] -= ti * tmp[j]


@njit(cache=True)
def ucb_plan(phi2, Linv, bM, br, beta, cap, S, Q, V, pi, w):
    """Optimistic least-squares value iteration (Jin et al. 2020, Algorithm 1, lines 4-8).

    For ``h = H-1 .. 0``: ``w = Linv[h] (br[h] + bM[h] V[h+1])``,
    ``Q[h, sa] = min(phi_sa . w + beta sqrt(phi_sa^T Linv[h] phi_sa), cap)``,
    ``V[h, s] = max_a Q[h, s*A + a]``, ``pi[h, s]`` the first maximiser.  ``V[H]`` must be 0 on
    entry.  Shapes: ``phi2 (SA, d)``, ``Linv (H, d, d)``, ``bM (H, d, S)``, ``br (H, d)``,
    ``Q (H, SA)``, ``V (H+1, S)``, ``pi (H, S)`` int64, ``w (H, d)`` (the weights, output).
    ``cap`` is ``inf`` for no truncation.
    """
    H = Linv.shape[0]
    SA, d = phi2.shape
    A = SA // S
    y = np.empty(d)
    tmp = np.empty(d)
    for h in range(H - 1, -1, -1):
        for i in range(d):
            acc = br[h, i]
            for t in range(S):
                acc += bM[h, i, t] * V[h + 1, t]
            y[i] = acc
        for i in range(d):
            acc = 0.0
            for j in range(d):
                acc += Linv[h, i, j] * y[j]
            w[h, i] = acc
        for sa in range(SA):
            lin = 0.0
            for i in range(d):
                lin += phi2[sa, i] * w[h, i]
            if beta != 0.0:
                for i in range(d):
                    acc = 0.0
                    for j in range(d):
                        acc += Linv[h, i, j] * phi2[sa, j]
                    tmp[i] = acc
                quad = 0.0
                for i in range(d):
                    quad += phi2[sa, i] * tmp[i]
                lin += beta * np.sqrt(max(quad, 0.0))
            Q[h, sa] = min(lin, cap)
        for s in range(S):
            best = Q[h, s * A]
            arg = 0
            for a in range(1, A):
                if Q[h, s * A + a] > best:
                    best = Q[h, s * A + a]
                    arg = a
            V[h, s] = best
            pi[h, s] = arg


@njit(cache=True)
def policy_value(P3, R2, pi, S, V):
    """Exact value of the deterministic policy ``pi (H, S)``: ``V (H+1, S)`` output, ``V[H] = 0``."""
    H = P3.shape[0]
    A = P3.shape[1] // S
    for t in range(S):
        V[H, t] = 0.0
    for h in range(H - 1, -1, -1):
        for s in range(S):
            sa = s * A + pi[h, s]
            acc = R2[h, sa]
            for t in range(S):
                acc += P3[h, sa, t] * V[h + 1, t]
            V[h, s] = acc


@njit(cache=True)
def _draw(cdf, u):
    # inverse CDF, scaled by the row total (rows sum to 1 only within the model's atol)
    n = cdf.shape[0]
    x = u * cdf[n - 1]
    for i in range(n):
        if x < cdf[i]:
            return i
    return n - 1


@njit(cache=True)
def lsvi_ucb_loop(model, Vstar, U, beta, cap, stats, out_f, out_i):
    """Run LSVI-UCB for ``K = U.shape[0]`` episodes in one compiled call.

    Parameters
    ----------
    model : tuple ``(phi2 (SA, d), P3 (H, SA, S), Pc3 (H, SA, S), R2 (H, SA), mu0 (S,), mu0c (S,))``
    Vstar : (H+1, S) optimal values (for the exact regret and the optimism margin)
    U : (K, H+1) uniforms: ``U[k, 0]`` draws the initial state, ``U[k, h+1]`` the transition at ``h``
    beta, cap : float64 (bonus multiplier, truncation of Q)
    stats : tuple ``(Linv (H, d, d), br (H, d), bM (H, d, S))`` updated in place (pass the identity
        over ``lam`` and zeros to start afresh, or the state of a previous call to continue)
    out_f : (K, 4) float64 output per episode: exact regret ``mu0 . (V*_0 - V^{pi_k}_0)``,
        realised return, optimistic estimate ``mu0 . V^k_0``, and the optimism margin
        ``min_{h, s} (V^k_h(s) - V*_h(s))``
    out_i : (K, 2) int64 output per episode: first state and first action
    """
    phi2, P3, Pc3, R2, mu0, mu0c = model
    Linv, br, bM = stats
    H = P3.shape[0]
    SA, d = phi2.shape
    S = Vstar.shape[1]
    A = SA // S
    K = U.shape[0]
    Q = np.empty((H, SA))
    V = np.zeros((H + 1, S))
    Vpi = np.zeros((H + 1, S))
    pi = np.zeros((H, S), dtype=np.int64)
    w = np.empty((H, d))
    tmp = np.empty(d)
    for k in range(K):
        for t in range(S):
            V[H, t] = 0.0
        ucb_plan(phi2, Linv, bM, br, beta, cap, S, Q, V, pi, w)
        policy_value(P3, R2, pi, S, Vpi)
        reg = 0.0
        est = 0.0
        for t in range(S):
            reg += mu0[t] * (Vstar[0, t] - Vpi[0, t])
            est += mu0[t] * V[0, t]
        margin = np.inf
        for h in range(H):
            for t in range(S):
                m = V[h, t] - Vstar[h, t]
                if m < margin:
                    margin = m
        s = _draw(mu0c, U[k, 0])
        out_i[k, 0] = s
        ret = 0.0
        for h in range(H):
            a = pi[h, s]
            if h == 0:
                out_i[k, 1] = a
            sa = s * A + a
            r = R2[h, sa]
            s2 = _draw(Pc3[h, sa], U[k, h + 1])
            ret += r
            sherman_morrison(Linv[h], phi2[sa], tmp)
            for i in range(d):
                br[h, i] += phi2[sa, i] * r
                bM[h, i, s2] += phi2[sa, i]
            s = s2
        out_f[k, 0] = reg
        out_f[k, 1] = ret
        out_f[k, 2] = est
        out_f[k, 3] = margin
