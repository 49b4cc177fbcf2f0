"""Registered theorem checks for exact policy optimization, constrained MDPs and zero-sum games.

Instances: small dense MDPs with S in [2, 4], A in [2, 3], gamma in [0.5, 0.9] and continuous
rewards, mixed with two designed instances (the many-armed absorbing bandit on which the NPG bound
is nearly attained, and a delayed-reward chain on which myopic methods fail).  Every optimum is
recomputed here by enumeration (``_instances.optimal_value``), never taken from the subject.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

from mdpkit import bounds
from mdpkit.model import TabularMDP
from mdpkit.occupancy import (
    advantage,
    direct_gradient,
    masked_softmax,
    policy_quantities,
    state_occupancy,
)
from mdpkit.solvers.cmdp import cmdp_linear_programming, cmdp_primal_dual
from mdpkit.solvers.games import shapley_operator
from mdpkit.solvers.policy_optimization import (
    entropy_regularized_npg,
    natural_policy_gradient,
    policy_mirror_descent,
    soft_optimal_values,
    softmax_policy_gradient,
)

from ._core import Observation, Theorem, register
from ._instances import enumerate_values, optimal_value, value_scale

GAMMA_RANGE = (0.5, 0.9)


# ----------------------------------------------------------------------------- instances
def bandit_tight(A: int = 1000, gamma: float = 0.5) -> TabularMDP:
    """Two absorbing states, each an A-armed bandit with one arm of reward 1: NPG's KL/(eta T)
    term is nearly attained (ratio -> 1 slowly as A grows)."""
    P = np.zeros((2, A, 2))
    P[0, :, 0] = 1.0
    P[1, :, 1] = 1.0
    R = np.zeros((2, A))
    R[:, 0] = 1.0
    return TabularMDP(P, R, gamma, name="bandit_tight")


def delayed_chain(S: int = 4, gamma: float = 0.9) -> TabularMDP:
    """Action 0 pays 0.1 now and resets to state 0; action 1 moves right for nothing; the last
    state pays 1.  The myopic choice (action 0) is suboptimal everywhere."""
    P = np.zeros((S, 2, S))
    R = np.zeros((S, 2))
    for s in range(S):
        P[s, 0, 0] = 1.0
        P[s, 1, min(s + 1, S - 1)] = 1.0
        R[s, 0] = 0.1
    R[S - 1, 1] = 1.0
    return TabularMDP(P, R, gamma, name="delayed_chain")


def pg_mdps(include=("chain",), gamma_range=GAMMA_RANGE):
    """Hypothesis strategy: random small MDPs (continuous rewards), mixed with designed instances."""
    from hypothesis import strategies as st

    @st.composite
    def rand(d):
        S = d(st.integers(2, 4))
        A = d(st.integers(2, 3))
        g = d(st.floats(*gamma_range))
        w = np.array(d(st.lists(st.integers(0, 4), min_size=S * A * S, max_size=S * A * S)), float).reshape(S, A, S)
        w[..., 0] += (w.sum(axis=2) == 0)
        R = np.array(d(st.lists(st.integers(-8, 8), min_size=S * A, max_size=S * A)), float).reshape(S, A) / 8.0
        R += np.array(d(st.lists(st.floats(-0.05, 0.05), min_size=S * A, max_size=S * A))).reshape(S, A)  # no ties
        return TabularMDP(w / w.sum(axis=2, keepdims=True), R, g)

    designed = []
    if "chain" in include:
        designed.append(st.builds(delayed_chain, st.integers(3, 5), st.sampled_from([0.6, 0.75, 0.9])))
    if "bandit" in include:
        designed.append(st.builds(bandit_tight, st.just(1000), st.sampled_from([0.5, 0.6])))
    return st.one_of(rand(), *designed) if designed else rand()


def _vstar_rho(mdp, rho):
    return float(rho @ optimal_value(mdp))


def _slack(mdp):
    return 1e-9 * value_scale(mdp)


def _label(mdp):
    return f"{mdp.name or 'random'} S={mdp.S} A={mdp.A} gamma={mdp.gamma:.3g}"


# ----------------------------------------------------------------------------- policy-gradient theorem
def gradient_start_state_weighting(mdp, theta, mu):
    """Negative control: the PG formula with the start law mu(s) in place of the occupancy d^pi_mu(s)."""
    pi = masked_softmax(np.asarray(theta, dtype=float), mdp.action_mask)
    return np.asarray(mu)[:, None] * pi * advantage(mdp, pi) / (1 - mdp.gamma)


def _value_of_logits(mdp, theta, mu):
    pi = masked_softmax(theta, mdp.action_mask)
    P = mdp.P_dense()
    M = np.eye(mdp.S) - mdp.gamma * np.einsum("sa,sat->st", pi, P)
    return float(mu @ np.linalg.solve(M, np.sum(pi * np.where(mdp.action_mask, mdp.R, 0.0), axis=1)))


def _run_pg_theorem(mdp, rng, grad):
    theta = np.where(mdp.action_mask, rng.normal(size=(mdp.S, mdp.A)), 0.0)
    mu = rng.dirichlet(np.ones(mdp.S))
    g = np.asarray(grad(mdp, theta, mu), dtype=float)
    fd = np.zeros_like(theta)
    h = 1e-3
    for idx in np.ndindex(theta.shape):
        def cd(hh):
            e = np.zeros_like(theta)
            e[idx] = hh
            return (_value_of_logits(mdp, theta + e, mu) - _value_of_logits(mdp, theta - e, mu)) / (2 * hh)
        fd[idx] = (4 * cd(h / 2) - cd(h)) / 3  # Richardson: O(h^4)
    err = np.abs(g - fd).ravel()
    return Observation(err, np.zeros_like(err), atol=1e-8 * value_scale(mdp), label=_label(mdp))


def _softmax_gradient(mdp, theta, mu):
    from mdpkit.occupancy import softmax_gradient

    return softmax_gradient(mdp, theta, mu)


register(Theorem(
    name="policy-gradient-theorem",
    statement="grad_theta V^{pi_theta}(mu) = sum_{s,a} d^pi_mu(s) pi(a|s) A^pi(s,a) e_{s,a} / (1-gamma) for the (masked) softmax, "
              "equal to Richardson-extrapolated central differences of the exact value",
    source="Sutton, McAllester, Singh & Mansour (2000), NeurIPS, Thm 1; AKLM (2021), Lemma 7 (numbers not checked against the text)",
    compare="identity",
    subject=_softmax_gradient, subject_doc="grad(mdp, theta (S, A), mu (S,)) -> (S, A) exact gradient of V^{pi_theta}(mu)",
    run=_run_pg_theorem, family=lambda: pg_mdps(("chain",)),
    negative=gradient_start_state_weighting, negative_doc="the start law mu(s) in place of the occupancy d^pi_mu(s)",
    plot="ratio", ylabel="|exact - finite difference|",
))


# ----------------------------------------------------------------------------- NPG (AKLM Thm 16)
def npg_myopic(mdp, *, eta, max_iter, epsilon):
    """Negative control: 'NPG' that uses the immediate reward R(s, a) instead of the advantage."""
    pi = mdp.action_mask / mdp.action_mask.sum(axis=1, keepdims=True)
    logits = np.where(mdp.action_mask, 0.0, -np.inf)
    vals = []
    for _ in range(max_iter + 1):
        vals.append(float(mdp.mu0 @ policy_quantities(mdp, pi, mdp.mu0).v))
        logits = np.where(mdp.action_mask, logits + eta * mdp.R / (1 - mdp.gamma), -np.inf)
        pi = masked_softmax(logits, mdp.action_mask)
    return SimpleNamespace(values=np.array(vals), policy=pi)


def _trivial(mdp):
    """Constant rewards: every policy is optimal and the solvers stop at t = 0; nothing to compare."""
    return Observation(np.zeros(1), np.zeros(1), label=_label(mdp), info={"trivial": 1})


def _run_npg(mdp, rng, solver):
    if float(np.ptp(mdp.R[mdp.action_mask])) == 0.0:
        return _trivial(mdp)
    eta = float(rng.choice([0.01, 0.1, 1.0])) if mdp.name != "bandit_tight" else 0.02
    T = 60 if mdp.name != "bandit_tight" else 150
    res = solver(mdp, eta=eta, max_iter=T, epsilon=1e-300)
    gaps = _vstar_rho(mdp, mdp.mu0) - np.asarray(res.values, dtype=float)
    Ts = np.arange(1, gaps.size)
    A_max = int(mdp.action_mask.sum(axis=1).max())
    w = float(np.ptp(mdp.R[mdp.action_mask]))
    bnd = np.array([bounds.npg_bound(mdp.gamma, eta, t, kl0=math.log(A_max), reward_span=w).value for t in Ts])
    return Observation(gaps[1:], bnd, x=Ts, atol=_slack(mdp), label=_label(mdp), info={"eta": eta})


def _npg_subject(mdp, *, eta, max_iter, epsilon):
    import warnings

    from mdpkit._exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return natural_policy_gradient(mdp, eta=eta, max_iter=max_iter, epsilon=epsilon)


register(Theorem(
    name="npg-rate",
    statement="softmax NPG from the uniform policy: V*(rho) - V^(T)(rho) <= log|A|/(eta T) + w/((1-gamma)^2 T) at every T",
    source="Agarwal, Kakade, Lee & Mahajan (2021), JMLR 22(98), Thm 16 (number not checked against the text)",
    compare="bound",
    subject=_npg_subject, subject_doc="solver(mdp, eta=, max_iter=, epsilon=) -> result with .values (V^{pi_t}(mu0), t=0..T)",
    run=_run_npg, family=lambda: pg_mdps(("chain", "bandit")),
    negative=npg_myopic, negative_doc="NPG driven by the immediate reward R instead of the advantage",
    ylabel="V*(rho) - V^(T)(rho)",
))


# ----------------------------------------------------------------------------- softmax PG (Mei Thm 4)
def _mei_subject(mdp, *, max_iter):
    import warnings

    from mdpkit._exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return softmax_policy_gradient(mdp, max_iter=max_iter, epsilon=1e-300)


def softmax_pg_descent(mdp, *, max_iter):
    """Negative control: gradient *descent* with Mei's step (the sign of the update flipped)."""
    w = float(np.ptp(mdp.R[mdp.action_mask]))
    eta = bounds.mei_softmax_step(mdp.gamma, w)
    theta = np.where(mdp.action_mask, 0.0, -np.inf)
    vals, pis = [], []
    for _ in range(max_iter + 1):
        pi = masked_softmax(theta, mdp.action_mask)
        pq = policy_quantities(mdp, pi, mdp.mu0)
        vals.append(float(mdp.mu0 @ pq.v))
        pis.append(pi)
        theta = np.where(mdp.action_mask, theta - eta * pq.d[:, None] * pi * pq.adv / (1 - mdp.gamma), -np.inf)
    return SimpleNamespace(values=np.array(vals), policies=pis)


def _run_mei(mdp, rng, solver):
    if float(np.ptp(mdp.R[mdp.action_mask])) == 0.0:  # constant rewards: every policy optimal, nothing to check
        return Observation(np.zeros(1), np.zeros(1), label=_label(mdp))
    T = 120
    res = solver(mdp, max_iter=T)
    vals = np.asarray(res.values, dtype=float)
    vstar = optimal_value(mdp)
    gaps = float(mdp.mu0 @ vstar) - vals
    # c over the run, recomputed from the subject's logits trajectory is not available: recompute the
    # iterates here from the published update (same start), then take min_s pi_t(a*(s)|s)
    from mdpkit.policies import bellman_operator

    a_star = bellman_operator(mdp, vstar)[1]
    w = float(np.ptp(mdp.R[mdp.action_mask]))
    eta = bounds.mei_softmax_step(mdp.gamma, w)
    theta = np.where(mdp.action_mask, 0.0, -np.inf)
    cmin = math.inf
    for t in range(vals.size):
        pi = masked_softmax(theta, mdp.action_mask)
        if t >= 1:
            cmin = min(cmin, float(np.min(pi[np.arange(mdp.S), a_star])))
        pq = policy_quantities(mdp, pi, mdp.mu0)
        theta = np.where(mdp.action_mask, theta + eta * pq.d[:, None] * pi * pq.adv / (1 - mdp.gamma), -np.inf)
    m = mdp.mu0
    mism = float(np.max(state_occupancy(mdp, a_star, m) / m))
    ts = np.arange(1, vals.size)
    bnd = np.array([bounds.softmax_pg_bound(mdp.gamma, t, n_states=mdp.S, c=cmin, mismatch=mism,
                                            inv_mu=float(np.max(1 / m)), reward_span=w).value for t in ts])
    # claim 2 (the ascent lemma with eta = 1/L): values never decrease
    drops = vals[:-1] - vals[1:]
    return Observation(np.concatenate([gaps[1:], drops]), np.concatenate([bnd, np.zeros(drops.size)]),
                       atol=_slack(mdp), label=_label(mdp), info={"c": cmin, "t_gap_T": float(ts[-1] * gaps[-1])})


register(Theorem(
    name="softmax-pg-rate",
    statement="softmax PG with eta = (1-gamma)^3/(8w): V*(mu) - V^{pi_t}(mu) <= 16 S w ||d*_mu/mu||^2 ||1/mu|| /(c^2 (1-gamma)^6 t) "
              "(so t times the gap stays bounded), and V^{pi_t}(mu) is non-decreasing",
    source="Mei, Xiao, Szepesvari & Schuurmans (2020), ICML, Thm 4 and Lemma 7 (numbers not checked against the text)",
    compare="bound",
    subject=_mei_subject, subject_doc="solver(mdp, max_iter=) -> result with .values (V^{pi_t}(mu0), t=0..T)",
    run=_run_mei, family=lambda: pg_mdps(("chain",)),
    negative=softmax_pg_descent, negative_doc="gradient descent instead of ascent (sign flipped)",
    plot="ratio",
))


# ----------------------------------------------------------------------------- entropy-regularized NPG (Cen Thm 1)
def _cen_subject(mdp, *, tau, eta, max_iter):
    return entropy_regularized_npg(mdp, tau=tau, eta=eta, max_iter=max_iter, epsilon=1e-300)


def entropy_npg_unregularized_q(mdp, *, tau, eta, max_iter):
    """Negative control: the entropy-NPG update fed the *unregularized* Q (drops -tau log pi)."""
    g = mdp.gamma
    pi = mdp.action_mask / mdp.action_mask.sum(axis=1, keepdims=True)
    pis = [pi]
    for _ in range(max_iter):
        q = policy_quantities(mdp, pi, mdp.mu0).q
        a = 1 - eta * tau / (1 - g)
        logits = np.where(mdp.action_mask, a * np.log(np.where(mdp.action_mask, pi, 1.0)) + eta * q / (1 - g), -np.inf)
        pi = masked_softmax(logits, mdp.action_mask)
        pis.append(pi)
    return SimpleNamespace(policies=pis)


def _run_cen(mdp, rng, solver):
    tau = float(rng.choice([0.1, 0.5, 1.0]))
    frac = float(rng.choice([0.2, 0.6, 1.0]))
    eta = frac * (1 - mdp.gamma) / tau
    K = 30
    res = solver(mdp, tau=tau, eta=eta, max_iter=K)
    _, qs, pis_star = soft_optimal_values(mdp, tau)
    mask = mdp.action_mask
    errs = _cen_errors(res, mdp, tau, qs)
    pi0 = mask / mask.sum(axis=1, keepdims=True)
    logd = float(np.max(np.abs((np.log(np.where(mask, pis_star, 1)) - np.log(np.where(mask, pi0, 1)))[mask])))
    c1 = errs[0] + 2 * tau * (1 - eta * tau / (1 - mdp.gamma)) * logd
    ks = np.arange(1, errs.size)
    bnd = np.array([bounds.entropy_npg_bound(mdp.gamma, eta, tau, k - 1, c1=c1).value for k in ks])
    return Observation(errs[1:], bnd, x=ks, atol=_slack(mdp) * 10, label=_label(mdp),
                       rate_trace=errs, rate_floor=1e-9 * value_scale(mdp), claimed_rate=1 - eta * tau,
                       rate_rtol=1e-3, info={"tau": tau, "eta": eta})


def _cen_errors(res, mdp, tau, qs):
    """Soft-Q errors of the subject's iterates: from its policies when it returns them, else its
    reported trace, whose last entry is recomputed here from the returned policy."""
    from mdpkit.occupancy import entropy_regularized_values

    mask = mdp.action_mask
    if hasattr(res, "policies"):
        return np.array([float(np.max(np.abs((qs - entropy_regularized_values(mdp, p, tau)[1])[mask]))) for p in res.policies])
    errs = np.asarray(res.bound_trace, dtype=float).copy()
    last = float(np.max(np.abs((qs - entropy_regularized_values(mdp, res.policy, tau)[1])[mask])))
    if abs(last - errs[-1]) > 1e-9 * value_scale(mdp):
        errs[-1] = math.inf  # the reported trace does not describe the returned policy
    return errs


register(Theorem(
    name="entropy-npg-linear",
    statement="entropy-regularized NPG with 0 < eta <= (1-gamma)/tau: ||Q*_tau - Q^(t+1)_tau||_inf <= C1 gamma (1 - eta tau)^t",
    source="Cen, Cheng, Chen, Wei & Chi (2022), Operations Research 70(4), Thm 1 (number not checked against the text)",
    compare="bound+rate",
    subject=_cen_subject, subject_doc="solver(mdp, tau=, eta=, max_iter=) -> result with .policy (the iterate after max_iter steps)",
    run=_run_cen, family=lambda: pg_mdps(("chain",)),
    negative=entropy_npg_unregularized_q, negative_doc="the update fed the unregularized Q (no -tau log pi)",
    claimed_rate="1 - eta tau", default=False,
))


# ----------------------------------------------------------------------------- PMD geometric (Xiao Thm 10)
def _xiao_subject(mdp, *, eta0, mirror, max_iter):
    return policy_mirror_descent(mdp, eta0=eta0, growth="geometric", mirror=mirror, max_iter=max_iter, epsilon=1e-300)


def pmd_constant_steps(mdp, *, eta0, mirror, max_iter):
    """Negative control: PMD with constant steps eta0 (outside the theorem's eta_{k+1} >= eta_k/gamma)."""
    import warnings

    from mdpkit._exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return policy_mirror_descent(mdp, eta0=eta0, growth=1.0, mirror=mirror, max_iter=max_iter, epsilon=1e-300)


def _run_xiao(mdp, rng, solver):
    if float(np.ptp(mdp.R[mdp.action_mask])) == 0.0:
        return _trivial(mdp)
    import warnings

    from mdpkit._exceptions import ConvergenceWarning

    eta0 = float(rng.choice([0.01, 0.1, 1.0]))
    mirror = str(rng.choice(["kl", "euclidean"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = solver(mdp, eta0=eta0, mirror=mirror, max_iter=40)
    vstar = optimal_value(mdp)
    rho = mdp.mu0
    gaps = float(rho @ vstar) - np.asarray(res.values, dtype=float)
    from mdpkit.policies import bellman_operator

    a_star = bellman_operator(mdp, vstar)[1]
    pi0 = mdp.action_mask / mdp.action_mask.sum(axis=1, keepdims=True)
    dstar = state_occupancy(mdp, a_star, rho)
    if mirror == "kl":
        d0 = float(dstar @ -np.log(pi0[np.arange(mdp.S), a_star]))
    else:
        onehot = np.eye(mdp.A)[a_star]
        d0 = float(dstar @ (0.5 * np.sum((onehot - pi0) ** 2, axis=1)))
    k = np.arange(gaps.size)
    bnd = np.array([bounds.pmd_geometric_bound(mdp.gamma, j, gap0=gaps[0], d0=d0, eta0=eta0).value for j in k])
    return Observation(gaps[1:], bnd[1:], x=k[1:], atol=_slack(mdp), label=_label(mdp),
                       info={"eta0": eta0, "mirror": mirror})


register(Theorem(
    name="pmd-geometric-linear",
    statement="PMD with eta_{k+1} = eta_k/gamma: V*(rho) - V^{pi_k}(rho) <= gamma^k (V*(rho) - V^{pi_0}(rho) + D*_0/((1-gamma) eta_0))",
    source="Xiao (2022), JMLR 23(282), Thm 10 (number not checked against the text)",
    compare="bound",
    subject=_xiao_subject, subject_doc="solver(mdp, eta0=, mirror=, max_iter=) -> result with .values (V^{pi_k}(mu0))",
    run=_run_xiao, family=lambda: pg_mdps(("chain",)),
    negative=pmd_constant_steps, negative_doc="constant steps eta_k = eta_0 (outside the theorem's range)",
    ylabel="V*(rho) - V^{pi_k}(rho)",
))


# ----------------------------------------------------------------------------- gradient domination (AKLM Lemma 4)
def myopic_direct_gradient(mdp, pi, mu):
    """Negative control: the 'gradient' of the immediate reward only, mu(s) R(s, a)."""
    return np.where(mdp.action_mask, mu[:, None] * mdp.R, 0.0)


def _run_gd(mdp, rng, grad):
    S, A = mdp.S, mdp.A
    w = rng.random((S, A)) * mdp.action_mask + 1e-3 * mdp.action_mask
    pi = w / w.sum(axis=1, keepdims=True)
    if mdp.name == "delayed_chain":  # the myopic action everywhere, slightly mixed
        pi = np.where(mdp.action_mask, 0.02, 0.0)
        pi[:, 0] = 0.98
    mu = rng.dirichlet(np.ones(S)) * 0.9 + 0.1 / S
    rho = mu if rng.random() < 0.5 else rng.dirichlet(np.ones(S))
    vstar = optimal_value(mdp)
    gap = float(rho @ (vstar - policy_quantities(mdp, pi, rho).v))
    g = np.asarray(grad(mdp, pi, mu), dtype=float)
    masked_g = np.where(mdp.action_mask, g, -np.inf)
    stat = float(np.sum(np.max(masked_g, axis=1) - np.sum(pi * np.where(mdp.action_mask, g, 0.0), axis=1)))
    from mdpkit.policies import bellman_operator

    a_star = bellman_operator(mdp, vstar)[1]
    sharp = float(np.max(state_occupancy(mdp, a_star, rho) / state_occupancy(mdp, pi, mu)))
    loose = float(np.max(state_occupancy(mdp, a_star, rho) / mu))
    b1 = bounds.gradient_domination_bound(sharp, stat).value
    b2 = bounds.gradient_domination_bound(loose, stat, gamma=mdp.gamma).value
    return Observation(np.array([gap, gap]), np.array([b1, b2]), atol=_slack(mdp), label=_label(mdp),
                       info={"sharp_mismatch": sharp})


def _absorbing(S=3, A=3, gamma=0.7, seed=0):
    rng = np.random.default_rng(seed)
    P = np.zeros((S, A, S))
    for s in range(S):
        P[s, :, s] = 1.0
    return TabularMDP(P, rng.uniform(-1, 1, (S, A)), gamma, name="absorbing_bandits")


def _gd_family():
    from hypothesis import strategies as st

    return st.one_of(pg_mdps(("chain",)), st.builds(_absorbing, st.integers(2, 4), st.integers(2, 3),
                                                    st.floats(*GAMMA_RANGE), st.integers(0, 1000)))


register(Theorem(
    name="gradient-domination",
    statement="direct parametrization: V*(rho) - V^pi(rho) <= ||d*_rho / d^pi_mu||_inf max_pibar (pibar - pi)^T grad V^pi(mu) "
              "<= ||d*_rho/mu||_inf /(1-gamma) * the same (equality on absorbing bandits with rho = mu)",
    source="Agarwal, Kakade, Lee & Mahajan (2021), JMLR 22(98), Lemma 4 (number not checked against the text)",
    compare="bound",
    subject=direct_gradient, subject_doc="grad(mdp, pi (S, A), mu (S,)) -> (S, A) gradient of V^pi(mu) in pi",
    run=_run_gd, family=_gd_family,
    negative=myopic_direct_gradient, negative_doc="gradient of the immediate reward only (mu(s) R(s, a))",
    plot="ratio",
))


# ----------------------------------------------------------------------------- TRPO improvement bound
def advantage_wrong_baseline(mdp, pi):
    """Negative control: Q - min_a Q as the 'advantage' (baseline not the value: not mean-zero under pi)."""
    q = policy_quantities(mdp, pi, mdp.mu0).q
    qmin = np.min(np.where(mdp.action_mask, q, np.inf), axis=1, keepdims=True)
    return np.where(mdp.action_mask, q - qmin, 0.0)


def _run_trpo(mdp, rng, adv_fn):
    S, A, g = mdp.S, mdp.A, mdp.gamma
    mu = rng.dirichlet(np.ones(S))
    w = rng.random((S, A)) * mdp.action_mask + 1e-2 * mdp.action_mask
    pi = w / w.sum(axis=1, keepdims=True)
    obs, bnd = [], []
    for scale in (1e-3, 1e-2, 0.1, 0.5, 1.0):
        d = rng.normal(size=(S, A)) * mdp.action_mask
        new = np.where(mdp.action_mask, np.exp(np.log(np.where(mdp.action_mask, pi, 1)) + scale * d), 0.0)
        new /= new.sum(axis=1, keepdims=True)
        Adv = np.asarray(adv_fn(mdp, pi), dtype=float)
        rho_unnorm = state_occupancy(mdp, pi, mu) / (1 - g)
        surrogate = float(rho_unnorm @ np.sum(new * Adv, axis=1))
        improvement = float(mu @ (policy_quantities(mdp, new, mu).v - policy_quantities(mdp, pi, mu).v))
        eps = float(np.max(np.abs(advantage(mdp, pi)[mdp.action_mask])))
        alpha = float(np.max(0.5 * np.abs(new - pi).sum(axis=1)))
        lb = bounds.trpo_improvement_bound(g, surrogate, max_abs_advantage=eps, max_tv=alpha).value
        obs.append(surrogate - improvement)
        bnd.append(surrogate - lb)
    return Observation(np.array(obs), np.array(bnd), atol=_slack(mdp), label=_label(mdp))


register(Theorem(
    name="trpo-improvement",
    statement="V^{new}(mu) - V^{old}(mu) >= sum_s rho_old(s) sum_a new(a|s) A_old(s,a) - 4 eps gamma alpha^2/(1-gamma)^2, "
              "alpha = max_s TV(old_s, new_s), eps = max |A_old|",
    source="Schulman, Levine, Moritz, Jordan & Abbeel (2015), ICML, Thm 1 (after Kakade & Langford 2002, Thm 4.1); "
           "number not checked against the text",
    compare="bound",
    subject=advantage, subject_doc="adv(mdp, pi (S, A)) -> (S, A) advantage Q^pi - V^pi",
    run=_run_trpo, family=lambda: pg_mdps(("chain",)),
    negative=advantage_wrong_baseline, negative_doc="advantage with baseline min_a Q instead of V",
    plot="ratio", ylabel="(surrogate - improvement) / penalty",
))


# ----------------------------------------------------------------------------- Shapley contraction
def _random_game(S, A1, A2, gamma, seed):
    from mdpkit.games import ZeroSumMarkovGame

    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(S) * 0.5, size=(S, A1, A2))
    return ZeroSumMarkovGame(P, rng.uniform(-1, 1, (S, A1, A2)), gamma, name=f"game S={S} A1={A1} A2={A2} gamma={gamma:.3g}")


def absorbing_game(S, A1, A2, gamma, seed):
    """Every state absorbing (a repeated matrix game per state): T(u) - T(v) = gamma (u - v) exactly."""
    from mdpkit.games import ZeroSumMarkovGame

    rng = np.random.default_rng(seed)
    P = np.zeros((S, A1, A2, S))
    for s in range(S):
        P[s, :, :, s] = 1.0
    return ZeroSumMarkovGame(P, rng.uniform(-1, 1, (S, A1, A2)), gamma,
                             name=f"absorbing game S={S} A1={A1} A2={A2} gamma={gamma:.3g}")


def _games():
    from hypothesis import strategies as st

    args = (st.integers(2, 3), st.integers(2, 3), st.integers(2, 3), st.floats(*GAMMA_RANGE), st.integers(0, 10**6))
    return st.one_of(st.builds(_random_game, *args), st.builds(absorbing_game, *args))


def shapley_relative(game, v):
    """Negative control: the Shapley operator with the average-reward normalization T v - (T v)(0)."""
    t = shapley_operator(game, v)[0]
    return t - t[0]


def _shapley_T(game, v):
    return shapley_operator(game, v)[0]


def _run_shapley(game, rng, T):
    scale = 1.0 / (1.0 - game.gamma)
    obs, bnd = [], []
    pairs = [(rng.normal(size=game.S) * scale, rng.normal(size=game.S) * scale) for _ in range(2)]
    w = rng.normal(size=game.S) * scale
    pairs.append((w, w + scale))  # T(w + c) = T w + gamma c: the tight case
    sg = np.ones(game.S)
    sg[0] = -1.0  # u - v = delta (-1, 1, ..., 1): equality on absorbing games, and where normalizations break
    pairs.append((w + scale * sg, w))
    pairs.append((w + scale * rng.choice([-1.0, 1.0], game.S), w))
    for u, v in pairs:
        obs.append(float(np.max(np.abs(np.asarray(T(game, u)) - np.asarray(T(game, v))))))
        bnd.append(game.gamma * float(np.max(np.abs(u - v))))
    return Observation(np.array(obs), np.array(bnd), atol=1e-7 * scale, label=game.name)


register(Theorem(
    name="shapley-contraction",
    statement="||T u - T v||_inf <= gamma ||u - v||_inf for Shapley's operator (T v)(s) = val[R(s) + gamma P(s) v]",
    source="Shapley (1953), PNAS 39(10), Sec. 2",
    compare="bound",
    subject=_shapley_T, subject_doc="T(game, v) -> (S,) Shapley operator (stage games solved by LP)",
    run=_run_shapley, family=_games,
    negative=shapley_relative, negative_doc="Shapley operator with the relative-value normalization T v - (T v)(0)",
    plot="ratio",
))


# ----------------------------------------------------------------------------- CMDP LP duality
def cmdp_ignoring_constraint(mdp, *, costs, budgets):
    """Negative control: solve the unconstrained MDP and report it as the CMDP solution."""
    return cmdp_linear_programming(mdp, costs=costs, budgets=1e12)


def _cmdp_instance(mdp, rng, lo=0.1):
    C = rng.uniform(0, 1, (mdp.S, mdp.A))
    pols, _ = enumerate_values(mdp)
    P = mdp.P_dense()
    S = mdp.S
    lines = []
    for p in pols:
        M = np.eye(S) - mdp.gamma * P[np.arange(S), p]
        lines.append((mdp.mu0 @ np.linalg.solve(M, mdp.R[np.arange(S), p]), mdp.mu0 @ np.linalg.solve(M, C[np.arange(S), p])))
    lines = np.array(lines)
    cmin, cbest = lines[:, 1].min(), lines[np.argmax(lines[:, 0]), 1]
    b = float(cmin + rng.uniform(lo, 0.9) * (cbest - cmin))
    return C, b, lines


def _run_cmdp_duality(mdp, rng, solver):
    C, b, lines = _cmdp_instance(mdp, rng)
    res = solver(mdp, costs=C, budgets=b)
    # enumerated Lagrangian dual (independent of the LP): min over lam >= 0 of max over lines
    cands = [0.0]
    for i in range(len(lines)):
        for j in range(i + 1, len(lines)):
            dc = lines[i, 1] - lines[j, 1]
            if abs(dc) > 1e-14 and (lines[i, 0] - lines[j, 0]) / dc > 0:
                cands.append((lines[i, 0] - lines[j, 0]) / dc)
    opt = min(float(np.max(lines[:, 0] - lam * (lines[:, 1] - b))) for lam in cands)
    P = mdp.P_dense()
    pi = np.asarray(res.policy)
    M = np.eye(mdp.S) - mdp.gamma * np.einsum("sa,sat->st", pi, P)
    vr = float(mdp.mu0 @ np.linalg.solve(M, np.sum(pi * mdp.R, axis=1)))
    vc = float(mdp.mu0 @ np.linalg.solve(M, np.sum(pi * C, axis=1)))
    lam = float(np.asarray(res.multipliers)[0])
    obs = np.array([abs(vr - opt), max(vc - b, 0.0), abs(lam * (vc - b)), abs(res.upper_bound - opt)])
    return Observation(obs, np.zeros(4), atol=1e-8 * value_scale(mdp), label=_label(mdp), info={"opt": opt, "lambda": lam})


register(Theorem(
    name="cmdp-lp-duality",
    statement="occupancy-measure LP of a CMDP: its policy is feasible and optimal (= min over lambda >= 0 of the Lagrangian "
              "dual, enumerated), complementary slackness lambda (V_C - b) = 0, and the dual bound equals OPT",
    source="Altman (1999), Constrained Markov Decision Processes, Thm 3.3 and Ch. 3 duality (numbers not checked against the text)",
    compare="identity",
    subject=cmdp_linear_programming, subject_doc="solver(mdp, costs=, budgets=) -> CMDPResult (.policy, .multipliers, .upper_bound)",
    run=_run_cmdp_duality, family=lambda: pg_mdps(("chain",)),
    negative=cmdp_ignoring_constraint, negative_doc="the unconstrained optimum reported as the CMDP solution",
    plot="ratio",
))


# ----------------------------------------------------------------------------- ReLOAD vs GDA (observation)
def _reload(mdp, *, costs, budgets):
    import warnings

    from mdpkit._exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return cmdp_primal_dual(mdp, costs=costs, budgets=budgets, variant="reload", eta=0.2, eta_lambda=1.0, n_iter=1500)


def _gda(mdp, *, costs, budgets):
    import warnings

    from mdpkit._exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return cmdp_primal_dual(mdp, costs=costs, budgets=budgets, variant="gda", eta=0.2, eta_lambda=1.0, n_iter=1500)


def _run_last_iterate(mdp, rng, solver):
    C, b, _ = _cmdp_instance(mdp, rng, lo=0.4)
    lam = float(cmdp_linear_programming(mdp, costs=C, budgets=b).multipliers[0])
    if lam > 1.5:  # outside the stated precondition: nothing is claimed
        return Observation(np.zeros(2), np.full(2, 1e-2), label=_label(mdp), info={"lambda_lp": lam, "precondition": 0})
    res = solver(mdp, costs=C, budgets=b)
    tail = slice(-100, None)
    obs = np.array([np.max(res.violation[tail]), np.max(res.optimality_gap[tail])])
    return Observation(obs, np.full(2, 1e-2), atol=0.0, label=_label(mdp),
                       info={"lambda_lp": float(res.lp_multipliers[0])})


register(Theorem(
    name="cmdp-last-iterate",
    statement="(observed, not a proved rate) for gamma <= 0.8, budgets at least 40% of the way from the minimal cost "
              "to the unconstrained optimum's cost and LP multiplier lambda* <= 1.5, the optimistic primal-dual (ReLOAD) last iterate has violation and "
              "optimality gap <= 1e-2 over iterations 1400-1500 (eta = 0.2, eta_lambda = 1), where plain GDA keeps oscillating",
    source="Moskovitz et al. (2023), ICML, ReLOAD (last-iterate claim; number not checked against the text)",
    compare="bound",
    subject=_reload, subject_doc="solver(mdp, costs=, budgets=) -> PrimalDualResult (.violation, .optimality_gap)",
    run=_run_last_iterate, family=lambda: pg_mdps((), gamma_range=(0.5, 0.8)),
    negative=_gda, negative_doc="plain gradient descent-ascent (no optimism)",
    plot="ratio", default=False,
))


# ----------------------------------------------------------------------------- finite horizon: dynamic PG per-epoch rate
FH_H = 3
FH_STEPS = 900


def _dynamic_pg_epoch_traces(mdp, eta_fn, decay=False):
    """Dynamic PG (gamma = 1, horizon FH_H, uniform state weights nu) for FH_STEPS steps per epoch:
    returns per (h, s) the worst t * gap_{h,s}(t), the per-state step eta_h nu(s) and
    C_{h,s} = min_t pi_t(a*_h(s)|s) over the epoch."""
    from mdpkit.solvers.policy_optimization import dynamic_pg_epoch_run

    fh = TabularMDP(mdp.P_dense(), mdp.R, 1.0, name=mdp.name)  # undiscounted finite horizon
    return dynamic_pg_epoch_run(fh, FH_H, FH_STEPS, eta_fn, decay=decay)


def _dynamic_subject(mdp):
    w = max(float(mdp.R.max() - mdp.R.min()), 1e-12)
    return _dynamic_pg_epoch_traces(mdp, lambda h, H: 2.0 / (5.0 * (H - h) * w))


def dynamic_pg_decaying_step(mdp):
    """Negative control: the same dynamic PG with steps eta_h / sqrt(t+1) (scored with the bound of the
    initial step): a decaying step has no O(1/t) rate, so t * gap grows like sqrt(t)."""
    w = max(float(mdp.R.max() - mdp.R.min()), 1e-12)
    return _dynamic_pg_epoch_traces(mdp, lambda h, H: 2.0 / (5.0 * (H - h) * w), decay=True)


def _run_dynamic_epoch_rate(mdp, rng, solver):
    worst, eta_s, C = solver(mdp)
    bound = np.array([bounds.dynamic_pg_epoch_bound(e, c).value for e, c in zip(eta_s.ravel(), C.ravel())])
    return Observation(worst.ravel(), bound, rtol=1e-9, atol=1e-12,
                       label=f"{mdp.name or 'random'} S={mdp.S} A={mdp.A} H={FH_H} (gamma = 1)",
                       info={"min_C": float(C.min())})


register(Theorem(
    name="dynamic-pg-epoch-rate",
    statement=f"dynamic softmax PG (Klein et al. 2024; epochs h = H-1..0 backwards, H = {FH_H}, exact gradients, "
              f"eta_h = 2/(5 (H-h) w), uniform state weights nu): in every epoch and state, "
              f"t * (max_a Q_h(s,a) - pi_t(.|s)^T Q_h(s,.)) <= 2/(eta_h nu(s) C^2) for t <= {FH_STEPS}, with Q_h "
              "that of the final policy, "
              "C = min_t pi_t(a*|s) (Mei et al. 2020's softmax-bandit O(1/t) rate in each epoch; summed over "
              "epochs it gives the H^3 step count of mdpkit.bounds.dynamic_pg_steps_bound)",
    source="Klein, Weissmann & Döring (2024), ICLR (dynamic PG); Mei et al. (2020), ICML, Thm 2 (bandit rate); "
           "numbers not checked against the text",
    compare="bound",
    subject=_dynamic_subject, subject_doc="solver(mdp) -> (worst t*gap (H, S) against the final Q_h, eta_h nu(s), C)",
    run=_run_dynamic_epoch_rate, family=lambda: pg_mdps(()),
    negative=dynamic_pg_decaying_step, negative_doc="steps eta_h/sqrt(t+1) (no constant step: the O(1/t) rate is lost)",
    plot="ratio", default=False,  # ~18 s for the family; the bound is loose (ratio <= 0.09): low power, no tight instance known
))


# ----------------------------------------------------------------------------- finite horizon: steps vs H (derived H^3 bound)
FH_HORIZONS = (2, 3, 4)
FH_EPS = 0.2


def _dynamic_pg_steps(mdp, H):
    from mdpkit.solvers.policy_optimization import pg_iterations_to_epsilon

    return pg_iterations_to_epsilon(mdp, H, FH_EPS, method="dynamic", max_steps=200_000)


def dynamic_pg_decaying_step_steps(mdp, H):
    """Negative control: steps eta_h/sqrt(t+1) within each epoch (no constant step, no O(1/t) rate)."""
    from mdpkit.solvers.policy_optimization import pg_iterations_to_epsilon

    # stop as soon as the claimed bound is exceeded (inf): the control only has to break it
    w = max(float(mdp.R.max() - mdp.R.min()), 1e-12)
    cap = int(bounds.dynamic_pg_steps_bound(H, n_states=mdp.S, n_actions=mdp.A, reward_span=w, epsilon=FH_EPS).value)
    return pg_iterations_to_epsilon(mdp, H, FH_EPS, method="dynamic", max_steps=cap, decay=True)


def _run_fh_steps(mdp, rng, solver):
    fh = TabularMDP(mdp.P_dense(), mdp.R, 1.0, name=mdp.name)
    w = float(fh.R.max() - fh.R.min())
    if w <= 0:  # constant rewards: every policy is optimal, nothing to learn
        return Observation(np.zeros(1), np.zeros(1), label=_label(mdp), info={"degenerate": 1})
    n = np.array([float(solver(fh, H)) for H in FH_HORIZONS])
    bound = np.array([bounds.dynamic_pg_steps_bound(H, n_states=fh.S, n_actions=fh.A, reward_span=w,
                                                    epsilon=FH_EPS).value for H in FH_HORIZONS])
    return Observation(n, bound, x=np.array(FH_HORIZONS, dtype=float), label=f"{mdp.name or 'random'} S={mdp.S} A={mdp.A} (gamma = 1)",
                       info={"steps": n.tolist()})


register(Theorem(
    name="dynamic-pg-steps-vs-horizon",
    statement=f"exact-gradient dynamic softmax PG (eta_h = 2/(5 (H-h) w), uniform state weights, epoch h stopped at "
              f"max_s gap <= eps/H) reaches J* - J <= eps = {FH_EPS} within sum_h ceil(5 S A^2 (H-h) w H/eps) = O(H^3/eps) "
              f"steps, H in {list(FH_HORIZONS)} (undiscounted)",
    source="Klein, Weissmann & Döring (2024), ICLR (dynamic PG, H^3 scaling); the bound is mdpkit's derivation from "
           "Mei et al. (2020) Thm 2 per epoch (numbers and the paper's constants not checked against the text)",
    compare="bound",
    subject=_dynamic_pg_steps, subject_doc="steps(mdp, H) -> exact-gradient steps to reach eps",
    run=_run_fh_steps, family=lambda: pg_mdps(()),
    negative=dynamic_pg_decaying_step_steps, negative_doc="steps eta_h/sqrt(t+1): the number of steps grows like 1/eps^2",
    plot="ratio", default=False,  # loose bound (ratio ~0.1): low power, no tight instance known
))
