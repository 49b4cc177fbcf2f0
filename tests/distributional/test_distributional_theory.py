"""Kernels vs numpy oracles, contraction theorems on exact laws, mean preservation, risk measures."""

import math
from fractions import Fraction

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings, target
from hypothesis import strategies as st

from mdpkit import InvalidArgumentError, TabularMDP
from mdpkit import _reference_distributional as ref
from mdpkit import distributions as D
from mdpkit.policies import check_policy, policy_evaluation
from mdpkit.solvers import categorical_policy_evaluation, quantile_policy_evaluation
from mdpkit.testing.strategies import mdps, policies
from bounds_helpers_distributional import dense_parts, random_laws


# ------------------------------------------------------------------ kernels vs oracles
@given(st.data())
def test_categorical_projection_vs_oracle(data):
    K = data.draw(st.integers(1, 8))
    z = np.cumsum(np.array(data.draw(st.lists(st.integers(1, 4), min_size=K, max_size=K)), float)) - 3.0
    n = data.draw(st.integers(1, 6))
    x = np.array(data.draw(st.lists(st.floats(-10, 30, allow_nan=False), min_size=n, max_size=n)))
    w = np.array(data.draw(st.lists(st.integers(0, 5), min_size=n, max_size=n)), float) + 1e-3
    p = w / w.sum()
    got = D.categorical_projection(x, p, z)
    np.testing.assert_allclose(got, ref.categorical_project(x[None], p[None], z)[0], atol=1e-12)
    inside = (x >= z[0]) & (x <= z[-1])
    if inside.all():  # mean-preserving when the atoms lie in [z_1, z_K]
        assert abs(got @ z - p @ x) <= 1e-9 * (1 + np.abs(x).max())


@pytest.mark.filterwarnings("ignore::mdpkit.ConvergenceWarning")
@settings(max_examples=25)
@given(st.data())
def test_categorical_and_quantile_evaluation_vs_oracle(data):
    mdp = data.draw(mdps(n_states=(1, 4), n_actions=(1, 3), gamma=(0.0, 0.9), reward="sas", sparse=None))
    pol = data.draw(policies(mdp, stochastic=data.draw(st.booleans())))
    P, Rs, pi = dense_parts(mdp, pol)
    z = np.linspace(-5, 5, 7)
    res = categorical_policy_evaluation(mdp, pol, support=z, max_iter=15, epsilon=1e-12)
    eta0 = np.tile(ref.categorical_project(np.zeros((1, 1)), np.ones((1, 1)), z)[0], (mdp.S, 1))
    c = math.sqrt(mdp.gamma)
    tol = math.inf if c == 0 else 1e-12 * (1 - c) / c
    eta, resid = ref.categorical_evaluation(P, Rs, pi, mdp.gamma, z, eta0, tol, 15)
    assert res.n_iter == len(resid)
    np.testing.assert_allclose(res.returns.probs, eta, atol=1e-10)
    np.testing.assert_allclose(res.residuals, resid, atol=1e-10)
    m = data.draw(st.integers(1, 5))
    q = quantile_policy_evaluation(mdp, pol, n_quantiles=m, max_iter=15, epsilon=1e-12)
    tq = math.inf if mdp.gamma == 0 else 1e-12 * (1 - mdp.gamma) / mdp.gamma
    th, rq = ref.quantile_evaluation(P, Rs, pi, mdp.gamma, np.zeros((mdp.S, m)), tq, 15)
    assert q.n_iter == len(rq)
    np.testing.assert_allclose(q.returns.locations, th, atol=1e-10)


# ------------------------------------------------------------------ theorems on exact laws
@given(st.data())
def test_distributional_operator_contracts__bellemare2017_rowland2018(data):
    """sup-w1(T eta, T eta') <= gamma sup-w1(eta, eta') (Bellemare et al. 2017, Lemma 3) and
    sup-l2(T eta, T eta') <= sqrt(gamma) sup-l2(eta, eta') (Rowland et al. 2018, Prop. 2 before projection).
    Exact finite-support laws, distances computed exactly."""
    mdp = data.draw(mdps(n_states=(1, 3), n_actions=(1, 2), gamma=(0.0, 0.99), reward="sas"))
    pol = data.draw(policies(mdp, stochastic=True))
    e1, e2 = random_laws(data, mdp.S), random_laws(data, mdp.S)
    T1, T2 = (D.distributional_bellman_exact(mdp, pol, e) for e in (e1, e2))
    for metric, mod in (("w1", mdp.gamma), ("cramer", math.sqrt(mdp.gamma)), ("winf", mdp.gamma)):
        lhs, rhs = D.sup_distance(T1, T2, metric), D.sup_distance(e1, e2, metric)
        if rhs > 0:
            target(lhs / rhs, label=metric)
        assert lhs <= mod * rhs * (1 + 1e-9) + 1e-12, metric


@pytest.mark.parametrize("gamma", [0.0, 0.3, 0.9])
def test_contraction_moduli_are_tight(gamma):
    """One absorbing state, reward 0: T maps delta_a to delta_{gamma a}; w1 shrinks by gamma and the
    Cramer distance sqrt(|a-b|) by sqrt(gamma), exactly."""
    mdp = TabularMDP(np.ones((1, 1, 1)), np.zeros((1, 1)), gamma)
    e1 = D.FiniteReturns((np.array([0.0]),), (np.array([1.0]),))
    e2 = D.FiniteReturns((np.array([1.0]),), (np.array([1.0]),))
    T1, T2 = (D.distributional_bellman_exact(mdp, [0], e) for e in (e1, e2))
    assert D.sup_distance(T1, T2, "w1") == pytest.approx(gamma * D.sup_distance(e1, e2, "w1"), abs=1e-15)
    assert D.sup_distance(T1, T2, "cramer") == pytest.approx(math.sqrt(gamma) * D.sup_distance(e1, e2, "cramer"), abs=1e-15)


@settings(max_examples=30)
@given(st.data())
def test_categorical_fixed_point_mean_is_v_pi__rowland2018(data):
    """Covering support: the categorical fixed point's mean is exactly V^pi (Pi_C mean-preserving);
    the iterate's means are within the certified v_error_bound of the linear-solve V^pi."""
    mdp = data.draw(mdps(n_states=(1, 5), n_actions=(1, 3), gamma=(0.0, 0.95), reward=data.draw(st.sampled_from(["sa", "sas"])), sparse=None))
    pol = data.draw(policies(mdp, stochastic=data.draw(st.booleans())))
    res = categorical_policy_evaluation(mdp, pol, n_atoms=21, epsilon=1e-9)
    assert res.converged and res.covers_returns
    v = policy_evaluation(mdp, pol)
    np.testing.assert_allclose(res.v, v, atol=res.v_error_bound + 1e-9)


@settings(max_examples=20)
@given(st.data())
def test_certified_distance_to_fixed_point(data):
    """The reported error_bound bounds the distance to the projected fixed point (computed by many
    more iterations): categorical in sup-Cramer, quantile in sup-w_inf."""
    mdp = data.draw(mdps(n_states=(1, 4), n_actions=(1, 2), gamma=(0.1, 0.9), reward="sas"))
    pol = data.draw(policies(mdp))
    z = np.linspace(-40, 40, 15)
    r = categorical_policy_evaluation(mdp, pol, support=z, epsilon=1e-2)
    star = categorical_policy_evaluation(mdp, pol, support=z, epsilon=1e-13)
    d = D.sup_distance(r.returns, star.returns, "cramer")
    assert d <= r.error_bound + star.error_bound + 1e-12
    q = quantile_policy_evaluation(mdp, pol, n_quantiles=4, epsilon=1e-2)
    qs = quantile_policy_evaluation(mdp, pol, n_quantiles=4, epsilon=1e-13)
    assert np.abs(q.returns.locations - qs.returns.locations).max() <= q.error_bound + qs.error_bound + 1e-12


def test_quantile_evaluation_vs_monte_carlo():
    """Quantile fixed point vs sampled returns with a DKW band (delta = 1e-6).

    w_inf(theta_Q, eta_pi) <= sup_s w_inf(Pi_Q eta_pi, eta_pi)/(1-gamma) (Pi_Q is a w_inf
    non-expansion; Dabney et al. 2018 Prop. 2 argument).  Here rewards are in {0,1,2} and the return
    range is [0, 2/(1-gamma)], so w_inf(Pi_Q eta, eta) <= range.  We use the sharper check with the
    empirical quantiles: |theta_i - F^{-1}(tau_i)| <= w_inf(theta_Q, eta_pi)."""
    rng = np.random.default_rng(0)
    P = np.array([[[0.7, 0.3]], [[0.4, 0.6]]])
    R_sas = np.array([[[0.0, 2.0]], [[1.0, 0.0]]])
    g = 0.5
    mdp = TabularMDP(P, None, g, R_sas=R_sas)
    m = 8
    res = quantile_policy_evaluation(mdp, [0, 0], n_quantiles=m, epsilon=1e-12)
    n, T = 40_000, 45  # truncation error 2 * g^T / (1 - g) < 1e-12
    eps_dkw = math.sqrt(math.log(2 / 1e-6) / (2 * n))
    for s0 in range(2):
        s = np.full(n, s0)
        G = np.zeros(n)
        for t in range(T):
            nxt = (rng.random(n) < P[s, 0, 1]).astype(int)
            G += g**t * R_sas[s, 0, nxt]
            s = nxt
        Gs = np.sort(G)
        for i, tau in enumerate(D.quantile_levels(m)):
            lo = Gs[max(0, math.ceil((tau - eps_dkw) * n) - 1)]
            hi = Gs[min(n - 1, math.ceil((tau + eps_dkw) * n) - 1)]
            # the quantile fixed point is within (1/(1-g)) * max quantile-cell width of eta_pi;
            # the cell width is bounded using the empirical quantiles at the cell ends +- DKW
            lo_cell = Gs[max(0, math.ceil((i / m - eps_dkw) * n) - 1)]
            hi_cell = Gs[min(n - 1, math.ceil(((i + 1) / m + eps_dkw) * n) - 1)]
            slack = (hi_cell - lo_cell) / (1 - g) + res.error_bound + 1e-9
            assert lo - slack <= res.returns.locations[s0, i] <= hi + slack


# ------------------------------------------------------------------ risk measures and distances
def _frac_law(data):
    n = data.draw(st.integers(1, 6))
    x = [Fraction(v) for v in data.draw(st.lists(st.integers(-5, 5), min_size=n, max_size=n))]
    w = data.draw(st.lists(st.integers(1, 4), min_size=n, max_size=n))
    p = [Fraction(k, sum(w)) for k in w]
    return x, p


@given(st.data())
def test_var_cvar_vs_rational_brute_force(data):
    """CVaR by Rockafellar-Uryasev max_c {c - E(c-G)^+/alpha} over the atoms, VaR by the smallest
    atom with F >= alpha, both in exact rationals."""
    x, p = _frac_law(data)
    alpha = Fraction(data.draw(st.integers(1, 20)), 20)
    xf, pf = np.array(x, float), np.array(p, float)
    cv = max(c - sum(pi * max(c - xi, 0) for xi, pi in zip(x, p)) / alpha for c in x)
    var = min(c for c in x if sum(pi for xi, pi in zip(x, p) if xi <= c) >= alpha)
    assert D.cvar(xf, pf, float(alpha)) == pytest.approx(float(cv), abs=1e-12)
    assert D.value_at_risk(xf, pf, float(alpha)) == float(var)
    assert D.cvar(xf, pf, 0.0) == D.value_at_risk(xf, pf, 0.0) == float(min(x))
    assert D.cvar(xf, pf, 1.0) == pytest.approx(float(sum(a * b for a, b in zip(x, p))), abs=1e-12)


@given(st.data())
def test_distances_vs_scipy(data):
    """w1 vs scipy.stats.wasserstein_distance; Cramer vs scipy energy distance / sqrt(2); w1 = l1."""
    (x1, p1), (x2, p2) = ([np.array(v, float) for v in _frac_law(data)] for _ in range(2))
    w1 = D.wasserstein_distance(x1, p1, x2, p2, 1)
    assert w1 == pytest.approx(scipy.stats.wasserstein_distance(x1, x2, p1, p2), abs=1e-12)
    assert w1 == pytest.approx(D.lp_distance(x1, p1, x2, p2, 1), abs=1e-12)
    assert D.cramer_distance(x1, p1, x2, p2) == pytest.approx(
        scipy.stats.energy_distance(x1, x2, p1, p2) / math.sqrt(2), abs=1e-12)
    assert D.wasserstein_distance(x1, p1, x2, p2, math.inf) >= D.wasserstein_distance(x1, p1, x2, p2, 2) - 1e-12 >= w1 - 2e-12


def test_validation_errors():
    with pytest.raises(InvalidArgumentError, match="strictly increasing"):
        D.categorical_projection([0.0], [1.0], [0.0, 0.0])
    with pytest.raises(InvalidArgumentError, match="sums to"):
        D.cvar([0.0, 1.0], [0.5, 0.4], 0.5)
    with pytest.raises(InvalidArgumentError, match="alpha"):
        D.value_at_risk([0.0], [1.0], 1.5)
    with pytest.raises(InvalidArgumentError, match="negative"):
        D.CategoricalReturns([0.0, 1.0], [[1.5, -0.5]])
    mdp = TabularMDP(np.ones((1, 1, 1)), np.zeros((1, 1)), 0.5)
    with pytest.raises(InvalidArgumentError, match="eta0"):
        categorical_policy_evaluation(mdp, [0], support=[0.0, 1.0], eta0=[[1.0, 0.0], [1.0, 0.0]])
    with pytest.raises(InvalidArgumentError, match="epsilon"):
        quantile_policy_evaluation(mdp, [0], epsilon=0.0)


@given(st.data())
def test_projected_operators_contract__rowland2018_dabney2018(data):
    """Pi_C T^pi: sqrt(gamma)-contraction in sup-Cramer (Rowland et al. 2018, Prop. 2);
    Pi_Q T^pi: gamma-contraction in sup-w_inf (Dabney et al. 2018, Prop. 2).  Checked on random
    categorical / quantile inputs through the numpy oracles of the backups, distances computed exactly."""
    mdp = data.draw(mdps(n_states=(1, 3), n_actions=(1, 2), gamma=(0.0, 0.99), reward="sas"))
    pol = data.draw(policies(mdp, stochastic=True))
    P, Rs, pi = dense_parts(mdp, pol)
    z = np.linspace(-8, 8, 9)
    e1, e2 = (np.array([D.categorical_projection(*l, z) for l in random_laws(data, mdp.S).laws()]) for _ in range(2))
    C1, C2 = (D.CategoricalReturns(z, ref.categorical_backup(P, Rs, pi, mdp.gamma, z, e)) for e in (e1, e2))
    lhs = D.sup_distance(C1, C2, "cramer")
    rhs = D.sup_distance(D.CategoricalReturns(z, e1), D.CategoricalReturns(z, e2), "cramer")
    if rhs > 0:
        target(lhs / rhs, label="cramer")
    assert lhs <= math.sqrt(mdp.gamma) * rhs * (1 + 1e-9) + 1e-12
    m = 3
    t1, t2 = (np.sort(np.array(data.draw(st.lists(st.integers(-6, 6), min_size=mdp.S * m, max_size=mdp.S * m)), float).reshape(mdp.S, m), axis=1) for _ in range(2))
    Q1, Q2 = (ref.quantile_backup(P, Rs, pi, mdp.gamma, t) for t in (t1, t2))
    assert np.abs(Q1 - Q2).max() <= mdp.gamma * np.abs(t1 - t2).max() * (1 + 1e-9) + 1e-12


@given(st.data())
def test_projections_are_nonexpansions(data):
    """l2(Pi_C nu, Pi_C nu') <= l2(nu, nu') (Rowland et al. 2018, Prop. 1) and
    w_inf(Pi_Q nu, Pi_Q nu') <= w_inf(nu, nu') (used by the quantile approximation bound)."""
    (l1, l2) = random_laws(data, 2).laws()
    z = np.array([-4.0, -1.0, 0.0, 2.5, 6.0])
    c1, c2 = D.categorical_projection(*l1, z), D.categorical_projection(*l2, z)
    assert D.cramer_distance(z, c1, z, c2) <= D.cramer_distance(*l1, *l2) + 1e-12
    m = data.draw(st.integers(1, 5))
    q1, q2 = D.quantile_projection(*l1, m), D.quantile_projection(*l2, m)
    assert np.abs(q1 - q2).max() <= D.wasserstein_distance(*l1, *l2, math.inf) + 1e-12
