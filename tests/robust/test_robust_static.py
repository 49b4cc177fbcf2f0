"""Static uncertainty (finite scenarios), IWOCS, and the regularized view of ball-robust MDPs.

Expected values come from independent routes: exact rational policy evaluation, per-policy
enumeration with ``policy_evaluation``, robust value iteration (mdpkit's Numba inner problems),
cvxpy for the unconstrained Derman et al. balls, and a hand-written finite-row robust VI.
"""

import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdpkit import TabularMDP
from mdpkit._exceptions import InvalidArgumentError
from mdpkit.uncertainty import UncertaintySet
from mdpkit.policies import policy_evaluation
from mdpkit.solvers import exact_policy_evaluation, policy_iteration
from mdpkit.solvers.robust import robust_bellman_operator, robust_value_iteration
from mdpkit.solvers.robust_static import (
    iwocs,
    regularized_bellman_operator,
    regularized_value_iteration,
    scenario_value,
    static_robust_policy,
)
from mdpkit.testing.strategies import mdps


@st.composite
def scenario_sets(draw, S=(1, 3), A=(1, 3), K=(1, 3)):
    """K models sharing S, A, gamma (integer weights, integer rewards)."""
    n_s = draw(st.integers(*S))
    n_a = draw(st.integers(*A))
    g = draw(st.sampled_from([0.0, 0.5, 0.9]))
    models = []
    for _ in range(draw(st.integers(*K))):
        m = draw(mdps(n_states=n_s, n_actions=n_a, gamma=g))
        models.append(m)
    return models


# --------------------------------------------------------------------------------------------
# finite scenario sets
# --------------------------------------------------------------------------------------------


@settings(max_examples=15)
@given(models=scenario_sets(S=(1, 3), A=(1, 2), K=(1, 3)), data=st.data())
def test_scenario_value_matches_exact_rational_evaluation(models, data):
    """min_k mu0 . v^pi_{M_k} against exact Fraction policy evaluation of each scenario."""
    S, A = models[0].S, models[0].A
    pi = np.array(data.draw(st.lists(st.integers(0, A - 1), min_size=S, max_size=S)), dtype=np.int64)
    sv = scenario_value(models, pi)
    val, vals = sv.value, sv.scenario_values
    assert sv.worst_scenario == int(np.argmin(vals))
    # integer-weight models: limit_denominator recovers the exact rationals (denominators <= 4 S)
    fr = np.vectorize(lambda x: Fraction(x).limit_denominator(1000), otypes=[object])
    exact = [float(sum(exact_policy_evaluation(fr(m.P_dense()), pi, fr(m.R), Fraction(m.gamma).limit_denominator(1000)) * fr(m.mu0)))
             for m in models]
    np.testing.assert_allclose(vals, exact, rtol=1e-12, atol=1e-12)
    assert val == pytest.approx(min(exact), abs=1e-12)


@settings(max_examples=15)
@given(models=scenario_sets(S=(1, 4), A=(1, 3), K=(1, 3)))
def test_static_robust_policy_is_best_deterministic_by_enumeration(models):
    """Batched enumeration = per-policy enumeration with policy_evaluation; brackets by weak duality."""
    S, A = models[0].S, models[0].A
    res = static_robust_policy(models)
    mu = models[0].mu0
    best = max(min(mu @ policy_evaluation(m, np.array(p)) for m in models)
               for p in itertools.product(range(A), repeat=S))
    assert res.n_policies == A ** S
    assert res.value == pytest.approx(best, abs=1e-10)
    assert scenario_value(models, res.policy).value == pytest.approx(res.value, abs=1e-10)
    # upper bound: nature may commit first, min_k max_pi
    assert res.value <= min(mu @ policy_iteration(m).v_policy for m in models) + 1e-10
    # lower bound: the dynamic (sa-rectangular hull) robust value, by a finite-row robust VI
    P = np.stack([m.P_dense() for m in models])          # (K, S, A, S)
    R = np.stack([m.R for m in models]).min(axis=0)      # dynamic nature also picks the worst reward
    g = models[0].gamma
    v = np.zeros(S)
    for _ in range(2000):
        v = (R + g * (P @ v).min(axis=0)).max(axis=1)
    assert res.value >= mu @ v - 1e-8


def test_static_optimum_may_need_randomization():
    """Documented limitation: S=1, two reward scenarios; deterministic best 0, uniform mixing 0.5."""
    P = np.ones((1, 2, 1))
    m1 = TabularMDP(P=P, R=np.array([[1.0, 0.0]]), gamma=0.0)
    m2 = TabularMDP(P=P, R=np.array([[0.0, 1.0]]), gamma=0.0)
    assert static_robust_policy([m1, m2]).value == 0.0
    assert scenario_value([m1, m2], np.array([[0.5, 0.5]])).value == 0.5


def test_scenario_input_errors():
    m = TabularMDP(P=np.ones((1, 2, 1)), R=np.zeros((1, 2)), gamma=0.5)
    m3 = TabularMDP(P=np.ones((1, 3, 1)), R=np.zeros((1, 3)), gamma=0.5)
    with pytest.raises(InvalidArgumentError):
        scenario_value([], np.array([0]))
    with pytest.raises(ValueError, match=r"mdp_list\[1\]"):
        scenario_value([m, m3], np.array([0]))
    with pytest.raises(ValueError, match="gamma"):
        scenario_value([m, m.with_gamma(0.6)], np.array([0]))
    with pytest.raises(InvalidArgumentError, match="max_policies"):
        static_robust_policy([m], max_policies=1)


# --------------------------------------------------------------------------------------------
# IWOCS
# --------------------------------------------------------------------------------------------


def _in_set(K, P, mask, spec):
    kind, rad = spec.split(":")
    rad = float(rad)
    for s, a in zip(*np.nonzero(mask)):
        p, q = K[s, a], P[s, a]
        assert np.all(p >= -1e-12) and abs(p.sum() - 1) < 1e-9
        assert np.all(p[q == 0] <= 1e-12)  # support="nominal"
        if kind == "l1":
            assert np.abs(p - q).sum() <= rad + 1e-9
        else:
            nz = p > 0
            assert float(np.sum(p[nz] * np.log(p[nz] / q[nz]))) <= rad + 1e-7


@pytest.mark.parametrize("spec", ["l1:0.4", "kl:0.2"])
@settings(max_examples=12)
@given(mdp=mdps(n_states=(1, 4), n_actions=(1, 3), gamma=(0.0, 0.9)))
def test_iwocs_reaches_dynamic_robust_value__no_duality_gap(spec, mdp):
    """sa-rectangular sets: max_pi min_T = min_T max_pi, so IWOCS closes its certified gap at the
    robust value of robust VI (Iyengar 2005; Zouitine, Geist & Rachelson 2024, Sec. 3)."""
    res = iwocs(mdp, spec, epsilon=1e-8)
    J = float(mdp.mu0 @ robust_value_iteration(mdp, spec, epsilon=1e-11).v)
    assert res.converged
    assert np.all(res.lower <= J + 1e-8)                # robust values of policies: lower bounds
    assert np.all(res.upper >= J - 1e-8)                # nominal optima of kernels in U: upper bounds
    assert np.all(np.diff(res.upper) <= 0)
    assert res.lower.max() == pytest.approx(J, abs=1e-7)
    assert float(mdp.mu0 @ res.v_policy_robust) == pytest.approx(J, abs=1e-7)
    P = mdp.P_dense()
    for K in res.kernels[1:]:
        _in_set(np.asarray(K), P, mdp.action_mask, spec)


def test_iwocs_rejects_s_rectangular():
    m = TabularMDP(P=np.full((2, 2, 2), 0.5), R=np.eye(2), gamma=0.5)
    with pytest.raises(NotImplementedError):
        iwocs(m, "l1:0.2,rect=s")


# --------------------------------------------------------------------------------------------
# regularized view (Derman, Geist & Mannor 2021; Kumar et al. 2022)
# --------------------------------------------------------------------------------------------

small = mdps(n_states=(1, 4), n_actions=(1, 3), gamma=(0.0, 0.9))


def _full_support(mdp):
    """Mix every row with the uniform distribution, so that nature can use every state."""
    return TabularMDP(P=0.5 * mdp.P_dense() + 0.5 / mdp.S, R=mdp.R, gamma=mdp.gamma)


def _vec(data, S):
    return np.array(data.draw(st.lists(st.integers(-5, 5), min_size=S, max_size=S)), float)


@pytest.mark.parametrize("norm", ["l1", "l2", "linf"])
@pytest.mark.parametrize("support", ["nominal", "simplex"])
@settings(max_examples=12)
@given(mdp=small, data=st.data())
def test_regularized_operator_equals_robust_operator_when_exact(norm, support, mdp, data):
    """beta <= min_{s' in supp} P(s'|s,a): the sum-constrained R^2 operator is mdpkit's ball-robust
    operator (Kumar et al. 2022, sa-rectangular Lp balls); otherwise it is a lower bound."""
    if support == "simplex":
        mdp = _full_support(mdp)
    P = mdp.P_dense()
    supp = np.ones_like(P, bool) if support == "simplex" else P > 0
    qmin = min(P[s, a][supp[s, a]].min() for s in range(mdp.S) for a in range(mdp.A))
    frac = data.draw(st.sampled_from([0.25, 0.5, 1.0]))
    v = _vec(data, mdp.S)
    spec = UncertaintySet(norm, float(frac * qmin), support=support)
    reg = regularized_bellman_operator(mdp, v, frac * qmin, norm=norm, support=support)
    rob = robust_bellman_operator(mdp, v, spec)
    assert reg.exact
    np.testing.assert_allclose(reg.v, rob.v, atol=1e-9)
    # any radius: the relaxed set (no p >= 0) contains mdpkit's set
    big = data.draw(st.sampled_from([0.3, 1.0]))
    spec_b = UncertaintySet(norm, big, support=support)
    reg_b = regularized_bellman_operator(mdp, v, big, norm=norm, support=support)
    assert np.all(reg_b.v <= robust_bellman_operator(mdp, v, spec_b).v + 1e-9)


@pytest.mark.parametrize("norm", ["l1", "l2", "linf"])
@settings(max_examples=8)
@given(mdp=mdps(n_states=(1, 3), n_actions=(1, 2), gamma=(0.0, 0.9)), data=st.data())
def test_regularized_operator_unconstrained_ball_matches_cvxpy__derman2021(norm, mdp, data):
    """constraint='none': q(s,a) = R - alpha + gamma min_{||d||_p <= beta} (P + d).v (cvxpy),
    the reward term min over the box [R - alpha, R + alpha] (vertex enumeration)."""
    import cvxpy as cp

    v = _vec(data, mdp.S)
    beta = data.draw(st.sampled_from([0.1, 0.5]))
    alpha = np.array(data.draw(st.lists(st.sampled_from([0.0, 0.5, 2.0]), min_size=mdp.S * mdp.A,
                                        max_size=mdp.S * mdp.A))).reshape(mdp.S, mdp.A)
    reg = regularized_bellman_operator(mdp, v, beta, norm=norm, alpha=alpha, constraint="none")
    P = mdp.P_dense()
    pn = {"l1": 1, "l2": 2, "linf": "inf"}[norm]
    for s in range(mdp.S):
        for a in range(mdp.A):
            d = cp.Variable(mdp.S)
            prob = cp.Problem(cp.Minimize((P[s, a] + d) @ v), [cp.norm(d, pn) <= beta])
            prob.solve()
            r_worst = min(mdp.R[s, a] + sgn * alpha[s, a] for sgn in (-1.0, 1.0))
            assert reg.q[s, a] == pytest.approx(r_worst + mdp.gamma * prob.value, abs=1e-6)


@pytest.mark.parametrize("spec", ["l1:0.05", "l2:0.05,support=simplex", "linf:0.02"])
@settings(max_examples=8)
@given(mdp=mdps(n_states=(1, 4), n_actions=(1, 3), gamma=(0.0, 0.9), max_weight=4))
def test_regularized_vi_fixed_point_is_robust_value(spec, mdp):
    """Exact case: the R^2-MDP fixed point equals the robust optimal value of robust VI."""
    head, *opt = spec.split(",")
    norm, rad = head.split(":")
    support = "simplex" if opt else "nominal"
    if opt:
        mdp = _full_support(mdp)
    P = mdp.P_dense()
    supp = np.ones_like(P, bool) if support == "simplex" else P > 0
    qmin = min(P[s, a][supp[s, a]].min() for s in range(mdp.S) for a in range(mdp.A))
    beta = min(float(rad), qmin)
    spec = UncertaintySet(norm, float(beta), support=support)
    reg = regularized_value_iteration(mdp, beta, norm=norm, support=support, epsilon=1e-9)
    rob = robust_value_iteration(mdp, spec, epsilon=1e-10)
    assert reg.converged and reg.exact and reg.modulus == mdp.gamma
    np.testing.assert_allclose(reg.v, rob.v_policy_robust, atol=1e-7)
    # both estimates of v*_U are certified: their distance is at most the sum of the bounds
    assert np.abs(reg.v - rob.v).max() <= reg.v_error_bound + rob.v_error_bound + 1e-12


def test_regularized_relaxation_is_strict_when_nonnegativity_binds():
    """Negative control: q = (0.9, 0.1), v = (0, 1), L1 radius 0.5.  mdpkit's set can only remove
    the 0.1 on state 1 (value 0); the relaxed sum-constrained ball reaches 0.1 - 0.25 = -0.15."""
    m = TabularMDP(P=np.array([[[0.9, 0.1]], [[0.0, 1.0]]]), R=np.zeros((2, 1)), gamma=0.5)
    v = np.array([0.0, 1.0])
    reg = regularized_bellman_operator(m, v, 0.5, norm="l1", support="simplex")
    rob = robust_bellman_operator(m, v, "l1:0.5,support=simplex")
    assert not reg.exact
    assert rob.v[0] == pytest.approx(0.0, abs=1e-12)
    assert reg.v[0] == pytest.approx(0.5 * -0.15, abs=1e-12)


def test_regularized_errors():
    m = TabularMDP(P=np.full((2, 2, 2), 0.5), R=np.eye(2), gamma=0.9)
    with pytest.raises(InvalidArgumentError, match="norm"):
        regularized_bellman_operator(m, np.zeros(2), 0.1, norm="l3")
    with pytest.raises(InvalidArgumentError, match="beta"):
        regularized_bellman_operator(m, np.zeros(2), -0.1)
    with pytest.raises(InvalidArgumentError, match="shape"):
        regularized_bellman_operator(m, np.zeros(2), np.zeros(3))
    # relaxed operator with a large ball: contraction bound 0.9 * (1 + 0.5 * 2) >= 1
    with pytest.raises(InvalidArgumentError, match="contraction"):
        regularized_value_iteration(m, 0.6, norm="linf")


def test_iwocs_example_writes_png(tmp_path):
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).parents[2] / "examples" / "robust" / "plot_iwocs.py"
    spec = importlib.util.spec_from_file_location("plot_iwocs_example", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = pathlib.Path(mod.main(["--out", str(tmp_path), "--n", "3", "--S", "8"]))
    assert out.exists() and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
