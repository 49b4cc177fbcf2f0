"""LSVI, FQI, MDVI and LSVI-UCB against exact tabular answers (mdpkit.solvers.linear)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdpkit import InvalidArgumentError, TabularMDP
from mdpkit.bounds import BoundKind
from mdpkit.bounds.linear import finite_horizon_adp_bound, lsvi_ucb_beta, lsvi_ucb_regret_bound
from mdpkit.generators import make
from mdpkit.linear import (
    LinearMDP,
    generative_samples,
    misspecified_linear_mdp,
    one_hot_features,
    one_hot_linear_mdp,
    random_linear_mdp,
    simplex_linear_mdp,
)
from mdpkit.solvers import policy_iteration
from mdpkit.solvers.linear import (
    RidgeRegressor,
    fitted_q_iteration,
    linear_exact_solution,
    lsvi,
    lsvi_ucb,
    mdvi,
)


def bi_numpy(P, R):
    """Independent oracle: backward induction on stage arrays P (H, S, A, S), R (H, S, A)."""
    H, S, A, _ = P.shape
    V = np.zeros((H + 1, S))
    Q = np.zeros((H, S, A))
    for h in range(H - 1, -1, -1):
        for s in range(S):
            for a in range(A):
                Q[h, s, a] = R[h, s, a] + sum(P[h, s, a, t] * V[h + 1, t] for t in range(S))
            V[h, s] = Q[h, s].max()
    return Q, V


# ----------------------------------------------------------------------------- exact oracle
def test_exact_solution_stagewise_matches_numpy():
    m = random_linear_mdp(5, 3, 4, horizon=4, stagewise=True, rng=0)
    ex = linear_exact_solution(m)
    Q, V = bi_numpy(np.asarray(m.P), np.asarray(m.R))
    np.testing.assert_allclose(ex.v, V, atol=1e-12)
    np.testing.assert_allclose(ex.q, Q, atol=1e-12)


# ----------------------------------------------------------------------------- LSVI
@pytest.mark.parametrize("spec", ["riverswim:gamma=0.9", "gridworld_5x5", "chain"])
def test_lsvi_one_hot_exact_equals_backward_induction(spec):
    mdp = make(spec)
    m = one_hot_linear_mdp(mdp, horizon=6)
    r = lsvi(m, exact_backups=True)
    Q, V = bi_numpy(np.asarray(m.P), np.asarray(m.R))
    np.testing.assert_allclose(r.v, V, atol=1e-9)
    np.testing.assert_allclose(r.q, Q, atol=1e-9)
    assert r.certificate.value <= 1e-9 * max(1.0, np.abs(V).max())


@settings(max_examples=15, deadline=None)
@given(S=st.integers(2, 6), A=st.integers(1, 3), d=st.integers(1, 5), seed=st.integers(0, 2**31),
       stagewise=st.booleans())
def test_lsvi_exact_on_linear_mdps_is_optimal(S, A, d, seed, stagewise):
    """Prop. 2.3 of Jin et al.: every backup is linear in phi, so LSVI is exact for any phi."""
    d = min(d, S * A)
    m = random_linear_mdp(S, A, d, horizon=4, stagewise=stagewise, rng=seed)
    r = lsvi(m, exact_backups=True)
    Q, V = bi_numpy(np.asarray(m.P), np.asarray(m.R))
    np.testing.assert_allclose(r.q, Q, atol=1e-8)
    np.testing.assert_allclose(r.v_policy, V[0], atol=1e-8)


def test_lsvi_misspecified_certificate_holds_and_is_not_vacuous():
    base = simplex_linear_mdp(6, 3, 3, horizon=5, rng=1)
    for eps in (0.1, 0.4):
        models, phi = misspecified_linear_mdp(base, eps, rng=2)
        P = np.stack([t.P for t in models])
        R = np.stack([t.R for t in models])
        m = LinearMDP(one_hot_features(6, 3), P.reshape(5, 18, 6), R.reshape(5, 18), horizon=5)
        # fit with the misspecified features: build LSVI's backups by hand through a LinearMDP whose
        # tabular model is the perturbed one is impossible (it is not linear in phi), so use the
        # one-hot model for the truth and pass phi as a regressor design via a projection regressor
        Phi = phi.reshape(18, 3)

        class Proj:
            def fit(self, X, y):
                self.w = np.linalg.lstsq(Phi, y, rcond=None)[0]
                return self

            def predict(self, X):
                return Phi @ self.w

        r = lsvi(m, exact_backups=True, regressor=Proj())
        Q, V = bi_numpy(P, R)
        gap = float(np.max(V[0] - r.v_policy))
        assert r.stage_errors.max() > 1e-3
        assert gap <= r.certificate.value + 1e-12
        assert np.max(np.abs(r.v[0] - V[0])) <= r.v_error_bound + 1e-12


def test_lsvi_default_ridge_matches_cvxpy():
    cp = pytest.importorskip("cvxpy")
    m = simplex_linear_mdp(4, 2, 3, horizon=2, rng=3)
    D = generative_samples(m, 5, h=1, rng=0)
    D0 = generative_samples(m, 5, h=0, rng=1)
    from mdpkit.linear import TransitionData

    data = TransitionData(np.concatenate([D0.h, D.h]), np.concatenate([D0.s, D.s]), np.concatenate([D0.a, D.a]),
                          np.concatenate([D0.r, D.r]), np.concatenate([D0.s_next, D.s_next]))
    r = lsvi(m, data, ridge=0.7)
    X = m.phi[D.s, D.a]
    w = cp.Variable(3)
    cp.Problem(cp.Minimize(cp.sum_squares(X @ w - D.r) + 0.7 * cp.sum_squares(w))).solve()
    np.testing.assert_allclose(r.weights[1], w.value, atol=1e-5)
    assert math.isinf(r.certificate.value)


def test_lsvi_pluggable_regressor_and_errors():
    m = simplex_linear_mdp(4, 2, 3, horizon=2, rng=3)
    r1 = lsvi(m, exact_backups=True)
    r2 = lsvi(m, exact_backups=True, regressor=RidgeRegressor(0.0))
    np.testing.assert_allclose(r1.q, r2.q, atol=1e-12)
    with pytest.raises(InvalidArgumentError, match="needs data"):
        lsvi(m)
    from mdpkit.linear import TransitionData

    bad = TransitionData(h=[0, 5], s=[0, 0], a=[0, 0], r=[0.0, 0.0], s_next=[0, 0])
    with pytest.raises(InvalidArgumentError, match=r"transition 1: h = 5 is out of range"):
        lsvi(m, bad)
    only0 = TransitionData(h=[0], s=[0], a=[0], r=[0.0], s_next=[0])
    with pytest.raises(InvalidArgumentError, match="no transition at stage h=1"):
        lsvi(m, only0)


def test_lsvi_from_samples_converges():
    m = simplex_linear_mdp(4, 2, 3, horizon=3, rng=4)
    from mdpkit.linear import TransitionData

    parts = [generative_samples(m, 4000, h=h, rng=h) for h in range(3)]
    data = TransitionData(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("h", "s", "a", "r", "s_next")))
    r = lsvi(m, data, ridge=1e-6)
    ex = linear_exact_solution(m)
    assert np.max(np.abs(r.v - ex.v)) < 0.05


# ----------------------------------------------------------------------------- FQI
def test_fqi_one_hot_is_value_iteration():
    mdp = make("riverswim:gamma=0.9")
    m = one_hot_linear_mdp(mdp)
    P, R = mdp.P_dense(), np.asarray(mdp.R)
    q = np.zeros((mdp.S, mdp.A))
    for k in (1, 5, 40):
        r = fitted_q_iteration(m, exact_backups=True, n_iter=k)
        qq = np.zeros_like(q)
        for _ in range(k):
            qq = R + 0.9 * P @ qq.max(axis=1)
        np.testing.assert_allclose(r.q, qq, atol=1e-9)
    r = fitted_q_iteration(m, exact_backups=True, n_iter=400)
    vstar = policy_iteration(mdp).v
    np.testing.assert_allclose(r.v, vstar, atol=1e-9)
    gap = np.max(vstar - r.v_policy)
    assert gap <= r.certificate.value + 1e-12


def test_fqi_data_and_errors():
    m = simplex_linear_mdp(4, 2, 3, gamma=0.7, rng=5)
    D = generative_samples(m, 3000, rng=0)
    r = fitted_q_iteration(m, D, n_iter=60, ridge=1e-6)
    vstar = policy_iteration(m.to_tabular()).v
    assert np.max(np.abs(r.v - vstar)) < 0.1
    with pytest.raises(InvalidArgumentError, match="discounted"):
        fitted_q_iteration(simplex_linear_mdp(4, 2, 3, horizon=3, rng=5), exact_backups=True)


# ----------------------------------------------------------------------------- MDVI
@pytest.mark.parametrize("kl,ent", [(1.0, 0.0), (0.5, 0.3), (2.0, 1.0)])
def test_mdvi_softmax_of_summed_q_identity(kl, ent):
    r = mdvi(make("riverswim:gamma=0.9"), kl=kl, entropy=ent, n_iter=80)
    scale = np.abs(r.h).max() / (kl + ent)
    assert r.identity_residual <= 1e-12 * max(1.0, scale) * 80


def _random_mdp(gamma=0.9, seed=3):
    rng = np.random.default_rng(seed)
    return TabularMDP(rng.dirichlet(np.ones(6) * 0.5, size=(6, 3)), rng.uniform(0, 1, (6, 3)), gamma)


def test_mdvi_kl_only_converges_to_optimal():
    mdp = _random_mdp()
    r = mdvi(mdp, kl=0.1, n_iter=400, track=True)
    vstar = policy_iteration(mdp).v
    assert np.max(vstar - r.v_policy) < 1e-9
    assert r.policy_errors[0] > 1.0 and r.policy_errors[99] < 1e-4


def test_mdvi_linear_one_hot_equals_tabular():
    mdp = make("riverswim:gamma=0.9")
    a = mdvi(mdp, kl=1.0, entropy=0.1, n_iter=30)
    b = mdvi(one_hot_linear_mdp(mdp), kl=1.0, entropy=0.1, n_iter=30)
    np.testing.assert_allclose(a.stochastic_policy, b.stochastic_policy, atol=1e-10)


def test_mdvi_averages_iid_errors_noisy_vi_does_not():
    """Vieillard et al. 2020: with KL only, the policy is the softmax of the *sum* of q's, so i.i.d.
    errors average out; plain noisy VI keeps an error floor."""
    mdp = _random_mdp()
    vstar = policy_iteration(mdp).v
    sig = 0.3
    md = mdvi(mdp, kl=0.1, n_iter=400, noise_std=sig, rng=0, track=True)
    rng = np.random.default_rng(0)
    P, R = mdp.P_dense(), np.asarray(mdp.R)
    from mdpkit.policies import policy_evaluation

    q = np.zeros((mdp.S, mdp.A))
    vi_err = []
    for _ in range(400):
        q = R + 0.9 * P @ q.max(axis=1) + sig * rng.standard_normal(q.shape)
        vi_err.append(np.max(vstar - policy_evaluation(mdp, q.argmax(axis=1))))
    assert np.mean(vi_err[-100:]) > 0.3
    assert np.mean(md.policy_errors[-100:]) < 0.1 * np.mean(vi_err[-100:])


# ----------------------------------------------------------------------------- LSVI-UCB
def _lock():
    """A two-action chain where optimism matters: reward only at the far end (one-hot, H = 5)."""
    S, A, H = 5, 2, 5
    P = np.zeros((S, A, S))
    for s in range(S):
        P[s, 0, 0] = 1.0                       # "reset" action: back to 0
        P[s, 1, min(s + 1, S - 1)] = 1.0       # "forward"
    R = np.zeros((S, A))
    R[:, 0] = 0.1                              # small sure reward for resetting
    R[S - 1, 1] = 1.0
    mu0 = np.eye(S)[0]
    return one_hot_linear_mdp(TabularMDP(P, R, 1.0, mu0=mu0), horizon=H)


def test_lsvi_ucb_optimism_and_beta_zero_control():
    m = _lock()
    res = lsvi_ucb(m, 60, n_runs=2, seed=0)
    assert res.variant == "paper" and res.optimism_margin.min() >= -1e-9
    assert np.all(res.optimistic_value >= res.v_star - 1e-9)
    greedy = lsvi_ucb(m, 60, n_runs=2, seed=0, beta=0.0)
    assert greedy.variant == "practical" and greedy.optimism_margin.min() < -0.1
    # greedy never discovers the far reward: linear regret
    assert greedy.episode_regret[:, -20:].min() > 0.1


def test_lsvi_ucb_regret_exact_and_bound_refused_for_practical():
    m = simplex_linear_mdp(4, 2, 3, horizon=3, rng=0)
    res = lsvi_ucb(m, 30, seed=1)
    np.testing.assert_allclose(res.pseudo_regret[0], np.cumsum(res.episode_regret[0]))
    assert np.all(res.episode_regret >= -1e-12)
    b = res.regret_bound()
    assert b.kind is BoundKind.RATE_ONLY and res.certificate is not None
    for kw in (dict(beta_scale=0.5), dict(beta=1.0), dict(ridge=2.0), dict(truncate=False)):
        r = lsvi_ucb(m, 5, **kw)
        assert r.certificate is None
        with pytest.raises(InvalidArgumentError, match="variant='paper'"):
            r.regret_bound()
    with pytest.raises(InvalidArgumentError, match="finite-horizon"):
        lsvi_ucb(simplex_linear_mdp(4, 2, 3, gamma=0.9, rng=0), 5)


def test_lsvi_ucb_seeds_replay():
    m = simplex_linear_mdp(4, 2, 3, horizon=3, rng=0)
    a = lsvi_ucb(m, 20, n_runs=3, seed=5, beta_scale=0.1)
    b = lsvi_ucb(m, 20, n_runs=3, seed=5, beta_scale=0.1)
    np.testing.assert_array_equal(a.episode_regret, b.episode_regret)
    assert len(set(a.seeds.tolist())) == 3


# ----------------------------------------------------------------------------- bounds
def test_beta_and_regret_formulas():
    d, H, T, p = 3, 4, 400, 0.01
    iota = math.log(2 * d * T / p)
    assert lsvi_ucb_beta(d, H, T, p, c=0.5) == pytest.approx(0.5 * d * H * math.sqrt(iota))
    b = lsvi_ucb_regret_bound(d, H, 100, p)
    assert b.value == pytest.approx(math.sqrt(d**3 * H**3 * 400 * iota**2))
    assert b.delta == pytest.approx(0.02)
    with pytest.raises(InvalidArgumentError):
        lsvi_ucb_beta(d, H, T, 1.5)


def test_adp_bound_tight_instance_fails_when_halved():
    """One stage, Q* = (0, delta), errors (+eps, -eps): the greedy loss delta -> 2 eps."""
    eps = 0.1
    for delta in (0.05, 0.19, 0.1999):
        qhat = np.array([0.0 + eps, delta - eps])
        loss = delta if qhat.argmax() == 0 else 0.0
        bound = finite_horizon_adp_bound([eps]).value
        assert loss <= bound
    assert loss > 0.5 * bound  # a halved constant would be violated


# ----------------------------------------------------------------------------- LMC-LSVI
def test_lmc_lsvi_runs_replays_and_refuses_practical_bound():
    from mdpkit.solvers.linear import lmc_lsvi

    m = simplex_linear_mdp(4, 2, 3, horizon=3, rng=0)
    a = lmc_lsvi(m, 25, n_runs=2, seed=3, n_steps=10)
    b = lmc_lsvi(m, 25, n_runs=2, seed=3, n_steps=10)
    np.testing.assert_array_equal(a.episode_regret, b.episode_regret)
    np.testing.assert_allclose(a.pseudo_regret, np.cumsum(a.episode_regret, axis=1))
    assert np.all(a.episode_regret >= -1e-12)
    with pytest.raises(InvalidArgumentError, match="variant='paper'"):
        a.regret_bound()
    p = lmc_lsvi(m, 5, seed=0)
    assert p.variant == "paper" and p.regret_bound().kind is BoundKind.RATE_ONLY


def test_lmc_lsvi_cold_limit_is_greedy_ridge():
    """Near-zero temperature: the Langevin chain is gradient descent on the ridge loss, a greedy learner
    that never finds the lock's far reward; with noise it explores."""
    from mdpkit.solvers.linear import lmc_lsvi

    m = _lock()
    cold = lmc_lsvi(m, 30, seed=0, n_steps=400, inv_temperature=1e16)
    assert cold.episode_regret[0, -10:].min() >= 0.5 - 1e-9  # never reaches the far reward
    hot = lmc_lsvi(m, 150, n_runs=3, seed=0, n_steps=30, inv_temperature=1.0)
    assert hot.episode_regret[:, -20:].mean() < 0.75 * cold.episode_regret[0, -10:].mean()
