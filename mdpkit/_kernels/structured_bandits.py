r"""Numba kernels for structured bandits: DynLin-UCB on a dynamical linear bandit, and OFUL on
the unit ball.

Conventions as in :mod:`mdpkit._kernels.bandits`: raw arrays in, preallocated outputs, no
validation, one type signature per kernel (float64 / int64 C-contiguous arrays), argmax ties to the
lowest index.  Randomness: every run seeds Numba's Mersenne-Twister stream with ``seeds[run]``
(a 32-bit value the caller drew from the run's ``numpy.random.Generator``) and draws only with
``np.random.random()`` and ``np.random.standard_normal()``, which Numba implements bitwise as NumPy's
legacy ``RandomState``; the plain-NumPy twins :func:`reference_dynlin_run` and
:func:`reference_ball_oful_run` replay a run exactly from ``RandomState(seed)`` (the test oracle).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from . import bandits as _kb

__all__ = [
    "ball_ucb_argmax",
    "reference_ball_argmax",
    "reference_ball_oful_run",
    "reference_dynlin_run",
    "run_ball_oful_runs",
    "run_dynlin_runs",
    "sym_eig",
]


# ----------------------------------------------------------------------------- DynLin-UCB
@njit(cache=True)
def run_dynlin_runs(params, U, A, Bm, omega, theta, epoch_end, seeds, actions, rewards, means):
    """DynLin-UCB runs on the dynamical linear bandit x_{t+1} = A x_t + B u_t + sigma eta_t,
    y_t = <omega, x_t> + <theta, u_t> + sigma eps_t, x_0 = 0 (Mussi et al. 2023).

    ``params = (lam, sigma, c1, c2, bar_sigma_sq, u_norm, log_T, width)``; ``U (n_arms, d)`` the
    action set; ``epoch_end (T,)`` int64, 1 where an epoch ends: its action was held since the
    epoch began and the round's reward enters the ridge regression on ``h`` (only that one).  The
    next round starts a new epoch, whose action maximises
    ``<h_hat, u> + beta_t ||u||_{V^-1}`` with ``beta_t = c1 sqrt(lam) + c2/sqrt(lam) log(e (t+1))
    + sqrt(2 bar_sigma_sq (log_T + d/2 log(1 + t u_norm^2/(d lam))))`` (``width <= 0``) or
    ``beta_t = width`` (fixed width); the first epoch's action is uniformly random.
    ``means[run, t]`` receives the exact expected reward <omega, E x_t> + <theta, u_t> given the
    actions (the noise enters additively and has mean zero).
    """
    R_, T = actions.shape
    n_arms, d = U.shape
    n = A.shape[0]
    lam, sigma, c1, c2, bs2, un, logT, width = (params[0], params[1], params[2], params[3], params[4],
                                                params[5], params[6], params[7])
    Vinv = np.zeros((d, d))
    b = np.zeros(d)
    h = np.zeros(d)
    x = np.zeros(n)
    xb = np.zeros(n)
    nx = np.zeros(n)
    nxb = np.zeros(n)
    vu = np.zeros(d)
    for run in range(R_):
        np.random.seed(np.uint32(seeds[run]))
        Vinv[:, :] = 0.0
        for i in range(d):
            Vinv[i, i] = 1.0 / lam
        b[:] = 0.0
        h[:] = 0.0
        x[:] = 0.0
        xb[:] = 0.0
        a = min(int(np.random.random() * n_arms), n_arms - 1)
        for t in range(T):
            if t > 0 and epoch_end[t - 1] == 1:
                if width > 0.0:
                    beta = width
                else:
                    beta = (c1 * math.sqrt(lam) + c2 / math.sqrt(lam) * math.log(math.e * (t + 1.0))
                            + math.sqrt(2.0 * bs2 * (logT + 0.5 * d * math.log(1.0 + t * un * un / (d * lam)))))
                best = -np.inf
                for k in range(n_arms):
                    m = 0.0
                    for i in range(d):
                        m += h[i] * U[k, i]
                    m += beta * math.sqrt(max(_kb.row_quad_form(Vinv, U, k), 0.0))
                    if m > best:
                        best = m
                        a = k
            mu = 0.0
            for i in range(n):
                mu += omega[i] * xb[i]
            ox = 0.0
            for i in range(n):
                ox += omega[i] * x[i]
            for i in range(d):
                mu += theta[i] * U[a, i]
                ox += theta[i] * U[a, i]
            y = ox + sigma * np.random.standard_normal()
            for i in range(n):
                s = 0.0
                sb = 0.0
                for j in range(n):
                    s += A[i, j] * x[j]
                    sb += A[i, j] * xb[j]
                bu = 0.0
                for j in range(d):
                    bu += Bm[i, j] * U[a, j]
                nx[i] = s + bu + sigma * np.random.standard_normal()
                nxb[i] = sb + bu
            xb[:] = nxb
            x[:] = nx
            actions[run, t] = a
            rewards[run, t] = y
            means[run, t] = mu
            if epoch_end[t] == 1:
                _kb.sherman_morrison_update(Vinv, U[a], vu)
                for i in range(d):
                    b[i] += y * U[a, i]
                for i in range(d):
                    s = 0.0
                    for j in range(d):
                        s += Vinv[i, j] * b[j]
                    h[i] = s


def reference_dynlin_run(params, U, A, Bm, omega, theta, epoch_end, seed, T):
    """Plain-NumPy twin of one run of :func:`run_dynlin_runs` (test oracle): returns
    ``(actions (T,), rewards (T,), means (T,))`` replayed from ``RandomState(seed)``."""
    rs = np.random.RandomState(np.uint32(seed))
    lam, sigma, c1, c2, bs2, un, logT, width = [float(v) for v in params[:8]]
    n_arms, d = U.shape
    V = lam * np.eye(d)
    b = np.zeros(d)
    x = np.zeros(A.shape[0])
    xb = np.zeros(A.shape[0])
    a = min(int(rs.random_sample() * n_arms), n_arms - 1)
    acts, rews, mus = np.zeros(T, np.int64), np.zeros(T), np.zeros(T)
    for t in range(T):
        if t > 0 and epoch_end[t - 1] == 1:
            beta = width if width > 0 else (c1 * math.sqrt(lam) + c2 / math.sqrt(lam) * math.log(math.e * (t + 1.0))
                                            + math.sqrt(2 * bs2 * (logT + d / 2 * math.log(1 + t * un ** 2 / (d * lam)))))
            Vi = np.linalg.inv(V)
            hh = Vi @ b
            idx = U @ hh + beta * np.sqrt(np.maximum(np.einsum("ki,ij,kj->k", U, Vi, U), 0.0))
            a = int(np.argmax(idx))
        u = U[a]
        mus[t] = omega @ xb + theta @ u
        y = omega @ x + theta @ u + sigma * rs.standard_normal()
        noise = np.array([rs.standard_normal() for _ in range(A.shape[0])])
        x = A @ x + Bm @ u + sigma * noise
        xb = A @ xb + Bm @ u
        acts[t], rews[t] = a, y
        if epoch_end[t] == 1:
            V = V + np.outer(u, u)
            b = b + y * u
    return acts, rews, mus


# ----------------------------------------------------------------------------- OFUL on the unit ball
@njit(cache=True)
def sym_eig(M):
    """Eigenvalues and orthonormal eigenvectors (columns) of a small symmetric matrix by cyclic
    Jacobi rotations (Golub & Van Loan 2013, Alg. 8.5.3); compiles far faster than LAPACK's eigh
    in Numba and is exact to rounding for the d <= 20 matrices of linear bandits."""
    d = M.shape[0]
    a = M.copy()
    Q = np.eye(d)
    for _ in range(100):
        off = 0.0
        for i in range(d):
            for j in range(i + 1, d):
                off += a[i, j] * a[i, j]
        if off <= 1e-30 * max(1e-300, np.sum(a * a)):
            break
        for p in range(d):
            for q in range(p + 1, d):
                if a[p, q] == 0.0:
                    continue
                tau = (a[q, q] - a[p, p]) / (2.0 * a[p, q])
                t = (1.0 if tau >= 0 else -1.0) / (abs(tau) + math.sqrt(1.0 + tau * tau))
                c = 1.0 / math.sqrt(1.0 + t * t)
                s = t * c
                for k in range(d):
                    akp, akq = a[k, p], a[k, q]
                    a[k, p] = c * akp - s * akq
                    a[k, q] = s * akp + c * akq
                for k in range(d):
                    apk, aqk = a[p, k], a[q, k]
                    a[p, k] = c * apk - s * aqk
                    a[q, k] = s * apk + c * aqk
                for k in range(d):
                    qkp, qkq = Q[k, p], Q[k, q]
                    Q[k, p] = c * qkp - s * qkq
                    Q[k, q] = s * qkp + c * qkq
    ev = np.empty(d)
    for i in range(d):
        ev[i] = a[i, i]
    return ev, Q


@njit(cache=True)
def ball_ucb_argmax(V, th, rad, out):
    r"""Write into ``out (d,)`` the maximiser over the unit ball of
    :math:`\langle x, \hat\theta\rangle + r\|x\|_{V^{-1}}` and return the maximum.

    The UCB of x is :math:`\max_{\theta \in E}\langle x, \theta\rangle` over the ellipsoid
    :math:`E = \{\theta: \|\theta - \hat\theta\|_V \le r\}`, so the maximum over the ball is
    :math:`\max_{\theta\in E}\|\theta\|`, attained at :math:`x = \theta^\dagger/\|\theta^\dagger\|`.
    In the eigenbasis of V (semi-axes :math:`s_i = r/\sqrt{v_i}`, centre c), the farthest point of E
    is :math:`z_i = \mu c_i/(\mu - s_i^2)` with :math:`\mu > \max s_i^2` the root of
    :math:`\sum_i s_i^2 c_i^2/(\mu - s_i^2)^2 = 1` (decreasing in mu: bisection); when c has no
    component on the longest axes and the rest of the sum stays below 1 at :math:`\mu = s_{\max}^2`
    (the "hard case" of trust-region problems), the remainder goes along the first longest axis.
    """
    d = th.shape[0]
    ev, Q = sym_eig(V)
    c = np.zeros(d)
    for i in range(d):
        for j in range(d):
            c[i] += Q[j, i] * th[j]
    s2 = np.empty(d)
    for i in range(d):
        s2[i] = rad * rad / ev[i]
    smax = s2.max()
    tiny = 1e-12 * smax
    z = np.empty(d)
    rest = 0.0
    top = -1
    for i in range(d):
        if s2[i] >= smax - tiny and abs(c[i]) <= 1e-300:
            if top < 0:
                top = i
        elif s2[i] < smax - tiny:
            rest += s2[i] * c[i] * c[i] / (smax - s2[i]) ** 2
    hard = True
    for i in range(d):
        if s2[i] >= smax - tiny and abs(c[i]) > 1e-300:
            hard = False
    if hard and rest <= 1.0:
        for i in range(d):
            if s2[i] < smax - tiny:
                z[i] = smax * c[i] / (smax - s2[i])
            else:
                z[i] = c[i]
        z[top] += math.sqrt(max(0.0, 1.0 - rest)) * math.sqrt(smax)
    else:
        lo = smax
        tot = 0.0
        for i in range(d):
            tot += s2[i] * c[i] * c[i]
        hi = smax + math.sqrt(tot) + 1e-300
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if mid <= lo or mid >= hi:
                break
            g = 0.0
            for i in range(d):
                g += s2[i] * c[i] * c[i] / (mid - s2[i]) ** 2
            if g > 1.0:
                lo = mid
            else:
                hi = mid
        mu = hi
        for i in range(d):
            z[i] = mu * c[i] / (mu - s2[i])
    nz = math.sqrt(np.sum(z * z))
    for i in range(d):
        s = 0.0
        for j in range(d):
            s += Q[i, j] * z[j]
        out[i] = s / nz
    return nz


def reference_ball_argmax(V, th, rad, n_grid=20001):
    """Brute-force twin of :func:`ball_ucb_argmax` for d = 2: the best of ``n_grid`` points on the
    unit circle (the maximiser of a convex function over the disc lies on its boundary)."""
    ang = np.linspace(0.0, 2.0 * np.pi, n_grid)
    X = np.stack([np.cos(ang), np.sin(ang)], axis=1)
    Vi = np.linalg.inv(V)
    f = X @ th + rad * np.sqrt(np.einsum("ki,ij,kj->k", X, Vi, X))
    k = int(np.argmax(f))
    return X[k], float(f[k])


@njit(cache=True)
def run_ball_oful_runs(params, theta, sigma, seeds, X, inst_regret):
    """OFUL runs with the unit ball as the action set; reward <x, theta> + sigma N(0, 1).

    ``params = (lam, R, S, delta, width)`` as in :func:`mdpkit._kernels.bandits.run_linear_runs`
    (self-normalised radius when ``width <= 0``).  ``X (R, T, d)`` receives the actions and
    ``inst_regret (R, T)`` the exact per-round regret ``||theta|| - <x_t, theta>`` (the best
    action is theta/||theta||).
    """
    R_, T, d = X.shape
    lam = params[0]
    V = np.zeros((d, d))
    Vinv = np.zeros((d, d))
    b = np.zeros(d)
    x = np.zeros(d)
    th = np.zeros(d)
    vx = np.zeros(d)
    tn = math.sqrt(np.sum(theta * theta))
    for run in range(R_):
        np.random.seed(np.uint32(seeds[run]))
        V[:, :] = 0.0
        Vinv[:, :] = 0.0
        for i in range(d):
            V[i, i] = lam
            Vinv[i, i] = 1.0 / lam
        b[:] = 0.0
        logdet = d * math.log(lam)
        for t in range(T):
            rad = _kb.ridge_estimate_and_radius(Vinv, b, logdet, params, th)
            ball_ucb_argmax(V, th, rad, x)
            m = 0.0
            for i in range(d):
                m += x[i] * theta[i]
            r = m + sigma * np.random.standard_normal()
            # Sherman-Morrison for V^-1, the matrix determinant lemma for log det V
            logdet += math.log(1.0 + _kb.sherman_morrison_update(Vinv, x, vx))
            for i in range(d):
                X[run, t, i] = x[i]
                b[i] += r * x[i]
                for j in range(d):
                    V[i, j] += x[i] * x[j]
            inst_regret[run, t] = tn - m


def reference_ball_oful_run(params, theta, sigma, seed, T):
    """Plain-NumPy twin of one run of :func:`run_ball_oful_runs`: returns ``(X (T, d), inst_regret (T,))``.

    The argmax is :func:`ball_ucb_argmax` run as plain Python (``.py_func``); that routine is checked
    separately against the grid search :func:`reference_ball_argmax`."""
    rs = np.random.RandomState(np.uint32(seed))
    lam, Rn, S, delta, width = [float(v) for v in params[:5]]
    d = theta.shape[0]
    V = lam * np.eye(d)
    b = np.zeros(d)
    Xs, reg = np.zeros((T, d)), np.zeros(T)
    for t in range(T):
        th = np.linalg.solve(V, b)
        rad = width if width > 0 else (Rn * math.sqrt(2 * math.log(1 / delta) + np.linalg.slogdet(V)[1] - d * math.log(lam))
                                       + math.sqrt(lam) * S)
        x = np.zeros(d)
        ball_ucb_argmax.py_func(V, th, rad, x)
        r = x @ theta + sigma * rs.standard_normal()
        V = V + np.outer(x, x)
        b = b + r * x
        Xs[t], reg[t] = x, np.linalg.norm(theta) - x @ theta
    return Xs, reg
