"""Numba kernels for online tabular RL (episodic and average-reward learners, Q-learning).

Conventions (DESIGN.md "Kernels"): raw arrays in, preallocated outputs, no validation, argmax
ties to the lowest index, masked actions skipped; exactly one type signature per kernel.  The
model arrives as one tuple ``om = (P2, cdf, last, R1, Rsas2, mask1, mu_cdf, S, A)`` built by
:func:`mdpkit.solvers.online.online_model`:

* ``P2`` float64 ``(S*A, S)`` dense rows ``P[s, a, :]`` (row ``s*A + a``), ``cdf`` their
  cumulative sums, ``last`` int64 ``(S*A,)`` the last successor with positive probability;
* ``R1`` float64 ``(S*A,)`` expected rewards, ``Rsas2`` float64 ``(S*A, S)`` realised reward of
  each transition (``R`` broadcast when the model has no ``R_sas``);
* ``mask1`` bool ``(S*A,)``; ``mu_cdf`` float64 ``(S,)`` cumulative initial law; ``S``, ``A`` int.

Randomness comes in as uniforms pre-drawn by the caller from its ``numpy.random.Generator``
(``u0`` for the start state of each episode, ``u`` for each transition), so every kernel is a
deterministic function of its inputs and has a plain-numpy twin (the ``*_numpy`` functions at
the end of this module, used as test oracles and as the benchmark's reference) that consumes
the same uniforms.  A next state is drawn by inversion: the first ``j`` with ``u < cdf[row, j]``
(``last[row]`` if rounding leaves none).

Per-episode outputs: ``out_f (K, 3)`` float64 = (exact regret ``V*_1(s_1) - V^{pi_k}_1(s_1)``,
realised return, optimism gap ``min_{h,s,a} (Q_{k,h} - Q*_h)`` or NaN); ``out_i (K, 2)`` int64 =
(start state, first action).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = [
    "eval_nonstationary",
    "evi_average",
    "optimistic_q_run",
    "optimistic_row",
    "ovm_run",
    "psrl_episode",
    "qlearning_run",
    "ucbvi_run",
    "ucrl2_run",
]

#: algorithm codes of :func:`optimistic_q_run` and :func:`ucbvi_run` (``ip[0]``)
HOEFFDING, BERNSTEIN = 0, 1


# ----------------------------------------------------------------------------- helpers
@njit(cache=True)
def _draw(cdf, last, row, u):
    j = 0
    lst = last[row]
    while j < lst:
        if u < cdf[row, j]:
            return j
        j += 1
    return lst


@njit(cache=True)
def _draw_start(mu_cdf, u):
    S = mu_cdf.shape[0]
    j = 0
    while j < S - 1:
        if u < mu_cdf[j]:
            return j
        j += 1
    return S - 1


@njit(cache=True)
def eval_nonstationary(om, pol, v):
    """Exact finite-horizon value of a deterministic non-stationary policy ``pol (H, S)``.

    ``v (H+1, S)`` is overwritten: ``v[H] = 0``, ``v[h, s] = R(s, pi_h(s)) + sum_s' P v[h+1]``.
    """
    P2, cdf, last, R1, Rsas2, mask1, mu_cdf, S, A = om
    H = pol.shape[0]
    for s in range(S):
        v[H, s] = 0.0
    for h in range(H - 1, -1, -1):
        for s in range(S):
            row = s * A + pol[h, s]
            acc = 0.0
            for y in range(S):
                acc += P2[row, y] * v[h + 1, y]
            v[h, s] = R1[row] + acc


@njit(cache=True)
def _greedy(q, h, s, A, mask1):
    best = -np.inf
    ba = -1
    for a in range(A):
        if mask1[s * A + a] and q[h, s * A + a] > best:
            best = q[h, s * A + a]
            ba = a
    if ba < 0:  # all available actions at -inf: take the first available one
        for a in range(A):
            if mask1[s * A + a]:
                return a, best
    return ba, best


@njit(cache=True)
def _optimism_gap(q, qstar, mask1):
    g = np.inf
    for h in range(q.shape[0]):
        for i in range(q.shape[1]):
            if mask1[i]:
                d = q[h, i] - qstar[h, i]
                if d < g:
                    g = d
    return g


@njit(cache=True)
def _rollout(om, pol, vstar, vpi, u0k, uk, out_f, out_i, k, nsas, nsa, nh):
    """Evaluate ``pol`` exactly, then run one episode with it, counting transitions."""
    P2, cdf, last, R1, Rsas2, mask1, mu_cdf, S, A = om
    H = pol.shape[0]
    eval_nonstationary(om, pol, vpi)
    s = _draw_start(mu_cdf, u0k)
    out_i[k, 0] = s
    out_i[k, 1] = pol[0, s]
    out_f[k, 0] = vstar[0, s] - vpi[0, s]
    ret = 0.0
    for h in range(H):
        nh[h, s] += 1
        a = pol[h, s]
        row = s * A + a
        y = _draw(cdf, last, row, uk[h])
        ret += Rsas2[row, y]
        nsas[row, y] += 1
        nsa[row] += 1
        s = y
    nh[H, s] += 1
    out_f[k, 1] = ret


# ----------------------------------------------------------------------------- UCBVI
@njit(cache=True)
def ucbvi_run(om, ref, u0, u, ip, fp, out_f, out_i):
    """UCBVI (Azar, Osband & Munos 2017, Algorithms 1-4) for ``K`` episodes of length ``H``.

    ``ref = (qstar (H, S*A), vstar (H+1, S))`` of the true model; ``ip = (kind, H, K)`` with
    ``kind`` 0 = Chernoff-Hoeffding bonus (Alg. 3), 1 = Bernstein-Freedman bonus (Alg. 4);
    ``fp = (L, bonus_scale)`` with ``L = ln(5 S A T / delta)``.  The known reward ``R1`` is used
    (the paper's setting).  Q-values: ``H`` on unvisited pairs, else
    ``min(Q_{k-1,h}, H, R + P_hat V_{h+1} + scale * b)``.
    """
    P2, cdf, last, R1, Rsas2, mask1, mu_cdf, S, A = om
    qstar, vstar = ref
    kind, H, K = ip[0], ip[1], ip[2]
    L, scale = fp[0], fp[1]
    SA = S * A
    Hf = float(H)
    nsas = np.zeros((SA, S), np.int64)
    nsa = np.zeros(SA, np.int64)
    nh = np.zeros((H + 1, S), np.int64)
    q = np.full((H, SA), Hf)
    v = np.zeros((H + 1, S))
    vpi = np.zeros((H + 1, S))
    pol = np.zeros((H, S), np.int64)
    c3 = 100.0 ** 2 * Hf ** 3 * float(S) ** 2 * float(A) * L * L
    phat = np.zeros((SA, S))
    cap = np.zeros(S)
    for k in range(K):
        # the empirical kernel is fixed within an episode: build it once, not once per step
        for i in range(SA):
            if nsa[i] > 0:
                nf = float(nsa[i])
                for y in range(S):
                    phat[i, y] = nsas[i, y] / nf
        for s in range(S):
            v[H, s] = 0.0
        for h in range(H - 1, -1, -1):
            if kind == BERNSTEIN:
                for y in range(S):
                    m = nh[h + 1, y]
                    cap[y] = Hf * Hf if m == 0 else min(c3 / float(m), Hf * Hf)
            for s in range(S):
                for a in range(A):
                    i = s * A + a
                    if not mask1[i]:
                        q[h, i] = -np.inf
                        continue
                    n = nsa[i]
                    if n == 0:
                        q[h, i] = Hf
                        continue
                    nf = float(n)
                    pv = 0.0
                    pv2 = 0.0
                    for y in range(S):
                        p = phat[i, y]
                        pv += p * v[h + 1, y]
                        pv2 += p * v[h + 1, y] * v[h + 1, y]
                    if kind == HOEFFDING:
                        b = 7.0 * Hf * L * math.sqrt(1.0 / nf)
                    else:
                        var = max(pv2 - pv * pv, 0.0)
                        extra = 0.0
                        for y in range(S):
                            extra += phat[i, y] * cap[y]
                        b = (math.sqrt(8.0 * L * var / nf) + 14.0 * Hf * L / (3.0 * nf)
                             + math.sqrt(8.0 * extra / nf))
                    val = R1[i] + pv + scale * b
                    q[h, i] = min(q[h, i], Hf, val)
                a_best, best = _greedy(q, h, s, A, mask1)
                pol[h, s] = a_best
                v[h, s] = best
        out_f[k, 2] = _optimism_gap(q, qstar, mask1)
        _rollout(om, pol, vstar, vpi, u0[k], u[k], out_f, out_i, k, nsas, nsa, nh)


# ----------------------------------------------------------------------------- UCB-H / UCB-B
@njit(cache=True)
def optimistic_q_run(om, ref, u0, u, ip, fp, out_f, out_i):
    """Q-learning with UCB-Hoeffding / UCB-Bernstein (Jin, Allen-Zhu, Bubeck & Jordan 2018).

    ``ip = (kind, H, K)`` (0 = UCB-H, Alg. 1; 1 = UCB-B, Alg. 2); ``fp = (iota, c, c1, c2,
    bonus_scale)``.  Learning rate ``alpha_t = (H+1)/(H+t)``; UCB-H bonus
    ``b_t = c sqrt(H^3 iota / t)``; UCB-B ``beta_t = min(c1 (sqrt(H/t (W_t + H) iota) +
    sqrt(H^7 S A) iota / t), c2 sqrt(H^3 iota / t))``, ``b_t = (beta_t - (1-alpha_t) beta_{t-1}) /
    (2 alpha_t)``, ``W_t`` the empirical variance of the ``V_{h+1}`` values seen after ``(s, a)``
    at step ``h``.  The observed (realised) reward is used in the update.
    """
    P2, cdf, last, R1, Rsas2, mask1, mu_cdf, S, A = om
    qstar, vstar = ref
    kind, H, K = ip[0], ip[1], ip[2]
    iota, c, c1, c2, scale = fp[0], fp[1], fp[2], fp[3], fp[4]
    SA = S * A
    Hf = float(H)
    q = np.full((H, SA), Hf)
    for h in range(H):
        for i in range(SA):
            if not mask1[i]:
                q[h, i] = -np.inf
    v = np.zeros((H + 1, S))
    for h in range(H):
        for s in range(S):
            v[h, s] = Hf
    n = np.zeros((H, SA), np.int64)
    s1 = np.zeros((H, SA))
    s2 = np.zeros((H, SA))
    beta_prev = np.zeros((H, SA))
    pol = np.zeros((H, S), np.int64)
    vpi = np.zeros((H + 1, S))
    big = math.sqrt(Hf ** 7 * float(S) * float(A))
    for k in range(K):
        for h in range(H):
            for s in range(S):
                pol[h, s] = _greedy(q, h, s, A, mask1)[0]
        out_f[k, 2] = _optimism_gap(q, qstar, mask1)
        eval_nonstationary(om, pol, vpi)
        s = _draw_start(mu_cdf, u0[k])
        out_i[k, 0] = s
        out_i[k, 1] = pol[0, s]
        out_f[k, 0] = vstar[0, s] - vpi[0, s]
        ret = 0.0
        for h in range(H):
            a = pol[h, s]
            i = s * A + a
            y = _draw(cdf, last, i, u[k, h])
            r = Rsas2[i, y]
            ret += r
            n[h, i] += 1
            t = float(n[h, i])
            alpha = (Hf + 1.0) / (Hf + t)
            vn = v[h + 1, y]
            if kind == HOEFFDING:
                b = c * math.sqrt(Hf ** 3 * iota / t)
            else:
                s1[h, i] += vn
                s2[h, i] += vn * vn
                mean = s1[h, i] / t
                w = max(s2[h, i] / t - mean * mean, 0.0)
                beta = min(c1 * (math.sqrt(Hf / t * (w + Hf) * iota) + big * iota / t),
                           c2 * math.sqrt(Hf ** 3 * iota / t))
                b = (beta - (1.0 - alpha) * beta_prev[h, i]) / (2.0 * alpha)
                beta_prev[h, i] = beta
            q[h, i] = (1.0 - alpha) * q[h, i] + alpha * (r + vn + scale * b)
            best = _greedy(q, h, s, A, mask1)[1]
            v[h, s] = min(Hf, best)
            s = y
        out_f[k, 1] = ret


# ----------------------------------------------------------------------------- PSRL
@njit(cache=True)
def psrl_episode(om, ref, psamp, u0k, uk, k, counts, out_f, out_i):
    """One PSRL episode (Osband, Russo & Van Roy 2013): plan on the sampled kernel ``psamp``
    ``(S*A, S)`` by backward induction with the known rewards, evaluate the policy exactly on the
    true model, run it; ``counts = (nsas (S*A, S), nsa (S*A,), nh (H+1, S))`` are updated."""
    P2, cdf, last, R1, Rsas2, mask1, mu_cdf, S, A = om
    qstar, vstar = ref
    nsas, nsa, nh = counts
    H = vstar.shape[0] - 1
    w = np.zeros((H + 1, S))
    pol = np.zeros((H, S), np.int64)
    vpi = np.zeros((H + 1, S))
    for h in range(H - 1, -1, -1):
        for s in range(S):
            best = -np.inf
            ba = -1
            for a in range(A):
                i = s * A + a
                if not mask1[i]:
                    continue
                acc = 0.0
                for y in range(S):
                    acc += psamp[i, y] * w[h + 1, y]
                val = R1[i] + acc
                if ba < 0 or val > best:
                    best = val
                    ba = a
            pol[h, s] = ba
            w[h, s] = best
    out_f[k, 2] = np.nan
    _rollout(om, pol, vstar, vpi, u0k, uk, out_f, out_i, k, nsas, nsa, nh)


# ----------------------------------------------------------------------------- UCRL2
@njit(cache=True)
def _order_desc(u, order):
    """Indices of ``u`` by decreasing value, ties by index (a stable insertion sort: S is small
    here, and it compiles in a fraction of the time of ``np.argsort``)."""
    n = u.shape[0]
    for i in range(n):
        order[i] = i
    for i in range(1, n):
        x = order[i]
        j = i - 1
        while j >= 0 and u[order[j]] < u[x]:
            order[j + 1] = order[j]
            j -= 1
        order[j + 1] = x


@njit(cache=True)
def optimistic_row(prow, d, u, order, p):
    """``max { p . u : p in the simplex, ||p - prow||_1 <= d }`` (Jaksch et al. 2010, Fig. 2).

    ``order`` sorts ``u`` decreasingly; ``p`` receives the maximiser: mass ``d/2`` moves to the
    best state, taken from the worst ones first.
    """
    S = prow.shape[0]
    for y in range(S):
        p[y] = prow[y]
    top = order[0]
    p[top] = min(1.0, prow[top] + d / 2.0)
    tot = 0.0
    for y in range(S):
        tot += p[y]
    j = S - 1
    while tot > 1.0 and j > 0:
        y = order[j]
        rest = tot - p[y]
        p[y] = max(0.0, 1.0 - rest)
        tot = rest + p[y]
        j -= 1
    acc = 0.0
    for y in range(S):
        acc += p[y] * u[y]
    return acc


@njit(cache=True)
def evi_average(phat, rtil, dist, mask1, S, A, eps, max_iter, u, pol):
    """Extended value iteration (Jaksch, Ortner & Auer 2010, Sec. 3.1.2 and Fig. 2).

    ``phat (S*A, S)`` empirical kernel, ``rtil (S*A,)`` optimistic rewards, ``dist (S*A,)`` L1
    radii.  Iterates ``u_{i+1}(s) = max_a (rtil + max_{p in ball} p . u_i)`` until
    ``sp(u_{i+1} - u_i) < eps``; writes the greedy policy to ``pol`` and the last ``u``.
    Returns the number of iterations (``max_iter + 1`` if the rule never held).
    """
    order = np.empty(S, np.int64)
    unew = np.empty(S)
    p = np.empty(S)
    for it in range(max_iter):
        _order_desc(u, order)
        for s in range(S):
            best = -np.inf
            ba = -1
            for a in range(A):
                i = s * A + a
                if not mask1[i]:
                    continue
                val = rtil[i] + optimistic_row(phat[i], dist[i], u, order, p)
                if ba < 0 or val > best:
                    best = val
                    ba = a
            unew[s] = best
            pol[s] = ba
        dmax = -np.inf
        dmin = np.inf
        for s in range(S):
            d = unew[s] - u[s]
            dmax = max(dmax, d)
            dmin = min(dmin, d)
        umin = unew.min()
        for s in range(S):
            u[s] = unew[s] - umin  # shifting keeps u bounded; the span rule is shift-invariant
        if dmax - dmin < eps:
            return it + 1
    return max_iter + 1


@njit(cache=True)
def ucrl2_run(om, u, fp, ip, acts, rews, states, ep_start, evi_iters):
    """UCRL2 (Jaksch, Ortner & Auer 2010, Fig. 1) for ``T = u.shape[0]`` steps from ``states[0]``.

    ``fp = (delta, scale, stop_ratio)``, ``ip = (max_evi_iter,)``.  Episode ``k`` starts at ``t_k``; radii
    ``sqrt(7 ln(2 S A t_k / delta) / (2 max(1, N)))`` (rewards) and
    ``sqrt(14 S ln(2 A t_k / delta) / max(1, N))`` (L1, transitions), times ``scale``; EVI to
    accuracy ``1/sqrt(t_k)``; the episode ends when some ``v_k(s, a)`` reaches
    ``max(1, stop_ratio * N_k(s, a))`` (the paper: ``stop_ratio = 1``).
    Writes actions, realised rewards, states (``states[t]`` before step ``t``) and the start
    step of each episode (``ep_start``, -1 after the last) and the sweeps extended value iteration
    took in it (``evi_iters``; ``max_evi_iter + 1`` when its stopping rule never held); returns the
    number of episodes.
    """
    P2, cdf, last, R1, Rsas2, mask1, mu_cdf, S, A = om
    delta, scale, ratio = fp[0], fp[1], fp[2]
    max_iter = ip[0]
    T = u.shape[0]
    SA = S * A
    nsa = np.zeros(SA)
    nsas = np.zeros((SA, S))
    rsum = np.zeros(SA)
    vk = np.zeros(SA)
    phat = np.zeros((SA, S))
    rtil = np.zeros(SA)
    dist = np.zeros(SA)
    uu = np.zeros(S)
    pol = np.zeros(S, np.int64)
    s = states[0]
    t = 0
    m = 0
    for j in range(ep_start.shape[0]):
        ep_start[j] = -1
    while t < T:
        ep_start[m] = t
        m += 1
        tk = float(t + 1)  # the paper counts steps from 1
        for i in range(SA):
            nn = max(1.0, nsa[i])
            for y in range(S):
                phat[i, y] = nsas[i, y] / nn if nsa[i] > 0 else 0.0
            if nsa[i] == 0:
                phat[i, 0] = 1.0  # any distribution: the L1 radius (>= 2) makes the ball the simplex
            rtil[i] = rsum[i] / nn + scale * math.sqrt(7.0 * math.log(2.0 * S * A * tk / delta) / (2.0 * nn))
            dist[i] = scale * math.sqrt(14.0 * S * math.log(2.0 * A * tk / delta) / nn)
            vk[i] = 0.0
        for y in range(S):
            uu[y] = 0.0
        evi_iters[m - 1] = evi_average(phat, rtil, dist, mask1, S, A, 1.0 / math.sqrt(tk), max_iter, uu, pol)
        while t < T:
            a = pol[s]
            i = s * A + a
            if vk[i] >= max(1.0, ratio * nsa[i]):
                break
            y = _draw(cdf, last, i, u[t])
            r = Rsas2[i, y]
            acts[t] = a
            rews[t] = r
            vk[i] += 1.0
            t += 1
            if t < T:
                states[t] = y
            s = y
            # counts enter the estimates only at the next episode (N_k is frozen within one)
            nsas[i, y] += 1.0
            rsum[i] += r
        for i in range(SA):
            nsa[i] += vk[i]
    return m


# ----------------------------------------------------------------------------- Q-learning (discounted)
@njit(cache=True)
def qlearning_run(om, gamma, u, sched, fp, q, checkpoints, qstar, errs):
    """Discounted Q-learning (Watkins & Dayan 1992) with the step sizes of Even-Dar & Mansour 2003.

    ``u`` ``(n_iter, S*A)`` uniforms: with ``fp[1] == 0`` (generative model, synchronous) every
    pair is updated once per iteration from its own sample; with ``fp[1] == 1`` (one trajectory)
    ``u[t, 0]`` draws the next state and ``u[t, 1]`` the behaviour action (uniform over the
    available actions).  ``sched`` 0 = ``1/n^omega`` (polynomial, ``fp[0] = omega``; 1 = linear),
    1 = constant ``fp[0]``.  ``n`` counts the updates of the pair.  ``errs[j]`` =
    ``max |Q - Q*|`` after ``checkpoints[j]`` iterations.
    """
    P2, cdf, last, R1, Rsas2, mask1, mu_cdf, S, A = om
    omega, mode = fp[0], fp[1]
    SA = S * A
    n = np.zeros(SA)
    vnext = np.empty(S)
    nav = np.zeros(S, np.int64)
    for s in range(S):
        for a in range(A):
            if mask1[s * A + a]:
                nav[s] += 1
    cp = 0
    s = _draw_start(mu_cdf, u[0, 0])
    for t in range(u.shape[0]):
        for y in range(S):
            best = -np.inf
            for a in range(A):
                if mask1[y * A + a] and q[y * A + a] > best:
                    best = q[y * A + a]
            vnext[y] = best
        if mode == 0.0:
            for i in range(SA):
                if not mask1[i]:
                    continue
                y = _draw(cdf, last, i, u[t, i])
                n[i] += 1.0
                alpha = omega if sched == 1 else 1.0 / n[i] ** omega
                q[i] += alpha * (Rsas2[i, y] + gamma * vnext[y] - q[i])
        else:
            j = min(int(u[t, 1] * nav[s]), nav[s] - 1)
            a = 0
            for b in range(A):
                if mask1[s * A + b]:
                    if j == 0:
                        a = b
                        break
                    j -= 1
            i = s * A + a
            y = _draw(cdf, last, i, u[t, 0])
            n[i] += 1.0
            alpha = omega if sched == 1 else 1.0 / n[i] ** omega
            q[i] += alpha * (Rsas2[i, y] + gamma * vnext[y] - q[i])
            s = y
        while cp < checkpoints.shape[0] and checkpoints[cp] == t + 1:
            e = 0.0
            for i in range(SA):
                if mask1[i]:
                    e = max(e, abs(q[i] - qstar[i]))
            errs[cp] = e
            cp += 1


# ----------------------------------------------------------------------------- orchestrated value mapping
@njit(cache=True)
def _fmap(kind, c, d, x):
    if kind == 0:
        return x
    return c * math.log(x + d)


@njit(cache=True)
def _finv(kind, c, d, x):
    if kind == 0:
        return x
    return math.exp(x / c) - d


@njit(cache=True)
def ovm_run(om, gamma, u, lam, rch, fmaps, fp, qt, checkpoints, qstar, errs):
    """Orchestrated value mapping Q-learning (Fatemi & Tavakoli 2022), generative model.

    Channels ``j``: reward ``rch[j] (S*A, S)`` with ``r = sum_j lam[j] rch[j]``, mapping
    ``fmaps[j] = (kind, c, d)`` (kind 0 identity, 1 ``c ln(x + d)``), table ``qt[j] (S*A,)`` in
    mapped space.  Per pair and iteration: ``a* = argmax_a' sum_j lam_j f_j^{-1}(qt_j(s', a'))``,
    ``U_j = r_j + gamma f_j^{-1}(qt_j(s', a*))``, ``hat_j = f_j^{-1}(qt_j) + beta_reg (U_j -
    f_j^{-1}(qt_j))``, ``qt_j += beta_f (f_j(hat_j) - qt_j)``; regular-space step
    ``beta_reg = 1/n^omega`` (``n`` the pair's update count), constant mapping-space step
    ``beta_f``; ``fp = (omega, beta_f)``.  ``errs[j]`` = ``max |sum_j lam_j f_j^{-1}(qt_j) - Q*|``.
    """
    P2, cdf, last, R1, Rsas2, mask1, mu_cdf, S, A = om
    omega, bf = fp[0], fp[1]
    J = lam.shape[0]
    SA = S * A
    n = np.zeros(SA)
    astar = np.zeros(S, np.int64)
    qn = np.empty(SA)
    qold = np.empty_like(qt)
    cp = 0
    for t in range(u.shape[0]):
        qold[:, :] = qt  # synchronous: every target reads the tables of the previous iteration
        for i in range(SA):
            acc = 0.0
            for j in range(J):
                acc += lam[j] * _finv(int(fmaps[j, 0]), fmaps[j, 1], fmaps[j, 2], qt[j, i])
            qn[i] = acc
        for y in range(S):
            best = -np.inf
            for a in range(A):
                if mask1[y * A + a] and qn[y * A + a] > best:
                    best = qn[y * A + a]
                    astar[y] = a
        for i in range(SA):
            if not mask1[i]:
                continue
            y = _draw(cdf, last, i, u[t, i])
            n[i] += 1.0
            beta_reg = 1.0 / n[i] ** omega
            ia = y * A + astar[y]
            for j in range(J):
                kind, c, d = int(fmaps[j, 0]), fmaps[j, 1], fmaps[j, 2]
                cur = _finv(kind, c, d, qt[j, i])
                target = rch[j, i, y] + gamma * _finv(kind, c, d, qold[j, ia])
                hat = cur + beta_reg * (target - cur)
                qt[j, i] += bf * (_fmap(kind, c, d, hat) - qt[j, i])
        while cp < checkpoints.shape[0] and checkpoints[cp] == t + 1:
            e = 0.0
            for i in range(SA):
                if mask1[i]:
                    acc = 0.0
                    for j in range(J):
                        acc += lam[j] * _finv(int(fmaps[j, 0]), fmaps[j, 1], fmaps[j, 2], qt[j, i])
                    e = max(e, abs(acc - qstar[i]))
            errs[cp] = e
            cp += 1


# ============================================================================= numpy twins
def _draw_np(cdf_row, last_row, u):
    j = int(np.searchsorted(cdf_row, u, side="right"))
    return min(j, int(last_row))


def eval_nonstationary_numpy(P2, R1, pol, S, A):
    H = pol.shape[0]
    v = np.zeros((H + 1, S))
    for h in range(H - 1, -1, -1):
        rows = np.arange(S) * A + pol[h]
        v[h] = R1[rows] + P2[rows] @ v[h + 1]
    return v


def _greedy_np(qrow, maskrow):
    x = np.where(maskrow, qrow, -np.inf)
    return int(np.argmax(x)), float(np.max(x))


def ucbvi_numpy(om, ref, u0, u, ip, fp):
    """Plain-numpy twin of :func:`ucbvi_run` (vectorized over state-action pairs)."""
    P2, cdf, last, R1, Rsas2, mask1, mu_cdf, S, A = om
    qstar, vstar = ref
    kind, H, K = (int(x) for x in ip)
    L, scale = float(fp[0]), float(fp[1])
    SA = S * A
    nsas = np.zeros((SA, S))
    nsa = np.zeros(SA)
    nh = np.zeros((H + 1, S))
    q = np.full((H, SA), float(H))
    out_f = np.zeros((K, 3))
    out_i = np.zeros((K, 2), np.int64)
    c3 = 100.0 ** 2 * H ** 3 * S ** 2 * A * L * L
    for k in range(K):
        v = np.zeros((H + 1, S))
        pol = np.zeros((H, S), np.int64)
        seen = nsa > 0
        nn = np.maximum(nsa, 1.0)
        phat = nsas / nn[:, None]
        for h in range(H - 1, -1, -1):
            pv = phat @ v[h + 1]
            if kind == HOEFFDING:
                b = 7.0 * H * L * np.sqrt(1.0 / nn)
            else:
                var = np.maximum(phat @ (v[h + 1] ** 2) - pv ** 2, 0.0)
                m = nh[h + 1]
                cap = np.where(m == 0, float(H * H), np.minimum(c3 / np.maximum(m, 1.0), float(H * H)))
                b = np.sqrt(8.0 * L * var / nn) + 14.0 * H * L / (3.0 * nn) + np.sqrt(8.0 * (phat @ cap) / nn)
            val = np.minimum(np.minimum(q[h], float(H)), R1 + pv + scale * b)
            q[h] = np.where(seen, val, float(H))
            q[h][~mask1] = -np.inf
            qm = q[h].reshape(S, A)
            pol[h] = np.argmax(qm, axis=1)
            v[h] = qm.max(axis=1)
        out_f[k, 2] = np.min((q - qstar)[:, mask1])
        vpi = eval_nonstationary_numpy(P2, R1, pol, S, A)
        s = _draw_np(mu_cdf, S - 1, u0[k])
        out_i[k] = (s, pol[0, s])
        out_f[k, 0] = vstar[0, s] - vpi[0, s]
        ret = 0.0
        for h in range(H):
            nh[h, s] += 1
            i = s * A + pol[h, s]
            y = _draw_np(cdf[i], last[i], u[k, h])
            ret += Rsas2[i, y]
            nsas[i, y] += 1
            nsa[i] += 1
            s = y
        nh[H, s] += 1
        out_f[k, 1] = ret
    return out_f, out_i


def optimistic_q_numpy(om, ref, u0, u, ip, fp):
    """Plain-numpy twin of :func:`optimistic_q_run`."""
    P2, cdf, last, R1, Rsas2, mask1, mu_cdf, S, A = om
    qstar, vstar = ref
    kind, H, K = (int(x) for x in ip)
    iota, c, c1, c2, scale = (float(x) for x in fp)
    SA = S * A
    q = np.full((H, SA), float(H))
    q[:, ~mask1] = -np.inf
    v = np.zeros((H + 1, S))
    v[:H] = H
    n = np.zeros((H, SA))
    s1 = np.zeros((H, SA))
    s2 = np.zeros((H, SA))
    bprev = np.zeros((H, SA))
    out_f = np.zeros((K, 3))
    out_i = np.zeros((K, 2), np.int64)
    big = math.sqrt(H ** 7 * S * A)
    for k in range(K):
        pol = np.argmax(q.reshape(H, S, A), axis=2)
        out_f[k, 2] = np.min((q - qstar)[:, mask1])
        vpi = eval_nonstationary_numpy(P2, R1, pol, S, A)
        s = _draw_np(mu_cdf, S - 1, u0[k])
        out_i[k] = (s, pol[0, s])
        out_f[k, 0] = vstar[0, s] - vpi[0, s]
        ret = 0.0
        for h in range(H):
            i = s * A + pol[h, s]
            y = _draw_np(cdf[i], last[i], u[k, h])
            r = Rsas2[i, y]
            ret += r
            n[h, i] += 1
            t = n[h, i]
            alpha = (H + 1.0) / (H + t)
            vn = v[h + 1, y]
            if kind == HOEFFDING:
                b = c * math.sqrt(H ** 3 * iota / t)
            else:
                s1[h, i] += vn
                s2[h, i] += vn * vn
                mean = s1[h, i] / t
                w = max(s2[h, i] / t - mean * mean, 0.0)
                beta = min(c1 * (math.sqrt(H / t * (w + H) * iota) + big * iota / t), c2 * math.sqrt(H ** 3 * iota / t))
                b = (beta - (1.0 - alpha) * bprev[h, i]) / (2.0 * alpha)
                bprev[h, i] = beta
            q[h, i] = (1.0 - alpha) * q[h, i] + alpha * (r + vn + scale * b)
            v[h, s] = min(float(H), _greedy_np(q[h, s * A:(s + 1) * A], mask1[s * A:(s + 1) * A])[1])
            s = y
        out_f[k, 1] = ret
    return out_f, out_i


def qlearning_numpy(om, gamma, u, sched, fp, q, checkpoints, qstar):
    """Plain-numpy twin of :func:`qlearning_run` (generative-model mode only)."""
    P2, cdf, last, R1, Rsas2, mask1, mu_cdf, S, A = om
    omega = float(fp[0])
    q = q.copy()
    n = np.zeros(S * A)
    errs = []
    rows = np.flatnonzero(mask1)
    cps = set(int(c) for c in checkpoints)
    for t in range(u.shape[0]):
        vnext = np.where(mask1, q, -np.inf).reshape(S, A).max(axis=1)
        ys = np.array([_draw_np(cdf[i], last[i], u[t, i]) for i in rows], dtype=np.int64)
        n[rows] += 1.0
        alpha = np.full(rows.size, omega) if sched == 1 else 1.0 / n[rows] ** omega
        q[rows] += alpha * (Rsas2[rows, ys] + gamma * vnext[ys] - q[rows])
        if t + 1 in cps:
            errs.append(float(np.max(np.abs(q[rows] - qstar[rows]))))
    return q, np.array(errs)
