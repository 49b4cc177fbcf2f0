"""Registered theorem checks for classical results of exact dynamic programming not covered in ``_dp``.

Greedy span certificate, approximate VI asymptotics, LP duality and occupancy measures,
Gauss-Seidel contraction, backward induction against history-dependent policies, SSP contraction
in the weighted sup-norm, average-reward gain gap, the Laurent expansion, MacQueen's action
elimination.  References are independent of the subjects: enumeration of deterministic policies,
exact rational enumeration of history-dependent policies, stationary distributions, plain numpy
iterations.
"""

from __future__ import annotations

import itertools
import math
from types import SimpleNamespace

import numpy as np

from mdpkit import bounds
from mdpkit.model import TabularMDP
from mdpkit.policies import bellman_operator, greedy_policy, occupancy_measure, policy_evaluation, policy_matrices, q_from_v
from mdpkit.solvers import gauss_seidel_value_iteration, value_iteration

from ._core import Observation, Theorem, register
from ._dp import (
    sign_patterns,
    bellman_damped,
    edge_cases,
    myopic_greedy,
    numpy_vi_trace,
    singh_yee,
    slack,
    start_vector,
    sup_norm,
    two_state_tight,
)
from ._instances import discounted_mdps, optimal_gain, optimal_value, positive_mdps, stationary_gain, value_scale

PUTERMAN = "Puterman 1994"


def _sp(x) -> float:
    return float(np.max(x) - np.min(x)) if np.size(x) else 0.0


# ============================================================================ greedy span certificate
def _run_span_certificate(mdp, rng, solver):
    """The certificate a discounted solver returns for its policy after k sweeps from an arbitrary v_0:
    v* - v_pi <= certificate, and certificate <= gamma/(1-gamma) sp(T v - v) from an independent numpy VI."""
    vstar = optimal_value(mdp)
    v0 = start_vector(mdp, rng)
    if mdp.name.startswith("singh-yee"):  # V = V* + (eps, -eps) with eps = 1: the certificate is attained
        v0 = vstar + np.array([1.0, -1.0])
    elif rng.random() < 0.3:  # alternating +-eps around v*
        v0 = vstar + rng.choice([-1.0, 1.0]) * 0.3 * np.array([1.0 if j % 2 == 0 else -1.0 for j in range(mdp.S)])
    ks = (1, 2, 3, 5)
    vs = numpy_vi_trace(mdp, v0, ks[-1] + 1)
    c = 0.0 if mdp.gamma == 0 else mdp.gamma / (1.0 - mdp.gamma)
    obs, bnd, part = [], [], []
    for k in ks:
        res = solver(mdp, max_iter=k, v0=v0)
        n = int(getattr(res, "n_iter", k))
        loss = sup_norm(vstar - policy_evaluation(mdp, np.asarray(res.policy)))
        cert = float(res.certificate.value if hasattr(res.certificate, "value") else res.certificate)
        # the policy is greedy for v_{n-1} and certified from the backup d = v_n - v_{n-1}
        obs += [loss, cert]
        bnd += [cert, c * _sp(vs[n] - vs[n - 1])]
        part += [0, 1]
    return Observation(np.array(obs), np.array(bnd), atol=slack(mdp), part=np.array(part))


def vi_myopic_certified(mdp, *, max_iter, v0=None):
    """Negative control: VI's certificate attached to the myopic policy (greedy for R, not for v)."""
    res = value_iteration(mdp, max_iter=max_iter, v0=v0)
    return SimpleNamespace(policy=myopic_greedy(mdp, v0), certificate=res.certificate, n_iter=res.n_iter)


register(Theorem(
    name="greedy-span-certificate",
    statement="for any v and pi greedy for v: ||v* - v_pi||_inf <= gamma/(1-gamma) sp(T v - v); checked on the "
              "certificate value_iteration returns after k sweeps (attained on Singh & Yee's example), and the "
              "certificate is no larger than the theorem's expression from an independent numpy VI",
    source="MacQueen (1966); Porteus (1971); Puterman 1994, Sec. 6.6.2",
    compare="bound",
    subject=value_iteration, subject_doc="solver(mdp, max_iter=, v0=) -> SolveResult (.policy, .certificate, .n_iter)",
    run=_run_span_certificate, family=discounted_mdps,
    negative=vi_myopic_certified, negative_doc="VI's certificate attached to the myopic policy (not greedy for v)",
    zoo=("gridworld_5x5", "riverswim:gamma=0.9"), plot="ratio", parts=("loss <= certificate", "certificate vs theorem"),
    tight=lambda: [singh_yee(0.9), singh_yee(0.5)], edge=edge_cases,
))


# ============================================================================ approximate VI, asymptotic
def _run_avi_asymptotic(mdp, rng, greedy):
    """Approximate VI v_{k+1} = T v_k + e_k (||e_k|| <= eps, random signs or a fixed sign pattern); the
    greedy policies of the last third of the iterates must lose at most 2 gamma eps / (1-gamma)^2."""
    vstar = optimal_value(mdp)
    eps = float(10.0 ** rng.uniform(-3, -1)) * max(1.0, sup_norm(mdp.R[mdp.action_mask]))
    fixed = rng.choice([-1.0, 1.0], mdp.S) if rng.random() < 0.5 else None
    v = start_vector(mdp, rng)
    K = int(min(90, math.ceil(math.log(1e-10) / math.log(mdp.gamma)))) if mdp.gamma > 0 else 5
    P, R = mdp.P_dense(), np.where(mdp.action_mask, mdp.R, -np.inf)
    losses, seen = [], {}
    for k in range(K):
        e = eps * (fixed if fixed is not None else rng.choice([-1.0, 1.0], mdp.S))
        v = (R + mdp.gamma * (P @ v)).max(axis=1) + e
        if k >= 2 * K // 3:
            pi = np.asarray(greedy(mdp, v))
            key = pi.tobytes()
            if key not in seen:
                seen[key] = sup_norm(vstar - policy_evaluation(mdp, pi))
            losses.append(seen[key])
    b = bounds.approximate_vi_asymptotic(mdp.gamma, eps).value
    return Observation(np.array(losses), np.full(len(losses), b), atol=slack(mdp), info={"eps": eps, "K": K})


def anti_greedy(mdp, v):
    """Negative control: the policy *worst* for v, argmin over available actions of R + gamma P v."""
    q = np.where(mdp.action_mask, q_from_v(mdp, np.asarray(v, dtype=float)), np.inf)
    return np.argmin(q, axis=1).astype(np.int64)


register(Theorem(
    name="approximate-vi-asymptotic",
    statement="approximate VI with ||v_{k+1} - T v_k||_inf <= eps: limsup_k ||v* - v^{pi_k}||_inf <= "
              "2 gamma eps/(1-gamma)^2 for pi_k greedy for v_k (checked on the last third of the iterates, after "
              "the transient gamma^k ||v_0 - v*|| has decayed below 1e-10)",
    source="Bertsekas & Tsitsiklis (1996), Neuro-Dynamic Programming (approximate VI; section not checked)",
    compare="bound",
    subject=greedy_policy, subject_doc="greedy(mdp, v) -> (S,) int policy greedy for v",
    run=_run_avi_asymptotic, family=discounted_mdps,
    negative=lambda mdp, v: anti_greedy(mdp, v), negative_doc="the policy worst for v (argmin of R + gamma P v)",
    zoo=("gridworld_5x5",), plot="ratio",
    power_note="the bound is attained only by adversarial errors (Bertsekas & Tsitsiklis' example, not constructed "
               "here); random and fixed-sign errors of size eps stay far below it",
))


# ============================================================================ LP duality and occupancy
def _run_lp(mdp, rng, solver):
    vstar = optimal_value(mdp)
    mu0 = rng.dirichlet(np.ones(mdp.S))
    res = solver(mdp, mu0=mu0)
    x = np.where(mdp.action_mask, np.asarray(res.occupancy, dtype=float), 0.0)
    v_lp = np.asarray(res.v_iterate if getattr(res, "v_iterate", None) is not None else res.v, dtype=float)
    primal = float(mu0 @ v_lp)
    dual = float(np.sum(x * np.where(mdp.action_mask, mdp.R, 0.0)))
    # the policy of the dual solution, x(s, a) / sum_a x(s, a) (every state has mass >= mu0(s) > 0)
    xs = np.maximum(x, 0.0)
    pol = xs / np.maximum(xs.sum(axis=1, keepdims=True), 1e-300)
    occ = occupancy_measure(mdp, pol, mu0=mu0, normalized=False)
    v_pol = policy_evaluation(mdp, pol)
    obs = np.array([abs(primal - float(mu0 @ vstar)), abs(primal - dual), float(np.abs(x - occ).sum()),
                    sup_norm(vstar - v_pol)])
    tol = 1e-5 * value_scale(mdp)  # interior-point solver accuracy, in value units
    return Observation(obs, np.zeros(4), atol=tol, part=np.arange(4),
                       info={"primal": primal, "dual": dual, "lp_solver": str(getattr(res, "lp_solver", ""))})


def lp_suboptimal_dual(mdp, *, mu0):
    """Negative control: the primal optimum paired with the occupancy measure of the myopic policy."""
    from mdpkit.solvers import linear_programming

    res = linear_programming(mdp, mu0=mu0)
    occ = occupancy_measure(mdp, myopic_greedy(mdp, None), mu0=mu0, normalized=False)
    return SimpleNamespace(v_iterate=res.v_iterate, occupancy=occ)


def _lp_subject(mdp, *, mu0):
    """Default subject: :func:`mdpkit.solvers.linear_programming` with cvxpy's HiGHS (exact vertex solutions)."""
    from mdpkit.solvers import linear_programming

    return linear_programming(mdp, mu0=mu0)


register(Theorem(
    name="lp-duality-occupancy",
    statement="the primal LP min mu0.v s.t. v >= R + gamma P v has optimum mu0.v*; strong duality: the dual optimum "
              "sum x R equals it; x is the (unnormalized) occupancy measure from mu0 of the policy x(s,a)/sum_a x(s,a), "
              "and that policy is optimal",
    source=f"{PUTERMAN}, Sec. 6.9 (Thm 6.9.1 and 6.9.4)",
    compare="identity",
    subject=_lp_subject, subject_doc="solver(mdp, mu0=) -> result with .v_iterate (primal v), .occupancy (S, A) dual x",
    run=_run_lp, family=discounted_mdps,
    negative=lp_suboptimal_dual, negative_doc="primal optimum with the occupancy measure of the myopic policy",
    zoo=("riverswim:gamma=0.9",), plot="ratio",
    parts=("primal = mu0.v*", "strong duality", "x = occupancy of its policy", "its policy optimal"),
))


# ============================================================================ Gauss-Seidel
def _run_gauss_seidel(mdp, rng, solver):
    vstar = optimal_value(mdp)
    v0 = start_vector(mdp, rng)
    if mdp.name.startswith("tight") or rng.random() < 0.3:
        v0 = vstar + float(rng.choice([-1.0, 1.0])) * value_scale(mdp)
    K = 40 if mdp.gamma > 0 else 3
    errs = [sup_norm(v0 - vstar)]
    for k in range(1, K + 1):
        res = solver(mdp, max_iter=k, v0=v0)
        v = np.asarray(res.v_iterate if getattr(res, "v_iterate", None) is not None else res.v, dtype=float)
        if int(getattr(res, "n_iter", k)) < k:  # stopped (converged): the trace ends here
            break
        errs.append(sup_norm(v - vstar))
    errs = np.array(errs)
    k = np.arange(errs.size)
    bnd = mdp.gamma ** k * errs[0]
    return Observation(errs[1:], bnd[1:], x=k[1:], atol=slack(mdp), rate_trace=errs,
                       rate_floor=1e-8 * value_scale(mdp), claimed_rate=mdp.gamma)


def gs_damped(mdp, *, max_iter, v0=None):
    """Negative control: damped VI v + (Tv - v)/2 in place of Gauss-Seidel (same v*, modulus (1+gamma)/2)."""
    v = np.asarray(v0, dtype=float)
    for _ in range(max_iter):
        v = bellman_damped(mdp, v)
    return SimpleNamespace(v_iterate=v, n_iter=max_iter)


def _gs_subject(mdp, *, max_iter, v0=None):
    """Default subject: Gauss-Seidel VI run for exactly ``max_iter`` sweeps (no early stop)."""
    return gauss_seidel_value_iteration(mdp, max_iter=max_iter, v0=v0, epsilon=1e-300)


register(Theorem(
    name="gauss-seidel-contraction",
    statement="Gauss-Seidel value iteration: ||v_k - v*||_inf <= gamma^k ||v_0 - v*||_inf and the fitted rate of "
              "the error is <= gamma (the Gauss-Seidel operator is a gamma-contraction in the sup norm)",
    source=f"{PUTERMAN}, Sec. 6.3.3 (Gauss-Seidel VI; Thm 6.3.4 as cited in issue 14, number not checked)",
    compare="bound+rate",
    subject=_gs_subject, subject_doc="solver(mdp, max_iter=, v0=) -> SolveResult (.v_iterate after max_iter sweeps)",
    run=_run_gauss_seidel, family=discounted_mdps,
    negative=gs_damped, negative_doc="damped VI v + (Tv - v)/2: same v*, modulus (1+gamma)/2",
    zoo=("gridworld_5x5",), claimed_rate="gamma", ylabel="||v_k - v*||_inf",
    tight=lambda: [two_state_tight(0.9), two_state_tight(0.5)], edge=edge_cases,
))


# ============================================================================ finite horizon vs history-dependent policies
def _run_backward_induction(mdp, rng, solver):
    from . import _risk

    H = _risk._horizon(mdp, rng)
    achievable_laws, exact_from_mdp = _risk.achievable_laws, _risk.exact_from_mdp
    ex = exact_from_mdp(mdp)
    got = np.asarray(solver(mdp, H), dtype=float)
    obs, n_laws = [], 0
    for s0 in range(mdp.S):
        laws = achievable_laws(ex, H, s0)
        n_laws += len(laws)
        best = max(float(sum(x * p for x, p in law.items())) for law in laws)  # over history-dependent policies
        obs.append(abs(float(got[s0]) - best))
    scale = max(1.0, H * float(np.abs(mdp.R).max()))
    return Observation(np.array(obs), np.zeros(mdp.S), rtol=0.0, atol=1e-9 * scale, info={"H": H, "n_laws": n_laws})


def bi_value(mdp, horizon):
    """Default subject: :func:`mdpkit.solvers.backward_induction`'s optimal value at time 0, shape (S,)."""
    from mdpkit.solvers import backward_induction

    return np.asarray(backward_induction(mdp, horizon=horizon).v)[0]


def best_stationary_value(mdp, horizon):
    """Negative control: the best *stationary* deterministic policy's H-step value (by enumeration)."""
    S = mdp.S
    P, R = mdp.P_dense(), mdp.R
    best = np.full(S, -np.inf)
    for pol in itertools.product(*[np.flatnonzero(mdp.action_mask[s]) for s in range(S)]):
        pol = np.array(pol)
        Ppi, rpi = P[np.arange(S), pol], R[np.arange(S), pol]
        v = np.zeros(S)
        for _ in range(horizon):
            v = rpi + mdp.gamma * (Ppi @ v)
        best = np.maximum(best, v)
    return best


def myopic_fh_value(mdp, horizon):
    """Negative control: the H-step value of the policy greedy for the immediate expected reward."""
    pol = np.argmax(np.where(mdp.action_mask, mdp.R, -np.inf), axis=1)
    S = mdp.S
    Ppi, rpi = mdp.P_dense()[np.arange(S), pol], mdp.R[np.arange(S), pol]
    v = np.zeros(S)
    for _ in range(horizon):
        v = rpi + mdp.gamma * (Ppi @ v)
    return v


def _fh_family():
    """2-3 states, two actions everywhere (every state has a choice), gamma = 1, integer transition rewards."""
    from mdpkit.testing.strategies import mdps

    return mdps(n_states=(2, 3), n_actions=2, gamma=1.0, sparse=False, reward="sas", masked=False, max_weight=3)


register(Theorem(
    name="backward-induction-history",
    statement="backward induction's Markov deterministic policy attains the optimal expected total reward over all "
              "history-dependent randomized policies (finite horizon H in {2, 3}); reference: exact rational "
              "enumeration of every deterministic history-dependent policy's return law",
    source=f"{PUTERMAN}, Thm 4.5.1 (with Thm 4.4.2: randomization does not help)",
    compare="identity",
    subject=bi_value, subject_doc="f(mdp, horizon) -> (S,) optimal expected total reward at time 0",
    run=_run_backward_induction, family=_fh_family,
    negative=myopic_fh_value, negative_doc="myopic policy (argmax of the immediate reward) evaluated over H steps",
    controls=(("best stationary deterministic policy (not optimal for finite H)", best_stationary_value),),
    zoo=("cvar_counterexample",), plot="ratio",
))


# ============================================================================ SSP: weighted sup-norm contraction
def ssp_mdps():
    """SSP instances: state S-1 absorbing with reward 0, every action of every other state terminates with
    probability >= 1/6, so every policy is proper; gamma = 1, S in [3, 5]."""
    from hypothesis import strategies as st

    @st.composite
    def draw(d):
        S = d(st.integers(3, 5))
        A = d(st.integers(1, 3))
        w = np.array(d(st.lists(st.integers(0, 4), min_size=S * A * S, max_size=S * A * S)), float).reshape(S, A, S)
        w[:, :, S - 1] += 1.0
        w[:, :, :] /= w.sum(axis=2, keepdims=True)
        w[:, :, S - 1] = np.maximum(w[:, :, S - 1], 1.0 / 6.0)
        w /= w.sum(axis=2, keepdims=True)
        w[S - 1] = 0.0
        w[S - 1, :, S - 1] = 1.0
        R = np.array(d(st.lists(st.integers(-3, 3), min_size=S * A, max_size=S * A)), float).reshape(S, A)
        R[S - 1] = 0.0
        return TabularMDP(w, R, 1.0)

    return draw()


def _worst_expected_steps(mdp):
    """xi(s) = max over deterministic policies of E[steps to reach the terminal state S-1] (enumeration)."""
    S = mdp.S
    n = S - 1
    P = mdp.P_dense()
    xi = np.zeros(n)
    for pol in itertools.product(*[np.flatnonzero(mdp.action_mask[s]) for s in range(n)]):
        Q = P[np.arange(n), np.array(pol)][:, :n]
        xi = np.maximum(xi, np.linalg.solve(np.eye(n) - Q, np.ones(n)))
    return xi


def _run_ssp(mdp, rng, T):
    n = mdp.S - 1
    xi = _worst_expected_steps(mdp)
    rho = float(np.max((xi - 1.0) / xi))
    c = max(1.0, float(np.abs(mdp.R).max())) * float(xi.max())
    pairs = [(rng.uniform(-1, 1, n) * c, rng.uniform(-1, 1, n) * c) for _ in range(4)]
    pairs.append((1e6 * c * xi, np.zeros(n)))  # u - v = C xi with C huge: near-tight (rewards are O(1/C))
    obs, bnd = [], []
    for u, v in pairs:
        Tu = np.asarray(T(mdp, np.append(u, 0.0)))[:n]
        Tv = np.asarray(T(mdp, np.append(v, 0.0)))[:n]
        obs.append(float(np.max(np.abs(Tu - Tv) / xi)))
        bnd.append(rho * float(np.max(np.abs(u - v) / xi)))
    return Observation(np.array(obs), np.array(bnd), rtol=1e-9, atol=1e-9 * c, info={"rho": rho})


def ssp_bellman(mdp, v):
    """Default subject: the Bellman operator of the total-reward model (gamma = 1), ``(mdp, v) -> T v``."""
    return bellman_operator(mdp, v)[0]


register(Theorem(
    name="ssp-weighted-contraction",
    statement="stochastic shortest path with every policy proper: T is a contraction in ||v||_xi = max_s |v(s)|/xi(s) "
              "with modulus rho = max_s (xi(s) - 1)/xi(s), xi(s) the largest expected number of steps to termination",
    source="Bertsekas & Tsitsiklis (1996), Neuro-Dynamic Programming, Sec. 2.2 (weighted sup-norm contraction for "
           "SSP; number not checked)",
    compare="bound",
    subject=ssp_bellman, subject_doc="T(mdp, v) -> (S,) array, the Bellman operator (gamma = 1, terminal state S-1)",
    run=_run_ssp, family=ssp_mdps,
    negative=bellman_damped, negative_doc="damped operator v + (Tv - v)/2: xi-modulus up to 1 - 1/(2 xi) > rho",
    zoo=(), plot="ratio",
))


# ============================================================================ average reward: gain gap
def _run_gain_gap(mdp, rng, greedy):
    """For arbitrary h and pi greedy for h (gamma = 1): min(Th - h) <= g_pi <= g* <= max(Th - h)."""
    g_star = optimal_gain(mdp)
    h_star = optimal_bias(mdp)
    obs, bnd, part = [], [], []
    c = max(1.0, sup_norm(mdp.R))
    # h = h* + noise of several sizes (h* itself gives sp(Th - h) = 0: only optimal policies pass there)
    hs = [h_star + rng.uniform(-1, 1, mdp.S) * c * float(d) for d in (0.0, 1e-3, 1e-2, 0.1, 1.0)]
    for h in hs:
        Th, _ = bellman_operator(mdp, h)
        d = Th - h
        pi = np.asarray(greedy(mdp, h))
        P_pi, r_pi = policy_matrices(mdp, pi)
        g_pi = stationary_gain(P_pi, r_pi)
        obs += [g_star - g_pi, float(d.min()) - g_pi, g_star - float(d.max())]
        bnd += [_sp(d), 0.0, 0.0]
        part += [0, 1, 2]
    return Observation(np.array(obs), np.array(bnd), atol=1e-9 * c, part=np.array(part), info={"g*": g_star})


def optimal_bias(mdp):
    """A solution h* of h + g* = max_a [R + P h] (the bias of an optimal policy), by enumeration."""
    S = mdp.S
    best, h_best = -np.inf, None
    P = mdp.P_dense()
    for pol in itertools.product(*[np.flatnonzero(mdp.action_mask[s]) for s in range(S)]):
        pol = np.array(pol)
        g, h, _ = gain_and_bias(P[np.arange(S), pol], mdp.R[np.arange(S), pol])
        if g > best + 1e-12:
            best, h_best = g, h
    return h_best


def _avg_greedy(mdp, h):
    """Default subject: the policy greedy for h in the average-reward Bellman operator (gamma = 1)."""
    return greedy_policy(mdp, h)


register(Theorem(
    name="average-gain-gap",
    statement="average reward, unichain: for any h and pi greedy for h, min(Th - h) <= g_pi <= g* <= max(Th - h), "
              "so g* - g_pi <= sp(Th - h) (g_pi from the stationary distribution, g* by enumeration)",
    source=f"Odoni (1969); {PUTERMAN}, Sec. 8.5 (Thm 8.5.5)",
    compare="bound",
    subject=_avg_greedy, subject_doc="greedy(mdp, h) -> (S,) int policy greedy for h (gamma = 1)",
    run=_run_gain_gap, family=positive_mdps,
    negative=lambda mdp, h: anti_greedy(mdp, h), negative_doc="the policy worst for h (argmin of R + P h)",
    zoo=(), plot="ratio", parts=("g* - g_pi <= sp", "min(Th - h) <= g_pi", "g* <= max(Th - h)"),
    power_note="with all transition probabilities positive a greedy policy loses little gain, far below sp(Th - h)",
))


# ============================================================================ Laurent expansion
def gain_and_bias(P_pi, r_pi):
    """(g, h) of an aperiodic unichain chain: g = d.r (d stationary), h = (I - P + P*)^{-1} (I - P*) r, P* h = 0."""
    S = P_pi.shape[0]
    M = np.vstack([P_pi.T - np.eye(S), np.ones((1, S))])
    b = np.zeros(S + 1)
    b[-1] = 1.0
    dist = np.linalg.lstsq(M, b, rcond=None)[0]
    Pstar = np.outer(np.ones(S), dist)
    g = float(dist @ r_pi)
    h = np.linalg.solve(np.eye(S) - P_pi + Pstar, r_pi - g)
    return g, h, Pstar


def _laurent_oracle(P_pi, r_pi, tol=1e-14, max_terms=20_000):
    """(g, h, C): gain, bias and C = sum_t t ||(P^t - P*) r||_inf (series summed until its terms are below tol)."""
    g, h, _ = gain_and_bias(P_pi, r_pi)
    C = 0.0
    x = r_pi - g  # (P^t - P*) r = P^t (r - g 1)
    scale = max(1.0, float(np.max(np.abs(r_pi))))
    for t in range(max_terms):
        m = float(np.max(np.abs(x)))
        C += t * m
        if m <= tol * scale and t > 5:
            break
        x = P_pi @ x
    return g, h, C


def _run_laurent(mdp, rng, evaluate):
    from ._dp import random_stochastic_policy

    pi = random_stochastic_policy(mdp, rng)
    P_pi, r_pi = policy_matrices(mdp, pi)
    g, h, C = _laurent_oracle(P_pi, r_pi)
    gammas = 1.0 - 10.0 ** -np.arange(1.0, 5.0)
    obs, bnd = [], []
    for gm in gammas:
        v = np.asarray(evaluate(mdp.with_gamma(float(gm)), pi), dtype=float)
        obs.append(sup_norm(v - g / (1.0 - gm) - h))
        bnd.append((1.0 - gm) * C)
    obs = np.array(obs)
    scale = max(1.0, float(np.abs(r_pi).max()))
    # round-off of v_gamma is about eps * scale / (1 - gamma)
    atol = 1e-12 * scale / (1.0 - gammas)
    return Observation(obs, np.array(bnd), x=np.arange(1, 5), rtol=1e-9, atol=float(atol.max()), info={"g": g})


def _pe_subject(mdp, policy):
    """Default subject: :func:`mdpkit.policies.policy_evaluation`."""
    return policy_evaluation(mdp, policy)


def _pe_truncated(mdp, policy):
    """Negative control: evaluation truncated at 10 steps (sum_{t < 10} gamma^t P^t r)."""
    P_pi, r_pi = policy_matrices(mdp, policy)
    v = np.zeros(mdp.S)
    for _ in range(10):
        v = r_pi + mdp.gamma * (P_pi @ v)
    return v


def _positive_discounted():
    return positive_mdps()


register(Theorem(
    name="laurent-expansion",
    statement="for an aperiodic unichain policy, v_gamma = g/(1-gamma) + h + O(1-gamma): "
              "||v_gamma - g/(1-gamma) - h||_inf <= (1-gamma) sum_t t ||(P^t - P*) r||_inf at gamma = 1 - 10^-j, "
              "j = 1..4 (g, h from the stationary distribution and the bias series)",
    source=f"{PUTERMAN}, Thm 8.2.3 (Laurent series expansion); the explicit remainder bound is derived here",
    compare="bound",
    subject=_pe_subject, subject_doc="evaluate(mdp, policy) -> (S,) discounted value of a stochastic (S, A) policy",
    run=_run_laurent, family=_positive_discounted,
    negative=_pe_truncated, negative_doc="evaluation truncated after 10 steps",
    zoo=("machine_replacement",), plot="ratio",
))


# ============================================================================ action elimination
def _run_elimination(mdp, rng, eliminate):
    """Actions eliminated by the test at some sweep k must be suboptimal: Q*(s, a) < v*(s)."""
    vstar = optimal_value(mdp)
    qstar = q_from_v(mdp, vstar)
    tol = slack(mdp)
    v0 = start_vector(mdp, rng)
    wrong, n_elim = [], 0
    for k in (1, 2, 3, 5, 8, 13, 21):
        res = value_iteration(mdp, max_iter=k, v0=v0)
        out = np.asarray(eliminate(mdp, np.asarray(res.v_lower), np.asarray(res.v_upper)), dtype=bool) & mdp.action_mask
        n_elim += int(out.sum())
        # an eliminated action within round-off of optimal is a wrong elimination
        wrong.append(float(np.sum(out & (qstar >= vstar[:, None] - tol))))
    return Observation(np.array(wrong), np.zeros(len(wrong)), atol=0.0, info={"n_eliminated": n_elim})


def macqueen_eliminate(mdp, v_lower, v_upper):
    """Default subject: :func:`mdpkit.bounds.macqueen_action_elimination` on the model's arrays."""
    return bounds.macqueen_action_elimination(mdp.gamma, mdp.P_dense(), mdp.R, v_lower, v_upper, mdp.action_mask)


def eliminate_non_greedy(mdp, v_lower, v_upper):
    """Negative control: eliminate every action not greedy for the bracket's midpoint (no margin)."""
    mid = 0.5 * (np.asarray(v_lower) + np.asarray(v_upper))
    q = np.where(mdp.action_mask, q_from_v(mdp, mid), -np.inf)
    keep = np.zeros_like(mdp.action_mask)
    keep[np.arange(mdp.S), np.argmax(q, axis=1)] = True
    return mdp.action_mask & ~keep


register(Theorem(
    name="macqueen-action-elimination",
    statement="with a bracket v_L <= v* <= v_U, an action with R(s,a) + gamma P(s,a) v_U < v_L(s) is not optimal "
              "(Q*(s,a) < v*(s)); checked on VI's MacQueen-Porteus brackets after 1..21 sweeps against Q* by "
              "enumeration (the count of wrongly eliminated actions must be 0)",
    source=f"MacQueen (1967); {PUTERMAN}, Sec. 6.7 (action elimination)",
    compare="identity",
    subject=macqueen_eliminate, subject_doc="eliminate(mdp, v_lower, v_upper) -> (S, A) bool, actions eliminated",
    run=_run_elimination, family=discounted_mdps,
    negative=eliminate_non_greedy, negative_doc="eliminate every action not greedy for the midpoint (no margin)",
    zoo=("gridworld_5x5", "machine_replacement"), plot="ratio",
))


# ============================================================================ Banach a posteriori bound, any v
def _run_residual(mdp, rng, T):
    """||v - v*|| <= ||Tv - v|| / (1 - gamma) for arbitrary v (random, near v*, and v* + c where it is attained)."""
    vstar = optimal_value(mdp)
    c = value_scale(mdp)
    vs = [start_vector(mdp, rng), vstar + rng.uniform(-1, 1, mdp.S) * 1e-2 * c,
          vstar + float(rng.choice([-1.0, 1.0])) * c]
    obs, bnd = [], []
    for v in vs:
        obs.append(sup_norm(v - vstar))
        bnd.append(bounds.residual_value_bound(mdp.gamma, sup_norm(np.asarray(T(mdp, v)) - v)).value)
    return Observation(np.array(obs), np.array(bnd), atol=slack(mdp))


def _bellman(mdp, v):
    """Default subject: the Bellman optimality operator, ``(mdp, v) -> T v``."""
    return bellman_operator(mdp, v)[0]


register(Theorem(
    name="residual-value-bound",
    statement="for any v: ||v - v*||_inf <= ||T v - v||_inf / (1 - gamma) (equality for v = v* + c 1)",
    source=f"{PUTERMAN}, Thm 6.3.1 (contraction argument; Banach a posteriori bound)",
    compare="bound",
    subject=_bellman, subject_doc="T(mdp, v) -> (S,) array, the Bellman optimality operator",
    run=_run_residual, family=discounted_mdps,
    negative=bellman_damped, negative_doc="damped VI v + (Tv - v)/2 (its residual is half of T's)",
    zoo=("gridworld_5x5",), plot="ratio", edge=edge_cases,
))


# ============================================================================ truncation of the horizon
def _run_truncation(mdp, rng, solver):
    """|v* - v*_H| <= gamma^H max|r| / (1 - gamma) for the H-step optimum (backward induction)."""
    vstar = optimal_value(mdp)
    obs, bnd = [], []
    r = float(np.max(np.abs(mdp.R[mdp.action_mask])))
    for H in (1, 2, 3, 5, 8):
        vH = np.asarray(solver(mdp, H), dtype=float)
        obs.append(sup_norm(vstar - vH))
        bnd.append(bounds.truncation_bound(mdp.gamma, H, r).value)
    return Observation(np.array(obs), np.array(bnd), atol=slack(mdp), x=np.array([1, 2, 3, 5, 8]))


def bi_value_discounted(mdp, horizon):
    """Default subject: :func:`mdpkit.solvers.backward_induction`'s H-step optimal value at time 0 (discounted)."""
    from mdpkit.solvers import backward_induction

    return np.asarray(backward_induction(mdp, horizon=horizon).v)[0]


def bi_value_half_horizon(mdp, horizon):
    """Negative control: the optimal value over ceil(H/2) steps in place of H."""
    return bi_value_discounted(mdp, max(1, (horizon + 1) // 2))


def _constant_reward():
    P = np.full((2, 2, 2), 0.5)
    return [TabularMDP(P, np.ones((2, 2)), g, name=f"constant-reward(gamma={g:g})") for g in (0.5, 0.9)]


register(Theorem(
    name="horizon-truncation",
    statement="the H-step optimal value is within gamma^H max|r|/(1 - gamma) of v* (equality for a constant reward)",
    source="tail of the geometric series (derived); cf. Puterman 1994, Sec. 4.5 and 6.3",
    compare="bound",
    subject=bi_value_discounted, subject_doc="f(mdp, horizon) -> (S,) optimal H-step discounted value",
    run=_run_truncation, family=discounted_mdps,
    negative=bi_value_half_horizon, negative_doc="optimum over ceil(H/2) steps instead of H",
    zoo=("riverswim:gamma=0.9",), plot="ratio", tight=_constant_reward, edge=edge_cases,
))


# ============================================================================ SSP: certificate of a policy
def _run_ssp_greedy(mdp, rng, T):
    """v* - v_pi <= max(T v_pi - v_pi)^+ max_mu max_s E_mu[steps] for every policy pi (all proper)."""
    n = mdp.S - 1
    P = mdp.P_dense()
    xi = _worst_expected_steps(mdp)
    vals = []
    for pol in itertools.product(*[np.flatnonzero(mdp.action_mask[s]) for s in range(n)]):
        pol = np.array(pol)
        Q = P[np.arange(n), pol][:, :n]
        vals.append((pol, np.linalg.solve(np.eye(n) - Q, mdp.R[np.arange(n), pol])))
    vstar = np.max([v for _, v in vals], axis=0)
    obs, bnd = [], []
    for j in rng.choice(len(vals), size=min(4, len(vals)), replace=False):
        v = np.append(vals[j][1], 0.0)
        d = np.asarray(T(mdp, v))[:n] - v[:n]
        obs.append(float(np.max(vstar - vals[j][1])))
        bnd.append(bounds.ssp_greedy_bound(float(np.max(np.maximum(d, 0.0))), float(xi.max())).value)
    return Observation(np.array(obs), np.array(bnd), atol=1e-9 * max(1.0, float(np.abs(vstar).max())))


register(Theorem(
    name="ssp-policy-certificate",
    statement="stochastic shortest path, every policy proper: for any policy pi, v* - v_pi <= max_s (T v_pi - v_pi)^+ "
              "* max_mu max_s E_mu[steps to termination] (v* and v_pi by exact linear solves over every policy)",
    source="Bertsekas & Tsitsiklis (1991), Math. Oper. Res. 16(3) (setting); inequality derived in mdpkit.bounds.dp",
    compare="bound",
    subject=ssp_bellman, subject_doc="T(mdp, v) -> (S,) array, the Bellman operator (gamma = 1, terminal state S-1)",
    run=_run_ssp_greedy, family=ssp_mdps,
    negative=bellman_damped, negative_doc="damped operator v + (Tv - v)/2 (halves the Bellman residual)",
    zoo=(), plot="ratio",
    power_note="the certificate multiplies the largest residual by the largest expected horizon over all policies",
))


# ============================================================================ RVI relative values
def _run_rvi_value(mdp, rng, solver):
    """|v - (h* - h*(ref))| <= v_error_bound for relative VI's relative value after k iterations."""
    h = optimal_bias(mdp)
    h = h - h[0]
    obs, bnd = [], []
    v0 = rng.uniform(-1, 1, mdp.S) * max(1.0, sup_norm(mdp.R))
    for k in (2, 5, 10, 20, 40):
        res = solver(mdp, max_iter=k, v0=v0)
        obs.append(sup_norm(np.asarray(res.v) - h))
        bnd.append(float(res.v_error_bound))
    return Observation(np.array(obs), np.array(bnd), atol=1e-9 * max(1.0, sup_norm(mdp.R)), x=np.array([2, 5, 10, 20, 40]))


def rvi_unscaled_bound(mdp, *, max_iter, v0=None):
    """Negative control: relative VI whose certificate forgets the factor 1/(1 - delta) (tau sp(d) only)."""
    from mdpkit.solvers import relative_value_iteration

    res = relative_value_iteration(mdp, max_iter=max_iter, v0=v0)
    d = float(res.residuals[-1]) if len(res.residuals) else 0.0
    return SimpleNamespace(v=res.v, v_error_bound=0.5 * d)


def _rvi_subject(mdp, *, max_iter, v0=None):
    """Default subject: :func:`mdpkit.solvers.relative_value_iteration` (ref_state 0)."""
    from mdpkit.solvers import relative_value_iteration

    return relative_value_iteration(mdp, max_iter=max_iter, v0=v0, epsilon=1e-12)


register(Theorem(
    name="rvi-relative-value",
    statement="relative VI's relative value v (pinned at state 0) satisfies ||v - h*||_inf <= tau sp(T~w - w)/(1 - delta), "
              "delta the span coefficient of tau P + (1 - tau) I (h* the optimal bias pinned at 0, by enumeration)",
    source=f"{PUTERMAN}, Sec. 6.6 and 8.5 (span contraction); inequality derived in mdpkit.bounds.dp",
    compare="bound",
    subject=_rvi_subject, subject_doc="solver(mdp, max_iter=, v0=) -> result with .v (S,) and .v_error_bound",
    run=_run_rvi_value, family=positive_mdps,
    negative=rvi_unscaled_bound, negative_doc="certificate tau sp(d) without the factor 1/(1 - delta)",
    zoo=(), plot="ratio",
))
