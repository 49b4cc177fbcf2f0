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

from . import bandits as _kb

__all__ = ["home_update", "lsvi_ucb_loop", "policy_value", "rfe_uncertainty_plan", "sherman_morrison", "ucb_plan"]


@njit(cache=True)
def sherman_morrison(Linv, x, tmp):
    """In place: ``Linv <- (Linv^{-1} + x x^T)^{-1}`` for symmetric ``Linv (d, d)``; ``tmp (d,)`` scratch.

    The rank-one update is the bandit kernels' :func:`mdpkit._kernels.bandits.sherman_morrison_update`
    (one implementation for OFUL, LinTS, DynLin-UCB and LSVI-UCB)."""
    _kb.sherman_morrison_update(Linv, x, tmp)


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


@njit(cache=True)
def _ellipse_norm(Ainv, x):
    """``sqrt(max(x^T Ainv x, 0))`` for ``Ainv (d, d)``, ``x (d,)``."""
    d = x.shape[0]
    q = 0.0
    for i in range(d):
        acc = 0.0
        for j in range(d):
            acc += Ainv[i, j] * x[j]
        q += x[i] * acc
    return np.sqrt(max(q, 0.0))


@njit(cache=True)
def home_update(Bsa, V, s_next, theta, Sdot_inv, Sinv, b, params, phi, tmp):
    """One step of a high-order moment regression series (Zhang, Zhang & Gu 2023, Algorithm 4 lines 9-15 with
    HOME, Algorithm 5), in place on ``Sinv (M, d, d)`` and ``b (M, d)``.

    For ``m = 0..M-1``: features ``phi[m] = Bsa @ V**(2**m)`` (``Bsa (d, S)`` the basis rows of the visited
    ``(s, a)``, ``V (S,)`` in [0, 1]); clipped predictions ``[phi[m] . theta[m]]_[0,1]``; weights
    ``sigma2[m] = max(gamma^2 ||phi[m]||_{Sinv[m]}, var[m] + E[m], alpha^2)`` with
    ``var[m] = pred[m+1] - pred[m]^2``, ``E[m] = min(1, 2 beta ||phi[m]||_{Sdot_inv[m]}) + min(1, beta
    ||phi[m+1]||_{Sdot_inv[m+1]})``, and ``sigma2[M-1] = max(gamma^2 ||phi||, 1, alpha^2)``; then
    ``Sinv[m] <- (Sinv[m]^{-1} + phi phi^T / sigma2)^{-1}`` (Sherman-Morrison) and
    ``b[m] += phi[m] V(s_next)^(2^m) / sigma2[m]``.  ``params = (beta, alpha, gamma)``; ``phi (M, d)`` and
    ``tmp (4, M)`` are scratch.
    """
    M, d = b.shape
    S = V.shape[0]
    beta, alpha, gamma = params[0], params[1], params[2]
    pred = tmp[0]
    nd_dot = tmp[1]
    nd_run = tmp[2]
    target = tmp[3]
    vs = V[s_next]
    for m in range(M):
        # V^(2^m) by repeated squaring of each entry
        for i in range(d):
            acc = 0.0
            for t in range(S):
                x = V[t]
                for _ in range(m):
                    x = x * x
                acc += Bsa[i, t] * x
            phi[m, i] = acc
        target[m] = vs
        vs = vs * vs
        acc = 0.0
        for i in range(d):
            acc += phi[m, i] * theta[m, i]
        pred[m] = min(1.0, max(0.0, acc))
        nd_dot[m] = _ellipse_norm(Sdot_inv[m], phi[m])
        nd_run[m] = _ellipse_norm(Sinv[m], phi[m])
    u = np.empty(d)
    for m in range(M):
        if m < M - 1:
            var = pred[m + 1] - pred[m] * pred[m]
            E = min(1.0, 2.0 * beta * nd_dot[m]) + min(1.0, beta * nd_dot[m + 1])
            s2 = max(max(gamma * gamma * nd_run[m], var + E), alpha * alpha)
        else:
            s2 = max(max(gamma * gamma * nd_run[m], 1.0), alpha * alpha)
        for i in range(d):
            acc = 0.0
            for j in range(d):
                acc += Sinv[m, i, j] * phi[m, j]
            u[i] = acc
        den = s2 + nd_run[m] * nd_run[m]
        for i in range(d):
            ui = u[i] / den
            for j in range(d):
                Sinv[m, i, j] -= ui * u[j]
            b[m, i] += phi[m, i] * target[m] / s2


@njit(cache=True)
def rfe_uncertainty_plan(Bt, theta, cands, beta, Shat_inv, Stil_inv, Vh, Vt, pol):
    """Trajectory-uncertainty planning of HF-UCRL-RFE++ (Zhang, Zhang & Gu 2023, Eq. (2.6.2)), every candidate reward.

    For each candidate ``c`` and ``h = H-1 .. 0``, with ``pt = psi_{Vt[c,h+1]}(s, a)`` and
    ``ph = psi_{Vh[c,h+1]}(s, a)`` (``psi_V(s, a)_i = sum_t Bt[s, a, i, t] V[t]``):
    ``u = min(1, beta ||pt||_{Stil_inv})``, ``val(a) = min(1, u + 2 beta ||ph||_{Shat_inv} + ph . theta)``,
    ``pol[c, h, s]`` the first maximiser, ``Vh[c, h, s] = val(pol)``,
    ``Vt[c, h, s] = clip(cands[c, h, s, pol] + pt(pol) . theta, 0, 1)``.  Shapes: ``Bt (S, A, d, S)``,
    ``theta (d,)``, ``cands (n, H, S, A)``, ``Vh, Vt (n, H+1, S)`` with ``[:, H] = 0`` on entry (outputs),
    ``pol (n, H, S)`` int64 (output).
    """
    n, H, S, A = cands.shape
    d = Bt.shape[2]
    pt = np.empty(d)
    ph = np.empty(d)
    for c in range(n):
        for h in range(H - 1, -1, -1):
            for s in range(S):
                best = -np.inf
                best_a = 0
                best_t = 0.0
                for a in range(A):
                    for i in range(d):
                        x = 0.0
                        y = 0.0
                        for t in range(S):
                            x += Bt[s, a, i, t] * Vt[c, h + 1, t]
                            y += Bt[s, a, i, t] * Vh[c, h + 1, t]
                        pt[i] = x
                        ph[i] = y
                    mean = 0.0
                    nxt = 0.0
                    for i in range(d):
                        mean += ph[i] * theta[i]
                        nxt += pt[i] * theta[i]
                    u = min(1.0, beta * _ellipse_norm(Stil_inv, pt))
                    val = min(1.0, u + 2.0 * beta * _ellipse_norm(Shat_inv, ph) + mean)
                    if val > best:
                        best = val
                        best_a = a
                        best_t = nxt
                pol[c, h, s] = best_a
                Vh[c, h, s] = best
                Vt[c, h, s] = min(1.0, max(0.0, cands[c, h, s, best_a] + best_t))
