"""R2PVI and its inner regularised problems (cvxpy is the oracle)."""

import numpy as np
import pytest

from mdpkit import InvalidArgumentError, TabularMDP
from mdpkit.linear import TransitionData, generative_samples, one_hot_linear_mdp, random_linear_mdp, simplex_linear_mdp
from mdpkit.solvers.linear import linear_exact_solution, r2pvi, regularized_expectation

cp = pytest.importorskip("cvxpy")


def inner_cvxpy(v, p0, lam, div):
    S = v.size
    q = cp.Variable(S, nonneg=True)
    supp = p0 > 0
    cons = [cp.sum(q) == 1]
    if div == "tv":
        obj = q @ v + lam * 0.5 * cp.norm1(q - p0)
    else:
        if (~supp).any():
            cons.append(q[~supp] == 0)
        if div == "kl":
            obj = q[supp] @ v[supp] + lam * cp.sum(cp.kl_div(q[supp], p0[supp]))
        else:
            obj = q @ v + lam * cp.sum(cp.multiply(1 / p0[supp], cp.square(q[supp] - p0[supp])))
    prob = cp.Problem(cp.Minimize(obj), cons)
    prob.solve()
    return prob.value


@pytest.mark.parametrize("div", ["tv", "kl", "chi2"])
def test_inner_closed_forms_match_cvxpy(div):
    rng = np.random.default_rng(0)
    for trial in range(6):
        S = int(rng.integers(2, 7))
        p0 = rng.dirichlet(np.ones(S) * 0.7)
        if trial % 3 == 0:
            p0[0] = 0.0
            p0 /= p0.sum()
        v = rng.uniform(0, 3, S)
        lam = float(rng.uniform(0.05, 3))
        assert regularized_expectation(v, p0, lam, div) == pytest.approx(inner_cvxpy(v, p0, lam, div), abs=2e-5)


@pytest.mark.parametrize("div", ["tv", "kl", "chi2"])
def test_r2pvi_one_hot_equals_tabular_regularized_robust_bi(div):
    """Oracle: tabular robust regularised backward induction with every inner problem solved by cvxpy."""
    rng = np.random.default_rng(1)
    S, A, H, lam = 3, 2, 2, 0.5
    P = rng.dirichlet(np.ones(S), size=(S, A))
    R = rng.uniform(0, 1, (S, A))
    m = one_hot_linear_mdp(TabularMDP(P, R, 1.0), horizon=H)
    res = r2pvi(m, divergence=div, lam=lam, exact_backups=True)
    V = np.zeros(S)
    for h in range(H - 1, -1, -1):
        q = np.array([[R[s, a] + inner_cvxpy(V, P[s, a], lam, div) for a in range(A)] for s in range(S)])
        np.testing.assert_allclose(res.q[h], q, atol=5e-5)
        V = q.max(axis=1)


def test_r2pvi_large_lambda_is_nominal_and_robust_value_is_lower():
    m = simplex_linear_mdp(5, 2, 3, horizon=4, rng=2)
    nominal = linear_exact_solution(m).v
    for div in ("tv", "kl", "chi2"):
        big = r2pvi(m, divergence=div, lam=1e6, exact_backups=True)
        np.testing.assert_allclose(big.v, nominal, atol=1e-4)
        small = r2pvi(m, divergence=div, lam=0.3, exact_backups=True)
        assert np.all(small.v <= nominal + 1e-12) and np.any(small.v < nominal - 1e-3)


@pytest.mark.parametrize("div", ["tv", "kl", "chi2"])
def test_r2pvi_from_data_converges_to_exact(div):
    m = simplex_linear_mdp(4, 2, 3, horizon=3, rng=3)
    parts = [generative_samples(m, 3000, h=h, rng=10 + h) for h in range(3)]
    data = TransitionData(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("h", "s", "a", "r", "s_next")))
    ex = r2pvi(m, divergence=div, lam=0.5, exact_backups=True)
    est = r2pvi(m, data, divergence=div, lam=0.5, ridge=1e-3)
    assert np.max(np.abs(est.v - ex.v)) < 0.08
    pess = r2pvi(m, data, divergence=div, lam=0.5, ridge=1e-3, beta=1.0)
    assert np.all(pess.v <= est.v + 1e-12) and pess.penalty.max() > 0


def test_r2pvi_needs_simplex_features():
    m = random_linear_mdp(4, 2, 3, horizon=3, rng=0)
    with pytest.raises(InvalidArgumentError, match="d-rectangular features on the simplex"):
        r2pvi(m, exact_backups=True)
    with pytest.raises(InvalidArgumentError, match="divergence must be one of"):
        r2pvi(simplex_linear_mdp(4, 2, 3, horizon=3, rng=0), exact_backups=True, divergence="w2")


# ----------------------------------------------------------------------------- G-optimal design, VWLS-MDVI
def test_g_optimal_design_matches_cvxpy_logdet_and_kiefer_wolfowitz():
    from mdpkit.solvers.linear import g_optimal_design

    rng = np.random.default_rng(4)
    X = rng.normal(size=(12, 3))
    D = g_optimal_design(X, tol=1e-4)
    assert D.converged and 3.0 - 1e-9 <= D.g_max <= 3.0 * (1 + 1e-4)  # KW: max g >= d, = d at the optimum
    r = cp.Variable(12, nonneg=True)
    G = sum(r[i] * np.outer(X[i], X[i]) for i in range(12))
    prob = cp.Problem(cp.Maximize(cp.log_det(G)), [cp.sum(r) == 1])
    prob.solve()
    ours = np.linalg.slogdet(X.T @ (D.weights[:, None] * X))[1]
    assert ours == pytest.approx(prob.value, abs=1e-3)
    with pytest.raises(InvalidArgumentError, match="rank 2 < d = 3"):
        g_optimal_design(np.column_stack([X[:, :2], X[:, 0] + X[:, 1]]))


def test_vwls_mdvi_many_samples_approaches_exact_linear_mdvi():
    from mdpkit.solvers.linear import mdvi, vwls_mdvi

    m = simplex_linear_mdp(6, 2, 3, gamma=0.8, rng=5)
    ex = mdvi(m, kl=0.5, n_iter=40)
    for weighted in (True, False):
        r = vwls_mdvi(m, n_iter=40, samples_per_iter=20000, kl=0.5, weighted=weighted, rng=0)
        assert np.max(np.abs(r.q - ex.q)) < 0.05
        assert r.identity_residual < 1e-9 and r.n_samples >= 40 * 20000
        assert (r.variance_weights is not None) == weighted
