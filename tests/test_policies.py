"""Policies, exact evaluation, occupancy measures, Q from V, greedy policies."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

from mdpkit import InvalidArgumentError, InvalidPolicyError, TabularMDP
from mdpkit.policies import (
    bellman_operator,
    check_policy,
    greedy_policy,
    occupancy_measure,
    policy_evaluation,
    q_from_v,
)
from mdpkit.testing import mdps, policies


@given(st.data())
def test_policy_evaluation_solves_bellman_equation__puterman_thm_6_1_1(data):
    """v_pi = r_pi + gamma P_pi v_pi (Puterman 1994, Thm 6.1.1); checked by a truncated Neumann series."""
    m = data.draw(mdps(gamma=(0.0, 0.9), sparse=None, masked=True))
    pi = data.draw(policies(m, stochastic=data.draw(st.booleans())))
    v = policy_evaluation(m, pi)
    P = m.P_dense()
    pi_sa = np.eye(m.A)[pi] if pi.ndim == 1 else pi
    P_pi = np.einsum("sa,sat->st", pi_sa, P)
    r_pi = np.einsum("sa,sa->s", pi_sa, np.where(m.action_mask, m.R, 0.0))
    # independent route: sum_{t < n} (gamma P_pi)^t r_pi, truncation error <= gamma^n max|r| / (1 - gamma)
    acc, term = np.zeros(m.S), r_pi.copy()
    n = 400
    for _ in range(n):
        acc += term
        term = m.gamma * P_pi @ term
    tail = m.gamma**n * np.abs(r_pi).max() / (1 - m.gamma)
    assert np.abs(v - acc).max() <= tail + 1e-10


def test_sparse_evaluation_matches_dense_on_a_large_chain():
    rng = np.random.default_rng(0)
    S, A = 3000, 2
    P = np.zeros((S, A, S))
    nxt = rng.integers(0, S, size=(S, A, 3))
    for k in range(3):
        np.add.at(P, (np.arange(S)[:, None], np.arange(A)[None, :], nxt[:, :, k]), 1 / 3)
    m = TabularMDP(P, rng.random((S, A)), 0.95)
    pi = rng.integers(0, A, S)
    np.testing.assert_allclose(policy_evaluation(m.to_sparse(), pi), policy_evaluation(m, pi), rtol=1e-10, atol=1e-10)


@given(st.data())
def test_occupancy_measure_flow_and_value_identity__puterman_sec_6_9(data):
    """sum_a d(s',a) = (1-gamma) mu0(s') + gamma sum_{s,a} P(s'|s,a) d(s,a), and mu0 . v_pi = sum d R / (1-gamma)."""
    m = data.draw(mdps(gamma=(0.0, 0.9), sparse=None, masked=True))
    pi = data.draw(policies(m, stochastic=True))
    d = occupancy_measure(m, pi)
    P = m.P_dense()
    lhs = d.sum(axis=1)
    rhs = (1 - m.gamma) * m.mu0 + m.gamma * np.einsum("sa,sat->t", d, P)
    np.testing.assert_allclose(lhs, rhs, atol=1e-10)
    assert d.sum() == pytest.approx(1.0, abs=1e-10)
    v = policy_evaluation(m, pi)
    assert m.mu0 @ v == pytest.approx((d * np.where(m.action_mask, m.R, 0.0)).sum() / (1 - m.gamma), abs=1e-8)


@given(mdps(sparse=None, masked=True))
def test_q_from_v_and_greedy(m):
    rng = np.random.default_rng(1)
    v = rng.normal(size=m.S)
    q = q_from_v(m, v)
    expect = m.R + m.gamma * np.einsum("sat,t->sa", m.P_dense(), v)
    np.testing.assert_allclose(q[m.action_mask], expect[m.action_mask], atol=1e-12)
    assert np.all(np.isneginf(q[~m.action_mask]))
    pi = greedy_policy(m, v)
    assert np.all(m.action_mask[np.arange(m.S), pi])
    Tv, pi2 = bellman_operator(m, v)
    np.testing.assert_array_equal(pi, pi2)
    np.testing.assert_allclose(Tv, q.max(axis=1), atol=0)


def test_greedy_ties_go_to_lowest_available_action():
    P = np.full((1, 3, 1), 1.0)
    m = TabularMDP(P, np.array([[1.0, 2.0, 2.0]]), 0.5, action_mask=np.array([[True, True, True]]))
    assert greedy_policy(m, np.zeros(1))[0] == 1
    m2 = TabularMDP(P, np.array([[5.0, 2.0, 2.0]]), 0.5, action_mask=np.array([[False, True, True]]))
    assert greedy_policy(m2, np.zeros(1))[0] == 1


@pytest.mark.parametrize(
    "pol, pattern",
    [
        (np.array([0, 2]), r"policy\[1\] = 2 is not an action"),
        (np.array([0, 1]), r"policy\[1\] = 1 is a masked"),
        (np.array([0.5, 0]), "integer actions"),
        (np.array([[0.5, 0.6], [1.0, 0.0]]), r"policy\[0, :\] sums to 1\.1"),
        (np.array([[1.0, 0.0], [0.5, 0.5]]), r"policy\[1, 1\] = 0\.5 puts mass on a masked"),
        (np.array([[1.5, -0.5], [1.0, 0.0]]), r"policy\[0, 1\] = -0\.5 is negative"),
        (np.zeros(3, dtype=int), r"shape \(S,\) = \(2,\)"),
    ],
)
def test_invalid_policies(pol, pattern):
    P = np.array([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [0.0, 0.0]]])
    m = TabularMDP(P, np.zeros((2, 2)), 0.9, action_mask=np.array([[True, True], [True, False]]))
    with pytest.raises(InvalidPolicyError, match=pattern):
        check_policy(m, pol)


def test_policy_evaluation_initial_guess_does_not_change_the_answer():
    """v0 only starts the Krylov solver (CSR model with a random policy graph)."""
    from mdpkit.generators import garnet

    m = garnet(300, 3, 6, gamma=0.95, rng=4, sparse=True)
    pi = np.random.default_rng(0).integers(0, 3, size=300)
    v = policy_evaluation(m, pi)
    for v0 in (np.zeros(300), v + 5.0, np.random.default_rng(1).normal(size=300) * 100):
        np.testing.assert_allclose(policy_evaluation(m, pi, v0=v0), v, rtol=1e-9, atol=1e-9)
    # the Bellman equation holds for the answer (independent of the solver route)
    P_pi = m.P.toarray().reshape(300, 3, 300)[np.arange(300), pi]
    np.testing.assert_allclose(v, m.R[np.arange(300), pi] + 0.95 * P_pi @ v, rtol=1e-10, atol=1e-10)
    with pytest.raises(InvalidArgumentError, match="v0"):
        policy_evaluation(m, pi, v0=np.ones(299))
    with pytest.raises(InvalidArgumentError, match=r"v0\[3\]"):
        policy_evaluation(m, pi, v0=np.where(np.arange(300) == 3, np.nan, 0.0))
