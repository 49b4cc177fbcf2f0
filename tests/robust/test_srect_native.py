"""Native (Numba) s-rectangular L-infinity, L2 and KL sets against cvxpy.

The s-rectangular set at state s is {(p_a)_a : sum_a d(p_a, q_a) <= kappa_s}.  Oracles:
``mdpkit.uncertainty.s_rect_bellman_cvxpy`` (the epigraph program and its duals, Clarabel), an
independent cvxpy program for nature's best response to a fixed randomized policy, the
contraction bound ||v - v*|| <= ||T v - v|| / (1 - gamma) with T evaluated by cvxpy, and the
closed forms at kappa = 0 (nominal greedy) and at a budget reaching every floor.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdpkit import generators
from mdpkit import uncertainty as U
from mdpkit._exceptions import InvalidArgumentError
from mdpkit._kernels import robust as rk
from mdpkit.solvers.robust import (
    robust_bellman_operator,
    robust_partial_policy_iteration,
    robust_policy_evaluation,
    robust_policy_operator,
    robust_value_iteration,
)
from mdpkit.testing.strategies import mdps

KINDS = ["linf", "l2", "kl"]


def _dist(kind, p, q):
    if kind == "linf":
        return np.abs(p - q).max()
    if kind == "l2":
        return np.sqrt(((p - q) ** 2).sum())
    m = p > 0
    return float((p[m] * np.log(p[m] / q[m])).sum())


def _nature_cvxpy(kind, R_s, Q_s, v, gamma, kappa, pi, support="nominal"):
    """min_{(p_a) in U_s} sum_a pi_a (R_a + gamma p_a . v), written out here in cvxpy."""
    import cvxpy as cp

    A, S = Q_s.shape
    cons, dist, obj = [], [], 0
    for a in range(A):
        idx = np.arange(S) if (support == "simplex" and kind != "kl") else np.flatnonzero(Q_s[a] > 0)
        p = cp.Variable(idx.size, nonneg=True)
        q = Q_s[a, idx]
        d = {"linf": lambda: cp.norm_inf(p - q), "l2": lambda: cp.norm2(p - q),
             "kl": lambda: cp.sum(cp.rel_entr(p, q))}[kind]()
        cons.append(cp.sum(p) == 1)
        dist.append(d)
        obj = obj + pi[a] * (R_s[a] + gamma * (v[idx] @ p))
    prob = cp.Problem(cp.Minimize(obj), cons + [cp.sum(cp.hstack(dist)) <= kappa])
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-11, tol_gap_rel=1e-11, tol_feas=1e-11)
    return float(prob.value)


CASES = [(kind, kappa, support) for kind in KINDS for kappa in (0.05, 0.4, 2.5) for support in ("nominal",)]
CASES += [("linf", 0.3, "simplex"), ("l2", 0.5, "simplex")]


@pytest.mark.parametrize("kind,kappa,support", CASES)
def test_backup_matches_cvxpy_and_policy_attains_it(kind, kappa, support):
    """Value == cvxpy epigraph value (1e-6 rel); pi == cvxpy duals; nature's best response to pi
    (independent cvxpy program) == value; budgets split kappa; stored rows sit at distance xi_a."""
    m = generators.garnet(5, 3, 3, gamma=0.85, rng=7).to_dense()
    rng = np.random.default_rng(3)
    us = U.UncertaintySet(kind, kappa, support=support, rectangularity="s")
    for rep in range(1 if support == "simplex" or kappa > 1 else 2):
        v = rng.normal(scale=3.0, size=m.S)
        b = robust_bellman_operator(m, v, us)
        for s in range(m.S):
            val, pi_cvx, _, _ = U.s_rect_bellman_cvxpy(m.R[s], m.P[s], v, m.gamma, kappa, kind=kind, support=support)
            assert b.v[s] == pytest.approx(val, rel=1e-6, abs=1e-7)
            pi = b.policy[s]
            assert pi.min() >= 0.0 and pi.sum() == pytest.approx(1.0, abs=1e-12)
            np.testing.assert_allclose(pi, pi_cvx, atol=1e-5)
            assert _nature_cvxpy(kind, m.R[s], m.P[s], v, m.gamma, kappa, pi, support) == pytest.approx(
                val, rel=1e-6, abs=1e-7)
            xi = b.budget[s]
            assert xi.min() >= 0.0 and xi.sum() <= kappa * (1 + 1e-10)
            for a in range(m.A):
                p = b.P_worst[s, a]
                assert p.min() >= 0.0 and p.sum() == pytest.approx(1.0, abs=1e-12)
                assert _dist(kind, p, m.P[s, a]) <= xi[a] * (1 + 1e-8) + 1e-12
                # every action is held at or below the value
                assert m.R[s, a] + m.gamma * p @ v <= b.v[s] + 1e-9


@pytest.mark.parametrize("kind", KINDS)
def test_policy_operator_matches_cvxpy_on_random_policies(kind):
    """T_{pi,U} v (nature's budget split against a fixed randomized pi) == cvxpy, 1e-6 relative."""
    m = generators.garnet(4, 3, 3, gamma=0.9, rng=11)
    rng = np.random.default_rng(5)
    P = m.P_dense()
    for kappa in (0.1, 1.0):
        v = rng.normal(scale=2.0, size=m.S)
        pis = rng.dirichlet(np.ones(m.A), size=m.S)
        pis[0] = [1.0, 0.0, 0.0]
        out, Pw = robust_policy_operator(m, v, pis, U.UncertaintySet(kind, kappa, rectangularity="s"))
        Pw = Pw.toarray().reshape(m.S, m.A, m.S) if hasattr(Pw, "toarray") else Pw
        for s in range(m.S):
            ref = _nature_cvxpy(kind, m.R[s], P[s], v, m.gamma, kappa, pis[s])
            assert out[s] == pytest.approx(ref, rel=1e-6, abs=1e-7)
            used = sum(_dist(kind, Pw[s, a], P[s, a]) for a in range(m.A) if pis[s, a] > 0)
            assert used <= kappa * (1 + 1e-6) + 1e-9
            assert pis[s] @ (m.R[s] + m.gamma * Pw[s] @ v) == pytest.approx(out[s], abs=1e-8)


@pytest.mark.parametrize("kind", KINDS)
def test_value_iteration_fixed_point_is_cvxpy_fixed_point(kind):
    """Robust VI with the native set: the cvxpy operator moves v by at most (1-gamma) * eps, so
    v is within eps of the fixed point of the cvxpy s-rectangular operator (Banach)."""
    m = generators.garnet(4, 2, 3, gamma=0.7, rng=2).to_dense()
    us = U.UncertaintySet(kind, 0.3, rectangularity="s")
    res = robust_value_iteration(m, us, epsilon=1e-9)
    assert res.converged
    Tv = np.array([U.s_rect_bellman_cvxpy(m.R[s], m.P[s], res.v, m.gamma, 0.3, kind=kind)[0] for s in range(m.S)])
    assert np.abs(Tv - res.v).max() / (1 - m.gamma) <= 1e-6
    # the returned randomized policy is robust-optimal: its robust value (nature's PI) is v*
    np.testing.assert_allclose(res.v_policy_robust, res.v, atol=1e-7)
    ppi = robust_partial_policy_iteration(m, us, epsilon=1e-9)
    np.testing.assert_allclose(ppi.v, res.v, atol=1e-7)
    ev = robust_policy_evaluation(m, res.policy, us)
    np.testing.assert_allclose(ev.v, res.v, atol=1e-7)


@pytest.mark.parametrize("kind", KINDS)
def test_closed_forms_at_zero_and_full_budget(kind):
    """kappa = 0: nominal greedy max_a R + gamma q_a.v.  A budget reaching every floor:
    max_a R + gamma min_{q_a > 0} v (nature moves all mass to the worst reachable state)."""
    m = generators.garnet(5, 3, 3, gamma=0.8, rng=4).to_dense()
    v = np.random.default_rng(1).normal(size=m.S)
    b0 = robust_bellman_operator(m, v, U.UncertaintySet(kind, 0.0, rectangularity="s"))
    np.testing.assert_allclose(b0.v, (m.R + m.gamma * m.P @ v).max(axis=1), rtol=1e-13, atol=1e-13)
    floor = np.where(m.P > 0, v[None, None, :], np.inf).min(axis=2)
    bigr = 3 * 50.0  # KL reach is -log q(argmin) <= log(1 / min q); L2, Linf <= sqrt(2)
    b1 = robust_bellman_operator(m, v, U.UncertaintySet(kind, bigr, rectangularity="s"))
    np.testing.assert_allclose(b1.v, (m.R + m.gamma * floor).max(axis=1), rtol=1e-12, atol=1e-12)


@settings(max_examples=12, deadline=None)
@given(mdp=mdps(n_states=(1, 4), n_actions=(1, 3), gamma=(0.0, 0.9)), data=st.data())
def test_degenerate_models_match_cvxpy(mdp, data):
    """Integer v (ties, kinks), single actions, gamma = 0, deterministic rows: value == cvxpy and
    the returned policy guarantees the value against nature (cvxpy)."""
    kind = data.draw(st.sampled_from(KINDS))
    kappa = data.draw(st.sampled_from([0.0, 0.1, 0.7]))
    v = np.array(data.draw(st.lists(st.integers(-4, 4), min_size=mdp.S, max_size=mdp.S)), float)
    b = robust_bellman_operator(mdp, v, U.UncertaintySet(kind, kappa, rectangularity="s"))
    P = mdp.P_dense()
    if kappa == 0.0:  # closed form (cvxpy's interior point is inaccurate on the degenerate KL ball of radius 0)
        np.testing.assert_allclose(b.v, (mdp.R + mdp.gamma * P @ v).max(axis=1), rtol=1e-13, atol=1e-13)
        return
    for s in range(mdp.S):
        val, _, _, _ = U.s_rect_bellman_cvxpy(mdp.R[s], P[s], v, mdp.gamma, kappa, kind=kind)
        assert b.v[s] == pytest.approx(val, rel=1e-6, abs=1e-6)
        assert _nature_cvxpy(kind, mdp.R[s], P[s], v, mdp.gamma, kappa, b.policy[s]) == pytest.approx(
            val, rel=1e-6, abs=1e-6)


def test_one_signature_per_kernel_and_sparse_equals_dense():
    """Dense, CSR, float32 / read-only / list v, backup / policy / VI: the one entry point of the
    new kernels (``s_rect_run``) is compiled for one type signature; CSR values == dense."""
    m = generators.garnet(6, 3, 3, gamma=0.8, rng=9)
    v = np.linspace(-1, 1, m.S)
    ro = v.copy()
    ro.flags.writeable = False
    for kind in KINDS:
        us = U.UncertaintySet(kind, 0.2, rectangularity="s")
        d = robust_bellman_operator(m.to_dense(), v, us)
        for vv in (v.astype(np.float32), ro, list(v)):
            c = robust_bellman_operator(m.to_sparse(), vv, us)
            np.testing.assert_allclose(c.v, d.v, rtol=1e-6 if isinstance(vv, np.ndarray) and vv.dtype == np.float32
                                       else 1e-13)
        robust_policy_operator(m.to_sparse(), v, d.policy, us)
        robust_value_iteration(m.to_sparse(), us, epsilon=1e-4, v0=ro)
    assert len(rk.s_rect_run.signatures) == 1, rk.s_rect_run.signatures


def test_validation_names_the_kind():
    with pytest.raises(InvalidArgumentError, match="s-rectangular"):
        U.UncertaintySet("chi2", 0.1, rectangularity="s")
    with pytest.raises(InvalidArgumentError, match="s-rectangular"):
        U.parse_uncertainty("wasserstein:0.1,rect=s")
    m = generators.garnet(3, 2, 2, gamma=0.8, rng=0)
    with pytest.raises(InvalidArgumentError, match="shape"):
        robust_value_iteration(m, U.UncertaintySet("kl", np.ones(5), rectangularity="s"))


def test_theorem_check_srect_cvxpy_passes_and_sa_control_fails():
    """The registered check ``robust-s-rect-cvxpy`` (native s-rectangular Linf/L2/KL backups vs the
    cvxpy epigraph program) passes, and its negative control (the sa-rectangular update: the budget
    is not shared between actions) fails on the same instances."""
    from mdpkit import theory

    ms = [generators.garnet(4, 2, 3, gamma=g, rng=k).to_dense() for k, g in ((0, 0.6), (1, 0.9))]
    r = theory.check("robust-s-rect-cvxpy", instances=ms, zoo=False)
    assert r.passed and not r.errors
    assert r.control_failed and not r.control_errors
