"""HF-UCRL-RFE++ (Zhang, Zhang & Gu 2023) on linear mixture MDPs: planning against exact backward induction,
the estimate converging, the bound's bookkeeping and bad input (mdpkit.solvers.linear.reward_free_exploration)."""

import dataclasses
import math

import numpy as np
import pytest

from mdpkit import InvalidArgumentError
from mdpkit.bounds.linear import (
    reward_free_parameters,
    reward_free_sample_complexity,
    reward_free_suboptimality_bound,
)
from mdpkit.linear import LinearMixtureMDP, linear_mixture_mdp
from mdpkit.solvers.linear import reward_free_exploration


def bi_loops(P, R, policy=None):
    """Independent oracle: backward induction with explicit loops on P (S, A, S), stage rewards R (H, S, A)."""
    H, S, A = R.shape
    V = [[0.0] * S for _ in range(H + 1)]
    pol = [[0] * S for _ in range(H)]
    for h in range(H - 1, -1, -1):
        for s in range(S):
            qs = [R[h, s, a] + sum(P[s, a, t] * V[h + 1][t] for t in range(S)) for a in range(A)]
            a = max(range(A), key=lambda i: qs[i]) if policy is None else int(policy[h, s])
            pol[h][s] = a
            V[h][s] = min(1.0, qs[a])
    return np.array(V), np.array(pol)


def _reward(H, S, A, seed):
    R = np.random.default_rng(seed).uniform(0, 1, (H, S, A))
    return R / R.reshape(H, -1).max(axis=1).sum()  # total reward of every trajectory <= 1


@pytest.fixture(scope="module")
def run_paper():
    m = linear_mixture_mdp(4, 2, 3, horizon=4, rng=3)
    return m, reward_free_exploration(m, 150, seed=0)


def test_planning_is_exact_backward_induction_on_the_true_model(run_paper):
    m, res = run_paper
    H, S, A = m.horizon, m.S, m.A
    for seed in range(3):
        R = _reward(H, S, A, seed)
        plan = res.plan(R)
        Vstar, _ = bi_loops(np.asarray(m.P), R)
        Vpi, _ = bi_loops(np.asarray(m.P), R, policy=plan.policy)
        mu0 = np.asarray(m.mu0)
        assert plan.v_star == pytest.approx(mu0 @ Vstar[0], abs=1e-12)
        assert plan.v_policy == pytest.approx(mu0 @ Vpi[0], abs=1e-12)
        assert 0.0 <= plan.suboptimality <= 1.0
        # with the true weights the planned policy is optimal: the planner is backward induction on P_theta
        exact = dataclasses.replace(res, theta_hat=np.asarray(m.theta).copy()).plan(R)
        assert exact.suboptimality == pytest.approx(0.0, abs=1e-12)
        assert exact.v_estimate == pytest.approx(mu0 @ Vstar[0], abs=1e-12)


def test_suboptimality_within_the_bound_and_bound_is_vacuous_at_this_K(run_paper):
    m, res = run_paper
    b = res.suboptimality_bound()
    for seed in range(5):
        assert res.plan(_reward(m.horizon, m.S, m.A, seed)).suboptimality <= b.value
    # honest about power: with the paper's constants the bound exceeds 1 (the largest possible loss) here
    assert b.value > 1.0
    assert b.delta == pytest.approx(min(1.0, 4 * b.extra["M"] * 0.05))


def test_theta_estimate_converges():
    m = linear_mixture_mdp(4, 2, 3, horizon=5, rng=0)
    res = reward_free_exploration(m, 300, seed=1)
    e = res.theta_error
    assert e[-1] < 0.6 * e[19] and e[-1] < 0.3
    # the trajectory uncertainty is non-increasing in the source (Lemma 2.8.8); here it saturates at 1
    assert np.all(res.uncertainty <= 1.0 + 1e-12)


def test_practical_variant_learns_and_refuses_the_bound():
    m = linear_mixture_mdp(4, 2, 3, horizon=5, rng=0)
    res = reward_free_exploration(m, 150, beta_scale=1e-3, seed=1)
    assert res.variant == "practical"
    with pytest.raises(InvalidArgumentError, match="paper"):
        res.suboptimality_bound()
    assert res.theta_error[-1] < 0.5 * res.theta_error[9]
    assert res.uncertainty[-1] < res.uncertainty[0]


def home_update_np(Bsa, V, s_next, theta, Sdot_inv, Sinv, b, beta, alpha, gamma):
    """Numpy twin of mdpkit._kernels.linear.home_update, written from Algorithm 5 line by line (loops over m)."""
    M, d = b.shape
    Sinv, b = Sinv.copy(), b.copy()
    phis = [Bsa @ V ** (2**m) for m in range(M)]
    nrm = lambda x, Ainv: math.sqrt(max(float(x @ Ainv @ x), 0.0))  # noqa: E731
    pred = [min(1.0, max(0.0, float(phis[m] @ theta[m]))) for m in range(M)]
    for m in range(M):
        run = nrm(phis[m], Sinv[m])
        if m < M - 1:
            var = pred[m + 1] - pred[m] ** 2
            E = min(1, 2 * beta * nrm(phis[m], Sdot_inv[m])) + min(1, beta * nrm(phis[m + 1], Sdot_inv[m + 1]))
            s2 = max(gamma**2 * run, var + E, alpha**2)
        else:
            s2 = max(gamma**2 * run, 1.0, alpha**2)
        G = np.linalg.inv(Sinv[m]) + np.outer(phis[m], phis[m]) / s2  # direct inverse, not Sherman-Morrison
        Sinv[m] = np.linalg.inv(G)
        b[m] = b[m] + phis[m] * V[s_next] ** (2**m) / s2
    return Sinv, b


def rfe_plan_np(Bt, theta, cands, beta, Shat_inv, Stil_inv):
    """Numpy twin of mdpkit._kernels.linear.rfe_uncertainty_plan (Eq. (2.6.2) per candidate, vectorised)."""
    n, H, S, A = cands.shape
    Vh, Vt = np.zeros((n, H + 1, S)), np.zeros((n, H + 1, S))
    pol = np.empty((n, H, S), np.int64)
    norm = lambda X, Ai: np.sqrt(np.maximum(np.einsum("...i,ij,...j->...", X, Ai, X), 0.0))  # noqa: E731
    idx = np.arange(S)
    for c in range(n):
        for h in range(H - 1, -1, -1):
            pt = np.einsum("said,d->sai", Bt, Vt[c, h + 1])
            ph = np.einsum("said,d->sai", Bt, Vh[c, h + 1])
            val = np.minimum(1.0, np.minimum(1.0, beta * norm(pt, Stil_inv)) + 2 * beta * norm(ph, Shat_inv) + ph @ theta)
            pol[c, h] = val.argmax(axis=1)
            Vh[c, h] = val[idx, pol[c, h]]
            Vt[c, h] = np.clip(cands[c, h][idx, pol[c, h]] + pt[idx, pol[c, h]] @ theta, 0.0, 1.0)
    return Vh, Vt, pol


def test_uncertainty_plan_kernel_matches_numpy_twin():
    from mdpkit._kernels import linear as klin

    rng = np.random.default_rng(1)
    for n, H, S, A, d in [(3, 4, 5, 2, 3), (5, 2, 3, 3, 2)]:
        Bt = np.ascontiguousarray(rng.dirichlet(np.ones(S), size=(S, A, d)) / np.sqrt(d))
        theta = rng.normal(size=d)
        cands = np.ascontiguousarray(rng.uniform(0, 1.0 / H, (n, H, S, A)))
        X = rng.normal(size=(d, d))
        Shat, Stil = np.linalg.inv(np.eye(d) + X @ X.T), np.linalg.inv(2 * np.eye(d) + X.T @ X)
        for beta in (0.3, 5.0):
            want = rfe_plan_np(Bt, theta, cands, beta, Shat, Stil)
            Vh, Vt = np.zeros((n, H + 1, S)), np.zeros((n, H + 1, S))
            pol = np.empty((n, H, S), np.int64)
            klin.rfe_uncertainty_plan(Bt, theta, cands, np.float64(beta), Shat, Stil, Vh, Vt, pol)
            np.testing.assert_allclose(Vh, want[0], atol=1e-12)
            np.testing.assert_allclose(Vt, want[1], atol=1e-12)
            np.testing.assert_array_equal(pol, want[2])


def test_home_kernel_matches_numpy_twin():
    from mdpkit._kernels import linear as klin

    rng = np.random.default_rng(0)
    for M, d, S in [(4, 3, 5), (7, 2, 3), (1, 4, 4)]:
        Bsa = np.ascontiguousarray(rng.dirichlet(np.ones(S), size=d) / np.sqrt(d))
        V = rng.uniform(0, 1, S)
        theta = rng.normal(size=(M, d))
        X = rng.normal(size=(M, d, d))
        Sdot_inv = np.ascontiguousarray(np.linalg.inv(np.eye(d) + np.einsum("mij,mkj->mik", X, X)))
        Sinv = np.ascontiguousarray(np.linalg.inv(2 * np.eye(d) + np.einsum("mij,mkj->mik", X, X)))
        b = rng.normal(size=(M, d))
        want = home_update_np(Bsa, V, 1, theta, Sdot_inv, Sinv, b, 3.0, 0.4, 0.7)
        klin.home_update(Bsa, V, np.int64(1), theta, Sdot_inv, Sinv, b, np.array([3.0, 0.4, 0.7]),
                         np.empty((M, d)), np.empty((4, M)))
        np.testing.assert_allclose(Sinv, want[0], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(b, want[1], rtol=1e-12, atol=1e-12)


def test_bound_parameters_and_sample_complexity():
    d, H, K, delta, B = 3, 5, 1000, 0.05, 1.0
    p = reward_free_parameters(d, H, K, delta, B)
    assert p["M"] == math.ceil(math.log2(7 * K * H))
    lam, al, ga = d / B**2, H**-0.5, d**-0.25
    eta = math.log(1 + K * H / (al**2 * d * lam))
    tau = math.log(32 * (math.log(ga**2 / al) + 1) * K**2 * H**2 / delta)
    assert p["beta_K"] == pytest.approx(12 * math.sqrt(d * eta * tau) + 30 * tau / ga**2 + math.sqrt(lam) * B)
    vals = [reward_free_suboptimality_bound(d, H, k, delta, B).value for k in (10, 10**3, 10**6, 10**9)]
    assert all(a > b for a, b in zip(vals, vals[1:]))  # decreasing in K
    sc = reward_free_sample_complexity(d, H, 0.5, delta, B)
    Kmin = int(sc.value)
    assert reward_free_suboptimality_bound(d, H, Kmin, delta, B).value <= 0.5
    assert reward_free_suboptimality_bound(d, H, int(Kmin * 0.999), delta, B).value > 0.5  # float resolution at 1e17
    # O~(d^2 / eps^2): quartering eps multiplies K by about 16 (log factors aside)
    r = reward_free_sample_complexity(d, H, 0.125, delta, B).value / Kmin
    assert 12 < r < 24


def test_bad_input():
    m = linear_mixture_mdp(3, 2, 2, horizon=3, rng=0)
    res = reward_free_exploration(m, 3, seed=0)
    with pytest.raises(InvalidArgumentError, match="total reward"):
        res.plan(np.full((3, 3, 2), 0.5))
    with pytest.raises(InvalidArgumentError, match=">= 0"):
        res.plan(-np.ones((3, 3, 2)) * 0.01)
    with pytest.raises(InvalidArgumentError, match=r"\(H, S, A\)"):
        res.plan(np.zeros((3, 2)))
    with pytest.raises(InvalidArgumentError, match="finite-horizon LinearMixtureMDP"):
        reward_free_exploration(linear_mixture_mdp(3, 2, 2, gamma=0.9, rng=0), 3)
    with pytest.raises(InvalidArgumentError, match=r"candidate_rewards\[0\]"):
        reward_free_exploration(m, 3, candidate_rewards=np.ones((1, 3, 3, 2)))
    with pytest.raises(InvalidArgumentError, match="n_episodes"):
        reward_free_exploration(m, 0)
    from mdpkit import InvalidMDPError

    B, th, R = np.asarray(m.bases), np.asarray(m.theta), np.zeros((3, 2))
    with pytest.raises(InvalidMDPError, match="horizon"):
        LinearMixtureMDP(B, th, R, horizon=0)
    with pytest.raises(InvalidMDPError, match="exactly one"):
        LinearMixtureMDP(B, th, R, horizon=3, gamma=0.9)
    with pytest.raises(InvalidMDPError, match=r"mu0 must have shape \(S,\)"):
        LinearMixtureMDP(B, th, R, horizon=3, mu0=[0.5, 0.5])
    with pytest.raises(InvalidMDPError, match="probability vector"):
        LinearMixtureMDP(B, th, R, horizon=3, mu0=[0.5, 0.6, -0.1])
