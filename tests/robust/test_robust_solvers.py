"""Robust Bellman operators and solvers: theorems, exact small cases, oracles.

Expected values come from closed forms (the two-state survival chain), brute-force enumeration
of static kernels (vertices found by scipy LPs), cvxpy (s-rectangular epigraph program and its
duals) and the nominal solvers (radius 0).
"""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq

from mdpkit import TabularMDP, generators
from mdpkit import uncertainty as U
from mdpkit._exceptions import InvalidArgumentError
from mdpkit.policies import policy_evaluation
from mdpkit.solvers import value_iteration
from mdpkit.solvers.robust import (
    robust_bellman_operator,
    robust_modified_policy_iteration,
    robust_partial_policy_iteration,
    robust_policy_evaluation,
    robust_policy_iteration,
    robust_policy_operator,
    robust_value_iteration,
)
from mdpkit.testing.strategies import mdps
from mdpkit.theory._robust import operator_property_residuals, static_maxmin_value

SETS_SA = ["l1:0.3", "linf:0.1", "l2:0.2", "chi2:0.2", "kl:0.1", "wasserstein:0.3", "cvar:0.5",
           "tv_penalty:0.5", "kl_penalty:0.5", "l1:0.3,support=simplex"]
SETS_ALL = SETS_SA + ["l1:0.3,rect=s"]

small = mdps(n_states=(1, 4), n_actions=(1, 3), gamma=(0.0, 0.9))


# --------------------------------------------------------------------------------------------
# operator theorems
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", SETS_ALL)
@settings(max_examples=15)
@given(mdp=small, data=st.data())
def test_robust_operator_contraction_monotone_translation__iyengar2005(spec, mdp, data):
    """||Tu - Tv|| <= gamma ||u - v||; u <= v => Tu <= Tv; T(v + c) = Tv + gamma c (Iyengar 2005)."""
    S = mdp.S
    ints = st.lists(st.integers(-5, 5), min_size=S, max_size=S)
    u = np.array(data.draw(ints), float)
    v = np.array(data.draw(ints), float)
    c = data.draw(st.sampled_from([-2.0, 0.5, 3.0]))
    Tu = robust_bellman_operator(mdp, u, spec).v
    Tv = robust_bellman_operator(mdp, v, spec).v
    g = mdp.gamma
    assert np.abs(Tu - Tv).max() <= g * np.abs(u - v).max() + 1e-9
    mono, trans = operator_property_residuals(lambda m, x, U_: robust_bellman_operator(m, x, U_).v, mdp, u, v, c,
                                              spec)
    assert mono.max() <= 1e-9 and trans.max() <= 1e-9
    # the policy operator of the greedy policy reproduces T v (greedy = argmax)
    b = robust_bellman_operator(mdp, v, spec)
    Tpi, _ = robust_policy_operator(mdp, v, b.policy, spec)
    np.testing.assert_allclose(Tpi, b.v, atol=1e-9)


@settings(max_examples=25)
@given(mdp=small, data=st.data())
def test_sa_operator_matches_cvxpy_rows(mdp, data):
    """Each robust q(s, a) equals R + gamma * (cvxpy inner minimum) -- row-by-row oracle."""
    spec = data.draw(st.sampled_from(["l1:0.3", "kl:0.1", "chi2:0.2", "l2:0.2"]))
    v = np.array(data.draw(st.lists(st.integers(-5, 5), min_size=mdp.S, max_size=mdp.S)), float)
    b = robust_bellman_operator(mdp, v, spec)
    P = mdp.P_dense()
    for s in range(mdp.S):
        for a in range(mdp.A):
            _, val = U.cvxpy_inner(P[s, a], v, U.parse_uncertainty(spec))
            assert b.q[s, a] == pytest.approx(mdp.R[s, a] + mdp.gamma * val, abs=1e-7)


@pytest.mark.parametrize("spec", ["l1:0.1", "kl:0.05", "l2:0.1", "wasserstein:0.2", "l1:0.1,rect=s"])
@settings(max_examples=10)
@given(mdp=mdps(n_states=(1, 4), n_actions=(1, 3), gamma=(0.0, 0.9), sparse=None))
def test_set_monotonicity_and_radius_zero__nominal(spec, mdp):
    """Larger set, lower robust value; radius 0 gives the nominal optimal value."""
    us = U.parse_uncertainty(spec)
    nom = value_iteration(mdp, epsilon=1e-9).v_policy
    vals = []
    for r in (0.0, us.radius, 2 * us.radius, 4 * us.radius):
        res = robust_value_iteration(mdp, us.with_radius(r), epsilon=1e-9)
        vals.append(res.v_policy_robust)
    np.testing.assert_allclose(vals[0], nom, atol=1e-7)
    for a, b in zip(vals, vals[1:]):
        assert np.all(b <= a + 1e-7)


# --------------------------------------------------------------------------------------------
# solvers
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", SETS_SA)
@settings(max_examples=8)
@given(mdp=mdps(n_states=(1, 4), n_actions=(1, 3), gamma=(0.0, 0.95), sparse=None, masked=True))
def test_solvers_agree_and_certificates_hold(spec, mdp):
    """VI, PI, MPI, PPI agree on v*_U; VI's certificate bounds the true robust suboptimality."""
    eps = 1e-6
    pi_res = robust_policy_iteration(mdp, spec)
    v_star = pi_res.v
    for solver in (robust_value_iteration, robust_modified_policy_iteration, robust_partial_policy_iteration):
        res = solver(mdp, spec, epsilon=eps)
        assert res.converged
        gap = np.abs(v_star - res.v_policy_robust).max()
        assert gap <= res.error_bound + 1e-7  # certified stopping
        assert res.error_bound < eps
        assert np.all(res.v_lower <= v_star + 1e-7) and np.all(v_star <= res.v_upper + 1e-7)
    # nominal value of the policy on the worst-case kernel = its robust value (sets, not penalties)
    if U.parse_uncertainty(spec).kind not in U.PENALTIES:
        Pw = pi_res.P_worst
        mw = TabularMDP(Pw, mdp.R, mdp.gamma, action_mask=mdp.action_mask)
        np.testing.assert_allclose(policy_evaluation(mw, pi_res.policy), v_star, atol=1e-7)
        # no duality gap: the optimal nominal value on the worst kernel is the robust value
        np.testing.assert_allclose(value_iteration(mw, epsilon=1e-10).v_policy, v_star, atol=1e-7)


def test_dense_and_csr_agree():
    m = generators.garnet(30, 3, 4, gamma=0.9, rng=3)
    for spec in ["l1:0.2", "kl:0.1", "l1:0.2,rect=s"]:
        a = robust_value_iteration(m.to_dense(), spec, epsilon=1e-8)
        b = robust_value_iteration(m.to_sparse(), spec, epsilon=1e-8)
        np.testing.assert_allclose(a.v, b.v, atol=1e-9)
        assert sp.issparse(b.P_worst) and not sp.issparse(a.P_worst)
        np.testing.assert_allclose(a.P_worst, b.P_worst.toarray().reshape(a.P_worst.shape), atol=1e-9)


def test_no_duality_gap_by_enumerating_static_kernels():
    """sa-rectangular L1: v*_U = max_pi min_P v^pi_P over an enumerated finite set of static kernels.

    The kernels' rows are the vertices of the L1 balls, found by HiGHS LPs
    (``mdpkit.theory._robust.static_maxmin_value``, shared with the ``robust-no-duality-gap`` check).
    """
    rng = np.random.default_rng(7)
    S, A, kappa = 3, 2, 0.4
    P = rng.dirichlet(np.ones(S), size=(S, A))
    R = rng.integers(-2, 3, size=(S, A)).astype(float)
    mdp = TabularMDP(P, R, 0.8)
    best = static_maxmin_value(mdp, kappa)
    res = robust_value_iteration(mdp, "l1:0.4", epsilon=1e-10)
    np.testing.assert_allclose(res.v_policy_robust, best, atol=1e-8)
    np.testing.assert_allclose(res.v, best, atol=1e-8)


# --------------------------------------------------------------------------------------------
# exact small cases: the two-state survival chain
# --------------------------------------------------------------------------------------------


def _survival(qs, gamma=0.9):
    """alive (reward 1, survives with prob qs) -> dead (absorbing, reward 0)."""
    P = np.array([[[qs, 1 - qs]], [[0.0, 1.0]]])
    return TabularMDP(P, np.array([[1.0], [0.0]]), gamma)


def _binary_kl(p, q):
    out = 0.0
    for a, b in ((p, q), (1 - p, 1 - q)):
        if a > 0:
            out += a * np.log(a / b)
    return out


@pytest.mark.parametrize("qs", [0.5, 0.9])
@pytest.mark.parametrize("kappa", [0.05, 0.3, 2.5])
def test_survival_chain_closed_forms(qs, kappa):
    """v(alive) = 1 / (1 - gamma p_min), p_min the smallest survival probability in the set."""
    g = 0.9
    m = _survival(qs, g)
    p_l1 = max(0.0, qs - kappa / 2)
    p_chi = max(0.0, qs - np.sqrt(kappa * qs * (1 - qs)))
    if kappa >= -np.log(1 - qs):
        p_kl = 0.0
    else:
        p_kl = brentq(lambda p: _binary_kl(p, qs) - kappa, 0.0, qs)
    for spec, p_min in ((f"l1:{kappa}", p_l1), (f"chi2:{kappa}", p_chi), (f"kl:{kappa}", p_kl)):
        v = robust_value_iteration(m, spec, epsilon=1e-11).v_policy_robust
        assert v[0] == pytest.approx(1 / (1 - g * p_min), abs=1e-9), spec
        assert v[1] == 0.0


# --------------------------------------------------------------------------------------------
# s-rectangular sets
# --------------------------------------------------------------------------------------------


def _fork(kappa=0.2, gamma=0.9):
    """s0 with two identical actions to G (prob 0.1, reward 1 forever) or B (reward 0 forever)."""
    P = np.zeros((3, 2, 3))
    P[0, :, 1] = 0.1
    P[0, :, 2] = 0.9
    P[1, :, 1] = 1.0
    P[2, :, 2] = 1.0
    R = np.zeros((3, 2))
    R[1] = 1.0
    return TabularMDP(P, R, gamma)


def test_s_rect_randomized_policy_beats_every_deterministic_one():
    """Budget 0.2 shared by two actions: pi = (1/2, 1/2) keeps value 0.05 * gamma/(1-gamma), any
    deterministic policy lets nature remove all mass from G (value 0) -- Wiesemann et al. 2013."""
    m = _fork()
    g = m.gamma
    res = robust_value_iteration(m, "l1:0.2,rect=s", epsilon=1e-10)
    np.testing.assert_allclose(res.policy[0], [0.5, 0.5], atol=1e-12)
    assert res.v_policy_robust[0] == pytest.approx(0.05 * g / (1 - g), abs=1e-9)
    assert res.v[0] == pytest.approx(0.05 * g / (1 - g), abs=1e-9)
    np.testing.assert_allclose(res.budget[0], [0.1, 0.1], atol=1e-12)
    for a in range(2):
        det = np.array([a, 0, 0])
        v_det = robust_policy_evaluation(m, det, "l1:0.2,rect=s").v
        assert v_det[0] == pytest.approx(0.0, abs=1e-12)
    # the sa-rectangular set with the same radius is larger: its value is lower
    assert robust_value_iteration(m, "l1:0.2", epsilon=1e-10).v_policy_robust[0] <= res.v_policy_robust[0]


@settings(max_examples=25)
@given(mdp=mdps(n_states=(1, 4), n_actions=(1, 3), gamma=(0.0, 0.9)), data=st.data())
def test_s_rect_operator_matches_cvxpy_and_its_policy_attains_it(mdp, data):
    """Value == cvxpy epigraph program; min over nature of the returned pi's mixture == value."""
    import cvxpy as cp

    # the oracle's limit, not ours: cvxpy refuses a subnormal gamma ("Problem data contains NaN or
    # Inf" after its scaling); mdpkit's own answer at such gamma is tested with the other gammas
    assume(mdp.gamma == 0.0 or mdp.gamma >= np.finfo(float).tiny)
    v = np.array(data.draw(st.lists(st.integers(-5, 5), min_size=mdp.S, max_size=mdp.S)), float)
    kappa = data.draw(st.sampled_from([0.0, 0.1, 0.5, 1.5]))
    b = robust_bellman_operator(mdp, v, U.UncertaintySet("l1", kappa, rectangularity="s"))
    P = mdp.P_dense()
    for s in range(mdp.S):
        val, pi_cvx, _, _ = U.s_rect_bellman_cvxpy(mdp.R[s], P[s], v, mdp.gamma, kappa)
        assert b.v[s] == pytest.approx(val, abs=1e-7)
        assert b.budget[s].sum() <= kappa + 1e-12
        # nature's best response to our randomized policy (an LP in cvxpy)
        pi = b.policy[s]
        ps = [cp.Variable(mdp.S, nonneg=True) for _ in range(mdp.A)]
        cons = [cp.sum(p) == 1 for p in ps] + [cp.sum(cp.hstack([cp.norm1(ps[a] - P[s, a]) for a in range(mdp.A)]))
                                                <= kappa]
        cons += [ps[a][P[s, a] == 0] == 0 for a in range(mdp.A) if np.any(P[s, a] == 0)]
        obj = sum(pi[a] * (mdp.R[s, a] + mdp.gamma * (v @ ps[a])) for a in range(mdp.A))
        prob = cp.Problem(cp.Minimize(obj), cons)
        prob.solve(solver=cp.CLARABEL)
        assert prob.value == pytest.approx(val, abs=1e-6)


@settings(max_examples=10)
@given(mdp=mdps(n_states=(1, 4), n_actions=(1, 3), gamma=(0.0, 0.9), sparse=None))
def test_s_rect_vi_and_ppi_agree(mdp):
    a = robust_value_iteration(mdp, "l1:0.3,rect=s", epsilon=1e-8)
    b = robust_partial_policy_iteration(mdp, "l1:0.3,rect=s", epsilon=1e-8)
    np.testing.assert_allclose(a.v_policy_robust, b.v_policy_robust, atol=1e-7)
    np.testing.assert_allclose(a.v, b.v, atol=1e-7)
    # s-rectangular set is a subset of the sa-rectangular one with the same radius
    c = robust_value_iteration(mdp, "l1:0.3", epsilon=1e-8)
    assert np.all(c.v_policy_robust <= a.v_policy_robust + 1e-7)


# --------------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------------


def test_errors():
    m = _fork()
    with pytest.raises(InvalidArgumentError, match="s-rectangular"):
        robust_value_iteration(m, "chi2:0.1,rect=s")
    with pytest.raises(NotImplementedError):
        robust_policy_iteration(m, "l1:0.1,rect=s")
    with pytest.raises(InvalidArgumentError, match="shape"):
        robust_value_iteration(m, U.UncertaintySet("l1", np.ones((2, 2))))
    with pytest.raises(InvalidArgumentError):
        robust_value_iteration(m, "l1:0.1", stopping="bad")
    with pytest.raises(InvalidArgumentError):
        robust_value_iteration(m, "l1:-0.1")
