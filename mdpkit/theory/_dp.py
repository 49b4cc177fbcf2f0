"""Registered theorem checks for exact dynamic programming (discounted and average reward).

Each check's docstring-level facts (statement, source) live in its :class:`Theorem` record; the
functions below only run the subject and assemble the observed and bound arrays.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

from mdpkit import bounds
from mdpkit.policies import bellman_operator, greedy_policy, occupancy_measure, policy_evaluation, policy_matrices, q_from_v
from mdpkit.solvers import modified_policy_iteration, policy_iteration, relative_value_iteration, value_iteration

from ._core import Observation, Theorem, register
from ._instances import (
    dense_mdps,
    discounted_mdps,
    edge_cases,
    edge_cases_two_states,
    optimal_gain,
    optimal_value,
    positive_mdps,
    value_scale,
)

PUTERMAN = "Puterman 1994"
SLACK = 1e-9  # relative round-off slack, times the instance's value scale


def slack(mdp) -> float:
    return SLACK * value_scale(mdp)


def wrong_gamma(mdp):
    """The negative controls' mistake: a discount halfway between gamma and 1 (0.5 for gamma = 0)."""
    g = mdp.gamma
    return mdp.with_gamma(0.5 if g == 0.0 else 0.5 * (1.0 + g))


def _n_sweeps(gamma: float, cap: int = 150) -> int:
    if gamma == 0.0:
        return 3
    return int(min(cap, math.ceil(math.log(1e-12) / math.log(gamma)) + 1))


def sup_norm(x) -> float:
    return float(np.max(np.abs(x))) if np.size(x) else 0.0


def _sp(x) -> float:
    return float(np.max(x) - np.min(x)) if np.size(x) else 0.0


def start_vector(mdp, rng) -> np.ndarray:
    return rng.uniform(-1.0, 1.0, mdp.S) * value_scale(mdp)


# ----------------------------------------------------------------------------- subjects
def bellman(mdp, v):
    """Default subject: the Bellman optimality operator, ``(mdp, v) -> T v``."""
    return bellman_operator(mdp, v)[0]


def bellman_wrong_discount(mdp, v):
    """Negative control: the Bellman operator with the wrong discount."""
    return bellman_operator(wrong_gamma(mdp), v)[0]


def vi_wrong_discount(mdp, **kw):
    """Negative control: value iteration run on the model with the wrong discount."""
    return value_iteration(wrong_gamma(mdp), **kw)


#: step size of the damped operators used as negative controls of rate and contraction claims
DAMPING = 0.5


def bellman_damped(mdp, v):
    """Negative control: damped VI ``v + w (T v - v)``, w = 1/2: same fixed point v*, modulus 1 - w + w gamma > gamma.

    It breaks exactly the claimed rate (and the a posteriori bound, whose step is shrunk by w)
    while keeping the fixed point, so the check fails because the property failed.
    """
    v = np.asarray(v, dtype=float)
    return v + DAMPING * (bellman_operator(mdp, v)[0] - v)


def two_state_tight(gamma=0.9, r=1.0):
    """Two states with identical rows: a constant offset v_0 = v* + c decays by exactly gamma per sweep."""
    from mdpkit.model import TabularMDP

    P = np.full((2, 2, 2), 0.5)
    R = np.array([[r, r - 1.0], [r, r - 2.0]])
    return TabularMDP(P, R, gamma, name=f"tight-two-state(gamma={gamma:g})")


def _tight_contraction():
    return [two_state_tight(0.9), two_state_tight(0.5)]


def singh_yee(gamma=0.9, eps=1.0, nudge=1e-9):
    """Singh & Yee's tight example: ||V - V*|| = eps and greedy loss 2 gamma eps / (1 - gamma), up to ``nudge``.

    State 0: action 0 ("stay", reward r_s, self-loop) or action 1 ("go", reward 0, to state 1);
    state 1 absorbing with reward (1 - gamma) 10, so V*(1) = 10.  Going is optimal, V*(0) = gamma V*(1); staying is worse by exactly 2 gamma eps in Q, so for
    V = V* + (eps, -eps) both actions tie and the nudge makes staying greedy: the loss is
    2 gamma eps/(1 - gamma) - nudge/(1 - gamma).  The same V gives sp(TV - V) = 2 eps, so the
    greedy span certificate gamma/(1-gamma) sp(TV - V) is attained too.  Constructed after the
    tightness discussion in Szepesvari's RL Theory notes, Lecture 3; Singh & Yee (1994).
    """
    from mdpkit.model import TabularMDP

    v1 = 10.0
    v0 = gamma * v1
    r_s = (1.0 - gamma) * v0 - 2.0 * gamma * eps + nudge
    P = np.zeros((2, 2, 2))
    P[0, 0, 0] = 1.0
    P[0, 1, 1] = 1.0
    P[1, :, 1] = 1.0
    R = np.array([[r_s, 0.0], [(1.0 - gamma) * v1, (1.0 - gamma) * v1 - 1.0]])
    return TabularMDP(P, R, gamma, name=f"singh-yee(gamma={gamma:g})")


# ----------------------------------------------------------------------------- VI: a priori
def _vi_trace(mdp, rng, T, noise=0.0):
    vstar = optimal_value(mdp)
    v = start_vector(mdp, rng)
    if mdp.name.startswith("tight") or rng.random() < 0.3:  # v_0 = v* + c: every sweep shrinks the error by gamma
        v = vstar + float(rng.choice([-1.0, 1.0])) * value_scale(mdp)
    K = _n_sweeps(mdp.gamma)
    vs = [v]
    for _ in range(K):
        v = np.asarray(T(mdp, v), dtype=float)
        if noise:
            v = v + noise * rng.choice([-1.0, 1.0], mdp.S) * rng.uniform(0.5, 1.0, mdp.S)
        vs.append(v)
    errs = np.array([sup_norm(x - vstar) for x in vs])
    return vstar, vs, errs


def _run_vi_contraction(mdp, rng, T):
    _, _, errs = _vi_trace(mdp, rng, T)
    k = np.arange(errs.size)
    bnd = np.array([bounds.vi_contraction_bound(mdp.gamma, j, errs[0]).value for j in k])
    # k = 0 holds with equality by construction: compare from k = 1 on
    return Observation(errs[1:], bnd[1:], x=k[1:], atol=slack(mdp), rate_trace=errs,
                       rate_floor=1e-8 * value_scale(mdp), claimed_rate=mdp.gamma)


register(Theorem(
    name="vi-contraction",
    statement="||v_k - v*||_inf <= gamma^k ||v_0 - v*||_inf, and the fitted rate of the error is <= gamma",
    source=f"{PUTERMAN}, Thm 6.2.3 and Thm 6.3.1(a)",
    compare="bound+rate",
    subject=bellman, subject_doc="T(mdp, v) -> (S,) array, the Bellman optimality operator",
    run=_run_vi_contraction, family=discounted_mdps,
    negative=bellman_damped, negative_doc="damped VI v + (Tv - v)/2: same v*, modulus (1+gamma)/2",
    zoo=("gridworld_5x5", "riverswim:gamma=0.9"), claimed_rate="gamma", ylabel="||v_k - v*||_inf",
    tight=_tight_contraction, edge=edge_cases,
))


def _run_vi_posterior(mdp, rng, T):
    _, vs, errs = _vi_trace(mdp, rng, T)
    steps = np.array([sup_norm(vs[j + 1] - vs[j]) for j in range(len(vs) - 1)])
    bnd = np.array([bounds.vi_a_posteriori_bound(mdp.gamma, s).value for s in steps])
    return Observation(errs[1:], bnd, x=np.arange(1, errs.size), atol=slack(mdp))


register(Theorem(
    name="vi-a-posteriori",
    statement="||v_{k+1} - v*||_inf <= gamma/(1-gamma) ||v_{k+1} - v_k||_inf",
    source=f"{PUTERMAN}, Thm 6.3.1 (proof)",
    compare="bound",
    subject=bellman, subject_doc="T(mdp, v) -> (S,) array, the Bellman optimality operator",
    run=_run_vi_posterior, family=discounted_mdps,
    negative=bellman_damped, negative_doc="damped VI v + (Tv - v)/2 (steps shrink, error does not)",
    zoo=("gridworld_5x5",), ylabel="||v_{k+1} - v*||_inf", tight=_tight_contraction, edge=edge_cases,
))


# ----------------------------------------------------------------------------- VI: stopping rule
def _iterate(res) -> np.ndarray:
    """The solver's last raw iterate: ``v_iterate`` where the result has one (mdpkit's estimate
    ``v`` is the certified bracket midpoint, not the iterate these theorems speak of), else ``v``."""
    it = getattr(res, "v_iterate", None)
    return np.asarray(res.v if it is None else it, dtype=float)


def _run_vi_stopping(mdp, rng, solver):
    vstar = optimal_value(mdp)
    eps = float(10.0 ** rng.uniform(-4, -1)) * max(1.0, sup_norm(mdp.R[mdp.action_mask]) if mdp.action_mask.any() else 1.0)
    res = solver(mdp, epsilon=eps, v0=start_vector(mdp, rng))
    v_pi = policy_evaluation(mdp, res.policy)
    obs = np.array([sup_norm(vstar - v_pi), sup_norm(_iterate(res) - vstar)])
    return Observation(obs, np.array([eps, eps / 2.0]), atol=slack(mdp),
                       info={"epsilon": eps, "n_iter": int(res.n_iter)})


def vi_forgets_factor(mdp, *, epsilon, v0=None):
    """Negative control: VI that stops when ||v_{k+1} - v_k|| < epsilon (forgets (1-gamma)/(2 gamma))."""
    g = mdp.gamma
    eps = epsilon if g == 0.0 else epsilon * 2.0 * g / (1.0 - g)
    return value_iteration(mdp, epsilon=eps, v0=v0)


register(Theorem(
    name="vi-stopping-rule",
    statement="stopping at ||v_{n+1}-v_n|| < eps(1-gamma)/(2 gamma) gives ||v* - v_pi|| <= eps and ||v_{n+1} - v*|| < eps/2",
    source=f"{PUTERMAN}, Thm 6.3.1(b)-(d)",
    compare="bound",
    subject=value_iteration, subject_doc="solver(mdp, epsilon=, v0=) -> SolveResult (.policy, .v_iterate or .v)",
    run=_run_vi_stopping, family=discounted_mdps,
    negative=vi_forgets_factor, negative_doc="VI stopping at ||v_{k+1} - v_k|| < eps",
    zoo=("frozenlake:gamma=0.95", "gridworld_5x5", "riverswim:gamma=0.95"), plot="ratio",
))


# ----------------------------------------------------------------------------- span seminorm
def _extremal_pair(mdp):
    """Rows (i, j) with the smallest overlap sum_k min(P_i, P_j), and the indicator of {P_i > P_j}."""
    P2 = mdp.P_dense().reshape(mdp.S * mdp.A, mdp.S)
    rows = np.flatnonzero(mdp.action_mask.reshape(-1))
    P2 = P2[rows]
    ov = np.minimum(P2[:, None, :], P2[None, :, :]).sum(axis=2)
    i, j = np.unravel_index(np.argmin(ov), ov.shape)
    return (P2[i] > P2[j]).astype(float)


def _run_span_contraction(mdp, rng, T):
    delta = bounds.span_contraction_coefficient(mdp.P, mdp.action_mask)
    c = value_scale(mdp)
    pairs = [(rng.uniform(-1, 1, mdp.S) * c, rng.uniform(-1, 1, mdp.S) * c) for _ in range(8)]
    w = _extremal_pair(mdp)
    pairs.append((w * c, np.zeros(mdp.S)))
    pairs.append((np.zeros(mdp.S), -w * c))
    obs, bnd = [], []
    for u, v in pairs:
        obs.append(_sp(np.asarray(T(mdp, u)) - np.asarray(T(mdp, v))))
        bnd.append(bounds.span_contraction_bound(mdp.gamma, delta, _sp(u - v)).value)
    return Observation(np.array(obs), np.array(bnd), atol=slack(mdp), info={"delta": delta})


register(Theorem(
    name="span-contraction",
    statement="sp(T u - T v) <= gamma * delta(P) * sp(u - v), delta(P) = 1 - min over row pairs of sum_j min(p_j, p'_j)",
    source=f"{PUTERMAN}, Sec. 6.6 (span contraction)",
    compare="bound",
    subject=bellman, subject_doc="T(mdp, v) -> (S,) array, the Bellman optimality operator",
    run=_run_span_contraction, family=dense_mdps,
    negative=bellman_damped, negative_doc="damped VI v + (Tv - v)/2: span modulus up to 1/2 + gamma delta/2",
    zoo=("gridworld_4x4:gamma=0.9", "machine_replacement"), plot="ratio",
))


def _run_span_envelope(mdp, rng, solver):
    delta = bounds.span_contraction_coefficient(mdp.P, mdp.action_mask)
    eps = 1e-9 * value_scale(mdp)
    res = solver(mdp, epsilon=eps, stopping="span", v0=start_vector(mdp, rng), max_iter=2000)
    spans = np.asarray(res.spans, dtype=float)
    c = mdp.gamma * delta
    k = np.arange(spans.size)
    env = (c ** k) * spans[0]
    tol = bounds.span_stopping_tol(eps, mdp.gamma) if mdp.gamma > 0 else math.inf
    n_bound = bounds.span_vi_iterations(mdp.gamma, delta, spans[0], tol) if mdp.gamma > 0 else 1
    obs = np.append(spans[1:], res.n_iter)
    bnd = np.append(env[1:], n_bound)
    part = np.append(np.zeros(spans.size - 1, dtype=int), 1)
    return Observation(obs, bnd, x=np.append(k[1:], -1), atol=slack(mdp), part=part,
                       info={"delta": delta, "n_iter": int(res.n_iter), "n_bound": n_bound})


def damped_vi_spans(mdp, *, epsilon, stopping="span", v0=None, max_iter=2000):
    """Negative control: damped VI ``v + (Tv - v)/2`` with the span stopping rule; returns ``.spans``, ``.n_iter``."""
    v = np.zeros(mdp.S) if v0 is None else np.asarray(v0, dtype=float)
    tol = bounds.span_stopping_tol(epsilon, mdp.gamma) if mdp.gamma > 0 else math.inf
    spans = []
    for k in range(1, max_iter + 1):
        v_new = bellman_damped(mdp, v)
        spans.append(_sp(v_new - v))
        v = v_new
        if spans[-1] < tol:
            break
    return SimpleNamespace(spans=np.array(spans), n_iter=k, v=v)


register(Theorem(
    name="vi-span-iterations",
    statement="sp(v_{k+1} - v_k) <= (gamma delta(P))^k sp(v_1 - v_0), so the span rule stops within "
              "1 + ceil(log(tol / sp(v_1 - v_0)) / log(gamma delta)) sweeps",
    source=f"{PUTERMAN}, Sec. 6.6 (span contraction and span stopping)",
    compare="bound",
    subject=value_iteration, subject_doc="solver(mdp, epsilon=, stopping='span', v0=, max_iter=) -> SolveResult "
                                         "with .spans",
    run=_run_span_envelope, family=dense_mdps,
    negative=damped_vi_spans, negative_doc="damped VI v + (Tv - v)/2 with the span rule (slower than claimed)",
    zoo=("gridworld_5x5",), plot="ratio", parts=("span envelope", "iteration count"),
))


def numpy_vi_trace(mdp, v0, K):
    """Plain-numpy VI iterates ``[v_0, T v_0, ..., T^K v_0]`` (an independent route to the backups)."""
    P = mdp.P_dense()
    R = np.where(mdp.action_mask, mdp.R, -np.inf)
    vs = [np.asarray(v0, dtype=float)]
    for _ in range(K):
        vs.append((R + mdp.gamma * (P @ vs[-1])).max(axis=1))
    return vs


def _run_macqueen(mdp, rng, solver):
    vstar = optimal_value(mdp)
    v0 = start_vector(mdp, rng)
    ks = [1, 2, 3, 5, 8, 13, 21, 34]
    vs = numpy_vi_trace(mdp, v0, ks[-1])
    c = mdp.gamma / (1.0 - mdp.gamma)
    obs, bnd, xs, part = [], [], [], []
    for k in ks:
        res = solver(mdp, max_iter=k, v0=v0)
        lo, hi = np.asarray(res.v_lower), np.asarray(res.v_upper)
        mid, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
        n = int(res.n_iter)  # the bracket comes from the solver's last backup (it may stop before k)
        d = vs[n] - vs[n - 1]
        obs += [np.abs(vstar - mid), hi - lo]  # containment, and the bracket's width
        bnd += [half, np.full(mdp.S, c * _sp(d))]  # the theorem's width from the k-th backup
        xs += [np.full(mdp.S, k)] * 2
        part += [np.zeros(mdp.S, int), np.ones(mdp.S, int)]
    return Observation(np.concatenate(obs), np.concatenate(bnd), x=np.concatenate(xs), atol=slack(mdp),
                       part=np.concatenate(part))


def vi_widened_bracket(mdp, *, max_iter, v0=None):
    """Negative control: value iteration whose bracket is widened 1.5x about its midpoint (still contains v*)."""
    res = value_iteration(mdp, max_iter=max_iter, v0=v0)
    mid, half = 0.5 * (res.v_lower + res.v_upper), 0.5 * (res.v_upper - res.v_lower)
    return SimpleNamespace(v_lower=mid - 1.5 * half, v_upper=mid + 1.5 * half, n_iter=res.n_iter)


register(Theorem(
    name="macqueen-bounds",
    statement="v_{n+1} + gamma/(1-gamma) min(v_{n+1}-v_n) <= v* <= v_{n+1} + gamma/(1-gamma) max(v_{n+1}-v_n): "
              "v* lies in the solver's bracket, and the bracket is no wider than gamma/(1-gamma) sp(v_{n+1}-v_n) "
              "(v_n from an independent numpy VI)",
    source=f"MacQueen (1966); Porteus (1971); {PUTERMAN}, Sec. 6.6.2",
    compare="bound",
    subject=value_iteration, subject_doc="solver(mdp, max_iter=, v0=) -> SolveResult with .v_lower, .v_upper",
    run=_run_macqueen, family=discounted_mdps,
    negative=vi_widened_bracket, negative_doc="VI bracket widened 1.5x about its midpoint (contains v*, too wide)",
    zoo=("gridworld_5x5", "machine_replacement"), plot="ratio", ylabel="|v* - midpoint| / half-width",
    parts=("v* in bracket", "width vs theorem"), edge=edge_cases,
))


# ----------------------------------------------------------------------------- greedy policies
def myopic_greedy(mdp, x):
    """Negative control: ignores its argument and acts greedily for the immediate reward."""
    return np.argmax(np.where(mdp.action_mask, mdp.R, -np.inf), axis=1).astype(np.int64)


def _perturbation(mdp, rng, size):
    """Entries +-eps (vertices of the ball, where the bound is tight) or uniform in [-eps, eps]."""
    eps = float(10.0 ** rng.uniform(-3, 0)) * max(1.0, sup_norm(mdp.R[mdp.action_mask]))
    u = rng.choice([-1.0, 1.0], size) if rng.random() < 0.5 else rng.uniform(-1.0, 1.0, size)
    return eps, eps * u


def sign_patterns(rng, n, limit=32):
    """All +-1 vectors of length n when there are at most ``limit``, else ``limit`` random ones."""
    import itertools

    if 2 ** n <= limit:
        return [np.array(p, dtype=float) for p in itertools.product((-1.0, 1.0), repeat=n)]
    return [rng.choice([-1.0, 1.0], n) for _ in range(limit)]


def _run_greedy_v(mdp, rng, greedy):
    """Perturbations V = V* + eps u over every sign pattern u (vertices of the ball, where the bound is
    attained) for a drawn eps and for eps = 1 (Singh & Yee's example is built for eps = 1), plus uniform ones."""
    vstar = optimal_value(mdp)
    eps, _ = _perturbation(mdp, rng, mdp.S)
    noises = [e * u for e in (eps, 1.0) for u in sign_patterns(rng, mdp.S, 16)]
    noises += [eps * rng.uniform(-1.0, 1.0, mdp.S) for _ in range(2)]
    obs, bnd = [], []
    for noise in noises:
        v = vstar + noise
        pi = greedy(mdp, v)
        obs.append(sup_norm(vstar - policy_evaluation(mdp, pi)))
        bnd.append(bounds.greedy_loss_v(mdp.gamma, sup_norm(v - vstar)).value)
    return Observation(np.array(obs), np.array(bnd), atol=slack(mdp), info={"eps": eps})


def _tight_singh_yee():
    return [singh_yee(0.9), singh_yee(0.5)]


register(Theorem(
    name="greedy-loss-v",
    statement="||V - V*|| <= eps and pi greedy for V imply ||V* - V^pi|| <= 2 gamma eps/(1-gamma)",
    source="Singh & Yee (1994), Machine Learning 16; Szepesvari RL Theory lecture 3",
    compare="bound",
    subject=greedy_policy, subject_doc="greedy(mdp, v) -> (S,) int policy greedy for v",
    run=_run_greedy_v, family=discounted_mdps,
    negative=myopic_greedy, negative_doc="greedy for the immediate reward R instead of R + gamma P v",
    zoo=("gridworld_5x5", "frozenlake:gamma=0.9"), plot="ratio", tight=_tight_singh_yee, edge=edge_cases,
    power_note="on random instances a greedy mistake costs much less than the bound; Singh & Yee's example attains it",
))


def greedy_q(mdp, q):
    """Default subject: argmax over available actions of Q (ties to the lowest index)."""
    return np.argmax(np.where(mdp.action_mask, q, -np.inf), axis=1).astype(np.int64)


def _run_greedy_q(mdp, rng, greedy):
    """Perturbations of Q*: random ones, and the adversarial one (-eps at the optimal action, +eps at the
    others) for a drawn eps and for eps = gamma (which makes Singh & Yee's example tight for Q)."""
    vstar = optimal_value(mdp)
    qstar = q_from_v(mdp, vstar)
    best = (qstar >= vstar[:, None] - slack(mdp)) & mdp.action_mask
    eps, noise = _perturbation(mdp, rng, (mdp.S, mdp.A))
    noises = [noise] + [e * np.where(best, -1.0, 1.0) for e in (eps, mdp.gamma)]
    noises += [eps * rng.choice([-1.0, 1.0], (mdp.S, mdp.A)) for _ in range(4)]
    obs, bnd = [], []
    for nz in noises:
        q = np.where(mdp.action_mask, qstar + nz, -np.inf)
        err = float(np.max(np.abs(q[mdp.action_mask] - qstar[mdp.action_mask])))
        obs.append(sup_norm(vstar - policy_evaluation(mdp, greedy(mdp, q))))
        bnd.append(bounds.greedy_loss_q(mdp.gamma, err).value)
    return Observation(np.array(obs), np.array(bnd), atol=slack(mdp), info={"eps": eps})


register(Theorem(
    name="greedy-loss-q",
    statement="||Q - Q*|| <= eps and pi greedy for Q imply ||V* - V^pi|| <= 2 eps/(1-gamma)",
    source="Singh & Yee (1994); Agarwal, Jiang, Kakade & Sun, Lemma 1.11",
    compare="bound",
    subject=greedy_q, subject_doc="greedy(mdp, q) -> (S,) int policy, argmax_a q[s, a]",
    run=_run_greedy_q, family=discounted_mdps,
    negative=myopic_greedy, negative_doc="greedy for the immediate reward R, ignoring Q",
    zoo=("gridworld_5x5",), plot="ratio", tight=_tight_singh_yee, edge=edge_cases,
))


def _run_approx_vi(mdp, rng, T):
    eps = float(10.0 ** rng.uniform(-4, -1)) * max(1.0, sup_norm(mdp.R[mdp.action_mask]))
    vstar = optimal_value(mdp)
    v = start_vector(mdp, rng)
    # v_0 = v* + c and e_k = +eps give equality (always on tight and one-state models)
    tight = mdp.name.startswith("tight") or mdp.S == 1 or rng.random() < 0.3
    if tight:
        v = vstar + value_scale(mdp)
    e0 = sup_norm(v - vstar)
    errs = [e0]
    for _ in range(_n_sweeps(mdp.gamma, cap=100)):
        e = np.full(mdp.S, eps) if tight else eps * rng.choice([-1.0, 1.0], mdp.S)
        v = np.asarray(T(mdp, v)) + e
        errs.append(sup_norm(v - vstar))
    k = np.arange(len(errs))
    bnd = np.array([bounds.approximate_vi_bound(mdp.gamma, j, e0, eps).value for j in k])
    return Observation(np.array(errs)[1:], bnd[1:], x=k[1:], atol=slack(mdp), info={"eps": eps})


register(Theorem(
    name="approximate-vi",
    statement="v_{k+1} = T v_k + e_k with ||e_k|| <= eps gives ||v_k - v*|| <= gamma^k ||v_0 - v*|| + eps (1-gamma^k)/(1-gamma)",
    source="derived from the gamma-contraction; Bertsekas & Tsitsiklis (1996), approximate VI",
    compare="bound",
    subject=bellman, subject_doc="T(mdp, v) -> (S,) array, the Bellman optimality operator",
    run=_run_approx_vi, family=discounted_mdps,
    negative=bellman_damped, negative_doc="damped VI v + (Tv - v)/2: same v*, modulus (1+gamma)/2",
    zoo=("gridworld_5x5",), ylabel="||v_k - v*||_inf", tight=_tight_contraction, edge=edge_cases,
))


# ----------------------------------------------------------------------------- policy iteration
def pi_bad_improvement(mdp, *, policy0, max_iter):
    """Negative control: PI whose improvement step also switches one state to its worst action."""
    pi = np.asarray(policy0, dtype=np.int64).copy()
    S = mdp.S
    for it in range(max_iter):
        v = policy_evaluation(mdp, pi)
        if it == max_iter - 1:
            break
        q = q_from_v(mdp, v)
        new = greedy_q(mdp, q)
        s = it % S
        new[s] = int(np.argmin(np.where(mdp.action_mask[s], q[s], np.inf)))
        if np.array_equal(new, pi):
            break
        pi = new
    return SimpleNamespace(policy=pi, v_policy=v, n_iter=it + 1, converged=False)


def _random_policy(mdp, rng):
    return np.array([rng.choice(np.flatnonzero(mdp.action_mask[s])) for s in range(mdp.S)], dtype=np.int64)


def _pi_sequence(mdp, rng, solver, K=30):
    """Values of the policies pi_0, pi_1, ... that ``solver(max_iter=k)`` returns after k evaluations."""
    pi0 = _random_policy(mdp, rng)
    vals = []
    for k in range(1, K + 1):
        res = solver(mdp, policy0=pi0, max_iter=k)
        vals.append(np.asarray(res.v_policy, dtype=float))
        if res.converged:
            break
    return vals


def _run_pi_monotone(mdp, rng, solver):
    vals = _pi_sequence(mdp, rng, solver)
    if len(vals) < 2:
        return Observation(np.zeros(1), np.zeros(1), atol=slack(mdp))
    drops = np.array([np.max(vals[j] - vals[j + 1]) for j in range(len(vals) - 1)])
    return Observation(drops, np.zeros_like(drops), x=np.arange(1, drops.size + 1), atol=slack(mdp),
                       info={"n_policies": len(vals)})


register(Theorem(
    name="pi-monotone",
    statement="Howard PI improves monotonically: v_{pi_{k+1}} >= v_{pi_k} componentwise",
    source=f"{PUTERMAN}, Sec. 6.4; Szepesvari RL Theory lecture 4",
    compare="bound",
    subject=policy_iteration, subject_doc="solver(mdp, policy0=, max_iter=) -> SolveResult (.v_policy after "
                                          "max_iter evaluations, .converged)",
    run=_run_pi_monotone, family=discounted_mdps,
    negative=pi_bad_improvement, negative_doc="PI whose improvement also switches one state to its worst action",
    zoo=("gridworld_5x5", "frozenlake:gamma=0.9"), plot="ratio", ylabel="max_s (v_k - v_{k+1})",
))


def _run_pi_contraction(mdp, rng, solver):
    vstar = optimal_value(mdp)
    vals = _pi_sequence(mdp, rng, solver)
    gaps = np.array([sup_norm(vstar - v) for v in vals])
    k = np.arange(gaps.size)
    bnd = np.array([bounds.pi_contraction_bound(mdp.gamma, j, gaps[0]).value for j in k])
    if gaps.size < 2:  # pi_0 was optimal: nothing to compare beyond k = 0
        return Observation(gaps, bnd, x=k, atol=slack(mdp))
    return Observation(gaps[1:], bnd[1:], x=k[1:], atol=slack(mdp))


register(Theorem(
    name="pi-contraction",
    statement="||v* - v_{pi_k}||_inf <= gamma^k ||v* - v_{pi_0}||_inf",
    source="Szepesvari RL Theory lecture 4 (after Scherrer 2016); AJKS Lemma 1.13",
    compare="bound",
    subject=policy_iteration, subject_doc="solver(mdp, policy0=, max_iter=) -> SolveResult (.v_policy, .converged)",
    run=_run_pi_contraction, family=discounted_mdps,
    negative=pi_bad_improvement, negative_doc="PI whose improvement also switches one state to its worst action",
    zoo=("gridworld_5x5",), ylabel="||v* - v_{pi_k}||_inf",
))


def pi_no_improvement(mdp, *, policy0, **kw):
    """Negative control: 'PI' that evaluates the initial policy and stops without improving it."""
    return SimpleNamespace(policy=np.asarray(policy0, np.int64), v_policy=policy_evaluation(mdp, policy0),
                           n_iter=1, converged=True)


def pi_slow_instance():
    """Two states, gamma = 0.4, start policy (0, 1): Howard PI needs 2 improvements against Scherrer's bound 4.

    The largest ratio found by a search over 3000 random 2-3 state models with gamma <= 0.5 and every
    start policy (mdpkit verify's pi-iterations tight instance; run with its fixed start policy).
    """
    from mdpkit.model import TabularMDP

    P = np.array([[[0.0006049957153603442, 0.9993950042846398], [0.954636333932953, 0.04536366606704704]],
                  [[0.0003523799212347176, 0.9996476200787653], [0.20330247793001632, 0.7966975220699837]]])
    R = np.array([[0.16024893293655523, 0.5443034196733468], [1.5466594768647637, 0.8543062668521177]])
    return TabularMDP(P, R, 0.4, name="pi-slow-two-state")


def _run_pi_iterations(mdp, rng, solver):
    vstar = optimal_value(mdp)
    pi0 = np.array([0, 1]) if mdp.name == "pi-slow-two-state" else _random_policy(mdp, rng)
    res = solver(mdp, policy0=pi0)
    m, n = int(mdp.action_mask.sum()), mdp.S
    b = bounds.pi_iterations_scherrer(m, n, mdp.gamma).value
    gap = sup_norm(vstar - policy_evaluation(mdp, res.policy))
    info = {"n_iter": int(res.n_iter), "scherrer": b,
            "hmz_rate": bounds.pi_iterations_hansen_miltersen_zwick(m, n, mdp.gamma).value,
            "ye_rate": bounds.pi_iterations_ye(m, n, mdp.gamma).value}
    # n_iter counts evaluations: the last evaluated policy is pi_{n_iter - 1}
    return Observation(np.array([res.n_iter - 1, gap]), np.array([b, 0.0]), atol=slack(mdp), info=info,
                       part=np.array([0, 1]))


register(Theorem(
    name="pi-iterations",
    statement="Howard PI returns an optimal policy after at most (m - n)(ceil(ln(1/(1-gamma))/(1-gamma)) + 1) "
              "improvements (m state-action pairs, n states)",
    source="Scherrer (2016), Math. Oper. Res. 41(3); constant from Szepesvari RL Theory lecture 4",
    compare="bound",
    subject=policy_iteration, subject_doc="solver(mdp, policy0=) -> SolveResult (.policy, .n_iter evaluations)",
    run=_run_pi_iterations, family=discounted_mdps,
    negative=pi_no_improvement, negative_doc="PI that stops after evaluating the initial policy",
    tight=lambda: [pi_slow_instance()], parts=("improvements", "returned policy optimal"),
    power_note="Howard PI needs far fewer improvements than Scherrer's bound on small models: a search over 3000 "
               "random 2-3 state models (gamma <= 0.5, every start policy) reached ratio 0.5 at best (the tight "
               "instance), so a constant off by 2 would go unseen",
    zoo=("gridworld_5x5", "frozenlake:gamma=0.99", "riverswim:gamma=0.99"), plot="ratio",
))


# ----------------------------------------------------------------------------- modified PI
def mpi_no_improvement(mdp, *, m, max_iter, v0, epsilon=None):
    """Negative control: 'MPI' that never improves: evaluates the initial greedy policy forever."""
    _, pi = bellman_operator(mdp, v0)
    P_pi, r_pi = policy_matrices(mdp, pi)
    v = np.asarray(v0, dtype=float)
    for _ in range(max_iter * (m + 1) + 1):
        v = r_pi + mdp.gamma * (P_pi @ v)
    return SimpleNamespace(v=v)


def mpi_damped(mdp, *, m, max_iter, v0, epsilon=None):
    """Negative control: damped VI v + (Tv - v)/2 in place of MPI: monotone and below v*, but slower than VI."""
    v = np.asarray(v0, dtype=float)
    for _ in range(max_iter):
        v = bellman_damped(mdp, v)
    return SimpleNamespace(v=v, n_iter=max_iter)


def _run_mpi(mdp, rng, solver):
    vstar = optimal_value(mdp)
    m = int(rng.integers(0, 6))
    v0 = np.full(mdp.S, mdp.reward_range[0] / (1.0 - mdp.gamma))  # T v0 >= v0
    ks = list(range(1, 16))
    vis = numpy_vi_trace(mdp, v0, ks[-1])  # T^n v_0 by an independent numpy route
    obs, bnd, part = [], [], []
    prev = v0
    tiny = 1e-13 * value_scale(mdp)
    for k in ks:
        res = solver(mdp, m=m, max_iter=k, v0=v0, epsilon=tiny)
        v_mpi = _iterate(res)
        # the span rule may stop MPI before k iterations (with v - v* nearly constant): compare with
        # VI after as many iterations as MPI ran
        n = min(int(getattr(res, "n_iter", k)), ks[-1])
        # v* - v_mpi <= v* - T^n v_0 (at least as fast as VI), v_mpi <= v*, v_prev <= v_mpi
        obs += [vstar - v_mpi, v_mpi - vstar, prev - v_mpi]
        bnd += [vstar - vis[n], np.zeros(mdp.S), np.zeros(mdp.S)]
        part += [np.full(mdp.S, j) for j in range(3)]
        prev = v_mpi
    return Observation(np.concatenate(obs), np.concatenate(bnd), atol=slack(mdp), info={"m": m},
                       part=np.concatenate(part))


register(Theorem(
    name="mpi-monotone",
    statement="from T v_0 >= v_0, modified PI iterates increase, stay below v*, and dominate VI: T^k v_0 <= v_k <= v*",
    source=f"{PUTERMAN}, Sec. 6.5 (monotone convergence of MPI)",
    compare="bound",
    subject=modified_policy_iteration, subject_doc="solver(mdp, m=, max_iter=, v0=, epsilon=) -> SolveResult (.v_iterate or .v)",
    run=_run_mpi, family=discounted_mdps,
    negative=mpi_damped, negative_doc="damped VI v + (Tv - v)/2 in place of MPI (monotone, below v*, slower than VI)",
    zoo=("gridworld_5x5", "riverswim:gamma=0.9"), plot="ratio",
    parts=("dominates VI: v* - v_k <= v* - T^k v_0", "below v*", "monotone"),
))


# ----------------------------------------------------------------------------- identities
def evaluate_wrong_discount(mdp, policy):
    """Negative control: policy evaluation with discount (1+gamma)/2."""
    return policy_evaluation(wrong_gamma(mdp), policy)


def evaluate_truncated(mdp, policy, horizon=3):
    """Negative control: an unconverged evaluator, sum_{t < 3} gamma^t P_pi^t r_pi (stopped after 3 sweeps)."""
    P_pi, r_pi = policy_matrices(mdp, policy)
    v = np.zeros(mdp.S)
    for _ in range(horizon):
        v = r_pi + mdp.gamma * (P_pi @ v)
    return v


def random_stochastic_policy(mdp, rng):
    w = rng.random((mdp.S, mdp.A)) * mdp.action_mask
    w[w.sum(axis=1) == 0] = mdp.action_mask[w.sum(axis=1) == 0]
    return w / w.sum(axis=1, keepdims=True)


def _run_pdl(mdp, rng, evaluate):
    pi, pi2 = random_stochastic_policy(mdp, rng), random_stochastic_policy(mdp, rng)
    mu = rng.dirichlet(np.ones(mdp.S))
    v, v2 = np.asarray(evaluate(mdp, pi)), np.asarray(evaluate(mdp, pi2))
    adv = np.where(mdp.action_mask, q_from_v(mdp, v) - v[:, None], 0.0)
    d2 = occupancy_measure(mdp, pi2, mu0=mu)
    rhs = bounds.performance_difference(mdp.gamma, d2, adv).value
    lhs = float(mu @ (v2 - v))
    return Observation(np.array([abs(lhs - rhs)]), np.zeros(1), atol=slack(mdp), info={"lhs": lhs, "rhs": rhs})


register(Theorem(
    name="performance-difference",
    statement="V^{pi'}(mu) - V^pi(mu) = E_{(s,a) ~ d^{pi'}_mu}[A^pi(s, a)] / (1 - gamma)",
    source="Kakade & Langford (2002), ICML, Lemma 6.1",
    compare="identity",
    subject=policy_evaluation, subject_doc="evaluate(mdp, policy) -> (S,) value of a stochastic (S, A) policy",
    run=_run_pdl, family=discounted_mdps,
    negative=evaluate_truncated, negative_doc="unconverged evaluator (3 sweeps of T_pi from 0)",
    zoo=("gridworld_5x5",), plot="ratio", ylabel="|lhs - rhs|", edge=edge_cases, source_checked=False,
))


def _run_simulation(mdp, rng, evaluate):
    m1 = mdp.to_dense() if mdp.is_sparse else mdp
    S, A = m1.S, m1.A
    lam = float(10.0 ** rng.uniform(-3, 0))
    other = rng.dirichlet(np.ones(S), size=(S, A))
    P2 = (1.0 - lam) * m1.P + lam * other
    R2 = m1.R + lam * rng.uniform(-1, 1, (S, A))
    from mdpkit.model import TabularMDP

    m2 = TabularMDP(P2, R2, m1.gamma, action_mask=m1.action_mask)
    pi = random_stochastic_policy(m1, rng)
    v1, v2 = np.asarray(evaluate(m1, pi)), np.asarray(evaluate(m2, pi))
    P1pi, r1pi = policy_matrices(m1, pi)
    P2pi, r2pi = policy_matrices(m2, pi)
    ident = bounds.simulation_identity(m1.gamma, P1pi, r1pi, r2pi, P2pi, v2)
    mask = m1.action_mask
    eps_r = float(np.max(np.abs(m1.R - R2)[mask]))
    eps_p = float(np.max(np.abs(m1.P - P2).sum(axis=2)[mask]))
    b = bounds.simulation_lemma_bound(m1.gamma, eps_r, eps_p, _sp(v2)).value
    obs = np.append(np.abs((v1 - v2) - ident), sup_norm(v1 - v2))
    bnd = np.append(np.zeros(S), b)
    return Observation(obs, bnd, atol=slack(mdp), info={"lambda": lam}, part=np.append(np.zeros(S, int), 1))


register(Theorem(
    name="simulation-lemma",
    statement="V1 - V2 = (I - gamma P1_pi)^{-1}[(r1 - r2) + gamma (P1 - P2) V2], hence "
              "||V1 - V2|| <= (eps_r + gamma eps_P sp(V2)/2)/(1 - gamma)",
    source="Agarwal, Jiang, Kakade & Sun, RL: Theory and Algorithms, Lemma 2.2",
    compare="identity+bound",
    subject=policy_evaluation, subject_doc="evaluate(mdp, policy) -> (S,) value of a stochastic (S, A) policy",
    run=_run_simulation, family=discounted_mdps,
    negative=evaluate_truncated, negative_doc="unconverged evaluator (3 sweeps of T_pi from 0)",
    zoo=("gridworld_5x5",), plot="ratio", parts=("identity", "bound"), edge=edge_cases,
))


# ----------------------------------------------------------------------------- average reward
def rvi_discounted(mdp, *, max_iter, v0=None):
    """Negative control: a 'relative' VI that discounts by 0.9 and brackets with (T_0.9 v - v)."""
    v = np.zeros(mdp.S) if v0 is None else np.asarray(v0, float)
    m9 = mdp.with_gamma(0.9)
    for _ in range(max_iter):
        v_new = bellman_operator(m9, v)[0]
        d = v_new - v
        v = v_new
    return SimpleNamespace(gain_lower=float(d.min()), gain_upper=float(d.max()))


RVI_TAU = 0.5  #: aperiodicity transform of mdpkit's relative VI (its default), replicated by the width oracle


def _run_gain_bracket(mdp, rng, solver):
    """Containment of g* in the solver's bracket, and the bracket's width against the theorem's
    sp(T~w_{k-1} - w_{k-1}) from an independent numpy RVI (T~ the backup of tau P + (1 - tau) I)."""
    g = optimal_gain(mdp)
    v0 = rng.uniform(-1, 1, mdp.S) * max(1.0, sup_norm(mdp.R))
    P = RVI_TAU * mdp.P_dense() + (1.0 - RVI_TAU) * np.eye(mdp.S)[:, None, :]
    R = np.where(mdp.action_mask, mdp.R, -np.inf)
    ks = (1, 2, 3, 5, 8, 13, 21)
    w, spans = v0.copy(), {}
    for j in range(1, ks[-1] + 1):
        Tw = (R + P @ w).max(axis=1)
        spans[j] = _sp(Tw - w)
        w = Tw - Tw[0]
    obs, bnd = [], []
    for k in ks:
        res = solver(mdp, max_iter=k, v0=v0)
        lo, hi = res.gain_lower, res.gain_upper
        n = int(getattr(res, "n_iter", k))  # the bracket comes from the last backup (it may stop before k)
        obs += [abs(g - 0.5 * (lo + hi)), hi - lo]
        bnd += [0.5 * (hi - lo), spans[min(max(n, 1), ks[-1])]]
    return Observation(np.array(obs), np.array(bnd), atol=SLACK * max(1.0, sup_norm(mdp.R)), info={"gain": g},
                       part=np.tile([0, 1], len(ks)))


def rvi_widened(mdp, *, max_iter, v0=None):
    """Negative control: relative VI whose gain bracket is widened 1.5x about its midpoint (still contains g*)."""
    res = relative_value_iteration(mdp, max_iter=max_iter, v0=v0)
    mid, half = 0.5 * (res.gain_lower + res.gain_upper), 0.5 * (res.gain_upper - res.gain_lower)
    return SimpleNamespace(gain_lower=mid - 1.5 * half, gain_upper=mid + 1.5 * half, n_iter=res.n_iter)


register(Theorem(
    name="rvi-gain-bracket",
    statement="min_s (T h - h)(s) <= g* <= max_s (T h - h)(s) for the relative value iterates h: g* lies in the "
              "solver's bracket, which is no wider than sp(T h - h) (h from an independent numpy RVI)",
    source=f"Odoni (1969); {PUTERMAN}, Sec. 8.5",
    compare="bound",
    subject=relative_value_iteration, subject_doc="solver(mdp, max_iter=, v0=) -> SolveResult with "
                                                  ".gain_lower, .gain_upper",
    run=_run_gain_bracket, family=positive_mdps,
    negative=rvi_widened, negative_doc="RVI gain bracket widened 1.5x about its midpoint (contains g*, too wide)",
    zoo=("machine_replacement",), plot="ratio", ylabel="|g* - midpoint| / half-width",
    parts=("g* in bracket", "width vs theorem"),
))
