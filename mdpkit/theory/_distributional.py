"""Registered theorem checks for distributional policy evaluation."""

from __future__ import annotations

import math

import numpy as np

from mdpkit import bounds

from mdpkit.policies import policy_evaluation
from mdpkit.solvers.distributional import categorical_policy_evaluation

from ._core import Observation, Theorem, register
from ._dp import random_stochastic_policy, slack, sup_norm, wrong_gamma
from ._instances import discounted_mdps


def categorical_wrong_discount(mdp, policy, **kw):
    """Negative control: categorical evaluation run with discount (1+gamma)/2."""
    return categorical_policy_evaluation(wrong_gamma(mdp), policy, **kw)


def _run_categorical_mean(mdp, rng, evaluate):
    """|mean of the categorical fixed point - V^pi|, an identity up to the stopping tolerance.

    The tolerance is fixed by the check (1e-6 of the value scale, far above the 1e-9 Cramer target
    times sqrt(support width)), not read from the subject, so a subject cannot excuse itself
    with a loose certificate of its own."""
    pi = random_stochastic_policy(mdp, rng)
    K = int(rng.choice([5, 11, 51]))
    res = evaluate(mdp, pi, n_atoms=K, epsilon=1e-9)
    v_pi = policy_evaluation(mdp, pi)
    return Observation(np.array([sup_norm(np.asarray(res.v) - v_pi)]), np.zeros(1), atol=1e-6 * value_scale(mdp),
                       info={"n_atoms": K, "n_iter": int(res.n_iter), "v_error_bound": float(res.v_error_bound)})


def categorical_narrow_support(mdp, policy, n_atoms=51, **kw):
    """Negative control: categorical evaluation on a support that does not cover the returns.

    Atoms span the middle eighth of [r_min, r_max]/(1 - gamma) (at least +-1 around its centre), so
    the projection clips returns and the means are no longer preserved."""
    lo, hi = mdp.reward_range
    g_lo, g_hi = lo / (1 - mdp.gamma), hi / (1 - mdp.gamma)
    mid, half = 0.5 * (g_lo + g_hi), max(0.0625 * (g_hi - g_lo), 1e-3)
    return categorical_policy_evaluation(mdp, policy, support=np.linspace(mid - half, mid + half, n_atoms), **kw)


register(Theorem(
    name="categorical-mean",
    statement="on a support covering every return, the categorical projection preserves means, so the "
              "categorical fixed point's mean is V^pi (up to the certified sup-Cramer error times sqrt(z_K - z_1))",
    source="Rowland et al. (2018), AISTATS (mean preservation of Pi_C; contraction, Prop. 1 suspected)",
    compare="identity",
    subject=categorical_policy_evaluation,
    subject_doc="evaluate(mdp, policy, n_atoms=, epsilon=) -> result with .v (S,) means",
    run=_run_categorical_mean, family=discounted_mdps,
    negative=categorical_narrow_support, negative_doc="categorical evaluation on a support covering only the "
                                                      "middle eighth of the return range",
    zoo=("gridworld_5x5", "riverswim:gamma=0.9"), plot="ratio",
))


# ============================================================================ contractions
# Each contraction check compares d(T eta, T eta') with (modulus) * d(eta, eta') over pairs drawn
# from ``rng`` plus a *shift pair* eta' = eta + c (every law translated by c), on which the
# operators are exactly tight: T(eta + c) = T(eta) + gamma c, so w_p distances shrink by exactly
# gamma, and for point masses translated far (c >> reward range) the Cramer distance
# sqrt(c) shrinks by sqrt(gamma) up to O(range / c).  The families add the exactly tight model
# (one state, reward 0, gamma = 1/2) for the projected categorical operator.
from mdpkit import distributions as _D  # noqa: E402
from mdpkit.model import TabularMDP as _TabularMDP  # noqa: E402
from mdpkit.solvers.distributional import (  # noqa: E402
    categorical_bellman_operator,
    categorical_value_iteration,
    quantile_bellman_operator,
    quantile_value_iteration,
)

from ._instances import value_scale  # noqa: E402


def _tight_model():
    return _TabularMDP(np.ones((1, 1, 1)), np.zeros((1, 1)), 0.5, name="cramer-one-state(gamma=0.5)")


def _geometric_tight(gamma=0.5):
    """Two states, reward 0: on the support {0, gamma^K, ..., gamma, 1} the projected operator maps a point
    mass at gamma^j to one at gamma^(j+1) exactly, so from the top atom the sup-Cramer error to the fixed
    point delta_0 is gamma^(k/2): the claimed rate sqrt(gamma) and the bound are attained."""
    return _TabularMDP(np.full((2, 1, 2), 0.5), np.zeros((2, 1)), gamma, name=f"cramer-geometric(gamma={gamma:g})")


def _tight_list():
    return [_tight_model(), _geometric_tight(0.5), _geometric_tight(0.8)]


def _small_family():
    return discounted_mdps(n_states=(2, 4), n_actions=(1, 2))


def _random_finite(mdp, rng, scale):
    xs, ps = [], []
    for _ in range(mdp.S):
        n = int(rng.integers(1, 4))
        xs.append(np.round(rng.uniform(-1, 1, n) * scale, 3))
        ps.append(rng.dirichlet(np.ones(n)))
    return _D.FiniteReturns(tuple(xs), tuple(ps))


def _point_masses(mdp, c):
    return _D.FiniteReturns(tuple(np.array([float(c)]) for _ in range(mdp.S)), tuple(np.ones(1) for _ in range(mdp.S)))


def exact_T(mdp, policy, eta):
    """Default subject: the distributional Bellman operator on exact finite-support laws."""
    return _D.distributional_bellman_exact(mdp, policy, eta)


def exact_T_wrong_discount(mdp, policy, eta):
    """Negative control: the exact operator with discount (1+gamma)/2."""
    return _D.distributional_bellman_exact(wrong_gamma(mdp), policy, eta)


DAMPING = 0.5  #: weight w of the damped (mixture) operators (1 - w) eta + w T eta used as negative controls


def exact_T_damped(mdp, policy, eta):
    """Negative control: the mixture (eta + T eta)/2: same fixed point, but w1 modulus (1 + gamma)/2 > gamma
    (exactly, on a shifted pair)."""
    t = _D.distributional_bellman_exact(mdp, policy, eta)
    return _D.FiniteReturns(tuple(np.concatenate([a, b]) for a, b in zip(eta.x, t.x)),
                            tuple(np.concatenate([(1 - DAMPING) * a, DAMPING * b]) for a, b in zip(eta.p, t.p)))


def _run_exact_contraction(metric, modulus):
    def run(mdp, rng, T):
        pi = random_stochastic_policy(mdp, rng)
        c = value_scale(mdp)
        pairs = [(_random_finite(mdp, rng, c), _random_finite(mdp, rng, c)) for _ in range(3)]
        base = _random_finite(mdp, rng, c)
        shift = float(rng.uniform(0.5, 2.0)) * c
        pairs.append((base, _D.FiniteReturns(tuple(x + shift for x in base.x), base.p)))  # exact for w_p
        big = 1e6 * c
        pairs.append((_point_masses(mdp, 0.0), _point_masses(mdp, big)))  # near-tight for Cramer
        obs, bnd = [], []
        for e1, e2 in pairs:
            obs.append(_D.sup_distance(T(mdp, pi, e1), T(mdp, pi, e2), metric))
            bnd.append(modulus(mdp.gamma) * _D.sup_distance(e1, e2, metric))
        return Observation(np.array(obs), np.array(bnd), rtol=1e-9, atol=slack(mdp) * 1e-3)
    return run


register(Theorem(
    name="dist-w1-contraction",
    statement="sup_s w1((T^pi eta)(s), (T^pi eta')(s)) <= gamma sup_s w1(eta(s), eta'(s)) for the distributional "
              "Bellman operator (exact finite-support laws; equality for eta' = eta + c)",
    source="Bellemare, Dabney & Munos (2017), ICML, Lemma 3; Bellemare, Dabney & Rowland (2023), Prop. 4.15",
    compare="bound",
    subject=exact_T, subject_doc="T(mdp, policy, eta: FiniteReturns) -> FiniteReturns, the exact operator T^pi",
    run=_run_exact_contraction("w1", lambda g: g), family=_small_family,
    negative=exact_T_damped, negative_doc="mixture (eta + T eta)/2: same fixed point, modulus (1+gamma)/2",
    zoo=("riverswim:gamma=0.9",), plot="ratio", ylabel="sup-w1(T eta, T eta') / (gamma sup-w1(eta, eta'))",
))


def _run_categorical_contraction(mdp, rng, T):
    pi = random_stochastic_policy(mdp, rng)
    lo, hi = mdp.reward_range
    g_lo, g_hi = lo / (1 - mdp.gamma), hi / (1 - mdp.gamma)
    if g_hi - g_lo <= 0:  # constant reward (e.g. the tight model): atoms -2..2 around the return
        z = g_lo + np.linspace(-2.0, 2.0, 5)
    else:
        z = np.linspace(g_lo, g_hi, int(rng.choice([3, 11, 51])))
    K = z.shape[0]
    pairs = [(rng.dirichlet(np.ones(K), mdp.S), rng.dirichlet(np.ones(K), mdp.S)) for _ in range(3)]
    top, bottom = np.zeros((mdp.S, K)), np.zeros((mdp.S, K))
    top[:, -1] = 1.0
    bottom[:, 0] = 1.0
    pairs.append((top, bottom))  # the end atoms: near-tight on fine supports, exactly tight on the tight model
    obs, bnd = [], []
    for p1, p2 in pairs:
        a, b = np.asarray(T(mdp, pi, z, p1)), np.asarray(T(mdp, pi, z, p2))
        obs.append(float(_dk_sup_cramer(a, b, z)))
        bnd.append(math.sqrt(mdp.gamma) * float(_dk_sup_cramer(p1, p2, z)))
    return Observation(np.array(obs), np.array(bnd), rtol=1e-9, atol=slack(mdp) * 1e-3, info={"K": K})


def _dk_sup_cramer(p1, p2, z):
    from mdpkit._kernels.distributional import sup_cramer

    return sup_cramer(p1, p2, z)


def categorical_T_wrong_discount(mdp, policy, support, probs):
    """Negative control: the projected categorical operator with discount (1+gamma)/2."""
    return categorical_bellman_operator(wrong_gamma(mdp), policy, support, probs)


def categorical_T_damped(mdp, policy, support, probs):
    """Negative control: the mixture (p + Pi_C T p)/2: same fixed point, Cramer modulus up to (1 + sqrt(gamma))/2."""
    p = np.asarray(probs, dtype=float)
    return (1 - DAMPING) * p + DAMPING * np.asarray(categorical_bellman_operator(mdp, policy, support, p))


register(Theorem(
    name="categorical-cramer-contraction",
    statement="sup-Cramer(Pi_C T^pi eta, Pi_C T^pi eta') <= sqrt(gamma) sup-Cramer(eta, eta') for categorical laws on "
              "a common support (equality: one state, reward 0, gamma 1/2, atoms -2..2, point masses at the ends)",
    source="Rowland et al. (2018), AISTATS, Prop. 1 (suspected; formerly cited as Prop. 2)",
    compare="bound",
    subject=categorical_bellman_operator,
    subject_doc="T(mdp, policy, support (K,), probs (S, K)) -> (S, K), the projected operator Pi_C T^pi",
    run=_run_categorical_contraction, family=_small_family, tight=_tight_list,
    negative=categorical_T_damped, negative_doc="mixture (p + Pi_C T p)/2: same fixed point, slower",
    zoo=("riverswim:gamma=0.9",), plot="ratio",
))


def _run_quantile_contraction(mdp, rng, T):
    pi = random_stochastic_policy(mdp, rng)
    m = int(rng.choice([1, 3, 11]))
    c = value_scale(mdp)
    th = [np.sort(rng.uniform(-1, 1, (mdp.S, m)) * c, axis=1) for _ in range(6)]
    pairs = [(th[0], th[1]), (th[2], th[3]), (th[4], th[4] + float(rng.uniform(0.5, 2.0)) * c)]  # last: exact
    obs, bnd = [], []
    for a, b in pairs:
        obs.append(sup_norm(np.asarray(T(mdp, pi, a)) - np.asarray(T(mdp, pi, b))))
        bnd.append(mdp.gamma * sup_norm(a - b))
    return Observation(np.array(obs), np.array(bnd), rtol=1e-9, atol=slack(mdp) * 1e-3, info={"m": m})


def quantile_T_wrong_discount(mdp, policy, locations):
    """Negative control: the projected quantile operator with discount (1+gamma)/2."""
    return quantile_bellman_operator(wrong_gamma(mdp), policy, locations)


def quantile_T_damped(mdp, policy, locations):
    """Negative control: damped locations theta + (Pi_Q T theta - theta)/2: modulus (1 + gamma)/2 on a shifted pair."""
    th = np.asarray(locations, dtype=float)
    return th + DAMPING * (np.asarray(quantile_bellman_operator(mdp, policy, th)) - th)


register(Theorem(
    name="quantile-winf-contraction",
    statement="sup-w_inf(Pi_Q T^pi theta, Pi_Q T^pi theta') <= gamma sup-w_inf(theta, theta') (sorted atoms of mass "
              "1/m; equality for theta' = theta + c)",
    source="Dabney et al. (2018), AAAI, Prop. 2",
    compare="bound",
    subject=quantile_bellman_operator, subject_doc="T(mdp, policy, locations (S, m)) -> (S, m), Pi_Q T^pi",
    run=_run_quantile_contraction, family=_small_family,
    negative=quantile_T_damped, negative_doc="damped quantile operator theta + (Pi_Q T theta - theta)/2",
    zoo=("riverswim:gamma=0.9",), plot="ratio",
))


# ============================================================================ rates
def _run_categorical_rate(mdp, rng, T):
    pi = random_stochastic_policy(mdp, rng)
    lo, hi = mdp.reward_range
    g_lo, g_hi = lo / (1 - mdp.gamma), hi / (1 - mdp.gamma)
    geometric = mdp.name.startswith("cramer-geometric")
    if geometric:
        z = np.concatenate([[0.0], mdp.gamma ** np.arange(60, -1, -1)])
    else:
        z = g_lo + np.linspace(-2.0, 2.0, 5) if g_hi - g_lo <= 0 else np.linspace(g_lo, g_hi, 11)
    star = categorical_policy_evaluation(mdp, pi, support=z, epsilon=1e-13).returns.probs
    eta = rng.dirichlet(np.ones(z.shape[0]), mdp.S)
    if geometric or rng.random() < 0.5:  # all mass on the top atom: the slowest start
        eta = np.zeros_like(eta)
        eta[:, -1] = 1.0
    K = 40 if mdp.gamma > 0 else 3
    errs = [float(_dk_sup_cramer(eta, star, z))]
    for _ in range(K):
        eta = np.asarray(T(mdp, pi, z, eta))
        errs.append(float(_dk_sup_cramer(eta, star, z)))
    errs = np.array(errs)
    c = math.sqrt(mdp.gamma)
    k = np.arange(errs.size)
    bnd = c ** k * errs[0] + bounds.categorical_evaluation_bound(mdp.gamma, 0.0).value
    fp_err = categorical_policy_evaluation(mdp, pi, support=z, epsilon=1e-13).error_bound  # star's certified error
    return Observation(errs[1:], bnd[1:] + fp_err * (1 + c ** k[1:]), x=k[1:], rtol=1e-9, atol=slack(mdp) * 1e-3,
                       rate_trace=errs, rate_floor=1e-9 * max(1.0, value_scale(mdp)), claimed_rate=c, rate_rtol=1e-3)


register(Theorem(
    name="categorical-rate",
    statement="sup-Cramer(eta_k, eta_C) <= sqrt(gamma)^k sup-Cramer(eta_0, eta_C) for eta_{k+1} = Pi_C T^pi eta_k, "
              "and the fitted rate of the error is <= sqrt(gamma)",
    source="Rowland et al. (2018), AISTATS, Prop. 1 (suspected) + Banach fixed point",
    compare="bound+rate",
    subject=categorical_bellman_operator,
    subject_doc="T(mdp, policy, support (K,), probs (S, K)) -> (S, K), the projected operator Pi_C T^pi",
    run=_run_categorical_rate, family=_small_family, tight=_tight_list,
    negative=categorical_T_damped, negative_doc="mixture (p + Pi_C T p)/2: same fixed point, rate above sqrt(gamma)",
    zoo=("riverswim:gamma=0.9",), claimed_rate="sqrt(gamma)", ylabel="sup-Cramer(eta_k, eta_C)",
))


# ============================================================================ control: means follow VI
def _run_dist_vi_means(mdp, rng, solver):
    v0 = None
    k = int(rng.integers(1, 30))
    import warnings

    from mdpkit._exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res, v0 = solver(mdp, max_iter=k, epsilon=1e-300, n=int(rng.choice([3, 11, 51])))
    v0 = np.asarray(v0, dtype=float)
    P, R, g = mdp.P_dense(), np.where(mdp.action_mask, mdp.R, -np.inf), mdp.gamma
    v = v0
    for _ in range(int(res.n_iter)):
        v = (R + g * P @ v).max(axis=1)
    return Observation(np.array([sup_norm(np.asarray(res.v_iterate) - v)]), np.zeros(1), atol=slack(mdp) * max(1, k),
                       info={"n_iter": int(res.n_iter)})


def categorical_vi_for_check(mdp, *, max_iter, epsilon, n):
    """Default subject: categorical distributional VI with n atoms; returns ``(result, v0)``, v0 the start means."""
    res = categorical_value_iteration(mdp, n_atoms=n, max_iter=max_iter, epsilon=epsilon, evaluate_returns=False)
    z = res.returns.support
    return res, np.full(mdp.S, float(_D.categorical_projection(np.zeros(1), np.ones(1), z) @ z))


def quantile_vi_for_check(mdp, *, max_iter, epsilon, n):
    """Negative control: quantile distributional VI (its projection does not preserve means)."""
    res = quantile_value_iteration(mdp, n_quantiles=n, max_iter=max_iter, epsilon=epsilon, evaluate_returns=False)
    return res, np.zeros(mdp.S)


register(Theorem(
    name="dist-vi-means",
    statement="with a support covering [r_min, r_max]/(1-gamma), the means of categorical distributional VI iterates "
              "are the classic VI iterates T^k v_0 (the distributional optimality operator itself is not a contraction)",
    source="Rowland et al. (2018), AISTATS (Pi_C mean-preserving); Bellemare, Dabney & Munos (2017), Prop. 1",
    compare="identity",
    subject=categorical_vi_for_check,
    subject_doc="solver(mdp, max_iter=, epsilon=, n=) -> (result with .v_iterate (means after .n_iter sweeps), v0 (S,) "
                "the start means)",
    run=_run_dist_vi_means, family=discounted_mdps,
    negative=quantile_vi_for_check, negative_doc="quantile distributional VI (Pi_Q does not preserve means)",
    zoo=("riverswim:gamma=0.9", "gridworld_5x5"), plot="ratio", ylabel="|mean(eta_k) - T^k v_0|",
))


# ============================================================================ a posteriori bounds
def _run_categorical_posterior(mdp, rng, T):
    """sup-Cramer(eta_k, eta_C) <= sqrt(gamma)/(1 - sqrt(gamma)) sup-Cramer(eta_k, eta_{k-1})."""
    pi = random_stochastic_policy(mdp, rng)
    lo, hi = mdp.reward_range
    g_lo, g_hi = lo / (1 - mdp.gamma), hi / (1 - mdp.gamma)
    z = g_lo + np.linspace(-2.0, 2.0, 5) if g_hi - g_lo <= 0 else np.linspace(g_lo, g_hi, int(rng.choice([5, 11, 21])))
    ref = categorical_policy_evaluation(mdp, pi, support=z, epsilon=1e-13)
    star, fp_err = ref.returns.probs, float(ref.error_bound)
    eta = rng.dirichlet(np.ones(z.shape[0]), mdp.S)
    if rng.random() < 0.5:
        eta = np.zeros_like(eta)
        eta[:, int(rng.choice([0, z.shape[0] - 1]))] = 1.0
    obs, bnd = [], []
    for _ in range(12):
        new = np.asarray(T(mdp, pi, z, eta))
        step = float(_dk_sup_cramer(new, eta, z))
        obs.append(float(_dk_sup_cramer(new, star, z)))
        bnd.append(bounds.categorical_evaluation_bound(mdp.gamma, step).value + fp_err)
        eta = new
    return Observation(np.array(obs), np.array(bnd), rtol=1e-9, atol=slack(mdp) * 1e-3, x=np.arange(1, 13))


register(Theorem(
    name="categorical-a-posteriori",
    statement="for eta_{k} = Pi_C T^pi eta_{k-1}: sup-Cramer(eta_k, eta_C) <= sqrt(gamma)/(1-sqrt(gamma)) "
              "sup-Cramer(eta_k, eta_{k-1}) (eta_C by certified categorical evaluation)",
    source="Rowland et al. (2018), AISTATS, Prop. 1 (suspected number) + Banach a posteriori bound",
    compare="bound",
    subject=categorical_bellman_operator,
    subject_doc="T(mdp, policy, support (K,), probs (S, K)) -> (S, K), the projected operator Pi_C T^pi",
    run=_run_categorical_posterior, family=_small_family,
    negative=categorical_T_damped, negative_doc="mixture (p + Pi_C T p)/2 (steps halve, error does not)",
    zoo=("riverswim:gamma=0.9",), plot="ratio",
    power_note="in the Cramer (Hilbert) geometry consecutive errors are rarely aligned, so the triangle inequality "
               "behind the a posteriori bound is loose; no instance attaining it was constructed",
))


def _run_quantile_posterior(mdp, rng, T):
    """sup-w_inf(theta_k, theta_Q) <= gamma/(1 - gamma) sup-w_inf(theta_k, theta_{k-1}); equality from theta_Q + c."""
    from mdpkit.solvers.distributional import quantile_policy_evaluation

    pi = random_stochastic_policy(mdp, rng)
    m = int(rng.choice([1, 3, 11]))
    ref = quantile_policy_evaluation(mdp, pi, n_quantiles=m, epsilon=1e-13)
    star = np.asarray(ref.returns.locations, dtype=float)
    fp_err = float(getattr(ref, "error_bound", 0.0) or 0.0)
    c = value_scale(mdp)
    th = np.sort(rng.uniform(-1, 1, (mdp.S, m)) * c, axis=1)
    if rng.random() < 0.4:  # theta_Q + c: errors gamma^k c, steps (1 - gamma) gamma^(k-1) c: the bound is attained
        th = star + float(rng.choice([-1.0, 1.0])) * c
    obs, bnd = [], []
    for _ in range(12):
        new = np.asarray(T(mdp, pi, th))
        obs.append(sup_norm(new - star))
        bnd.append(bounds.quantile_evaluation_bound(mdp.gamma, sup_norm(new - th)).value + fp_err)
        th = new
    return Observation(np.array(obs), np.array(bnd), rtol=1e-9, atol=slack(mdp) * 1e-2, x=np.arange(1, 13))


register(Theorem(
    name="quantile-a-posteriori",
    statement="for theta_k = Pi_Q T^pi theta_{k-1}: sup-w_inf(theta_k, theta_Q) <= gamma/(1-gamma) "
              "sup-w_inf(theta_k, theta_{k-1}) (equality from theta_0 = theta_Q + c)",
    source="Dabney et al. (2018), AAAI, Prop. 2 + Banach a posteriori bound",
    compare="bound",
    subject=quantile_bellman_operator, subject_doc="T(mdp, policy, locations (S, m)) -> (S, m), Pi_Q T^pi",
    run=_run_quantile_posterior, family=_small_family,
    negative=quantile_T_damped, negative_doc="damped quantile operator theta + (Pi_Q T theta - theta)/2",
    zoo=("riverswim:gamma=0.9",), plot="ratio",
))


# ============================================================================ fixed-point approximation
def acyclic_mdps():
    """Acyclic models with exact finite return laws: state i moves only to states j > i, the last state is
    absorbing with reward 0; S in [3, 5], gamma in [0.5, 0.95], integer rewards."""
    from hypothesis import strategies as st

    from mdpkit.testing.strategies import GAMMA_RANGE

    @st.composite
    def draw(d):
        S = d(st.integers(3, 5))
        A = d(st.integers(1, 2))
        g = d(st.floats(*GAMMA_RANGE))
        w = np.array(d(st.lists(st.integers(0, 3), min_size=S * A * S, max_size=S * A * S)), float).reshape(S, A, S)
        w = np.triu(w.transpose(1, 0, 2), k=1).transpose(1, 0, 2)  # only moves to later states
        for s in range(S - 1):
            for a in range(A):
                if w[s, a].sum() == 0:
                    w[s, a, s + 1] = 1.0
        w[S - 1] = 0.0
        w[S - 1, :, S - 1] = 1.0
        R = np.array(d(st.lists(st.integers(-3, 3), min_size=S * A, max_size=S * A)), float).reshape(S, A)
        R[S - 1] = 0.0
        return _TabularMDP(w / w.sum(axis=2, keepdims=True), R, g)

    return draw()


def _run_fixed_point(mdp, rng, evaluate):
    """sup_s Cramer(eta_C(s), eta_pi(s))^2 <= max_gap/(1-gamma) with eta_pi exact (acyclic: S sweeps of the
    exact operator from delta_0 are exact) and eta_C from the subject on a covering support."""
    pi = random_stochastic_policy(mdp, rng)
    exact = _D.FiniteReturns(tuple(np.zeros(1) for _ in range(mdp.S)), tuple(np.ones(1) for _ in range(mdp.S)))
    for _ in range(mdp.S):
        exact = _D.distributional_bellman_exact(mdp, pi, exact)
    lo, hi = mdp.reward_range
    g_lo, g_hi = lo / (1 - mdp.gamma), hi / (1 - mdp.gamma)
    # enough atoms that the bound is below the support's width (with K - 1 < 1/(1-gamma) atoms it is vacuous)
    K = int(math.ceil(float(rng.choice([2.0, 4.0, 16.0])) / (1.0 - mdp.gamma))) + 1
    z = np.linspace(g_lo, g_hi, K) if g_hi > g_lo else g_lo + np.linspace(-1.0, 1.0, K)
    res = evaluate(mdp, pi, support=z, epsilon=1e-12)
    ret = res.returns
    zz, probs = np.asarray(ret.support, dtype=float), np.asarray(ret.probs, dtype=float)
    dist = max(_D.cramer_distance(zz, probs[s], exact.x[s], exact.p[s]) for s in range(mdp.S))
    gap = float(np.max(np.diff(z)))
    b = bounds.categorical_fixed_point_bound(mdp.gamma, gap).value + float(res.error_bound)
    return Observation(np.array([dist]), np.array([b]), rtol=1e-9, atol=slack(mdp) * 1e-3, info={"K": K})


def categorical_eval_narrow(mdp, policy, support, **kw):
    """Negative control: categorical evaluation on the requested support shifted up by its width (it covers
    none of the returns)."""
    z = np.asarray(support, dtype=float)
    return categorical_policy_evaluation(mdp, policy, support=z + (z[-1] - z[0]), **kw)


register(Theorem(
    name="categorical-fixed-point",
    statement="on a support covering every return, the categorical fixed point satisfies sup_s Cramer(eta_C(s), "
              "eta_pi(s))^2 <= max_i (z_{i+1} - z_i)/(1 - gamma) (acyclic models, where eta_pi is exact)",
    source="Rowland et al. (2018), AISTATS, Prop. 3 (number from a secondary source)",
    compare="bound",
    subject=categorical_policy_evaluation,
    subject_doc="evaluate(mdp, policy, support=, epsilon=) -> result with .returns (CategoricalReturns), .error_bound",
    run=_run_fixed_point, family=acyclic_mdps,
    negative=categorical_eval_narrow, negative_doc="categorical evaluation on the support shifted up by its width (covers no return)",
    zoo=(), plot="ratio",
    power_note="the ratio cannot exceed 1/2: within a cell of width D a projection moves a law by at most sqrt(D/4) "
               "in Cramer distance (a point mass at the cell's midpoint; derived here), so the Prop. 3 constant is "
               "loose by a factor 2 and a halved constant is invisible by construction",
))
