"""Distributional control: categorical/quantile distributional VI and distributional PI.

Expected values come from independent routes: a plain numpy value iteration on the dense model,
brute-force enumeration of every deterministic policy (dense linear solves,
mdpkit.theory._instances.enumerate_values), the loop-based numpy oracles of
mdpkit/_reference_distributional.py, and closed forms.
"""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdpkit import ConvergenceWarning, InvalidArgumentError, InvalidPolicyError, TabularMDP
from mdpkit import _reference_distributional as ref
from mdpkit._kernels import distributional as dk
from mdpkit.solvers.distributional import (
    DistributionalControlResult,
    categorical_value_iteration,
    distributional_policy_iteration,
    quantile_policy_evaluation,
    quantile_value_iteration,
    state_action_entries,
)
from mdpkit.testing.strategies import mdps
from mdpkit.theory._instances import enumerate_values
from bounds_helpers_distributional import dense_parts


def _numpy_vi(mdp, v0, k):
    """k sweeps of plain numpy VI: v <- max_a R + gamma P v (masked actions excluded)."""
    P, R, g = mdp.P_dense(), np.where(mdp.action_mask, mdp.R, -np.inf), mdp.gamma
    v = np.array(v0, float)
    out = [v]
    for _ in range(k):
        v = (R + g * P @ v).max(axis=1)
        out.append(v)
    return out


def _vstar(mdp):
    return enumerate_values(mdp)[1].max(axis=0)


def _scale(mdp):
    return max(1.0, float(np.abs(mdp.R[mdp.action_mask]).max())) / (1.0 - mdp.gamma)


# ------------------------------------------------------------------ kernels vs oracles
@settings(max_examples=30)
@given(st.data())
def test_control_sweeps_vs_oracle(data):
    mdp = data.draw(mdps(n_states=(1, 4), n_actions=(1, 3), gamma=(0.0, 0.95), reward=data.draw(st.sampled_from(["sa", "sas"])),
                         sparse=None, masked=True))
    P, Rs, _ = dense_parts(mdp, np.zeros(mdp.S, dtype=np.int64) if mdp.action_mask[:, 0].all() else
                           np.argmax(mdp.action_mask, axis=1))
    S, A = mdp.S, mdp.A
    sa_indptr, nxt, w, rew = state_action_entries(mdp)
    ent = dk.entries(sa_indptr, nxt, w, rew)
    mask1 = dk.ro(mdp.action_mask.reshape(-1), np.bool_)
    K = data.draw(st.integers(1, 7))
    z = dk.ro(np.cumsum(np.array(data.draw(st.lists(st.integers(1, 3), min_size=K, max_size=K)), float)) - 4.0)
    rng = np.random.default_rng(data.draw(st.integers(0, 99)))
    eta = rng.dirichlet(np.ones(K), S)
    eta_sa, q1, pi, out = np.zeros((S * A, K)), np.empty(S * A), np.empty(S, np.int64), np.empty((S, K))
    dk.categorical_control_sweep(A, ent, mask1, z, float(mdp.gamma), float(dk.uniform_inverse_step(z)), eta,
                                 np.empty((dk.N_CHUNKS, K)), (eta_sa, q1, pi), out)
    e_sa, q, pi_ref, out_ref = ref.categorical_control_backup(P, Rs, mdp.action_mask, mdp.gamma, z, eta)
    avail = mdp.action_mask.reshape(-1)
    np.testing.assert_allclose(eta_sa[avail], e_sa.reshape(S * A, K)[avail], atol=1e-12)
    np.testing.assert_allclose(q1.reshape(S, A)[mdp.action_mask], q[mdp.action_mask], atol=1e-12)
    np.testing.assert_allclose(out, out_ref, atol=1e-12)  # greedy laws agree even if near-ties flip
    m = data.draw(st.integers(1, 5))
    th = np.sort(rng.normal(size=(S, m)) * 3, axis=1)
    th_sa, qq, pq, o2 = np.zeros((S * A, m)), np.empty(S * A), np.empty(S, np.int64), np.empty((S, m))
    dk.quantile_control_sweep(A, ent, mask1, float(mdp.gamma), th, dk.quantile_scratch(sa_indptr, m), (th_sa, qq, pq),
                              o2)
    t_sa, q2, _, _ = ref.quantile_control_backup(P, Rs, mdp.action_mask, mdp.gamma, th)
    np.testing.assert_allclose(th_sa[avail], t_sa.reshape(S * A, m)[avail], atol=1e-12)
    np.testing.assert_allclose(qq.reshape(S, A)[mdp.action_mask], q2[mdp.action_mask], atol=1e-12)


def test_sweeps_are_independent_of_thread_count():
    """Parallel sweeps run over fixed blocks: with 1 or all threads they equal the serial loop bitwise."""
    import numba

    from mdpkit import generators
    from mdpkit.distributions import policy_transition_entries

    mdp = generators.garnet(400, 2, 40, gamma=0.9, rng=3)
    ent = dk.entries(*policy_transition_entries(mdp, np.zeros(400, np.int64)))
    ip = ent[0]
    z = dk.ro(np.linspace(0, 10, 11))
    inv = float(dk.uniform_inverse_step(z))
    eta = np.random.default_rng(0).dirichlet(np.ones(11), 400)
    th = np.sort(np.random.default_rng(1).random((400, 11)), axis=1)
    sc = dk.quantile_scratch(ip, 11)
    ser_c, ser_q = np.empty_like(eta), np.empty_like(th)
    dk._categorical_block(0, 400, ent, z, 0.9, inv, eta, np.empty(11), ser_c)
    dk._quantile_block(0, 400, ent, 0.9, th, sc[0], ser_q)
    n0 = numba.get_num_threads()
    try:
        for n in sorted({1, n0}):
            numba.set_num_threads(n)
            par_c, par_q = np.empty_like(eta), np.empty_like(th)
            dk._categorical_sweep_par(ent, z, 0.9, inv, eta, np.empty((dk.N_CHUNKS, 11)), par_c)
            dk._quantile_sweep_par(ent, 0.9, th, sc, par_q)
            assert np.array_equal(par_c, ser_c) and np.array_equal(par_q, ser_q)
    finally:
        numba.set_num_threads(n0)


# ------------------------------------------------------------------ categorical VI
@settings(max_examples=30)
@given(st.data())
def test_categorical_vi_means_are_vi_iterates__rowland2018_prop1(data):
    """Covering support: the means of the categorical distributional VI iterates equal the classic VI
    iterates T^k v_0 (Pi_C preserves means on [z_1, z_K]; plain numpy VI as the reference)."""
    mdp = data.draw(mdps(n_states=(1, 5), n_actions=(1, 3), gamma=(0.0, 0.95), sparse=None, masked=True,
                         reward=data.draw(st.sampled_from(["sa", "sas"]))))
    K = data.draw(st.sampled_from([2, 5, 51]))
    k = data.draw(st.integers(1, 25))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = categorical_value_iteration(mdp, n_atoms=K, max_iter=k, epsilon=1e-300, evaluate_returns=False)
    assert res.covers_returns
    z = res.returns.support
    v0 = np.tile(ref.categorical_project(np.zeros((1, 1)), np.ones((1, 1)), z)[0], (mdp.S, 1)) @ z
    iters = _numpy_vi(mdp, v0, res.n_iter)
    tol = 1e-11 * _scale(mdp) * max(1, res.n_iter)
    np.testing.assert_allclose(res.v_iterate, iters[-1], atol=tol)
    np.testing.assert_allclose(res.returns.mean(), iters[-1], atol=tol)
    vstar = _vstar(mdp)  # v is the MacQueen-Porteus midpoint: within its certified bound of v* (enumeration)
    assert float(np.max(np.abs(res.v - vstar))) <= res.v_error_bound + 1e-10 * _scale(mdp)
    q_ref = np.where(mdp.action_mask, mdp.R + mdp.gamma * mdp.P_dense() @ iters[-2], -np.inf)
    np.testing.assert_allclose(res.q[mdp.action_mask], q_ref[mdp.action_mask], atol=tol)
    np.testing.assert_allclose(res.returns_sa.mean()[mdp.action_mask], q_ref[mdp.action_mask], atol=tol)
    np.testing.assert_allclose(res.residuals, [np.abs(iters[j + 1] - iters[j]).max() for j in range(res.n_iter)],
                               atol=2 * tol)


@settings(max_examples=30)
@given(st.data())
def test_categorical_vi_policy_is_optimal_by_enumeration(data):
    """The returned policy's gap to v* (enumeration of all deterministic policies) is within the
    certified error_bound, which is <= epsilon; the returned laws are probability vectors."""
    mdp = data.draw(mdps(n_states=(1, 5), n_actions=(1, 3), gamma=(0.0, 0.95), sparse=None, masked=True,
                         reward=data.draw(st.sampled_from(["sa", "sas"]))))
    eps = 1e-8 * _scale(mdp)
    res = categorical_value_iteration(mdp, n_atoms=11, epsilon=eps)
    assert isinstance(res, DistributionalControlResult) and res.converged
    vstar = _vstar(mdp)
    gap = float(np.max(vstar - res.v_policy))
    assert gap <= res.error_bound + 1e-10 * _scale(mdp)
    assert res.error_bound <= eps
    assert np.all(res.v_lower <= vstar + 1e-9 * _scale(mdp)) and np.all(vstar <= res.v_upper + 1e-9 * _scale(mdp))
    assert res.returns.batch_shape == (mdp.S,) and res.returns_sa.batch_shape == (mdp.S, mdp.A)
    np.testing.assert_allclose(res.policy_returns.v, res.v_policy, atol=res.policy_returns.v_error_bound + 1e-9)


def test_categorical_vi_tie_between_laws_with_equal_means():
    """State 0: action 0 gives reward 1 surely, action 1 reward 0 or 2 w.p. 1/2 (then absorbing states
    with reward 0, gamma = 0.5).  Both returns have mean 1; the tie goes to action 0, whose law is the
    point mass at 1; the other action's law is (1/2, 0, 1/2) on the atoms 0, 1, 2 (support 0..4)."""
    P = np.zeros((3, 2, 3))
    P[0, 0, 1] = 1.0
    P[0, 1, 1] = P[0, 1, 2] = 0.5
    P[1, :, 1] = P[2, :, 2] = 1.0
    R_sas = np.zeros((3, 2, 3))
    R_sas[0, 0, 1] = 1.0
    R_sas[0, 1, 2] = 2.0
    mdp = TabularMDP(P, None, 0.5, R_sas=R_sas)
    res = categorical_value_iteration(mdp, n_atoms=5, epsilon=1e-12)
    np.testing.assert_allclose(res.returns.support, [0, 1, 2, 3, 4])
    assert res.policy[0] == 0 and res.q[0, 0] == pytest.approx(1.0, abs=1e-12) == res.q[0, 1]
    np.testing.assert_allclose(res.v_iterate, [1.0, 0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(res.v, [1.0, 0.0, 0.0], atol=res.v_error_bound + 1e-12)
    np.testing.assert_allclose(res.returns.probs[0], [0, 1, 0, 0, 0], atol=1e-12)
    np.testing.assert_allclose(res.returns_sa.probs[0, 1], [0.5, 0, 0.5, 0, 0], atol=1e-12)
    np.testing.assert_allclose(res.returns.cvar(0.5)[0], 1.0, atol=1e-12)
    np.testing.assert_allclose(res.returns_sa.cvar(0.5)[0, 1], 0.0, atol=1e-12)


def test_noncovering_support_uses_exact_certificate():
    """A narrow support breaks mean preservation; the certificate then comes from the exact value and
    still bounds the brute-force gap."""
    from mdpkit import generators

    mdp = generators.garnet(6, 3, 3, gamma=0.8, rng=2)
    res = categorical_value_iteration(mdp, support=np.linspace(0.0, 1.0, 5), epsilon=1e-6)
    assert not res.covers_returns
    vstar = _vstar(mdp)
    assert float(np.max(vstar - res.v_policy)) <= res.error_bound + 1e-12
    assert np.all(res.v_lower <= vstar + 1e-12) and np.all(vstar <= res.v_upper + 1e-12)
    assert float(np.max(np.abs(res.v - vstar))) <= res.v_error_bound + 1e-12


# ------------------------------------------------------------------ quantile VI
@settings(max_examples=25)
@given(st.data())
def test_quantile_vi_certificate_holds__brute_force(data):
    """The certificate ||T v_pi - v_pi||/(1-gamma) bounds the gap to v* from enumeration."""
    mdp = data.draw(mdps(n_states=(1, 4), n_actions=(1, 3), gamma=(0.0, 0.9), sparse=None, masked=True,
                         reward=data.draw(st.sampled_from(["sa", "sas"]))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # the heuristic rule may not hold (ties)
        res = quantile_value_iteration(mdp, n_quantiles=data.draw(st.integers(1, 9)), max_iter=300)
    vstar = _vstar(mdp)
    assert float(np.max(vstar - res.v_policy)) <= res.error_bound + 1e-10 * _scale(mdp)
    assert float(np.max(np.abs(res.v - vstar))) <= res.v_error_bound + 1e-10 * _scale(mdp)
    assert res.returns_sa.batch_shape == (mdp.S, mdp.A)


@settings(max_examples=20)
@given(st.data())
def test_quantile_vi_is_exact_on_deterministic_models(data):
    """Deterministic transitions and rewards: every return is a point mass, the quantile atoms are all
    equal to it, the means follow VI and the policy is optimal (gap 0 by enumeration)."""
    S, A = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 3))
    nxt = np.array(data.draw(st.lists(st.integers(0, S - 1), min_size=S * A, max_size=S * A))).reshape(S, A)
    R = np.array(data.draw(st.lists(st.integers(-3, 3), min_size=S * A, max_size=S * A)), float).reshape(S, A)
    P = np.zeros((S, A, S))
    P[np.arange(S)[:, None], np.arange(A)[None, :], nxt] = 1.0
    mdp = TabularMDP(P, R, 0.8)
    res = quantile_value_iteration(mdp, n_quantiles=3, epsilon=1e-10)
    vstar = _vstar(mdp)
    np.testing.assert_allclose(res.v_policy, vstar, atol=1e-9)
    np.testing.assert_allclose(res.returns.locations, np.repeat(res.v_iterate[:, None], 3, axis=1), atol=1e-12)


def test_quantile_dp_does_not_preserve_the_mean__exact_counterexample():
    """From state 0 the reward is 1 w.p. 0.3 and 0 w.p. 0.7, then 0 forever (gamma = 0.5):
    the return is Bernoulli(0.3), mean 0.3.  Its W1 projection on m = 1 atom is the median 0, on m = 2
    atoms (levels 1/4, 3/4) the atoms 0 and 1, mean 0.5.  Neither is 0.3."""
    # the reward's randomness comes from two absorbing successor states 1 (reward 0) and 2 (reward 1)
    P3 = np.zeros((3, 1, 3))
    P3[0, 0] = [0.0, 0.7, 0.3]
    P3[1, 0, 1] = 1.0
    P3[2, 0, 2] = 1.0
    R_sas = np.zeros((3, 1, 3))
    R_sas[0, 0, 2] = 1.0
    mdp = TabularMDP(P3, None, 0.5, R_sas=R_sas)
    for m, mean in ((1, 0.0), (2, 0.5)):
        res = quantile_policy_evaluation(mdp, [0, 0, 0], n_quantiles=m, epsilon=1e-12)
        np.testing.assert_allclose(res.v, [mean, 0.0, 0.0], atol=1e-12)
        assert abs(res.v[0] - 0.3) >= 0.2
    ctrl = quantile_value_iteration(mdp, n_quantiles=1, epsilon=1e-12)
    np.testing.assert_allclose(ctrl.v_iterate[0], 0.0, atol=1e-12)  # the control means inherit the bias
    np.testing.assert_allclose(ctrl.v[0], 0.3, atol=ctrl.v_error_bound + 1e-12)  # v is certified: V* = 0.3


# ------------------------------------------------------------------ distributional PI
@settings(max_examples=30)
@given(st.data())
def test_distributional_pi_terminates_and_is_optimal__puterman_6_4(data):
    """PI stops (converged) and the policy's gap to v* (enumeration) is within its certificate, which is
    tiny; it matches categorical VI's value."""
    mdp = data.draw(mdps(n_states=(1, 5), n_actions=(1, 3), gamma=(0.0, 0.95), sparse=None, masked=True,
                         reward=data.draw(st.sampled_from(["sa", "sas"]))))
    res = distributional_policy_iteration(mdp, n_atoms=11)
    assert res.converged and res.n_iter <= 50
    vstar = _vstar(mdp)
    gap = float(np.max(vstar - res.v_policy))
    assert gap <= res.error_bound + 1e-10 * _scale(mdp)
    assert res.error_bound <= 1e-6 * _scale(mdp)
    np.testing.assert_allclose(res.v, vstar, atol=res.error_bound + res.eval_error_bound + 1e-9 * _scale(mdp))
    assert res.v_error_bound == res.error_bound + res.eval_error_bound
    assert np.all(res.n_changed[:-1] > 0) and res.n_changed[-1] == 0


def test_distributional_pi_rejects_noncovering_support():
    from mdpkit import generators

    with pytest.raises(InvalidArgumentError, match="cover"):
        distributional_policy_iteration(generators.garnet(4, 2, 2, gamma=0.9, rng=0), support=np.linspace(0, 1, 5))


def test_bad_arguments():
    from mdpkit import generators

    mdp = generators.garnet(3, 2, 2, gamma=0.9, rng=0)
    with pytest.raises(InvalidArgumentError):
        categorical_value_iteration(mdp, n_atoms=1)
    with pytest.raises(InvalidArgumentError):
        categorical_value_iteration(mdp, eta0=np.ones((2, 51)) / 51)
    with pytest.raises(InvalidArgumentError):
        quantile_value_iteration(mdp, theta0=np.zeros((3, 4)), n_quantiles=5)
    with pytest.raises(InvalidArgumentError):
        quantile_value_iteration(mdp, epsilon=0.0)
    with pytest.raises(InvalidPolicyError):
        distributional_policy_iteration(mdp, policy0=[0, 5, 0])
    with pytest.raises(InvalidArgumentError):
        categorical_value_iteration("not an mdp")
