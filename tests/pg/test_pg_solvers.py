"""Exact policy optimization (mdpkit.solvers.policy_optimization) against independent oracles.

Oracles: v* by enumeration of deterministic policies (numpy solves, written here), the exact value
of the returned stochastic policy by a numpy solve, and the theorems' bounds recomputed here from
their closed forms (not from mdpkit.bounds).
"""

import itertools
import math
import warnings

import numpy as np
import pytest

from mdpkit import ConvergenceWarning, InvalidArgumentError, TabularMDP
from mdpkit.solvers import (
    conservative_policy_iteration,
    entropy_regularized_npg,
    natural_policy_gradient,
    policy_mirror_descent,
    softmax_policy_gradient,
)
from mdpkit.solvers.policy_optimization import soft_optimal_values


def random_mdp(seed, S=4, A=3, gamma=0.8, masked=False):
    rng = np.random.default_rng(seed)
    mask = None
    if masked:
        mask = rng.random((S, A)) < 0.7
        mask[np.arange(S), rng.integers(0, A, S)] = True
    return TabularMDP(rng.dirichlet(np.ones(S), size=(S, A)), rng.uniform(-1, 1, (S, A)), gamma, action_mask=mask)


def v_star_enum(mdp):
    P, R, S = mdp.P_dense(), mdp.R, mdp.S
    best = np.full(S, -np.inf)
    for pol in itertools.product(*[np.flatnonzero(mdp.action_mask[s]) for s in range(S)]):
        pol = np.array(pol)
        v = np.linalg.solve(np.eye(S) - mdp.gamma * P[np.arange(S), pol], R[np.arange(S), pol])
        best = np.maximum(best, v)
    return best


def value_stochastic(mdp, pi):
    P = mdp.P_dense()
    return np.linalg.solve(np.eye(mdp.S) - mdp.gamma * np.einsum("sa,sat->st", pi, P),
                           np.sum(pi * np.where(mdp.action_mask, mdp.R, 0), axis=1))


SEEDS = [0, 1, 2, 3]


@pytest.mark.parametrize("seed", SEEDS)
def test_npg_suboptimality_below_aklm_bound_every_T(seed):
    mdp = random_mdp(seed, masked=seed % 2 == 1)
    eta = [0.1, 1.0, 5.0, 0.5][seed]
    res = natural_policy_gradient(mdp, eta=eta, epsilon=1e-7)
    vs = v_star_enum(mdp)
    rho = mdp.mu0
    # exact suboptimality trace: the final entry recomputed here
    assert res.suboptimality[-1] == pytest.approx(rho @ vs - rho @ value_stochastic(mdp, res.policy), abs=1e-10)
    # AKLM Thm 16 from the uniform start: log|A_s| / (eta T) + span / ((1-gamma)^2 T)
    # (E_{d*} KL(pi*||uniform) <= max_s log|A_s|, so the closed form with max log|A_s| is weaker)
    w = np.ptp(mdp.R[mdp.action_mask])
    T = np.arange(1, res.n_iter + 1)
    closed = math.log(mdp.action_mask.sum(axis=1).max()) / (eta * T) + w / ((1 - mdp.gamma) ** 2 * T)
    assert np.all(res.suboptimality[1:] <= res.rate_bound[1:] + 1e-12)
    assert np.all(res.rate_bound[1:] <= closed + 1e-12)
    assert res.converged and res.bound_applies


@pytest.mark.parametrize("seed", SEEDS)
def test_result_value_is_exact_and_certificate_holds(seed):
    mdp = random_mdp(seed, masked=seed % 2 == 0)
    vs = v_star_enum(mdp)
    for res in (natural_policy_gradient(mdp, eta=1.0, epsilon=1e-6),
                policy_mirror_descent(mdp, growth="geometric", epsilon=1e-6),
                conservative_policy_iteration(mdp, epsilon=1e-6)):
        vp = value_stochastic(mdp, res.policy)
        assert np.max(np.abs(res.v - vp)) <= res.v_error_bound + 1e-12
        assert np.max(vs - vp) <= res.certificate.value + 1e-12
        assert res.certificate.value <= 2e-6 / (1 - mdp.gamma) * 10
        np.testing.assert_allclose(res.policy.sum(axis=1), 1.0, atol=1e-12)
        assert np.all(res.policy[~mdp.action_mask] == 0)
        assert not res.v.flags.writeable and res.suboptimality.shape == (res.n_iter + 1,)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("mirror", ["kl", "euclidean"])
def test_pmd_geometric_steps_linear_rate(seed, mirror):
    mdp = random_mdp(seed, gamma=0.7 + 0.05 * seed)
    res = policy_mirror_descent(mdp, eta0=0.5, growth="geometric", mirror=mirror, epsilon=1e-9)
    assert res.bound_applies
    # Xiao's bound is gamma^k (gap0 + D0/((1-gamma) eta0)): recompute gamma^k * rate_bound[0]-shape here
    k = np.arange(res.n_iter + 1)
    np.testing.assert_allclose(res.rate_bound, res.rate_bound[0] * mdp.gamma ** k, rtol=1e-12)
    assert np.all(res.suboptimality <= res.rate_bound + 1e-12)
    np.testing.assert_allclose(res.step_sizes, 0.5 / mdp.gamma ** np.arange(res.n_iter), rtol=1e-12)


def test_out_of_range_steps_run_but_say_the_bound_does_not_apply():
    mdp = random_mdp(7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        r1 = softmax_policy_gradient(mdp, eta=1.0, max_iter=50)
        r2 = entropy_regularized_npg(mdp, tau=0.5, eta=1.0, max_iter=50)
        r3 = policy_mirror_descent(mdp, growth=1.1, mirror="euclidean", max_iter=50)
    for r in (r1, r2, r3):
        assert not r.bound_applies and np.all(np.isnan(r.rate_bound)) and "does not apply" in r.bound_note
    # the runs themselves are fine: values exact
    for r in (r1, r2, r3):
        np.testing.assert_allclose(r.v, value_stochastic(mdp, r.policy), atol=1e-12)


def test_softmax_pg_mei_step_and_bound():
    mdp = random_mdp(11, S=3, A=2, gamma=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = softmax_policy_gradient(mdp, max_iter=2000, epsilon=1e-9)
    w = np.ptp(mdp.R)
    assert res.options["eta"] == pytest.approx((1 - 0.5) ** 3 / (8 * w), rel=1e-14)
    assert res.bound_applies
    t = np.arange(1, res.n_iter + 1)
    assert np.all(res.suboptimality[1:] <= res.rate_bound[1:])
    # O(1/t): t * suboptimality stays bounded (here it even decreases after a transient)
    ts = t * res.suboptimality[1:]
    assert ts[-1] <= ts.max() and np.all(np.isfinite(ts))
    # monotone improvement of gradient ascent with eta <= 1/L
    assert np.all(np.diff(res.values) >= -1e-12)


def test_entropy_npg_soft_q_error_below_cen_bound_and_soft_optimum_is_a_fixed_point():
    for seed, (tau, frac) in enumerate([(0.1, 1.0), (0.5, 0.3), (1.0, 0.05)]):
        mdp = random_mdp(seed + 20, gamma=0.85)
        eta = frac * (1 - mdp.gamma) / tau
        res = entropy_regularized_npg(mdp, tau=tau, eta=eta, epsilon=1e-10, max_iter=5000)
        assert res.bound_applies and res.converged
        assert np.all(res.bound_trace[1:] <= res.rate_bound[1:] + 1e-10)
        v, q, pi = soft_optimal_values(mdp, tau)
        # independent check of the soft optimum: soft Bellman equation, written out here
        np.testing.assert_allclose(v, tau * np.log(np.exp(q / tau).sum(axis=1)), atol=1e-10)
        np.testing.assert_allclose(q, mdp.R + mdp.gamma * mdp.P @ v, atol=1e-10)
        # soft Q is stationary in pi at the optimum (error quadratic in the policy's), so the
        # policy is only as close as the square root of the soft-Q error
        np.testing.assert_allclose(res.policy, pi, atol=1e-4)


def test_cpi_improvement_at_least_kakade_langford_lower_bound():
    for seed in range(4):
        mdp = random_mdp(seed + 30, gamma=0.9)
        res = conservative_policy_iteration(mdp, epsilon=1e-6)
        imp, low = res.bound_trace[:-1], res.rate_bound[:-1]
        assert np.all(imp >= low - 1e-12)
        assert np.all(imp >= -1e-12)  # the chosen alpha makes the bound non-negative: monotone
        assert res.converged


def test_npg_tight_instance_breaks_a_halved_constant():
    """Two absorbing states, each a 1000-armed bandit (one good arm): the KL/(eta T) term is
    nearly attained, so the bound with half its constant fails."""
    S, A, gamma, eta = 2, 1000, 0.5, 0.01
    P = np.zeros((S, A, S))
    P[0, :, 0] = 1.0
    P[1, :, 1] = 1.0
    R = np.zeros((S, A))
    R[:, 0] = 1.0
    mdp = TabularMDP(P, R, gamma)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = natural_policy_gradient(mdp, eta=eta, max_iter=2000, epsilon=1e-12)
    T = np.arange(1, res.n_iter + 1)
    half = 0.5 * (math.log(A) / (eta * T) + 1.0 / ((1 - gamma) ** 2 * T))
    assert np.all(res.suboptimality[1:] <= res.rate_bound[1:])
    assert np.any(res.suboptimality[1:] > half)
    assert np.max(res.suboptimality[1:] / res.rate_bound[1:]) > 0.6


def test_bad_arguments_raise():
    mdp = random_mdp(0)
    with pytest.raises(InvalidArgumentError, match="eta"):
        natural_policy_gradient(mdp, eta=-1.0)
    with pytest.raises(InvalidArgumentError, match="growth"):
        policy_mirror_descent(mdp, growth=0.5)
    with pytest.raises(InvalidArgumentError, match="mirror"):
        policy_mirror_descent(mdp, mirror="l2")
    with pytest.raises(InvalidArgumentError, match="theta0"):
        softmax_policy_gradient(mdp, theta0=np.zeros(3))
    with pytest.raises(InvalidArgumentError, match="alpha"):
        conservative_policy_iteration(mdp, alpha=0.0)
    with pytest.raises(InvalidArgumentError, match="rho sums"):
        natural_policy_gradient(mdp, rho=[0.5, 0.5, 0.5, 0.5])


def test_frank_wolfe_general_utility_against_cvxpy():
    """Concave quadratic utility of the occupancy: F* by cvxpy (independent), FW gap certifies every iterate."""
    import cvxpy as cp

    from mdpkit.occupancy import state_action_occupancy
    from mdpkit.solvers.policy_optimization import frank_wolfe_general_utility, quadratic_utility

    rng = np.random.default_rng(0)
    S, A, g = 3, 2, 0.8
    mdp = TabularMDP(rng.dirichlet(np.ones(S), size=(S, A)), rng.uniform(-1, 1, (S, A)), g)
    target = rng.dirichlet(np.ones(S * A)).reshape(S, A)
    res = frank_wolfe_general_utility(mdp, quadratic_utility(target), max_iter=200, epsilon=1e-12)
    lam = cp.Variable((S, A))
    cons = [lam >= 0] + [cp.sum(lam[t, :]) == (1 - g) * mdp.mu0[t] + g * cp.sum(cp.multiply(mdp.P[:, :, t], lam))
                         for t in range(S)]
    prob = cp.Problem(cp.Maximize(-0.5 * cp.sum_squares(lam - target)), cons)
    prob.solve(solver="CLARABEL")
    fstar = prob.value
    true_gap = fstar - res.utility
    assert np.all(true_gap <= res.fw_gap + 1e-7)
    assert np.all(true_gap <= res.rate_bound + 1e-7)
    assert true_gap[-1] <= 1e-3
    # the returned policy realizes the returned occupancy exactly
    np.testing.assert_allclose(state_action_occupancy(mdp, res.policy), res.occupancy, atol=1e-12)


def test_finite_horizon_dynamic_and_simultaneous_pg_reach_backward_induction():
    from mdpkit.solvers.policy_optimization import finite_horizon_policy_gradient

    rng = np.random.default_rng(0)
    S, A, H = 3, 2, 3
    mdp = TabularMDP(rng.dirichlet(np.ones(S), size=(S, A)), rng.uniform(0, 1, (S, A)), 1.0)
    # optimum by enumerating deterministic Markov policies (independent of backward_induction)
    P, R = mdp.P_dense(), mdp.R
    best = -np.inf
    pols = list(itertools.product(range(A), repeat=S))
    for seq in itertools.product(range(len(pols)), repeat=H):
        v = np.zeros(S)
        for h in range(H - 1, -1, -1):
            pi = np.array(pols[seq[h]])
            v = R[np.arange(S), pi] + P[np.arange(S), pi] @ v
        best = max(best, mdp.mu0 @ v)
    for method in ("dynamic", "simultaneous"):
        res = finite_horizon_policy_gradient(mdp, H, method=method, n_steps=900, eta=20.0)
        assert res.suboptimality[-1] <= 1e-3 and np.all(res.suboptimality >= -1e-12)
        # the value trace is exact: recompute the final entry here
        v = np.zeros(S)
        for h in range(H - 1, -1, -1):
            v = np.sum(res.policy[h] * (R + P @ v), axis=1)
        assert res.values[-1] == pytest.approx(mdp.mu0 @ v, abs=1e-12)
        assert res.values[-1] <= best + 1e-12 and best - res.values[-1] == pytest.approx(res.suboptimality[-1], abs=1e-12)
    dyn = finite_horizon_policy_gradient(mdp, H, method="dynamic", n_steps=30)
    assert list(dyn.epoch[::10]) == [2, 1, 0]  # trained backwards in time
